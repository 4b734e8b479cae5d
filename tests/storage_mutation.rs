//! Corruption is never silent: a bounded mutator (proptest) truncates,
//! bit-flips, overwrites and splices small valid index files (flat and
//! HNSW) and checks, in process, that `Index::open`, a search and
//! `Index::verify` never panic, and that `verify` rejects every file whose
//! bytes differ from the original. (Out-of-bounds reads would be panics:
//! every index into the map is bounds-checked.) Prints the count.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use vecsearch::corpus::Document;
use vecsearch::{BuildOptions, Index, IndexKind, Quiet, SearchOptions};

/// Mutations per index kind; two kinds make the 10,000 of the issue.
const CASES: u32 = 5_000;

#[derive(Debug, Clone)]
enum Mutation {
    Truncate(usize),
    Flip(Vec<(usize, u8)>),
    Overwrite(usize, Vec<u8>),
    /// Copy `len` bytes at `from` in the donor file over `to`.
    Splice {
        from: usize,
        len: usize,
        to: usize,
    },
    Append(Vec<u8>),
}

fn mutation(n: usize, donor: usize) -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (0..n).prop_map(Mutation::Truncate),
        prop::collection::vec((0..n, 0u8..8), 1..4).prop_map(Mutation::Flip),
        (0..n, prop::collection::vec(any::<u8>(), 1..24))
            .prop_map(|(at, b)| Mutation::Overwrite(at, b)),
        (0..donor, 1..512usize, 0..n).prop_map(|(from, len, to)| Mutation::Splice {
            from,
            len,
            to
        }),
        prop::collection::vec(any::<u8>(), 1..64).prop_map(Mutation::Append),
    ]
}

fn apply(good: &[u8], donor: &[u8], m: &Mutation) -> Vec<u8> {
    let mut b = good.to_vec();
    match m {
        Mutation::Truncate(len) => b.truncate(*len),
        Mutation::Flip(flips) => {
            for &(at, bit) in flips {
                b[at] ^= 1 << bit;
            }
        }
        Mutation::Overwrite(at, bytes) => {
            let end = (*at + bytes.len()).min(b.len());
            b[*at..end].copy_from_slice(&bytes[..end - at]);
        }
        Mutation::Splice { from, len, to } => {
            let len = (*len).min(donor.len() - from).min(b.len() - to);
            b[*to..to + len].copy_from_slice(&donor[*from..from + len]);
        }
        Mutation::Append(bytes) => b.extend_from_slice(bytes),
    }
    b
}

fn build(dir: &Path, name: &str, kind: IndexKind, seed: u64) -> Vec<u8> {
    let docs = (0..6)
        .map(|i| Document {
            path: format!("d{i}.md"),
            mtime_ns: 0,
            text: format!(
                "# Vector databases {i}\n\nA vector database stores embeddings and answers nearest neighbour queries {}.\n\nベクトル検索は索引を使う。\n\nLes bases de données vectorielles {}.\n",
                i * 7 + seed as usize,
                i + 3
            ),
        })
        .collect();
    let mut opts = BuildOptions {
        kind,
        ..Default::default()
    };
    opts.embedder.dim = 16;
    opts.embedder.seed = seed;
    let (mut index, _) = Index::from_documents(docs, &opts, &Quiet).unwrap();
    let path = dir.join(name);
    index.save(&path).unwrap();
    std::fs::read(&path).unwrap()
}

#[derive(Default)]
struct Counts {
    mutations: AtomicUsize,
    no_ops: AtomicUsize,
    opened: AtomicUsize,
    searched: AtomicUsize,
    rejected_by_open: AtomicUsize,
    rejected_by_verify: AtomicUsize,
}

fn run(kind: IndexKind, counts: &Counts) {
    let tmp = tempfile::tempdir().unwrap();
    let good = build(tmp.path(), "good.vsx", kind, 1);
    let other = if kind == IndexKind::Flat {
        IndexKind::Hnsw
    } else {
        IndexKind::Flat
    };
    let donor = build(tmp.path(), "donor.vsx", other, 2);
    let path = tmp.path().join("m.vsx");
    let mut runner = TestRunner::new(Config {
        cases: CASES,
        failure_persistence: None,
        ..Config::default()
    });
    let opts = SearchOptions::default();
    runner
        .run(&mutation(good.len(), donor.len()), |m| {
            let bad = apply(&good, &donor, &m);
            counts.mutations.fetch_add(1, Relaxed);
            if bad == good {
                counts.no_ops.fetch_add(1, Relaxed);
                return Ok(());
            }
            std::fs::write(&path, &bad).unwrap();
            let outcome = catch_unwind(AssertUnwindSafe(|| {
                match Index::open(&path) {
                    Ok(index) => {
                        counts.opened.fetch_add(1, Relaxed);
                        for q in ["vector database", "ベクトル検索", "données"] {
                            let _ = index.search(q, &opts);
                        }
                        let _ = index.search_batch(&["vector".into(), "索引".into()], &opts);
                        counts.searched.fetch_add(1, Relaxed);
                    }
                    Err(_) => {
                        counts.rejected_by_open.fetch_add(1, Relaxed);
                    }
                }
                Index::verify(&path)
            }));
            match outcome {
                Err(_) => Err(TestCaseError::fail(format!("panic on {m:?}"))),
                Ok(Ok(_)) => Err(TestCaseError::fail(format!(
                    "verify accepted a mutated file: {m:?}"
                ))),
                Ok(Err(_)) => {
                    counts.rejected_by_verify.fetch_add(1, Relaxed);
                    Ok(())
                }
            }
        })
        .unwrap();
}

#[test]
fn mutated_index_files_never_panic_and_never_pass_verify() {
    let counts = Counts::default();
    let started = std::time::Instant::now();
    run(IndexKind::Flat, &counts);
    run(IndexKind::Hnsw, &counts);
    let n = counts.mutations.load(Relaxed);
    println!(
        "mutation test: {n} mutations ({} no-ops), 0 panics, 0 silent loads by verify; open rejected {}, open accepted {} (all searched without panic; verify rejected every one), {:.1} s",
        counts.no_ops.load(Relaxed),
        counts.rejected_by_open.load(Relaxed),
        counts.opened.load(Relaxed),
        started.elapsed().as_secs_f64(),
    );
    assert!(n >= 10_000, "only {n} mutations ran");
    assert_eq!(
        counts.rejected_by_verify.load(Relaxed) + counts.no_ops.load(Relaxed),
        n
    );
}
