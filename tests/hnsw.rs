//! HNSW behaviour through the public API: recall against brute force,
//! determinism across thread counts, parts round trips and corrupt parts.

use proptest::prelude::*;
use vecsearch::internals::index::hnsw::{
    CodeRows, Hnsw, HnswError, HnswParams, HnswParts, Rows, Searcher,
};
use vecsearch::internals::index::testing as synth;
use vecsearch::internals::index::BitIndex;
use vecsearch::internals::vector::Slab;

const DIM: usize = 32;

fn params() -> HnswParams {
    HnswParams {
        m: 12,
        ef_construction: 100,
        seed: 99,
    }
}

fn recall(index: &Hnsw, vectors: &[f32], queries: &[f32], ef: usize) -> f64 {
    let mut s = Searcher::new();
    let mut hits = 0;
    let nq = queries.len() / DIM;
    for q in queries.chunks_exact(DIM) {
        let truth = synth::brute_force(vectors, DIM, q, 10);
        let got = index.search(Rows::new(vectors, DIM), q, 10, ef, &mut s);
        assert_eq!(got.len(), 10);
        assert!(got.windows(2).all(|w| w[0].1 >= w[1].1), "best first");
        hits += got.iter().filter(|(id, _)| truth.contains(id)).count();
    }
    hits as f64 / (nq * 10) as f64
}

fn same(a: &HnswParts, b: &HnswParts) -> bool {
    (a.n, a.m, a.max_level, a.entry_point, a.seed) == (b.n, b.m, b.max_level, b.entry_point, b.seed)
        && a.layer0[..] == b.layer0[..]
        && a.upper_offsets[..] == b.upper_offsets[..]
        && a.upper_ids[..] == b.upper_ids[..]
        && a.upper_links[..] == b.upper_links[..]
}

fn build_with_threads(vectors: &[f32], threads: usize) -> Hnsw {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
        .install(|| Hnsw::build(Rows::new(vectors, DIM), &params(), &|_| {}))
}

#[test]
fn recall_at_10_on_clustered_data() {
    let all = synth::clustered(10_200, DIM, 20, 0.08, 5);
    let (vectors, queries) = all.split_at(10_000 * DIM);
    let index = Hnsw::build(Rows::new(vectors, DIM), &params(), &|_| {});
    let r = recall(&index, vectors, queries, 64);
    assert!(r >= 0.95, "recall@10 = {r}");
}

#[test]
fn builds_are_identical_across_thread_counts() {
    let vectors = synth::clustered(6_000, DIM, 10, 0.1, 6);
    let a = build_with_threads(&vectors, 1).to_parts();
    let b = build_with_threads(&vectors, 3).to_parts();
    let c = build_with_threads(&vectors, 3).to_parts();
    assert!(same(&a, &b) && same(&b, &c));
    let other = Hnsw::build(
        Rows::new(&vectors, DIM),
        &HnswParams {
            seed: 1,
            ..params()
        },
        &|_| {},
    );
    assert!(!same(&a, &other.to_parts()));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(6))]

    /// A graph over 1-bit codes is the same whatever the thread count,
    /// for any data, dimension (odd ones too) and seed.
    #[test]
    fn code_graphs_are_identical_for_one_and_two_threads(
        n in 1usize..1500,
        dim in prop::sample::select(vec![7usize, 64, 100, 256]),
        data_seed in any::<u64>(),
        seed in any::<u64>(),
    ) {
        let vectors = synth::clustered(n, dim, 8, 0.15, data_seed);
        let codes = BitIndex::encode_rows(dim, &vectors);
        let words = codes.len() / n;
        let params = HnswParams { m: 6, ef_construction: 24, seed };
        let build = |threads| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap()
                .install(|| Hnsw::build_codes(CodeRows::new(&codes, words), &params, &|_| {}))
                .to_parts()
        };
        let (a, b) = (build(1), build(2));
        prop_assert!(same(&a, &b));
        Hnsw::from_parts(a).unwrap();
    }
}

