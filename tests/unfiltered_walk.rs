//! A graph walk with a filter that passes every node answers exactly as
//! the walk with no filter: the engine drops such a filter (no language or
//! document named, nothing deleted) to spare the walk a call and a second
//! list per node, and relies on the two giving the same ids, scores and
//! order for any `k` up to `ef`.

use proptest::prelude::*;
use vecsearch::internals::index::hnsw::{Hnsw, HnswParams, Rows, Searcher};
use vecsearch::internals::index::testing as synth;

const DIM: usize = 24;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(8))]

    #[test]
    fn a_filter_that_passes_all_is_no_filter(
        seed in 0u64..1_000,
        n in 300usize..1_500,
        clusters in 1usize..12,
        k in 1usize..90,
        extra_ef in 0usize..60,
    ) {
        let all = synth::clustered(n + 8, DIM, clusters, 0.1, seed);
        let (vectors, queries) = all.split_at(n * DIM);
        let params = HnswParams { m: 8, ef_construction: 60, seed };
        let h = Hnsw::build(Rows::new(vectors, DIM), &params, &|_| {});
        let rows = Rows::new(vectors, DIM);
        let pass = |_: u32| true;
        let mut s = Searcher::new();
        // Queries near the data, and rows of the index itself (found first).
        for q in queries.chunks_exact(DIM).chain(vectors.chunks_exact(DIM).take(2)) {
            let ef = k + extra_ef;
            let bare = h.search_filtered(rows, q, k, ef, None, &mut s);
            let passed = h.search_filtered(rows, q, k, ef, Some(&pass), &mut s);
            prop_assert!(!bare.is_empty() && bare.len() <= k);
            let bits = |v: &[(u32, f32)]| v.iter().map(|&(id, x)| (id, x.to_bits())).collect::<Vec<_>>();
            prop_assert_eq!(bits(&bare), bits(&passed));
        }
    }
}
