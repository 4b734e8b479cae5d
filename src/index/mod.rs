//! Nearest-neighbour indexes over unit vectors: exact flat scan (of f32
//! vectors or of 1-bit codes) and HNSW.
//! This layer knows vectors and ids, never words or files.

pub mod codes;
pub mod flat;
pub mod hnsw;
pub mod sparse;
pub mod terms;
#[doc(hidden)]
pub mod testing;
pub mod topk;

pub use crate::vector::Rows;
pub use codes::BitIndex;
pub use flat::FlatIndex;
pub use hnsw::{
    locality_order, plan_filtered, FilterPlan, Hnsw, HnswParams, HnswParts, Reordered, Searcher,
};
pub use sparse::{
    compact_row, sort_and_sum, SparseBuilder, SparseVectors, SparseWeight, TermRowsV5,
};
pub use terms::{term_key, QueryRow, TermRows, TermRowsBuilder};
pub use topk::{Collect, Scored, TopK, TopPool};
