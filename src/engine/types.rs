//! The front door's vocabulary: options in, reports and hits out, and the
//! settings an index records. Plain data, so the CLI, a server and tests
//! all speak the same types.

use serde::{Deserialize, Serialize};

use super::{Codes, PathFilter};
use crate::corpus::{SkipReason, WalkOptions};
use crate::embed::EmbedderSettings;
use crate::index::HnswParams;

/// How the dense candidates are found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum IndexKind {
    /// An exact scan of every row.
    Flat,
    /// A walk of an HNSW graph over the dense rows (1-bit codes or f32).
    Hnsw,
}

impl IndexKind {
    /// The name the CLI and `info` use.
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
    /// How text becomes vectors.
    pub embedder: EmbedderSettings,
    /// Flat or HNSW.
    pub kind: IndexKind,
    /// Language tags; passages refer to them by position.
    pub langs: Vec<String>,
}

/// One indexed document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocMeta {
    /// Its path as given when it was indexed.
    pub path: String,
    /// Its size.
    pub bytes: u64,
    /// XXH3-64 of the file's bytes (seed 0).
    pub content_hash: u64,
    /// Modification time in ns since the epoch (0 if unknown); with `bytes`
    /// it lets `--update` skip unchanged files without reading them.
    pub mtime_ns: u64,
    /// Removed or replaced by an update; its passages are tombstoned until
    /// the next compaction.
    pub deleted: bool,
    /// For a paged document (PDF), the byte offset in its text where each
    /// page starts; empty otherwise. Stored in a section of its own (format
    /// 7), so the document table keeps its encoding.
    #[serde(skip)]
    pub pages: Vec<u64>,
}

/// One passage, owned (to build a passage table from).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PassageMeta {
    /// Position of its document.
    pub doc: u32,
    /// Position of its language tag in the config.
    pub lang: u16,
    /// First line (1-based).
    pub line_start: u32,
    /// Last line (1-based, inclusive).
    pub line_end: u32,
    /// Byte offset of the passage in the document.
    pub byte_start: u64,
    /// Byte offset just past the passage.
    pub byte_end: u64,
    /// The passage's text.
    pub text: String,
}

/// Receives progress and warnings from long operations. The CLI draws bars;
/// the library only counts.
pub trait Reporter: Sync {
    /// A stage of `total` steps begins.
    fn stage(&self, _name: &str, _total: u64) {}
    /// `n` more steps of the stage are done.
    fn inc(&self, _n: u64) {}
    /// Something was skipped or is odd, in one line.
    fn warn(&self, _message: &str) {}
    /// The current stage is over.
    fn finish(&self) {}
}

/// A reporter that ignores everything.
pub struct Quiet;
impl Reporter for Quiet {}

/// How to build an index.
#[derive(Debug, Clone)]
pub struct BuildOptions {
    /// How text becomes vectors.
    pub embedder: EmbedderSettings,
    /// Flat or HNSW.
    pub kind: IndexKind,
    /// Which files to read.
    pub walk: WalkOptions,
    /// Graph parameters, used when `kind` is HNSW.
    pub hnsw: HnswParams,
    /// How the dense vectors are stored; `None` picks [`Codes::Bits`],
    /// which a flat scan and a graph walk both read.
    pub codes: Option<Codes>,
    /// The file the index will be saved to, if any: the build then keeps
    /// its term counts in an unlinked scratch file in that folder rather
    /// than in memory (about 1 GB for 150 MB of text).
    pub spill_beside: Option<std::path::PathBuf>,
}

impl BuildOptions {
    /// The stored form of the dense vectors these options ask for.
    pub fn codes(&self) -> Codes {
        self.codes.unwrap_or(Codes::Bits)
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
            spill_beside: None,
        }
    }
}

/// What a build did.
#[derive(Debug, Clone, Default)]
pub struct BuildReport {
    /// Files the walk found.
    pub files_seen: usize,
    /// Files skipped, and why.
    pub skipped: Vec<(String, SkipReason)>,
    /// Documents indexed.
    pub documents: usize,
    /// Passages indexed.
    pub passages: usize,
    /// Wall time.
    pub seconds: f64,
}

/// How to answer a query.
#[derive(Debug, Clone)]
pub struct SearchOptions {
    /// Hits to return (at least 1).
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
    /// Only passages of documents whose path passes this filter.
    pub paths: Option<PathFilter>,
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
            paths: None,
        }
    }
}

/// One result. `rank` is 1-based.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hit {
    /// 1-based.
    pub rank: usize,
    /// The exact re-score (or the dense score without re-scoring).
    pub score: f32,
    /// The passage id.
    pub passage: u32,
    /// The document's path, as shown (see `engine/paths.rs`).
    pub doc: String,
    /// The page (1-based) of a passage of a paged document (PDF).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page: Option<u32>,
    /// First line (1-based).
    pub line_start: u32,
    /// Last line (1-based, inclusive).
    pub line_end: u32,
    /// Byte offset of the passage in the document.
    pub byte_start: u64,
    /// Byte offset just past the passage.
    pub byte_end: u64,
    /// The passage's language tag.
    pub lang: String,
    /// The passage's text.
    pub text: String,
}

/// What `vecsearch info` reports.
#[derive(Debug, Clone, Serialize)]
pub struct IndexInfo {
    /// Live passages (tombstones not counted).
    pub passages: usize,
    /// Passages of removed files awaiting compaction.
    pub deleted_passages: usize,
    /// Documents indexed.
    pub documents: usize,
    /// Live passages per language tag.
    pub languages: Vec<(String, usize)>,
    /// Dimension of the dense vectors.
    pub dim: u32,
    /// "flat" or "hnsw".
    pub kind: &'static str,
    /// Size of the file, when the index was read from one.
    pub bytes: Option<u64>,
    /// The file's format version.
    pub format_version: u32,
    /// Distinct terms in the idf table.
    pub terms: usize,
    /// The hash seed.
    pub seed: u64,
    /// The SIMD kernel set this process uses.
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
    /// The section's name.
    pub name: String,
    /// Its size.
    pub bytes: u64,
}
