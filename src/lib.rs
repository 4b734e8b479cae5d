//! vecsearch: offline multilingual semantic search.
pub mod annfiles;
pub mod vector;
