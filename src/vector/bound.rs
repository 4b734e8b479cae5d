//! Exact pruning for the batch tile scan: after the first `c` of the `dim`
//! terms of a dot product the rest is at most `|q[c..]| · |x[c..]|`
//! (Cauchy–Schwarz), so a row whose partial score plus that bound stays
//! below a query's entry threshold cannot enter its top k, and its remaining
//! terms need not be summed.
//!
//! Why it is exact, not approximate: a tile kernel sums the terms of each
//! score in one fixed order (one accumulator lane a score), so stopping a
//! score early and never storing it changes no other score, and the bound
//! below is an upper bound of the score the kernel *would* have computed,
//! rounding included. Skipped scores are reported as `−∞`, which no pool
//! takes; every other score is the same float the unbounded kernel gives.
//!
//! The bound, with `u = 2^-24`, `N = |q| · |x|`, `γ = (dim + 1) u / (1 − (dim + 1) u)`:
//! - the kernel's partial sum `acc` after `c` terms is within `γ N` of the
//!   exact partial sum, and its final score `s` within `γ N` of the exact
//!   score (each term costs at most one product and one sum rounding);
//! - so `s ≤ acc + r_q r_x + 2γN`, with `r_q ≥ |q[c..]|` and
//!   `r_x ≥ |x[c..]|` the rounded-up residual norms of [`suffix_norms`];
//! - the kernel tests `fl(fl(acc + r_q r_x) + m) < t` (`t` the threshold, `m`
//!   the [`margin`]): the two or three roundings there cost at most `6.2 u N`
//!   (`|acc| ≤ (1 + γ) N`, `r_q r_x ≤ (1 + 2^-22) N`, `m ≪ N`);
//! - hence `s < t − m + (6.2 u + 2γ) N ≤ t` whenever
//!   `m ≥ (2 dim + 9) u N`. [`margin`] takes twice that, `(4 dim + 32) u N`,
//!   with `N` from rounded-up norms, plus an absolute term for roundings in
//!   the subnormal range (each at most `2^-150`).
//!
//! A NaN or infinite norm makes the margin or the bound NaN or infinite, and
//! the kernels keep a lane unless the test is true, so such rows and queries
//! are never skipped.

/// Where the bounded kernels test their partial scores: after a quarter,
/// half, three quarters and seven eighths of the terms. Early tests drop the
/// rows far from every query of a block; the late ones the near rows that
/// still fall short. Short vectors are not worth a test.
pub fn checkpoints(dim: usize) -> Vec<usize> {
    if dim < MIN_DIM {
        return Vec::new();
    }
    let mut c: Vec<usize> = [(1, 4), (1, 2), (3, 4), (7, 8)]
        .iter()
        .map(|&(a, b)| dim * a / b)
        .filter(|&c| c > 0 && c < dim)
        .collect();
    c.dedup();
    c
}

/// Below this many dimensions a batch scores every row in full.
const MIN_DIM: usize = 32;

/// `2^-24`, the unit roundoff of `f32`.
const U: f64 = 1.0 / (1u64 << 24) as f64;

/// The smallest `f32` at least `x` (NaN stays NaN, overflow gives `+∞`).
pub fn round_up(x: f64) -> f32 {
    let y = x as f32;
    if (y as f64) < x {
        y.next_up()
    } else {
        y
    }
}

/// Writes to `out[j]` an upper bound of `|v[checks[j]..]|` for each
/// checkpoint, and returns an upper bound of `|v|` (NaN if `v` holds one).
/// Squares of `f32` are exact in `f64` and a sum of a few thousand of them
/// is off by far less than the relative `2^-40` added before rounding up.
pub fn suffix_norms(v: &[f32], checks: &[usize], out: &mut [f32]) -> f32 {
    debug_assert_eq!(checks.len(), out.len());
    let slack = 1.0 + (v.len() as f64 + 4.0) * f64::EPSILON;
    let mut sum = 0.0f64;
    let mut end = v.len();
    for (j, &c) in checks.iter().enumerate().rev() {
        sum += v[c..end].iter().map(|&x| x as f64 * x as f64).sum::<f64>();
        out[j] = round_up(sum.sqrt() * slack);
        end = c;
    }
    sum += v[..end].iter().map(|&x| x as f64 * x as f64).sum::<f64>();
    round_up(sum.sqrt() * slack)
}

