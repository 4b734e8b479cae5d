//! The library's front door: build an index from paths or documents, open
//! it, search it, and change it through an [`IndexWriter`]. Ties corpus →
//! embed → index → store together; knows nothing of terminals or flags.
//!
//! Where things live: [`Index`] is assembled from its parts (`parts.rs`:
//! corpus, weighting, vectors) by one constructor; each operation has a
//! file of its own against those parts: `build.rs`, `search.rs` (and
//! `similar.rs`), `update.rs`, `compact.rs`, `persist.rs` (with
//! `migrate.rs` for older files) and `verify.rs`. `writer.rs` owns the
//! writer lock; `searcher.rs` shares an open index across threads.

mod build;
mod compact;
mod counts;
mod dense;
mod doctable;
mod filter;
mod highlight;
mod migrate;
mod parts;
mod passages;
mod paths;
mod persist;
mod points;
mod queries;
pub mod sample;
mod search;
mod searcher;
mod similar;
mod spill;
mod staged;
mod types;
mod update;
mod verify;
mod writer;

pub use dense::Codes;
pub use filter::PathFilter;
pub(crate) use parts::GraphProgress;
pub(crate) use passages::PassageRecord;
pub use passages::PassageTable;
pub use points::{
    point_id, query_vectors, write_points_from_paths, IdfPlacement, PointOptions, PointsReport,
    QueryVectors, SparseVector, DENSE_VECTOR_NAME, POINTS_FORMAT, SPARSE_VECTOR_NAME,
};
pub use queries::{read_query_lines, QueryLine};
pub use searcher::Searcher;
pub use types::{
    BuildOptions, BuildReport, DocMeta, Hit, IndexConfig, IndexInfo, IndexKind, PassageMeta, Quiet,
    Reporter, SearchOptions, SectionBytes, DEFAULT_EF,
};
pub use update::{UpdateReport, UpdateState};
pub use verify::VerifyReport;
pub use writer::IndexWriter;

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::index::{FlatIndex, Hnsw, HnswParams};
use dense::Dense;
use parts::{Corpus, Origin, Vectors, Weighting};

/// An index: documents cut into passages, their weights and their vectors.
/// Immutable once made; an [`IndexWriter`] saves new versions of it.
pub struct Index {
    config: IndexConfig,
    corpus: Corpus,
    weighting: Weighting,
    vectors: Vectors,
    origin: Origin,
    /// Live passages per language and per document, counted the first time
    /// a filtered graph search plans its walk.
    live_counts: std::sync::OnceLock<(Vec<usize>, Vec<usize>)>,
    /// Tombstoned passages, counted once (a graph search plans with it).
    dead: std::sync::OnceLock<usize>,
    /// The idf table's lookup hint, shared by every thread: built by
    /// [`Index::make_resident`] for a long-running process; a one-off
    /// query does without (a pass over the table costs more than it saves).
    idf_hint: std::sync::OnceLock<crate::embed::IdfHint>,
    /// Every block of the file was checked when it was opened
    /// ([`Index::open_verified`]): a query need not look up, node by node,
    /// whether the blocks it read were.
    verified: bool,
}

impl Index {
    /// The one constructor: every way of making an index (build, open,
    /// update, compact) ends here.
    fn assemble(
        config: IndexConfig,
        corpus: Corpus,
        weighting: Weighting,
        vectors: Vectors,
        origin: Origin,
    ) -> Index {
        debug_assert_eq!(corpus.deleted.len(), corpus.passages.len());
        debug_assert_eq!(vectors.sparse.rows(), corpus.passages.len());
        Index {
            config,
            corpus,
            weighting,
            vectors,
            origin,
            live_counts: std::sync::OnceLock::new(),
            dead: std::sync::OnceLock::new(),
            idf_hint: std::sync::OnceLock::new(),
            verified: false,
        }
    }

    /// The built-in sample corpus, indexed in memory.
    pub fn sample(opts: &BuildOptions) -> Result<Index> {
        Ok(Self::from_documents(sample::documents(), opts, &Quiet)?.0)
    }

