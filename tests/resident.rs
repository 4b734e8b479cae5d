//! `Index::make_resident` (what `vecsearch serve` does to every index it
//! opens): the copied codes and term rows answer exactly as the mapped file
//! does, over a flat scan or a graph walk, and a damaged block found while
//! copying is a one-line error that leaves nothing half-copied in use.

mod common;

use std::path::Path;

use common::{run_in, write_corpus};
use vecsearch::internals::store::{MappedFile, SectionId, Verify};
use vecsearch::{Index, SearchOptions};

const QUERIES: [&str; 6] = [
    "vector database",
    "ベクトル 検索",
    "index",
    "recherche",
    "向量",
    "the passage that no word of this query is in: zzqx",
];

fn build_kind(dir: &Path, codes: &str, kind: &str) -> std::path::PathBuf {
    let corpus = write_corpus(dir);
    let r = run_in(
        dir,
        &[
            "index",
            corpus.to_str().unwrap(),
            "--index",
            "r.vsx",
            "--codes",
            codes,
            "--kind",
            kind,
            "-q",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    dir.join("r.vsx")
}

fn answers(index: &Index) -> Vec<String> {
    let opts = SearchOptions::default();
    QUERIES
        .iter()
        .map(|q| format!("{:?}", index.search(q, &opts).map_err(|e| e.to_string())))
        .collect()
}

#[test]
fn a_resident_index_answers_exactly_as_the_mapped_file() {
    for (codes, kind) in [
        ("bits", "flat"),
        ("f32", "flat"),
        ("f32", "hnsw"),
        ("bits", "hnsw"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let path = build_kind(dir.path(), codes, kind);
        let mut index = Index::open(&path).unwrap();
        let before = answers(&index);
        assert!(before.iter().any(|a| a.contains("rank: 1")), "{before:?}");
        index.make_resident().unwrap();
        assert_eq!(answers(&index), before, "codes {codes}, {kind}");
        // As the server opens it: every block checked at open (the walk
        // then skips its per-node lookups), resident, with the shared idf
        // hint.
        let mut served = Index::open_verified(&path).unwrap();
        assert_eq!(answers(&served), before, "codes {codes}, {kind}, verified");
        served.make_resident().unwrap();
        assert_eq!(answers(&served), before, "codes {codes}, {kind}, served");
        // Twice is harmless (the copies are copied again).
        index.make_resident().unwrap();
        assert_eq!(answers(&index), before, "codes {codes}, {kind}");
    }
}

#[test]
fn a_resident_format_5_index_answers_as_the_file() {
    // Format 5 stores its term rows in the wide form, which stays mapped.
    let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/golden_v5.vsx");
    let mut index = Index::open(&golden).unwrap();
    let before = answers(&index);
    assert!(before.iter().any(|a| a.contains("rank: 1")), "{before:?}");
    index.make_resident().unwrap();
    assert_eq!(answers(&index), before);
}

#[test]
fn a_damaged_block_is_refused_while_copying() {
    for (section, codes, kind) in [
        (SectionId::Codes, "bits", "flat"),
        (SectionId::TermWords, "bits", "flat"),
        (SectionId::Codes, "bits", "hnsw"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let path = build_kind(dir.path(), codes, kind);
        let ranges = MappedFile::open(&path, Verify::Full)
            .unwrap()
            .section_ranges();
        let &(_, start, len) = ranges
            .iter()
            .find(|(id, _, _)| *id == section as u32)
            .expect("section present");
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[(start + len / 2) as usize] ^= 0x5a;
        std::fs::write(&path, &bytes).unwrap();

        // Opening checks only the structure; the copy reads every block.
        let mut index = Index::open(&path).unwrap();
        let err = index.make_resident().unwrap_err().to_string();
        assert!(!err.contains('\n'), "{err}");
        assert!(err.contains("r.vsx"), "{err}");
        assert!(
            err.contains("checksum") || err.contains("corrupt"),
            "{section:?}: {err}"
        );
    }
}
