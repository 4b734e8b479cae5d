//! Vector kernels: dot products over `f32` slices, chosen once at run time.
//!
//! This module is a leaf: it knows nothing of words, passages or files. Every
//! SIMD kernel has a scalar twin in [`scalar`] that tests compare it against.
//! The kernel set is picked once per process: the fastest one the CPU
//! supports, unless `VECSEARCH_KERNEL=scalar|avx2|avx512` asks for another.

mod aligned;
pub mod bits;
pub mod bound;
pub mod dot4;
mod gather;
mod mask;
pub use mask::{at_least_mask, MASK_LANES};
mod packed;
pub(crate) use packed::interleave_queries;
mod rows;
pub mod scalar;
mod slab;
pub mod sq8;
#[cfg(target_arch = "x86_64")]
mod x86;
#[cfg(target_arch = "x86_64")]
mod x86_bits;
#[cfg(target_arch = "x86_64")]
mod x86_dot4;
#[cfg(target_arch = "x86_64")]
mod x86_rotate;
#[cfg(target_arch = "x86_64")]
mod x86_sq8;

pub use aligned::AlignedVec;
pub use bound::QueryBounds;
pub use gather::{SparseQuery, WORTH_GATHERING};
pub use packed::{PackedRows, PANEL};
pub use rows::Rows;
pub use slab::{advise_huge, fletcher, BlockCheck, BlockSum, Failure, Slab, SlabError};

use std::cell::RefCell;
use std::sync::OnceLock;

/// One implementation of the kernels, as a table of function pointers, so the
/// feature check runs once per process rather than once per call.
#[derive(Clone, Copy)]
pub struct Kernels {
    pub name: &'static str,
    /// `a · b` for equal-length slices.
    pub dot: fn(&[f32], &[f32]) -> f32,
    /// Scores one query against `out.len()` consecutive rows of `block`
    /// (row length = `query.len()`).
    pub dot_block: fn(&[f32], &[f32], &mut [f32]),
    /// `dot_tile(queries, vectors, dim, out)` scores every one of the
    /// `nq = queries.len() / dim` queries against every one of the
    /// `nv = vectors.len() / dim` rows: `out[i * nv + j] = query_i · row_j`.
    /// With `dim == 0` every score is zero and `out` is zero-filled.
    pub dot_tile: fn(&[f32], &[f32], usize, &mut [f32]),
    /// `dot_tile_packed(queries, rows, out)`: the same scores as `dot_tile`
    /// against rows packed once into a [`PackedRows`], so a tile that many
    /// queries pass over is transposed once rather than once per call:
    /// `out[i * nv + j] = query_i · row_j` with `nv = rows.rows()` and
    /// `nq = queries.len() / rows.dim()`.
    pub dot_tile_packed: fn(&[f32], &PackedRows, &mut [f32]),
    /// `dot_tile_bounded(queries, rows, bounds, out)`: the scores of
    /// `dot_tile_packed`, bit for bit, except where the kernel proves a
    /// score cannot reach its query's limit: rows packed by
    /// [`PackedRows::pack_bounded`]; at each of their checkpoints `c` a
    /// kernel tests its block (some queries × one or two panels, its
    /// choice) lane by lane with `fl(fl(acc + rq · rx) + margin) < limit`,
    /// where `acc` is the lane's sum of the first `c` terms and `rq`, `rx`
    /// the query's and the row's residual bounds, and if the test holds for
    /// every lane of the block it stops and writes `−∞` for the block's
    /// scores. See [`bound`] for why such a score is below the limit.
    pub dot_tile_bounded: fn(&[f32], &PackedRows, &QueryBounds, &mut [f32]),
    /// `bits_scores(planes, codes, out)` scores a quantized query (see
    /// [`bits::QueryPlanes`]) against `out.len()` consecutive 1-bit codes:
    /// exactly [`bits::scores`], whichever set runs it.
    pub bits_scores: fn(&[u64], &[u64], &mut [i32]),
    /// `hamming(a, b)`: the bits that differ between two codes of equal
    /// length, exactly [`bits::hamming`] whichever set runs it (the graph
    /// over 1-bit codes links nodes by it).
    pub hamming: fn(&[u64], &[u64]) -> u32,
    /// `dot_u8(weights, codes)`: `Σ weights[d] * codes[d]` in `i32` with
    /// wrapping adds, exactly [`sq8::dot_u8`] whichever set runs it (see
    /// [`sq8`] for the weights that keep it from wrapping).
    pub dot_u8: fn(&[i16], &[u8]) -> i32,
    /// `rotate(first, second, x)`: the 1-bit codes' rotation in place,
    /// exactly [`bits::rotate`] (same floats, bit for bit) whichever set
    /// runs it; `x` is a power of two of at least 64 long.
    pub rotate: fn(&[f32], &[f32], &mut [f32]),
    /// `sign_bits(rotated, code)`: exactly [`bits::encode`].
    pub sign_bits: fn(&[f32], &mut [u64]),
}

