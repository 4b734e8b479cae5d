//! Incremental updates and compaction.
//!
//! `update` re-reads only files whose size or modification time changed,
//! and among those only the ones whose content hash changed. Passages of
//! removed or changed files are tombstoned, new passages are appended, and
//! an HNSW graph gets the new nodes inserted.
//!
//! Keeping idf current: the index holds the exact document frequencies of
//! its live passages (`live_df`) and, separately, the table its vectors were
//! weighted with (`idf`). Between re-weightings, known terms keep their
//! weight and new terms join at their live count, so nothing already stored
//! has to change. Once the passages added or removed since the last
//! weighting pass `REWEIGHT_FRACTION` of the rows then weighted, every row
//! is re-weighted from its stored term frequencies (no file is re-read),
//! which makes the index answer like a fresh build again. Once tombstones
//! pass `COMPACT_FRACTION` of the rows, the index is compacted.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use xxhash_rust::xxh3::xxh3_64;

use super::build::cut_and_analyze;
use super::counts::{Counted, RowsToEmbed};
use super::dense::{embed_rows, Dense};
use super::doctable::DocTable;
use super::parts::{weighting_idf, Corpus, Origin, Vectors, Weighting};
use super::passages::PassageTable;
use super::paths;
use super::types::{DocMeta, IndexConfig, PassageMeta, Reporter};
use super::Index;
use crate::corpus::{self, Document, SkipReason, WalkOptions};
use crate::embed::{Idf, TermCounts, Terms};
use crate::error::{Error, Result};
use crate::index::{TermRows, TermRowsBuilder};

/// Re-weight every row once this share of the weighted rows has changed.
pub const REWEIGHT_FRACTION: f64 = 0.10;
/// Compact once this share of all rows is tombstoned.
pub const COMPACT_FRACTION: f64 = 0.20;

/// Update bookkeeping: how far the weights have drifted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpdateState {
    /// Live rows when the vectors were last weighted with exact idf.
    pub weighted_rows: u64,
    /// Rows added or removed since then.
    pub changed_since_weighting: u64,
}

/// What an update did.
#[derive(Debug, Clone, Default)]
pub struct UpdateReport {
    /// Files the walk found.
    pub files_seen: usize,
    /// Files skipped, and why.
    pub skipped: Vec<(String, SkipReason)>,
    /// New documents.
    pub added_docs: usize,
    /// Documents whose content changed.
    pub changed_docs: usize,
    /// Documents no longer found.
    pub removed_docs: usize,
    /// Documents kept as they were.
    pub unchanged_docs: usize,
    /// Passages added.
    pub passages_added: usize,
    /// Passages tombstoned.
    pub passages_removed: usize,
    /// Whether every row was re-weighted.
    pub reweighted: bool,
    /// Whether the index was compacted.
    pub compacted: bool,
    /// Wall time.
    pub seconds: f64,
}

enum Seen {
    Unchanged {
        doc: u32,
        mtime_ns: u64,
    },
    /// Read: a new file, or `Some(old)` document's changed file.
    New(Document, Option<u32>),
    Skipped(SkipReason),
}

impl Index {
    /// Brings the index up to date with `paths`; see the module docs.
    pub fn update(
        &self,
        paths: &[PathBuf],
        walk: &WalkOptions,
        reporter: &dyn Reporter,
    ) -> Result<(Index, UpdateReport)> {
        let started = Instant::now();
        let files = corpus::collect_files(paths, walk)?;
        let seen = self.look_at(&files, walk, reporter);
        let mut report = UpdateReport {
            files_seen: files.len(),
            ..Default::default()
        };
        let (mut docs, new_docs) = self.sort_seen(seen, &mut report, reporter);
        let (raw, analyzed) = cut_and_analyze(
            &self.weighting.embedder,
            &new_docs,
            &mut docs,
            None,
            reporter,
        )?;
        drop(new_docs);
        let (deleted, live_df) = self.tombstone(&docs, &analyzed, &mut report)?;
        let mut config = self.config.clone();
        let passages = self.extended_passages(&mut config, raw, &analyzed);
        let new_counts: Vec<&Terms> = analyzed.rows().collect();
        let (weighting, dense, sparse) = self.weigh(
            &config,
            &passages,
            &deleted,
            live_df,
            &new_counts,
            &mut report,
            reporter,
        )?;
        let graph = self.extend_graph(&dense, new_counts.len(), reporter);
        reporter.finish();
        let mut index = Index::assemble(
            config,
            Corpus {
                docs: DocTable::held(docs),
                passages: PassageTable::build(passages),
                deleted,
            },
            weighting,
            Vectors {
                dense,
                sparse,
                graph,
            },
            Origin::memory(self.origin.failure.clone()),
        );
        if index.deleted_fraction() > COMPACT_FRACTION {
            index = index.compact(reporter)?;
            report.compacted = true;
        }
        if index.corpus.passages.len() == index.corpus.dead() {
            return Err(Error::NoPassages {
                reason: "after the update no passage is left".into(),
            });
        }
        report.seconds = started.elapsed().as_secs_f64();
        Ok((index, report))
    }

