//! Exact sparse vectors, one per row: sorted term keys with unit-normalized
//! weights. The dense hashed vectors find candidates fast; these re-score
//! the candidates without the hash collisions a small dense dim suffers.

use crate::error::Malformed;
use crate::vector::Slab;

/// A key type of sparse rows: term hashes (u64) or compact term keys (u32).
pub trait SparseKey: bytemuck::Pod + Ord + Send + Sync + Default {}
impl SparseKey for u64 {}
impl SparseKey for u32 {}

/// A stored weight: exact `f32`, or `u16` fixed point over [0, 1] for the
/// unit-normalized, positive rows of passages (absolute error ≤ 2^-17,
/// half the bytes).
pub trait SparseWeight: bytemuck::Pod + Send + Sync + Default {
    fn get(self) -> f32;
    fn put(w: f32) -> Self;
}
impl SparseWeight for f32 {
    #[inline]
    fn get(self) -> f32 {
        self
    }
    #[inline]
    fn put(w: f32) -> Self {
        w
    }
}
impl SparseWeight for u16 {
    #[inline]
    fn get(self) -> f32 {
        self as f32 * (1.0 / 65535.0)
    }
    #[inline]
    fn put(w: f32) -> Self {
        (w.clamp(0.0, 1.0) * 65535.0).round() as u16
    }
}

/// Exact sparse rows: sorted keys with weights, row `i` spanning
/// `offsets[i]..offsets[i + 1]`.
#[derive(Debug, Clone)]
pub struct SparseVectors<K: SparseKey = u64, W: SparseWeight = f32> {
    offsets: Slab<u64>,
    keys: Slab<K>,
    weights: Slab<W>,
}

impl<K: SparseKey, W: SparseWeight> Default for SparseVectors<K, W> {
    fn default() -> Self {
        SparseBuilder::new().finish()
    }
}

/// Passages' rows as format 5 stored them: u32 keys (a hash's top 32
/// bits) and u16 weights; read only to migrate them to [`TermRows`].
///
/// [`TermRows`]: super::TermRows
pub type TermRowsV5 = SparseVectors<u32, u16>;

/// Builds the three arrays row by row.
#[derive(Debug)]
pub struct SparseBuilder<K: SparseKey = u64, W: SparseWeight = f32> {
    offsets: Vec<u64>,
    keys: Vec<K>,
    weights: Vec<W>,
}

impl<K: SparseKey, W: SparseWeight> Default for SparseBuilder<K, W> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K: SparseKey, W: SparseWeight> SparseBuilder<K, W> {
    pub fn new() -> Self {
        SparseBuilder {
            offsets: vec![0],
            keys: Vec::new(),
            weights: Vec::new(),
        }
    }

    /// `row` must be sorted by key with unique keys.
    /// A builder with room for `rows` rows of `terms` terms in all, so a
    /// large build does not grow (and briefly double) its arrays.
    pub fn with_capacity(rows: usize, terms: usize) -> Self {
        let mut offsets = Vec::with_capacity(rows + 1);
        offsets.push(0);
        SparseBuilder {
            offsets,
            keys: Vec::with_capacity(terms),
            weights: Vec::with_capacity(terms),
        }
    }

    pub fn push(&mut self, row: impl IntoIterator<Item = (K, f32)>) {
        for (k, w) in row {
            self.keys.push(k);
            self.weights.push(W::put(w));
        }
        self.offsets.push(self.keys.len() as u64);
    }

    /// Appends a row already in stored form.
    pub fn push_stored(&mut self, keys: &[K], weights: &[W]) {
        self.keys.extend_from_slice(keys);
        self.weights.extend_from_slice(weights);
        self.offsets.push(self.keys.len() as u64);
    }

    pub fn finish(self) -> SparseVectors<K, W> {
        SparseVectors {
            offsets: Slab::from_vec(self.offsets),
            keys: Slab::from_vec(self.keys),
            weights: Slab::from_vec(self.weights),
        }
    }
}

/// A row keyed by term hash, re-keyed by [`term_key`]: sorted, with the
/// weights of keys that collide added.
///
/// [`term_key`]: super::term_key
pub fn compact_row(row: &[(u64, f32)]) -> Vec<(u32, f32)> {
    let mut out: Vec<(u32, f32)> = row.iter().map(|&(h, w)| (super::term_key(h), w)).collect();
    sort_and_sum(&mut out);
    out
}

/// Sorts `(key, weight)` pairs by key and merges equal keys, adding their
/// weights.
pub fn sort_and_sum<K: Ord + Copy>(v: &mut Vec<(K, f32)>) {
    v.sort_unstable_by_key(|e| e.0);
    v.dedup_by(|b, a| {
        let same = a.0 == b.0;
        if same {
            a.1 += b.1;
        }
        same
    });
}

impl<K: SparseKey, W: SparseWeight> SparseVectors<K, W> {
    /// Checks the arrays a file supplied: `rows` rows, offsets monotone and
    /// in bounds, keys sorted within each row.
    pub fn from_parts(
        rows: usize,
        offsets: Slab<u64>,
        keys: Slab<K>,
        weights: Slab<W>,
    ) -> Result<Self, Malformed> {
        Self::from_parts_checked(rows, offsets, keys, weights, true)
    }

