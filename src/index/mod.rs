//! Nearest-neighbour indexes over unit vectors: exact flat scan and HNSW.
//! This layer knows vectors and ids, never words or files.

pub mod flat;
pub mod hnsw;
pub mod sparse;
pub mod topk;

pub use flat::FlatIndex;
pub use hnsw::{locality_order, Hnsw, HnswParams, HnswParts, Reordered, Searcher};
pub use sparse::{
    compact_row, sort_and_sum, term_key, SparseBuilder, SparseVectors, SparseWeight, TermRows,
};
pub use topk::{Scored, TopK};
