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
use std::path::PathBuf;
use std::time::Instant;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use xxhash_rust::xxh3::xxh3_64;

use super::dense::embed_rows;
use super::{cut_and_analyze, Index, IndexKind, PassageMeta, Reporter};
use crate::corpus::{self, Document, SkipReason, WalkOptions};
use crate::embed::{Idf, TermCounts};
use crate::error::{Error, Result};
use crate::index::Hnsw;

/// Re-weight every row once this share of the weighted rows has changed.
pub const REWEIGHT_FRACTION: f64 = 0.10;
/// Compact once this share of all rows is tombstoned.
pub const COMPACT_FRACTION: f64 = 0.20;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpdateState {
    /// Live rows when the vectors were last weighted with exact idf.
    pub weighted_rows: u64,
    /// Rows added or removed since then.
    pub changed_since_weighting: u64,
}

#[derive(Debug, Clone, Default)]
pub struct UpdateReport {
    pub files_seen: usize,
    pub skipped: Vec<(String, SkipReason)>,
    pub added_docs: usize,
    pub changed_docs: usize,
    pub removed_docs: usize,
    pub unchanged_docs: usize,
    pub passages_added: usize,
    pub passages_removed: usize,
    pub reweighted: bool,
    pub compacted: bool,
    pub seconds: f64,
}

enum Seen {
    Unchanged { doc: u32, mtime_ns: u64 },
    New(Document),
    Skipped(SkipReason),
}

impl Index {
    /// The pre-idf term weights of row `id`, from its stored text: the
    /// analysis is deterministic, and the stored bridge expands every term
    /// the build-time lexicon did (it keeps every translation the corpus
    /// holds), so this is what the build computed.
    fn row_counts(&self, id: u32) -> TermCounts {
        self.embedder.term_counts(self.passages.text(id))
    }

