//! 8-bit scalar quantization (SQ8), for walking a graph on codes a quarter
//! the size of the f32 rows and re-ranking the survivors exactly.
//!
//! Each coordinate `d` is mapped to a byte over the data's own range,
//! `x ≈ lo[d] + step[d] * c`, with `lo`/`step` from the per-coordinate
//! minimum and maximum (as FAISS's `QT_8bit`). A query is turned once into
//! 16-bit integer weights `w[d] ≈ q[d] * step[d] / scale` so that
//!
//! ```text
//! q · x ≈ bias + scale * Σ w[d] * c[d],   bias = Σ q[d] * lo[d]
//! ```
//!
//! and the sum is an exact integer dot product of `i16` weights with `u8`
//! codes ([`Kernels::dot_u8`](super::Kernels::dot_u8)). The weights are
//! bounded so that no partial sum can leave `i32`, whatever the order of
//! the additions: every kernel returns exactly the scalar result.

use rayon::prelude::*;

use super::{Rows, Slab};

/// Largest weight magnitude for `dim` coordinates: `255 * W * dim` stays
/// below `i32::MAX`, so no sum of products overflows.
fn weight_limit(dim: usize) -> f32 {
    let bound = i32::MAX as usize / (255 * dim.max(1));
    bound.min(i16::MAX as usize) as f32
}

/// Per-coordinate affine map between f32 and u8.
#[derive(Clone, Debug)]
pub struct Sq8 {
    lo: Vec<f32>,
    step: Vec<f32>,
}

impl Sq8 {
    /// Fits the map to the range of every coordinate of `rows`.
    pub fn train(rows: Rows<'_>) -> Sq8 {
        let dim = rows.dim();
        let (lo, hi) = rows
            .as_slice()
            .par_chunks(dim.max(1) * 1024)
            .map(|block| {
                let mut lo = vec![f32::INFINITY; dim];
                let mut hi = vec![f32::NEG_INFINITY; dim];
                for r in block.chunks_exact(dim.max(1)) {
                    for d in 0..dim {
                        lo[d] = lo[d].min(r[d]);
                        hi[d] = hi[d].max(r[d]);
                    }
                }
                (lo, hi)
            })
            .reduce(
                || (vec![f32::INFINITY; dim], vec![f32::NEG_INFINITY; dim]),
                |(mut l1, mut h1), (l2, h2)| {
                    for d in 0..dim {
                        l1[d] = l1[d].min(l2[d]);
                        h1[d] = h1[d].max(h2[d]);
                    }
                    (l1, h1)
                },
            );
        let (lo, step) = lo
            .iter()
            .zip(&hi)
            .map(|(&l, &h)| {
                if l.is_finite() && h > l {
                    (l, (h - l) / 255.0)
                } else if l.is_finite() {
                    (l, 0.0)
                } else {
                    (0.0, 0.0)
                }
            })
            .unzip();
        Sq8 { lo, step }
    }

    pub fn dim(&self) -> usize {
        self.lo.len()
    }

    /// Codes of one row (`out.len() == dim`), rounded to nearest and clamped.
    pub fn encode(&self, x: &[f32], out: &mut [u8]) {
        assert_eq!(x.len(), self.dim(), "sq8: row length");
        assert_eq!(out.len(), self.dim(), "sq8: code length");
        for (((o, &v), &lo), &step) in out.iter_mut().zip(x).zip(&self.lo).zip(&self.step) {
            *o = if step > 0.0 {
                ((v - lo) / step).round().clamp(0.0, 255.0) as u8
            } else {
                0
            };
        }
    }

    /// The value code `c` of coordinate `d` stands for.
    pub fn decode(&self, d: usize, c: u8) -> f32 {
        self.lo[d] + self.step[d] * c as f32
    }

