//! vecsearch: offline multilingual semantic search.
pub mod vector;
pub mod text;
