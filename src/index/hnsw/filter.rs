//! Planning a filtered search so that it keeps its recall.
//!
//! A filter that keeps a fraction `sel` of the nodes leaves a beam of width
//! `ef` with about `ef * sel` passing candidates, so the plain filtered walk
//! ([`Hnsw::search_filtered`](super::Hnsw::search_filtered)) loses recall as
//! the filter gets selective. [`plan_filtered`] widens the beam until it
//! holds about [`PASSING_PER_RESULT`] passing candidates per result asked
//! for, and chooses an exact scan of the passing rows instead when that
//! scores fewer rows than the widened walk would (the idea of Qdrant's
//! `full_scan_threshold`, with the threshold in scored rows rather than
//! bytes).

use super::Rows;
use crate::index::TopK;

/// Passing candidates per requested result that the widened beam should
/// hold. On the 200k × 256 clustered set at k = 10 (BENCHMARKS.md,
/// "Filtered search"), plain filtered walks whose beam holds about 6 to 13
/// passing nodes (10% at ef 64, 5% at ef 128, 20% at ef 64) reach recall@10
/// 0.952 to 0.983 against the exact filtered answer, and 32 (50% at ef 64)
/// reach 0.988; one per result (10) leaves a margin over 0.95.
pub const PASSING_PER_RESULT: usize = 1;

/// Layer-0 nodes a walk scores per unit of beam width, measured on the same
/// set at M = 16 (`visits` in `benches/ann_sweep.rs`).
pub const VISITS_PER_EF: usize = 16;

/// Rows an exact scan scores in the time a walk scores one node: the scan
/// reads rows in id order, the walk at random (on the same set: about 75 ns
/// a scanned row against 170 ns a visited node).
pub const SCAN_ROWS_PER_VISIT: usize = 2;

/// Widest beam the planner asks for.
pub const MAX_FILTERED_EF: usize = 8192;

/// How to answer a query whose filter keeps some of the nodes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FilterPlan {
    /// Score every row that passes the filter exactly (a flat search with
    /// the filter): fewer rows than the widened walk would score.
    Scan,
    /// Walk the graph with the filter and this beam width.
    Graph { ef: usize },
}

/// The plan for `k` results at beam width `ef` when the filter keeps
/// `allowed` of the graph's `n` nodes. Without a filter (`allowed >= n`) the
/// plan is the walk at `ef`.
pub fn plan_filtered(n: usize, allowed: usize, k: usize, ef: usize) -> FilterPlan {
    let ef = ef.max(k).max(1);
    if allowed >= n {
        return FilterPlan::Graph { ef };
    }
    if allowed == 0 {
        return FilterPlan::Scan;
    }
    // ceil(PASSING_PER_RESULT * k * n / allowed), in u128 so nothing overflows.
    let want = (PASSING_PER_RESULT as u128 * k as u128 * n as u128).div_ceil(allowed as u128);
    let wide = want.clamp(ef as u128, MAX_FILTERED_EF as u128) as usize;
    let walk_rows = wide
        .saturating_mul(VISITS_PER_EF)
        .saturating_mul(SCAN_ROWS_PER_VISIT);
    if want > MAX_FILTERED_EF as u128 || allowed <= walk_rows {
        FilterPlan::Scan
    } else {
        FilterPlan::Graph { ef: wide }
    }
}

/// The [`FilterPlan::Scan`] answer when the caller holds the passing ids:
/// the `k` best of `allowed` (ascending ids, each below `rows.len()`) by
/// exact inner product, best first (ties by id).
pub fn scan_allowed(rows: Rows<'_>, allowed: &[u32], query: &[f32], k: usize) -> Vec<(u32, f32)> {
    assert_eq!(query.len(), rows.dim(), "hnsw: query length");
    let dot = crate::vector::best().dot;
    let mut top = TopK::new(k);
    for &id in allowed {
        top.push(id, dot(query, rows.row(id)));
    }
    top.into_sorted()
        .into_iter()
        .map(|s| (s.id, s.score))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::hnsw::{Hnsw, HnswParams, Rows, Searcher};
    use crate::index::testing;

    #[test]
    fn plans_scan_for_selective_filters_and_a_wider_walk_otherwise() {
        let n = 200_000;
        let walk = |ef| FilterPlan::Graph { ef };
        assert_eq!(plan_filtered(n, n, 10, 64), walk(64));
        // 1%: a walk of ef 1000 (32,000 row-equivalents) against 2,000 rows.
        assert_eq!(plan_filtered(n, 2_000, 10, 64), FilterPlan::Scan);
        // 5%: ef 200 (6,400 row-equivalents) against 10,000 rows: the walk.
        assert_eq!(plan_filtered(n, 10_000, 10, 64), walk(200));
        assert_eq!(plan_filtered(n, 20_000, 10, 64), walk(100));
        // 20% and 50%: the beam at ef 64 already holds enough passing nodes.
        assert_eq!(plan_filtered(n, 40_000, 10, 64), walk(64));
        assert_eq!(plan_filtered(n, 100_000, 10, 64), walk(64));
        // 3%: ef 334 (10,700 row-equivalents) against 6,000 rows.
        assert_eq!(plan_filtered(n, 6_000, 10, 64), FilterPlan::Scan);
        assert_eq!(plan_filtered(n, 0, 10, 64), FilterPlan::Scan);
        assert_eq!(plan_filtered(10, 5, 20, 1), FilterPlan::Scan);
    }

    /// The planned search keeps recall@10 against the exact filtered answer
    /// at every selectivity from 1% to 50%.
    #[test]
    fn planned_filtered_search_keeps_recall() {
        let (n, dim, k) = (20_000, 32, 10);
        let all = testing::clustered(n + 50, dim, 40, 0.15, 21);
        let (base, queries) = all.split_at(n * dim);
        let rows = Rows::new(base, dim);
        let params = HnswParams {
            m: 8,
            ef_construction: 64,
            ..HnswParams::default()
        };
        let g = Hnsw::build(rows, &params, &|_| {});
        let mut s = Searcher::new();
        for pct in [1u64, 5, 20, 50] {
            let pass =
                |id: u32| crate::index::hnsw::SplitMix64(id as u64 ^ 0xF1).next_u64() % 100 < pct;
            let allowed: Vec<u32> = (0..n as u32).filter(|&i| pass(i)).collect();
            let (mut hits, mut total) = (0, 0);
            for q in queries.chunks_exact(dim) {
                let exact = scan_allowed(rows, &allowed, q, k);
                let got = match plan_filtered(n, allowed.len(), k, 64) {
                    FilterPlan::Scan => exact.clone(),
                    FilterPlan::Graph { ef } => {
                        g.search_filtered(rows, q, k, ef, Some(&pass), &mut s)
                    }
                };
                let kth = exact.last().map_or(f32::MIN, |e| e.1);
                hits += got.iter().filter(|(_, sc)| *sc >= kth - 1e-6).count();
                total += exact.len();
            }
            let recall = hits as f64 / total as f64;
            assert!(recall >= 0.95, "{pct}%: recall {recall}");
        }
    }
}
