//! x86-64 kernels for 1-bit codes (see `bits.rs`): AVX-512 with native
//! 64-bit popcount (VPOPCNTDQ), and AVX2 with the nibble-table popcount
//! (Muła), which every AVX2 machine runs. Both return exactly the scalar
//! kernel's integers.
//!
//! As in `x86.rs`, the `unsafe` kernels are reachable only through the safe
//! wrappers here, which the kernel tables hand out only after run-time
//! detection confirmed the features, and which check every length first.

use std::arch::x86_64::*;

use super::bits::{check_shape, score_words, QUERY_BITS, ZERO_POINT};

/// Whether this CPU runs [`avx512_scores`].
pub fn has_avx512_popcnt() -> bool {
    is_x86_feature_detected!("avx512f") && is_x86_feature_detected!("avx512vpopcntdq")
}

pub fn avx512_scores(planes: &[u64], codes: &[u64], out: &mut [i32]) {
    let w = check_shape(planes, codes, out);
    if w == 0 {
        out.fill(0);
        return;
    }
    // SAFETY: handed out only when `has_avx512_popcnt()` held; `check_shape`
    // proved `planes` holds QUERY_BITS planes of `w` words and `codes` holds
    // `out.len()` codes of `w` words, which is all the kernels read.
    unsafe {
        match w {
            8 => avx512_whole::<1>(planes.as_ptr(), codes.as_ptr(), out),
            16 => avx512_whole::<2>(planes.as_ptr(), codes.as_ptr(), out),
            32 => avx512_whole::<4>(planes.as_ptr(), codes.as_ptr(), out),
            _ => avx512(planes.as_ptr(), w, codes.as_ptr(), out),
        }
    }
}

/// The Hamming kernel for machines without VPOPCNTDQ: the scalar loop
/// compiled with the POPCNT instruction where the CPU has it (the crate's
/// baseline target lacks it, and its software popcount is several times
/// slower), else the scalar kernel itself.
pub fn hamming_popcnt() -> fn(&[u64], &[u64]) -> u32 {
    if is_x86_feature_detected!("popcnt") {
        popcnt_hamming
    } else {
        super::bits::hamming
    }
}

fn popcnt_hamming(a: &[u64], b: &[u64]) -> u32 {
    assert_eq!(a.len(), b.len(), "hamming: codes of different lengths");
    // SAFETY: handed out by `hamming_popcnt` only after detection
    // confirmed POPCNT.
    unsafe { popcnt_hamming_body(a, b) }
}

#[target_feature(enable = "popcnt")]
fn popcnt_hamming_body(a: &[u64], b: &[u64]) -> u32 {
    a.iter().zip(b).map(|(x, y)| (x ^ y).count_ones()).sum()
}

/// Hamming distance with VPOPCNTDQ, eight words a register.
pub fn avx512_hamming(a: &[u64], b: &[u64]) -> u32 {
    assert_eq!(a.len(), b.len(), "hamming: codes of different lengths");
    // SAFETY: handed out only when `has_avx512_popcnt()` held; both slices
    // have the length the kernel reads.
    unsafe { avx512_hamming_body(a, b) }
}

/// # Safety
/// The CPU has AVX-512F and VPOPCNTDQ.
#[target_feature(enable = "avx512f,avx512vpopcntdq")]
unsafe fn avx512_hamming_body(a: &[u64], b: &[u64]) -> u32 {
    let whole = a.len().min(b.len()) / 8 * 8;
    let mut acc = _mm512_setzero_si512();
    let mut i = 0;
    while i < whole {
        // SAFETY: `i + 8 <= whole <= len` of both slices.
        let (x, y) = unsafe {
            (
                _mm512_loadu_si512(a.as_ptr().add(i) as *const __m512i),
                _mm512_loadu_si512(b.as_ptr().add(i) as *const __m512i),
            )
        };
        acc = _mm512_add_epi64(acc, _mm512_popcnt_epi64(_mm512_xor_si512(x, y)));
        i += 8;
    }
    let tail: u32 = a[whole..]
        .iter()
        .zip(&b[whole..])
        .map(|(x, y)| (x ^ y).count_ones())
        .sum();
    _mm512_reduce_add_epi64(acc) as u32 + tail
}

pub fn avx2_scores(planes: &[u64], codes: &[u64], out: &mut [i32]) {
    let w = check_shape(planes, codes, out);
    if w < 4 {
        // Less than one 256-bit register per code: nothing to vectorize.
        super::bits::scores(planes, codes, out);
        return;
    }
    // SAFETY: handed out only in the AVX2 and AVX-512 tables, after
    // detection confirmed AVX2; lengths as above.
    unsafe { avx2(planes, w, codes, out) }
}

