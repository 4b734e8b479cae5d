//! `vecsearch verify`: read every byte of an index and check everything.

use std::path::Path;

use serde::Serialize;

use super::{persist, Index};
use crate::error::Result;
use crate::store::{MappedFile, Verify};

/// What a clean verification saw.
#[derive(Debug, Clone, Serialize)]
pub struct VerifyReport {
    pub format_version: u32,
    pub kind: &'static str,
    pub sections: usize,
    pub bytes: u64,
    /// Live passages and documents, counted as `info` counts them.
    pub passages: usize,
    pub documents: usize,
    /// Passages of removed files awaiting compaction (checked all the same).
    pub deleted_passages: usize,
}

impl Index {
    /// Checks the header, the section table and footer, every section's
    /// checksum, the whole-file checksum and every decoded invariant (ids
    /// in range, counts agree, sparse keys sorted, graph links valid). The
    /// error names the first bad part.
    pub fn verify(path: &Path) -> Result<VerifyReport> {
        let file = MappedFile::open(path, Verify::Full)?;
        let index = persist::from_file(&file, true)?;
        let dead = index.deleted.iter().filter(|d| **d).count();
        Ok(VerifyReport {
            format_version: file.header.version,
            kind: index.config.kind.name(),
            sections: file.section_count(),
            bytes: file.len(),
            passages: index.passages.len() - dead,
            documents: index.docs.iter().filter(|d| !d.deleted).count(),
            deleted_passages: dead,
        })
    }

    /// Opens with every check [`Index::verify`] makes.
    pub fn open_verified(path: &Path) -> Result<Index> {
        persist::open(path, true)
    }
}