    /// What became of each file: unchanged (same size and time, or same
    /// content hash), new or changed (read), or skipped. A file is matched
    /// to its document by identity (see [`paths::identity`]), so another
    /// spelling of it (from another folder, absolute, through a symlink)
    /// is still the same document.
    fn look_at(
        &self,
        files: &[PathBuf],
        walk: &WalkOptions,
        reporter: &dyn Reporter,
    ) -> Vec<(String, Seen)> {
        let cwd = paths::current_dir();
        let live = self.live_paths(&cwd);
        reporter.stage("checking files", files.len() as u64);
        files
            .par_iter()
            .map(|f| {
                let name = corpus::path_key(f);
                let old = live
                    .get(&paths::identity(f, &cwd))
                    .map(|&i| (i, &self.corpus.docs[i as usize]));
                let seen = see(f, old, walk);
                reporter.inc(1);
                (name, seen)
            })
            .collect()
    }

    /// The live documents by identity.
    fn live_paths(&self, cwd: &Path) -> HashMap<PathBuf, u32> {
        self.corpus
            .docs
            .par_iter()
            .enumerate()
            .filter(|(_, d)| !d.deleted)
            .map(|(i, d)| (paths::identity(&corpus::key_path(&d.path), cwd), i as u32))
            .collect()
    }

    /// The document list after the update (removed and changed files
    /// tombstoned) and the documents to add, counted in `report`.
    fn sort_seen(
        &self,
        seen: Vec<(String, Seen)>,
        report: &mut UpdateReport,
        reporter: &dyn Reporter,
    ) -> (Vec<DocMeta>, Vec<Document>) {
        let mut docs = self.corpus.docs.to_vec();
        let mut keep = vec![false; docs.len()];
        let mut replaced = vec![false; docs.len()];
        let mut new_docs = Vec::new();
        for (name, s) in seen {
            match s {
                Seen::Unchanged { doc, mtime_ns } => {
                    keep[doc as usize] = true;
                    let d = &mut docs[doc as usize];
                    d.mtime_ns = mtime_ns;
                    // The path as this run spelt it, as a build would store it.
                    d.path = name;
                    report.unchanged_docs += 1;
                }
                Seen::New(d, old) => {
                    match old {
                        Some(i) => {
                            replaced[i as usize] = true;
                            report.changed_docs += 1;
                        }
                        None => report.added_docs += 1,
                    }
                    new_docs.push(d);
                }
                Seen::Skipped(why) => {
                    reporter.warn(&format!("{name}: skipped: {why}"));
                    report.skipped.push((name, why));
                }
            }
        }
        for (i, d) in docs.iter_mut().enumerate() {
            if !d.deleted && !keep[i] {
                d.deleted = true;
                if !replaced[i] {
                    report.removed_docs += 1;
                }
            }
        }
        (docs, new_docs)
    }

    /// Tombstones for the passages of removed documents, extended for the
    /// new ones, and the exact live document frequencies after both.
    fn tombstone(
        &self,
        docs: &[DocMeta],
        analyzed: &Counted,
        report: &mut UpdateReport,
    ) -> Result<(Vec<bool>, Idf)> {
        let mut deleted = self.corpus.deleted.clone();
        let mut removed_keys = Vec::new();
        for (i, p) in self.records()?.iter().enumerate() {
            if !deleted[i] && docs[p.doc as usize].deleted {
                deleted[i] = true;
                report.passages_removed += 1;
                // The stored rows keep compact keys; live df counts whole
                // term hashes, so the passage is analyzed again.
                removed_keys.extend(self.row_counts(i as u32).iter().map(|&(h, _)| h));
            }
        }
        let added_keys: Vec<u64> = analyzed
            .rows()
            .flat_map(|c| c.iter().map(|&(h, _)| h))
            .collect();
        report.passages_added = analyzed.len();
        deleted.extend(std::iter::repeat_n(false, analyzed.len()));
        let live_rows = deleted.iter().filter(|d| !**d).count() as u64;
        let mut live_df = self.weighting.live_df.clone();
        live_df.apply_delta(added_keys, removed_keys, live_rows);
        Ok((deleted, live_df))
    }

    /// Every stored passage, then the new ones, whose languages join
    /// `config.langs` if they are new to it.
    fn extended_passages(
        &self,
        config: &mut IndexConfig,
        raw: Vec<(u32, corpus::RawPassage)>,
        analyzed: &Counted,
    ) -> Vec<PassageMeta> {
        let mut passages: Vec<PassageMeta> = (0..self.corpus.passages.len() as u32)
            .map(|i| self.corpus.passages.meta(i))
            .collect();
        for ((doc, p), lang) in raw.into_iter().zip(analyzed.langs.iter()) {
            let lang_id = match config.langs.iter().position(|l| l == lang) {
                Some(i) => i,
                None => {
                    config.langs.push(lang.to_string());
                    config.langs.len() - 1
                }
            };
            passages.push(PassageMeta {
                doc,
                lang: lang_id as u16,
                line_start: p.line_start,
                line_end: p.line_end,
                byte_start: p.byte_start,
                byte_end: p.byte_end,
                text: p.text,
            });
        }
        passages
    }