    /// As [`SparseVectors::from_parts`]; without `check_order` the keys of
    /// each row are not read (O(rows), not O(terms)). Bounds are always
    /// checked, so unsorted keys can only give wrong scores, never an
    /// out-of-bounds read; `vecsearch verify` checks the order.
    pub fn from_parts_checked(
        rows: usize,
        offsets: Slab<u64>,
        keys: Slab<K>,
        weights: Slab<W>,
        check_order: bool,
    ) -> Result<Self, Malformed> {
        if offsets.len() != rows + 1 || offsets[0] != 0 {
            return Err("sparse offsets do not match the passage count".into());
        }
        if keys.len() != weights.len()
            || *offsets.last().expect("rows + 1 > 0") != keys.len() as u64
        {
            return Err("sparse arrays differ in length".into());
        }
        for w in offsets.windows(2) {
            if w[1] < w[0] {
                return Err("sparse offsets go backwards".into());
            }
            if !check_order {
                continue;
            }
            let row = &keys[w[0] as usize..w[1] as usize];
            if row.windows(2).any(|p| p[0] >= p[1]) {
                return Err("sparse keys are not sorted".into());
            }
        }
        Ok(SparseVectors {
            offsets,
            keys,
            weights,
        })
    }

    pub fn parts(&self) -> (&[u64], &[K], &[W]) {
        (&self.offsets, &self.keys, &self.weights)
    }

    pub fn rows(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }

    /// Mean number of terms per row (0 for no rows).
    pub fn mean_row_len(&self) -> f32 {
        match self.rows() {
            0 => 0.0,
            n => self.keys.len() as f32 / n as f32,
        }
    }

    /// The sorted keys and the stored weights of row `id`.
    pub fn row(&self, id: u32) -> (&[K], &[W]) {
        // Each read verifies the blocks it touches (once per process); a
        // failure is latched in the file's slabs for the engine to report.
        self.offsets.check(id as usize, 2);
        let (s, e) = self.span(id);
        self.keys.check(s, e - s);
        self.weights.check(s, e - s);
        (&self.keys[s..e], &self.weights[s..e])
    }

    /// Verifies every block checksum of the three arrays (for a full
    /// verification); `false` if one fails (latched in the file's slabs).
    pub fn check_all(&self) -> bool {
        self.offsets.check_all() & self.keys.check_all() & self.weights.check_all()
    }

    /// Row `id` with its weights as `f32`.
    pub fn row_f32(&self, id: u32) -> (Vec<K>, Vec<f32>) {
        let (k, w) = self.row(id);
        (k.to_vec(), w.iter().map(|x| x.get()).collect())
    }

    /// Hints that row `id`'s offsets will be read soon.
    #[inline]
    pub fn prefetch_offsets(&self, id: u32) {
        if let Some(o) = self.offsets.get(id as usize..id as usize + 2) {
            crate::vector::prefetch_slice(o, 1);
        }
    }

    /// Hints that the first `max_lines` cache lines of row `id`'s keys and
    /// weights will be read soon. Unverified offsets only choose an address
    /// for a hint: a bad one prefetches nothing useful, and `get` keeps it in
    /// bounds.
    #[inline]
    pub fn prefetch(&self, id: u32, max_lines: usize) {
        let i = id as usize;
        if let (Some(&s), Some(&e)) = (self.offsets.get(i), self.offsets.get(i + 1)) {
            let span = s as usize..e as usize;
            if let Some(k) = self.keys.get(span.clone()) {
                crate::vector::prefetch_slice(k, max_lines);
            }
            if let Some(w) = self.weights.get(span) {
                crate::vector::prefetch_slice(w, max_lines);
            }
        }
    }

    /// Where row `id` lies in `keys` and `weights`.
    pub fn span(&self, id: u32) -> (usize, usize) {
        (
            self.offsets[id as usize] as usize,
            self.offsets[id as usize + 1] as usize,
        )
    }

    /// Exact dot product of row `id` with a sorted sparse query.
    pub fn dot(&self, id: u32, q_keys: &[K], q_weights: &[f32]) -> f32 {
        let (keys, weights) = self.row(id);
        let (mut i, mut j, mut sum) = (0, 0, 0.0f32);
        while i < keys.len() && j < q_keys.len() {
            match keys[i].cmp(&q_keys[j]) {
                std::cmp::Ordering::Less => i += 1,
                std::cmp::Ordering::Greater => j += 1,
                std::cmp::Ordering::Equal => {
                    sum += weights[i].get() * q_weights[j];
                    i += 1;
                    j += 1;
                }
            }
        }
        sum
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_join_dot_and_validation() {
        let mut b = SparseBuilder::<u64, f32>::new();
        b.push([(1, 0.6), (5, 0.8)]);
        b.push([(2, 1.0)]);
        let s = b.finish();
        assert_eq!(s.rows(), 2);
        assert!((s.dot(0, &[5, 9], &[1.0, 1.0]) - 0.8).abs() < 1e-6);
        assert_eq!(s.dot(1, &[5], &[1.0]), 0.0);
        let bad = SparseVectors::<u64, f32>::from_parts(
            2,
            Slab::from_vec(vec![0, 2, 1]),
            Slab::from_vec(vec![1, 5]),
            Slab::from_vec(vec![0.6, 0.8]),
        );
        assert!(bad.is_err());
    }
}
