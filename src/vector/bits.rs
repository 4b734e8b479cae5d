//! 1-bit codes: the sign of each coordinate of a randomly rotated vector
//! (SimHash over a randomized Hadamard transform), scored asymmetrically
//! against a query kept at `QUERY_BITS` bits per coordinate (RaBitQ's way).
//!
//! Why a rotation: our vectors are hashed bags of words, so most
//! coordinates are exactly zero, and the sign of a zero says nothing. Two
//! rounds of random signs and a Walsh–Hadamard transform spread every term
//! over every coordinate without changing any inner product, and the sign
//! bits of the result then estimate the angle to any query.
//!
//! Why integer scores: every kernel computes the same integer, so the
//! SIMD sets agree with the scalar one exactly, not just within rounding,
//! and a ranking never depends on which machine made it.

/// Bits per query coordinate; RaBitQ finds four enough next to 1-bit codes.
pub const QUERY_BITS: usize = 4;
/// Quantized query coordinates are `u - ZERO_POINT` for `u` in `0..16`.
pub const ZERO_POINT: i32 = 1 << (QUERY_BITS - 1);
/// Largest |quantized coordinate|: `round(q / delta)` lies in `-7..=7`.
const QMAX: f32 = (ZERO_POINT - 1) as f32;
/// Fixed seed of the rotation's signs; part of the file format (a file
/// records which rotation its codes were made with through its version).
pub const ROTATION_SEED: u64 = 0x5EC5_EA2C_B175_0001;

/// Code length for vectors of `dim`: the next power of two (the Hadamard
/// transform needs one), at least one 64-bit word.
pub fn code_bits(dim: usize) -> usize {
    dim.next_power_of_two().max(64)
}

/// 64-bit words per code.
pub fn code_words(dim: usize) -> usize {
    code_bits(dim) / 64
}

/// SplitMix64: a specified generator, so the rotation is the same on every
/// build and machine.
fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The orthogonal map `x ↦ (1/n) H D₂ H D₁ x` on vectors zero-padded to
/// `n = code_bits(dim)`: two random sign flips, each followed by an
/// unnormalized Walsh–Hadamard transform.
#[derive(Debug, Clone)]
pub struct Rotation {
    dim: usize,
    n: usize,
    signs: [Vec<f32>; 2],
}

impl Rotation {
    pub fn new(dim: usize) -> Self {
        let n = code_bits(dim);
        let mut state = ROTATION_SEED;
        let mut round = || {
            (0..n)
                .map(|_| {
                    if splitmix(&mut state) >> 63 == 1 {
                        -1.0
                    } else {
                        1.0
                    }
                })
                .collect::<Vec<f32>>()
        };
        let first = round();
        let second = round();
        Rotation {
            dim,
            n,
            signs: [first, second],
        }
    }

    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Length of a rotated vector (`code_bits(dim)`).
    pub fn len(&self) -> usize {
        self.n
    }

    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// Rotates `v` (of `dim` coordinates) into `out` (of `len()`). Every
    /// passage of a build goes through here; every kernel set computes the
    /// same floats in the same order ([`rotate`] is the reference), so
    /// codes never depend on the machine.
    pub fn apply(&self, v: &[f32], out: &mut [f32]) {
        assert_eq!(v.len(), self.dim, "rotation: input dimension");
        assert_eq!(out.len(), self.n, "rotation: output length");
        out[..self.dim].copy_from_slice(v);
        out[self.dim..].fill(0.0);
        (super::best().rotate)(&self.signs[0], &self.signs[1], out)
    }

    /// The 1-bit code of unit vector `v`, with `rotated` (of `len()`) as
    /// scratch: what every code of an index is made by.
    pub fn encode(&self, v: &[f32], rotated: &mut [f32], code: &mut [u64]) {
        self.apply(v, rotated);
        (super::best().sign_bits)(rotated, code);
    }