    /// Integer weights of `query` for [`Sq8Query::score`].
    pub fn query(&self, query: &[f32]) -> Sq8Query {
        assert_eq!(query.len(), self.dim(), "sq8: query length");
        let bias: f32 = query.iter().zip(&self.lo).map(|(q, l)| q * l).sum();
        let w: Vec<f32> = query.iter().zip(&self.step).map(|(q, s)| q * s).collect();
        let max = w.iter().fold(0f32, |m, x| m.max(x.abs()));
        let scale = if max > 0.0 {
            max / weight_limit(self.dim())
        } else {
            1.0
        };
        let weights = w.iter().map(|x| (x / scale).round() as i16).collect();
        // A row inside the trained range is within step/2 of its code's
        // value on every coordinate, and each rounded weight is within
        // scale/2 of its exact value: the sum of both over the coordinates
        // bounds |score - q·x|. Widened for the f32 arithmetic of both.
        let code_err: f32 = query
            .iter()
            .zip(&self.step)
            .map(|(q, s)| q.abs() * s * 0.5)
            .sum();
        let weight_err = scale * 0.5 * 255.0 * self.dim() as f32;
        let magnitude: f32 = query
            .iter()
            .zip(self.lo.iter().zip(&self.step))
            .map(|(q, (l, s))| q.abs() * (l.abs() + 255.0 * s))
            .sum();
        let err = 1.01 * (code_err + weight_err) + 1e-4 * magnitude + 1e-6;
        Sq8Query {
            weights,
            bias,
            scale,
            err,
        }
    }
}

/// A query prepared for scoring codes.
#[derive(Clone, Debug)]
pub struct Sq8Query {
    weights: Vec<i16>,
    bias: f32,
    scale: f32,
    err: f32,
}

impl Sq8Query {
    /// The approximate inner product of the query with the row `code`
    /// encodes (`code.len() == dim`).
    #[inline(always)]
    pub fn score(&self, dot_u8: fn(&[i16], &[u8]) -> i32, code: &[u8]) -> f32 {
        self.finish(dot_u8(&self.weights, code))
    }

    /// The score of a code whose integer product with the weights is `dot`.
    #[inline(always)]
    pub fn finish(&self, dot: i32) -> f32 {
        self.bias + self.scale * dot as f32
    }

    pub fn weights(&self) -> &[i16] {
        &self.weights
    }

    /// A bound on `|score - q·x|` for every row `x` inside the range the
    /// quantizer was trained on (so every row [`Sq8Codes::build`] encoded),
    /// with `q·x` as [`Kernels::dot`](super::Kernels::dot) computes it.
    pub fn error_bound(&self) -> f32 {
        self.err
    }
}

/// SQ8 codes of `n` rows, `dim` bytes each, in one page-aligned arena.
#[derive(Clone, Debug)]
pub struct Sq8Codes {
    quant: Sq8,
    codes: Slab<u8>,
    n: usize,
}

impl Sq8Codes {
    /// Trains the map on `rows` and encodes them (in parallel; the result
    /// does not depend on the thread count).
    pub fn build(rows: Rows<'_>) -> Sq8Codes {
        let quant = Sq8::train(rows);
        let dim = rows.dim();
        let codes = Slab::fill_huge(rows.len() * dim, |out| {
            if dim > 0 {
                out.par_chunks_mut(dim)
                    .zip(rows.as_slice().par_chunks(dim))
                    .for_each(|(o, r)| quant.encode(r, o));
            }
        });
        Sq8Codes {
            quant,
            codes,
            n: rows.len(),
        }
    }

    pub fn quantizer(&self) -> &Sq8 {
        &self.quant
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.n
    }

    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    pub fn dim(&self) -> usize {
        self.quant.dim()
    }

    /// All codes, row after row.
    pub fn as_bytes(&self) -> &[u8] {
        &self.codes
    }

    /// The codes of row `id`.
    pub fn code(&self, id: u32) -> &[u8] {
        let d = self.dim();
        &self.codes[id as usize * d..(id as usize + 1) * d]
    }

    /// Bytes of the codes (the quantizer's `2 * dim` floats excluded).
    pub fn bytes(&self) -> usize {
        self.codes.len()
    }
}

/// The scalar kernel: `Σ w[d] * c[d]` with wrapping `i32` adds (which never
/// wrap for weights from [`Sq8::query`], and make any summation order give
/// the same integer).
pub fn dot_u8(w: &[i16], c: &[u8]) -> i32 {
    assert_eq!(w.len(), c.len(), "dot_u8: length mismatch");
    w.iter()
        .zip(c)
        .fold(0i32, |acc, (&w, &c)| acc.wrapping_add(w as i32 * c as i32))
}

