//! Black-box tests of the cross-language commands: `similar`, `eval
//! crosslang` and `lexicon learn`, run as the real binary in temp folders.

mod common;

use std::path::{Path, PathBuf};

use common::*;
use serde_json::Value;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn similar_excludes_itself_filters_and_names_bad_targets() {
    let dir = indexed_corpus();
    let r = run_in(
        dir.path(),
        &["similar", "a.md:6", "--index", "n.vsx", "--json", "-k", "3"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let hits = json_lines(&r.stdout);
    assert!(!hits.is_empty() && hits.len() <= 3);
    assert_hit_fields(&hits);
    for h in &hits {
        let itself = h["doc"].as_str().unwrap().ends_with("a.md") && h["line_start"] == 6;
        assert!(!itself, "the passage itself is excluded: {h}");
    }
    // The language filter holds.
    let r = run_in(
        dir.path(),
        &[
            "similar", "a.md:6", "--index", "n.vsx", "--json", "--lang", "ja",
        ],
    );
    // The corpus has a Japanese passage on the same subject (b.txt), and
    // the lexicon bridges it: zero hits would be a failure, not a pass.
    assert_eq!(r.code, 0, "{}", r.stderr);
    let hits = json_lines(&r.stdout);
    assert!(!hits.is_empty(), "no Japanese hit: {}", r.stdout);
    for h in hits {
        assert_eq!(h["lang"], "ja", "{h}");
    }
    // Bad targets: one line on stderr, exit 2.
    for (target, needle) in [
        ("nope.md:1", "no indexed document"),
        ("a.md", "DOC:LINE"),
        ("a.md:0", "LINE"),
    ] {
        let r = run_in(dir.path(), &["similar", target, "--index", "n.vsx"]);
        let line = assert_error(&r);
        assert!(line.contains(needle), "{target}: {line}");
    }
}

#[test]
fn similar_suffix_must_be_unambiguous() {
    let dir = tempfile::tempdir().unwrap();
    for sub in ["x", "y"] {
        std::fs::create_dir_all(dir.path().join(sub)).unwrap();
        std::fs::write(
            dir.path().join(sub).join("same.md"),
            "Vector search finds neighbours.\n",
        )
        .unwrap();
    }
    let r = run_in(dir.path(), &["index", "x", "y", "--index", "i.vsx"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let line = assert_error(&run_in(
        dir.path(),
        &["similar", "same.md:1", "--index", "i.vsx"],
    ));
    assert!(line.contains("ambiguous"), "{line}");
    let r = run_in(
        dir.path(),
        &["similar", "x/same.md:1", "--index", "i.vsx", "--json"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let hits = json_lines(&r.stdout);
    assert_eq!(hits.len(), 1);
    assert!(hits[0]["doc"].as_str().unwrap().starts_with("y"));
}

fn eval(dir: &Path, aligned: &Path, index: &str) -> Vec<Value> {
    let r = run_in(
        dir,
        &[
            "eval",
            "crosslang",
            "--aligned",
            aligned.to_str().unwrap(),
            "--index",
            index,
            "--json",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let rows = json_lines(&r.stdout);
    for p in &rows {
        for f in ["top1", "mrr10"] {
            let v = p[f].as_f64().unwrap();
            assert!((0.0..=1.0).contains(&v), "{p}");
        }
        assert!(p["mrr10"].as_f64() >= p["top1"].as_f64(), "{p}");
    }
    assert_eq!(rows.last().unwrap()["source"], "all");
    rows
}

#[test]
fn eval_crosslang_on_the_sample_reports_every_directed_pair() {
    let dir = tempfile::tempdir().unwrap();
    let r = run_in(
        &repo(),
        &[
            "index",
            "data/sample",
            "--index",
            dir.path().join("s.vsx").to_str().unwrap(),
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let rows = eval(
        &repo(),
        &repo().join("data/sample/aligned.jsonl"),
        dir.path().join("s.vsx").to_str().unwrap(),
    );
    // Five languages: 20 directed pairs, then the pooled row.
    assert_eq!(rows.len(), 21);
    assert!(rows.iter().all(|p| p["queries"].as_u64().unwrap() > 0));
    // Two scripts of one language must find each other almost always.
    let pair = rows
        .iter()
        .find(|p| p["source"] == "zh-Hans" && p["target"] == "zh-Hant")
        .unwrap();
    assert!(pair["top1"].as_f64().unwrap() >= 0.8, "{pair}");
    // The builtin lexicon's figure (BENCHMARKS.md: 0.990), with a margin.
    let all = rows.last().unwrap();
    assert!(all["top1"].as_f64().unwrap() >= 0.97, "{all}");
}

/// The seeds' aligned file, written the way scripts/seed_aligned.py does:
/// content lines 13–40 of 000 ja, 001 zh-Hans, 002 zh-Hant, 003 fr.
fn seed_aligned(seeds: &Path, out: &Path) {
    let mut rows = String::new();
    for (prefix, lang) in [
        ("000", "ja"),
        ("001", "zh-Hans"),
        ("002", "zh-Hant"),
        ("003", "fr"),
    ] {
        let file = std::fs::read_dir(seeds)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .find(|n| n.starts_with(prefix))
            .expect("seed file");
        let text = std::fs::read_to_string(seeds.join(&file)).unwrap();
        for (i, line) in text.lines().enumerate().take(40).skip(12) {
            if !line.trim().is_empty() {
                let n = i + 1;
                rows.push_str(
                    &serde_json::json!({"id": format!("line-{n}"), "lang": lang, "file": file,
                        "line_start": n, "line_end": n, "text": line})
                    .to_string(),
                );
                rows.push('\n');
            }
        }
    }
    std::fs::write(out, rows).unwrap();
}

#[test]
fn seeds_lexicon_raises_and_lowers_no_pair() {
    let Some(seeds) = seeds() else { return };
    let dir = tempfile::tempdir().unwrap();
    let aligned = dir.path().join("seeds.jsonl");
    seed_aligned(&seeds, &aligned);
    let mut results = Vec::new();
    for (name, lexicon) in [("with.vsx", "builtin"), ("without.vsx", "none")] {
        let r = run_in(
            dir.path(),
            &[
                "index",
                seeds.to_str().unwrap(),
                "--index",
                name,
                "--lexicon",
                lexicon,
            ],
        );
        assert_eq!(r.code, 0, "{}", r.stderr);
        results.push(eval(dir.path(), &aligned, name));
    }
    let (with, without) = (&results[0], &results[1]);
    assert_eq!(with.len(), 13, "12 directed pairs and the pooled row");
    for (w, o) in with.iter().zip(without) {
        assert_eq!((&w["source"], &w["target"]), (&o["source"], &o["target"]));
        let (tw, to) = (w["top1"].as_f64().unwrap(), o["top1"].as_f64().unwrap());
        eprintln!("{}→{}: {to:.3} → {tw:.3}", w["source"], w["target"]);
        assert!(tw >= to, "the lexicon lowered {w} (without: {o})");
    }
    let all = |r: &[Value]| r.last().unwrap()["top1"].as_f64().unwrap();
    assert!(all(with) > all(without));
    // The bars, met with the builtin lexicon (BENCHMARKS.md: worst
    // pair 0.889, all pairs 0.958).
    for w in &with[..12] {
        assert!(w["top1"].as_f64().unwrap() >= 0.85, "below 0.85: {w}");
    }
    assert!(all(with) >= 0.95, "all pairs {}", all(with));
    // fr↔ja and fr↔zh gain.
    for (s, t) in [
        ("fr", "ja"),
        ("ja", "fr"),
        ("fr", "zh-Hans"),
        ("zh-Hant", "fr"),
    ] {
        let find = |r: &[Value]| {
            r.iter()
                .find(|p| p["source"] == s && p["target"] == t)
                .unwrap()["top1"]
                .as_f64()
                .unwrap()
        };
        assert!(find(with) > find(without), "{s}→{t} did not gain");
    }
}

#[test]
fn learned_lexicon_bridges_words_that_share_nothing() {
    let dir = tempfile::tempdir().unwrap();
    // Parallel text: English pivots with French and Japanese translations.
    let mut par = String::new();
    let words = [
        ("cat", "chat", "猫"),
        ("dog", "chien", "犬"),
        ("bird", "oiseau", "鳥"),
    ];
    for i in 0..12 {
        for (j, (en, fr, ja)) in words.iter().enumerate() {
            let id = format!("{i}-{j}");
            let extra = ["red", "big", "old"][i % 3];
            for (lang, text) in [
                ("en", format!("the {extra} {en}")),
                ("fr", format!("le {fr}")),
                ("ja", format!("{ja}です")),
            ] {
                par.push_str(
                    &serde_json::json!({"id": id, "lang": lang, "text": text}).to_string(),
                );
                par.push('\n');
            }
        }
    }
    std::fs::write(dir.path().join("par.jsonl"), par).unwrap();
    let r = run_in(
        dir.path(),
        &["lexicon", "learn", "par.jsonl", "--out", "lex.tsv.gz"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("learned"), "{}", r.stderr);
    std::fs::create_dir(dir.path().join("docs")).unwrap();
    std::fs::write(
        dir.path().join("docs/fr.md"),
        "Le chat dort.\n\nLe chien court.\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("docs/ja.md"), "犬が走る。\n\n猫が眠る。\n").unwrap();
    let similar = |index: &str| {
        run_in(
            dir.path(),
            &[
                "similar", "fr.md:1", "--index", index, "--lang", "ja", "--json",
            ],
        )
    };
    for (index, lexicon) in [("with.vsx", "lex.tsv.gz"), ("without.vsx", "none")] {
        let r = run_in(
            dir.path(),
            &["index", "docs", "--index", index, "--lexicon", lexicon],
        );
        assert_eq!(r.code, 0, "{}", r.stderr);
    }
    // Without the lexicon French and Japanese share no term: no hits.
    assert_eq!(similar("without.vsx").code, 1);
    let r = similar("with.vsx");
    assert_eq!(r.code, 0, "{}", r.stderr);
    let hits = json_lines(&r.stdout);
    assert!(hits[0]["text"].as_str().unwrap().contains('猫'), "{hits:?}");
    // A lexicon that is not one is a one-line error.
    std::fs::write(dir.path().join("bad.tsv"), "chat\tcat\n").unwrap();
    let line = assert_error(&run_in(
        dir.path(),
        &["index", "docs", "--index", "x.vsx", "--lexicon", "bad.tsv"],
    ));
    assert!(
        line.contains("bad.tsv") && line.contains("not a lexicon"),
        "{line}"
    );
}

/// `eval search` of `queries` against the sample's aligned file, from the
/// repository root.
fn run_eval_search(queries: &str, extra: &[&str]) -> Run {
    let mut args = vec![
        "eval",
        "search",
        "--queries",
        queries,
        "--aligned",
        "data/sample/aligned.jsonl",
    ];
    args.extend_from_slice(extra);
    run_in(&repo(), &args)
}

fn eval_search(index: &Path, extra: &[&str]) -> Vec<Value> {
    let mut args = vec!["--index", index.to_str().unwrap(), "--json"];
    args.extend_from_slice(extra);
    let r = run_eval_search("data/sample/queries.jsonl", &args);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let rows = json_lines(&r.stdout);
    for g in &rows {
        for f in ["mrr10", "ndcg10", "langs_at5"] {
            let v = g[f].as_f64().unwrap();
            assert!((0.0..=1.0).contains(&v), "{g}");
        }
    }
    assert_eq!(rows.last().unwrap()["lang"], "all");
    rows
}

#[test]
fn eval_search_on_the_sample_scores_every_query_language() {
    let dir = tempfile::tempdir().unwrap();
    let index = dir.path().join("s.vsx");
    let r = run_in(
        &repo(),
        &["index", "data/sample", "--index", index.to_str().unwrap()],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let rows = eval_search(&index, &[]);
    // en, fr, ja, zh-Hans, zh-Hant, then all 40 queries pooled.
    assert_eq!(rows.len(), 6);
    let all = rows.last().unwrap();
    assert_eq!(all["queries"], 40);
    // BENCHMARKS.md: MRR@10 0.830 and nDCG@10 0.633 by default.
    assert!(all["mrr10"].as_f64().unwrap() >= 0.8, "{all}");
    assert!(all["ndcg10"].as_f64().unwrap() >= 0.6, "{all}");
    // The dense vectors alone rank worse than the exact re-score.
    let dense = eval_search(&index, &["--no-rerank"]);
    let d = dense.last().unwrap()["ndcg10"].as_f64().unwrap();
    assert!(d < all["ndcg10"].as_f64().unwrap(), "{d} vs {all}");
}

#[test]
fn eval_search_names_a_bad_query_line() {
    let dir = tempfile::tempdir().unwrap();
    let q = dir.path().join("q.jsonl");
    std::fs::write(
        &q,
        "{\"query\": \"hnsw\", \"relevant\": [\"x\"]}\n{\"query\": 3}\n",
    )
    .unwrap();
    let line = assert_error(&run_eval_search(q.to_str().unwrap(), &[]));
    assert!(line.contains("q.jsonl:2: not a query row"), "{line}");
    // A query with nothing to search for is named too.
    std::fs::write(
        &q,
        "{\"query\": \"hnsw\", \"relevant\": [\"x\"]}\n{\"query\": \" \", \"relevant\": [\"x\"]}\n",
    )
    .unwrap();
    let index = dir.path().join("s.vsx");
    let r = run_in(
        &repo(),
        &[
            "index",
            "data/sample/en",
            "--index",
            index.to_str().unwrap(),
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = run_eval_search(q.to_str().unwrap(), &["--index", index.to_str().unwrap()]);
    let line = assert_error(&r);
    assert!(line.contains("query 2 (\" \"): empty query"), "{line}");
}
