//! x86-64 bodies of the 1-bit codes' rotation (`bits.rs`): the randomized
//! Hadamard transform and the sign bits of its result, for AVX-512F and
//! AVX2. Every passage of a build goes through here once.
//!
//! Why hand-written: the compiler vectorizes the butterflies of the wide
//! stages but runs the first three (pairs 1, 2 and 4 apart, inside one
//! register) one float at a time, and stores every stage back to memory.
//! Here the stages inside a register are lane permutes, a block of 256
//! floats stays in registers for its first eight stages, and the wide
//! stages go two at a time. Each butterfly is still `u + v`, `u - v` on
//! the same two floats as in [`super::bits::fwht`], stage after stage, so
//! the floats (and the codes) are exactly the scalar body's; the tests in
//! `bits.rs` check that bit for bit.
//!
//! As in `x86.rs`, the `unsafe` kernels are reachable only through the safe
//! wrappers here, which the kernel tables hand out only after run-time
//! detection confirmed the features, and which check every length first.

use std::arch::x86_64::*;

use super::bits::check_rotate_shape;

pub fn avx512_rotate(first: &[f32], second: &[f32], x: &mut [f32]) {
    let n = check_rotate_shape(first, second, x);
    // SAFETY: handed out only in the AVX-512 table, after detection
    // confirmed AVX-512F; `check_rotate_shape` proved all three slices hold
    // `n` floats, `n` a power of two of at least 64, which is all they read
    // and write.
    unsafe {
        avx512_round(x.as_mut_ptr(), first.as_ptr(), n);
        avx512_round(x.as_mut_ptr(), second.as_ptr(), n);
        avx512_scale(x.as_mut_ptr(), n);
    }
}

pub fn avx2_rotate(first: &[f32], second: &[f32], x: &mut [f32]) {
    let n = check_rotate_shape(first, second, x);
    // SAFETY: handed out only in the AVX2 and AVX-512 tables, after
    // detection confirmed AVX2; lengths as above.
    unsafe {
        avx2_round(x.as_mut_ptr(), first.as_ptr(), n);
        avx2_round(x.as_mut_ptr(), second.as_ptr(), n);
        avx2_scale(x.as_mut_ptr(), n);
    }
}

/// [`super::bits::encode`] with one compare per register.
pub fn avx512_sign_bits(rotated: &[f32], code: &mut [u64]) {
    assert_eq!(rotated.len(), code.len() * 64, "encode: code length");
    // SAFETY: AVX-512F confirmed as above; word `w` reads floats
    // `64w..64w+64`, inside `rotated` by the assertion.
    unsafe {
        for (w, word) in code.iter_mut().enumerate() {
            let p = rotated.as_ptr().add(64 * w);
            let mut bits = 0u64;
            for k in 0..4 {
                let v = _mm512_loadu_ps(p.add(16 * k));
                let m = _mm512_cmp_ps_mask::<_CMP_GT_OQ>(v, _mm512_setzero_ps());
                bits |= (m as u64) << (16 * k);
            }
            *word = bits;
        }
    }
}

/// [`super::bits::encode`] with one compare and one `movemask` per register.
pub fn avx2_sign_bits(rotated: &[f32], code: &mut [u64]) {
    assert_eq!(rotated.len(), code.len() * 64, "encode: code length");
    // SAFETY: AVX2 confirmed as above; word `w` reads floats `64w..64w+64`.
    unsafe {
        for (w, word) in code.iter_mut().enumerate() {
            let p = rotated.as_ptr().add(64 * w);
            let mut bits = 0u64;
            for k in 0..8 {
                let v = _mm256_loadu_ps(p.add(8 * k));
                let gt = _mm256_cmp_ps::<_CMP_GT_OQ>(v, _mm256_setzero_ps());
                bits |= (_mm256_movemask_ps(gt) as u32 as u64) << (8 * k);
            }
            *word = bits;
        }
    }
}

