//! The three parts an index is made of, each owning one concern:
//!
//! - [`Corpus`]: which documents and passages exist, and which are
//!   tombstoned;
//! - [`Weighting`]: how text becomes weights (the embedder, the idf the
//!   vectors use, the exact live document frequencies, the update
//!   bookkeeping);
//! - [`Vectors`]: the dense candidates, the exact sparse rows and the graph.
//!
//! plus [`Origin`], what is known of the file an index was read from.
//! Build, search, update and persist each work against these parts, so a
//! new capability lands in the part it concerns.

use std::path::PathBuf;

use super::dense::Dense;
use super::doctable::DocTable;
use super::passages::PassageTable;
use super::types::{DocMeta, Reporter, SectionBytes};
use super::update::UpdateState;
use crate::embed::{Embedder, Idf, TermCounts, Terms};
use crate::error::{Error, Result};
use crate::index::{Hnsw, HnswParams, TermRows};

/// Documents, passages and tombstones.
pub(crate) struct Corpus {
    pub(crate) docs: DocTable,
    pub(crate) passages: PassageTable,
    /// One flag per passage: tombstoned by an update.
    pub(crate) deleted: Vec<bool>,
}

impl Corpus {
    /// A corpus with no tombstones: what a build and a compaction produce.
    pub(crate) fn fresh(docs: Vec<DocMeta>, passages: PassageTable) -> Corpus {
        Corpus {
            deleted: vec![false; passages.len()],
            docs: DocTable::held(docs),
            passages,
        }
    }

    /// Tombstoned passages.
    pub(crate) fn dead(&self) -> usize {
        self.deleted.iter().filter(|d| **d).count()
    }

    /// Documents not removed by an update.
    pub(crate) fn live_docs(&self) -> usize {
        self.docs.iter().filter(|d| !d.deleted).count()
    }

    /// Whether passage `id` may be returned: not tombstoned, and in one of
    /// the languages of `mask` (indexed by language id) when there is one.
    pub(crate) fn visible(&self, id: u32, mask: Option<&[bool]>) -> bool {
        !self.deleted[id as usize] && mask.is_none_or(|m| m[self.passages.get(id).lang as usize])
    }

    /// The first passage of document `doc` (passages of a document are
    /// stored together, documents in order), by binary search over checked
    /// records: O(log n) records read, so `similar` stays O(1) in the rest
    /// of the table.
    pub(crate) fn first_passage_of(&self, doc: u32) -> u32 {
        let (mut lo, mut hi) = (0u32, self.passages.len() as u32);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if self.passages.get(mid).doc < doc {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo
    }

    /// The passages of document `doc` that overlap lines `start..=end`, in
    /// line order.
    pub(crate) fn overlapping(&self, doc: u32, start: u32, end: u32) -> Vec<u32> {
        (self.first_passage_of(doc)..self.passages.len() as u32)
            .map(|i| (i, self.passages.get(i)))
            .take_while(|(_, p)| p.doc == doc)
            .filter(|(_, p)| p.line_start <= end && start <= p.line_end)
            .map(|(i, _)| i)
            .collect()
    }

    /// The page (1-based) of the passage at byte `byte` of document `doc`,
    /// when the document is paged.
    pub(crate) fn page_of(&self, doc: u32, byte: u64) -> Option<u32> {
        let pages = self.docs.pages(doc);
        (!pages.is_empty()).then(|| pages.partition_point(|&s| s <= byte).max(1) as u32)
    }

    /// The live document stored as `doc`, or the only one whose path ends
    /// with it at a `/` boundary.
    pub(crate) fn find_doc(&self, doc: &str) -> Result<u32> {
        // A changed file appears twice, replaced and live: only live counts.
        if let Some(i) = self.docs.iter().position(|d| d.path == doc && !d.deleted) {
            return Ok(i as u32);
        }
        let want = doc.trim_start_matches("./");
        let hits: Vec<usize> = self
            .docs
            .iter()
            .enumerate()
            .filter(|(_, d)| !d.deleted && is_path_suffix(&d.path, want))
            .map(|(i, _)| i)
            .collect();
        match hits.as_slice() {
            [i] => Ok(*i as u32),
            [] => Err(Error::NoSuchDocument {
                doc: doc.to_string(),
            }),
            many => Err(Error::AmbiguousDocument {
                doc: doc.to_string(),
                count: many.len(),
                first: self.docs[many[0]].path.clone(),
                second: self.docs[many[1]].path.clone(),
            }),
        }
    }
}

/// Whether `path` ends with `suffix` at a path-component boundary.
fn is_path_suffix(path: &str, suffix: &str) -> bool {
    let p = path.replace('\\', "/");
    let s = suffix.replace('\\', "/");
    !s.is_empty() && (p == s || p.ends_with(&format!("/{s}")))
}

/// How text becomes weights.
pub(crate) struct Weighting {
    pub(crate) embedder: Embedder,
    /// The weights every stored vector and every query use.
    pub(crate) idf: Idf,
    /// Exact document frequencies of the live passages; equal to `idf`
    /// after a build, drifting from it between re-weightings (see
    /// update.rs).
    pub(crate) live_df: Idf,
    /// Update bookkeeping: rows at the last weighting, changes since.
    pub(crate) state: UpdateState,
}

impl Weighting {
    /// Weights exact over all `rows` rows: what a build and a compaction
    /// produce.
    pub(crate) fn fresh(embedder: Embedder, idf: Idf, live_df: Idf, rows: usize) -> Weighting {
        Weighting {
            embedder,
            idf,
            live_df,
            state: UpdateState {
                weighted_rows: rows as u64,
                changed_since_weighting: 0,
            },
        }
    }