/// `dot_u8_ids(weights, codes, ids, out)`: `out[i] = dot_u8(weights, code
/// ids[i])`, the codes being `weights.len()` bytes each, back to back in
/// `codes`. Exactly [`dot_u8`] per code whichever set runs it.
pub type DotU8Ids = fn(&[i16], &[u8], &[u32], &mut [i32]);

/// Checks what every [`DotU8Ids`] kernel relies on: `out` as long as `ids`
/// and every id a whole code of `codes`.
///
/// # Panics
/// If not.
#[inline(always)]
pub(super) fn check_ids(dim: usize, codes: &[u8], ids: &[u32], out: &[i32]) {
    assert_eq!(ids.len(), out.len(), "dot_u8_ids: output length");
    let rows = codes.len().checked_div(dim).unwrap_or(usize::MAX);
    assert!(
        ids.iter().all(|&id| (id as usize) < rows),
        "dot_u8_ids: id past the codes"
    );
}

/// The scalar [`DotU8Ids`].
pub fn dot_u8_ids(w: &[i16], codes: &[u8], ids: &[u32], out: &mut [i32]) {
    check_ids(w.len(), codes, ids, out);
    let dim = w.len();
    for (o, &id) in out.iter_mut().zip(ids) {
        let start = id as usize * dim;
        *o = dot_u8(w, &codes[start..start + dim]);
    }
}

/// The [`DotU8Ids`] of the kernel set called `name` (as in
/// [`Kernels::name`](super::Kernels::name)); the scalar one for any other.
/// Kept beside the table rather than in it: it is the SQ8 walk's alone.
pub fn dot_u8_ids_for(name: &str) -> DotU8Ids {
    #[cfg(target_arch = "x86_64")]
    {
        let avx2 = is_x86_feature_detected!("avx2");
        match name {
            "avx512" if avx2 && super::x86_sq8::has_avx512bw() => {
                return super::x86_sq8::avx512_dot_u8_ids
            }
            "avx512" | "avx2" if avx2 => return super::x86_sq8::avx2_dot_u8_ids,
            _ => {}
        }
    }
    let _ = name;
    dot_u8_ids
}

