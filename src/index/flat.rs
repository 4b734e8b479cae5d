//! Exact search: every vector scored against the query by dot product (the
//! vectors are unit length, so this is cosine), in parallel over chunks of
//! rows, each chunk keeping its own bounded heap.

use rayon::prelude::*;

use super::topk::{Collect, Scored, TopK};
use crate::error::Malformed;
use crate::vector::{self, Slab};

/// Bytes of rows verified and then scored at a time in a single-query scan:
/// well inside L2, so the kernel reads what the check just brought in.
const CHECK_BYTES: usize = 256 << 10;

/// Rows per parallel task: large enough to amortise scheduling, small
/// enough that the score buffer stays in L1/L2.
const CHUNK_ROWS: usize = 4096;

/// A predicate on vector ids; passages it rejects are never returned.
pub type Filter<'a> = &'a (dyn Fn(u32) -> bool + Sync);

#[derive(Debug, Clone)]
pub struct FlatIndex {
    dim: usize,
    vectors: Slab<f32>,
}

impl FlatIndex {
    /// `vectors` holds `len / dim` rows back to back.
    pub fn new(dim: usize, vectors: Slab<f32>) -> Result<Self, Malformed> {
        if dim == 0 || !vectors.len().is_multiple_of(dim) {
            return Err(Malformed::PartialRows {
                floats: vectors.len(),
                dim,
            });
        }
        Ok(FlatIndex { dim, vectors })
    }

    /// Verifies the rows `ids` against their block checksums; a failure
    /// is latched for the engine to report.
    pub fn check_rows(&self, ids: &[u32]) -> bool {
        ids.iter().fold(true, |ok, &id| {
            self.vectors.check(id as usize * self.dim, self.dim) & ok
        })
    }

    /// Verifies every block checksum of the vectors (for a full check).
    pub fn check_all(&self) -> bool {
        self.vectors.check_all()
    }

    pub fn dim(&self) -> usize {
        self.dim
    }

    pub fn len(&self) -> usize {
        self.vectors.len() / self.dim
    }

    pub fn is_empty(&self) -> bool {
        self.vectors.is_empty()
    }

    pub fn vectors(&self) -> &[f32] {
        &self.vectors
    }

