//! `index --update` and `compact`: an updated index answers like a fresh
//! build of the same files; removed files disappear; unchanged files are not
//! re-read.

mod common;

use std::collections::HashSet;
use std::fs;
use std::path::Path;

use common::*;
use serde_json::Value;

const WORDS: &[&str] = &[
    "vector",
    "index",
    "graph",
    "search",
    "recall",
    "latency",
    "memory",
    "embedding",
    "token",
    "passage",
    "query",
    "cosine",
    "cluster",
    "neighbour",
    "layer",
    "kernel",
    "cache",
    "disk",
    "update",
    "compaction",
    "ベクトル",
    "検索",
    "向量",
    "数据库",
    "資料庫",
    "données",
    "recherche",
];

/// Deterministic pseudo-random documents.
fn write_docs(dir: &Path, range: std::ops::Range<usize>, salt: u64) {
    for i in range {
        let mut x = (i as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ salt;
        let mut text = String::new();
        for _ in 0..3 {
            for _ in 0..12 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                text.push_str(WORDS[(x % WORDS.len() as u64) as usize]);
                text.push(' ');
            }
            text.push_str(&format!("doc{i}s{salt}\n\n"));
        }
        fs::write(dir.join(format!("d{i:04}.md")), text).unwrap();
    }
}