/// One round, `x ← H (s ⊙ x)`, for `n` a power of two, at least 64.
///
/// # Safety
/// The CPU has AVX-512F; `x` and `s` point to `n` floats.
#[target_feature(enable = "avx512f")]
unsafe fn avx512_round(x: *mut f32, s: *const f32, n: usize) {
    // SAFETY: every block lies inside the `n` floats (n is a multiple of
    // the block, itself a multiple of 16 floats).
    unsafe {
        match n {
            64 => avx512_block::<4>(x, s, 0),
            128 => avx512_block::<8>(x, s, 0),
            _ => {
                for base in (0..n).step_by(256) {
                    avx512_block::<16>(x, s, base);
                }
            }
        }
        let mut h = 256;
        while h < n {
            if 4 * h <= n {
                avx512_wide_pair(x, n, h);
                h *= 4;
            } else {
                avx512_wide(x, n, h);
                h *= 2;
            }
        }
    }
}

/// The signs and the stages 1..=8R of the `16R` floats at `base`, held in
/// `R` registers.
///
/// # Safety
/// The CPU has AVX-512F; `x` and `s` hold floats `base..base + 16R`.
#[target_feature(enable = "avx512f")]
unsafe fn avx512_block<const R: usize>(x: *mut f32, s: *const f32, base: usize) {
    let mut r = [_mm512_setzero_ps(); R];
    for (k, reg) in r.iter_mut().enumerate() {
        // SAFETY: floats base+16k..base+16k+16, inside the block.
        let (v, sg) = unsafe {
            (
                _mm512_loadu_ps(x.add(base + 16 * k)),
                _mm512_loadu_ps(s.add(base + 16 * k)),
            )
        };
        *reg = in_register_512(_mm512_mul_ps(v, sg));
    }
    let mut hr = 1;
    while hr < R {
        for blk in (0..R).step_by(2 * hr) {
            for k in blk..blk + hr {
                let (u, v) = (r[k], r[k + hr]);
                r[k] = _mm512_add_ps(u, v);
                r[k + hr] = _mm512_sub_ps(u, v);
            }
        }
        hr *= 2;
    }
    for (k, reg) in r.iter().enumerate() {
        // SAFETY: as the loads.
        unsafe { _mm512_storeu_ps(x.add(base + 16 * k), *reg) };
    }
}

/// Stages 1, 2, 4 and 8 inside one register. For a lane `i` of a pair
/// `h` apart, `y` holds its partner: the lower lane (`u`) gets `x + y`
/// = `u + v` (addition commutes exactly), the upper (`v`) gets `y - x` =
/// `u - v`, the scalar butterfly's two floats.
#[target_feature(enable = "avx512f")]
fn in_register_512(x: __m512) -> __m512 {
    let y = _mm512_permute_ps::<0b1011_0001>(x);
    let x = _mm512_mask_sub_ps(_mm512_add_ps(x, y), 0xAAAA, y, x);
    let y = _mm512_permute_ps::<0b0100_1110>(x);
    let x = _mm512_mask_sub_ps(_mm512_add_ps(x, y), 0xCCCC, y, x);
    let y = _mm512_shuffle_f32x4::<0b1011_0001>(x, x);
    let x = _mm512_mask_sub_ps(_mm512_add_ps(x, y), 0xF0F0, y, x);
    let y = _mm512_shuffle_f32x4::<0b0100_1110>(x, x);
    _mm512_mask_sub_ps(_mm512_add_ps(x, y), 0xFF00, y, x)
}

/// Stage `h` (pairs `h` apart) over all `n` floats.
///
/// # Safety
/// The CPU has AVX-512F; `x` holds `n` floats, `h` a power of two,
/// `16 <= h < n`.
#[target_feature(enable = "avx512f")]
unsafe fn avx512_wide(x: *mut f32, n: usize, h: usize) {
    for blk in (0..n).step_by(2 * h) {
        for i in (blk..blk + h).step_by(16) {
            // SAFETY: i + h + 16 <= blk + 2h <= n.
            unsafe {
                let (u, v) = (_mm512_loadu_ps(x.add(i)), _mm512_loadu_ps(x.add(i + h)));
                _mm512_storeu_ps(x.add(i), _mm512_add_ps(u, v));
                _mm512_storeu_ps(x.add(i + h), _mm512_sub_ps(u, v));
            }
        }
    }
}