    /// Brings the index up to date with `paths`; see the module docs.
    pub fn update(
        &self,
        paths: &[PathBuf],
        walk: &WalkOptions,
        reporter: &dyn Reporter,
    ) -> Result<(Index, UpdateReport)> {
        let started = Instant::now();
        let files = corpus::collect_files(paths, walk)?;
        let live: HashMap<&str, u32> = self
            .docs
            .iter()
            .enumerate()
            .filter(|(_, d)| !d.deleted)
            .map(|(i, d)| (d.path.as_str(), i as u32))
            .collect();
        reporter.stage("checking files", files.len() as u64);
        let seen: Vec<(String, Seen)> = files
            .par_iter()
            .map(|f| {
                let name = f.to_string_lossy().into_owned();
                let old = live
                    .get(name.as_str())
                    .map(|&i| (i, &self.docs[i as usize]));
                let meta = std::fs::metadata(f).ok();
                let (size, mtime) = meta
                    .as_ref()
                    .map_or((u64::MAX, 0), |m| (m.len(), corpus::mtime_ns(m)));
                reporter.inc(1);
                if let Some((i, d)) = old {
                    if d.bytes == size && d.mtime_ns == mtime && mtime != 0 {
                        return (
                            name,
                            Seen::Unchanged {
                                doc: i,
                                mtime_ns: mtime,
                            },
                        );
                    }
                }
                match corpus::read_document(f, walk) {
                    Ok(doc) => match old {
                        Some((i, d)) if d.content_hash == xxh3_64(doc.text.as_bytes()) => (
                            name,
                            Seen::Unchanged {
                                doc: i,
                                mtime_ns: doc.mtime_ns,
                            },
                        ),
                        _ => (name, Seen::New(doc)),
                    },
                    Err(why) => (name, Seen::Skipped(why)),
                }
            })
            .collect();
        let mut report = UpdateReport {
            files_seen: files.len(),
            ..Default::default()
        };
        let mut docs = self.docs.clone();
        let mut keep = vec![false; docs.len()];
        let mut new_docs = Vec::new();
        for (name, s) in seen {
            match s {
                Seen::Unchanged { doc, mtime_ns } => {
                    keep[doc as usize] = true;
                    docs[doc as usize].mtime_ns = mtime_ns;
                    report.unchanged_docs += 1;
                }
                Seen::New(d) => {
                    if live.contains_key(name.as_str()) {
                        report.changed_docs += 1;
                    } else {
                        report.added_docs += 1;
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
                if !new_docs.iter().any(|n| n.path == d.path) {
                    report.removed_docs += 1;
                }
            }
        }

        // New passages.
        let embedder = &self.embedder;
        let (raw, analyzed) = cut_and_analyze(embedder, &new_docs, &mut docs, reporter);
        drop(new_docs);

        // Tombstones and exact live document frequencies.
        let old_rows = self.passages.len();
        let mut deleted = self.deleted.clone();
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
            .iter()
            .flat_map(|(_, c)| c.iter().map(|&(h, _)| h))
            .collect();
        report.passages_added = analyzed.len();
        deleted.extend(std::iter::repeat_n(false, analyzed.len()));
        let live_rows = deleted.iter().filter(|d| !**d).count() as u64;
        let mut live_df = self.live_df.clone();
        live_df.apply_delta(added_keys, removed_keys, live_rows);

        let mut config = self.config.clone();
        let mut passages: Vec<PassageMeta> = (0..old_rows as u32)
            .map(|i| self.passages.meta(i))
            .collect();
        for ((doc, p), (lang, _)) in raw.into_iter().zip(&analyzed) {
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

        // Weights: re-weight everything past the drift bound, else keep
        // stored rows and weight only the new ones.
        let mut state = self.state;
        state.changed_since_weighting += (report.passages_added + report.passages_removed) as u64;
        report.reweighted = state.changed_since_weighting as f64
            > REWEIGHT_FRACTION * state.weighted_rows.max(1) as f64;
        let new_counts: Vec<&TermCounts> = analyzed.iter().map(|(_, c)| c).collect();
        let (idf, dense, sparse) = if report.reweighted {
            state = UpdateState {
                weighted_rows: live_rows,
                changed_since_weighting: 0,
            };
            let old_counts: Vec<TermCounts> = (0..old_rows as u32)
                .into_par_iter()
                .map(|i| self.row_counts(i))
                .collect();
            let all: Vec<&TermCounts> = old_counts
                .iter()
                .chain(new_counts.iter().copied())
                .collect();
            let live_rows = all
                .iter()
                .enumerate()
                .filter(|(i, _)| !deleted[*i])
                .map(|(i, c)| (config.langs[passages[i].lang as usize].as_str(), *c));
            let idf = super::weighting_idf(&live_df, live_rows);
            reporter.stage("re-weighting", all.len() as u64);
            let (dense, sparse) = embed_rows(embedder, &idf, &all, self.codes(), reporter)?;
            (idf, dense, sparse)
        } else {
            let idf = self.idf.extended_with(&live_df);
            reporter.stage("embedding", new_counts.len() as u64);
            let (new_dense, new_sparse) =
                embed_rows(embedder, &idf, &new_counts, self.codes(), reporter)?;
            let dense = self.dense.append(new_dense)?;
            let mut sb = crate::index::SparseBuilder::new();
            for i in 0..old_rows as u32 {
                let (k, w) = self.sparse.row(i);
                sb.push_stored(k, w);
            }
            for i in 0..new_counts.len() as u32 {
                let (k, w) = new_sparse.row(i);
                sb.push_stored(k, w);
            }
            (idf, dense, sb.finish())
        };
        let hnsw = match (&self.hnsw, dense.f32()) {
            (Some(gp), Some(flat)) => Some((gp, flat)),
            _ => None,
        }
        .map(|((g, params), flat)| {
            let mut g = g.clone();
            reporter.stage("linking graph", new_counts.len() as u64);
            let done = std::sync::atomic::AtomicU64::new(g.len() as u64);
            g.insert(flat.rows(), params.ef_construction, &|n| {
                let before = done.swap(n as u64, std::sync::atomic::Ordering::Relaxed);
                reporter.inc((n as u64).saturating_sub(before));
            });
            (g, params.clone())
        });
        reporter.finish();
        let mut index = Index {
            config,
            docs,
            passages: super::PassageTable::build(passages),
            idf,
            live_df,
            state,
            deleted,
            embedder: self.embedder.clone(),
            dense,
            sparse,
            hnsw,
            file_bytes: None,
            sections: Vec::new(),
            failure: self.failure.clone(),
            format_version: crate::store::FORMAT_VERSION,
        };
        if index.deleted_fraction() > COMPACT_FRACTION {
            index = index.compact(reporter)?;
            report.compacted = true;
        }
        if index.passages.len() == index.deleted.iter().filter(|d| **d).count() {
            return Err(Error::NoPassages {
                reason: "after the update no passage is left".into(),
            });
        }
        report.seconds = started.elapsed().as_secs_f64();
        Ok((index, report))
    }

    /// Share of rows that are tombstones.
    pub fn deleted_fraction(&self) -> f64 {
        let dead = self.deleted.iter().filter(|d| **d).count();
        dead as f64 / self.deleted.len().max(1) as f64
    }

    /// A copy without tombstones, re-weighted exactly and, for HNSW, with
    /// the graph rebuilt over the live vectors: what a fresh build of the
    /// same files would give, without reading any file.
    pub fn compact(&self, reporter: &dyn Reporter) -> Result<Index> {
        let live_rows: Vec<u32> = (0..self.passages.len() as u32)
            .filter(|&i| !self.deleted[i as usize])
            .collect();
        if live_rows.is_empty() {
            return Err(Error::NoPassages {
                reason: "no live passage to keep".into(),
            });
        }
        let mut doc_map = vec![u32::MAX; self.docs.len()];
        let mut docs = Vec::new();
        for (i, d) in self.docs.iter().enumerate() {
            if !d.deleted {
                doc_map[i] = docs.len() as u32;
                docs.push(d.clone());
            }
        }
        let counts: Vec<TermCounts> = live_rows.par_iter().map(|&i| self.row_counts(i)).collect();
        let live_df = Idf::from_passages(counts.iter());
        let idf = super::weighting_idf(
            &live_df,
            live_rows.iter().zip(&counts).map(|(&i, c)| {
                let lang = self.passages.get(i).lang as usize;
                (self.config.langs[lang].as_str(), c)
            }),
        );
        let refs: Vec<&TermCounts> = counts.iter().collect();
        reporter.stage("compacting", refs.len() as u64);
        let (dense, sparse) = embed_rows(&self.embedder, &idf, &refs, self.codes(), reporter)?;
        let passages = super::PassageTable::build(live_rows.iter().map(|&i| {
            let mut p = self.passages.meta(i);
            p.doc = doc_map[p.doc as usize];
            p
        }));
        let hnsw = match (&self.hnsw, self.config.kind, dense.f32()) {
            (Some((_, params)), IndexKind::Hnsw, Some(flat)) => {
                reporter.stage("linking graph", passages.len() as u64);
                let g = Hnsw::build(flat.rows(), params, &|_| {});
                Some((g, params.clone()))
            }
            _ => None,
        };
        reporter.finish();
        Ok(Index::fresh(
            self.config.clone(),
            docs,
            passages,
            live_df,
            idf,
            self.embedder.clone(),
            dense,
            sparse,
            hnsw,
        ))
    }
}
