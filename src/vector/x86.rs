//! x86-64 SIMD kernels: AVX-512F (16 lanes) and AVX2+FMA (8 lanes).
//!
//! The `unsafe` kernels assume their CPU features; the only way to reach them
//! is through the safe wrappers, and the only way to reach the wrappers is a
//! [`Kernels`] table returned by [`avx2`] or [`avx512`] after run-time
//! detection has confirmed those features. The wrappers check slice lengths
//! so the raw-pointer kernels never read out of bounds.

// Inside the kernels, register-only intrinsics are safe calls (the
// enclosing `#[target_feature]` enables them); what stays `unsafe` is raw
// pointer arithmetic, loads, stores and prefetches, each in a block whose
// SAFETY comment gives the bound it relies on. The helpers that touch no
// memory are safe `#[target_feature]` fns, callable only from kernels that
// enable the same features.

use std::arch::x86_64::*;

use super::{
    bounded_shape, dot_tile_by_packing, interleave_queries, packed_shape, Kernels, PackedRows,
    QueryBounds, PANEL,
};

/// The AVX2+FMA kernel set, if this CPU has both features.
pub fn avx2() -> Option<Kernels> {
    if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
        Some(Kernels {
            name: "avx2",
            dot: avx2_dot,
            dot_block: avx2_dot_block,
            dot_tile: avx2_dot_tile,
            dot_tile_packed: avx2_dot_tile_packed,
            dot_tile_bounded: avx2_dot_tile_bounded,
            bits_scores: super::x86_bits::avx2_scores,
            hamming: super::x86_bits::hamming_popcnt(),
            dot_u8: super::x86_sq8::avx2_dot_u8,
            rotate: super::x86_rotate::avx2_rotate,
            sign_bits: super::x86_rotate::avx2_sign_bits,
        })
    } else {
        None
    }
}

/// The AVX-512F kernel set, if this CPU has it. AVX2 and FMA are checked too
/// because the horizontal sums use 256-bit instructions.
pub fn avx512() -> Option<Kernels> {
    if is_x86_feature_detected!("avx512f")
        && is_x86_feature_detected!("avx2")
        && is_x86_feature_detected!("fma")
    {
        Some(Kernels {
            name: "avx512",
            dot: avx512_dot,
            dot_block: avx512_dot_block,
            dot_tile: avx512_dot_tile,
            dot_tile_packed: avx512_dot_tile_packed,
            dot_tile_bounded: avx512_dot_tile_bounded,
            // Native 64-bit popcount came after AVX-512F (Ice Lake, Zen 4);
            // without it the AVX2 table popcount is the faster choice.
            bits_scores: if super::x86_bits::has_avx512_popcnt() {
                super::x86_bits::avx512_scores
            } else {
                super::x86_bits::avx2_scores
            },
            hamming: if super::x86_bits::has_avx512_popcnt() {
                super::x86_bits::avx512_hamming
            } else {
                super::x86_bits::hamming_popcnt()
            },
            dot_u8: if super::x86_sq8::has_avx512bw() {
                super::x86_sq8::avx512_dot_u8
            } else {
                super::x86_sq8::avx2_dot_u8
            },
            rotate: super::x86_rotate::avx512_rotate,
            sign_bits: super::x86_rotate::avx512_sign_bits,
        })
    } else {
        None
    }
}

fn avx2_dot(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len(), "dot: length mismatch");
    // SAFETY: reachable only via `avx2()`, which detected AVX2 and FMA; both
    // pointers are valid for `a.len()` reads.
    unsafe { v256::dot(a.as_ptr(), b.as_ptr(), a.len()) }
}

fn avx2_dot_block(query: &[f32], block: &[f32], out: &mut [f32]) {
    let dim = query.len();
    assert_eq!(
        block.len(),
        dim * out.len(),
        "dot_block: block size mismatch"
    );
    // SAFETY: features detected as above; `block` holds `out.len()` rows of `dim`.
    unsafe { v256::dot_block(query.as_ptr(), block.as_ptr(), dim, out) }
}

fn avx2_dot_tile(queries: &[f32], vectors: &[f32], dim: usize, out: &mut [f32]) {
    dot_tile_by_packing(
        queries,
        vectors,
        dim,
        out,
        avx2_dot_tile_packed,
        avx2_dot_block,
    )
}

fn avx2_dot_tile_packed(queries: &[f32], rows: &PackedRows, out: &mut [f32]) {
    let (nq, nv, dim) = packed_shape(queries, rows, out);
    if nq == 0 || nv == 0 {
        return;
    }
    // SAFETY: features detected as above; `packed_shape` checked that the
    // queries hold `nq` rows of `dim`, `out` holds `nq * nv` scores and the
    // packed buffer holds whole panels.
    unsafe { v256::dot_tile_packed(queries.as_ptr(), nq, rows.as_slice().as_ptr(), nv, dim, out) }
}

fn avx2_dot_tile_bounded(
    queries: &[f32],
    rows: &PackedRows,
    bounds: &QueryBounds,
    out: &mut [f32],
) {
    let (nq, nv, _) = bounded_shape(queries, rows, bounds, out);
    if nq == 0 || nv == 0 {
        return;
    }
    // SAFETY: features detected as above; `bounded_shape` checked, beyond
    // `packed_shape`, that the bounds hold `nq` limits and margins and
    // `nq * checks` query residuals, and the rows `panels * checks * PANEL`.
    unsafe { v256::dot_tile_bounded(queries.as_ptr(), nq, rows, bounds, out) }
}

fn avx512_dot(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len(), "dot: length mismatch");
    // SAFETY: reachable only via `avx512()`, which detected AVX-512F, AVX2
    // and FMA; both pointers are valid for `a.len()` reads.
    unsafe { v512::dot(a.as_ptr(), b.as_ptr(), a.len()) }
}

