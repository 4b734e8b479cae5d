//! Vector kernels: dot products over `f32` slices, chosen once at run time.
//!
//! This module is a leaf: it knows nothing of words, passages or files. Every
//! SIMD kernel has a scalar twin in [`scalar`] that tests compare it against.

mod aligned;
pub mod scalar;
mod slab;

pub use aligned::AlignedVec;
pub use slab::{Slab, SlabError};

use std::sync::OnceLock;

/// One implementation of the kernels, as a table of function pointers, so the
/// feature check runs once per process rather than once per call.
#[derive(Clone, Copy)]
pub struct Kernels {
    pub name: &'static str,
    /// `a · b` for equal-length slices.
    pub dot: fn(&[f32], &[f32]) -> f32,
    /// Scores one query against `out.len()` consecutive rows of `block`
    /// (row length = `query.len()`).
    pub dot_block: fn(&[f32], &[f32], &mut [f32]),
}

/// Every kernel set this machine can run, scalar first.
pub fn available() -> Vec<Kernels> {
    vec![scalar::KERNELS]
}

/// The fastest kernel set this machine supports.
pub fn best() -> &'static Kernels {
    static BEST: OnceLock<Kernels> = OnceLock::new();
    BEST.get_or_init(|| *available().last().expect("scalar kernels always exist"))
}

/// Dot product with the best kernel for this machine.
#[inline]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    (best().dot)(a, b)
}

/// Scores `query` against consecutive rows of `block` into `out`.
#[inline]
pub fn dot_block(query: &[f32], block: &[f32], out: &mut [f32]) {
    (best().dot_block)(query, block, out)
}

/// Scales `v` to unit L2 length; a zero vector stays zero.
pub fn normalize(v: &mut [f32]) {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        let inv = 1.0 / norm;
        v.iter_mut().for_each(|x| *x *= inv);
    }
}
