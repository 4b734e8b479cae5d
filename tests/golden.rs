//! Freezes the index format: a file written by format version 1 must keep
//! opening and answering the same, and today's writer must still produce it
//! byte for byte. Regenerate (only with a format version bump) with
//! `VECSEARCH_BLESS=1 cargo test --test golden`.

mod common;

use std::path::Path;

use common::*;

const QUERIES: &[&str] = &[
    "vector",
    "ベクトルデータベース",
    "向量資料庫",
    "données vectorielles",
];

fn data() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data"))
}

fn answers(index: &Path) -> String {
    let mut out = String::new();
    for q in QUERIES {
        let r = run_in(
            data(),
            &["search", q, "--index", index.to_str().unwrap(), "--json"],
        );
        assert!(r.code <= 1, "{}", r.stderr);
        out.push_str(&r.stdout);
    }
    out
}

#[test]
fn golden_v1_file_still_opens_answers_and_is_reproduced() {
    let golden = data().join("golden_v1.vsx");
    let expected = data().join("golden_v1.expected.jsonl");
    let tmp = tempfile::tempdir().unwrap();
    let fresh = tmp.path().join("fresh.vsx");
    let r = run_in(
        data(),
        &[
            "index",
            "golden_corpus",
            "--index",
            fresh.to_str().unwrap(),
            "--dim",
            "64",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    if std::env::var_os("VECSEARCH_BLESS").is_some() {
        std::fs::copy(&fresh, &golden).unwrap();
        std::fs::write(&expected, answers(&golden)).unwrap();
        eprintln!("blessed {}", golden.display());
    }
    let want = std::fs::read_to_string(&expected).expect("golden answers exist");
    assert_eq!(
        answers(&golden),
        want,
        "the golden index answers differently"
    );
    assert!(
        std::fs::read(&fresh).unwrap() == std::fs::read(&golden).unwrap(),
        "today's writer no longer reproduces the golden v1 file byte for byte"
    );
}

/// A version-1 file written before the cross-language section existed: it
/// must still open, as "no Han folding, no subwords, no lexicon", and
/// answer exactly as it did then.
#[test]
fn golden_v1_without_crosslang_section_still_answers_the_same() {
    let old = data().join("golden_v1_no_crosslang.vsx");
    let want = std::fs::read_to_string(data().join("golden_v1_no_crosslang.expected.jsonl"))
        .expect("frozen answers exist");
    assert_eq!(answers(&old), want);
}
