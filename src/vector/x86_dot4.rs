//! x86-64 kernels for [`dot4`](super::dot4): one row against four others,
//! each result bit for bit what the same kernel set's single `dot` gives.
//!
//! They repeat `x86.rs`'s `dot` step for step (the same accumulators over
//! the same lanes, the same tail into the second accumulator, the same
//! reduction), four rows at a time, so every row's sum is made of the same
//! roundings in the same order; only the loads of `a` are shared. The HNSW
//! build compares candidates with these, and a graph must not depend on
//! which of the two computed a similarity. The tests in `dot4.rs` compare
//! them bit for bit with the kernel tables.
//!
//! As in `x86.rs`, the `unsafe` kernels are reachable only through the safe
//! wrappers here, which the dispatcher hands out only after run-time
//! detection confirmed the features, and which check the lengths first.

use std::arch::x86_64::*;

/// Whether this CPU runs the AVX-512 table (`x86::avx512`'s features).
pub fn has_avx512() -> bool {
    is_x86_feature_detected!("avx512f")
        && is_x86_feature_detected!("avx2")
        && is_x86_feature_detected!("fma")
}

/// Whether this CPU runs the AVX2 table (`x86::avx2`'s features).
pub fn has_avx2() -> bool {
    is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma")
}

fn check(a: &[f32], b: &[&[f32]; 4]) {
    for r in b {
        assert_eq!(a.len(), r.len(), "dot4: length mismatch");
    }
}

pub fn avx2_dot4(a: &[f32], b: [&[f32]; 4]) -> [f32; 4] {
    check(a, &b);
    // SAFETY: handed out only when `has_avx2()` held; every pointer is
    // valid for `a.len()` reads (checked just above).
    unsafe { avx2(a.as_ptr(), b.map(|r| r.as_ptr()), a.len()) }
}

pub fn avx512_dot4(a: &[f32], b: [&[f32]; 4]) -> [f32; 4] {
    check(a, &b);
    // SAFETY: handed out only when `has_avx512()` held; every pointer is
    // valid for `a.len()` reads (checked just above).
    unsafe { avx512(a.as_ptr(), b.map(|r| r.as_ptr()), a.len()) }
}

/// `x86.rs`'s `v256::hsum`.
#[inline]
#[target_feature(enable = "avx2,fma")]
fn hsum(v: __m256) -> f32 {
    let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
    let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    let s = _mm_add_ss(s, _mm_shuffle_ps::<1>(s, s));
    _mm_cvtss_f32(s)
}

/// `x86.rs`'s `v256::dot`, for four rows `b` at once.
///
/// # Safety
/// AVX2 and FMA are available; `a` and every `b[r]` are valid for `n` reads.
#[target_feature(enable = "avx2,fma")]
unsafe fn avx2(a: *const f32, b: [*const f32; 4], n: usize) -> [f32; 4] {
    const W: usize = 8;
    // Two rows per pass: eight accumulators and the shared loads fit the
    // sixteen ymm registers; four rows would spill.
    let mut out = [0f32; 4];
    for pair in 0..2 {
        let (b0, b1) = (b[2 * pair], b[2 * pair + 1]);
        let mut acc0 = [_mm256_setzero_ps(); 4];
        let mut acc1 = [_mm256_setzero_ps(); 4];
        let mut i = 0;
        // SAFETY: (whole block) every load reads elements below `n`: the
        // full steps end at `i + 4 * W <= n` or `i + W <= n`, and the
        // masked tail enables only the lanes below `n`.
        unsafe {
            while i + 4 * W <= n {
                for k in 0..4 {
                    let x = _mm256_loadu_ps(a.add(i + k * W));
                    acc0[k] = _mm256_fmadd_ps(x, _mm256_loadu_ps(b0.add(i + k * W)), acc0[k]);
                    acc1[k] = _mm256_fmadd_ps(x, _mm256_loadu_ps(b1.add(i + k * W)), acc1[k]);
                }
                i += 4 * W;
            }
            while i + W <= n {
                let x = _mm256_loadu_ps(a.add(i));
                acc0[0] = _mm256_fmadd_ps(x, _mm256_loadu_ps(b0.add(i)), acc0[0]);
                acc1[0] = _mm256_fmadd_ps(x, _mm256_loadu_ps(b1.add(i)), acc1[0]);
                i += W;
            }
            if i < n {
                let m = _mm256_cmpgt_epi32(
                    _mm256_set1_epi32((n - i) as i32),
                    _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
                );
                let x = _mm256_maskload_ps(a.add(i), m);
                acc0[1] = _mm256_fmadd_ps(x, _mm256_maskload_ps(b0.add(i), m), acc0[1]);
                acc1[1] = _mm256_fmadd_ps(x, _mm256_maskload_ps(b1.add(i), m), acc1[1]);
            }
        }
        for (o, acc) in out[2 * pair..2 * pair + 2].iter_mut().zip([acc0, acc1]) {
            *o = hsum(_mm256_add_ps(
                _mm256_add_ps(acc[0], acc[1]),
                _mm256_add_ps(acc[2], acc[3]),
            ));
        }
    }
    out
}

/// `x86.rs`'s `v512::dot`, for four rows `b` at once.
///
/// # Safety
/// AVX-512F, AVX2 and FMA are available; `a` and every `b[r]` are valid for
/// `n` reads.
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn avx512(a: *const f32, b: [*const f32; 4], n: usize) -> [f32; 4] {
    const W: usize = 16;
    // Sixteen accumulators, a shared load and four row loads: 21 of 32 zmm.
    let mut acc = [[_mm512_setzero_ps(); 4]; 4];
    let mut i = 0;
    // SAFETY: (whole block) every load reads elements below `n`: the full
    // steps end at `i + 4 * W <= n` or `i + W <= n`, and the masked tail
    // enables only the lanes below `n` (masked-off lanes neither read nor
    // fault).
    unsafe {
        while i + 4 * W <= n {
            for k in 0..4 {
                let x = _mm512_loadu_ps(a.add(i + k * W));
                for (acc, &row) in acc.iter_mut().zip(&b) {
                    acc[k] = _mm512_fmadd_ps(x, _mm512_loadu_ps(row.add(i + k * W)), acc[k]);
                }
            }
            i += 4 * W;
        }
        while i + W <= n {
            let x = _mm512_loadu_ps(a.add(i));
            for (acc, &row) in acc.iter_mut().zip(&b) {
                acc[0] = _mm512_fmadd_ps(x, _mm512_loadu_ps(row.add(i)), acc[0]);
            }
            i += W;
        }
        if i < n {
            let m = ((1u32 << (n - i)) - 1) as __mmask16;
            let x = _mm512_maskz_loadu_ps(m, a.add(i));
            for (acc, &row) in acc.iter_mut().zip(&b) {
                acc[1] = _mm512_fmadd_ps(x, _mm512_maskz_loadu_ps(m, row.add(i)), acc[1]);
            }
        }
    }
    acc.map(|acc| {
        _mm512_reduce_add_ps(_mm512_add_ps(
            _mm512_add_ps(acc[0], acc[1]),
            _mm512_add_ps(acc[2], acc[3]),
        ))
    })
}