    /// The scalar body on its own, for tests against the dispatched one.
    #[cfg(test)]
    fn apply_portable(&self, v: &[f32], out: &mut [f32]) {
        out[..self.dim].copy_from_slice(v);
        out[self.dim..].fill(0.0);
        rotate(&self.signs[0], &self.signs[1], out)
    }
}

/// Checks what every rotation kernel relies on and returns `n`: the signs
/// and `x` of one length, a power of two of at least 64.
pub(crate) fn check_rotate_shape(first: &[f32], second: &[f32], x: &[f32]) -> usize {
    let n = x.len();
    assert!(
        n >= 64 && n.is_power_of_two(),
        "rotation: length {n} is not a power of two of at least 64"
    );
    assert!(
        first.len() == n && second.len() == n,
        "rotation: signs of another length"
    );
    n
}

/// The scalar rotation kernel, the reference of the SIMD ones:
/// `x ← (1/n) H (s₂ ⊙ H (s₁ ⊙ x))`. Adds and multiplies by ±1 only (no
/// fused operations), so wider registers round exactly as this does.
pub fn rotate(first: &[f32], second: &[f32], x: &mut [f32]) {
    let n = check_rotate_shape(first, second, x);
    for signs in [first, second] {
        for (v, s) in x.iter_mut().zip(signs) {
            *v *= s;
        }
        fwht(x);
    }
    let scale = 1.0 / n as f32;
    x.iter_mut().for_each(|v| *v *= scale);
}

/// In-place unnormalized Walsh–Hadamard transform; `x.len()` is a power of
/// two. The butterflies of one stage touch disjoint halves of contiguous
/// blocks, which the compiler vectorizes.
#[inline(always)]
fn fwht(x: &mut [f32]) {
    let n = x.len();
    debug_assert!(n.is_power_of_two());
    let mut h = 1;
    while h < n {
        for block in x.chunks_exact_mut(2 * h) {
            let (a, b) = block.split_at_mut(h);
            for (u, v) in a.iter_mut().zip(b.iter_mut()) {
                let (s, d) = (*u + *v, *u - *v);
                *u = s;
                *v = d;
            }
        }
        h *= 2;
    }
}

/// Sets bit `i` of `code` when `rotated[i] > 0`: the scalar kernel, the
/// reference of the SIMD ones (`Kernels::sign_bits`).
pub fn encode(rotated: &[f32], code: &mut [u64]) {
    assert_eq!(rotated.len(), code.len() * 64, "encode: code length");
    for (word, chunk) in code.iter_mut().zip(rotated.chunks_exact(64)) {
        let mut w = 0u64;
        for (i, &x) in chunk.iter().enumerate() {
            w |= ((x > 0.0) as u64) << i;
        }
        *word = w;
    }
}

/// A rotated query quantized to `QUERY_BITS` bit planes: plane `j`, word
/// `i` holds bit `j` of coordinates `64i..64i+64`. Coordinate `i` is
/// approximately `delta * (u_i - ZERO_POINT)`.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryPlanes {
    pub planes: Vec<u64>,
    pub delta: f32,
    /// `Σ_i (u_i - ZERO_POINT)`, for turning a kernel score into an
    /// estimate of the inner product.
    pub sum: i32,
}

impl QueryPlanes {
    pub fn new(rotated: &[f32]) -> Self {
        assert!(
            rotated.len().is_multiple_of(64),
            "query planes: whole words"
        );
        let words = rotated.len() / 64;
        let max = rotated.iter().fold(0.0f32, |m, x| m.max(x.abs()));
        let delta = if max > 0.0 { max / QMAX } else { 1.0 };
        let mut planes = vec![0u64; QUERY_BITS * words];
        let mut sum = 0i32;
        for (i, &x) in rotated.iter().enumerate() {
            let q = (x / delta).round().clamp(-QMAX, QMAX) as i32;
            sum += q;
            let u = (q + ZERO_POINT) as u64;
            for j in 0..QUERY_BITS {
                planes[j * words + i / 64] |= ((u >> j) & 1) << (i % 64);
            }
        }
        QueryPlanes { planes, delta, sum }
    }

