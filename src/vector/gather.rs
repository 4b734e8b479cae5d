//! Inner products of a mostly-zero query with dense rows, reading only the
//! row entries where the query is non-zero.
//!
//! Why: a text query hashed into 1,024 dimensions has a dozen non-zero
//! coordinates (median 13 over our query set), so a full dot product reads
//! 64 cache lines of a row to use a dozen of them. A graph walk over f32
//! rows is bound by those reads; gathering touches only the lines that
//! matter. The zeros contribute nothing, so the sum is the same inner
//! product; it is accumulated in f64 in coordinate order, so it is the same
//! number on every machine and within an ulp of the exact one.

/// A query kept as its non-zero coordinates, in increasing order.
#[derive(Debug, Clone, PartialEq)]
pub struct SparseQuery {
    dim: usize,
    idx: Vec<u32>,
    val: Vec<f32>,
    /// Offsets (in floats) of the distinct 64-byte lines of a row that
    /// `idx` touches, relative to the row's start, for prefetching. A row
    /// is assumed to start on a line boundary (rows of a multiple of 16
    /// floats in an aligned arena do); where it does not, a hint misses,
    /// nothing worse.
    lines: Vec<u32>,
}

/// Floats per 64-byte cache line.
const LINE: usize = 16;

/// A query is gathered when at most `dim / WORTH_GATHERING` of its
/// coordinates are non-zero: beyond that a gather touches most of a row's
/// lines anyway and does more work per element than the SIMD product.
pub const WORTH_GATHERING: usize = 8;

/// Rows ahead of the one being scored whose lines [`SparseQuery::dot_rows`]
/// asks for: a dozen lines a row, so four rows keep the miss buffers busy
/// without overflowing them.
const ROWS_AHEAD: usize = 4;

impl SparseQuery {
    /// The query's non-zero coordinates, when there are at most
    /// `dim / ratio` of them: above that a gather reads about as many lines
    /// as the full product and does more work per element.
    pub fn of(query: &[f32], ratio: usize) -> Option<SparseQuery> {
        let dim = query.len();
        let nnz = query.iter().filter(|&&x| x != 0.0).count();
        if dim == 0 || nnz * ratio.max(1) > dim {
            return None;
        }
        let mut q = SparseQuery {
            dim,
            idx: Vec::with_capacity(nnz),
            val: Vec::with_capacity(nnz),
            lines: Vec::new(),
        };
        for (i, &x) in query.iter().enumerate() {
            if x != 0.0 {
                q.idx.push(i as u32);
                q.val.push(x);
                let line = (i / LINE * LINE) as u32;
                if q.lines.last() != Some(&line) {
                    q.lines.push(line);
                }
            }
        }
        Some(q)
    }

    /// Length of the dense query this came from.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Non-zero coordinates.
    pub fn nnz(&self) -> usize {
        self.idx.len()
    }

    /// `query · row`.
    ///
    /// # Panics
    /// If `row.len() != dim()`.
    #[inline]
    pub fn dot(&self, row: &[f32]) -> f32 {
        assert_eq!(row.len(), self.dim, "gather: row length");
        // SAFETY: every `idx` is below `dim == row.len()` (built from the
        // positions of a slice of that length).
        unsafe { self.dot_ptr(row.as_ptr()) }
    }

    /// `query · row` for the row of `dim()` floats at `row`.
    ///
    /// # Safety
    /// `row` must point to `dim()` readable floats.
    #[inline]
    pub unsafe fn dot_ptr(&self, row: *const f32) -> f32 {
        let mut sum = 0.0f64;
        for (&i, &v) in self.idx.iter().zip(&self.val) {
            // SAFETY: `i < dim` and `row` holds `dim` floats (the caller's
            // guarantee).
            let x = unsafe { *row.add(i as usize) };
            sum += v as f64 * x as f64;
        }
        sum as f32
    }

    /// `query · row` for each of the `out.len()` consecutive rows of
    /// `block`, reading only the lines the query's coordinates fall on
    /// (asked for a few rows ahead: rows a page apart defeat the hardware
    /// prefetcher).
    ///
    /// # Panics
    /// If `block.len() != dim() * out.len()`.
    pub fn dot_rows(&self, block: &[f32], out: &mut [f32]) {
        assert_eq!(block.len(), self.dim * out.len(), "gather: block size");
        let n = out.len();
        let base = block.as_ptr();
        for i in 0..n.min(ROWS_AHEAD) {
            self.prefetch_all(base.wrapping_add(i * self.dim));
        }
        for (i, o) in out.iter_mut().enumerate() {
            if i + ROWS_AHEAD < n {
                self.prefetch_all(base.wrapping_add((i + ROWS_AHEAD) * self.dim));
            }
            // SAFETY: row `i < n` lies inside `block` (length checked above).
            *o = unsafe { self.dot_ptr(base.add(i * self.dim)) };
        }
    }

    #[inline(always)]
    fn prefetch_all(&self, row: *const f32) {
        for &off in &self.lines {
            super::prefetch(row.wrapping_add(off as usize));
        }
    }

    /// Hints the first line of the row at `row` that a product reads.
    #[inline(always)]
    pub fn prefetch_first(&self, row: *const f32) {
        if let Some(&off) = self.lines.first() {
            super::prefetch(row.wrapping_add(off as usize));
        }
    }

    /// Hints the other lines of the row at `row` that a product reads.
    #[inline(always)]
    pub fn prefetch_rest(&self, row: *const f32) {
        for &off in self.lines.iter().skip(1) {
            super::prefetch(row.wrapping_add(off as usize));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vector::scalar;
    use proptest::prelude::*;

    fn sparse_vec(dim: usize, nz: &[(usize, f32)]) -> Vec<f32> {
        let mut v = vec![0.0; dim];
        for &(i, x) in nz {
            v[i % dim] = x;
        }
        v
    }

    #[test]
    fn dense_queries_are_refused() {
        let q: Vec<f32> = (0..64).map(|i| i as f32 + 1.0).collect();
        assert!(SparseQuery::of(&q, 8).is_none());
        assert!(SparseQuery::of(&[], 8).is_none());
        let q = sparse_vec(64, &[(3, 1.0), (40, -2.0)]);
        let s = SparseQuery::of(&q, 8).unwrap();
        assert_eq!((s.nnz(), s.dim()), (2, 64));
        assert_eq!(s.lines, vec![0, 32]);
    }

    proptest! {
        /// The gathered product is the full one, to rounding.
        #[test]
        fn gathered_dot_matches_the_full_one(
            dim in 16usize..600,
            nz in prop::collection::vec((0usize..600, -1.0f32..1.0), 0..20),
            row in prop::collection::vec(-1.0f32..1.0, 600),
        ) {
            let q = sparse_vec(dim, &nz);
            let row = &row[..dim];
            let s = SparseQuery::of(&q, 1).unwrap();
            let (full, got) = (scalar::dot(&q, row), s.dot(row));
            prop_assert!((full - got).abs() <= 1e-5, "{full} vs {got}");
            // Row by row over a block, the same numbers as one at a time.
            let rows: Vec<f32> = (0..7).flat_map(|r| row.iter().map(move |x| x * (r as f32 - 3.0))).collect();
            let mut out = vec![f32::NAN; 7];
            s.dot_rows(&rows, &mut out);
            for (r, o) in out.iter().enumerate() {
                prop_assert_eq!(o.to_bits(), s.dot(&rows[r * dim..(r + 1) * dim]).to_bits());
            }
        }
    }
}