fn avx512_dot_block(query: &[f32], block: &[f32], out: &mut [f32]) {
    let dim = query.len();
    assert_eq!(
        block.len(),
        dim * out.len(),
        "dot_block: block size mismatch"
    );
    // SAFETY: features detected as above; `block` holds `out.len()` rows of `dim`.
    unsafe { v512::dot_block(query.as_ptr(), block.as_ptr(), dim, out) }
}

fn avx512_dot_tile(queries: &[f32], vectors: &[f32], dim: usize, out: &mut [f32]) {
    dot_tile_by_packing(
        queries,
        vectors,
        dim,
        out,
        avx512_dot_tile_packed,
        avx512_dot_block,
    )
}

fn avx512_dot_tile_packed(queries: &[f32], rows: &PackedRows, out: &mut [f32]) {
    let (nq, nv, dim) = packed_shape(queries, rows, out);
    if nq == 0 || nv == 0 {
        return;
    }
    // SAFETY: as for `avx2_dot_tile_packed`, with AVX-512F detected.
    unsafe { v512::dot_tile_packed(queries.as_ptr(), nq, rows.as_slice().as_ptr(), nv, dim, out) }
}

fn avx512_dot_tile_bounded(
    queries: &[f32],
    rows: &PackedRows,
    bounds: &QueryBounds,
    out: &mut [f32],
) {
    let (nq, nv, _) = bounded_shape(queries, rows, bounds, out);
    if nq == 0 || nv == 0 {
        return;
    }
    // SAFETY: as for `avx2_dot_tile_bounded`, with AVX-512F detected.
    unsafe { v512::dot_tile_bounded(queries.as_ptr(), nq, rows, bounds, out) }
}

/// The bound tests of one block of queries (see [`Kernels::dot_tile_bounded`]):
/// pointers to the block's first query's residuals (`checks.len()` a query),
/// limit and margin.
#[derive(Clone, Copy)]
struct Tests<'a> {
    checks: &'a [usize],
    residual: *const f32,
    limit: *const f32,
    margin: *const f32,
}

impl<'a> Tests<'a> {
    /// The tests of queries `i..` of `bounds`, whose checkpoints are `checks`.
    ///
    /// # Safety
    /// `i` is below the number of queries `bounds` covers.
    unsafe fn at(bounds: &QueryBounds, checks: &'a [usize], i: usize) -> Self {
        // SAFETY: `i < nq`, and the slices hold `nq` and `nq * checks`
        // elements, so every offset stays inside them.
        unsafe {
            Tests {
                checks,
                residual: bounds.residual.as_ptr().add(i * checks.len()),
                limit: bounds.limit.as_ptr().add(i),
                margin: bounds.margin.as_ptr().add(i),
            }
        }
    }
}

/// Runs `$run::<M>($args)` for the `M` in `1..=$max` equal to `$m`, so the
/// query-block remainder gets a kernel with its accumulators in registers.
macro_rules! dispatch_rows {
    ($m:expr, $run:ident, [$($n:literal),*], $args:tt) => {
        match $m {
            $($n => $run::<$n> $args,)*
            m => unreachable!("query block of {m}"),
        }
    };
}

/// How far ahead `dot_block` prefetches, in rows. The hardware prefetcher
/// follows one stream well but four interleaved row streams less so.
const PREFETCH_ROWS: usize = 8;

/// Sums the four 256-bit vectors into `[Σv0, Σv1, Σv2, Σv3]`; three `hadd`s
/// reduce four accumulators at once instead of one at a time.
#[inline]
#[target_feature(enable = "avx2")]
fn hsum4_256(v0: __m256, v1: __m256, v2: __m256, v3: __m256) -> __m128 {
    let h01 = _mm256_hadd_ps(v0, v1);
    let h23 = _mm256_hadd_ps(v2, v3);
    let h = _mm256_hadd_ps(h01, h23);
    _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps::<1>(h))
}

mod v256 {
    use super::*;

    const W: usize = 8;

    #[inline]
    #[target_feature(enable = "avx2,fma")]
    fn hsum(v: __m256) -> f32 {
        let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
        let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
        let s = _mm_add_ss(s, _mm_shuffle_ps::<1>(s, s));
        _mm_cvtss_f32(s)
    }