/// Stages `h` and `2h` in one pass: the four floats `h` apart in a block
/// of `4h` go through both stages in registers.
///
/// # Safety
/// The CPU has AVX-512F; `x` holds `n` floats, `h` a power of two,
/// `16 <= h`, `4h <= n`.
#[target_feature(enable = "avx512f")]
unsafe fn avx512_wide_pair(x: *mut f32, n: usize, h: usize) {
    for blk in (0..n).step_by(4 * h) {
        for i in (blk..blk + h).step_by(16) {
            // SAFETY: i + 3h + 16 <= blk + 4h <= n.
            unsafe {
                let a = _mm512_loadu_ps(x.add(i));
                let b = _mm512_loadu_ps(x.add(i + h));
                let c = _mm512_loadu_ps(x.add(i + 2 * h));
                let d = _mm512_loadu_ps(x.add(i + 3 * h));
                let (a, b) = (_mm512_add_ps(a, b), _mm512_sub_ps(a, b));
                let (c, d) = (_mm512_add_ps(c, d), _mm512_sub_ps(c, d));
                _mm512_storeu_ps(x.add(i), _mm512_add_ps(a, c));
                _mm512_storeu_ps(x.add(i + 2 * h), _mm512_sub_ps(a, c));
                _mm512_storeu_ps(x.add(i + h), _mm512_add_ps(b, d));
                _mm512_storeu_ps(x.add(i + 3 * h), _mm512_sub_ps(b, d));
            }
        }
    }
}

/// `x *= 1/n` (a power of two, so exact but for underflow, as in scalar).
///
/// # Safety
/// The CPU has AVX-512F; `x` holds `n` floats, `n` a multiple of 16.
#[target_feature(enable = "avx512f")]
unsafe fn avx512_scale(x: *mut f32, n: usize) {
    let scale = _mm512_set1_ps(1.0 / n as f32);
    for i in (0..n).step_by(16) {
        // SAFETY: i + 16 <= n.
        unsafe { _mm512_storeu_ps(x.add(i), _mm512_mul_ps(_mm512_loadu_ps(x.add(i)), scale)) };
    }
}

/// [`avx512_round`] with 8-lane registers.
///
/// # Safety
/// The CPU has AVX2; `x` and `s` point to `n` floats, `n` a power of two
/// of at least 64.
#[target_feature(enable = "avx2")]
unsafe fn avx2_round(x: *mut f32, s: *const f32, n: usize) {
    // SAFETY: every block lies inside the `n` floats.
    unsafe {
        match n {
            64 => avx2_block::<8>(x, s, 0),
            _ => {
                for base in (0..n).step_by(128) {
                    avx2_block::<16>(x, s, base);
                }
            }
        }
        let mut h = 128;
        while h < n {
            if 4 * h <= n {
                avx2_wide_pair(x, n, h);
                h *= 4;
            } else {
                avx2_wide(x, n, h);
                h *= 2;
            }
        }
    }
}

/// The signs and the stages 1..=4R of the `8R` floats at `base`.
///
/// # Safety
/// The CPU has AVX2; `x` and `s` hold floats `base..base + 8R`.
#[target_feature(enable = "avx2")]
unsafe fn avx2_block<const R: usize>(x: *mut f32, s: *const f32, base: usize) {
    let mut r = [_mm256_setzero_ps(); R];
    for (k, reg) in r.iter_mut().enumerate() {
        // SAFETY: floats base+8k..base+8k+8, inside the block.
        let (v, sg) = unsafe {
            (
                _mm256_loadu_ps(x.add(base + 8 * k)),
                _mm256_loadu_ps(s.add(base + 8 * k)),
            )
        };
        *reg = in_register_256(_mm256_mul_ps(v, sg));
    }
    let mut hr = 1;
    while hr < R {
        for blk in (0..R).step_by(2 * hr) {
            for k in blk..blk + hr {
                let (u, v) = (r[k], r[k + hr]);
                r[k] = _mm256_add_ps(u, v);
                r[k + hr] = _mm256_sub_ps(u, v);
            }
        }
        hr *= 2;
    }
    for (k, reg) in r.iter().enumerate() {
        // SAFETY: as the loads.
        unsafe { _mm256_storeu_ps(x.add(base + 8 * k), *reg) };
    }
}