    pub fn words(&self) -> usize {
        self.planes.len() / QUERY_BITS
    }

    /// The estimated inner product `<q, p>` of the query and a unit vector
    /// whose code scored `score`: `<q̂, s>/√n` with `s` the ±1 signs, over
    /// `E|g| = √(2/π)` of a coordinate of a random unit direction scaled
    /// by √n.
    pub fn estimate(&self, score: i32) -> f32 {
        let n = (self.words() * 64) as f32;
        let signed = 2 * score - self.sum;
        self.delta * signed as f32 / n.sqrt() / std::f32::consts::FRAC_2_PI.sqrt()
    }
}

/// The reference kernel: for each code `r` of `codes` (rows of
/// `planes.len() / QUERY_BITS` words), `out[r] = Σ_j 2^j·|plane_j ∧ code| −
/// ZERO_POINT·|code|`, i.e. `Σ_{i: bit i set} (u_i − ZERO_POINT)`.
pub fn scores(planes: &[u64], codes: &[u64], out: &mut [i32]) {
    let w = check_shape(planes, codes, out);
    for (o, code) in out.iter_mut().zip(codes.chunks_exact(w.max(1))) {
        *o = score_words(planes, code, w, 0);
    }
}

/// The score of one code (of `w` words) over its words `from..w`; the
/// SIMD kernels finish their tails with it.
#[inline]
pub(crate) fn score_words(planes: &[u64], code: &[u64], w: usize, from: usize) -> i32 {
    let mut s = 0i32;
    let mut p = 0i32;
    for (i, &c) in code.iter().enumerate().take(w).skip(from) {
        p += c.count_ones() as i32;
        for j in 0..QUERY_BITS {
            s += ((planes[j * w + i] & c).count_ones() as i32) << j;
        }
    }
    s - ZERO_POINT * p
}

/// The reference kernel of [`Kernels::hamming`](super::Kernels): the bits
/// that differ between codes `a` and `b`, the symmetric distance the graph
/// over codes links by (for sign codes of unit vectors it estimates the
/// angle between them: `π · hamming / bits`).
pub fn hamming(a: &[u64], b: &[u64]) -> u32 {
    assert_eq!(a.len(), b.len(), "hamming: codes of different lengths");
    a.iter().zip(b).map(|(x, y)| (x ^ y).count_ones()).sum()
}