    /// Weights: re-weight everything past the drift bound, else keep the
    /// stored rows and weight only the new ones.
    #[allow(clippy::too_many_arguments)]
    fn weigh(
        &self,
        config: &IndexConfig,
        passages: &[PassageMeta],
        deleted: &[bool],
        live_df: Idf,
        new_counts: &[&Terms],
        report: &mut UpdateReport,
        reporter: &dyn Reporter,
    ) -> Result<(Weighting, Dense, TermRows)> {
        let embedder = &self.weighting.embedder;
        let mut state = self.weighting.state;
        state.changed_since_weighting += (report.passages_added + report.passages_removed) as u64;
        report.reweighted = state.changed_since_weighting as f64
            > REWEIGHT_FRACTION * state.weighted_rows.max(1) as f64;
        if !report.reweighted {
            let idf = self.weighting.idf.extended_with(&live_df);
            reporter.stage("embedding", new_counts.len() as u64);
            let (new_dense, new_sparse) = embed_rows(
                embedder,
                &idf,
                RowsToEmbed::Borrowed(new_counts),
                self.codes(),
                reporter,
            )?;
            let dense = self.vectors.dense.append(new_dense)?;
            let sparse = self.appended_rows(&new_sparse);
            let weighting = Weighting {
                embedder: embedder.clone(),
                idf,
                live_df,
                state,
            };
            return Ok((weighting, dense, sparse));
        }
        let old_counts: Vec<TermCounts> = (0..self.corpus.passages.len() as u32)
            .into_par_iter()
            .map(|i| self.row_counts(i))
            .collect();
        let all: Vec<&Terms> = old_counts
            .iter()
            .map(Vec::as_slice)
            .chain(new_counts.iter().copied())
            .collect();
        let live = all
            .iter()
            .enumerate()
            .filter(|(i, _)| !deleted[*i])
            .map(|(i, c)| (config.langs[passages[i].lang as usize].as_str(), *c));
        let idf = weighting_idf(&live_df, live);
        reporter.stage("re-weighting", all.len() as u64);
        let rows = RowsToEmbed::Borrowed(&all);
        let (dense, sparse) = embed_rows(embedder, &idf, rows, self.codes(), reporter)?;
        let live_rows = deleted.iter().filter(|d| !**d).count();
        let weighting = Weighting::fresh(embedder.clone(), idf, live_df, live_rows);
        Ok((weighting, dense, sparse))
    }

    /// The stored sparse rows followed by `more`.
    fn appended_rows(&self, more: &TermRows) -> TermRows {
        let old = self.corpus.passages.len();
        let mut sb = TermRowsBuilder::with_capacity(old + more.rows(), 0);
        for i in 0..old as u32 {
            sb.push_row_of(&self.vectors.sparse, i);
        }
        for i in 0..more.rows() as u32 {
            sb.push_row_of(more, i);
        }
        sb.finish()
    }

    /// The graph with the last `added` rows of `dense` inserted.
    fn extend_graph(
        &self,
        dense: &Dense,
        added: usize,
        reporter: &dyn Reporter,
    ) -> Option<(crate::index::Hnsw, crate::index::HnswParams)> {
        let (g, params) = self.vectors.graph.as_ref()?;
        debug_assert_eq!(g.len() + added, dense.len());
        let g = Vectors::extend_graph(g, dense, params.ef_construction, reporter);
        Some((g, params.clone()))
    }

    /// The pre-idf term weights of row `id`, from its stored text (see
    /// [`Weighting::counts`]).
    pub(crate) fn row_counts(&self, id: u32) -> TermCounts {
        self.weighting.counts(&self.corpus.passages.text(id))
    }
}

/// What became of one file (see [`Index::update`]): `old` is its live
/// document, if it has one.
fn see(f: &std::path::Path, old: Option<(u32, &DocMeta)>, walk: &WalkOptions) -> Seen {
    let meta = std::fs::metadata(f).ok();
    let (size, mtime) = meta
        .as_ref()
        .map_or((u64::MAX, 0), |m| (m.len(), corpus::mtime_ns(m)));
    if let Some((i, d)) = old {
        if d.bytes == size && d.mtime_ns == mtime && mtime != 0 {
            return Seen::Unchanged {
                doc: i,
                mtime_ns: mtime,
            };
        }
    }
    match corpus::read_document(f, walk) {
        Ok(doc) => match old {
            Some((i, d)) if d.content_hash == xxh3_64(doc.text.as_bytes()) => Seen::Unchanged {
                doc: i,
                mtime_ns: doc.mtime_ns,
            },
            _ => Seen::New(doc, old.map(|(i, _)| i)),
        },
        Err(why) => Seen::Skipped(why),
    }
}
