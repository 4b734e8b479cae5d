//! Exact sparse vectors, one per row: sorted term keys with unit-normalized
//! weights. The dense hashed vectors find candidates fast; these re-score
//! the candidates without the hash collisions a small dense dim suffers.

use crate::vector::Slab;

#[derive(Debug, Clone, Default)]
pub struct SparseVectors {
    /// Row `i` spans `offsets[i]..offsets[i + 1]` of `keys` and `weights`.
    offsets: Slab<u64>,
    keys: Slab<u64>,
    weights: Slab<f32>,
}

/// Builds the three arrays row by row.
#[derive(Debug, Default)]
pub struct SparseBuilder {
    offsets: Vec<u64>,
    keys: Vec<u64>,
    weights: Vec<f32>,
}

impl SparseBuilder {
    pub fn new() -> Self {
        SparseBuilder {
            offsets: vec![0],
            ..Default::default()
        }
    }

    /// `row` must be sorted by key with unique keys.
    pub fn push(&mut self, row: impl IntoIterator<Item = (u64, f32)>) {
        for (k, w) in row {
            self.keys.push(k);
            self.weights.push(w);
        }
        self.offsets.push(self.keys.len() as u64);
    }

    pub fn finish(self) -> SparseVectors {
        SparseVectors {
            offsets: Slab::from_vec(self.offsets),
            keys: Slab::from_vec(self.keys),
            weights: Slab::from_vec(self.weights),
        }
    }
}

impl SparseVectors {
    /// Checks the arrays a file supplied: `rows` rows, offsets monotone and
    /// in bounds, keys sorted within each row.
    pub fn from_parts(
        rows: usize,
        offsets: Slab<u64>,
        keys: Slab<u64>,
        weights: Slab<f32>,
    ) -> Result<Self, String> {
        Self::from_parts_checked(rows, offsets, keys, weights, true)
    }

    /// As [`SparseVectors::from_parts`]; without `check_order` the keys of
    /// each row are not read (O(rows), not O(terms)). Bounds are always
    /// checked, so unsorted keys can only give wrong scores, never an
    /// out-of-bounds read; `vecsearch verify` checks the order.
    pub fn from_parts_checked(
        rows: usize,
        offsets: Slab<u64>,
        keys: Slab<u64>,
        weights: Slab<f32>,
        check_order: bool,
    ) -> Result<Self, String> {
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

    pub fn parts(&self) -> (&[u64], &[u64], &[f32]) {
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

    /// The sorted keys and the weights of row `id`.
    pub fn row(&self, id: u32) -> (&[u64], &[f32]) {
        let (s, e) = self.span(id);
        (&self.keys[s..e], &self.weights[s..e])
    }

    /// Where row `id` lies in `keys` and `weights`.
    pub fn span(&self, id: u32) -> (usize, usize) {
        (
            self.offsets[id as usize] as usize,
            self.offsets[id as usize + 1] as usize,
        )
    }

    /// Exact dot product of row `id` with a sorted sparse query.
    pub fn dot(&self, id: u32, q_keys: &[u64], q_weights: &[f32]) -> f32 {
        let (keys, weights) = self.row(id);
        let (mut i, mut j, mut sum) = (0, 0, 0.0f32);
        while i < keys.len() && j < q_keys.len() {
            match keys[i].cmp(&q_keys[j]) {
                std::cmp::Ordering::Less => i += 1,
                std::cmp::Ordering::Greater => j += 1,
                std::cmp::Ordering::Equal => {
                    sum += weights[i] * q_weights[j];
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
        let mut b = SparseBuilder::new();
        b.push([(1, 0.6), (5, 0.8)]);
        b.push([(2, 1.0)]);
        let s = b.finish();
        assert_eq!(s.rows(), 2);
        assert!((s.dot(0, &[5, 9], &[1.0, 1.0]) - 0.8).abs() < 1e-6);
        assert_eq!(s.dot(1, &[5], &[1.0]), 0.0);
        let bad = SparseVectors::from_parts(
            2,
            Slab::from_vec(vec![0, 2, 1]),
            Slab::from_vec(vec![1, 5]),
            Slab::from_vec(vec![0.6, 0.8]),
        );
        assert!(bad.is_err());
    }
}