    /// Opens an index in O(1) of its vectors: structure, metadata checksums
    /// and bounds are checked; the bulk sections are verified block by
    /// block as queries read them (and all at once by [`Index::verify`]).
    pub fn open(path: &Path) -> Result<Index> {
        persist::open(path, false)
    }

    /// Opens with every check [`Index::verify`] makes: for carrying an
    /// index's contents into a new file.
    pub fn open_verified(path: &Path) -> Result<Index> {
        let mut index = persist::open(path, true)?;
        index.verified = true;
        Ok(index)
    }

    /// The settings the index was built with.
    pub fn config(&self) -> &IndexConfig {
        &self.config
    }

    /// Every document, tombstoned ones included.
    pub fn docs(&self) -> &[DocMeta] {
        &self.corpus.docs
    }

    /// Passage records, indexable by passage id.
    pub fn passages(&self) -> &PassageTable {
        &self.corpus.passages
    }

    /// The text of passage `id`.
    pub fn passage_text(&self, id: u32) -> Cow<'_, str> {
        self.corpus.passages.text(id)
    }

    /// How the dense vectors are stored.
    pub fn codes(&self) -> Codes {
        self.vectors.dense.codes()
    }

    /// Whether the index has a graph to walk.
    pub fn has_graph(&self) -> bool {
        self.vectors.graph.is_some()
    }

    /// The dense vectors as an f32 flat index: the stored rows, or for
    /// 1-bit codes, rows embedded again from the stored text (one
    /// analysis per passage; for export and benchmarks, not for search).
    pub(crate) fn flat(&self) -> Cow<'_, FlatIndex> {
        match &self.vectors.dense {
            Dense::F32(f) => Cow::Borrowed(f),
            Dense::Bits(_) => {
                let dim = self.weighting.embedder.dim();
                let mut arena = crate::vector::AlignedVec::zeroed(self.corpus.passages.len() * dim);
                arena
                    .as_mut_slice()
                    .par_chunks_mut(dim)
                    .enumerate()
                    .for_each(|(i, row)| {
                        row.copy_from_slice(&self.dense_row(i as u32));
                    });
                Cow::Owned(
                    FlatIndex::new(dim, crate::vector::Slab::from_aligned(arena))
                        .expect("whole rows of dim"),
                )
            }
        }
    }

    /// The f32 dense vector of passage `id` (see [`Index::flat`]).
    pub(crate) fn dense_row(&self, id: u32) -> Cow<'_, [f32]> {
        // Stored rows need no text (which may have to be decompressed).
        if let Dense::F32(f) = &self.vectors.dense {
            return Cow::Borrowed(f.row(id));
        }
        dense::row_of(
            &self.vectors.dense,
            &self.weighting.embedder,
            &self.weighting.idf,
            id,
            &self.corpus.passages.text(id),
        )
    }

    /// The graph and the parameters it was built with, for HNSW indexes.
    pub(crate) fn graph(&self) -> Option<&(Hnsw, HnswParams)> {
        self.vectors.graph.as_ref()
    }

    /// Share of rows that are tombstones.
    pub fn deleted_fraction(&self) -> f64 {
        self.corpus.dead() as f64 / self.corpus.deleted.len().max(1) as f64
    }

    /// Every passage record, all checked (once): for readers of the whole
    /// table. A failure is the latched checksum error when there is one.
    pub(crate) fn records(&self) -> Result<&[PassageRecord]> {
        self.corpus
            .passages
            .records()
            .map_err(|detail| match self.intact() {
                Err(e) => e,
                Ok(()) => Error::Corrupt {
                    path: self
                        .origin
                        .failure
                        .as_ref()
                        .map_or_else(|| PathBuf::from("(in memory)"), |(p, _)| p.clone()),
                    detail: detail.to_string(),
                },
            })
    }

    /// An error if any block this index has read so far failed its
    /// checksum: answers computed from damaged bytes never leave the
    /// engine.
    pub(crate) fn intact(&self) -> Result<()> {
        match &self.origin.failure {
            Some((path, f)) => match crate::store::MappedFile::failure_error(path, f) {
                Some(e) => Err(e),
                None => Ok(()),
            },
            None => Ok(()),
        }
    }

    /// Copies the sections every query reads (the 1-bit codes and the
    /// sparse term rows) out of the file's mapping into anonymous memory
    /// backed by transparent huge pages, checking every block on the way.
    ///
    /// For a long-running process (a server): a query then walks a few
    /// dozen 2 MiB pages instead of thousands of 4 KiB pages of the file,
    /// so it misses the TLB far less after the process has idled, and the
    /// answers no longer depend on the page cache keeping the file. It costs
    /// the process the bytes of those sections (`info` lists them). An index
    /// built in memory, or with f32 vectors or format-5 rows, keeps what it
    /// cannot copy mapped. A block that fails its check is an error and
    /// leaves the index as it was.
    ///
    /// The file's pages of the copied sections are given back to the kernel
    /// (they stay in the page cache), so a fully checked index does not
    /// count them twice in the process's resident memory.
    ///
    /// It also builds the idf table's lookup hint once for all threads, so
    /// each query finds its terms' weights in a bucket of the table rather
    /// than by a binary search that misses the cache at every probe.
    pub fn make_resident(&mut self) -> Result<()> {
        let v = &self.vectors;
        let dense = match &v.dense {
            Dense::Bits(b) => Some(b.resident().ok_or(()).map(Dense::Bits)),
            // f32 rows stay mapped: a file the page cache holds in 2 MiB
            // folios (as the writer leaves it) is mapped a folio an entry
            // already, and a walk on it was no slower than on a copy,
            // which would hold the largest section twice on the machine
            // (BENCHMARKS.md, "Serving, seventh round").
            Dense::F32(_) => None,
        };
        let sparse = match &v.sparse {
            crate::index::TermRows::Packed { .. } => Some(v.sparse.resident().ok_or(())),
            crate::index::TermRows::Wide(_) => None,
        };
        if matches!(dense, Some(Err(()))) || matches!(sparse, Some(Err(()))) {
            self.intact()?;
            return Err(Error::Corrupt {
                path: (self.origin.failure.as_ref())
                    .map(|(p, _)| p.clone())
                    .unwrap_or_default(),
                detail: "a block failed its check while it was copied".into(),
            });
        }
        // The mapped bytes of what was copied are read no more (the copy
        // was checked block by block on the way), but a full check read
        // them all: give those pages back, or the process holds them twice.
        let pages = self.origin.pages.clone();
        let release = |bytes: &[u8]| pages.as_ref().map_or(0, |p| p.release(bytes));
        if let Some(Ok(d)) = dense {
            let old = std::mem::replace(&mut self.vectors.dense, d);
            if let Dense::Bits(b) = &old {
                release(bytemuck::cast_slice(b.codes()));
            }
        }
        if let Some(Ok(s)) = sparse {
            let old = std::mem::replace(&mut self.vectors.sparse, s);
            if let crate::index::TermRows::Packed { offsets, words } = &old {
                release(bytemuck::cast_slice(offsets));
                release(bytemuck::cast_slice(words));
            }
        }
        if let Some(hint) = crate::embed::IdfHint::for_idf(&self.weighting.idf) {
            let _ = self.idf_hint.set(hint);
        }
        Ok(())
    }

    /// Counts, settings and section sizes; reads every passage record, so
    /// a damaged one is an error.
    pub fn info(&self) -> Result<IndexInfo> {
        let mut counts = vec![0usize; self.config.langs.len()];
        for (p, _) in self
            .records()?
            .iter()
            .zip(&self.corpus.deleted)
            .filter(|(_, d)| !**d)
        {
            counts[p.lang as usize] += 1;
        }
        let dead = self.corpus.dead();
        Ok(IndexInfo {
            passages: self.corpus.passages.len() - dead,
            deleted_passages: dead,
            documents: self.corpus.live_docs(),
            languages: self.config.langs.iter().cloned().zip(counts).collect(),
            dim: self.config.embedder.dim,
            kind: self.config.kind.name(),
            bytes: self.origin.file_bytes,
            format_version: self.origin.format_version,
            terms: self.weighting.idf.terms(),
            seed: self.config.embedder.seed,
            kernel: crate::vector::best().name,
            codes: self.codes().name(),
            sections: self.origin.sections.clone(),
        })
    }
}
