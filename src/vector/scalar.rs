//! Portable kernels: the reference every SIMD kernel is tested against, and
//! the fallback on machines without AVX2.

use super::Kernels;

pub const KERNELS: Kernels = Kernels {
    name: "scalar",
    dot,
    dot_block,
};

/// Four independent accumulators let the compiler overlap the adds even
/// without SIMD; the result differs from a naive sum only in rounding.
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len(), "dot: length mismatch");
    let mut acc = [0.0f32; 4];
    let chunks = a.len() / 4;
    for i in 0..chunks {
        for l in 0..4 {
            acc[l] += a[4 * i + l] * b[4 * i + l];
        }
    }
    let mut sum = (acc[0] + acc[1]) + (acc[2] + acc[3]);
    for i in chunks * 4..a.len() {
        sum += a[i] * b[i];
    }
    sum
}

pub fn dot_block(query: &[f32], block: &[f32], out: &mut [f32]) {
    let dim = query.len();
    assert_eq!(
        block.len(),
        dim * out.len(),
        "dot_block: block size mismatch"
    );
    for (row, o) in block.chunks_exact(dim.max(1)).zip(out.iter_mut()) {
        *o = dot(query, row);
    }
}
