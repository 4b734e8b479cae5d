//! 1-bit codes and per-block checksums, through the real binary: both code
//! forms answer alike on a small corpus, the choice is recorded and kept by
//! `--update`, and a damaged block of any bulk section a query reads stops
//! the answer with one line naming the section.

mod common;

use std::path::Path;

use common::*;

/// `(id, offset, len)` of every section, from the file's table.
fn sections(file: &[u8]) -> Vec<(u32, usize, usize)> {
    let footer = &file[file.len() - 40..];
    let table = u64::from_le_bytes(footer[0..8].try_into().unwrap()) as usize;
    let count = u32::from_le_bytes(footer[8..12].try_into().unwrap()) as usize;
    (0..count)
        .map(|i| {
            let e = &file[table + 32 * i..table + 32 * (i + 1)];
            let u = |a: usize| u64::from_le_bytes(e[a..a + 8].try_into().unwrap()) as usize;
            (u32::from_le_bytes(e[0..4].try_into().unwrap()), u(8), u(16))
        })
        .collect()
}

fn section(file: &[u8], id: vecsearch::internals::store::SectionId) -> (usize, usize) {
    let (_, off, len) = *sections(file)
        .iter()
        .find(|s| s.0 == id as u32)
        .unwrap_or_else(|| panic!("no {} in the file", id.name()));
    (off, len)
}

fn build(dir: &Path, name: &str, extra: &[&str]) {
    let corpus = write_corpus(dir);
    let mut args = vec!["index", corpus.to_str().unwrap(), "--index", name, "-q"];
    args.extend_from_slice(extra);
    let r = run_in(dir, &args);
    assert_eq!(r.code, 0, "{}", r.stderr);
}

fn search(dir: &Path, index: &str, q: &str) -> Run {
    run_in(dir, &["search", q, "--index", index, "--json"])
}

#[test]
fn bits_and_f32_answer_alike_and_the_choice_is_recorded() {
    let dir = tempfile::tempdir().unwrap();
    build(dir.path(), "b.vsx", &[]);
    build(dir.path(), "f.vsx", &["--codes", "f32"]);
    for q in [
        "vector database",
        "ベクトル",
        "向量数据库",
        "bases de données",
    ] {
        let (b, f) = (
            search(dir.path(), "b.vsx", q),
            search(dir.path(), "f.vsx", q),
        );
        assert_eq!(b.code, 0, "{}", b.stderr);
        // On a corpus smaller than the candidate pool both re-score every
        // passage that shares a term: the answers are the same.
        assert_eq!(b.stdout, f.stdout, "query {q}");
        assert_hit_fields(&json_lines(&b.stdout));
    }
    for (name, codes) in [("b.vsx", "bits"), ("f.vsx", "f32")] {
        let r = run_in(dir.path(), &["info", "--index", name, "--json"]);
        let info: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
        assert_eq!(info["codes"], codes);
        let names: Vec<&str> = info["sections"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["name"].as_str().unwrap())
            .collect();
        let dense = if codes == "bits" {
            "code section"
        } else {
            "vector section"
        };
        assert!(names.contains(&dense), "{names:?}");
        let total: u64 = info["sections"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["bytes"].as_u64().unwrap())
            .sum();
        assert!(total < info["bytes"].as_u64().unwrap());
    }
    let size = |n: &str| std::fs::metadata(dir.path().join(n)).unwrap().len();
    assert!(size("b.vsx") < size("f.vsx"));
}

