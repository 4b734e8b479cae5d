//! Corruption is never silent: a bounded mutator (proptest) truncates,
//! bit-flips, overwrites and splices small valid index files (flat and
//! HNSW) and checks, in process, that `Index::open`, a search and
//! `Index::verify` never panic, and that `verify` rejects every file whose
//! bytes differ from the original. (Out-of-bounds reads would be panics:
//! every index into the map is bounds-checked.) Prints the count.
//!
//! A second test runs the real binary's `search`, `similar` and `info` on
//! mutated copies of an HNSW index with the lexicon, as a user would: each
//! run must exit 2 with one line, or print exactly what the intact file
//! prints; no panic, no hang. A wrong answer names the sections the damage
//! touched.

mod common;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use vecsearch::internals::store::{MappedFile, SectionId, Verify};
use vecsearch::Document;
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
        .map(|i| {
            let text = format!(
                "# Vector databases {i}\n\nA vector database stores embeddings and answers nearest neighbour queries {}.\n\nベクトル検索は索引を使う。\n\nLes bases de données vectorielles {}.\n",
                i * 7 + seed as usize,
                i + 3
            );
            Document::new(format!("d{i}.md"), text, 0)
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
    let writer = vecsearch::IndexWriter::create(&path, false, |_| {}).unwrap();
    writer.save(&mut index).unwrap();
    drop(writer);
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

/// How many mutated files the binary test runs in every `cargo test`
/// (4 runs each, about 45 s here): the 2,000 that issue 12 asks of CI;
/// `VECSEARCH_CLI_MUTATIONS` raises it for a long run (10,000 in README).
fn cli_cases() -> usize {
    std::env::var("VECSEARCH_CLI_MUTATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000)
}

/// xorshift64*, seeded, so a failure can be replayed.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

/// The mix: truncations, bit flips, overwrites and 1-64-byte
/// splices from another index, and appends.
fn random_mutation(rng: &mut Rng, n: usize, donor: usize) -> Mutation {
    match rng.below(5) {
        0 => Mutation::Truncate(rng.below(n)),
        1 => Mutation::Flip(
            (0..1 + rng.below(3))
                .map(|_| (rng.below(n), rng.below(8) as u8))
                .collect(),
        ),
        2 => {
            let len = 1 + rng.below(23);
            Mutation::Overwrite(rng.below(n), rng.bytes(len))
        }
        3 => Mutation::Splice {
            from: rng.below(donor),
            len: 1 + rng.below(64),
            to: rng.below(n),
        },
        _ => {
            let len = 1 + rng.below(63);
            Mutation::Append(rng.bytes(len))
        }
    }
}

/// The section ids that hold each changed byte: 0 for the header, section
/// table and footer, none for the zero padding between sections (which no
/// answer reads). `None` when the length changed.
fn damaged_sections(good: &[u8], bad: &[u8], ranges: &[(u32, u64, u64)]) -> Option<Vec<u32>> {
    if good.len() != bad.len() {
        return None;
    }
    let data_end = ranges.iter().map(|r| r.1 + r.2).max().unwrap_or(0);
    let mut ids: Vec<u32> = (0..good.len() as u64)
        .filter(|&i| good[i as usize] != bad[i as usize])
        .filter_map(|i| {
            match ranges
                .iter()
                .find(|&&(_, off, len)| (off..off + len).contains(&i))
            {
                Some(r) => Some(r.0),
                None if i < 64 || i >= data_end => Some(0),
                None => None,
            }
        })
        .collect();
    ids.sort_unstable();
    ids.dedup();
    Some(ids)
}

#[test]
fn mutated_files_through_the_binary_fail_in_one_line_or_answer_as_intact() {
    use common::*;
    use std::time::Duration;
    let started = std::time::Instant::now();
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let corpus = write_corpus(d);
    let corpus = corpus.to_str().unwrap();
    for (name, kind, dim) in [("good.vsx", "hnsw", "64"), ("donor.vsx", "flat", "32")] {
        let r = run_in(
            d,
            &[
                "index", corpus, "--index", name, "--kind", kind, "--dim", dim, "-q",
            ],
        );
        assert_eq!(r.code, 0, "{}", r.stderr);
    }
    let good = std::fs::read(d.join("good.vsx")).unwrap();
    let donor = std::fs::read(d.join("donor.vsx")).unwrap();
    let ranges = MappedFile::open(&d.join("good.vsx"), Verify::Full)
        .unwrap()
        .section_ranges();
    let commands = |f: &str| -> Vec<Vec<String>> {
        [
            vec!["search", "vector database", "--json", "-k", "5"],
            vec!["search", "ベクトル 検索", "--json"],
            vec!["similar", "a.md:6", "--json", "-k", "5"],
            vec!["info", "--json"],
        ]
        .into_iter()
        .map(|c| {
            let mut c: Vec<String> = c.into_iter().map(String::from).collect();
            c.extend(["--index".to_string(), f.to_string()]);
            c
        })
        .collect()
    };
    let run = |args: &[String]| {
        let args: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
        run_with_timeout(d, &args, Duration::from_secs(30))
            .unwrap_or_else(|| panic!("hang: {args:?}"))
    };
    let intact: Vec<(i32, String, String)> = commands("good.vsx")
        .iter()
        .map(|c| {
            let r = run(c);
            assert_eq!(r.code, 0, "intact {c:?}: {}", r.stderr);
            (r.code, r.stdout, r.stderr)
        })
        .collect();

    let cases = cli_cases();
    let mut rng = Rng(0x7275_7374_2d31_3200);
    let (mut runs, mut caught, mut same, mut no_ops) = (0, 0, 0, 0);
    // Runs that answered differently from the intact file without an error.
    let mut silent = Vec::new();
    let path = d.join("m.vsx");
    for _ in 0..cases {
        let m = random_mutation(&mut rng, good.len(), donor.len());
        let bad = apply(&good, &donor, &m);
        if bad == good {
            no_ops += 1;
            continue;
        }
        std::fs::write(&path, &bad).unwrap();
        for (c, want) in commands("m.vsx").iter().zip(&intact) {
            let r = run(c);
            runs += 1;
            assert_no_panic(&r);
            if r.code == 2 {
                assert_eq!(r.stderr.lines().count(), 1, "{m:?} {c:?}: {}", r.stderr);
                caught += 1;
            } else if (r.code, &r.stdout, &r.stderr) == (want.0, &want.1, &want.2) {
                same += 1;
            } else {
                let names: Vec<&str> = damaged_sections(&good, &bad, &ranges)
                    .unwrap_or_default()
                    .iter()
                    .map(|&i| {
                        SectionId::from_u32(i).map_or("header, table or footer", |s| s.name())
                    })
                    .collect();
                silent.push(format!(
                    "{m:?} {c:?} (damage in: {names:?}): exit {}",
                    r.code
                ));
            }
        }
    }
    println!(
        "binary mutation test: {cases} mutated files ({no_ops} no-ops), {runs} runs of search/similar/info: {caught} one-line errors, {same} answers as intact, {} wrong answers; 0 panics, 0 hangs; {:.1} s",
        silent.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(
        silent.is_empty(),
        "{} runs answered differently from the intact file without an error:\n{}",
        silent.len(),
        silent.join("\n")
    );
}
