//! `vecsearch bench` and `vecsearch export`: JSON contract, recall against
//! exact search, round trip through .fvecs.

mod common;

use common::*;

#[test]
fn export_then_bench_on_the_files_and_on_the_index() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = write_corpus(dir.path());
    let r = run_in(
        dir.path(),
        &[
            "index",
            corpus.to_str().unwrap(),
            "--index",
            "n.vsx",
            "--dim",
            "128",
            "--kind",
            "hnsw",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    std::fs::write(
        dir.path().join("q.txt"),
        "vector database\nベクトル\nflat index\n",
    )
    .unwrap();
    let r = run_in(
        dir.path(),
        &[
            "export",
            "--index",
            "n.vsx",
            "--fvecs",
            "base.fvecs",
            "--npy",
            "base.npy",
            "--queries",
            "q.txt",
            "--query-fvecs",
            "q.fvecs",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let base = std::fs::read(dir.path().join("base.fvecs")).unwrap();
    assert_eq!(&base[..4], &128i32.to_le_bytes());
    assert_eq!(base.len() % (4 + 128 * 4), 0);
    assert!(std::fs::read(dir.path().join("base.npy"))
        .unwrap()
        .starts_with(b"\x93NUMPY"));

    let r = run_in(
        dir.path(),
        &[
            "bench",
            "--base",
            "base.fvecs",
            "--query",
            "q.fvecs",
            "-k",
            "3",
            "--ef",
            "8,16",
            "--threads",
            "1,2",
            "--m",
            "4",
            "--json",
            "-q",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let rows = json_lines(&r.stdout);
    // flat: 2 thread counts × 2 modes; hnsw: 2 thread counts × 2 ef × 2 modes.
    assert_eq!(rows.len(), 4 + 8, "{}", r.stdout);
    for row in &rows {
        for f in [
            "mode",
            "recall",
            "qps",
            "p50_us",
            "p95_us",
            "p99_us",
            "build_s",
            "index_bytes",
            "threads",
            "ef",
            "m",
            "ef_construction",
            "kind",
        ] {
            assert!(row.get(f).is_some(), "missing {f}: {row}");
        }
        let mode = row["mode"].as_str().unwrap();
        assert!(mode == "single" || mode == "batch");
        assert_eq!(row["p50_us"].is_null(), mode == "batch");
        assert!(row["qps"].as_f64().unwrap() > 0.0);
        if row["kind"] == "flat" {
            assert_eq!(row["recall"].as_f64().unwrap(), 1.0);
        }
    }
    // A graph over a handful of points is searched exhaustively.
    assert!(
        rows.iter().all(|r| r["recall"].as_f64().unwrap() == 1.0),
        "{}",
        r.stdout
    );

    let r = run_in(
        dir.path(),
        &[
            "bench",
            "--index",
            "n.vsx",
            "--queries",
            "q.txt",
            "--json",
            "--ef",
            "8",
            "--threads",
            "1",
            "-q",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let rows = json_lines(&r.stdout);
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["kind"], "hnsw");
    assert!(rows[0]["build_s"].is_null());
}

#[test]
fn bench_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("junk.fvecs"), [1u8, 2, 3]).unwrap();
    assert_error(&run_in(
        dir.path(),
        &["bench", "--base", "junk.fvecs", "--query", "junk.fvecs"],
    ));
    assert_error(&run_in(
        dir.path(),
        &["bench", "--base", "missing.fvecs", "--query", "junk.fvecs"],
    ));
    assert_error(&run_in(dir.path(), &["bench"]));
    assert_error(&run_in(
        dir.path(),
        &[
            "bench", "--base", "a.fvecs", "--query", "b.fvecs", "--ef", "0",
        ],
    ));
    assert_error(&run_in(
        dir.path(),
        &["export", "--index", "none.vsx", "--fvecs", "x.fvecs"],
    ));
}
