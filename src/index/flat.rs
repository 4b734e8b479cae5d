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
        (0..chunks)
            .into_par_iter()
            .map(|c| {
                self.scan(
                    query,
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
        let mut start = 0;
        while start < rows {
            let end = (start + CHUNK_ROWS).min(rows);
            top = top.merge(self.scan(query, k, start, end, filter));
            start = end;
        }
        top.into_sorted()
    }

    /// Top `k` for each of `queries.len() / dim` queries, answered together.
    /// Rows are read from memory once: each thread takes a range of rows and,
    /// for every tile of rows (which then sits in L2), runs every tile of
    /// queries against it through [`vector::dot_tile`], so a batch is bound
    /// by arithmetic rather than by memory bandwidth.
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
        // A few segments per thread balance the load without many merges.
        let segments =
            (rayon::current_num_threads() * 4).clamp(1, rows.div_ceil(vector::TILE_ROWS).max(1));
        let seg_rows = rows.div_ceil(segments).next_multiple_of(vector::TILE_ROWS);
        (0..segments)
            .into_par_iter()
            .map(|seg| {
                let r0 = (seg * seg_rows).min(rows);
                let r1 = (r0 + seg_rows).min(rows);
                self.scan_tile(queries, k, r0, r1, filter)
            })
            .reduce(
                || (0..nq).map(|_| TopK::new(k)).collect(),
                |a, b| a.into_iter().zip(b).map(|(x, y)| x.merge(y)).collect(),
            )
            .into_iter()
            .map(TopK::into_sorted)
            .collect()
    }

    /// Every query against rows `start..end`, row tile by row tile: each
    /// tile is packed once (see [`vector::PackedRows`]) and then scored
    /// against every tile of queries while it sits in L2.
    fn scan_tile(
        &self,
        queries: &[f32],
        k: usize,
        start: usize,
        end: usize,
        filter: Option<Filter>,
    ) -> Vec<TopK> {
        let dim = self.dim;
        let nq = queries.len() / dim;
        let mut tops: Vec<TopK> = (0..nq).map(|_| TopK::new(k)).collect();
        let mut scores = vec![0.0f32; vector::TILE_QUERIES * vector::TILE_ROWS];
        let mut packed = vector::PackedRows::new();
        let mut r = start;
        while r < end {
            let r1 = (r + vector::TILE_ROWS).min(end);
            let nv = r1 - r;
            if !self.vectors.check(r * dim, nv * dim) {
                r = r1;
                continue;
            }
            packed.pack(&self.vectors[r * dim..r1 * dim], dim);
            for (qs, tops) in queries
                .chunks(vector::TILE_QUERIES * dim)
                .zip(tops.chunks_mut(vector::TILE_QUERIES))
            {
                let out = &mut scores[..tops.len() * nv];
                vector::dot_tile_packed(qs, &packed, out);
                for (top, row) in tops.iter_mut().zip(out.chunks_exact(nv)) {
                    offer(top, row, r, filter);
                }
            }
            r = r1;
        }
        tops
    }

    fn scan(
        &self,
        query: &[f32],
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
            vector::dot_block(
                query,
                &self.vectors[r * self.dim..r1 * self.dim],
                &mut scores[r - start..r1 - start],
            );
            r = r1;
        }
        offer(&mut top, &scores, start, filter);
        top
    }
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

    #[test]
    fn filter_and_k_larger_than_n() {
        let idx = FlatIndex::new(2, Slab::from_vec(vec![1.0, 0.0, 0.0, 1.0, 0.7, 0.7])).unwrap();
        let even = |id: u32| id.is_multiple_of(2);
        let r = idx.search(&[1.0, 0.0], 10, Some(&even));
        assert_eq!(r.iter().map(|s| s.id).collect::<Vec<_>>(), [0, 2]);
        assert!(FlatIndex::new(3, Slab::from_vec(vec![1.0; 4])).is_err());
    }
}