    /// Lane mask for the `rem < 8` trailing elements; `maskload` never
    /// touches masked-off lanes, so the tail reads stay inside the slice.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    fn tail_mask(rem: usize) -> __m256i {
        _mm256_cmpgt_epi32(
            _mm256_set1_epi32(rem as i32),
            _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
        )
    }

    /// # Safety
    /// AVX2 and FMA are available (reached only through the [`avx2`] and
    /// [`avx512`] tables); `a` and `b` are valid for `n` reads.
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn dot(a: *const f32, b: *const f32, n: usize) -> f32 {
        // Four accumulators hide the FMA latency (4 cycles, 2 per cycle).
        let mut acc = [_mm256_setzero_ps(); 4];
        let mut i = 0;
        while i + 4 * W <= n {
            for (k, acc) in acc.iter_mut().enumerate() {
                // SAFETY: reads elements `i + k * W .. i + (k + 1) * W`, all
                // below `i + 4 * W <= n`.
                let (x, y) = unsafe {
                    (
                        _mm256_loadu_ps(a.add(i + k * W)),
                        _mm256_loadu_ps(b.add(i + k * W)),
                    )
                };
                *acc = _mm256_fmadd_ps(x, y, *acc);
            }
            i += 4 * W;
        }
        while i + W <= n {
            // SAFETY: reads elements `i..i + W`, with `i + W <= n`.
            let (x, y) = unsafe { (_mm256_loadu_ps(a.add(i)), _mm256_loadu_ps(b.add(i))) };
            acc[0] = _mm256_fmadd_ps(x, y, acc[0]);
            i += W;
        }
        if i < n {
            let m = tail_mask(n - i);
            // SAFETY: `i < n`, and the mask enables only the `n - i` lanes
            // below `n`; `maskload` does not touch the others.
            let (x, y) = unsafe {
                (
                    _mm256_maskload_ps(a.add(i), m),
                    _mm256_maskload_ps(b.add(i), m),
                )
            };
            acc[1] = _mm256_fmadd_ps(x, y, acc[1]);
        }
        hsum(_mm256_add_ps(
            _mm256_add_ps(acc[0], acc[1]),
            _mm256_add_ps(acc[2], acc[3]),
        ))
    }

    /// # Safety
    /// AVX2 and FMA are available; `q` is valid for `dim` reads and `block`
    /// for `out.len() * dim` reads (`out.len()` rows of `dim`).
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn dot_block(q: *const f32, block: *const f32, dim: usize, out: &mut [f32]) {
        let rows = out.len();
        if dim == 0 {
            out.fill(0.0);
            return;
        }
        let full = dim / W * W;
        let m = tail_mask(dim - full);
        let mut r = 0;
        // Four rows per pass share each query load, so the loop is bound by
        // the row stream rather than by loads.
        while r + 4 <= rows {
            // SAFETY: rows `r..r + 4` are inside the block (`r + 4 <= rows`);
            // the prefetch row `r + PREFETCH_ROWS` only when it is too, else
            // `base` again. (Pointers only; nothing is read here.)
            let (base, pf) = unsafe {
                let base = block.add(r * dim);
                let pf = if r + 4 + PREFETCH_ROWS <= rows {
                    base.add(PREFETCH_ROWS * dim)
                } else {
                    base
                };
                (base, pf)
            };
            // Two vectors per row per step: eight independent FMA chains and
            // one prefetch per 64-byte line.
            let mut acc = [_mm256_setzero_ps(); 4];
            let mut acc2 = [_mm256_setzero_ps(); 4];
            let mut i = 0;
            while i + 2 * W <= full {
                // SAFETY: query elements `i..i + 2W <= full <= dim`.
                let (q0, q1) =
                    unsafe { (_mm256_loadu_ps(q.add(i)), _mm256_loadu_ps(q.add(i + W))) };
                for k in 0..4 {
                    // SAFETY: elements `i..i + 2W <= dim` of row `r + k`,
                    // which is inside the block; the prefetch address is in
                    // the block too (and a prefetch never faults).
                    let (x0, x1) = unsafe {
                        let p = base.add(k * dim + i);
                        _mm_prefetch::<_MM_HINT_T0>(pf.add(k * dim + i) as *const i8);
                        (_mm256_loadu_ps(p), _mm256_loadu_ps(p.add(W)))
                    };
                    acc[k] = _mm256_fmadd_ps(q0, x0, acc[k]);
                    acc2[k] = _mm256_fmadd_ps(q1, x1, acc2[k]);
                }
                i += 2 * W;
            }
            if i < full {
                // SAFETY: elements `i..i + W <= full` of the query and rows.
                let qv = unsafe { _mm256_loadu_ps(q.add(i)) };
                for (k, acc) in acc.iter_mut().enumerate() {
                    // SAFETY: as above, row `r + k` of the block.
                    let x = unsafe { _mm256_loadu_ps(base.add(k * dim + i)) };
                    *acc = _mm256_fmadd_ps(qv, x, *acc);
                }
            }
            for (acc, acc2) in acc.iter_mut().zip(acc2) {
                *acc = _mm256_add_ps(*acc, acc2);
            }
            if full < dim {
                // SAFETY: the mask enables only the `dim - full` lanes below
                // `dim`; `maskload` does not touch the others.
                let qv = unsafe { _mm256_maskload_ps(q.add(full), m) };
                for (k, acc) in acc.iter_mut().enumerate() {
                    // SAFETY: as above, in row `r + k` of the block.
                    let x = unsafe { _mm256_maskload_ps(base.add(k * dim + full), m) };
                    *acc = _mm256_fmadd_ps(qv, x, *acc);
                }
            }
            let sums = hsum4_256(acc[0], acc[1], acc[2], acc[3]);
            // SAFETY: writes `out[r..r + 4]`, and `r + 4 <= rows = out.len()`.
            unsafe { _mm_storeu_ps(out.as_mut_ptr().add(r), sums) };
            r += 4;
        }
        while r < rows {
            // SAFETY: row `r < rows` holds `dim` elements; features as ours.
            out[r] = unsafe { dot(q, block.add(r * dim), dim) };
            r += 1;
        }
    }

    /// Queries per AVX2 block: 6 queries × 2 ymm (one panel) = 12
    /// accumulators, plus 2 row registers and a broadcast: 15 of 16 ymm.
    const MR: usize = 6;

    /// `M` queries × one panel of 16 rows: for each dimension, two loads of
    /// the panel line and `M` broadcasts feed `2 * M` FMAs; each accumulator
    /// lane is one score, so there is nothing to reduce. `q` holds the `M`
    /// queries interleaved (see `interleave_queries`). Stores the first
    /// `valid` rows of the panel.
    ///
    /// # Safety
    /// AVX2 and FMA are available; `q` is valid for `M * dim` reads,
    /// `panel` for `PANEL * dim` reads, and `out` for writes of the first
    /// `min(valid, PANEL)` elements of `M` rows `nv` apart.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn micro<const M: usize>(
        q: *const f32,
        dim: usize,
        panel: *const f32,
        out: *mut f32,
        nv: usize,
        valid: usize,
    ) {
        let mut acc = [[_mm256_setzero_ps(); 2]; M];
        for d in 0..dim {
            // SAFETY: line `d < dim` of the panel, `PANEL = 2W` elements.
            let (b0, b1) = unsafe {
                (
                    _mm256_loadu_ps(panel.add(d * PANEL)),
                    _mm256_loadu_ps(panel.add(d * PANEL + W)),
                )
            };
            for (m, acc) in acc.iter_mut().enumerate() {
                // SAFETY: element `d * M + m < M * dim` of the queries.
                let a = _mm256_broadcast_ss(unsafe { &*q.add(d * M + m) });
                acc[0] = _mm256_fmadd_ps(a, b0, acc[0]);
                acc[1] = _mm256_fmadd_ps(a, b1, acc[1]);
            }
        }
        for (m, acc) in acc.iter().enumerate() {
            // SAFETY: the start of output row `m < M`.
            let o = unsafe { out.add(m * nv) };
            for (h, v) in acc.iter().enumerate() {
                let lanes = valid.saturating_sub(h * W).min(W);
                // SAFETY: lanes `h * W .. h * W + lanes` of the row, all
                // below `min(valid, PANEL)`; the pointer is formed only when
                // some lane is stored, and the mask store touches only the
                // enabled lanes.
                unsafe {
                    if lanes == W {
                        _mm256_storeu_ps(o.add(h * W), *v);
                    } else if lanes > 0 {
                        _mm256_maskstore_ps(o.add(h * W), tail_mask(lanes), *v);
                    }
                }
            }
        }
    }

    /// One block of `M` interleaved queries against every panel; the block
    /// stays in L1 while the packed tile streams from L2.
    ///
    /// # Safety
    /// AVX2 and FMA are available; `q` is valid for `M * dim` reads,
    /// `packed` holds the whole panels covering `nv` rows of `dim`, and `out`
    /// is valid for writes of `M` rows of `nv`.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn block<const M: usize>(
        q: *const f32,
        dim: usize,
        packed: *const f32,
        nv: usize,
        out: *mut f32,
    ) {
        let mut j = 0;
        while j < nv {
            // SAFETY: panel `j / PANEL` is whole inside `packed` because
            // `j < nv`; its outputs start at column `j < nv` and `micro`
            // writes at most `nv - j` of them per row.
            unsafe { micro::<M>(q, dim, packed.add(j * dim), out.add(j), nv, nv - j) };
            j += PANEL;
        }
    }

    /// Adds terms `d0..d1` of `M` interleaved queries times one panel to
    /// the accumulators, one fused multiply-add a lane a term, in order.
    /// Not inlined: in `micro_bounded` the bound tests need more than the
    /// 16 ymm registers beside the 12 accumulators, and inlined, the
    /// compiler spilled accumulators inside this loop; as a call, they are
    /// loaded once and stored once around it.
    ///
    /// # Safety
    /// AVX2 and FMA are available; `d1 <= dim` of the `M * dim` queries at
    /// `q` and of the `PANEL * dim` panel at `panel`.
    #[inline(never)]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn accumulate<const M: usize>(
        acc: &mut [[__m256; 2]; M],
        q: *const f32,
        panel: *const f32,
        d0: usize,
        d1: usize,
    ) {
        for d in d0..d1 {
            // SAFETY: line `d < dim` of the panel, `PANEL = 2W` elements.
            let (b0, b1) = unsafe {
                (
                    _mm256_loadu_ps(panel.add(d * PANEL)),
                    _mm256_loadu_ps(panel.add(d * PANEL + W)),
                )
            };
            for (m, acc) in acc.iter_mut().enumerate() {
                // SAFETY: element `d * M + m < M * dim` of the queries.
                let a = _mm256_broadcast_ss(unsafe { &*q.add(d * M + m) });
                acc[0] = _mm256_fmadd_ps(a, b0, acc[0]);
                acc[1] = _mm256_fmadd_ps(a, b1, acc[1]);
            }
        }
    }

    /// Stores the first `valid` lanes of each of the `M` score rows.
    ///
    /// # Safety
    /// AVX2 is available; `out` is valid for writes of the first
    /// `min(valid, PANEL)` elements of `M` rows `nv` apart.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn store<const M: usize>(
        acc: &[[__m256; 2]; M],
        out: *mut f32,
        nv: usize,
        valid: usize,
    ) {
        for (m, acc) in acc.iter().enumerate() {
            // SAFETY: the start of output row `m < M`.
            let o = unsafe { out.add(m * nv) };
            for (h, v) in acc.iter().enumerate() {
                let lanes = valid.saturating_sub(h * W).min(W);
                // SAFETY: lanes `h * W .. h * W + lanes` of the row, all
                // below `min(valid, PANEL)`; the mask store touches only the
                // enabled lanes.
                unsafe {
                    if lanes == W {
                        _mm256_storeu_ps(o.add(h * W), *v);
                    } else if lanes > 0 {
                        _mm256_maskstore_ps(o.add(h * W), tail_mask(lanes), *v);
                    }
                }
            }
        }
    }

    /// `micro` with the bound tests: at each checkpoint the block gives up,
    /// storing `−∞`, when no lane can reach its query's limit. The sums are
    /// `micro`'s, term for term, so the scores it keeps are `micro`'s bits.
    ///
    /// # Safety
    /// As `micro`; besides, `res` is valid for `checks * PANEL` reads (this
    /// panel's residuals) and `t` points at `M` queries' tests.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    #[allow(clippy::too_many_arguments)]
    unsafe fn micro_bounded<const M: usize>(
        q: *const f32,
        dim: usize,
        panel: *const f32,
        res: *const f32,
        t: Tests,
        out: *mut f32,
        nv: usize,
        valid: usize,
    ) {
        let nj = t.checks.len();
        let mut acc = [[_mm256_setzero_ps(); 2]; M];
        let mut d = 0;
        for (j, &c) in t.checks.iter().enumerate() {
            // SAFETY: `c < dim`, within the queries and panel.
            unsafe { accumulate::<M>(&mut acc, q, panel, d, c) };
            d = c;
            // SAFETY: line `j < checks` of this panel's residuals.
            let (x0, x1) = unsafe {
                (
                    _mm256_loadu_ps(res.add(j * PANEL)),
                    _mm256_loadu_ps(res.add(j * PANEL + W)),
                )
            };
            let mut live = _mm256_setzero_ps();
            for (m, acc) in acc.iter().enumerate() {
                // SAFETY: query `m < M` of the block's tests.
                let (rq, margin, limit) = unsafe {
                    (
                        _mm256_broadcast_ss(&*t.residual.add(m * nj + j)),
                        _mm256_broadcast_ss(&*t.margin.add(m)),
                        _mm256_broadcast_ss(&*t.limit.add(m)),
                    )
                };
                let b0 = _mm256_add_ps(_mm256_fmadd_ps(rq, x0, acc[0]), margin);
                let b1 = _mm256_add_ps(_mm256_fmadd_ps(rq, x1, acc[1]), margin);
                // "Not less than", true for NaN: only a proven lane is dropped.
                let keep = _mm256_or_ps(
                    _mm256_cmp_ps::<_CMP_NLT_UQ>(b0, limit),
                    _mm256_cmp_ps::<_CMP_NLT_UQ>(b1, limit),
                );
                live = _mm256_or_ps(live, keep);
            }
            if _mm256_movemask_ps(live) == 0 {
                let none = [[_mm256_set1_ps(f32::NEG_INFINITY); 2]; M];
                // SAFETY: the caller's bound on `out`.
                unsafe { store::<M>(&none, out, nv, valid) };
                return;
            }
        }
        // SAFETY: terms `d..dim` of the queries and panel.
        unsafe {
            accumulate::<M>(&mut acc, q, panel, d, dim);
            store::<M>(&acc, out, nv, valid);
        }
    }

    /// `block` with the bound tests, one panel a block.
    ///
    /// # Safety
    /// As `block`; besides, `res` holds `checks * PANEL` residuals a panel
    /// for every panel, and `t` points at `M` queries' tests.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn block_bounded<const M: usize>(
        q: *const f32,
        dim: usize,
        packed: *const f32,
        res: *const f32,
        t: Tests,
        nv: usize,
        out: *mut f32,
    ) {
        let step = t.checks.len() * PANEL;
        let mut j = 0;
        while j < nv {
            // SAFETY: panel `j / PANEL` is whole inside `packed`, its
            // residuals inside `res`, and its outputs as in `block`.
            unsafe {
                micro_bounded::<M>(
                    q,
                    dim,
                    packed.add(j * dim),
                    res.add(j / PANEL * step),
                    t,
                    out.add(j),
                    nv,
                    nv - j,
                )
            };
            j += PANEL;
        }
    }

    /// # Safety
    /// AVX2 and FMA are available; `q` is valid for `nq * dim` reads, and
    /// `bounded_shape` has checked `rows`, `bounds` and `out` against `nq`.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn dot_tile_bounded(
        q: *const f32,
        nq: usize,
        rows: &PackedRows,
        bounds: &QueryBounds,
        out: &mut [f32],
    ) {
        let (nv, dim) = (rows.rows(), rows.dim());
        let (packed, res) = (rows.as_slice().as_ptr(), rows.residuals().as_ptr());
        let o = out.as_mut_ptr();
        let mut block_q = vec![0.0f32; MR * dim];
        let mut i = 0;
        while i < nq {
            let m = (nq - i).min(MR);
            let qb = &mut block_q[..m * dim];
            // SAFETY: queries `i..i + m <= nq`, `m * dim` elements.
            let queries = unsafe { std::slice::from_raw_parts(q.add(i * dim), m * dim) };
            interleave_queries(queries, m, dim, qb);
            // SAFETY: output rows `i..i + m <= nq` of `nv`; `qb` holds the
            // `m` interleaved queries; `i < nq` for the tests.
            unsafe {
                let (qi, oi) = (qb.as_ptr(), o.add(i * nv));
                let t = Tests::at(bounds, rows.checks(), i);
                dispatch_rows!(
                    m,
                    block_bounded,
                    [1, 2, 3, 4, 5, 6],
                    (qi, dim, packed, res, t, nv, oi)
                );
            }
            i += m;
        }
    }

    /// # Safety
    /// AVX2 and FMA are available; `q` is valid for `nq * dim` reads,
    /// `packed` holds the whole panels covering `nv` rows of `dim`, and
    /// `out` holds `nq * nv` scores.
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn dot_tile_packed(
        q: *const f32,
        nq: usize,
        packed: *const f32,
        nv: usize,
        dim: usize,
        out: &mut [f32],
    ) {
        let o = out.as_mut_ptr();
        let mut block_q = vec![0.0f32; MR * dim];
        let mut i = 0;
        while i < nq {
            let m = (nq - i).min(MR);
            let qb = &mut block_q[..m * dim];
            // SAFETY: queries `i..i + m <= nq`, `m * dim` elements.
            let queries = unsafe { std::slice::from_raw_parts(q.add(i * dim), m * dim) };
            interleave_queries(queries, m, dim, qb);
            // SAFETY: output rows `i..i + m <= nq` of `nv`; `qb` holds the
            // `m` interleaved queries `block::<m>` reads.
            unsafe {
                let (qi, oi) = (qb.as_ptr(), o.add(i * nv));
                dispatch_rows!(m, block, [1, 2, 3, 4, 5, 6], (qi, dim, packed, nv, oi));
            }
            i += m;
        }
    }
}

