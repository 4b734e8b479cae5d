//! Seeded test data for tests, benches, examples and the `bench` command.
//! Support code, not part of the index API: hidden from the docs and free to
//! change.

use super::hnsw::SplitMix64;

fn gaussian(rng: &mut SplitMix64) -> f32 {
    // Box-Muller; one of the pair is enough here.
    let (u1, u2) = (rng.next_f64(), rng.next_f64());
    ((-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()) as f32
}

/// `n` unit rows of length `dim`: `clusters` random unit centres, each
/// row a centre plus isotropic noise of standard deviation `sigma` per
/// coordinate, normalised.
pub fn clustered(n: usize, dim: usize, clusters: usize, sigma: f32, seed: u64) -> Vec<f32> {
    let mut rng = SplitMix64(seed);
    let mut centres = vec![0f32; clusters.max(1) * dim];
    for c in centres.chunks_exact_mut(dim.max(1)) {
        c.iter_mut().for_each(|x| *x = gaussian(&mut rng));
        crate::vector::normalize(c);
    }
    let mut out = vec![0f32; n * dim];
    for r in out.chunks_exact_mut(dim.max(1)) {
        let c = (rng.next_u64() % clusters.max(1) as u64) as usize;
        let centre = &centres[c * dim..(c + 1) * dim];
        for (x, &cx) in r.iter_mut().zip(centre) {
            *x = cx + sigma * gaussian(&mut rng);
        }
        crate::vector::normalize(r);
    }
    out
}

/// `n` unit rows shaped like hashed text vectors: `terms` signed buckets
/// of a wide `dim` each (the rest zero), with weights in 1..2.
pub fn hashed(n: usize, dim: usize, terms: usize, seed: u64) -> Vec<f32> {
    let mut rng = SplitMix64(seed);
    let mut out = vec![0f32; n * dim];
    for row in out.chunks_exact_mut(dim.max(1)) {
        for _ in 0..terms {
            let h = rng.next_u64();
            let w = 1.0 + (h >> 40) as f32 / (1u64 << 24) as f32;
            row[(h % dim as u64) as usize] += if h >> 63 == 1 { -w } else { w };
        }
        crate::vector::normalize(row);
    }
    out
}

/// Exact top-`k` ids by inner product, best first (ties by id).
pub fn brute_force(vectors: &[f32], dim: usize, query: &[f32], k: usize) -> Vec<u32> {
    let mut scored: Vec<(f32, u32)> = vectors
        .chunks_exact(dim)
        .enumerate()
        .map(|(i, r)| (crate::vector::dot(query, r), i as u32))
        .collect();
    scored.sort_unstable_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    scored.truncate(k);
    scored.into_iter().map(|(_, i)| i).collect()
}