    /// The vectors as a row view (for the HNSW graph over them).
    pub fn rows(&self) -> vector::Rows<'_> {
        vector::Rows::new(&self.vectors, self.dim)
    }

    pub fn slab(&self) -> &Slab<f32> {
        &self.vectors
    }

    pub fn row(&self, id: u32) -> &[f32] {
        let i = id as usize * self.dim;
        self.vectors.check(i, self.dim);
        &self.vectors[i..i + self.dim]
    }

    /// Top `k` rows for `query`, best first, using every core.
    pub fn search(&self, query: &[f32], k: usize, filter: Option<Filter>) -> Vec<Scored> {
        assert_eq!(query.len(), self.dim, "query dimension");
        let rows = self.len();
        let chunks = rows.div_ceil(CHUNK_ROWS);
        let sparse = vector::SparseQuery::of(query, vector::WORTH_GATHERING);
        (0..chunks)
            .into_par_iter()
            .map(|c| {
                self.scan(
                    (query, sparse.as_ref()),
                    k,
                    c * CHUNK_ROWS,
                    ((c + 1) * CHUNK_ROWS).min(rows),
                    filter,
                )
            })
            .reduce(|| TopK::new(k), TopK::merge)
            .into_sorted()
    }

    /// Top `k` on the calling thread only; batches parallelise across
    /// queries instead.
    pub fn search_serial(&self, query: &[f32], k: usize, filter: Option<Filter>) -> Vec<Scored> {
        let mut top = TopK::new(k);
        let rows = self.len();
        let sparse = vector::SparseQuery::of(query, vector::WORTH_GATHERING);
        let mut start = 0;
        while start < rows {
            let end = (start + CHUNK_ROWS).min(rows);
            top = top.merge(self.scan((query, sparse.as_ref()), k, start, end, filter));
            start = end;
        }
        top.into_sorted()
    }

    /// Top `k` for each of `queries.len() / dim` queries, answered together.
    /// Rows are read from memory once: each thread takes a range of rows and,
    /// for every tile of rows (which then sits in L2), runs every tile of
    /// queries against it through [`vector::dot_tile_bounded`], so a batch is
    /// bound by arithmetic rather than by memory bandwidth. Queries are first
    /// put in groups of similar ones, so a kernel's block of queries can
    /// drop the rows none of them can take (see [`vector::bound`]); the
    /// answers are those of scoring every row in full.
    pub fn search_batch(
        &self,
        queries: &[f32],
        k: usize,
        filter: Option<Filter>,
    ) -> Vec<Vec<Scored>> {
        let dim = self.dim;
        assert_eq!(queries.len() % dim, 0, "queries must be whole rows");
        let nq = queries.len() / dim;
        let rows = self.len();
        if nq == 0 {
            return Vec::new();
        }
        let order = group_queries(queries, dim, rows);
        let mut grouped = Vec::with_capacity(queries.len());
        for &i in &order {
            grouped.extend_from_slice(&queries[i * dim..(i + 1) * dim]);
        }
        let mut prep = QueryPrep::new(&grouped, dim);
        // A few segments per thread balance the load without many merges.
        // One thread takes all rows in one run: the pool thresholds the
        // bound tests prune with then rise over all of them, rather than
        // starting again from −∞ at each segment.
        let threads = rayon::current_num_threads();
        let tiles = rows.div_ceil(vector::TILE_ROWS).max(1);
        let segments = if threads == 1 {
            1
        } else {
            (threads * 4).clamp(1, tiles)
        };
        // With several segments, the first tile is scored first, and each
        // query's k-th best score there is a floor for every segment: the
        // answer holds k rows at least that good, so no row below it can
        // enter, and a segment prunes from its first tile on.
        let (seed, first) = if segments > 1 && tiles > 1 {
            let seed = self.scan_tile(&grouped, &prep, k, 0, vector::TILE_ROWS, filter);
            prep.floor = seed.iter().map(TopK::threshold).collect();
            (seed, vector::TILE_ROWS)
        } else {
            ((0..nq).map(|_| TopK::new(k)).collect(), 0)
        };
        let seg_rows = (rows - first)
            .div_ceil(segments)
            .next_multiple_of(vector::TILE_ROWS);
        let tops = (0..segments)
            .into_par_iter()
            .map(|seg| {
                let r0 = (first + seg * seg_rows).min(rows);
                let r1 = (r0 + seg_rows).min(rows);
                self.scan_tile(&grouped, &prep, k, r0, r1, filter)
            })
            .reduce(
                || (0..nq).map(|_| TopK::new(k)).collect(),
                |a: Vec<TopK>, b| a.into_iter().zip(b).map(|(x, y)| x.merge(y)).collect(),
            );
        let mut out = vec![Vec::new(); nq];
        for ((top, seed), &i) in tops.into_iter().zip(seed).zip(&order) {
            out[i] = top.merge(seed).into_sorted();
        }
        out
    }

    /// Every query against rows `start..end`, row tile by row tile: each
    /// tile is packed once (see [`vector::PackedRows`]) and then scored
    /// against every tile of queries while it sits in L2, each query's pool
    /// threshold bounding which of its scores are worth finishing.
    fn scan_tile(
        &self,
        queries: &[f32],
        prep: &QueryPrep,
        k: usize,
        start: usize,
        end: usize,
        filter: Option<Filter>,
    ) -> Vec<TopK> {
        let dim = self.dim;
        let nq = queries.len() / dim;
        let nj = prep.checks.len();
        let mut tops: Vec<TopK> = (0..nq).map(|_| TopK::new(k)).collect();
        let mut scores = vec![0.0f32; vector::TILE_QUERIES * vector::TILE_ROWS];
        let mut limit = [0.0f32; vector::TILE_QUERIES];
        let mut margin = [0.0f32; vector::TILE_QUERIES];
        let mut packed = vector::PackedRows::new();
        let mut r = start;
        while r < end {
            let r1 = (r + vector::TILE_ROWS).min(end);
            let nv = r1 - r;
            if !self.vectors.check(r * dim, nv * dim) {
                r = r1;
                continue;
            }
            packed.pack_bounded(&self.vectors[r * dim..r1 * dim], dim, &prep.checks);
            for (t, (qs, tops)) in queries
                .chunks(vector::TILE_QUERIES * dim)
                .zip(tops.chunks_mut(vector::TILE_QUERIES))
                .enumerate()
            {
                let n = tops.len();
                let first = t * vector::TILE_QUERIES;
                for (i, top) in tops.iter().enumerate() {
                    limit[i] = top.threshold().max(prep.floor[first + i]);
                    margin[i] = vector::bound::margin(dim, prep.norm[first + i], packed.max_norm());
                }
                let bounds = vector::QueryBounds {
                    limit: &limit[..n],
                    margin: &margin[..n],
                    residual: &prep.residual[first * nj..(first + n) * nj],
                };
                let out = &mut scores[..n * nv];
                vector::dot_tile_bounded(qs, &packed, &bounds, out);
                // A dropped score is −∞, below every threshold it was
                // dropped against (thresholds only rise).
                for (top, row) in tops.iter_mut().zip(out.chunks_exact(nv)) {
                    offer(top, row, r, filter);
                }
            }
            r = r1;
        }
        tops
    }

    /// The top `k` of rows `start..end`. A query with few non-zero
    /// coordinates (a hashed text query) comes with them gathered, and
    /// only the lines of each row they fall on are read once the rows'
    /// blocks are verified (a server's are; a fresh process's check reads
    /// them whole anyway).
    fn scan(
        &self,
        (query, sparse): (&[f32], Option<&vector::SparseQuery>),
        k: usize,
        start: usize,
        end: usize,
        filter: Option<Filter>,
    ) -> TopK {
        let mut top = TopK::new(k);
        let mut scores = vec![0.0f32; end - start];
        // Verify and score a few hundred KiB at a time: the block check
        // brings the rows into cache and the kernel finds them there. Over
        // a whole chunk (16 MiB at dim 1024) both would stream from memory.
        let step = (CHECK_BYTES / (self.dim * 4)).max(1);
        let mut r = start;
        while r < end {
            let r1 = (r + step).min(end);
            if !self.vectors.check(r * self.dim, (r1 - r) * self.dim) {
                // Latched for the engine to report; nothing from damaged rows.
                return TopK::new(k);
            }
            let (block, out) = (
                &self.vectors[r * self.dim..r1 * self.dim],
                &mut scores[r - start..r1 - start],
            );
            match sparse {
                Some(sparse) => sparse.dot_rows(block, out),
                None => vector::dot_block(query, block, out),
            }
            r = r1;
        }
        offer(&mut top, &scores, start, filter);
        top
    }
}

