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
    /// The checkpoints of [`PackedRows::pack_bounded`] (empty after a plain
    /// [`PackedRows::pack`]).
    checks: Vec<usize>,
    /// Per panel, per checkpoint `j`, the [`PANEL`] rows' residual norm
    /// bounds from `checks[j]` on (zero for padding rows).
    residual: AlignedVec,
    /// An upper bound of every row's norm (NaN if a row holds a NaN).
    max_norm: f32,
}

impl PackedRows {
    pub fn new() -> Self {
        Self::default()
    }

    /// Packs `vectors` (row-major, `dim` floats a row), reusing the buffer.
    pub fn pack(&mut self, vectors: &[f32], dim: usize) {
        self.checks.clear();
        self.residual.truncate(0);
        self.max_norm = 0.0;
        self.pack_data(vectors, dim);
    }

    /// [`PackedRows::pack`], and for the bounded kernels the rows' residual
    /// norm bounds at `checks` (see [`super::bound`]) and their largest norm.
    /// One more read of a tile that packing has just brought into cache.
    pub fn pack_bounded(&mut self, vectors: &[f32], dim: usize, checks: &[usize]) {
        self.pack_data(vectors, dim);
        assert!(
            checks.windows(2).all(|w| w[0] < w[1]) && checks.last().is_none_or(|&c| c < dim),
            "PackedRows::pack_bounded: checkpoints must increase below dim"
        );
        self.checks.clear();
        self.checks.extend_from_slice(checks);
        let nj = checks.len();
        let len = self.panels() * nj * PANEL;
        self.residual.truncate(0);
        self.residual.resize_zeroed(len);
        let residual = self.residual.as_mut_slice();
        let mut norms = vec![0.0f32; nj];
        let mut max = 0.0f32;
        for (r, row) in vectors.chunks_exact(dim).enumerate() {
            let full = super::bound::suffix_norms(row, checks, &mut norms);
            max = super::bound::max_norm(max, full);
            let base = r / PANEL * nj * PANEL + r % PANEL;
            for (j, &n) in norms.iter().enumerate() {
                residual[base + j * PANEL] = n;
            }
        }
        self.max_norm = max;
    }

    fn pack_data(&mut self, vectors: &[f32], dim: usize) {
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

    /// The checkpoints the residual norms were taken at (see
    /// [`PackedRows::pack_bounded`]).
    pub fn checks(&self) -> &[usize] {
        &self.checks
    }

    /// The residual norm bounds: `panels() * checks().len() * PANEL`
    /// floats, panel by panel, checkpoint by checkpoint.
    pub fn residuals(&self) -> &[f32] {
        &self.residual
    }

    /// An upper bound of the norm of every packed row (NaN if one holds a
    /// NaN; 0 unless packed by [`PackedRows::pack_bounded`]).
    pub fn max_norm(&self) -> f32 {
        self.max_norm
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

    #[test]
    fn bounded_packing_keeps_each_rows_residuals() {
        for (rows, dim) in [(1usize, 40usize), (17, 33), (40, 64)] {
            let v: Vec<f32> = (0..rows * dim)
                .map(|i| ((i * 7919) % 97) as f32 / 50.0 - 1.0)
                .collect();
            let checks = crate::vector::bound::checkpoints(dim);
            let nj = checks.len();
            let mut p = PackedRows::new();
            p.pack_bounded(&v, dim, &checks);
            assert_eq!(p.checks(), &checks[..]);
            assert_eq!(p.residuals().len(), p.panels() * nj * PANEL);
            let mut want = vec![0.0f32; nj];
            let mut max = 0.0f32;
            for r in 0..p.panels() * PANEL {
                let base = r / PANEL * nj * PANEL + r % PANEL;
                if r < rows {
                    let n = crate::vector::bound::suffix_norms(
                        &v[r * dim..(r + 1) * dim],
                        &checks,
                        &mut want,
                    );
                    max = max.max(n);
                } else {
                    want.fill(0.0);
                }
                for (j, &w) in want.iter().enumerate() {
                    assert_eq!(
                        p.residuals()[base + j * PANEL],
                        w,
                        "rows {rows} r {r} j {j}"
                    );
                }
            }
            assert_eq!(p.max_norm(), max);
            // A plain pack afterwards forgets the bounds.
            p.pack(&v, dim);
            assert!(p.checks().is_empty() && p.residuals().is_empty());
        }
    }
}