mod v512 {
    use super::*;

    const W: usize = 16;

    /// Lanes below `rem`; masked loads suppress faults on the other lanes,
    /// so tails need no scalar loop.
    #[inline]
    fn tail_mask(rem: usize) -> __mmask16 {
        ((1u32 << rem) - 1) as __mmask16
    }

    /// Folds a 512-bit accumulator to 256 bits (AVX-512F only, no DQ).
    #[inline]
    #[target_feature(enable = "avx512f,avx2,fma")]
    fn fold(v: __m512) -> __m256 {
        let hi = _mm256_castpd_ps(_mm512_extractf64x4_pd::<1>(_mm512_castps_pd(v)));
        _mm256_add_ps(_mm512_castps512_ps256(v), hi)
    }

    #[inline]
    #[target_feature(enable = "avx512f,avx2,fma")]
    fn hsum4(v: &[__m512; 4]) -> __m128 {
        hsum4_256(fold(v[0]), fold(v[1]), fold(v[2]), fold(v[3]))
    }

    /// # Safety
    /// AVX-512F, AVX2 and FMA are available (reached only through the
    /// [`avx512`] table); `a` and `b` are valid for `n` reads.
    #[target_feature(enable = "avx512f,avx2,fma")]
    pub unsafe fn dot(a: *const f32, b: *const f32, n: usize) -> f32 {
        let mut acc = [_mm512_setzero_ps(); 4];
        let mut i = 0;
        while i + 4 * W <= n {
            for (k, acc) in acc.iter_mut().enumerate() {
                // SAFETY: reads elements `i + k * W .. i + (k + 1) * W`, all
                // below `i + 4 * W <= n`.
                let (x, y) = unsafe {
                    (
                        _mm512_loadu_ps(a.add(i + k * W)),
                        _mm512_loadu_ps(b.add(i + k * W)),
                    )
                };
                *acc = _mm512_fmadd_ps(x, y, *acc);
            }
            i += 4 * W;
        }
        while i + W <= n {
            // SAFETY: reads elements `i..i + W`, with `i + W <= n`.
            let (x, y) = unsafe { (_mm512_loadu_ps(a.add(i)), _mm512_loadu_ps(b.add(i))) };
            acc[0] = _mm512_fmadd_ps(x, y, acc[0]);
            i += W;
        }
        if i < n {
            let m = tail_mask(n - i);
            // SAFETY: `i < n`, and the mask enables only the `n - i` lanes
            // below `n`; masked-off lanes are not read (nor fault).
            let (x, y) = unsafe {
                (
                    _mm512_maskz_loadu_ps(m, a.add(i)),
                    _mm512_maskz_loadu_ps(m, b.add(i)),
                )
            };
            acc[1] = _mm512_fmadd_ps(x, y, acc[1]);
        }
        _mm512_reduce_add_ps(_mm512_add_ps(
            _mm512_add_ps(acc[0], acc[1]),
            _mm512_add_ps(acc[2], acc[3]),
        ))
    }

