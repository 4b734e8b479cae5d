//! vecsearch: offline multilingual semantic search.
pub mod index;
pub mod vector;