/// What the bound tests need of each query of a batch: its norm and its
/// residual norms at the checkpoints (see [`vector::bound`]).
struct QueryPrep {
    checks: Vec<usize>,
    /// A score below which no row can be in the query's answer (`−∞`, or
    /// the k-th best of rows scored before).
    floor: Vec<f32>,
    norm: Vec<f32>,
    /// `checks.len()` a query.
    residual: Vec<f32>,
}

impl QueryPrep {
    fn new(queries: &[f32], dim: usize) -> Self {
        let checks = vector::bound::checkpoints(dim);
        let nj = checks.len();
        let nq = queries.len() / dim;
        let mut residual = vec![0.0f32; nq * nj];
        let norm = queries
            .chunks_exact(dim)
            .enumerate()
            .map(|(i, q)| {
                vector::bound::suffix_norms(q, &checks, &mut residual[i * nj..(i + 1) * nj])
            })
            .collect();
        QueryPrep {
            checks,
            floor: vec![f32::NEG_INFINITY; nq],
            norm,
            residual,
        }
    }
}

/// Queries put together at a time by similarity: a kernel's block of
/// queries (6 for AVX2, 12 for AVX-512) then holds queries near one another,
/// so a panel of rows far from all of them fails the bound tests for all at
/// once, where a block of unrelated queries would keep nearly every panel.
const GROUP: usize = 12;

/// Queries whose similarities are compared when grouping, at most; the
/// comparison costs `GROUP_WINDOW` prefix dot products a query.
const GROUP_WINDOW: usize = 1024;

/// Elements of each query that grouping compares: a prefix is enough for a
/// heuristic that changes no score.
const GROUP_DIMS: usize = 64;

