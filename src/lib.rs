//! vecsearch: offline multilingual semantic search.
//!
//! Documents in any language are cut into passages ([`corpus`]), analyzed
//! by one [`text::Analyzer`] (NFKC, lowercase, UAX #29 words, CJK unigrams
//! and bigrams), embedded as hashed bags of words ([`embed`]), and searched
//! exactly ([`index::FlatIndex`], SIMD dot products from [`vector`]) with an
//! exact sparse re-scoring of the candidates. An index is one checksummed
//! file ([`store`]) opened straight from a memory map.
//!
//! ```
//! use vecsearch::{corpus::Document, BuildOptions, Index, Quiet, SearchOptions};
//!
//! let docs = vec![
//!     Document { path: "a.md".into(), text: "# Vector databases\n\nThey store embeddings.\n".into(), mtime_ns: 0 },
//!     Document { path: "b.md".into(), text: "ベクトルデータベースは埋め込みを保存する。\n".into(), mtime_ns: 0 },
//! ];
//! let (index, passages) = Index::from_documents(docs, &BuildOptions::default(), &Quiet)?;
//! assert_eq!(passages, 3);
//! let hits = index.search("ベクトルデータベース", &SearchOptions::default())?;
//! assert_eq!(hits[0].doc, "b.md");
//! assert_eq!(hits[0].lang, "ja");
//! # Ok::<(), vecsearch::Error>(())
//! ```
//!
//! Dependencies point one way: the engine (this crate's front door) uses
//! `corpus`, `embed` (which uses `text`), `index` (which uses `vector`) and
//! `store`; none of them knows the command line.

pub mod annfiles;
pub mod corpus;
pub mod embed;
mod engine;
pub mod error;
pub mod index;
pub mod store;
pub mod text;
pub mod vector;

pub use engine::{
    read_aligned, read_queries, sample, AlignedRow, BuildOptions, BuildReport, Codes,
    CrosslangReport, DocMeta, Hit, Index, IndexConfig, IndexInfo, IndexKind, PairScore,
    PassageMeta, PathFilter, QueryRow, Quiet, Reporter, SearchEvalReport, SearchOptions,
    SearchScore, SectionBytes, UpdateReport, VerifyReport,
};
pub use error::{Error, Result};