    /// # Safety
    /// AVX-512F, AVX2 and FMA are available; `q` is valid for `dim` reads
    /// and `block` for `out.len() * dim` reads (`out.len()` rows of `dim`).
    #[target_feature(enable = "avx512f,avx2,fma")]
    pub unsafe fn dot_block(q: *const f32, block: *const f32, dim: usize, out: &mut [f32]) {
        let rows = out.len();
        if dim == 0 {
            out.fill(0.0);
            return;
        }
        let full = dim / W * W;
        let m = tail_mask(dim - full);
        let mut r = 0;
        // Four rows per pass share each query load (see the AVX2 version).
        while r + 4 <= rows {
            // SAFETY: rows `r..r + 4` are inside the block (`r + 4 <= rows`);
            // the prefetch row `r + PREFETCH_ROWS` only when it is too, else
            // `base` again. (Pointers only; nothing is read here.)
            let (base, pf) = unsafe {
                let base = block.add(r * dim);
                let pf = if r + 4 + PREFETCH_ROWS <= rows {
                    base.add(PREFETCH_ROWS * dim)
                } else {
                    base
                };
                (base, pf)
            };
            let mut acc = [_mm512_setzero_ps(); 4];
            let mut i = 0;
            while i < full {
                // SAFETY: query elements `i..i + W <= full <= dim`.
                let qv = unsafe { _mm512_loadu_ps(q.add(i)) };
                for (k, acc) in acc.iter_mut().enumerate() {
                    // SAFETY: elements `i..i + W <= dim` of row `r + k`,
                    // inside the block; the prefetch address is in the block
                    // too (and a prefetch never faults).
                    let x = unsafe {
                        _mm_prefetch::<_MM_HINT_T0>(pf.add(k * dim + i) as *const i8);
                        _mm512_loadu_ps(base.add(k * dim + i))
                    };
                    *acc = _mm512_fmadd_ps(qv, x, *acc);
                }
                i += W;
            }
            if full < dim {
                // SAFETY: the mask enables only the `dim - full` lanes below
                // `dim`; masked-off lanes are not read (nor fault).
                let qv = unsafe { _mm512_maskz_loadu_ps(m, q.add(full)) };
                for (k, acc) in acc.iter_mut().enumerate() {
                    // SAFETY: as above, in row `r + k` of the block.
                    let x = unsafe { _mm512_maskz_loadu_ps(m, base.add(k * dim + full)) };
                    *acc = _mm512_fmadd_ps(qv, x, *acc);
                }
            }
            let sums = hsum4(&acc);
            // SAFETY: writes `out[r..r + 4]`, and `r + 4 <= rows = out.len()`.
            unsafe { _mm_storeu_ps(out.as_mut_ptr().add(r), sums) };
            r += 4;
        }
        while r < rows {
            // SAFETY: row `r < rows` holds `dim` elements; features as ours.
            out[r] = unsafe { dot(q, block.add(r * dim), dim) };
            r += 1;
        }
    }

