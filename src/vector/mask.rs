//! Which scores of a group reach a threshold, as one bit each: the first
//! step of offering a block of scores to a top-k pool, where almost every
//! score is below the pool's threshold and only the few set bits are
//! visited afterwards.
//!
//! Why SSE2 and no dispatch: it is part of every x86-64 CPU, so the
//! compares need no run-time check, and four lanes a compare already make
//! the mask a small part of the offer (the portable loop, which the
//! compiler turned into variable shifts, took 15% of a 1,000-query flat
//! batch).

/// Most scores one mask covers.
pub const MASK_LANES: usize = 64;

/// Bit `i` set when `scores[i] >= threshold` (never for NaN), for at most
/// [`MASK_LANES`] scores; the same bits on every machine.
#[inline]
pub fn at_least_mask(scores: &[f32], threshold: f32) -> u64 {
    assert!(
        scores.len() <= MASK_LANES,
        "at_least_mask: more than 64 scores"
    );
    #[cfg(target_arch = "x86_64")]
    {
        sse2(scores, threshold)
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        at_least_mask_scalar(scores, threshold)
    }
}

/// The reference: one compare per score.
pub fn at_least_mask_scalar(scores: &[f32], threshold: f32) -> u64 {
    scores
        .iter()
        .enumerate()
        .fold(0u64, |m, (i, &s)| m | ((s >= threshold) as u64) << i)
}

#[cfg(target_arch = "x86_64")]
#[inline]
fn sse2(scores: &[f32], threshold: f32) -> u64 {
    // SAFETY: SSE2 is part of x86-64: every CPU this build runs on has it.
    unsafe { sse2_body(scores, threshold) }
}

#[cfg(target_arch = "x86_64")]
#[inline]
#[target_feature(enable = "sse2")]
fn sse2_body(scores: &[f32], threshold: f32) -> u64 {
    use std::arch::x86_64::*;
    let t = _mm_set1_ps(threshold);
    let whole = scores.len() / 4 * 4;
    let mut mask = 0u64;
    for (g, four) in scores[..whole].chunks_exact(4).enumerate() {
        // SAFETY: `four` is 4 readable f32.
        let v = unsafe { _mm_loadu_ps(four.as_ptr()) };
        // `cmpge` is an ordered compare: false for NaN, as `>=` is.
        let bits = _mm_movemask_ps(_mm_cmpge_ps(v, t)) as u64;
        mask |= bits << (4 * g);
    }
    if whole < scores.len() {
        // `whole < 64` here, so the shift is in range.
        mask |= at_least_mask_scalar(&scores[whole..], threshold) << whole;
    }
    mask
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn edge_values_match_the_reference() {
        let specials = [
            f32::NAN,
            f32::INFINITY,
            f32::NEG_INFINITY,
            0.0,
            -0.0,
            1.0,
            -1.0,
            f32::MIN_POSITIVE,
            -f32::MIN_POSITIVE,
            f32::MAX,
        ];
        let scores: Vec<f32> = (0..MASK_LANES)
            .map(|i| specials[i % specials.len()])
            .collect();
        for &t in &specials {
            for n in 0..=MASK_LANES {
                let got = at_least_mask(&scores[..n], t);
                assert_eq!(got, at_least_mask_scalar(&scores[..n], t), "n {n} t {t}");
            }
        }
        // Equal scores are kept, NaN never is.
        assert_eq!(at_least_mask(&[0.5, 0.5, f32::NAN], 0.5), 0b011);
        assert_eq!(at_least_mask(&[1.0; 64], f32::NEG_INFINITY), u64::MAX);
    }

    #[test]
    #[should_panic(expected = "more than 64")]
    fn refuses_more_than_64_scores() {
        at_least_mask(&[0.0; 65], 0.0);
    }

    proptest! {
        #[test]
        fn prop_matches_the_reference(
            scores in proptest::collection::vec(-2.0f32..2.0, 0..=64),
            t in -2.0f32..2.0,
        ) {
            prop_assert_eq!(at_least_mask(&scores, t), at_least_mask_scalar(&scores, t));
        }
    }
}