/// What a bounded test adds to cover every rounding of the score and of the
/// test itself (see the module comment), for a query of norm at most
/// `q_norm` against rows of norm at most `x_norm`, `dim` terms each.
pub fn margin(dim: usize, q_norm: f32, x_norm: f32) -> f32 {
    let n = q_norm as f64 * x_norm as f64;
    let subnormal = (dim as f64 + 8.0) * 2f64.powi(-140);
    round_up((4.0 * dim as f64 + 32.0) * U * n + subnormal)
}

/// The larger of two norms, NaN if either is: a NaN norm must disable the
/// pruning of a whole tile, which `f32::max` would quietly drop.
pub fn max_norm(a: f32, b: f32) -> f32 {
    if a.is_nan() || b.is_nan() {
        f32::NAN
    } else {
        a.max(b)
    }
}

/// Per query of a tile call: `limit[i]` is the score query `i`'s pool needs
/// (its threshold; `−∞` while it is not full), `margin[i]` its [`margin`]
/// against the tile, and `residual[i * J + j]` the bound of the norm of its
/// elements from checkpoint `j` on (`J` = the packed rows' checkpoints).
#[derive(Debug, Clone, Copy)]
pub struct QueryBounds<'a> {
    pub limit: &'a [f32],
    pub margin: &'a [f32],
    pub residual: &'a [f32],
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkpoints_are_inside_and_increasing() {
        assert!(checkpoints(31).is_empty());
        assert_eq!(checkpoints(256), [64, 128, 192, 224]);
        for dim in MIN_DIM..600 {
            let c = checkpoints(dim);
            assert!(!c.is_empty());
            assert!(c.windows(2).all(|w| w[0] < w[1]), "dim {dim}: {c:?}");
            assert!(c.iter().all(|&c| c > 0 && c < dim));
        }
    }

    #[test]
    fn round_up_never_rounds_down() {
        for x in [0.1f64, 1.0 / 3.0, 1e-40, 1e39, -0.1, 0.0, 7.0] {
            let y = round_up(x);
            assert!(y as f64 >= x, "{x}: {y}");
            if x.abs() < 1e38 {
                assert!((y as f64 - x).abs() <= x.abs() * 2e-7 + 1e-45, "{x}: {y}");
            }
        }
        assert_eq!(round_up(1e40), f32::INFINITY);
        assert!(round_up(f64::NAN).is_nan());
    }

    #[test]
    fn suffix_norms_bound_the_exact_norms() {
        let v: Vec<f32> = (0..100)
            .map(|i| ((i * 37 % 23) as f32 - 11.0) / 7.0)
            .collect();
        let checks = checkpoints(v.len());
        let mut out = vec![0.0; checks.len()];
        let full = suffix_norms(&v, &checks, &mut out);
        let exact = |s: &[f32]| s.iter().map(|&x| x as f64 * x as f64).sum::<f64>().sqrt();
        assert!(full as f64 >= exact(&v) && (full as f64) < exact(&v) * (1.0 + 1e-6));
        for (&c, &r) in checks.iter().zip(&out) {
            assert!(r as f64 >= exact(&v[c..]), "from {c}");
            assert!((r as f64) < exact(&v[c..]) * (1.0 + 1e-6));
        }
        let mut nan = v.clone();
        nan[3] = f32::NAN;
        assert!(suffix_norms(&nan, &checks, &mut out).is_nan());
        assert!(max_norm(1.0, f32::NAN).is_nan() && max_norm(f32::NAN, 1.0).is_nan());
        assert_eq!(max_norm(1.0, 2.0), 2.0);
    }

    #[test]
    fn margin_grows_with_the_norms() {
        let m = margin(256, 1.0, 1.0);
        assert!(m as f64 >= (4.0 * 256.0 + 32.0) / (1u64 << 24) as f64);
        assert!(m < 1e-4);
        assert!(margin(256, 0.0, 0.0) > 0.0);
        assert!(margin(256, f32::INFINITY, 1.0).is_infinite());
        assert!(margin(256, f32::NAN, 1.0).is_nan());
    }
}