/// Checks the lengths every `bits_scores` kernel relies on; returns the
/// words per code.
pub(crate) fn check_shape(planes: &[u64], codes: &[u64], out: &[i32]) -> usize {
    assert!(
        planes.len().is_multiple_of(QUERY_BITS),
        "bits_scores: planes are not whole"
    );
    let w = planes.len() / QUERY_BITS;
    assert_eq!(
        codes.len(),
        w * out.len(),
        "bits_scores: codes must hold out.len() rows"
    );
    w
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vector::available;
    use proptest::prelude::*;

    fn rng(seed: u64) -> impl FnMut() -> u64 {
        let mut s = seed;
        move || splitmix(&mut s)
    }

    fn unit(next: &mut impl FnMut() -> u64, dim: usize) -> Vec<f32> {
        let mut v: Vec<f32> = (0..dim)
            .map(|_| (next() >> 40) as f32 / (1u64 << 24) as f32 - 0.5)
            .collect();
        crate::vector::normalize(&mut v);
        v
    }

    /// The definition, coordinate by coordinate, without bit planes.
    fn by_definition(q: &QueryPlanes, code: &[u64]) -> i32 {
        let w = q.words();
        (0..w * 64)
            .filter(|i| code[i / 64] >> (i % 64) & 1 == 1)
            .map(|i| {
                let u: i32 = (0..QUERY_BITS)
                    .map(|j| ((q.planes[j * w + i / 64] >> (i % 64) & 1) as i32) << j)
                    .sum();
                u - ZERO_POINT
            })
            .sum()
    }

    #[test]
    fn every_kernel_set_matches_the_definition_on_odd_shapes() {
        let mut next = rng(3);
        for w in [1usize, 2, 3, 4, 5, 7, 8, 9, 12, 15, 16, 17, 24, 32, 33] {
            for rows in [0usize, 1, 2, 3, 5, 8, 17] {
                let rotated: Vec<f32> = unit(&mut next, w * 64);
                let q = QueryPlanes::new(&rotated);
                let codes: Vec<u64> = (0..w * rows).map(|_| next()).collect();
                let want: Vec<i32> = codes
                    .chunks_exact(w)
                    .map(|c| by_definition(&q, c))
                    .collect();
                for k in available() {
                    let mut out = vec![i32::MIN; rows];
                    (k.bits_scores)(&q.planes, &codes, &mut out);
                    assert_eq!(out, want, "{} w {w} rows {rows}", k.name);
                }
            }
        }
    }

    #[test]
    fn every_hamming_kernel_matches_the_definition_on_odd_lengths() {
        let mut next = rng(11);
        for w in [0usize, 1, 2, 3, 7, 8, 9, 15, 16, 17, 24, 31, 32, 33] {
            for _ in 0..4 {
                let a: Vec<u64> = (0..w).map(|_| next()).collect();
                let b: Vec<u64> = (0..w).map(|_| next()).collect();
                let want: u32 = (0..w * 64)
                    .filter(|i| (a[i / 64] >> (i % 64) & 1) != (b[i / 64] >> (i % 64) & 1))
                    .count() as u32;
                let ones = vec![u64::MAX; w];
                let zeros = vec![0u64; w];
                for k in available() {
                    assert_eq!((k.hamming)(&a, &b), want, "{} w {w}", k.name);
                    assert_eq!((k.hamming)(&a, &a), 0, "{} w {w}", k.name);
                    assert_eq!(
                        (k.hamming)(&ones, &zeros),
                        64 * w as u32,
                        "{} w {w}",
                        k.name
                    );
                }
            }
        }
    }

    #[test]
    #[should_panic(expected = "different lengths")]
    fn hamming_rejects_codes_of_different_lengths() {
        crate::vector::hamming(&[0; 8], &[0; 7]);
    }

    #[test]
    fn extreme_codes_and_queries_do_not_overflow() {
        for w in [4usize, 8, 16, 64] {
            // Every query coordinate at +7, every code bit set: the
            // AVX2 per-byte sums reach their maximum.
            let q = QueryPlanes::new(&vec![1.0; w * 64]);
            let codes = vec![u64::MAX; w * 3];
            for k in available() {
                let mut out = vec![0; 3];
                (k.bits_scores)(&q.planes, &codes, &mut out);
                assert_eq!(out, vec![7 * 64 * w as i32; 3], "{} w {w}", k.name);
            }
            let q = QueryPlanes::new(&vec![-1.0; w * 64]);
            for k in available() {
                let mut out = vec![0; 3];
                (k.bits_scores)(&q.planes, &codes, &mut out);
                assert_eq!(out, vec![-7 * 64 * w as i32; 3], "{} w {w}", k.name);
            }
        }
    }

    #[test]
    #[should_panic(expected = "out.len() rows")]
    fn kernels_reject_short_codes() {
        bits_scores_best(&[0; 8], &[0; 3], &mut [0; 2]);
    }

    fn bits_scores_best(p: &[u64], c: &[u64], o: &mut [i32]) {
        crate::vector::bits_scores(p, c, o)
    }

    #[test]
    fn rotation_is_orthogonal() {
        let mut next = rng(5);
        for dim in [1usize, 3, 64, 100, 256, 1000, 1024] {
            let r = Rotation::new(dim);
            assert_eq!(r.len(), code_bits(dim));
            let (a, b) = (unit(&mut next, dim), unit(&mut next, dim));
            let (mut ra, mut rb) = (vec![0.0; r.len()], vec![0.0; r.len()]);
            r.apply(&a, &mut ra);
            r.apply(&b, &mut rb);
            let dot = |x: &[f32], y: &[f32]| x.iter().zip(y).map(|(p, q)| p * q).sum::<f32>();
            assert!((dot(&ra, &ra) - 1.0).abs() < 1e-4, "dim {dim} norm");
            assert!((dot(&ra, &rb) - dot(&a, &b)).abs() < 1e-4, "dim {dim} dot");
        }
    }

    /// The dispatched (AVX2 where present) and portable rotations give the
    /// same bits, so a code never depends on the machine that made it.
    #[test]
    fn rotation_bodies_agree_bit_for_bit() {
        let mut next = rng(21);
        for dim in [1usize, 7, 64, 100, 1000, 1024, 2048] {
            let r = Rotation::new(dim);
            for _ in 0..4 {
                let v = unit(&mut next, dim);
                let (mut a, mut b) = (vec![0.0; r.len()], vec![0.0; r.len()]);
                r.apply(&v, &mut a);
                r.apply_portable(&v, &mut b);
                let bits = |x: &[f32]| x.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&a), bits(&b), "dim {dim}");
            }
        }
    }

    /// Every kernel set's rotation and sign bits against the scalar
    /// kernels, bit for bit, at every length a dim can give (and dims that
    /// pad), on dense, sparse (one-hot, as hashed bags of words are) and
    /// zero-heavy inputs; `VECSEARCH_KERNEL` plays no part, each set runs.
    #[test]
    fn rotation_kernels_agree_with_scalar() {
        let mut next = rng(33);
        let sets = available();
        assert!(sets.iter().any(|k| k.name == "scalar"));
        for dim in [
            1usize, 7, 63, 64, 65, 100, 127, 128, 200, 256, 300, 513, 1000, 1024, 2048, 4096,
        ] {
            let r = Rotation::new(dim);
            let n = r.len();
            let mut inputs = vec![unit(&mut next, dim)];
            let mut sparse = vec![0.0f32; dim];
            for _ in 0..3 {
                sparse[(next() % dim as u64) as usize] = (next() % 7) as f32 - 3.0;
            }
            inputs.push(sparse);
            let mut wild = unit(&mut next, dim);
            for (i, x) in wild.iter_mut().enumerate() {
                *x *= [1e-30, 1.0, 1e30, 0.0][i % 4];
            }
            inputs.push(wild);
            for v in &inputs {
                let mut want = vec![0.0; n];
                r.apply_portable(v, &mut want);
                let mut want_code = vec![0u64; n / 64];
                encode(&want, &mut want_code);
                let bits = |x: &[f32]| x.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
                for k in &sets {
                    let mut got = vec![0.0; n];
                    got[..dim].copy_from_slice(v);
                    (k.rotate)(&r.signs[0], &r.signs[1], &mut got);
                    assert_eq!(bits(&got), bits(&want), "{} dim {dim}", k.name);
                    let mut code = vec![!0u64; n / 64];
                    (k.sign_bits)(&want, &mut code);
                    assert_eq!(code, want_code, "{} dim {dim}", k.name);
                }
            }
        }
    }

    /// Zeros of either sign and NaN are not positive: no bit, in any set.
    #[test]
    fn sign_bits_of_zeros_and_nan() {
        let mut x = vec![1.0f32; 128];
        for (i, v) in x.iter_mut().enumerate() {
            *v = match i % 5 {
                0 => 0.0,
                1 => -0.0,
                2 => f32::NAN,
                3 => -1e-40,
                _ => 1e-40,
            };
        }
        let mut want = vec![0u64; 2];
        encode(&x, &mut want);
        assert_eq!(want.iter().map(|w| w.count_ones()).sum::<u32>(), 25);
        for k in available() {
            let mut code = vec![!0u64; 2];
            (k.sign_bits)(&x, &mut code);
            assert_eq!(code, want, "{}", k.name);
        }
    }

    #[test]
    #[should_panic(expected = "power of two")]
    fn rotate_refuses_other_lengths() {
        crate::vector::bits::rotate(&[1.0; 96], &[1.0; 96], &mut [0.0; 96]);
    }

    /// A one-hot (one-term) vector must not stay one-hot: the rotation has
    /// to spread it, or its code would be nearly all zero bits.
    #[test]
    fn rotation_spreads_a_single_coordinate() {
        let r = Rotation::new(1024);
        let mut v = vec![0.0; 1024];
        v[17] = 1.0;
        let mut out = vec![0.0; 1024];
        r.apply(&v, &mut out);
        let mut code = vec![0u64; 16];
        encode(&out, &mut code);
        let ones: u32 = code.iter().map(|w| w.count_ones()).sum();
        assert!((400..=624).contains(&ones), "{ones} of 1024 bits set");
    }

    /// The codes are for ranking: the estimate must track the true inner
    /// product closely enough that near vectors outrank far ones.
    #[test]
    fn estimates_track_inner_products() {
        let mut next = rng(9);
        let dim = 1024;
        let r = Rotation::new(dim);
        let q = unit(&mut next, dim);
        let mut rq = vec![0.0; r.len()];
        r.apply(&q, &mut rq);
        let planes = QueryPlanes::new(&rq);
        let mut worst = 0.0f32;
        for t in 0..50 {
            // Mix the query with noise for a spread of true similarities.
            let noise = unit(&mut next, dim);
            let a = t as f32 / 50.0;
            let mut p: Vec<f32> = q
                .iter()
                .zip(&noise)
                .map(|(x, y)| a * x + (1.0 - a) * y)
                .collect();
            crate::vector::normalize(&mut p);
            let truth: f32 = q.iter().zip(&p).map(|(x, y)| x * y).sum();
            let mut rp = vec![0.0; r.len()];
            r.apply(&p, &mut rp);
            let mut code = vec![0u64; code_words(dim)];
            encode(&rp, &mut code);
            let mut s = [0];
            scores(&planes.planes, &code, &mut s);
            worst = worst.max((planes.estimate(s[0]) - truth).abs());
        }
        assert!(worst < 0.15, "worst error {worst}");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn prop_kernels_agree(w in 1usize..40, rows in 0usize..12, seed in any::<u64>()) {
            let mut next = rng(seed);
            let rotated: Vec<f32> = (0..w * 64).map(|_| (next() % 1000) as f32 - 500.0).collect();
            let q = QueryPlanes::new(&rotated);
            let codes: Vec<u64> = (0..w * rows).map(|_| next()).collect();
            let mut want = vec![0; rows];
            scores(&q.planes, &codes, &mut want);
            for k in available() {
                let mut out = vec![0; rows];
                (k.bits_scores)(&q.planes, &codes, &mut out);
                prop_assert_eq!(&out, &want, "{}", k.name);
            }
        }

        #[test]
        fn prop_hamming_kernels_agree(w in 0usize..40, seed in any::<u64>()) {
            let mut next = rng(seed);
            let a: Vec<u64> = (0..w).map(|_| next()).collect();
            let b: Vec<u64> = (0..w).map(|_| next()).collect();
            let want = hamming(&a, &b);
            for k in available() {
                prop_assert_eq!((k.hamming)(&a, &b), want, "{}", k.name);
                prop_assert_eq!((k.hamming)(&b, &a), want, "{}", k.name);
            }
        }
    }
}