/// An order of the queries (`order[position] = query`) in which each run of
/// [`GROUP`] is a query followed by the most similar of those not yet
/// placed, best first, within windows of [`GROUP_WINDOW`]. Identity when
/// the batch is too small for grouping to pay: the comparisons must stay a
/// small part of scoring `rows` rows.
fn group_queries(queries: &[f32], dim: usize, rows: usize) -> Vec<usize> {
    let nq = queries.len() / dim;
    if nq <= GROUP || vector::bound::checkpoints(dim).is_empty() {
        return (0..nq).collect();
    }
    let g = dim.min(GROUP_DIMS);
    let mut order = Vec::with_capacity(nq);
    let by_score = |a: &(f32, usize), b: &(f32, usize)| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1));
    for w0 in (0..nq).step_by(GROUP_WINDOW) {
        let w1 = (w0 + GROUP_WINDOW).min(nq);
        let n = w1 - w0;
        if n <= GROUP || rows < 16 * n {
            order.extend(w0..w1);
            continue;
        }
        let prefix: Vec<f32> = (w0..w1)
            .flat_map(|i| &queries[i * dim..i * dim + g])
            .copied()
            .collect();
        let mut sim = vec![0.0f32; n * n];
        vector::dot_tile(&prefix, &prefix, g, &mut sim);
        let mut used = vec![false; n];
        let mut cand: Vec<(f32, usize)> = Vec::with_capacity(n);
        for s in 0..n {
            if used[s] {
                continue;
            }
            used[s] = true;
            order.push(w0 + s);
            cand.clear();
            cand.extend((0..n).filter(|&j| !used[j]).map(|j| (sim[s * n + j], j)));
            let take = (GROUP - 1).min(cand.len());
            if take == 0 {
                continue;
            }
            if take < cand.len() {
                cand.select_nth_unstable_by(take - 1, by_score);
            }
            cand[..take].sort_by(by_score);
            for &(_, j) in &cand[..take] {
                used[j] = true;
                order.push(w0 + j);
            }
        }
    }
    order
}

/// Scores compared against the threshold at once, as one bit each.
const OFFER_GROUP: usize = vector::MASK_LANES;