    /// Queries per AVX-512 block: 12 queries × 2 panels (32 rows) = 24
    /// accumulators, plus 2 row registers and a broadcast: 27 of 32 zmm.
    /// Each dimension then costs 2 line loads and 12 broadcasts for 24 FMAs.
    const MR: usize = 12;

    /// `M` queries × `NP` panels: for each dimension, `NP` loads of panel
    /// lines and `M` broadcasts feed `M * NP` FMAs, each accumulator lane one
    /// score. `q` holds the `M` queries interleaved (see
    /// `interleave_queries`). Stores the first `valid` of the `NP * 16` rows.
    ///
    /// # Safety
    /// AVX-512F, AVX2 and FMA are available; `q` is valid for `M * dim`
    /// reads, `panel` for `NP * PANEL * dim` reads, and `out` for writes of
    /// the first `min(valid, NP * PANEL)` elements of `M` rows `nv` apart.
    #[inline]
    #[target_feature(enable = "avx512f,avx2,fma")]
    unsafe fn micro<const M: usize, const NP: usize>(
        q: *const f32,
        dim: usize,
        panel: *const f32,
        out: *mut f32,
        nv: usize,
        valid: usize,
    ) {
        let mut acc = [[_mm512_setzero_ps(); NP]; M];
        let stride = PANEL * dim;
        for d in 0..dim {
            let mut b = [_mm512_setzero_ps(); NP];
            for (p, b) in b.iter_mut().enumerate() {
                // SAFETY: line `d < dim` of panel `p < NP`, `PANEL = W`
                // elements.
                *b = unsafe { _mm512_loadu_ps(panel.add(p * stride + d * PANEL)) };
            }
            for (m, acc) in acc.iter_mut().enumerate() {
                // SAFETY: element `d * M + m < M * dim` of the queries.
                let a = _mm512_set1_ps(unsafe { *q.add(d * M + m) });
                for (acc, b) in acc.iter_mut().zip(b) {
                    *acc = _mm512_fmadd_ps(a, b, *acc);
                }
            }
        }
        for (m, acc) in acc.iter().enumerate() {
            // SAFETY: the start of output row `m < M`.
            let o = unsafe { out.add(m * nv) };
            for (p, v) in acc.iter().enumerate() {
                let lanes = valid.saturating_sub(p * W).min(W);
                // SAFETY: lanes `p * W .. p * W + lanes` of the row, all
                // below `min(valid, NP * PANEL)`; the pointer is formed only
                // when some lane is stored, and the mask store touches only
                // the enabled lanes.
                unsafe {
                    if lanes == W {
                        _mm512_storeu_ps(o.add(p * W), *v);
                    } else if lanes > 0 {
                        _mm512_mask_storeu_ps(o.add(p * W), tail_mask(lanes), *v);
                    }
                }
            }
        }
    }