    /// The pre-idf term weights of a stored passage's text: the analysis
    /// is deterministic, and the stored bridge expands every term the
    /// build-time lexicon did (it keeps every translation the corpus
    /// holds), so this is what the build computed.
    pub(crate) fn counts(&self, text: &str) -> TermCounts {
        self.embedder.term_counts(text)
    }
}

/// The idf the vectors are weighted with, from the raw counts `live_df`
/// and every live passage's (language tag, term counts): language-relative
/// (see [`Idf::language_relative`]), with the scripts of one language
/// (zh-Hans, zh-Hant) as one group, since they share most terms.
pub(crate) fn weighting_idf<'a>(
    live_df: &Idf,
    rows: impl Iterator<Item = (&'a str, &'a Terms)> + Clone,
) -> Idf {
    let groups = language_groups(rows.clone().map(|r| r.0));
    let rows: Vec<(usize, &Terms)> = groups.into_iter().zip(rows.map(|r| r.1)).collect();
    live_df.language_relative(&rows)
}

/// Each passage's language group, from its tag: groups are numbered in the
/// order they are first seen, and a tag's script suffix is dropped.
pub(crate) fn language_groups<'a>(tags: impl Iterator<Item = &'a str>) -> Vec<usize> {
    let mut groups: Vec<&str> = Vec::new();
    tags.map(|tag| {
        let base = tag.split('-').next().unwrap_or(tag);
        match groups.iter().position(|x| *x == base) {
            Some(g) => g,
            None => {
                groups.push(base);
                groups.len() - 1
            }
        }
    })
    .collect()
}

/// The vectors of every passage.
pub(crate) struct Vectors {
    /// The dense candidate vectors: f32 rows or 1-bit codes.
    pub(crate) dense: Dense,
    /// Exact weighted terms per passage. Re-weighting (update, compact)
    /// re-analyzes the stored passage text rather than keeping the
    /// pre-idf term weights: the analysis is deterministic and the text is
    /// a fifth of their size.
    pub(crate) sparse: TermRows,
    /// The graph over the dense rows (codes or f32), for HNSW indexes.
    pub(crate) graph: Option<(Hnsw, HnswParams)>,
}

impl Vectors {
    /// Links a new graph over the rows of `dense` (by Hamming distance
    /// for codes), reporting progress.
    pub(crate) fn link(
        dense: &Dense,
        params: &HnswParams,
        reporter: &dyn Reporter,
    ) -> Option<(Hnsw, HnswParams)> {
        reporter.stage("linking graph", dense.len() as u64);
        let progress = GraphProgress::new(reporter, 0);
        let at = |n| progress.at(n);
        let g = match dense {
            Dense::F32(flat) => Hnsw::build(flat.rows(), params, &at),
            Dense::Bits(b) => Hnsw::build_codes(b.rows(), params, &at),
        };
        Some((g, params.clone()))
    }

    /// `g` with the rows of `dense` past its nodes inserted.
    pub(crate) fn extend_graph(
        g: &Hnsw,
        dense: &Dense,
        ef_construction: usize,
        reporter: &dyn Reporter,
    ) -> Hnsw {
        let mut g = g.clone();
        reporter.stage("linking graph", (dense.len() - g.len()) as u64);
        let progress = GraphProgress::new(reporter, g.len());
        let at = |n| progress.at(n);
        match dense {
            Dense::F32(flat) => g.insert(flat.rows(), ef_construction, &at),
            Dense::Bits(b) => g.insert_codes(b.rows(), ef_construction, &at),
        }
        g
    }
}

/// Turns a graph's "n nodes linked" callbacks, which arrive out of order
/// from several threads, into the reporter's increments.
pub(crate) struct GraphProgress<'a> {
    reporter: &'a dyn Reporter,
    done: std::sync::atomic::AtomicU64,
}

impl<'a> GraphProgress<'a> {
    pub(crate) fn new(reporter: &'a dyn Reporter, start: usize) -> Self {
        GraphProgress {
            reporter,
            done: std::sync::atomic::AtomicU64::new(start as u64),
        }
    }

    pub(crate) fn at(&self, linked: usize) {
        let before = self
            .done
            .swap(linked as u64, std::sync::atomic::Ordering::Relaxed);
        self.reporter.inc((linked as u64).saturating_sub(before));
    }
}

/// What is known of the file an index was read from.
pub(crate) struct Origin {
    pub(crate) file_bytes: Option<u64>,
    /// Bytes per section of the file.
    pub(crate) sections: Vec<SectionBytes>,
    /// Where the file-backed slabs latch a block that failed its checksum;
    /// checked before any answer is returned.
    pub(crate) failure: Option<(PathBuf, crate::vector::Failure)>,
    /// The format version of the file (or the one it will be written as).
    pub(crate) format_version: u32,
    /// The file's mapping, for giving back pages the index no longer reads
    /// through it (see `Index::make_resident`).
    pub(crate) pages: Option<crate::store::MappedPages>,
}

impl Origin {
    /// An index built in memory; `failure` carries the latch of the file
    /// an update started from, whose slabs the new index may still read.
    pub(crate) fn memory(failure: Option<(PathBuf, crate::vector::Failure)>) -> Origin {
        Origin {
            file_bytes: None,
            sections: Vec::new(),
            failure,
            format_version: crate::store::FORMAT_VERSION,
            pages: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suffixes_stop_at_separators() {
        assert!(is_path_suffix("a/b/c.md", "c.md"));
        assert!(is_path_suffix("a/b/c.md", "b/c.md"));
        assert!(!is_path_suffix("a/bc.md", "c.md"));
        assert!(!is_path_suffix("a/b/c.md", ""));
    }
}