#[test]
fn parts_round_trip_gives_identical_results() {
    let all = synth::clustered(3_050, DIM, 8, 0.1, 7);
    let (vectors, queries) = all.split_at(3_000 * DIM);
    let index = Hnsw::build(Rows::new(vectors, DIM), &params(), &|_| {});
    let p = index.to_parts();
    // Copy every array, as reopening from a file would.
    let copy = HnswParts {
        layer0: Slab::from_vec(p.layer0.to_vec()),
        upper_offsets: Slab::from_vec(p.upper_offsets.to_vec()),
        upper_ids: Slab::from_vec(p.upper_ids.to_vec()),
        upper_links: Slab::from_vec(p.upper_links.to_vec()),
        ..p.clone()
    };
    let reopened = Hnsw::from_parts(copy).unwrap();
    assert!(same(&p, &reopened.to_parts()));
    let (mut s1, mut s2) = (Searcher::new(), Searcher::new());
    for q in queries.chunks_exact(DIM) {
        assert_eq!(
            index.search(Rows::new(vectors, DIM), q, 10, 32, &mut s1),
            reopened.search(Rows::new(vectors, DIM), q, 10, 32, &mut s2)
        );
    }
}

/// Mutates the scalars and the four arrays (layer0, offsets, ids, links).
type Edit<'a> =
    &'a dyn Fn(&mut HnswParts, &mut Vec<u32>, &mut Vec<u32>, &mut Vec<u32>, &mut Vec<u32>);

#[test]
fn corrupt_parts_are_rejected() {
    let vectors = synth::clustered(2_000, DIM, 8, 0.1, 8);
    let good = Hnsw::build(Rows::new(&vectors, DIM), &params(), &|_| {}).to_parts();
    assert!(good.max_level >= 1, "test needs upper layers");
    let m = good.m as usize;
    let edit = |f: Edit| {
        let mut p = good.clone();
        let (mut l0, mut off, mut ids, mut links) = (
            p.layer0.to_vec(),
            p.upper_offsets.to_vec(),
            p.upper_ids.to_vec(),
            p.upper_links.to_vec(),
        );
        f(&mut p, &mut l0, &mut off, &mut ids, &mut links);
        p.layer0 = Slab::from_vec(l0);
        p.upper_offsets = Slab::from_vec(off);
        p.upper_ids = Slab::from_vec(ids);
        p.upper_links = Slab::from_vec(links);
        Hnsw::from_parts(p)
    };
    let is_corrupt = |r: Result<Hnsw, HnswError>| matches!(r, Err(HnswError::Corrupt(_)));

    assert!(edit(&|_, _, _, _, _| {}).is_ok());
    assert!(is_corrupt(edit(&|_, l0, _, _, _| l0[1] = 2_000)));
    assert!(is_corrupt(edit(&|_, l0, _, _, _| l0[0] = 2 * m as u32 + 1)));
    assert!(is_corrupt(edit(&|_, l0, _, _, _| {
        l0.pop();
    })));
    assert!(is_corrupt(edit(&|p, _, _, _, _| p.n += 1)));
    assert!(is_corrupt(edit(&|p, _, _, _, _| p.m = 0)));
    assert!(is_corrupt(edit(&|p, _, _, _, _| p.m += 1)));
    assert!(is_corrupt(edit(&|p, _, _, _, _| p.entry_point = 2_000)));
    assert!(is_corrupt(edit(&|p, _, _, _, _| p.max_level += 1)));
    assert!(is_corrupt(edit(&|p, _, _, _, _| p.max_level = u32::MAX)));
    assert!(is_corrupt(edit(&|_, _, off, _, _| *off
        .last_mut()
        .unwrap() += 1)));
    assert!(is_corrupt(edit(&|_, _, _, ids, _| ids.swap(0, 1))));
    assert!(is_corrupt(edit(
        &|_, _, _, _, links| links[0] = m as u32 + 1
    )));
    assert!(is_corrupt(edit(&|_, _, _, _, links| {
        links.truncate(links.len() - 1);
    })));
    // A link to a node that is not on the level, though it exists.
    assert!(is_corrupt(edit(&|_, _, off, ids, links| {
        let level1 = &ids[..off[1] as usize];
        let absent = (0..2_000u32)
            .find(|i| level1.binary_search(i).is_err())
            .unwrap();
        links[0] = links[0].max(1);
        links[1] = absent;
    })));
}