    /// One block of `M` interleaved queries against every panel, two panels
    /// at a time; the block stays in L1 while the packed tile streams from L2.
    ///
    /// # Safety
    /// AVX-512F, AVX2 and FMA are available; `q` is valid for `M * dim`
    /// reads, `packed` holds the whole panels covering `nv` rows of `dim`,
    /// and `out` is valid for writes of `M` rows of `nv`.
    #[inline]
    #[target_feature(enable = "avx512f,avx2,fma")]
    unsafe fn block<const M: usize>(
        q: *const f32,
        dim: usize,
        packed: *const f32,
        nv: usize,
        out: *mut f32,
    ) {
        let mut j = 0;
        while j + PANEL < nv {
            // SAFETY: `j + PANEL < nv`, so panels `j / PANEL` and the next
            // are both whole inside `packed`; outputs start at column `j`
            // and `micro` writes at most `nv - j` per row.
            unsafe { micro::<M, 2>(q, dim, packed.add(j * dim), out.add(j), nv, nv - j) };
            j += 2 * PANEL;
        }
        if j < nv {
            // SAFETY: as above, for the one panel left.
            unsafe { micro::<M, 1>(q, dim, packed.add(j * dim), out.add(j), nv, nv - j) };
        }
    }

    /// `micro` with the bound tests (see the AVX2 `micro_bounded`): at each
    /// checkpoint the `M × NP·16` block gives up, storing `−∞`, when no lane
    /// can reach its query's limit; the scores it keeps are `micro`'s bits.
    ///
    /// # Safety
    /// As `micro`; besides, `res` is valid for `NP * checks * PANEL` reads
    /// (these panels' residuals) and `t` points at `M` queries' tests.
    #[inline]
    #[target_feature(enable = "avx512f,avx2,fma")]
    #[allow(clippy::too_many_arguments)]
    unsafe fn micro_bounded<const M: usize, const NP: usize>(
        q: *const f32,
        dim: usize,
        panel: *const f32,
        res: *const f32,
        t: Tests,
        out: *mut f32,
        nv: usize,
        valid: usize,
    ) {
        let nj = t.checks.len();
        let mut acc = [[_mm512_setzero_ps(); NP]; M];
        let stride = PANEL * dim;
        let mut d = 0;
        for (j, &c) in t.checks.iter().chain(std::iter::once(&dim)).enumerate() {
            while d < c {
                let mut b = [_mm512_setzero_ps(); NP];
                for (p, b) in b.iter_mut().enumerate() {
                    // SAFETY: line `d < dim` of panel `p < NP`.
                    *b = unsafe { _mm512_loadu_ps(panel.add(p * stride + d * PANEL)) };
                }
                for (m, acc) in acc.iter_mut().enumerate() {
                    // SAFETY: element `d * M + m < M * dim` of the queries.
                    let a = _mm512_set1_ps(unsafe { *q.add(d * M + m) });
                    for (acc, b) in acc.iter_mut().zip(b) {
                        *acc = _mm512_fmadd_ps(a, b, *acc);
                    }
                }
                d += 1;
            }
            if j == nj {
                break;
            }
            let mut x = [_mm512_setzero_ps(); NP];
            for (p, x) in x.iter_mut().enumerate() {
                // SAFETY: line `j < checks` of panel `p < NP`'s residuals.
                *x = unsafe { _mm512_loadu_ps(res.add((p * nj + j) * PANEL)) };
            }
            let mut live: __mmask16 = 0;
            for (m, acc) in acc.iter().enumerate() {
                // SAFETY: query `m < M` of the block's tests.
                let (rq, margin, limit) = unsafe {
                    (
                        _mm512_set1_ps(*t.residual.add(m * nj + j)),
                        _mm512_set1_ps(*t.margin.add(m)),
                        _mm512_set1_ps(*t.limit.add(m)),
                    )
                };
                for (acc, x) in acc.iter().zip(x) {
                    let b = _mm512_add_ps(_mm512_fmadd_ps(rq, x, *acc), margin);
                    // "Not less than", true for NaN: only a proven lane is dropped.
                    live |= _mm512_cmp_ps_mask::<_CMP_NLT_UQ>(b, limit);
                }
            }
            if live == 0 {
                acc = [[_mm512_set1_ps(f32::NEG_INFINITY); NP]; M];
                break;
            }
        }
        for (m, acc) in acc.iter().enumerate() {
            // SAFETY: the start of output row `m < M`.
            let o = unsafe { out.add(m * nv) };
            for (p, v) in acc.iter().enumerate() {
                let lanes = valid.saturating_sub(p * W).min(W);
                // SAFETY: lanes `p * W .. p * W + lanes` of the row, all
                // below `min(valid, NP * PANEL)`; the mask store touches only
                // the enabled lanes.
                unsafe {
                    if lanes == W {
                        _mm512_storeu_ps(o.add(p * W), *v);
                    } else if lanes > 0 {
                        _mm512_mask_storeu_ps(o.add(p * W), tail_mask(lanes), *v);
                    }
                }
            }
        }
    }