/// Stages 1, 2 and 4 inside one register, as [`in_register_512`]: the
/// upper lane of each pair takes `y - x` by a blend.
#[target_feature(enable = "avx2")]
fn in_register_256(x: __m256) -> __m256 {
    let y = _mm256_permute_ps::<0b1011_0001>(x);
    let x = _mm256_blend_ps::<0b1010_1010>(_mm256_add_ps(x, y), _mm256_sub_ps(y, x));
    let y = _mm256_permute_ps::<0b0100_1110>(x);
    let x = _mm256_blend_ps::<0b1100_1100>(_mm256_add_ps(x, y), _mm256_sub_ps(y, x));
    let y = _mm256_permute2f128_ps::<0x01>(x, x);
    _mm256_blend_ps::<0b1111_0000>(_mm256_add_ps(x, y), _mm256_sub_ps(y, x))
}

/// [`avx512_wide`] with 8-lane registers.
///
/// # Safety
/// The CPU has AVX2; `x` holds `n` floats, `h` a power of two, `8 <= h < n`.
#[target_feature(enable = "avx2")]
unsafe fn avx2_wide(x: *mut f32, n: usize, h: usize) {
    for blk in (0..n).step_by(2 * h) {
        for i in (blk..blk + h).step_by(8) {
            // SAFETY: i + h + 8 <= blk + 2h <= n.
            unsafe {
                let (u, v) = (_mm256_loadu_ps(x.add(i)), _mm256_loadu_ps(x.add(i + h)));
                _mm256_storeu_ps(x.add(i), _mm256_add_ps(u, v));
                _mm256_storeu_ps(x.add(i + h), _mm256_sub_ps(u, v));
            }
        }
    }
}

/// [`avx512_wide_pair`] with 8-lane registers.
///
/// # Safety
/// The CPU has AVX2; `x` holds `n` floats, `h` a power of two, `8 <= h`,
/// `4h <= n`.
#[target_feature(enable = "avx2")]
unsafe fn avx2_wide_pair(x: *mut f32, n: usize, h: usize) {
    for blk in (0..n).step_by(4 * h) {
        for i in (blk..blk + h).step_by(8) {
            // SAFETY: i + 3h + 8 <= blk + 4h <= n.
            unsafe {
                let a = _mm256_loadu_ps(x.add(i));
                let b = _mm256_loadu_ps(x.add(i + h));
                let c = _mm256_loadu_ps(x.add(i + 2 * h));
                let d = _mm256_loadu_ps(x.add(i + 3 * h));
                let (a, b) = (_mm256_add_ps(a, b), _mm256_sub_ps(a, b));
                let (c, d) = (_mm256_add_ps(c, d), _mm256_sub_ps(c, d));
                _mm256_storeu_ps(x.add(i), _mm256_add_ps(a, c));
                _mm256_storeu_ps(x.add(i + 2 * h), _mm256_sub_ps(a, c));
                _mm256_storeu_ps(x.add(i + h), _mm256_add_ps(b, d));
                _mm256_storeu_ps(x.add(i + 3 * h), _mm256_sub_ps(b, d));
            }
        }
    }
}

/// [`avx512_scale`] with 8-lane registers.
///
/// # Safety
/// The CPU has AVX2; `x` holds `n` floats, `n` a multiple of 8.
#[target_feature(enable = "avx2")]
unsafe fn avx2_scale(x: *mut f32, n: usize) {
    let scale = _mm256_set1_ps(1.0 / n as f32);
    for i in (0..n).step_by(8) {
        // SAFETY: i + 8 <= n.
        unsafe { _mm256_storeu_ps(x.add(i), _mm256_mul_ps(_mm256_loadu_ps(x.add(i)), scale)) };
    }
}