#[test]
fn tiny_and_degenerate_inputs() {
    let mut s = Searcher::new();
    let empty = Hnsw::build(Rows::new(&[], DIM), &params(), &|_| {});
    assert!(empty.is_empty() && empty.entry_point().is_none());
    assert!(empty
        .search(Rows::new(&[], DIM), &[0.0; DIM], 5, 10, &mut s)
        .is_empty());
    let reopened = Hnsw::from_parts(empty.to_parts()).unwrap();
    assert!(reopened.is_empty());

    let one = synth::clustered(1, DIM, 1, 0.1, 9);
    let h = Hnsw::build(Rows::new(&one, DIM), &params(), &|_| {});
    let got = h.search(Rows::new(&one, DIM), &one, 5, 10, &mut s);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].0, 0);

    // k larger than n returns every node once.
    let few = synth::clustered(30, DIM, 3, 0.1, 10);
    let h = Hnsw::build(Rows::new(&few, DIM), &params(), &|_| {});
    let mut got: Vec<u32> = h
        .search(Rows::new(&few, DIM), &few[..DIM], 100, 10, &mut s)
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    got.sort_unstable();
    assert_eq!(got, (0..30).collect::<Vec<u32>>());
    assert!(h
        .search(Rows::new(&few, DIM), &few[..DIM], 0, 10, &mut s)
        .is_empty());
}

#[test]
fn duplicate_vectors_are_all_found() {
    // 50 copies of each of 20 vectors.
    let base = synth::clustered(20, DIM, 4, 0.1, 11);
    let vectors: Vec<f32> = (0..50).flat_map(|_| base.iter().copied()).collect();
    let index = Hnsw::build(Rows::new(&vectors, DIM), &params(), &|_| {});
    let mut s = Searcher::new();
    let got = index.search(Rows::new(&vectors, DIM), &base[..DIM], 50, 100, &mut s);
    assert_eq!(got.len(), 50);
    assert!(got.iter().all(|&(id, _)| id % 20 == 0), "{got:?}");
}

#[test]
fn incremental_insert_keeps_recall() {
    let all = synth::clustered(8_100, DIM, 16, 0.08, 12);
    let (vectors, queries) = all.split_at(8_000 * DIM);
    let mut index = Hnsw::build(Rows::new(&vectors[..5_000 * DIM], DIM), &params(), &|_| {});
    index.insert(Rows::new(vectors, DIM), params().ef_construction, &|_| {});
    assert_eq!(index.len(), 8_000);
    Hnsw::from_parts(index.to_parts()).unwrap();
    let r = recall(&index, vectors, queries, 64);
    assert!(r >= 0.95, "recall@10 = {r}");
}

#[test]
fn reordered_build_is_a_consistent_renumbering() {
    let all = synth::clustered(10_200, DIM, 20, 0.08, 5);
    let (vectors, queries) = all.split_at(10_000 * DIM);
    let build = |threads: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| Hnsw::build_reordered(Rows::new(vectors, DIM), &params(), &|_| {}))
    };
    let r = build(1);
    // `order` is a permutation and `rows` the input in that order.
    let mut seen = vec![false; 10_000];
    for (new, &old) in r.order.iter().enumerate() {
        assert!(!std::mem::replace(&mut seen[old as usize], true));
        assert_eq!(
            &r.rows[new * DIM..(new + 1) * DIM],
            &vectors[old as usize * DIM..(old as usize + 1) * DIM]
        );
    }
    assert!(r.order.iter().enumerate().any(|(i, &o)| i as u32 != o));
    Hnsw::from_parts(r.graph.to_parts()).unwrap();
    // Searching the renumbered arena and mapping ids back finds the true
    // neighbours in input numbering.
    let mut s = Searcher::new();
    let mut hits = 0;
    for q in queries.chunks_exact(DIM) {
        let truth = synth::brute_force(vectors, DIM, q, 10);
        let got = r.graph.search(Rows::new(&r.rows, DIM), q, 10, 64, &mut s);
        hits += got
            .iter()
            .filter(|(id, _)| truth.contains(&r.order[*id as usize]))
            .count();
    }
    let recall = hits as f64 / 2000.0;
    assert!(recall >= 0.95, "recall@10 = {recall}");
    // Deterministic whatever the pool size.
    let r3 = build(3);
    assert_eq!(r.order, r3.order);
    assert!(same(&r.graph.to_parts(), &r3.graph.to_parts()));
}