/// [`dot_u8_ids_for`] the kernel set [`best`](super::best) picked.
pub fn best_dot_u8_ids() -> DotU8Ids {
    static BEST: std::sync::OnceLock<DotU8Ids> = std::sync::OnceLock::new();
    *BEST.get_or_init(|| dot_u8_ids_for(super::best().name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::testing;

    /// A fixed-seed generator of test values.
    fn numbers(mut seed: u64) -> impl FnMut() -> u32 {
        move || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) as u32
        }
    }

    #[test]
    fn every_kernel_matches_scalar_on_odd_lengths() {
        let mut next = numbers(7);
        for dim in [
            0, 1, 3, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 255, 256, 257, 1000, 1024,
        ] {
            let limit = weight_limit(dim) as i32;
            for _ in 0..4 {
                let w: Vec<i16> = (0..dim)
                    .map(|_| ((next() as i32 % (2 * limit + 1)) - limit) as i16)
                    .collect();
                let c: Vec<u8> = (0..dim).map(|_| next() as u8).collect();
                let want = dot_u8(&w, &c);
                // The extremes too: every weight at the limit, every code 255.
                let wmax = vec![limit as i16; dim];
                let cmax = vec![255u8; dim];
                for k in crate::vector::available() {
                    assert_eq!((k.dot_u8)(&w, &c), want, "{} dim {dim}", k.name);
                    assert_eq!((k.dot_u8)(&wmax, &cmax), dot_u8(&wmax, &cmax), "{}", k.name);
                }
                let exact: i64 = wmax.iter().map(|&x| x as i64 * 255).sum();
                assert_eq!(
                    dot_u8(&wmax, &cmax) as i64,
                    exact,
                    "no overflow at dim {dim}"
                );
            }
        }
    }

    #[test]
    fn every_ids_kernel_matches_scalar_on_odd_lengths() {
        let mut next = numbers(11);
        for dim in [
            1, 3, 15, 16, 17, 31, 33, 64, 65, 100, 127, 128, 129, 255, 256, 257,
        ] {
            let limit = weight_limit(dim) as i32;
            let n = 37;
            let w: Vec<i16> = (0..dim)
                .map(|_| ((next() as i32 % (2 * limit + 1)) - limit) as i16)
                .collect();
            let codes: Vec<u8> = (0..n * dim).map(|_| next() as u8).collect();
            let ids: Vec<u32> = (0..23).map(|_| next() % n as u32).collect();
            let want: Vec<i32> = ids
                .iter()
                .map(|&id| dot_u8(&w, &codes[id as usize * dim..][..dim]))
                .collect();
            for k in crate::vector::available() {
                let mut got = vec![0; ids.len()];
                dot_u8_ids_for(k.name)(&w, &codes, &ids, &mut got);
                assert_eq!(got, want, "{} dim {dim}", k.name);
            }
        }
    }

    #[test]
    #[should_panic(expected = "id past the codes")]
    fn ids_kernel_refuses_an_id_past_the_codes() {
        let mut out = [0; 1];
        best_dot_u8_ids()(&[1; 8], &[0; 16], &[2], &mut out);
    }

    #[test]
    fn quantized_scores_track_exact_ones() {
        let dim = 96;
        let v = testing::clustered(2000, dim, 10, 0.1, 4);
        let rows = Rows::new(&v, dim);
        let codes = Sq8Codes::build(rows);
        let k = crate::vector::best();
        for q in v.chunks_exact(dim).step_by(97) {
            let sq = codes.quantizer().query(q);
            for id in (0..2000u32).step_by(13) {
                let exact = crate::vector::dot(q, rows.row(id));
                let approx = sq.score(k.dot_u8, codes.code(id));
                assert!((exact - approx).abs() < 0.02, "{exact} vs {approx}");
            }
        }
    }

    /// The bound the re-rank relies on holds for every encoded row, on
    /// every kernel set, at odd dimensions and for queries of any scale
    /// (the rows are not unit vectors here), and is not vacuous.
    #[test]
    fn error_bound_holds_for_every_encoded_row() {
        let mut next = numbers(23);
        for dim in [1, 3, 17, 33, 96, 127, 128, 129, 257] {
            let n = 300;
            let v: Vec<f32> = (0..n * dim)
                .map(|i| (next() % 2001) as f32 / 1000.0 - 1.0 + (i % 7) as f32 * 0.3)
                .collect();
            let rows = Rows::new(&v, dim);
            let codes = Sq8Codes::build(rows);
            for scale in [0.01f32, 1.0, 40.0] {
                let q: Vec<f32> = (0..dim)
                    .map(|_| ((next() % 2001) as f32 / 1000.0 - 1.0) * scale)
                    .collect();
                let sq = codes.quantizer().query(&q);
                let bound = sq.error_bound();
                let (mut worst, mut norm) = (0f32, 0f32);
                for k in crate::vector::available() {
                    for id in 0..n as u32 {
                        let exact = (k.dot)(&q, rows.row(id));
                        let approx = sq.score(k.dot_u8, codes.code(id));
                        worst = worst.max((exact - approx).abs());
                        norm = norm.max(exact.abs());
                        assert!(
                            (exact - approx).abs() <= bound,
                            "{} dim {dim}: {exact} vs {approx}, bound {bound}",
                            k.name
                        );
                    }
                }
                // Tight enough to prune: far below the scores themselves.
                assert!(
                    bound < 0.1 * norm.max(1e-3) + 1e-3,
                    "dim {dim}: bound {bound} worst {worst}"
                );
            }
        }
    }

    #[test]
    fn decoding_is_within_half_a_step() {
        let dim = 96;
        let v = testing::clustered(200, dim, 10, 0.1, 4);
        let codes = Sq8Codes::build(Rows::new(&v, dim));
        // Decoding is within half a step of the input.
        let quant = codes.quantizer();
        for (d, (&x, &c)) in v[..dim].iter().zip(codes.code(0)).enumerate() {
            assert!((quant.decode(d, c) - x).abs() <= quant.step[d] * 0.5 + 1e-6);
        }
    }
}
