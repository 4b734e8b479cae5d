//! Verification: read every byte of an index and check everything.

use std::path::Path;

use serde::Serialize;

use super::{persist, Index};
use crate::error::Result;
use crate::store::{MappedFile, Verify};

/// What a clean verification saw.
#[derive(Debug, Clone, Serialize)]
pub struct VerifyReport {
    /// The file's format version.
    pub format_version: u32,
    /// "flat" or "hnsw".
    pub kind: &'static str,
    /// Sections in the file.
    pub sections: usize,
    /// Bytes in the file.
    pub bytes: u64,
    /// Live passages and documents, counted as `info` counts them.
    pub passages: usize,
    /// Live documents.
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
        let dead = index.corpus.dead();
        Ok(VerifyReport {
            format_version: file.header.version,
            kind: index.config.kind.name(),
            sections: file.section_count(),
            bytes: file.len(),
            passages: index.corpus.passages.len() - dead,
            documents: index.corpus.live_docs(),
            deleted_passages: dead,
        })
    }
}
