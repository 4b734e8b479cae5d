//! x86-64 kernels for SQ8 codes (see `sq8.rs`): `Σ w[d] * c[d]` of `i16`
//! weights and `u8` codes, widened to 16 bits and summed in pairs by
//! `vpmaddwd`. Integer arithmetic, so both return exactly the scalar result.
//!
//! As in `x86.rs`, the `unsafe` kernels are reachable only through the safe
//! wrappers here, which the kernel tables hand out only after run-time
//! detection confirmed the features, and which check the lengths first.

use std::arch::x86_64::*;

/// Whether this CPU runs [`avx512_dot_u8`].
pub fn has_avx512bw() -> bool {
    is_x86_feature_detected!("avx512f") && is_x86_feature_detected!("avx512bw")
}

pub fn avx2_dot_u8(w: &[i16], c: &[u8]) -> i32 {
    assert_eq!(w.len(), c.len(), "dot_u8: length mismatch");
    // SAFETY: handed out only in the AVX2 and AVX-512 tables, after
    // detection confirmed AVX2; both pointers are valid for `w.len()` reads.
    unsafe { avx2(w.as_ptr(), c.as_ptr(), w.len()) }
}

pub fn avx512_dot_u8(w: &[i16], c: &[u8]) -> i32 {
    assert_eq!(w.len(), c.len(), "dot_u8: length mismatch");
    // SAFETY: handed out only when `has_avx512bw()` (and AVX2) held; both
    // pointers are valid for `w.len()` reads.
    unsafe { avx512(w.as_ptr(), c.as_ptr(), w.len()) }
}

#[target_feature(enable = "avx2")]
unsafe fn hsum_epi32(v: __m256i) -> i32 {
    let s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256::<1>(v));
    let s = _mm_add_epi32(s, _mm_shuffle_epi32::<0b01_00_11_10>(s));
    let s = _mm_add_epi32(s, _mm_shuffle_epi32::<0b10_11_00_01>(s));
    _mm_cvtsi128_si32(s)
}

/// 16 products summed into 8 lanes.
#[target_feature(enable = "avx2")]
#[inline]
unsafe fn step16(w: *const i16, c: *const u8) -> __m256i {
    // SAFETY: the caller guarantees 16 readable elements at both pointers.
    unsafe {
        let cw = _mm256_cvtepu8_epi16(_mm_loadu_si128(c as *const __m128i));
        let ww = _mm256_loadu_si256(w as *const __m256i);
        _mm256_madd_epi16(cw, ww)
    }
}

/// [`avx2_dot_u8`] of `w` with each code `codes[id * w.len()..]` of `ids`,
/// into `out` (one kernel call for a node's neighbours, so the weights stay
/// in L1 and nothing is called through a pointer per neighbour).
pub fn avx2_dot_u8_ids(w: &[i16], codes: &[u8], ids: &[u32], out: &mut [i32]) {
    super::sq8::check_ids(w.len(), codes, ids, out);
    // SAFETY: handed out only after detection confirmed AVX2; `check_ids`
    // checked every `id < codes.len() / w.len()`, so each code is in bounds.
    unsafe { avx2_ids(w, codes, ids, out) }
}

pub fn avx512_dot_u8_ids(w: &[i16], codes: &[u8], ids: &[u32], out: &mut [i32]) {
    super::sq8::check_ids(w.len(), codes, ids, out);
    // SAFETY: handed out only when `has_avx512bw()` (and AVX2) held;
    // `check_ids` checked every code to be in bounds.
    unsafe { avx512_ids(w, codes, ids, out) }
}

/// # Safety
/// AVX2 is available; every `id * w.len() + w.len() <= codes.len()`, and
/// `out.len() == ids.len()`.
#[target_feature(enable = "avx2")]
unsafe fn avx2_ids(w: &[i16], codes: &[u8], ids: &[u32], out: &mut [i32]) {
    let dim = w.len();
    for (o, &id) in out.iter_mut().zip(ids) {
        // SAFETY: the caller's bounds: code `id` is `dim` readable bytes.
        *o = unsafe { avx2(w.as_ptr(), codes.as_ptr().add(id as usize * dim), dim) };
    }
}

/// # Safety
/// As [`avx2_ids`], with AVX-512F and AVX-512BW available too.
#[target_feature(enable = "avx512f,avx512bw,avx2")]
unsafe fn avx512_ids(w: &[i16], codes: &[u8], ids: &[u32], out: &mut [i32]) {
    let dim = w.len();
    for (o, &id) in out.iter_mut().zip(ids) {
        // SAFETY: the caller's bounds: code `id` is `dim` readable bytes.
        *o = unsafe { avx512(w.as_ptr(), codes.as_ptr().add(id as usize * dim), dim) };
    }
}

/// # Safety
/// AVX2 is available; `w` and `c` are valid for `n` reads.
#[target_feature(enable = "avx2")]
#[inline]
unsafe fn avx2(w: *const i16, c: *const u8, n: usize) -> i32 {
    let (mut a0, mut a1) = (_mm256_setzero_si256(), _mm256_setzero_si256());
    let mut i = 0;
    // SAFETY: (whole body) every step reads elements `i..i + 16 < n`, and
    // the scalar tail reads below `n`.
    unsafe {
        while i + 32 <= n {
            a0 = _mm256_add_epi32(a0, step16(w.add(i), c.add(i)));
            a1 = _mm256_add_epi32(a1, step16(w.add(i + 16), c.add(i + 16)));
            i += 32;
        }
        if i + 16 <= n {
            a0 = _mm256_add_epi32(a0, step16(w.add(i), c.add(i)));
            i += 16;
        }
        let mut sum = hsum_epi32(_mm256_add_epi32(a0, a1));
        while i < n {
            sum = sum.wrapping_add(*w.add(i) as i32 * *c.add(i) as i32);
            i += 1;
        }
        sum
    }
}

/// # Safety
/// AVX-512F, AVX-512BW and AVX2 are available; `w` and `c` are valid for `n`
/// reads.
#[target_feature(enable = "avx512f,avx512bw,avx2")]
#[inline]
unsafe fn avx512(w: *const i16, c: *const u8, n: usize) -> i32 {
    let (mut a0, mut a1) = (_mm512_setzero_si512(), _mm512_setzero_si512());
    let mut i = 0;
    // SAFETY: (whole body) every 32-wide step reads elements `i..i + 32 <= n`;
    // what is left (< 32) goes to the AVX2 kernel with its own bounds.
    unsafe {
        let step32 = |i: usize| {
            let cw = _mm512_cvtepu8_epi16(_mm256_loadu_si256(c.add(i) as *const __m256i));
            let ww = _mm512_loadu_si512(w.add(i) as *const __m512i);
            _mm512_madd_epi16(cw, ww)
        };
        while i + 64 <= n {
            a0 = _mm512_add_epi32(a0, step32(i));
            a1 = _mm512_add_epi32(a1, step32(i + 32));
            i += 64;
        }
        if i + 32 <= n {
            a0 = _mm512_add_epi32(a0, step32(i));
            i += 32;
        }
        let head = _mm512_reduce_add_epi32(_mm512_add_epi32(a0, a1));
        head.wrapping_add(avx2(w.add(i), c.add(i), n - i))
    }
}
