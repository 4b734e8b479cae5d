//! One row against four: the HNSW build's neighbour selection compares a
//! candidate with every link kept so far, row after row, and the back-link
//! merges compare every pair of a node's links. Scoring four rows per call
//! shares the loads of the first row and the call itself, and each result
//! is bit for bit the kernel set's own `dot`, so the graph is the same
//! whichever of the two computed a similarity.

use super::Kernels;

/// `dot4(a, [b0, b1, b2, b3])`: `[dot(a, b0), .., dot(a, b3)]`, each exactly
/// what the kernel set it belongs to gives for `dot`.
///
/// # Panics
/// If a row's length differs from `a`'s.
pub type Dot4 = fn(&[f32], [&[f32]; 4]) -> [f32; 4];

/// The portable [`Dot4`]: the scalar set's `dot`, four times.
pub fn scalar_dot4(a: &[f32], b: [&[f32]; 4]) -> [f32; 4] {
    b.map(|r| super::scalar::dot(a, r))
}

/// The [`Dot4`] matching the kernel set called `name` (as in
/// [`Kernels::name`]); the scalar one for any other name.
pub fn dot4_for(name: &str) -> Dot4 {
    #[cfg(target_arch = "x86_64")]
    {
        use super::x86_dot4 as x;
        match name {
            "avx512" if x::has_avx512() => return x::avx512_dot4,
            "avx2" if x::has_avx2() => return x::avx2_dot4,
            _ => {}
        }
    }
    let _ = name;
    scalar_dot4
}

/// [`dot4_for`] the kernel set `k`.
pub fn dot4_of(k: &Kernels) -> Dot4 {
    dot4_for(k.name)
}

/// [`dot4_for`] the kernel set [`best`](super::best) picked, so its results
/// are [`dot`](super::dot)'s.
pub fn best_dot4() -> Dot4 {
    static BEST: std::sync::OnceLock<Dot4> = std::sync::OnceLock::new();
    *BEST.get_or_init(|| dot4_for(super::best().name))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fixed-seed generator of values in [-1, 1).
    fn numbers(mut seed: u64) -> impl FnMut() -> f32 {
        move || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((seed >> 40) as f32 / (1u64 << 23) as f32) - 1.0
        }
    }

    #[test]
    fn every_set_matches_its_own_dot_bit_for_bit() {
        let mut next = numbers(3);
        for dim in [
            0, 1, 3, 7, 8, 9, 15, 16, 17, 31, 33, 63, 64, 65, 100, 127, 128, 129, 255, 256, 257,
            1000, 1024,
        ] {
            for _ in 0..3 {
                let a: Vec<f32> = (0..dim).map(|_| next()).collect();
                let rows: Vec<Vec<f32>> =
                    (0..4).map(|_| (0..dim).map(|_| next()).collect()).collect();
                let b = [&rows[0][..], &rows[1][..], &rows[2][..], &rows[3][..]];
                for k in crate::vector::available() {
                    let got = dot4_of(&k)(&a, b);
                    for (r, g) in b.iter().zip(got) {
                        let want = (k.dot)(&a, r);
                        assert_eq!(g.to_bits(), want.to_bits(), "{} dim {dim}", k.name);
                    }
                }
            }
        }
    }

    #[test]
    #[should_panic(expected = "length mismatch")]
    fn refuses_rows_of_another_length() {
        let a = [1.0f32; 8];
        let short = [1.0f32; 7];
        best_dot4()(&a, [&a, &a, &short, &a]);
    }
}
