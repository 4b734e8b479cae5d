//! vecsearch: offline multilingual semantic search.
//!
//! Documents in any language are cut into passages, analyzed (NFKC,
//! lowercase, UAX #29 words, CJK unigrams and bigrams), embedded as hashed
//! bags of words, and searched through SIMD scans of 1-bit codes or f32
//! vectors, or an HNSW graph, with an exact sparse re-scoring of the
//! candidates. An index is one checksummed file opened straight from a
//! memory map.
//!
//! The public API is what this page lists:
//! - [`Index`]: [`Index::build`] / [`Index::from_documents`],
//!   [`Index::open`], [`Index::search`], [`Index::similar`], [`Index::info`];
//! - [`IndexWriter`]: the one way to write an index file; it holds the
//!   file's writer lock for its whole life (build, `update`, `compact`,
//!   `save`);
//! - [`Searcher`]: an open index shared across threads (`Send + Sync`,
//!   cheap to clone);
//! - [`eval`] and [`bench`](mod@bench): measurement harnesses over the API;
//!   [`lexicon`]: learning translation lexicons.
//!
//! ```
//! use vecsearch::{BuildOptions, Document, Index, Quiet, SearchOptions};
//!
//! let docs = vec![
//!     Document::new("a.md", "# Vector databases\n\nThey store embeddings.\n", 0),
//!     Document::new("b.md", "ベクトルデータベースは埋め込みを保存する。\n", 0),
//! ];
//! let (index, passages) = Index::from_documents(docs, &BuildOptions::default(), &Quiet)?;
//! assert_eq!(passages, 3);
//! let hits = index.search("ベクトルデータベース", &SearchOptions::default())?;
//! assert_eq!(hits[0].doc, "b.md");
//! assert_eq!(hits[0].lang, "ja");
//! # Ok::<(), vecsearch::Error>(())
//! ```
//!
//! From a folder to a file and back: [`Index::build`] walks the folder,
//! saving goes through a writer, which takes the file's lock (and can
//! build into the file itself, [`IndexWriter::build`]), and
//! [`Index::open`] maps the file again:
//!
//! ```
//! use vecsearch::{BuildOptions, Index, IndexWriter, Quiet, SearchOptions};
//!
//! let dir = tempfile::tempdir().expect("a temporary folder");
//! let notes = dir.path().join("notes");
//! std::fs::create_dir(&notes).expect("a folder of notes");
//! std::fs::write(notes.join("en.md"), "# Vector databases\n\nThey store embeddings.\n").unwrap();
//! std::fs::write(notes.join("ja.md"), "ベクトルデータベースは埋め込みを保存する。\n").unwrap();
//!
//! let (mut index, report) = Index::build(&[notes.clone()], &BuildOptions::default(), &Quiet)?;
//! assert_eq!(report.documents, 2);
//! let file = dir.path().join("notes.vsx");
//! IndexWriter::create(&file, false, |_busy| {})?.save(&mut index)?;
//!
//! // Or build straight into a file, the parts that grow with the corpus
//! // never all in memory: the same bytes.
//! let direct = dir.path().join("direct.vsx");
//! let writer = IndexWriter::create(&direct, false, |_busy| {})?;
//! let (report, _bytes) = writer.build(&[notes], &BuildOptions::default(), &Quiet)?;
//! assert_eq!(report.passages, index.passages().len());
//! assert!(std::fs::read(&direct).unwrap() == std::fs::read(&file).unwrap());
//!
//! let index = Index::open(&file)?;
//! let hits = index.search("ベクトルデータベース", &SearchOptions::default())?;
//! assert!(hits[0].doc.ends_with("ja.md"));
//! # Ok::<(), vecsearch::Error>(())
//! ```
//!
//! Inside, dependencies point one way: the engine (the front door) uses
//! `corpus`, `embed` (which uses `text`), `index` (which uses `vector`) and
//! `store`; none of them knows the command line. See ARCHITECTURE.md.

#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]
#![warn(clippy::undocumented_unsafe_blocks)]

pub mod bench;
// The parts: documented for the crate's own readers; what is public of
// them is re-exported below and documented where it is defined.
#[allow(missing_docs)]
mod corpus;
#[allow(missing_docs)]
mod embed;
mod engine;
mod error;
pub mod eval;
#[allow(missing_docs)]
mod index;
pub mod lexicon;
#[allow(missing_docs)]
mod store;
#[allow(missing_docs)]
mod text;
#[allow(missing_docs)]
mod vector;

pub use corpus::{
    check_globs as check_file_globs, Document, SkipReason, WalkLog, WalkOptions, WalkStats,
};
pub use embed::{EmbedderSettings, DEFAULT_DIM, DEFAULT_SEED, MAX_DIM};
pub use engine::{
    read_query_lines, sample, BuildOptions, BuildReport, Codes, DocMeta, Hit, Index, IndexConfig,
    IndexInfo, IndexKind, IndexWriter, PassageMeta, PathFilter, QueryLine, Quiet, Reporter,
    SearchOptions, Searcher, SectionBytes, UpdateReport, UpdateState, VerifyReport, DEFAULT_EF,
};
pub use error::{Error, Result};
/// Qdrant points out and query vectors in (see `vecsearch export --qdrant`
/// and `vecsearch embed`).
pub mod points {
    pub use crate::engine::{
        point_id, query_vectors, write_points_from_paths, IdfPlacement, PointOptions, PointsReport,
        QueryVectors, SparseVector, DENSE_VECTOR_NAME, POINTS_FORMAT, SPARSE_VECTOR_NAME,
    };
}
pub use index::HnswParams;
pub use text::AnalyzerSettings;

pub use store::{abandon_writes, Abandoned};

/// The crate's parts, for its own tests, benchmarks and examples. Not a
/// stable API: anything here may change in any release.
#[doc(hidden)]
pub mod internals {
    pub use crate::error::Malformed;
    /// See the crate's `corpus` module.
    pub mod corpus {
        pub use crate::corpus::*;
    }
    /// See the crate's `embed` module.
    pub mod embed {
        pub use crate::embed::*;
    }
    /// See the crate's `index` module.
    pub mod index {
        pub use crate::index::*;
    }
    /// See the crate's `store` module.
    pub mod store {
        pub use crate::store::*;
    }
    /// See the crate's `text` module.
    pub mod text {
        pub use crate::text::*;
    }
    /// See the crate's `vector` module.
    pub mod vector {
        pub use crate::vector::*;
    }
}
