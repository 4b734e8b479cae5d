//! A handle for answering queries from many threads: cheap to clone, and
//! `Send + Sync`, so a server keeps one per index and hands a clone to
//! each request. Swapping in a new file is making a new `Searcher`;
//! requests holding the old one finish on the old mapping.

use std::sync::Arc;

use super::types::{Hit, IndexInfo, SearchOptions};
use super::Index;
use crate::error::Result;

/// A shared, read-only index. See the module docs.
#[derive(Clone)]
pub struct Searcher {
    index: Arc<Index>,
}

impl Searcher {
    /// Shares `index`.
    pub fn new(index: Index) -> Searcher {
        Searcher {
            index: Arc::new(index),
        }
    }

    /// The shared index.
    pub fn index(&self) -> &Index {
        &self.index
    }

    /// Whether another clone of this handle is alive: when it is not, dropping
    /// this one frees the index.
    pub fn is_shared(&self) -> bool {
        Arc::strong_count(&self.index) > 1
    }

    /// See [`Index::search`].
    pub fn search(&self, query: &str, opts: &SearchOptions) -> Result<Vec<Hit>> {
        self.index.search(query, opts)
    }

    /// See [`Index::search_batch`].
    pub fn search_batch(&self, queries: &[String], opts: &SearchOptions) -> Vec<Result<Vec<Hit>>> {
        self.index.search_batch(queries, opts)
    }

    /// See [`Index::similar`].
    pub fn similar(&self, id: u32, opts: &SearchOptions) -> Result<Vec<Hit>> {
        self.index.similar(id, opts)
    }

    /// See [`Index::info`].
    pub fn info(&self) -> Result<IndexInfo> {
        self.index.info()
    }
}

impl From<Index> for Searcher {
    fn from(index: Index) -> Self {
        Searcher::new(index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn searcher_is_shareable() {
        fn shareable<T: Send + Sync + Clone + 'static>() {}
        shareable::<Searcher>();
    }
}