    /// `block` with the bound tests, one panel a block: 12 queries × 16
    /// rows is one more load per 12 multiply-adds than two panels, but a
    /// block half as wide is dropped far more often (every lane must fail).
    ///
    /// # Safety
    /// As `block`; besides, `res` holds `checks * PANEL` residuals a panel
    /// for every panel, and `t` points at `M` queries' tests.
    #[inline]
    #[target_feature(enable = "avx512f,avx2,fma")]
    unsafe fn block_bounded<const M: usize>(
        q: *const f32,
        dim: usize,
        packed: *const f32,
        res: *const f32,
        t: Tests,
        nv: usize,
        out: *mut f32,
    ) {
        let step = t.checks.len() * PANEL;
        let mut j = 0;
        while j < nv {
            // SAFETY: panel `j / PANEL` is whole inside `packed` and its
            // residuals inside `res` (`j < nv`); outputs as in `block`.
            unsafe {
                micro_bounded::<M, 1>(
                    q,
                    dim,
                    packed.add(j * dim),
                    res.add(j / PANEL * step),
                    t,
                    out.add(j),
                    nv,
                    nv - j,
                )
            };
            j += PANEL;
        }
    }

    /// # Safety
    /// AVX-512F, AVX2 and FMA are available; `q` is valid for `nq * dim`
    /// reads, and `bounded_shape` has checked `rows`, `bounds` and `out`
    /// against `nq`.
    #[target_feature(enable = "avx512f,avx2,fma")]
    pub(super) unsafe fn dot_tile_bounded(
        q: *const f32,
        nq: usize,
        rows: &PackedRows,
        bounds: &QueryBounds,
        out: &mut [f32],
    ) {
        let (nv, dim) = (rows.rows(), rows.dim());
        let (packed, res) = (rows.as_slice().as_ptr(), rows.residuals().as_ptr());
        let o = out.as_mut_ptr();
        let mut block_q = vec![0.0f32; MR * dim];
        let mut i = 0;
        while i < nq {
            let m = (nq - i).min(MR);
            let qb = &mut block_q[..m * dim];
            // SAFETY: queries `i..i + m <= nq`, `m * dim` elements.
            let queries = unsafe { std::slice::from_raw_parts(q.add(i * dim), m * dim) };
            interleave_queries(queries, m, dim, qb);
            // SAFETY: output rows `i..i + m <= nq` of `nv`; `qb` holds the
            // `m` interleaved queries; `i < nq` for the tests.
            unsafe {
                let (qi, oi) = (qb.as_ptr(), o.add(i * nv));
                let t = Tests::at(bounds, rows.checks(), i);
                dispatch_rows!(
                    m,
                    block_bounded,
                    [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12],
                    (qi, dim, packed, res, t, nv, oi)
                );
            }
            i += m;
        }
    }

    /// # Safety
    /// AVX-512F, AVX2 and FMA are available; `q` is valid for `nq * dim`
    /// reads, `packed` holds the whole panels covering `nv` rows of `dim`,
    /// and `out` holds `nq * nv` scores.
    #[target_feature(enable = "avx512f,avx2,fma")]
    pub unsafe fn dot_tile_packed(
        q: *const f32,
        nq: usize,
        packed: *const f32,
        nv: usize,
        dim: usize,
        out: &mut [f32],
    ) {
        let o = out.as_mut_ptr();
        let mut block_q = vec![0.0f32; MR * dim];
        let mut i = 0;
        while i < nq {
            let m = (nq - i).min(MR);
            let qb = &mut block_q[..m * dim];
            // SAFETY: queries `i..i + m <= nq`, `m * dim` elements.
            let queries = unsafe { std::slice::from_raw_parts(q.add(i * dim), m * dim) };
            interleave_queries(queries, m, dim, qb);
            // SAFETY: output rows `i..i + m <= nq` of `nv`; `qb` holds the
            // `m` interleaved queries `block::<m>` reads.
            unsafe {
                let (qi, oi) = (qb.as_ptr(), o.add(i * nv));
                dispatch_rows!(
                    m,
                    block,
                    [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12],
                    (qi, dim, packed, nv, oi)
                );
            }
            i += m;
        }
    }
}