impl std::fmt::Debug for Kernels {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Kernels({})", self.name)
    }
}

/// Queries per [`dot_tile`] call that keep the SIMD kernels compute-bound:
/// enough queries that each row, once in L1, feeds many multiply-adds.
pub const TILE_QUERIES: usize = 64;

/// Rows per [`dot_tile`] call. At dim 256, 1024 rows are 1 MiB, which stays
/// in a 2 MiB L2 while all [`TILE_QUERIES`] queries pass over it; the kernels
/// keep one small block of queries in L1 and stream the packed rows past it.
/// Many rows per call amortise the per-call interleaving of each query block.
pub const TILE_ROWS: usize = 1024;

/// Name of the environment variable that forces a kernel set.
pub const KERNEL_ENV: &str = "VECSEARCH_KERNEL";

/// Every kernel set this machine can run, scalar first, fastest last.
pub fn available() -> Vec<Kernels> {
    #[allow(unused_mut)]
    let mut all = vec![scalar::KERNELS];
    #[cfg(target_arch = "x86_64")]
    all.extend([x86::avx2(), x86::avx512()].into_iter().flatten());
    all
}

/// The kernel set called `name`, if this machine can run it.
pub fn by_name(name: &str) -> Option<Kernels> {
    available().into_iter().find(|k| k.name == name)
}

/// `requested` if it names an available set, otherwise the fastest, so a
/// typo or an old CPU degrades to working code rather than a panic.
fn choose(requested: Option<&str>, available: &[Kernels]) -> Kernels {
    let fastest = *available.last().expect("scalar kernels always exist");
    requested
        .map(str::trim)
        .and_then(|name| available.iter().find(|k| k.name.eq_ignore_ascii_case(name)))
        .copied()
        .unwrap_or(fastest)
}

/// The kernel set every free function here uses: the fastest this machine
/// supports, or the one named by `VECSEARCH_KERNEL` (read once).
pub fn best() -> &'static Kernels {
    static BEST: OnceLock<Kernels> = OnceLock::new();
    BEST.get_or_init(|| {
        let requested = std::env::var(KERNEL_ENV).ok();
        choose(requested.as_deref(), &available())
    })
}

/// Dot product with the best kernel for this machine.
#[inline]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    (best().dot)(a, b)
}

/// Scores `query` against consecutive rows of `block` into `out`.
#[inline]
pub fn dot_block(query: &[f32], block: &[f32], out: &mut [f32]) {
    (best().dot_block)(query, block, out)
}

/// Scores a tile of queries against a tile of rows; see [`Kernels::dot_tile`].
#[inline]
pub fn dot_tile(queries: &[f32], vectors: &[f32], dim: usize, out: &mut [f32]) {
    (best().dot_tile)(queries, vectors, dim, out)
}

/// Scores a tile of queries against packed rows; see
/// [`Kernels::dot_tile_packed`].
#[inline]
pub fn dot_tile_packed(queries: &[f32], rows: &PackedRows, out: &mut [f32]) {
    (best().dot_tile_packed)(queries, rows, out)
}

/// Checks the lengths every `dot_tile_packed` kernel relies on and returns
/// `(nq, nv, dim)`.
pub(crate) fn packed_shape(
    queries: &[f32],
    rows: &PackedRows,
    out: &[f32],
) -> (usize, usize, usize) {
    let (nv, dim) = (rows.rows(), rows.dim());
    if dim == 0 {
        // Never packed: no rows, so no scores.
        assert!(
            out.is_empty(),
            "dot_tile_packed: out must hold nq * nv scores"
        );
        return (0, 0, 0);
    }
    assert_eq!(
        queries.len() % dim,
        0,
        "dot_tile_packed: queries not a multiple of dim"
    );
    let nq = queries.len() / dim;
    assert_eq!(
        out.len(),
        nq * nv,
        "dot_tile_packed: out must hold nq * nv scores"
    );
    assert_eq!(rows.as_slice().len(), rows.panels() * PANEL * dim);
    (nq, nv, dim)
}

