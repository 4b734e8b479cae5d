//! vecsearch: offline multilingual semantic search.
pub mod vector;
pub mod corpus;
pub mod embed;
pub mod error;
pub mod index;
pub mod store;
pub mod text;
