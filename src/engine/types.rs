//! The front door's vocabulary: options in, reports and hits out, and the
//! settings an index records. Plain data, so the CLI, a server and tests
//! all speak the same types.

use serde::{Deserialize, Serialize};

use super::Codes;
use crate::corpus::{SkipReason, WalkOptions};
use crate::embed::EmbedderSettings;
use crate::index::HnswParams;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum IndexKind {
    Flat,
    Hnsw,
}

impl IndexKind {
    pub fn name(self) -> &'static str {
        match self {
            IndexKind::Flat => "flat",
            IndexKind::Hnsw => "hnsw",
        }
    }
}

/// Everything that decides how text becomes vectors, saved in the index.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IndexConfig {
    pub embedder: EmbedderSettings,
    pub kind: IndexKind,
    /// Language tags; passages refer to them by position.
    pub langs: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocMeta {
    pub path: String,
    pub bytes: u64,
    /// XXH3-64 of the file's bytes (seed 0).
    pub content_hash: u64,
    /// Modification time in ns since the epoch (0 if unknown); with `bytes`
    /// it lets `--update` skip unchanged files without reading them.
    pub mtime_ns: u64,
    /// Removed or replaced by an update; its passages are tombstoned until
    /// the next compaction.
    pub deleted: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PassageMeta {
    pub doc: u32,
    pub lang: u16,
    pub line_start: u32,
    pub line_end: u32,
    pub byte_start: u64,
    pub byte_end: u64,
    pub text: String,
}

/// Receives progress and warnings from long operations. The CLI draws bars;
/// the library only counts.
pub trait Reporter: Sync {
    fn stage(&self, _name: &str, _total: u64) {}
    fn inc(&self, _n: u64) {}
    fn warn(&self, _message: &str) {}
    fn finish(&self) {}
}

/// A reporter that ignores everything.
pub struct Quiet;
impl Reporter for Quiet {}

#[derive(Debug, Clone)]
pub struct BuildOptions {
    pub embedder: EmbedderSettings,
    pub kind: IndexKind,
    pub walk: WalkOptions,
    /// Graph parameters, used when `kind` is HNSW.
    pub hnsw: HnswParams,
    /// How the dense vectors are stored; `None` picks [`Codes::Bits`] for
    /// flat indexes and [`Codes::F32`] for HNSW, whose graph walks on f32.
    pub codes: Option<Codes>,
}

impl BuildOptions {
    /// The stored form of the dense vectors these options ask for.
    pub fn codes(&self) -> Codes {
        self.codes.unwrap_or(match self.kind {
            IndexKind::Flat => Codes::Bits,
            IndexKind::Hnsw => Codes::F32,
        })
    }
}

impl Default for BuildOptions {
    fn default() -> Self {
        BuildOptions {
            embedder: EmbedderSettings::default(),
            kind: IndexKind::Flat,
            walk: WalkOptions::default(),
            hnsw: HnswParams::default(),
            codes: None,
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct BuildReport {
    pub files_seen: usize,
    pub skipped: Vec<(String, SkipReason)>,
    pub documents: usize,
    pub passages: usize,
    pub seconds: f64,
}

#[derive(Debug, Clone)]
pub struct SearchOptions {
    pub k: usize,
    /// Only passages whose language matches this tag (`zh` covers both scripts).
    pub lang: Option<String>,
    /// Re-score the dense candidates exactly on the sparse term vectors.
    pub rerank: bool,
    /// HNSW beam width (ignored by flat indexes); `None` = [`DEFAULT_EF`].
    pub ef: Option<usize>,
    /// Scan every vector even when the index has a graph.
    pub exact: bool,
    /// Dense candidates fetched for the exact re-score; `None` = the
    /// measured default for the index's codes (see [`Codes`]). Never fewer
    /// than `k`.
    pub candidates: Option<usize>,
}

/// HNSW beam width when the caller gives none.
pub const DEFAULT_EF: usize = 64;

impl Default for SearchOptions {
    fn default() -> Self {
        SearchOptions {
            k: 10,
            lang: None,
            rerank: true,
            ef: None,
            exact: false,
            candidates: None,
        }
    }
}

/// One result. `rank` is 1-based.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hit {
    pub rank: usize,
    pub score: f32,
    pub passage: u32,
    pub doc: String,
    pub line_start: u32,
    pub line_end: u32,
    pub byte_start: u64,
    pub byte_end: u64,
    pub lang: String,
    pub text: String,
}

/// What `vecsearch info` reports.
#[derive(Debug, Clone, Serialize)]
pub struct IndexInfo {
    /// Live passages (tombstones not counted).
    pub passages: usize,
    /// Passages of removed files awaiting compaction.
    pub deleted_passages: usize,
    pub documents: usize,
    pub languages: Vec<(String, usize)>,
    pub dim: u32,
    pub kind: &'static str,
    pub bytes: Option<u64>,
    pub format_version: u32,
    pub terms: usize,
    pub seed: u64,
    pub kernel: &'static str,
    /// How the dense vectors are stored: "f32" or "bits".
    pub codes: &'static str,
    /// Bytes of each section of the file, in file order, when it was read
    /// from one.
    pub sections: Vec<SectionBytes>,
}

/// One section of an index file, for `info`.
#[derive(Debug, Clone, Serialize)]
pub struct SectionBytes {
    pub name: String,
    pub bytes: u64,
}
