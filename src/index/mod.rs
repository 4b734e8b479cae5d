//! Approximate and exact nearest-neighbour indexes over unit vectors.

pub mod hnsw;