fn top10(dir: &Path, index: &str, q: &str, extra: &[&str]) -> Vec<(String, u64)> {
    let mut args = vec!["search", q, "--index", index, "--json", "-k", "10"];
    args.extend_from_slice(extra);
    let r = run_in(dir, &args);
    assert!(r.code <= 1, "{}", r.stderr);
    r.stdout
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            (
                v["doc"].as_str().unwrap().to_string(),
                v["line_start"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn overlap(a: &[(String, u64)], b: &[(String, u64)]) -> f64 {
    let sa: HashSet<_> = a.iter().collect();
    let n = b.iter().filter(|x| sa.contains(x)).count();
    n as f64 / a.len().max(b.len()).max(1) as f64
}

fn check(kind: &str, min_overlap: f64, n: usize) {
    let dir = tempfile::tempdir().unwrap();
    let corpus = dir.path().join("c");
    fs::create_dir(&corpus).unwrap();
    write_docs(&corpus, 0..200, 0);
    let r = run_in(
        dir.path(),
        &[
            "index", "c", "--index", "u.vsx", "--kind", kind, "--dim", "256",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    // Add 10, change 10, remove 10.
    write_docs(&corpus, 200..200 + n, 0);
    write_docs(&corpus, 0..n, 7);
    for i in 200 - n..200 {
        fs::remove_file(corpus.join(format!("d{i:04}.md"))).unwrap();
    }
    let r = run_in(
        dir.path(),
        &[
            "index", "c", "--index", "u.vsx", "--kind", kind, "--dim", "256", "--update",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let want = format!(
        "{n} added, {n} changed, {n} removed, {} unchanged",
        200 - 2 * n
    );
    assert!(r.stderr.contains(&want), "{}", r.stderr);
    // Past the drift bound every row is re-weighted; below it only new rows are embedded.
    assert_eq!(r.stderr.contains("re-weighted"), n >= 10, "{}", r.stderr);
    let r = run_in(
        dir.path(),
        &[
            "index",
            "c",
            "--index",
            "fresh.vsx",
            "--kind",
            kind,
            "--dim",
            "256",
        ],
    );
    assert_eq!(r.code, 0);
    // Removed and replaced text is gone; added text is found.
    assert!(top10(dir.path(), "u.vsx", "doc199s0", &[])
        .iter()
        .all(|h| !h.0.ends_with("d0199.md")));
    assert!(top10(dir.path(), "u.vsx", "doc1s0", &[])
        .iter()
        .all(|h| !h.0.ends_with("d0001.md")));
    assert!(top10(dir.path(), "u.vsx", "doc1s7", &[])[0]
        .0
        .ends_with("d0001.md"));
    assert!(top10(dir.path(), "u.vsx", "doc200s0", &[])[0]
        .0
        .ends_with("d0200.md"));
    let mut total = 0.0;
    let queries: Vec<String> = (0..40)
        .map(|i| {
            format!(
                "{} {}",
                WORDS[i % WORDS.len()],
                WORDS[(i * 7 + 3) % WORDS.len()]
            )
        })
        .collect();
    for q in &queries {
        total += overlap(
            &top10(dir.path(), "fresh.vsx", q, &[]),
            &top10(dir.path(), "u.vsx", q, &[]),
        );
    }
    let mean = total / queries.len() as f64;
    eprintln!("{kind}: mean top-10 overlap with a fresh build: {mean:.3}");
    assert!(mean >= min_overlap, "{kind}: overlap {mean}");
    // Compaction drops the tombstones and keeps the answers.
    let before = run_in(dir.path(), &["info", "--index", "u.vsx", "--json"]);
    let v: Value = serde_json::from_str(before.stdout.trim()).unwrap();
    let live = v["passages"].as_u64().unwrap();
    let r = run_in(dir.path(), &["compact", "--index", "u.vsx"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let after: Value = serde_json::from_str(
        run_in(dir.path(), &["info", "--index", "u.vsx", "--json"])
            .stdout
            .trim(),
    )
    .unwrap();
    assert_eq!(after["passages"].as_u64().unwrap(), live);
    assert_eq!(after["deleted_passages"], 0);
    let fresh_info: Value = serde_json::from_str(
        run_in(dir.path(), &["info", "--index", "fresh.vsx", "--json"])
            .stdout
            .trim(),
    )
    .unwrap();
    assert_eq!(after["passages"], fresh_info["passages"]);
    for q in &queries[..10] {
        let o = overlap(
            &top10(dir.path(), "fresh.vsx", q, &[]),
            &top10(dir.path(), "u.vsx", q, &[]),
        );
        assert!(o >= 0.9, "{q}: {o}");
    }
}

#[test]
fn flat_update_answers_like_a_fresh_build() {
    check("flat", 0.95, 10);
    check("flat", 0.95, 3);
}

#[test]
fn hnsw_update_answers_like_a_fresh_build() {
    check("hnsw", 0.95, 10);
    check("hnsw", 0.95, 3);
}

#[test]
fn update_without_changes_reads_nothing_and_update_of_missing_index_builds() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = dir.path().join("c");
    fs::create_dir(&corpus).unwrap();
    write_docs(&corpus, 0..20, 0);
    let r = run_in(dir.path(), &["index", "c", "--index", "u.vsx", "--update"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("indexed"), "{}", r.stderr);
    let r = run_in(dir.path(), &["index", "c", "--index", "u.vsx", "--update"]);
    assert!(
        r.stderr
            .contains("0 added, 0 changed, 0 removed, 20 unchanged"),
        "{}",
        r.stderr
    );
    // Touching a file without changing it is not a change.
    let p = corpus.join("d0001.md");
    let text = fs::read(&p).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(20));
    fs::write(&p, text).unwrap();
    let r = run_in(dir.path(), &["index", "c", "--index", "u.vsx", "--update"]);
    assert!(r.stderr.contains("0 changed"), "{}", r.stderr);
}

#[test]
fn update_refuses_settings_it_would_ignore() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = dir.path().join("c");
    fs::create_dir(&corpus).unwrap();
    write_docs(&corpus, 0..5, 0);
    let r = run_in(
        dir.path(),
        &["index", "c", "--index", "u.vsx", "--dim", "128"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let before = fs::read(dir.path().join("u.vsx")).unwrap();
    let line = assert_error(&run_in(
        dir.path(),
        &["index", "c", "--index", "u.vsx", "--update", "--dim", "256"],
    ));
    assert!(line.contains("dim 128"), "{line}");
    let line = assert_error(&run_in(
        dir.path(),
        &[
            "index", "c", "--index", "u.vsx", "--update", "--kind", "hnsw",
        ],
    ));
    assert!(line.contains("kind flat"), "{line}");
    assert!(fs::read(dir.path().join("u.vsx")).unwrap() == before);
    // Repeating the index's own settings is fine.
    let r = run_in(
        dir.path(),
        &[
            "index", "c", "--index", "u.vsx", "--update", "--dim", "128", "--kind", "flat",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
}