#[target_feature(enable = "avx512f,avx512vpopcntdq")]
unsafe fn avx512(planes: *const u64, w: usize, codes: *const u64, out: &mut [i32]) {
    // SAFETY: `store_row_sums` asks for rows below out.len() only, and row
    // `r` of `w` words starts at `r * w`; see `avx512_row`.
    store_row_sums(out, |r| unsafe { avx512_row(planes, w, codes.add(r * w)) });
    debug_assert_eq!(
        ZERO_POINT, 8,
        "the shift by 3 in avx512_row multiplies by ZERO_POINT"
    );
}

/// [`avx512`] for codes of exactly `Z` registers (dims 512, 1024, 2048):
/// the query planes stay in registers for the whole scan, and a register
/// of code is weighed by the planes in Horner form, `((c3·2 + c2)·2 + c1)·2
/// + c0`, with no masks and no variable shifts.
///
/// # Safety
/// The CPU has AVX-512F and VPOPCNTDQ; `planes` points to `QUERY_BITS * 8Z`
/// readable words and `codes` to `out.len() * 8Z`.
#[target_feature(enable = "avx512f,avx512vpopcntdq")]
unsafe fn avx512_whole<const Z: usize>(planes: *const u64, codes: *const u64, out: &mut [i32]) {
    let w = 8 * Z;
    let mut p = [[_mm512_setzero_si512(); Z]; QUERY_BITS];
    for (j, plane) in p.iter_mut().enumerate() {
        for (z, reg) in plane.iter_mut().enumerate() {
            // SAFETY: plane `j` has `w` words; this reads words `8z..8z+8`.
            *reg = unsafe { _mm512_loadu_si512(planes.add(j * w + z * 8) as *const __m512i) };
        }
    }
    let row = |code: *const u64| {
        let mut acc = _mm512_setzero_si512();
        #[allow(clippy::needless_range_loop)] // `z` picks a register of each plane
        for z in 0..Z {
            // SAFETY: the caller's row has `w` words; this reads `8z..8z+8`.
            let c = unsafe { _mm512_loadu_si512(code.add(z * 8) as *const __m512i) };
            let pop = |j: usize| _mm512_popcnt_epi64(_mm512_and_si512(p[j][z], c));
            let mut s = pop(QUERY_BITS - 1);
            for j in (0..QUERY_BITS - 1).rev() {
                s = _mm512_add_epi64(_mm512_add_epi64(s, s), pop(j));
            }
            let minus = _mm512_slli_epi64::<3>(_mm512_popcnt_epi64(c));
            acc = _mm512_add_epi64(acc, _mm512_sub_epi64(s, minus));
        }
        acc
    };
    // SAFETY: `store_row_sums` asks for rows below out.len() only, and row
    // `r` starts at `r * w`.
    store_row_sums(out, |r| row(unsafe { codes.add(r * w) }));
}

/// `out[r]` = the sum of the eight lanes of `row(r)`, for every row. Eight
/// rows at a time: their lane sums are reduced together (`sum_lanes8`),
/// which costs a third of eight reductions one by one (a quarter of the
/// scan's time went to them).
#[inline]
#[target_feature(enable = "avx512f")]
fn store_row_sums(out: &mut [i32], row: impl Fn(usize) -> __m512i) {
    let groups = out.len() / 8;
    for g in 0..groups {
        let acc: [__m512i; 8] = std::array::from_fn(|i| row(g * 8 + i));
        let sums = _mm512_cvtepi64_epi32(sum_lanes8(&acc));
        // SAFETY: `out[g*8..g*8+8]` is 8 writable i32, 32 bytes.
        unsafe { _mm256_storeu_si256(out.as_mut_ptr().add(g * 8) as *mut __m256i, sums) };
    }
    for (r, o) in out.iter_mut().enumerate().skip(groups * 8) {
        *o = _mm512_reduce_add_epi64(row(r)) as i32;
    }
}

/// Lane-wise partial sums of one code's score: the sum of the eight lanes
/// is the score.
///
/// # Safety
/// The CPU has AVX-512F and VPOPCNTDQ; `code` points to `w` readable words
/// and `planes` to `QUERY_BITS * w`.
#[inline]
#[target_feature(enable = "avx512f,avx512vpopcntdq")]
unsafe fn avx512_row(planes: *const u64, w: usize, code: *const u64) -> __m512i {
    let full = w / 8;
    let rem = w % 8;
    let tail = (1u16 << rem) as u8 - 1;
    let mut acc = _mm512_setzero_si512();
    let mut step = |c: __m512i, at: usize| {
        let pc = _mm512_popcnt_epi64(c);
        acc = _mm512_sub_epi64(acc, _mm512_slli_epi64::<3>(pc));
        for j in 0..QUERY_BITS {
            // SAFETY: plane `j` has `w` words; lanes at or past `w` are
            // masked off and not read.
            let p = unsafe {
                _mm512_maskz_loadu_epi64(
                    if at + 8 <= w { 0xff } else { tail },
                    planes.add(j * w + at) as *const i64,
                )
            };
            let n = _mm512_popcnt_epi64(_mm512_and_si512(p, c));
            acc = _mm512_add_epi64(acc, _mm512_sllv_epi64(n, _mm512_set1_epi64(j as i64)));
        }
    };
    for c in 0..full {
        // SAFETY: words `c*8..c*8+8` lie below `w`.
        let v = unsafe { _mm512_loadu_si512(code.add(c * 8) as *const __m512i) };
        step(v, c * 8);
    }
    if rem > 0 {
        // SAFETY: only the `rem` words below `w` are loaded.
        let v = unsafe { _mm512_maskz_loadu_epi64(tail, code.add(full * 8) as *const i64) };
        step(v, full * 8);
    }
    acc
}

