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

/// The nibble tables of the AVX2 kernel, built once per call.
#[derive(Clone, Copy)]
struct Tables {
    /// `k · popcount(n)` for the planes of weight `k` = 1, 2, 4.
    w1: __m256i,
    w2: __m256i,
    w4: __m256i,
    /// `8 · (4 − popcount(n))`: the weight-8 term counted on the
    /// complement, so every byte stays non-negative (see [`chunk_bytes`]).
    w8c: __m256i,
}

impl Tables {
    #[inline]
    #[target_feature(enable = "avx2")]
    fn new() -> Tables {
        let table = |k: i8, complement: bool| {
            let t: [i8; 16] = std::array::from_fn(|n| {
                let p = (n as u8).count_ones() as i8;
                k * if complement { 4 - p } else { p }
            });
            _mm256_setr_epi8(
                t[0], t[1], t[2], t[3], t[4], t[5], t[6], t[7], t[8], t[9], t[10], t[11], t[12],
                t[13], t[14], t[15], t[0], t[1], t[2], t[3], t[4], t[5], t[6], t[7], t[8], t[9],
                t[10], t[11], t[12], t[13], t[14], t[15],
            )
        };
        Tables {
            w1: table(1, false),
            w2: table(2, false),
            w4: table(4, false),
            w8c: table(8, true),
        }
    }
}

/// The query planes split by nibble once per call: `lo` holds the low
/// nibble of every byte, `hi` the high one shifted down, and plane 3 is
/// complemented first (the kernel counts `c ∧ ¬p3`). Every byte of a split
/// plane has its high nibble clear, so `lo ∧ c` and `hi ∧ (c >> 4)` are
/// table indices as they are: a code chunk costs one shift, and each plane
/// one AND per half before its lookups.
struct SplitPlanes {
    lo: Vec<u64>,
    hi: Vec<u64>,
}

impl SplitPlanes {
    fn new(planes: &[u64]) -> SplitPlanes {
        const LOW: u64 = 0x0f0f_0f0f_0f0f_0f0f;
        let w = planes.len() / QUERY_BITS;
        let plane = |i: usize| {
            if i / w == QUERY_BITS - 1 {
                !planes[i]
            } else {
                planes[i]
            }
        };
        SplitPlanes {
            lo: (0..planes.len()).map(|i| plane(i) & LOW).collect(),
            hi: (0..planes.len()).map(|i| (plane(i) >> 4) & LOW).collect(),
        }
    }
}

/// The score of 256 code bits `c` (words `at..at + 4`) per byte, plus a
/// constant: with `y = c ∧ ¬p3`, the score is `Σ_{j<3} 2^j·|p_j ∧ c| −
/// 8·|y|` (the `8·|p3 ∧ c| − 8·|c|` of the definition), and the bytes
/// hold `Σ_{j<3} 2^j·|p_j ∧ c| + 8·(8 − |y|)` per byte: between 0 and
/// 8 + 16 + 32 + 64 = 120, so two chunks add without overflow, and the
/// 32 bytes sum to the score plus `64 · 32`.
///
/// # Safety
/// `lo` and `hi` point to `QUERY_BITS` split planes (see [`SplitPlanes`])
/// of `w` words each, and `at + 4 <= w`.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn chunk_bytes(
    lo: *const u64,
    hi: *const u64,
    w: usize,
    at: usize,
    c: __m256i,
    t: Tables,
) -> __m256i {
    // SAFETY: words `at..at + 4` of plane `j < QUERY_BITS`, which starts
    // at `j * w`; `at + 4 <= w` by the caller's contract.
    let plane = |p: *const u64, j: usize| unsafe {
        _mm256_loadu_si256(p.add(j * w + at) as *const __m256i)
    };
    // The bits shifted in from the next byte meet only clear plane bits.
    let c_hi = _mm256_srli_epi16::<4>(c);
    let look = |lut: __m256i, j: usize| {
        _mm256_add_epi8(
            _mm256_shuffle_epi8(lut, _mm256_and_si256(plane(lo, j), c)),
            _mm256_shuffle_epi8(lut, _mm256_and_si256(plane(hi, j), c_hi)),
        )
    };
    _mm256_add_epi8(
        _mm256_add_epi8(look(t.w1, 0), look(t.w2, 1)),
        _mm256_add_epi8(look(t.w4, 2), look(t.w8c, 3)),
    )
}

/// The bias [`chunk_bytes`] adds to each chunk's score.
const CHUNK_BIAS: i64 = 64 * 32;