/// Pushes into `top` every score of `scores` (for ids `first..`) that can
/// enter it. A group of scores is compared with the threshold branch-free
/// into a bit mask, and only the set bits are
/// visited: once the pool is full almost no bit is set, and while a pool of
/// thousands fills, a third of the groups hold some candidate, where a
/// score-by-score loop mispredicted its branch on every one of them. The
/// mask is SIMD compares (see `vector::at_least_mask`).
pub(super) fn offer(top: &mut impl Collect, scores: &[f32], first: usize, filter: Option<Filter>) {
    let mut threshold = top.threshold();
    for (g, group) in scores.chunks(OFFER_GROUP).enumerate() {
        // `>=` keeps equal scores, whose tie-break by id is the heap's.
        let mut mask = vector::at_least_mask(group, threshold);
        while mask != 0 {
            let i = mask.trailing_zeros() as usize;
            mask &= mask - 1;
            let s = group[i];
            // The threshold may have risen since the mask was made.
            if s >= threshold {
                let id = (first + g * OFFER_GROUP + i) as u32;
                if filter.is_none_or(|f| f(id)) {
                    top.push(id, s);
                    threshold = top.threshold();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pseudo_random(n: usize, seed: u64) -> Vec<f32> {
        let mut x = seed;
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x % 2001) as f32 / 1000.0 - 1.0
            })
            .collect()
    }

    #[test]
    fn parallel_serial_and_brute_force_agree() {
        let dim = 37;
        let n = 10_000;
        let data = pseudo_random(n * dim, 7);
        let q = pseudo_random(dim, 99);
        let idx = FlatIndex::new(dim, Slab::from_vec(data.clone())).unwrap();
        let mut brute: Vec<Scored> = (0..n)
            .map(|i| Scored {
                id: i as u32,
                score: crate::vector::scalar::dot(&q, &data[i * dim..(i + 1) * dim]),
            })
            .collect();
        brute.sort_by(Scored::rank_cmp);
        let par = idx.search(&q, 10, None);
        let ser = idx.search_serial(&q, 10, None);
        assert_eq!(par, ser);
        let ids: Vec<u32> = par.iter().map(|s| s.id).collect();
        let want: Vec<u32> = brute[..10].iter().map(|s| s.id).collect();
        assert_eq!(ids, want);
    }

    #[test]
    fn a_sparse_query_gathers_the_same_top_k() {
        use crate::index::testing;
        let dim = 512;
        let n = 5_000;
        let data = testing::hashed(n, dim, 30, 3);
        let idx = FlatIndex::new(dim, Slab::from_vec(data.clone())).unwrap();
        for q in testing::hashed(20, dim, 5, 4).chunks_exact(dim) {
            assert!(vector::SparseQuery::of(q, vector::WORTH_GATHERING).is_some());
            let want = testing::brute_force(&data, dim, q, 15);
            for got in [idx.search(q, 15, None), idx.search_serial(q, 15, None)] {
                let ids: Vec<u32> = got.iter().map(|s| s.id).collect();
                assert_eq!(ids, want);
            }
        }
    }

    #[test]
    fn batch_matches_one_query_at_a_time() {
        let dim = 19;
        let n = 3_000;
        let idx = FlatIndex::new(dim, Slab::from_vec(pseudo_random(n * dim, 3))).unwrap();
        for nq in [1, 5, 64, 65, 130] {
            let qs = pseudo_random(nq * dim, 11 + nq as u64);
            let batch = idx.search_batch(&qs, 7, None);
            assert_eq!(batch.len(), nq);
            for (i, got) in batch.iter().enumerate() {
                let want = idx.search_serial(&qs[i * dim..(i + 1) * dim], 7, None);
                let ids = |v: &[Scored]| v.iter().map(|s| s.id).collect::<Vec<_>>();
                assert_eq!(ids(got), ids(&want), "query {i} of {nq}");
            }
        }
    }

    /// The batch without bound tests: every tile scored in full by the
    /// kernel and every score offered, in id order.
    fn unpruned_batch(
        idx: &FlatIndex,
        queries: &[f32],
        k: usize,
        filter: Option<Filter>,
    ) -> Vec<Vec<Scored>> {
        let dim = idx.dim();
        let nq = queries.len() / dim;
        let mut tops: Vec<TopK> = (0..nq).map(|_| TopK::new(k)).collect();
        let mut packed = vector::PackedRows::new();
        for (t, tile) in idx.vectors().chunks(vector::TILE_ROWS * dim).enumerate() {
            let nv = tile.len() / dim;
            packed.pack(tile, dim);
            let mut out = vec![0.0f32; nq * nv];
            vector::dot_tile_packed(queries, &packed, &mut out);
            for (top, row) in tops.iter_mut().zip(out.chunks_exact(nv)) {
                for (j, &s) in row.iter().enumerate() {
                    let id = (t * vector::TILE_ROWS + j) as u32;
                    if filter.is_none_or(|f| f(id)) {
                        top.push(id, s);
                    }
                }
            }
        }
        tops.into_iter().map(TopK::into_sorted).collect()
    }

    /// Unit rows around `clusters` random centres, with every 97th row a
    /// copy of row 0 (exact ties).
    fn clustered(n: usize, dim: usize, clusters: usize, seed: u64) -> Vec<f32> {
        let mut centres = pseudo_random(clusters * dim, seed);
        centres.chunks_exact_mut(dim).for_each(vector::normalize);
        let noise = pseudo_random(n * dim, seed + 1);
        let mut out = vec![0.0f32; n * dim];
        for (r, row) in out.chunks_exact_mut(dim).enumerate() {
            let c = &centres[(r * 7 + r / 3) % clusters * dim..][..dim];
            for ((x, &m), &e) in row.iter_mut().zip(c).zip(&noise[r * dim..]) {
                *x = m + 0.8 * e / (dim as f32).sqrt();
            }
            vector::normalize(row);
        }
        for r in (97..n).step_by(97) {
            out.copy_within(0..dim, r * dim);
        }
        out
    }

    /// The scalar exhaustive answer's scores, rank by rank, against the
    /// scalar scores of `got`'s ids: equal but for the rounding of a
    /// different summation order (which may swap two rows a few ulps apart).
    fn assert_matches_brute(data: &[f32], q: &[f32], got: &[Scored], what: &str) {
        let dim = q.len();
        let scalar = |id: usize| crate::vector::scalar::dot(q, &data[id * dim..(id + 1) * dim]);
        let mut all: Vec<Scored> = (0..data.len() / dim)
            .map(|i| Scored {
                id: i as u32,
                score: scalar(i),
            })
            .collect();
        all.sort_by(Scored::rank_cmp);
        assert_eq!(got.len(), all.len().min(got.len()));
        for (r, (g, want)) in got.iter().zip(&all).enumerate() {
            let s = scalar(g.id as usize);
            assert!(
                (s - want.score).abs() <= 1e-5,
                "{what} rank {r}: {g:?} vs {want:?}"
            );
            assert!(
                (s - g.score).abs() <= 1e-5,
                "{what} rank {r}: {g:?} scalar {s}"
            );
        }
    }

    /// The bound tests drop only rows that cannot enter: the answers, ids
    /// and score bits, are those of scoring every row, and the ids those of
    /// the scalar exhaustive scan; on clustered and on uniform data, odd
    /// dimensions, ties, and query counts around the grouping and blocks.
    #[test]
    fn pruned_batch_equals_full_scoring() {
        for (dim, n, nq, k, clusters) in [
            (256, 6000, 100, 10, 8),
            (100, 3000, 40, 5, 5),
            (37, 2500, 30, 10, 3),
            (257, 4100, 25, 3, 4),
            (64, 5000, 64, 100, 6),
            (31, 2000, 20, 10, 4),
            (64, 3000, 13, 10, 1000),
        ] {
            // Queries from the same clusters as the rows, drawn after them.
            let mut all = if clusters >= 1000 {
                pseudo_random((n + nq) * dim, 5)
            } else {
                clustered(n + nq, dim, clusters, dim as u64)
            };
            let mut qs = all.split_off(n * dim);
            let data = all;
            let idx = FlatIndex::new(dim, Slab::from_vec(data.clone())).unwrap();
            // One query is a copy of a row that has copies: ties at the top.
            qs[..dim].copy_from_slice(&data[..dim]);
            let got = idx.search_batch(&qs, k, None);
            assert_eq!(got, unpruned_batch(&idx, &qs, k, None), "dim {dim}");
            // One thread (one segment) and three (a seeded floor, segments).
            for threads in [1, 3] {
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()
                    .unwrap();
                let again = pool.install(|| idx.search_batch(&qs, k, None));
                assert_eq!(again, got, "dim {dim}, {threads} threads");
            }
            for (i, r) in got.iter().enumerate() {
                assert_eq!(r.len(), k.min(n));
                let what = format!("dim {dim} query {i}");
                assert_matches_brute(&data, &qs[i * dim..(i + 1) * dim], r, &what);
            }
            let odd = |id: u32| id % 2 == 1;
            let filtered = idx.search_batch(&qs, k, Some(&odd));
            assert_eq!(filtered, unpruned_batch(&idx, &qs, k, Some(&odd)));
            assert!(filtered.iter().flatten().all(|s| s.id % 2 == 1));
        }
    }

    #[test]
    fn grouping_is_a_permutation() {
        let dim = 64;
        for nq in [0usize, 1, 12, 13, 100, 1030, 2100] {
            let qs = pseudo_random(nq * dim, 3 + nq as u64);
            for rows in [10usize, 1_000_000] {
                let mut order = group_queries(&qs, dim, rows);
                if rows == 10 || nq <= GROUP {
                    assert_eq!(order, (0..nq).collect::<Vec<_>>());
                }
                order.sort_unstable();
                assert_eq!(order, (0..nq).collect::<Vec<_>>(), "nq {nq}");
            }
        }
    }

    #[test]
    fn filter_and_k_larger_than_n() {
        let idx = FlatIndex::new(2, Slab::from_vec(vec![1.0, 0.0, 0.0, 1.0, 0.7, 0.7])).unwrap();
        let even = |id: u32| id.is_multiple_of(2);
        let r = idx.search(&[1.0, 0.0], 10, Some(&even));
        assert_eq!(r.iter().map(|s| s.id).collect::<Vec<_>>(), [0, 2]);
        assert!(FlatIndex::new(3, Slab::from_vec(vec![1.0; 4])).is_err());
    }
}