/// The lane sums of eight vectors, in order: lane `i` of the result is the
/// sum of the eight lanes of `a[i]`. Pairs of vectors are folded into one
/// by adding their interleaved halves, three times over.
#[inline]
#[target_feature(enable = "avx512f")]
fn sum_lanes8(a: &[__m512i; 8]) -> __m512i {
    // Within each 128-bit lane: [a_even pair sum, a_odd pair sum].
    let pair = |x: __m512i, y: __m512i| {
        _mm512_add_epi64(_mm512_unpacklo_epi64(x, y), _mm512_unpackhi_epi64(x, y))
    };
    // Adds 128-bit lanes 0+1 and 2+3 of `x`, then of `y`.
    let fold = |x: __m512i, y: __m512i| {
        _mm512_add_epi64(
            _mm512_shuffle_i64x2::<0b10_00_10_00>(x, y),
            _mm512_shuffle_i64x2::<0b11_01_11_01>(x, y),
        )
    };
    let (b01, b23, b45, b67) = (
        pair(a[0], a[1]),
        pair(a[2], a[3]),
        pair(a[4], a[5]),
        pair(a[6], a[7]),
    );
    fold(fold(b01, b23), fold(b45, b67))
}

/// Per byte, the number of set bits, by two 16-entry table lookups.
#[inline]
#[target_feature(enable = "avx2")]
fn popcnt_bytes(x: __m256i, lut: __m256i, low: __m256i) -> __m256i {
    let lo = _mm256_shuffle_epi8(lut, _mm256_and_si256(x, low));
    let hi = _mm256_shuffle_epi8(lut, _mm256_and_si256(_mm256_srli_epi16::<4>(x), low));
    _mm256_add_epi8(lo, hi)
}

#[target_feature(enable = "avx2")]
unsafe fn avx2(planes: &[u64], w: usize, codes: &[u64], out: &mut [i32]) {
    let lut = _mm256_setr_epi8(
        0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, 0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3,
        3, 4,
    );
    let low = _mm256_set1_epi8(0x0f);
    let bias = _mm256_set1_epi8(64);
    let full = w / 4;
    let (pp, cp) = (planes.as_ptr(), codes.as_ptr());
    for (r, o) in out.iter_mut().enumerate() {
        let mut acc = _mm256_setzero_si256();
        for c in 0..full {
            let at = c * 4;
            // SAFETY: words `at..at+4` lie below `w` (at + 4 <= full * 4),
            // inside row `r` of `codes` and inside each plane.
            let load = |p: *const u64| unsafe { _mm256_loadu_si256(p.add(at) as *const __m256i) };
            // SAFETY: row `r` starts at `r * w` < codes.len().
            let code = load(unsafe { cp.add(r * w) });
            // Per byte: c0 + 2c1 + 4c2 + 8c3 + 8(8 − |code|), at most
            // 8 + 16 + 32 + 64 + 64 = 184, so no byte overflows; the bias
            // keeps it non-negative for the unsigned byte sum below.
            let mut v = _mm256_setzero_si256();
            for j in (0..QUERY_BITS).rev() {
                // SAFETY: plane `j` starts at `j * w` < planes.len().
                let p = load(unsafe { pp.add(j * w) });
                v = _mm256_add_epi8(
                    _mm256_add_epi8(v, v),
                    popcnt_bytes(_mm256_and_si256(p, code), lut, low),
                );
            }
            let t8 = _mm256_slli_epi16::<3>(popcnt_bytes(code, lut, low));
            v = _mm256_add_epi8(v, _mm256_sub_epi8(bias, t8));
            acc = _mm256_add_epi64(acc, _mm256_sad_epu8(v, _mm256_setzero_si256()));
        }
        let mut lanes = [0i64; 4];
        // SAFETY: `lanes` is 32 writable bytes.
        unsafe { _mm256_storeu_si256(lanes.as_mut_ptr() as *mut __m256i, acc) };
        let vector_part = lanes.iter().sum::<i64>() - 64 * 32 * full as i64;
        let row = &codes[r * w..(r + 1) * w];
        let tail = score_words(planes, row, w, full * 4);
        *o = vector_part as i32 + tail;
    }
}