/// The first `chunks` 256-bit chunks of the code at `code`, scored into
/// four 64-bit lanes whose sum is the score plus `chunks · CHUNK_BIAS`.
/// Chunks are added in pairs as bytes (at most 240) before each byte sum.
///
/// # Safety
/// `code` points to `4 · chunks` readable words, and `lo`, `hi` to
/// `QUERY_BITS` split planes of `w >= 4 · chunks` words.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn row_lanes(
    lo: *const u64,
    hi: *const u64,
    w: usize,
    code: *const u64,
    chunks: usize,
    t: Tables,
) -> __m256i {
    let zero = _mm256_setzero_si256();
    let mut acc = zero;
    let mut z = 0;
    // SAFETY: called for chunks `z < chunks` only, words `4z..4z + 4` of
    // the code, inside it by the contract.
    let load = |z: usize| unsafe { _mm256_loadu_si256(code.add(4 * z) as *const __m256i) };
    while z + 2 <= chunks {
        // SAFETY: chunks `z` and `z + 1 < chunks` are words `4z..4z + 8`
        // of the code and of each plane, inside both by the contract.
        let v = unsafe {
            _mm256_add_epi8(
                chunk_bytes(lo, hi, w, 4 * z, load(z), t),
                chunk_bytes(lo, hi, w, 4 * z + 4, load(z + 1), t),
            )
        };
        acc = _mm256_add_epi64(acc, _mm256_sad_epu8(v, zero));
        z += 2;
    }
    if z < chunks {
        // SAFETY: chunk `z < chunks`, inside the code and planes as above.
        let v = unsafe { chunk_bytes(lo, hi, w, 4 * z, load(z), t) };
        acc = _mm256_add_epi64(acc, _mm256_sad_epu8(v, zero));
    }
    acc
}

/// `[Σ a0, Σ a1, Σ a2, Σ a3]` of four vectors of four 64-bit lanes.
#[inline]
#[target_feature(enable = "avx2")]
fn sum_lanes4(a0: __m256i, a1: __m256i, a2: __m256i, a3: __m256i) -> __m256i {
    // [a0 01, a1 01, a0 23, a1 23] and the same for a2, a3.
    let t01 = _mm256_add_epi64(_mm256_unpacklo_epi64(a0, a1), _mm256_unpackhi_epi64(a0, a1));
    let t23 = _mm256_add_epi64(_mm256_unpacklo_epi64(a2, a3), _mm256_unpackhi_epi64(a2, a3));
    _mm256_add_epi64(
        _mm256_permute2x128_si256::<0x20>(t01, t23),
        _mm256_permute2x128_si256::<0x31>(t01, t23),
    )
}

/// How many rows ahead of the rows it scores the AVX2 scan prefetches
/// (measured on the 1.49M-code scan: 8 and 32 were slower).
const PREFETCH_ROWS: usize = 16;

/// The AVX2 scan: four rows per pass, their lane sums reduced together;
/// words past the last whole chunk (when `w` is not a multiple of 4) are
/// scored by the scalar code.
///
/// # Safety
/// The CPU has AVX2; `planes` holds `QUERY_BITS` planes of `w >= 4`
/// words and `codes` holds `out.len()` codes of `w` words.
#[target_feature(enable = "avx2")]
unsafe fn avx2(planes: &[u64], w: usize, codes: &[u64], out: &mut [i32]) {
    let t = Tables::new();
    let split = SplitPlanes::new(planes);
    let chunks = w / 4;
    let bias = CHUNK_BIAS * chunks as i64;
    let (lo, hi, cp) = (split.lo.as_ptr(), split.hi.as_ptr(), codes.as_ptr());
    let tail = |r: usize| {
        if chunks * 4 == w {
            0
        } else {
            score_words(planes, &codes[r * w..(r + 1) * w], w, chunks * 4)
        }
    };
    // SAFETY: row `r < out.len()` starts at `r * w` and has `w >= 4 ·
    // chunks` words; the split planes have the shape of `planes`.
    let row = |r: usize| unsafe { row_lanes(lo, hi, w, cp.add(r * w), chunks, t) };
    let groups = out.len() / 4;
    for g in 0..groups {
        let r = 4 * g;
        // The scan is bound by memory as much as by the tables: ask for
        // the rows a few passes ahead, which the hardware prefetcher does
        // not fetch early enough (this halved a scan of 1.49M codes).
        let ahead = cp.wrapping_add((r + PREFETCH_ROWS) * w) as *const i8;
        for line in (0..4 * w * 8).step_by(64) {
            // A prefetch is a hint that never faults, whatever the address
            // (the pointer is formed with `wrapping_add`): a safe intrinsic.
            _mm_prefetch::<_MM_HINT_T0>(ahead.wrapping_add(line));
        }
        let s = sum_lanes4(row(r), row(r + 1), row(r + 2), row(r + 3));
        let mut lanes = [0i64; 4];
        // SAFETY: `lanes` is 32 writable bytes.
        unsafe { _mm256_storeu_si256(lanes.as_mut_ptr() as *mut __m256i, s) };
        for (i, l) in lanes.iter().enumerate() {
            out[r + i] = (l - bias) as i32 + tail(r + i);
        }
    }
    for (r, o) in out.iter_mut().enumerate().skip(groups * 4) {
        let mut lanes = [0i64; 4];
        // SAFETY: `lanes` is 32 writable bytes.
        unsafe { _mm256_storeu_si256(lanes.as_mut_ptr() as *mut __m256i, row(r)) };
        *o = (lanes.iter().sum::<i64>() - bias) as i32 + tail(r);
    }
}
