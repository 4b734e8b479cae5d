//! vecsearch: offline multilingual semantic search.
pub mod corpus;
pub mod embed;
mod engine;
pub mod error;
pub mod index;
pub mod store;
pub mod text;
pub mod vector;

pub use engine::{
    sample, BuildOptions, BuildReport, DocMeta, Hit, Index, IndexConfig, IndexInfo, IndexKind,
    PassageMeta, Quiet, Reporter, SearchOptions,
};
pub use error::{Error, Result};