/// `Index::search_batch` promises each result equals `Index::search` of
/// the same query: checked over many queries, on a flat index (the tiled
/// batch kernel against the single-query scan) and on an HNSW one (the
/// graph walked per query, serially in a batch and in parallel alone), with
/// and without the re-score, a language filter and a small `ef`.
#[test]
fn search_batch_equals_single_searches_on_flat_and_hnsw() {
    use vecsearch::Document;
    use vecsearch::{BuildOptions, Index, IndexKind, Quiet, SearchOptions};
    const WORDS: &[&str] = &[
        "vector",
        "database",
        "graph",
        "search",
        "index",
        "query",
        "cosine",
        "passage",
        "storage",
        "memory",
        "ベクトル",
        "検索",
        "索引",
        "向量",
        "数据库",
        "données",
        "recherche",
        "mémoire",
    ];
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move |n: usize| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x % n as u64) as usize
    };
    let docs: Vec<Document> = (0..60)
        .map(|d| {
            let text: String = (0..12)
                .map(|_| {
                    let n = 4 + next(10);
                    let words: Vec<&str> = (0..n).map(|_| WORDS[next(WORDS.len())]).collect();
                    format!("{} t{}.\n\n", words.join(" "), next(300))
                })
                .collect();
            Document::new(format!("d{d:02}.md"), text, 0)
        })
        .collect();
    let queries: Vec<String> = (0..120)
        .map(|i| match i % 4 {
            0 => WORDS[next(WORDS.len())].to_string(),
            1 => format!("{} {}", WORDS[next(WORDS.len())], WORDS[next(WORDS.len())]),
            2 => format!("t{} {}", next(300), WORDS[next(WORDS.len())]),
            _ => format!("t{}", next(300)),
        })
        .collect();
    for kind in [IndexKind::Flat, IndexKind::Hnsw] {
        let mut opts = BuildOptions {
            kind,
            ..Default::default()
        };
        opts.embedder.dim = 64;
        let (index, _) = Index::from_documents(docs.clone(), &opts, &Quiet).unwrap();
        let mut compared = 0;
        for search in [
            SearchOptions::default(),
            SearchOptions {
                rerank: false,
                k: 5,
                ..Default::default()
            },
            SearchOptions {
                lang: Some("ja".into()),
                ..Default::default()
            },
            SearchOptions {
                ef: Some(12),
                k: 3,
                ..Default::default()
            },
        ] {
            let batch = index.search_batch(&queries, &search);
            assert_eq!(batch.len(), queries.len());
            for (q, b) in queries.iter().zip(batch) {
                let single = index.search(q, &search);
                let key = |r: &vecsearch::Result<Vec<vecsearch::Hit>>| match r {
                    Ok(hits) => Ok(hits.iter().map(|h| (h.rank, h.passage)).collect::<Vec<_>>()),
                    Err(e) => Err(e.to_string()),
                };
                assert_eq!(key(&b), key(&single), "{kind:?} {search:?}: {q:?}");
                // The re-scored score is computed alike; without the
                // re-score a flat batch shows the tiled kernel's dot, whose
                // summation order differs from the single scan's in the
                // last bits.
                let tolerance = if search.rerank { 0.0 } else { 1e-6 };
                if let (Ok(b), Ok(s)) = (&b, &single) {
                    for (x, y) in b.iter().zip(s) {
                        assert!(
                            (x.score - y.score).abs() <= tolerance * y.score.abs(),
                            "{kind:?} {search:?}: {q:?}: {} vs {}",
                            x.score,
                            y.score
                        );
                    }
                }
                if matches!(&b, Ok(h) if !h.is_empty()) {
                    compared += 1;
                }
            }
        }
        assert!(
            compared >= 300,
            "{kind:?}: only {compared} queries had hits"
        );
    }
}