#[test]
fn update_keeps_the_codes_and_refuses_to_change_them() {
    let dir = tempfile::tempdir().unwrap();
    build(dir.path(), "b.vsx", &[]);
    let before = std::fs::read(dir.path().join("b.vsx")).unwrap();
    let line = assert_error(&run_in(
        dir.path(),
        &[
            "index", "notes", "--index", "b.vsx", "--update", "--codes", "f32",
        ],
    ));
    assert!(line.contains("codes bits, not f32;"), "{line}");
    assert_eq!(std::fs::read(dir.path().join("b.vsx")).unwrap(), before);
    std::fs::write(
        dir.path().join("notes/new.md"),
        "# Quantization\n\nOne-bit codes keep the sign of every rotated coordinate.\n",
    )
    .unwrap();
    let r = run_in(
        dir.path(),
        &["index", "notes", "--index", "b.vsx", "--update", "-q"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = search(dir.path(), "b.vsx", "rotated coordinate");
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("new.md"), "{}", r.stdout);
    let r = run_in(dir.path(), &["verify", "--index", "b.vsx"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    // Removing a file leaves tombstones; compaction says how many it drops.
    std::fs::remove_file(dir.path().join("notes/new.md")).unwrap();
    let r = run_in(
        dir.path(),
        &["index", "notes", "--index", "b.vsx", "--update", "-q"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    // verify and info count alike after an update.
    let json = |cmd: &str| -> serde_json::Value {
        let r = run_in(dir.path(), &[cmd, "--index", "b.vsx", "--json"]);
        serde_json::from_str(r.stdout.trim()).unwrap()
    };
    let (v, i) = (json("verify"), json("info"));
    assert_eq!(v["passages"], i["passages"]);
    assert_eq!(v["documents"], i["documents"]);
    assert_eq!(v["deleted_passages"], i["deleted_passages"]);
    assert!(v["deleted_passages"].as_u64().unwrap() > 0);
    let r = run_in(dir.path(), &["compact", "--index", "b.vsx"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains("deleted passages dropped") && !r.stderr.contains(" 0 deleted"),
        "{}",
        r.stderr
    );
}

/// The top-10 passages of every query of `queries`, by `search --queries`.
fn top10s(dir: &Path, index: &str, queries: &str) -> Vec<Vec<u64>> {
    let r = run_in(
        dir,
        &["search", "--queries", queries, "--index", index, "--json"],
    );
    assert_eq!(r.code, 0, "{index}: {}", r.stderr);
    let mut out: Vec<Vec<u64>> = Vec::new();
    for h in json_lines(&r.stdout) {
        let q = h["query_id"].as_u64().unwrap() as usize;
        if out.len() <= q {
            out.resize(q + 1, Vec::new());
        }
        out[q].push(h["passage"].as_u64().unwrap());
    }
    out
}

/// `--kind hnsw` builds its graph on the 1-bit codes by default: no f32
/// rows in the file, and on the sample and the seeds the graph's answers
/// to the sample queries are the flat code scan's.
#[test]
fn an_hnsw_graph_over_codes_answers_like_the_flat_code_scan() {
    use vecsearch::internals::store::SectionId;
    let dir = tempfile::tempdir().unwrap();
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/sample");
    let queries: Vec<String> = std::fs::read_to_string(sample.join("queries.jsonl"))
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["query"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    std::fs::write(dir.path().join("q.txt"), queries.join("\n") + "\n").unwrap();
    let mut corpora = vec![("sample", sample.clone())];
    corpora.extend(seeds().map(|s| ("seeds", s)));
    for (name, corpus) in corpora {
        let c = corpus.to_str().unwrap();
        for (index, kind) in [("flat.vsx", "flat"), ("graph.vsx", "hnsw")] {
            let r = run_in(
                dir.path(),
                &["index", c, "--index", index, "--kind", kind, "-q"],
            );
            assert_eq!(r.code, 0, "{name} {kind}: {}", r.stderr);
        }
        let info = run_in(dir.path(), &["info", "--index", "graph.vsx", "--json"]);
        let v: serde_json::Value = serde_json::from_str(info.stdout.trim()).unwrap();
        assert_eq!(
            (v["kind"].as_str(), v["codes"].as_str()),
            (Some("hnsw"), Some("bits"))
        );
        let file = std::fs::read(dir.path().join("graph.vsx")).unwrap();
        let ids: Vec<u32> = sections(&file).iter().map(|s| s.0).collect();
        assert!(ids.contains(&(SectionId::Codes as u32)), "{name}: no codes");
        assert!(
            ids.contains(&(SectionId::HnswLayer0 as u32)),
            "{name}: no graph"
        );
        assert!(
            !ids.contains(&(SectionId::Vectors as u32)),
            "{name}: f32 rows stored"
        );
        let (flat, graph) = (
            top10s(dir.path(), "flat.vsx", "q.txt"),
            top10s(dir.path(), "graph.vsx", "q.txt"),
        );
        assert_eq!(flat.len(), graph.len(), "{name}");
        let mut agree = 0.0;
        for (f, g) in flat.iter().zip(&graph) {
            let shared = f.iter().filter(|id| g.contains(id)).count();
            agree += if f.is_empty() {
                1.0
            } else {
                shared as f64 / f.len() as f64
            };
        }
        let mean = agree / flat.len() as f64;
        eprintln!("{name}: top-10 overlap of the graph with the flat scan {mean:.3}");
        assert!(mean >= 0.98, "{name}: overlap {mean}");
    }
}

/// A flipped bit in a block the query reads: exit 2, one line naming the
/// section and the block, never a different answer.
#[test]
fn a_damaged_block_a_query_reads_stops_the_answer() {
    use vecsearch::internals::store::SectionId;
    let dir = tempfile::tempdir().unwrap();
    build(dir.path(), "b.vsx", &[]);
    let q = "vector database";
    let intact = search(dir.path(), "b.vsx", q);
    assert_eq!(intact.code, 0, "{}", intact.stderr);
    std::fs::write(dir.path().join("q.txt"), format!("{q}\n{q}\n")).unwrap();
    let file = std::fs::read(dir.path().join("b.vsx")).unwrap();
    // Each of these is read by every search of the small corpus: all codes
    // are scanned, and every candidate's sparse row and the hits' text are
    // read (the corpus fits in one block of each).
    for (id, name) in [
        (SectionId::Codes, "code section"),
        (SectionId::TermWords, "packed term section"),
        (SectionId::SparseOffsets, "sparse offset section"),
        (SectionId::PassageText, "passage text section"),
        (SectionId::Passages, "passage table"),
    ] {
        let (off, len) = section(&file, id);
        let mut bad = file.clone();
        bad[off + len / 2] ^= 0x10;
        std::fs::write(dir.path().join("bad.vsx"), &bad).unwrap();
        let line = assert_error(&search(dir.path(), "bad.vsx", q));
        // A batch stops at the damage too, rather than warning per query.
        let batch = assert_error(&run_in(
            dir.path(),
            &["search", "--queries", "q.txt", "--index", "bad.vsx"],
        ));
        assert!(!batch.contains("searchable"), "{name}: {batch}");
        // Offsets are also checked for order when the file opens, which
        // may catch the damage first.
        let named = line.contains(name) && line.contains("block")
            || id == SectionId::SparseOffsets && line.contains("sparse offsets");
        assert!(named, "{name}: {line}");
        let r = run_in(dir.path(), &["verify", "--index", "bad.vsx"]);
        assert_eq!(r.code, 2, "verify missed damage in the {name}");
        // `info` reads every passage record; it must not print counts
        // from a damaged table.
        let r = run_in(dir.path(), &["info", "--index", "bad.vsx"]);
        if id == SectionId::Passages {
            assert_error(&r);
        }
    }
}

#[test]
fn ef_on_a_flat_index_says_it_does_nothing() {
    let dir = tempfile::tempdir().unwrap();
    build(dir.path(), "b.vsx", &[]);
    let r = run_in(
        dir.path(),
        &["search", "vector", "--index", "b.vsx", "--ef", "128"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains("--ef only tunes an HNSW index"),
        "{}",
        r.stderr
    );
    let r = run_in(dir.path(), &["search", "vector", "--index", "b.vsx"]);
    assert!(r.stderr.is_empty(), "{}", r.stderr);
}

/// A graph walk verifies the rows (codes or f32) and links of the nodes
/// it visits: a flipped bit in either stops the answer (the small corpus's
/// walk visits every node).
#[test]
fn a_damaged_vector_or_link_a_graph_walk_reads_stops_the_answer() {
    use vecsearch::internals::store::SectionId;
    let dir = tempfile::tempdir().unwrap();
    for (codes, rows, rows_name) in [
        ("f32", SectionId::Vectors, "vector section"),
        ("bits", SectionId::Codes, "code section"),
    ] {
        build(
            dir.path(),
            "g.vsx",
            &["--kind", "hnsw", "--dim", "64", "--codes", codes],
        );
        damage_graph_index(
            dir.path(),
            [
                (rows, rows_name),
                (SectionId::HnswLayer0, "HNSW layer-0 section"),
            ],
        );
    }
}

fn damage_graph_index(dir: &Path, targets: [(vecsearch::internals::store::SectionId, &str); 2]) {
    let q = "vector database";
    assert_eq!(search(dir, "g.vsx", q).code, 0);
    let file = std::fs::read(dir.join("g.vsx")).unwrap();
    for (id, name) in targets {
        let (off, len) = section(&file, id);
        // A count word of a link record is bounds-checked at open; flip a
        // low bit of a vector coordinate or of a neighbour id instead.
        let at = off + (len / 2) / 4 * 4 + 4;
        let mut bad = file.clone();
        bad[at] ^= 0x01;
        std::fs::write(dir.join("bad.vsx"), &bad).unwrap();
        let r = search(dir, "bad.vsx", q);
        let named = r.code == 2 && r.stderr.lines().count() == 1 && r.stderr.contains(name);
        // A changed neighbour id may instead fail the open's range check.
        let refused_at_open = r.code == 2 && r.stderr.contains("graph");
        assert!(named || refused_at_open, "{name}: {} {}", r.code, r.stderr);
    }
}
