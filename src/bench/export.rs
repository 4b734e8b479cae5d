//! An index's vectors (and embedded queries) as .fvecs or .npy, so any
//! peer library runs on exactly what vecsearch indexes.

use std::path::Path;

use super::annfiles;
use crate::engine::Index;
use crate::error::Result;

/// Writes the index's dense vectors (f32; 1-bit codes are embedded again
/// from the stored text) to `fvecs` and/or `npy`. Returns (rows, dim).
pub fn export_vectors(
    index: &Index,
    fvecs: Option<&Path>,
    npy: Option<&Path>,
) -> Result<(usize, usize)> {
    let flat = index.flat();
    if let Some(out) = fvecs {
        annfiles::write_fvecs(out, flat.vectors(), flat.dim())?;
    }
    if let Some(out) = npy {
        annfiles::write_npy(out, flat.vectors(), flat.len(), flat.dim())?;
    }
    Ok((flat.len(), flat.dim()))
}

/// The unit dense vectors of `queries` as one row-major matrix, and how
/// many queries were left out (empty, wordless, or sharing no term with
/// the index).
pub fn embed_queries<'a>(
    index: &Index,
    queries: impl IntoIterator<Item = &'a str>,
) -> (Vec<f32>, usize) {
    let mut matrix = Vec::new();
    let mut skipped = 0;
    for q in queries {
        match index.embed_query(q) {
            Ok(Some((v, _))) => matrix.extend_from_slice(&v),
            _ => skipped += 1,
        }
    }
    (matrix, skipped)
}
