//! Exact search: every vector scored against the query by dot product (the
//! vectors are unit length, so this is cosine), in parallel over chunks of
//! rows, each chunk keeping its own bounded heap.

use rayon::prelude::*;

use super::topk::{Scored, TopK};
use crate::vector::{self, Slab};

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
    pub fn new(dim: usize, vectors: Slab<f32>) -> Result<Self, String> {
        if dim == 0 || !vectors.len().is_multiple_of(dim) {
            return Err(format!(
                "{} floats do not make whole rows of dimension {dim}",
                vectors.len()
            ));
        }
        Ok(FlatIndex { dim, vectors })
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

    pub fn slab(&self) -> &Slab<f32> {
        &self.vectors
    }

    pub fn row(&self, id: u32) -> &[f32] {
        let i = id as usize * self.dim;
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
        vector::dot_block(
            query,
            &self.vectors[start * self.dim..end * self.dim],
            &mut scores,
        );
        let mut threshold = top.threshold();
        for (i, &s) in scores.iter().enumerate() {
            // `>=` keeps equal scores, whose tie-break by id is the heap's.
            if s >= threshold {
                let id = (start + i) as u32;
                if filter.is_none_or(|f| f(id)) {
                    top.push(id, s);
                    threshold = top.threshold();
                }
            }
        }
        top
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
    fn filter_and_k_larger_than_n() {
        let idx = FlatIndex::new(2, Slab::from_vec(vec![1.0, 0.0, 0.0, 1.0, 0.7, 0.7])).unwrap();
        let even = |id: u32| id.is_multiple_of(2);
        let r = idx.search(&[1.0, 0.0], 10, Some(&even));
        assert_eq!(r.iter().map(|s| s.id).collect::<Vec<_>>(), [0, 2]);
        assert!(FlatIndex::new(3, Slab::from_vec(vec![1.0; 4])).is_err());
    }
}
