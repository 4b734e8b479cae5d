//! A borrowed arena of fixed-length rows.

/// `len()` rows of `dim()` floats each, back to back.
///
/// The constructor checks once that the slice is a whole number of rows, so
/// code that reads rows by id (the HNSW walk) needs only `id < len()` to stay
/// in bounds, which is what [`Rows::row_unchecked`] asks of its caller.
#[derive(Clone, Copy, Debug)]
pub struct Rows<'a> {
    data: &'a [f32],
    dim: usize,
    n: usize,
}

impl<'a> Rows<'a> {
    /// Views `data` as rows of `dim` floats. An empty slice is zero rows
    /// whatever `dim` is.
    ///
    /// # Panics
    /// If `data` is not empty and is not a whole number of rows (or `dim == 0`).
    pub fn new(data: &'a [f32], dim: usize) -> Self {
        let n = if data.is_empty() {
            0
        } else {
            assert!(
                dim > 0 && data.len().is_multiple_of(dim),
                "hnsw: vectors not a whole number of rows"
            );
            data.len() / dim
        };
        Rows { data, dim, n }
    }

    /// Number of rows.
    #[inline(always)]
    pub fn len(&self) -> usize {
        self.n
    }

    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// Floats per row.
    #[inline(always)]
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// All rows, back to back.
    pub fn as_slice(&self) -> &'a [f32] {
        self.data
    }

    /// Row `id`.
    ///
    /// # Panics
    /// If `id >= len()`.
    #[inline(always)]
    pub fn row(&self, id: u32) -> &'a [f32] {
        let start = id as usize * self.dim;
        &self.data[start..start + self.dim]
    }

    /// Row `id` without a bounds check.
    ///
    /// # Safety
    /// `id < self.len()`.
    #[inline(always)]
    pub unsafe fn row_unchecked(&self, id: u32) -> &'a [f32] {
        debug_assert!((id as usize) < self.n);
        // SAFETY: `id < n` (the caller's guarantee) and `data.len() == n * dim`
        // (checked in `new`), so `id * dim + dim <= data.len()`.
        unsafe {
            std::slice::from_raw_parts(self.data.as_ptr().add(id as usize * self.dim), self.dim)
        }
    }

    /// Address of row `id`, for prefetch hints; never dereferenced here, and
    /// computed with wrapping arithmetic so any `id` is allowed.
    #[inline(always)]
    pub fn row_ptr(&self, id: u32) -> *const f32 {
        self.data.as_ptr().wrapping_add(id as usize * self.dim)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_index_whole_rows() {
        let data: Vec<f32> = (0..12).map(|x| x as f32).collect();
        let r = Rows::new(&data, 4);
        assert_eq!((r.len(), r.dim()), (3, 4));
        assert_eq!(r.row(2), &[8.0, 9.0, 10.0, 11.0]);
        // SAFETY: 1 < 3 rows.
        assert_eq!(unsafe { r.row_unchecked(1) }, r.row(1));
        assert_eq!(Rows::new(&[], 0).len(), 0);
        assert_eq!(Rows::new(&[], 7).len(), 0);
    }

    #[test]
    #[should_panic(expected = "whole number of rows")]
    fn partial_row_is_refused() {
        Rows::new(&[1.0; 5], 2);
    }
}
