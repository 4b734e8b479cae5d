//! x86-64 SIMD kernels: AVX-512F (16 lanes) and AVX2+FMA (8 lanes).
//!
//! The `unsafe` kernels assume their CPU features; the only way to reach them
//! is through the safe wrappers, and the only way to reach the wrappers is a
//! [`Kernels`] table returned by [`avx2`] or [`avx512`] after run-time
//! detection has confirmed those features. The wrappers check slice lengths
//! so the raw-pointer kernels never read out of bounds.

use std::arch::x86_64::*;

use super::{tile_shape, Kernels};

/// The AVX2+FMA kernel set, if this CPU has both features.
pub fn avx2() -> Option<Kernels> {
    if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
        Some(Kernels {
            name: "avx2",
            dot: avx2_dot,
            dot_block: avx2_dot_block,
            dot_tile: avx2_dot_tile,
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
    let Some((nq, nv)) = tile_shape(queries, vectors, dim, out) else {
        return;
    };
    // SAFETY: features detected as above; `tile_shape` checked every length.
    unsafe { v256::dot_tile(queries.as_ptr(), nq, vectors.as_ptr(), nv, dim, out) }
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
    let Some((nq, nv)) = tile_shape(queries, vectors, dim, out) else {
        return;
    };
    // SAFETY: features detected as above; `tile_shape` checked every length.
    unsafe { v512::dot_tile(queries.as_ptr(), nq, vectors.as_ptr(), nv, dim, out) }
}

/// Bytes of rows `dot_tile` keeps hot in L1 while every query block passes
/// over them: a third of a 48 KiB L1d, leaving room for the query block.
const TILE_L1_BYTES: usize = 16 * 1024;

/// Rows per L1 chunk in `dot_tile`: a multiple of 4 so only the tile's last
/// chunk has leftover rows.
fn tile_chunk_rows(dim: usize) -> usize {
    (TILE_L1_BYTES / (dim * 4) / 4 * 4).max(4)
}

/// How far ahead `dot_block` prefetches, in rows. The hardware prefetcher
/// follows one stream well but four interleaved row streams less so.
const PREFETCH_ROWS: usize = 8;

/// Sums the four 256-bit vectors into `[Σv0, Σv1, Σv2, Σv3]`; three `hadd`s
/// reduce four accumulators at once instead of one at a time.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn hsum4_256(v0: __m256, v1: __m256, v2: __m256, v3: __m256) -> __m128 {
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
    unsafe fn hsum(v: __m256) -> f32 {
        let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
        let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
        let s = _mm_add_ss(s, _mm_shuffle_ps::<1>(s, s));
        _mm_cvtss_f32(s)
    }

    /// Lane mask for the `rem < 8` trailing elements; `maskload` never
    /// touches masked-off lanes, so the tail reads stay inside the slice.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn tail_mask(rem: usize) -> __m256i {
        _mm256_cmpgt_epi32(
            _mm256_set1_epi32(rem as i32),
            _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
        )
    }

    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn dot(a: *const f32, b: *const f32, n: usize) -> f32 {
        // Four accumulators hide the FMA latency (4 cycles, 2 per cycle).
        let mut acc = [_mm256_setzero_ps(); 4];
        let mut i = 0;
        while i + 4 * W <= n {
            for (k, acc) in acc.iter_mut().enumerate() {
                let x = _mm256_loadu_ps(a.add(i + k * W));
                let y = _mm256_loadu_ps(b.add(i + k * W));
                *acc = _mm256_fmadd_ps(x, y, *acc);
            }
            i += 4 * W;
        }
        while i + W <= n {
            acc[0] = _mm256_fmadd_ps(_mm256_loadu_ps(a.add(i)), _mm256_loadu_ps(b.add(i)), acc[0]);
            i += W;
        }
        if i < n {
            let m = tail_mask(n - i);
            let x = _mm256_maskload_ps(a.add(i), m);
            let y = _mm256_maskload_ps(b.add(i), m);
            acc[1] = _mm256_fmadd_ps(x, y, acc[1]);
        }
        hsum(_mm256_add_ps(
            _mm256_add_ps(acc[0], acc[1]),
            _mm256_add_ps(acc[2], acc[3]),
        ))
    }

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
            let base = block.add(r * dim);
            let pf = if r + 4 + PREFETCH_ROWS <= rows {
                base.add(PREFETCH_ROWS * dim)
            } else {
                base
            };
            // Two vectors per row per step: eight independent FMA chains and
            // one prefetch per 64-byte line.
            let mut acc = [_mm256_setzero_ps(); 4];
            let mut acc2 = [_mm256_setzero_ps(); 4];
            let mut i = 0;
            while i + 2 * W <= full {
                let q0 = _mm256_loadu_ps(q.add(i));
                let q1 = _mm256_loadu_ps(q.add(i + W));
                for k in 0..4 {
                    let p = base.add(k * dim + i);
                    _mm_prefetch::<_MM_HINT_T0>(pf.add(k * dim + i) as *const i8);
                    acc[k] = _mm256_fmadd_ps(q0, _mm256_loadu_ps(p), acc[k]);
                    acc2[k] = _mm256_fmadd_ps(q1, _mm256_loadu_ps(p.add(W)), acc2[k]);
                }
                i += 2 * W;
            }
            if i < full {
                let qv = _mm256_loadu_ps(q.add(i));
                for (k, acc) in acc.iter_mut().enumerate() {
                    *acc = _mm256_fmadd_ps(qv, _mm256_loadu_ps(base.add(k * dim + i)), *acc);
                }
            }
            for (acc, acc2) in acc.iter_mut().zip(acc2) {
                *acc = _mm256_add_ps(*acc, acc2);
            }
            if full < dim {
                let qv = _mm256_maskload_ps(q.add(full), m);
                for (k, acc) in acc.iter_mut().enumerate() {
                    let x = _mm256_maskload_ps(base.add(k * dim + full), m);
                    *acc = _mm256_fmadd_ps(qv, x, *acc);
                }
            }
            _mm_storeu_ps(
                out.as_mut_ptr().add(r),
                hsum4_256(acc[0], acc[1], acc[2], acc[3]),
            );
            r += 4;
        }
        while r < rows {
            out[r] = dot(q, block.add(r * dim), dim);
            r += 1;
        }
    }

    /// 4 queries × 2 rows = 8 accumulators, plus 4 query and 2 row registers:
    /// 14 of the 16 ymm registers, so nothing spills.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn micro_4x2(q: *const f32, v: *const f32, dim: usize, out: *mut f32, nv: usize) {
        let full = dim / W * W;
        let mut acc = [[_mm256_setzero_ps(); 2]; 4];
        let mut i = 0;
        while i < full {
            let v0 = _mm256_loadu_ps(v.add(i));
            let v1 = _mm256_loadu_ps(v.add(dim + i));
            for (a, acc) in acc.iter_mut().enumerate() {
                let qa = _mm256_loadu_ps(q.add(a * dim + i));
                acc[0] = _mm256_fmadd_ps(qa, v0, acc[0]);
                acc[1] = _mm256_fmadd_ps(qa, v1, acc[1]);
            }
            i += W;
        }
        if full < dim {
            let m = tail_mask(dim - full);
            let v0 = _mm256_maskload_ps(v.add(full), m);
            let v1 = _mm256_maskload_ps(v.add(dim + full), m);
            for (a, acc) in acc.iter_mut().enumerate() {
                let qa = _mm256_maskload_ps(q.add(a * dim + full), m);
                acc[0] = _mm256_fmadd_ps(qa, v0, acc[0]);
                acc[1] = _mm256_fmadd_ps(qa, v1, acc[1]);
            }
        }
        for a in [0, 2] {
            let s = hsum4_256(acc[a][0], acc[a][1], acc[a + 1][0], acc[a + 1][1]);
            let mut t = [0.0f32; 4];
            _mm_storeu_ps(t.as_mut_ptr(), s);
            *out.add(a * nv) = t[0];
            *out.add(a * nv + 1) = t[1];
            *out.add((a + 1) * nv) = t[2];
            *out.add((a + 1) * nv + 1) = t[3];
        }
    }

    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn dot_tile(
        q: *const f32,
        nq: usize,
        v: *const f32,
        nv: usize,
        dim: usize,
        out: &mut [f32],
    ) {
        let o = out.as_mut_ptr();
        let chunk = tile_chunk_rows(dim);
        let mut c0 = 0;
        while c0 < nv {
            let c1 = (c0 + chunk).min(nv);
            let mut i = 0;
            while i + 4 <= nq {
                let qi = q.add(i * dim);
                let mut j = c0;
                while j + 2 <= c1 {
                    micro_4x2(qi, v.add(j * dim), dim, o.add(i * nv + j), nv);
                    j += 2;
                }
                if j < c1 {
                    for a in 0..4 {
                        *o.add((i + a) * nv + j) = dot(qi.add(a * dim), v.add(j * dim), dim);
                    }
                }
                i += 4;
            }
            while i < nq {
                let row = std::slice::from_raw_parts_mut(o.add(i * nv + c0), c1 - c0);
                dot_block(q.add(i * dim), v.add(c0 * dim), dim, row);
                i += 1;
            }
            c0 = c1;
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
    unsafe fn fold(v: __m512) -> __m256 {
        let hi = _mm256_castpd_ps(_mm512_extractf64x4_pd::<1>(_mm512_castps_pd(v)));
        _mm256_add_ps(_mm512_castps512_ps256(v), hi)
    }

    #[inline]
    #[target_feature(enable = "avx512f,avx2,fma")]
    unsafe fn hsum4(v: &[__m512; 4]) -> __m128 {
        hsum4_256(fold(v[0]), fold(v[1]), fold(v[2]), fold(v[3]))
    }

    #[target_feature(enable = "avx512f,avx2,fma")]
    pub unsafe fn dot(a: *const f32, b: *const f32, n: usize) -> f32 {
        let mut acc = [_mm512_setzero_ps(); 4];
        let mut i = 0;
        while i + 4 * W <= n {
            for (k, acc) in acc.iter_mut().enumerate() {
                let x = _mm512_loadu_ps(a.add(i + k * W));
                let y = _mm512_loadu_ps(b.add(i + k * W));
                *acc = _mm512_fmadd_ps(x, y, *acc);
            }
            i += 4 * W;
        }
        while i + W <= n {
            acc[0] = _mm512_fmadd_ps(_mm512_loadu_ps(a.add(i)), _mm512_loadu_ps(b.add(i)), acc[0]);
            i += W;
        }
        if i < n {
            let m = tail_mask(n - i);
            let x = _mm512_maskz_loadu_ps(m, a.add(i));
            let y = _mm512_maskz_loadu_ps(m, b.add(i));
            acc[1] = _mm512_fmadd_ps(x, y, acc[1]);
        }
        _mm512_reduce_add_ps(_mm512_add_ps(
            _mm512_add_ps(acc[0], acc[1]),
            _mm512_add_ps(acc[2], acc[3]),
        ))
    }

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
            let base = block.add(r * dim);
            let pf = if r + 4 + PREFETCH_ROWS <= rows {
                base.add(PREFETCH_ROWS * dim)
            } else {
                base
            };
            let mut acc = [_mm512_setzero_ps(); 4];
            let mut i = 0;
            while i < full {
                let qv = _mm512_loadu_ps(q.add(i));
                for (k, acc) in acc.iter_mut().enumerate() {
                    _mm_prefetch::<_MM_HINT_T0>(pf.add(k * dim + i) as *const i8);
                    *acc = _mm512_fmadd_ps(qv, _mm512_loadu_ps(base.add(k * dim + i)), *acc);
                }
                i += W;
            }
            if full < dim {
                let qv = _mm512_maskz_loadu_ps(m, q.add(full));
                for (k, acc) in acc.iter_mut().enumerate() {
                    let x = _mm512_maskz_loadu_ps(m, base.add(k * dim + full));
                    *acc = _mm512_fmadd_ps(qv, x, *acc);
                }
            }
            _mm_storeu_ps(out.as_mut_ptr().add(r), hsum4(&acc));
            r += 4;
        }
        while r < rows {
            out[r] = dot(q, block.add(r * dim), dim);
            r += 1;
        }
    }

    /// 4 queries × 4 rows = 16 accumulators plus 8 operand registers: 24 of
    /// the 32 zmm registers. Each step does 8 loads for 16 FMAs, so the FMA
    /// units, not the load ports, set the pace.
    #[inline]
    #[target_feature(enable = "avx512f,avx2,fma")]
    unsafe fn micro_4x4(q: *const f32, v: *const f32, dim: usize, out: *mut f32, nv: usize) {
        let full = dim / W * W;
        let mut acc = [[_mm512_setzero_ps(); 4]; 4];
        let mut i = 0;
        while i < full {
            let vv = [
                _mm512_loadu_ps(v.add(i)),
                _mm512_loadu_ps(v.add(dim + i)),
                _mm512_loadu_ps(v.add(2 * dim + i)),
                _mm512_loadu_ps(v.add(3 * dim + i)),
            ];
            for (a, acc) in acc.iter_mut().enumerate() {
                let qa = _mm512_loadu_ps(q.add(a * dim + i));
                for (acc, vb) in acc.iter_mut().zip(vv) {
                    *acc = _mm512_fmadd_ps(qa, vb, *acc);
                }
            }
            i += W;
        }
        if full < dim {
            let m = tail_mask(dim - full);
            let vv = [
                _mm512_maskz_loadu_ps(m, v.add(full)),
                _mm512_maskz_loadu_ps(m, v.add(dim + full)),
                _mm512_maskz_loadu_ps(m, v.add(2 * dim + full)),
                _mm512_maskz_loadu_ps(m, v.add(3 * dim + full)),
            ];
            for (a, acc) in acc.iter_mut().enumerate() {
                let qa = _mm512_maskz_loadu_ps(m, q.add(a * dim + full));
                for (acc, vb) in acc.iter_mut().zip(vv) {
                    *acc = _mm512_fmadd_ps(qa, vb, *acc);
                }
            }
        }
        for (a, acc) in acc.iter().enumerate() {
            _mm_storeu_ps(out.add(a * nv), hsum4(acc));
        }
    }

    #[target_feature(enable = "avx512f,avx2,fma")]
    pub unsafe fn dot_tile(
        q: *const f32,
        nq: usize,
        v: *const f32,
        nv: usize,
        dim: usize,
        out: &mut [f32],
    ) {
        let o = out.as_mut_ptr();
        let chunk = tile_chunk_rows(dim);
        let mut c0 = 0;
        // Rows outer, queries inner: a chunk of rows stays in L1 while every
        // block of four queries streams past it from L2.
        while c0 < nv {
            let c1 = (c0 + chunk).min(nv);
            let mut i = 0;
            while i + 4 <= nq {
                let qi = q.add(i * dim);
                let mut j = c0;
                while j + 4 <= c1 {
                    micro_4x4(qi, v.add(j * dim), dim, o.add(i * nv + j), nv);
                    j += 4;
                }
                while j < c1 {
                    for a in 0..4 {
                        *o.add((i + a) * nv + j) = dot(qi.add(a * dim), v.add(j * dim), dim);
                    }
                    j += 1;
                }
                i += 4;
            }
            while i < nq {
                let row = std::slice::from_raw_parts_mut(o.add(i * nv + c0), c1 - c0);
                dot_block(q.add(i * dim), v.add(c0 * dim), dim, row);
                i += 1;
            }
            c0 = c1;
        }
    }
}