/// Scores a tile of queries against packed rows, giving up on blocks that
/// cannot reach the queries' limits; see [`Kernels::dot_tile_bounded`].
#[inline]
pub fn dot_tile_bounded(queries: &[f32], rows: &PackedRows, bounds: &QueryBounds, out: &mut [f32]) {
    (best().dot_tile_bounded)(queries, rows, bounds, out)
}

/// [`packed_shape`], and the lengths of the bounds every
/// `dot_tile_bounded` kernel relies on.
pub(crate) fn bounded_shape(
    queries: &[f32],
    rows: &PackedRows,
    bounds: &QueryBounds,
    out: &[f32],
) -> (usize, usize, usize) {
    let (nq, nv, dim) = packed_shape(queries, rows, out);
    let nj = rows.checks().len();
    assert!(
        bounds.limit.len() == nq && bounds.margin.len() == nq && bounds.residual.len() == nq * nj,
        "dot_tile_bounded: bounds must cover every query and checkpoint"
    );
    assert_eq!(rows.residuals().len(), rows.panels() * nj * PANEL);
    (nq, nv, dim)
}

/// Below this many queries a `dot_tile` call does not repay packing its rows
/// and runs as one `dot_block` per query instead.
const PACK_MIN_QUERIES: usize = 4;

/// `dot_tile` for the SIMD sets: packs `vectors` into a per-thread scratch
/// buffer and runs `packed_kernel` over it (or `block_kernel` per query when
/// there are too few queries to pay for the packing).
pub(crate) fn dot_tile_by_packing(
    queries: &[f32],
    vectors: &[f32],
    dim: usize,
    out: &mut [f32],
    packed_kernel: fn(&[f32], &PackedRows, &mut [f32]),
    block_kernel: fn(&[f32], &[f32], &mut [f32]),
) {
    thread_local! {
        static SCRATCH: RefCell<PackedRows> = RefCell::new(PackedRows::new());
    }
    let Some((nq, nv)) = tile_shape(queries, vectors, dim, out) else {
        return;
    };
    if nq == 0 || nv == 0 {
        return;
    }
    if nq < PACK_MIN_QUERIES {
        for (q, row) in queries.chunks_exact(dim).zip(out.chunks_exact_mut(nv)) {
            block_kernel(q, vectors, row);
        }
        return;
    }
    SCRATCH.with_borrow_mut(|packed| {
        packed.pack(vectors, dim);
        packed_kernel(queries, packed, out);
    })
}

/// Checks the slice lengths every `dot_tile` kernel relies on and returns
/// `(nq, nv)`, or `None` after zero-filling `out` when `dim == 0`.
pub(crate) fn tile_shape(
    queries: &[f32],
    vectors: &[f32],
    dim: usize,
    out: &mut [f32],
) -> Option<(usize, usize)> {
    if dim == 0 {
        assert!(
            queries.is_empty() && vectors.is_empty(),
            "dot_tile: dim 0 with non-empty inputs"
        );
        out.fill(0.0);
        return None;
    }
    assert_eq!(
        queries.len() % dim,
        0,
        "dot_tile: queries not a multiple of dim"
    );
    assert_eq!(
        vectors.len() % dim,
        0,
        "dot_tile: vectors not a multiple of dim"
    );
    let (nq, nv) = (queries.len() / dim, vectors.len() / dim);
    assert_eq!(out.len(), nq * nv, "dot_tile: out must hold nq * nv scores");
    Some((nq, nv))
}

/// Scores a quantized query against 1-bit codes; see
/// [`Kernels::bits_scores`].
#[inline]
pub fn bits_scores(planes: &[u64], codes: &[u64], out: &mut [i32]) {
    (best().bits_scores)(planes, codes, out)
}

/// Bits that differ between two codes, with the best kernel; see
/// [`Kernels::hamming`].
#[inline]
pub fn hamming(a: &[u64], b: &[u64]) -> u32 {
    (best().hamming)(a, b)
}

