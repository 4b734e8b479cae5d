//! Rows packed dim-major in panels of [`PANEL`], the operand layout of the
//! GEMM-style tile kernels.
//!
//! A row-major tile makes every score a dot product that ends in a
//! horizontal reduction. Transposed, the values of [`PANEL`] consecutive rows
//! at one dimension sit in one 64-byte line (one zmm, two ymm), so a kernel
//! multiplies a broadcast query element by a whole line of rows and keeps
//! one accumulator lane per row: no reductions, and the scores come out
//! already laid out as consecutive rows. A tile is packed once and then
//! serves every query that passes over it.

use super::AlignedVec;

/// Rows per panel: one AVX-512 register of `f32`, or two AVX2 registers.
pub const PANEL: usize = 16;

/// `rows` rows of `dim` floats, transposed panel by panel: row `r`, element
/// `d` lives at `(r / PANEL) * PANEL * dim + d * PANEL + r % PANEL`. The last
/// panel is padded with zero rows, so kernels read whole panels and only
/// store the lanes of real rows.
#[derive(Debug, Clone, Default)]
pub struct PackedRows {
    data: AlignedVec,
    rows: usize,
    dim: usize,
}

impl PackedRows {
    pub fn new() -> Self {
        Self::default()
    }

    /// Packs `vectors` (row-major, `dim` floats a row), reusing the buffer.
    pub fn pack(&mut self, vectors: &[f32], dim: usize) {
        assert!(dim > 0, "PackedRows::pack: dim must be positive");
        assert_eq!(
            vectors.len() % dim,
            0,
            "PackedRows::pack: vectors not a multiple of dim"
        );
        let rows = vectors.len() / dim;
        let len = rows.div_ceil(PANEL) * PANEL * dim;
        // Every real lane is overwritten below; only padding needs zeroing.
        self.data.truncate(len);
        self.data.resize_zeroed(len);
        self.rows = rows;
        self.dim = dim;
        let data = self.data.as_mut_slice();
        for (panel, src) in data
            .chunks_exact_mut(PANEL * dim)
            .zip(vectors.chunks(PANEL * dim))
        {
            if src.len() == PANEL * dim {
                // A full panel: each output line gathers one element from
                // each of the 16 rows (16 sequential read streams, all in
                // L1 after the first line) and is written whole, so the
                // stores, which are the scarcer port, are one line each.
                for (d, line) in panel.chunks_exact_mut(PANEL).enumerate() {
                    for (r, x) in line.iter_mut().enumerate() {
                        *x = src[r * dim + d];
                    }
                }
            } else {
                for (r, row) in src.chunks_exact(dim).enumerate() {
                    for (d, &x) in row.iter().enumerate() {
                        panel[d * PANEL + r] = x;
                    }
                }
            }
        }
        let real = rows % PANEL;
        if real != 0 {
            let last = data
                .chunks_exact_mut(PANEL * dim)
                .last()
                .expect("a partial panel");
            for line in last.chunks_exact_mut(PANEL) {
                line[real..].fill(0.0);
            }
        }
    }

    /// Number of real (unpadded) rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Number of panels, the last possibly padded.
    pub fn panels(&self) -> usize {
        self.rows.div_ceil(PANEL)
    }

    /// The packed floats: `panels() * PANEL * dim()` of them.
    pub fn as_slice(&self) -> &[f32] {
        &self.data
    }

    /// Panel `p`: `dim` lines of [`PANEL`] floats.
    pub fn panel(&self, p: usize) -> &[f32] {
        let n = PANEL * self.dim;
        &self.data[p * n..(p + 1) * n]
    }
}

/// Interleaves `m` row-major queries of `dim` floats dim-major into `out`:
/// element `d` of query `i` goes to `out[d * m + i]`, so a micro-kernel
/// broadcasts the `m` query values of one dimension from one line at fixed
/// offsets instead of from `m` separate rows.
pub(crate) fn interleave_queries(queries: &[f32], m: usize, dim: usize, out: &mut [f32]) {
    debug_assert_eq!(queries.len(), m * dim);
    debug_assert_eq!(out.len(), m * dim);
    for (i, q) in queries.chunks_exact(dim).enumerate() {
        for (d, &x) in q.iter().enumerate() {
            out[d * m + i] = x;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_and_padding() {
        for (rows, dim) in [(0usize, 3usize), (1, 1), (5, 3), (16, 2), (17, 5), (40, 7)] {
            let v: Vec<f32> = (0..rows * dim).map(|i| i as f32 + 1.0).collect();
            let mut p = PackedRows::new();
            // Pack something larger first: the buffer is reused and the
            // padding must still come out zero.
            p.pack(&vec![9.0; 48 * dim], dim);
            p.pack(&v, dim);
            assert_eq!(
                (p.rows(), p.dim(), p.panels()),
                (rows, dim, rows.div_ceil(16))
            );
            assert_eq!(p.as_slice().len(), p.panels() * PANEL * dim);
            for r in 0..p.panels() * PANEL {
                for d in 0..dim {
                    let got = p.panel(r / PANEL)[d * PANEL + r % PANEL];
                    let want = if r < rows { v[r * dim + d] } else { 0.0 };
                    assert_eq!(got, want, "rows {rows} dim {dim} r {r} d {d}");
                }
            }
        }
    }
}