/// Hints that the cache line holding `p` will be read soon. A hint only:
/// any address is fine, nothing is dereferenced.
#[inline(always)]
pub fn prefetch<T>(p: *const T) {
    #[cfg(target_arch = "x86_64")]
    prefetch_hint::<{ std::arch::x86_64::_MM_HINT_T0 }, T>(p);
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// Hints that the cache line holding `p` will be read, but not before
/// other work: it is brought into L2, not L1. On this machine's cores such
/// a request leaves the L1 miss buffers free for the lines needed now (the
/// SQ8 walk asks for the next expansion's codes this way: +8–13% QPS at
/// 1M × 128, BENCHMARKS.md "The 1M SQ8 walk, second round"). A hint only.
#[inline(always)]
pub fn prefetch_l2<T>(p: *const T) {
    #[cfg(target_arch = "x86_64")]
    prefetch_hint::<{ std::arch::x86_64::_MM_HINT_T1 }, T>(p);
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// The prefetch instruction with locality hint `H`.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn prefetch_hint<const H: i32, T>(p: *const T) {
    // SAFETY: prefetch is a hint and never faults, whatever the address.
    unsafe { std::arch::x86_64::_mm_prefetch::<H>(p as *const i8) }
}

/// [`prefetch`] for the first `max_lines` 64-byte lines of `s`.
#[inline(always)]
pub fn prefetch_slice<T>(s: &[T], max_lines: usize) {
    let p = s.as_ptr() as *const u8;
    let bytes = std::mem::size_of_val(s).min(max_lines * 64);
    for off in (0..bytes).step_by(64) {
        prefetch(p.wrapping_add(off));
    }
}

/// Scales `v` to unit L2 length; a zero vector stays zero.
pub fn normalize(v: &mut [f32]) {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        let inv = 1.0 / norm;
        v.iter_mut().for_each(|x| *x *= inv);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const DIMS: [usize; 16] = [
        0, 1, 3, 7, 15, 16, 17, 31, 33, 63, 100, 255, 256, 257, 1000, 1024,
    ];

    /// SplitMix64: seeded test data without pulling in a rand crate.
    struct Rng(u64);
    impl Rng {
        fn next_u64(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        }
        fn f32(&mut self) -> f32 {
            ((self.next_u64() >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        }
        fn vec(&mut self, n: usize) -> Vec<f32> {
            (0..n).map(|_| self.f32()).collect()
        }
    }

    /// Reordering the sum changes rounding by at most a few ulps of the sum
    /// of magnitudes; cancellation makes a relative check on the result
    /// itself meaningless.
    fn close(got: f32, a: &[f32], b: &[f32]) -> bool {
        let exact: f64 = a.iter().zip(b).map(|(x, y)| *x as f64 * *y as f64).sum();
        let mag: f64 = a
            .iter()
            .zip(b)
            .map(|(x, y)| (*x as f64 * *y as f64).abs())
            .sum();
        (got as f64 - exact).abs() <= 1e-4 * mag + 1e-6
    }

    fn simd_kernels() -> Vec<Kernels> {
        available().into_iter().skip(1).collect()
    }

    #[test]
    fn scalar_is_always_first() {
        let all = available();
        assert_eq!(all[0].name, "scalar");
        assert!(by_name("scalar").is_some());
        #[cfg(target_arch = "x86_64")]
        {
            assert_eq!(
                by_name("avx2").is_some(),
                is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma")
            );
            assert_eq!(
                by_name("avx512").is_some(),
                is_x86_feature_detected!("avx512f")
            );
        }
    }

    #[test]
    fn choose_honours_request_and_falls_back() {
        let all = available();
        let fastest = all.last().unwrap().name;
        assert_eq!(choose(None, &all).name, fastest);
        assert_eq!(choose(Some("scalar"), &all).name, "scalar");
        assert_eq!(choose(Some(" Scalar\n"), &all).name, "scalar");
        assert_eq!(choose(Some("no-such-kernel"), &all).name, fastest);
        assert_eq!(choose(Some(""), &all).name, fastest);
        // A name this machine lacks degrades to the fastest it has.
        assert_eq!(choose(Some("avx512"), &all[..1]).name, "scalar");
        for k in &all {
            assert_eq!(choose(Some(k.name), &all).name, k.name);
        }
        assert!(available().iter().any(|k| k.name == best().name));
    }

    #[test]
    fn dot_matches_reference_on_edge_dims() {
        let mut rng = Rng(7);
        for k in available() {
            for &dim in &DIMS {
                for _ in 0..4 {
                    let a = rng.vec(dim);
                    let b = rng.vec(dim);
                    let got = (k.dot)(&a, &b);
                    assert!(close(got, &a, &b), "{} dim {dim}: {got}", k.name);
                }
            }
        }
    }

    /// Unaligned starts exercise the `loadu` paths the aligned arena hides.
    #[test]
    fn dot_handles_unaligned_slices() {
        let mut rng = Rng(11);
        let a = rng.vec(1100);
        let b = rng.vec(1100);
        for k in available() {
            for off in 0..17 {
                for &dim in &[15usize, 64, 257, 1000] {
                    let (x, y) = (&a[off..off + dim], &b[1..1 + dim]);
                    assert!(close((k.dot)(x, y), x, y), "{} off {off} dim {dim}", k.name);
                }
            }
        }
    }

    #[test]
    fn dot_block_matches_scalar() {
        let mut rng = Rng(13);
        for k in available() {
            for &dim in &DIMS {
                for rows in [0usize, 1, 3, 4, 5, 7, 8, 13, 17, 33] {
                    let q = rng.vec(dim);
                    let block = rng.vec(dim * rows);
                    let mut out = vec![f32::NAN; rows];
                    (k.dot_block)(&q, &block, &mut out);
                    for (r, got) in out.iter().enumerate() {
                        let row = &block[r * dim..(r + 1) * dim];
                        assert!(
                            close(*got, &q, row),
                            "{} dim {dim} rows {rows} r {r}",
                            k.name
                        );
                    }
                }
            }
        }
    }

    fn check_tile(k: &Kernels, rng: &mut Rng, nq: usize, nv: usize, dim: usize) {
        let q = rng.vec(nq * dim);
        let v = rng.vec(nv * dim);
        let mut out = vec![f32::NAN; nq * nv];
        (k.dot_tile)(&q, &v, dim, &mut out);
        assert_tile_close(&format!("{} tile", k.name), &q, &v, dim, &out);
    }

    /// Every entry of `out` (nq × nv) is the dot of its query and row.
    fn assert_tile_close(what: &str, q: &[f32], v: &[f32], dim: usize, out: &[f32]) {
        let (nq, nv) = (q.len() / dim, v.len() / dim);
        for i in 0..nq {
            for j in 0..nv {
                let (a, b) = (&q[i * dim..(i + 1) * dim], &v[j * dim..(j + 1) * dim]);
                let got = out[i * nv + j];
                let want = scalar::dot(a, b);
                assert!(
                    close(got, a, b),
                    "{what} nq {nq} nv {nv} dim {dim} at ({i},{j}): {got} vs {want}"
                );
            }
        }
    }

    #[test]
    fn dot_tile_matches_scalar_on_odd_shapes() {
        let mut rng = Rng(17);
        for k in available() {
            for &dim in &[1usize, 3, 15, 16, 17, 33, 100, 256, 257] {
                for nq in [0usize, 1, 3, 4, 5, 7, 9] {
                    for nv in [0usize, 1, 2, 3, 5, 6, 7, 9] {
                        check_tile(&k, &mut rng, nq, nv, dim);
                    }
                }
            }
            // Large enough to span several L1 chunks with leftover rows.
            check_tile(&k, &mut rng, 13, 77, 128);
            check_tile(&k, &mut rng, 6, 19, 1024);
        }
    }

    fn check_packed(k: &Kernels, rng: &mut Rng, nq: usize, nv: usize, dim: usize) {
        let q = rng.vec(nq * dim);
        let v = rng.vec(nv * dim);
        let mut packed = PackedRows::new();
        // A bigger tile first, so reuse of the buffer is exercised too.
        packed.pack(&rng.vec((nv + 40) * dim), dim);
        packed.pack(&v, dim);
        let mut out = vec![f32::NAN; nq * nv];
        (k.dot_tile_packed)(&q, &packed, &mut out);
        assert_tile_close(&format!("{} packed", k.name), &q, &v, dim, &out);
    }

    /// Shapes that straddle every block edge: queries around the AVX2 (6)
    /// and AVX-512 (8) blocks, rows around one and two panels.
    #[test]
    fn dot_tile_packed_matches_scalar_on_odd_shapes() {
        let mut rng = Rng(23);
        for k in available() {
            for &dim in &[1usize, 3, 17, 255, 256, 257] {
                for nq in [0usize, 1, 2, 5, 6, 7, 8, 9, 13, 17] {
                    for nv in [0usize, 1, 15, 16, 17, 31, 32, 33, 47, 50] {
                        check_packed(&k, &mut rng, nq, nv, dim);
                    }
                }
            }
            check_packed(&k, &mut rng, 64, 256, 256);
            check_packed(&k, &mut rng, 67, 301, 100);
        }
    }

    /// `dot_tile` packs internally once there are enough queries; the
    /// shapes above and below that switch both agree with the reference.
    #[test]
    fn dot_tile_matches_scalar_across_the_packing_switch() {
        let mut rng = Rng(29);
        for k in available() {
            for &dim in &[1usize, 3, 17, 255, 256, 257] {
                for nq in [1usize, 3, 4, 6, 8, 9, 14, 64] {
                    for nv in [1usize, 16, 17, 33, 70] {
                        check_tile(&k, &mut rng, nq, nv, dim);
                    }
                }
            }
        }
    }

    /// Runs `k`'s bounded kernel and checks it against its own unbounded
    /// one: every score the same bits, or `−∞` where that score is below the
    /// query's limit. Returns how many scores were dropped.
    fn check_bounded(k: &Kernels, q: &[f32], v: &[f32], dim: usize, limit: &[f32]) -> usize {
        let (nq, nv) = (q.len() / dim, v.len() / dim);
        let checks = bound::checkpoints(dim);
        let nj = checks.len();
        let mut packed = PackedRows::new();
        packed.pack_bounded(v, dim, &checks);
        let mut residual = vec![0.0f32; nq * nj];
        let margin: Vec<f32> = q
            .chunks_exact(dim)
            .enumerate()
            .map(|(i, qi)| {
                let n = bound::suffix_norms(qi, &checks, &mut residual[i * nj..(i + 1) * nj]);
                bound::margin(dim, n, packed.max_norm())
            })
            .collect();
        let bounds = QueryBounds {
            limit,
            margin: &margin,
            residual: &residual,
        };
        let mut full = vec![f32::NAN; nq * nv];
        (k.dot_tile_packed)(q, &packed, &mut full);
        let mut got = vec![f32::NAN; nq * nv];
        (k.dot_tile_bounded)(q, &packed, &bounds, &mut got);
        let mut dropped = 0;
        for i in 0..nq {
            for j in 0..nv {
                let (g, f) = (got[i * nv + j], full[i * nv + j]);
                if g == f32::NEG_INFINITY && f != f32::NEG_INFINITY {
                    assert!(
                        f < limit[i],
                        "{} nq {nq} nv {nv} dim {dim} ({i},{j}): dropped {f} against {}",
                        k.name,
                        limit[i]
                    );
                    dropped += 1;
                } else {
                    assert_eq!(g.to_bits(), f.to_bits(), "{} ({i},{j})", k.name);
                }
            }
        }
        dropped
    }

    /// Limits at chosen ranks of each query's own scores (so some blocks
    /// fail the tests and some pass), at a score itself (ties must stay),
    /// `−∞` (a pool not yet full) and NaN; with `pick == usize::MAX` every
    /// limit is its query's best score.
    fn limits(k: &Kernels, q: &[f32], v: &[f32], dim: usize, pick: usize) -> Vec<f32> {
        let (nq, nv) = (q.len() / dim, v.len() / dim);
        let mut packed = PackedRows::new();
        packed.pack(v, dim);
        let mut full = vec![0.0f32; nq * nv];
        (k.dot_tile_packed)(q, &packed, &mut full);
        (0..nq)
            .map(|i| {
                let mut row = full[i * nv..(i + 1) * nv].to_vec();
                row.sort_by(|a, b| b.total_cmp(a));
                if pick == usize::MAX {
                    // Every query at its best score: whole blocks can fail.
                    return row[0];
                }
                match (i + pick) % 5 {
                    0 => f32::NEG_INFINITY,
                    1 if i % 2 == 0 => f32::NAN,
                    1 => row[0],
                    2 => row[row.len() / 20],
                    _ => row[(pick % 3).min(row.len() - 1)],
                }
            })
            .collect()
    }

    /// Clustered unit rows: a few random centres plus noise, the shape
    /// where the tests drop most blocks.
    fn clustered(rng: &mut Rng, n: usize, dim: usize, centres: &[f32]) -> Vec<f32> {
        let nc = centres.len() / dim;
        let mut out = vec![0.0f32; n * dim];
        for row in out.chunks_exact_mut(dim) {
            let c = (rng.next_u64() % nc as u64) as usize;
            for (x, &m) in row.iter_mut().zip(&centres[c * dim..(c + 1) * dim]) {
                *x = m + 0.3 * rng.f32() / (dim as f32).sqrt();
            }
            normalize(row);
        }
        out
    }

    #[test]
    fn dot_tile_bounded_keeps_the_packed_bits_and_drops_only_losers() {
        let mut rng = Rng(31);
        for k in available() {
            let mut dropped = 0;
            for &dim in &[1usize, 17, 32, 33, 100, 255, 256, 257] {
                let mut centres = rng.vec(4 * dim);
                centres.chunks_exact_mut(dim).for_each(normalize);
                for nq in [1usize, 5, 6, 7, 12, 13, 17] {
                    for nv in [1usize, 15, 16, 17, 33, 50, 97] {
                        let q = clustered(&mut rng, nq, dim, &centres);
                        let v = clustered(&mut rng, nv, dim, &centres);
                        let lim = limits(&k, &q, &v, dim, nq + nv);
                        check_bounded(&k, &q, &v, dim, &lim);
                        let lim = limits(&k, &q, &v, dim, usize::MAX);
                        dropped += check_bounded(&k, &q, &v, dim, &lim);
                        // Unnormalised, uniform data too.
                        let q = rng.vec(nq * dim);
                        let v = rng.vec(nv * dim);
                        let lim = limits(&k, &q, &v, dim, nq * nv);
                        dropped += check_bounded(&k, &q, &v, dim, &lim);
                    }
                }
            }
            // Blocks are 1 × 16 (scalar), 6 × 16 (AVX2) and 12 × 16
            // (AVX-512) scores, each dropped whole or not at all.
            assert!(dropped > 200, "{}: only {dropped} scores dropped", k.name);
        }
    }

    /// Rows with equal scores (copies of one row), rows holding NaN or
    /// infinities, and a row that is all zero: nothing at the limit and
    /// nothing unprovable is dropped.
    #[test]
    fn dot_tile_bounded_keeps_ties_and_odd_values() {
        let mut rng = Rng(37);
        let dim = 64;
        for k in available() {
            let mut v = rng.vec(40 * dim);
            let copy = v[..dim].to_vec();
            for r in [5usize, 20, 21, 39] {
                v[r * dim..(r + 1) * dim].copy_from_slice(&copy);
            }
            let q = rng.vec(7 * dim);
            let lim = limits(&k, &q, &v, dim, 3);
            check_bounded(&k, &q, &v, dim, &lim);
            v[10 * dim + 3] = f32::NAN;
            v[11 * dim + 60] = f32::INFINITY;
            v[12 * dim..13 * dim].fill(0.0);
            let lim = limits(&k, &q, &v, dim, 4);
            check_bounded(&k, &q, &v, dim, &lim);
            let mut q = q;
            q[dim + 50] = f32::INFINITY;
            check_bounded(&k, &q, &v, dim, &lim);
        }
    }

    #[test]
    #[should_panic(expected = "bounds must cover")]
    fn dot_tile_bounded_rejects_short_bounds() {
        let mut packed = PackedRows::new();
        packed.pack_bounded(&[0.0; 64 * 3], 64, &bound::checkpoints(64));
        let mut out = vec![0.0f32; 6];
        let b = QueryBounds {
            limit: &[0.0; 2],
            margin: &[0.0; 2],
            residual: &[0.0; 3],
        };
        dot_tile_bounded(&[0.0; 128], &packed, &b, &mut out);
    }

    #[test]
    #[should_panic(expected = "nq * nv")]
    fn dot_tile_packed_rejects_wrong_out_len() {
        let mut packed = PackedRows::new();
        packed.pack(&[0.0; 12], 4);
        let mut out = vec![0.0f32; 5];
        dot_tile_packed(&[0.0; 8], &packed, &mut out);
    }

    #[test]
    fn dot_tile_packed_on_unpacked_rows_is_empty() {
        for k in available() {
            (k.dot_tile_packed)(&[1.0; 8], &PackedRows::new(), &mut []);
        }
    }

    #[test]
    fn dot_tile_with_zero_dim_zero_fills() {
        for k in available() {
            let mut out = vec![1.0f32; 3];
            (k.dot_tile)(&[], &[], 0, &mut out);
            assert_eq!(out, [0.0; 3]);
        }
    }

    #[test]
    #[should_panic(expected = "nq * nv")]
    fn dot_tile_rejects_wrong_out_len() {
        let mut out = vec![0.0f32; 5];
        dot_tile(&[0.0; 8], &[0.0; 12], 4, &mut out);
    }

    #[test]
    #[should_panic(expected = "length mismatch")]
    fn simd_dot_rejects_length_mismatch() {
        let k = *available().last().unwrap();
        (k.dot)(&[1.0; 17], &[1.0; 16]);
    }

    /// Runs every kernel set through the same workload and checks they agree,
    /// so the scalar fallback stays tested on machines where it is never
    /// chosen, and the free functions agree with the chosen set.
    #[test]
    fn all_kernel_sets_agree() {
        let mut rng = Rng(19);
        let dim = 100;
        let (nq, nv) = (5, 23);
        let q = rng.vec(nq * dim);
        let v = rng.vec(nv * dim);
        let mut reference = vec![0.0f32; nq * nv];
        scalar::dot_tile(&q, &v, dim, &mut reference);
        let mut sets = available();
        sets.push(*best());
        for k in sets {
            let mut tile = vec![0.0f32; nq * nv];
            (k.dot_tile)(&q, &v, dim, &mut tile);
            for i in 0..nq {
                let qi = &q[i * dim..(i + 1) * dim];
                let mut block = vec![0.0f32; nv];
                (k.dot_block)(qi, &v, &mut block);
                for j in 0..nv {
                    let vj = &v[j * dim..(j + 1) * dim];
                    let r = reference[i * nv + j];
                    let tol = 1e-4 * dim as f32;
                    assert!((tile[i * nv + j] - r).abs() <= tol, "{} tile", k.name);
                    assert!((block[j] - r).abs() <= tol, "{} block", k.name);
                    assert!(((k.dot)(qi, vj) - r).abs() <= tol, "{} dot", k.name);
                }
            }
        }
        let mut free = vec![0.0f32; nq * nv];
        dot_tile(&q, &v, dim, &mut free);
        let mut via_best = vec![0.0f32; nq * nv];
        (best().dot_tile)(&q, &v, dim, &mut via_best);
        assert_eq!(free, via_best);
        assert_eq!(
            dot(&q[..dim], &v[..dim]),
            (best().dot)(&q[..dim], &v[..dim])
        );
    }

    #[test]
    fn simd_sets_are_distinct_from_scalar() {
        for k in simd_kernels() {
            assert_ne!(k.name, "scalar");
        }
    }

    fn pair(max_dim: usize) -> impl Strategy<Value = (Vec<f32>, Vec<f32>)> {
        (0..=max_dim).prop_flat_map(|d| {
            (
                prop::collection::vec(-10.0f32..10.0, d),
                prop::collection::vec(-10.0f32..10.0, d),
            )
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        #[test]
        fn prop_dot_matches_reference((a, b) in pair(600)) {
            for k in available() {
                let got = (k.dot)(&a, &b);
                prop_assert!(close(got, &a, &b), "{} dim {}: {}", k.name, a.len(), got);
            }
        }

        #[test]
        fn prop_tile_and_block_match_reference(
            dim in 1usize..80, nq in 0usize..11, nv in 0usize..21, seed in any::<u64>()
        ) {
            let mut rng = Rng(seed);
            let q = rng.vec(nq * dim);
            let v = rng.vec(nv * dim);
            let mut packed = PackedRows::new();
            packed.pack(&v, dim);
            for k in available() {
                let mut out = vec![f32::NAN; nq * nv];
                (k.dot_tile)(&q, &v, dim, &mut out);
                let mut via_packed = vec![f32::NAN; nq * nv];
                (k.dot_tile_packed)(&q, &packed, &mut via_packed);
                for i in 0..nq {
                    let qi = &q[i * dim..(i + 1) * dim];
                    let mut block = vec![f32::NAN; nv];
                    (k.dot_block)(qi, &v, &mut block);
                    for j in 0..nv {
                        let vj = &v[j * dim..(j + 1) * dim];
                        prop_assert!(close(out[i * nv + j], qi, vj), "{} tile", k.name);
                        prop_assert!(
                            close(via_packed[i * nv + j], qi, vj),
                            "{} packed",
                            k.name
                        );
                        prop_assert!(close(block[j], qi, vj), "{} block", k.name);
                    }
                }
            }
        }
    }
}
