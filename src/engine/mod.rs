//! The library's front door: build an index from paths or documents, save
//! and open it, search it. Ties corpus → embed → index → store together;
//! knows nothing of terminals or flags.

mod crosslang;
mod dense;
mod evalsearch;
mod passages;
mod persist;
pub mod sample;
mod update;
mod verify;

pub use dense::Codes;
pub use passages::{PassageRecord, PassageTable};
pub use update::{UpdateReport, UpdateState};
pub use verify::VerifyReport;

use std::path::{Path, PathBuf};
use std::time::Instant;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use xxhash_rust::xxh3::xxh3_64;

pub use crosslang::{read_aligned, AlignedRow, CrosslangReport, PairScore};
pub use evalsearch::{read_queries, QueryRow, SearchEvalReport, SearchScore};

use crate::corpus::{self, Document, SkipReason, WalkOptions};
use crate::embed::{Embedder, EmbedderSettings, Idf, TermCounts};
use crate::error::{Error, Result};
use crate::index::{compact_row, FlatIndex, Hnsw, HnswParams, Scored, Searcher, TermRows};
use crate::text;
use dense::{embed_rows, Dense};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum IndexKind {
    Flat,
    Hnsw,
}

impl IndexKind {
    pub fn name(self) -> &'static str {
        match self {
            IndexKind::Flat => "flat",
            IndexKind::Hnsw => "hnsw",
        }
    }
}

/// Everything that decides how text becomes vectors, saved in the index.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IndexConfig {
    pub embedder: EmbedderSettings,
    pub kind: IndexKind,
    /// Language tags; passages refer to them by position.
    pub langs: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocMeta {
    pub path: String,
    pub bytes: u64,
    /// XXH3-64 of the file's bytes (seed 0).
    pub content_hash: u64,
    /// Modification time in ns since the epoch (0 if unknown); with `bytes`
    /// it lets `--update` skip unchanged files without reading them.
    pub mtime_ns: u64,
    /// Removed or replaced by an update; its passages are tombstoned until
    /// the next compaction.
    pub deleted: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PassageMeta {
    pub doc: u32,
    pub lang: u16,
    pub line_start: u32,
    pub line_end: u32,
    pub byte_start: u64,
    pub byte_end: u64,
    pub text: String,
}

/// Receives progress and warnings from long operations. The CLI draws bars;
/// the library only counts.
pub trait Reporter: Sync {
    fn stage(&self, _name: &str, _total: u64) {}
    fn inc(&self, _n: u64) {}
    fn warn(&self, _message: &str) {}
    fn finish(&self) {}
}

/// A reporter that ignores everything.
pub struct Quiet;
impl Reporter for Quiet {}

#[derive(Debug, Clone)]
pub struct BuildOptions {
    pub embedder: EmbedderSettings,
    pub kind: IndexKind,
    pub walk: WalkOptions,
    /// Graph parameters, used when `kind` is HNSW.
    pub hnsw: HnswParams,
    /// How the dense vectors are stored; `None` picks [`Codes::Bits`] for
    /// flat indexes and [`Codes::F32`] for HNSW, whose graph walks on f32.
    pub codes: Option<Codes>,
}

impl BuildOptions {
    /// The stored form of the dense vectors these options ask for.
    pub fn codes(&self) -> Codes {
        self.codes.unwrap_or(match self.kind {
            IndexKind::Flat => Codes::Bits,
            IndexKind::Hnsw => Codes::F32,
        })
    }
}

impl Default for BuildOptions {
    fn default() -> Self {
        BuildOptions {
            embedder: EmbedderSettings::default(),
            kind: IndexKind::Flat,
            walk: WalkOptions::default(),
            hnsw: HnswParams::default(),
            codes: None,
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct BuildReport {
    pub files_seen: usize,
    pub skipped: Vec<(String, SkipReason)>,
    pub documents: usize,
    pub passages: usize,
    pub seconds: f64,
}

#[derive(Debug, Clone)]
pub struct SearchOptions {
    pub k: usize,
    /// Only passages whose language matches this tag (`zh` covers both scripts).
    pub lang: Option<String>,
    /// Re-score the dense candidates exactly on the sparse term vectors.
    pub rerank: bool,
    /// HNSW beam width (ignored by flat indexes); `None` = [`DEFAULT_EF`].
    pub ef: Option<usize>,
    /// Scan every vector even when the index has a graph.
    pub exact: bool,
    /// Dense candidates fetched for the exact re-score; `None` = the
    /// measured default for the index's codes (see [`Codes`]). Never fewer
    /// than `k`.
    pub candidates: Option<usize>,
}

/// HNSW beam width when the caller gives none.
pub const DEFAULT_EF: usize = 64;

impl Default for SearchOptions {
    fn default() -> Self {
        SearchOptions {
            k: 10,
            lang: None,
            rerank: true,
            ef: None,
            exact: false,
            candidates: None,
        }
    }
}

/// Dense candidates fetched per requested hit before the exact re-scoring:
/// enough that a true top-k passage pushed down by hash collisions is
/// still among them.
const RERANK_FACTOR: usize = 8;
const RERANK_MIN: usize = 64;

/// Exponent of the length prior of the exact re-score (0 = plain cosine).
/// Cosine favours fragments: a table cell naming one query word beats a
/// paragraph about the whole query, and a translation, which meets the
/// query only through the lexicon, loses most to such fragments. On the
/// sample's query set (`data/sample/queries.jsonl`, `eval search`) MRR@10
/// rose from 0.787 at 0 to 0.826 at 0.2 (nDCG@10 0.605 → 0.637), and kept
/// rising beyond; but from 0.5 on, queries whose answers are table rows
/// lose those answers to longer passages that merely mention their words,
/// so 0.2 (BENCHMARKS.md).
const SEARCH_LENGTH_PRIOR: f32 = 0.2;

/// One result. `rank` is 1-based.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hit {
    pub rank: usize,
    pub score: f32,
    pub passage: u32,
    pub doc: String,
    pub line_start: u32,
    pub line_end: u32,
    pub byte_start: u64,
    pub byte_end: u64,
    pub lang: String,
    pub text: String,
}

/// What `vecsearch info` reports.
#[derive(Debug, Clone, Serialize)]
pub struct IndexInfo {
    /// Live passages (tombstones not counted).
    pub passages: usize,
    /// Passages of removed files awaiting compaction.
    pub deleted_passages: usize,
    pub documents: usize,
    pub languages: Vec<(String, usize)>,
    pub dim: u32,
    pub kind: &'static str,
    pub bytes: Option<u64>,
    pub format_version: u32,
    pub terms: usize,
    pub seed: u64,
    pub kernel: &'static str,
    /// How the dense vectors are stored: "f32" or "bits".
    pub codes: &'static str,
    /// Bytes of each section of the file, in file order, when it was read
    /// from one.
    pub sections: Vec<SectionBytes>,
}

/// One section of an index file, for `info`.
#[derive(Debug, Clone, Serialize)]
pub struct SectionBytes {
    pub name: String,
    pub bytes: u64,
}

fn clone_arg_error(e: &Error) -> Error {
    Error::InvalidArgument(e.to_string())
}

pub struct Index {
    config: IndexConfig,
    docs: Vec<DocMeta>,
    passages: PassageTable,
    /// The weights every stored vector and every query use.
    idf: Idf,
    /// Exact document frequencies of the live passages; equal to `idf`
    /// after a build, drifting from it between re-weightings (see update.rs).
    live_df: Idf,
    /// Update bookkeeping: rows at the last weighting, changes since.
    state: UpdateState,
    /// One flag per passage: tombstoned by an update.
    deleted: Vec<bool>,
    embedder: Embedder,
    /// The dense candidate vectors: f32 rows or 1-bit codes.
    dense: Dense,
    /// Exact weighted terms per passage. Re-weighting (update, compact)
    /// re-analyzes the stored passage text rather than keeping the
    /// pre-idf term weights: the analysis is deterministic and the text is
    /// a fifth of their size.
    sparse: TermRows,
    /// The graph over the f32 dense rows, for HNSW indexes.
    hnsw: Option<(Hnsw, HnswParams)>,
    file_bytes: Option<u64>,
    /// Bytes per section of the file this index was read from.
    sections: Vec<SectionBytes>,
    /// Where this index's file-backed slabs latch a block that failed its
    /// checksum; checked before any answer is returned.
    failure: Option<(PathBuf, crate::vector::Failure)>,
    /// The format version of the file this index was read from (or will be
    /// written as).
    format_version: u32,
}

impl Index {
    /// Walks `paths`, reads every text file and indexes it.
    pub fn build(
        paths: &[PathBuf],
        opts: &BuildOptions,
        reporter: &dyn Reporter,
    ) -> Result<(Index, BuildReport)> {
        let started = Instant::now();
        let files = corpus::collect_files(paths, &opts.walk)?;
        if files.is_empty() {
            return Err(Error::NoFiles {
                paths: paths
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
        reporter.stage("reading", files.len() as u64);
        let read: Vec<_> = files
            .par_iter()
            .map(|f| {
                let r = corpus::read_document(f, &opts.walk);
                reporter.inc(1);
                (f, r)
            })
            .collect();
        let mut report = BuildReport {
            files_seen: files.len(),
            ..Default::default()
        };
        let mut docs = Vec::new();
        for (f, r) in read {
            match r {
                Ok(d) => docs.push(d),
                Err(why) => {
                    reporter.warn(&format!("{}: skipped: {why}", f.display()));
                    report.skipped.push((f.display().to_string(), why));
                }
            }
        }
        let (index, passages) =
            Self::from_documents(docs, opts, reporter).map_err(|e| match e {
                Error::NoPassages { .. } if !report.skipped.is_empty() => Error::NoPassages {
                    reason: format!(
                        "all {} file(s) were skipped or held no text",
                        report.files_seen
                    ),
                },
                e => e,
            })?;
        report.documents = index.docs.len();
        report.passages = passages;
        report.seconds = started.elapsed().as_secs_f64();
        Ok((index, report))
    }

    /// Indexes documents already in memory; returns the passage count too.
    pub fn from_documents(
        docs: Vec<Document>,
        opts: &BuildOptions,
        reporter: &dyn Reporter,
    ) -> Result<(Index, usize)> {
        if opts.embedder.dim == 0 || opts.embedder.dim > crate::embed::MAX_DIM {
            return Err(Error::InvalidArgument(format!(
                "--dim must be between 1 and {}",
                crate::embed::MAX_DIM
            )));
        }
        if opts.kind == IndexKind::Hnsw && opts.codes() != Codes::F32 {
            return Err(Error::InvalidArgument(
                "an HNSW graph walks on f32 vectors: build it with f32 codes".into(),
            ));
        }
        let embedder = Embedder::new(opts.embedder.clone());
        let mut doc_meta = Vec::with_capacity(docs.len());
        let (raw, analyzed) = cut_and_analyze(&embedder, &docs, &mut doc_meta, reporter);
        if raw.is_empty() {
            return Err(Error::NoPassages {
                reason: "the input holds no text".into(),
            });
        }
        if raw.len() > u32::MAX as usize {
            return Err(Error::InvalidArgument(
                "more than 2^32 passages in one index".into(),
            ));
        }
        drop(docs);
        let live_df = Idf::from_passages(analyzed.iter().map(|(_, c)| c));
        let idf = weighting_idf(&live_df, analyzed.iter().map(|(l, c)| (*l, c)));
        // The index keeps only translations into terms its corpus holds:
        // a query term expanding to anything else is dropped anyway. The
        // lexicon's strings are not kept: the bridge is all it needs.
        let bridge = embedder
            .bridge()
            .map(|b| std::sync::Arc::new(b.pruned(|h| idf.df(h) > 0)));
        let settings = EmbedderSettings {
            lexicon: None,
            ..opts.embedder.clone()
        };
        let mut langs: Vec<String> = analyzed.iter().map(|(l, _)| l.to_string()).collect();
        langs.sort();
        langs.dedup();
        reporter.stage("embedding", raw.len() as u64);
        let counts: Vec<&TermCounts> = analyzed.iter().map(|(_, c)| c).collect();
        let (dense, sparse) = embed_rows(&embedder, &idf, &counts, opts.codes(), reporter)?;
        let passages =
            PassageTable::build(raw.into_iter().zip(&analyzed).map(|((doc, p), (lang, _))| {
                PassageMeta {
                    doc,
                    lang: langs
                        .binary_search_by(|l| l.as_str().cmp(lang))
                        .expect("collected above") as u16,
                    line_start: p.line_start,
                    line_end: p.line_end,
                    byte_start: p.byte_start,
                    byte_end: p.byte_end,
                    text: p.text,
                }
            }));
        let n = passages.len();
        let hnsw = dense
            .f32()
            .filter(|_| opts.kind == IndexKind::Hnsw)
            .map(|flat| {
                reporter.stage("linking graph", n as u64);
                let done = std::sync::atomic::AtomicU64::new(0);
                let g = Hnsw::build(flat.rows(), &opts.hnsw, &|inserted| {
                    let before = done.swap(inserted as u64, std::sync::atomic::Ordering::Relaxed);
                    reporter.inc((inserted as u64).saturating_sub(before));
                });
                (g, opts.hnsw.clone())
            });
        reporter.finish();
        let config = IndexConfig {
            embedder: settings.clone(),
            kind: opts.kind,
            langs,
        };
        let embedder = Embedder::with_bridge(settings, bridge);
        let index = Index::fresh(
            config, doc_meta, passages, live_df, idf, embedder, dense, sparse, hnsw,
        );
        Ok((index, n))
    }

    /// An index exactly weighted over all its rows, with no tombstones: what
    /// a build and a compaction both produce. The update bookkeeping is
    /// derived here rather than spelt out at each site.
    #[allow(clippy::too_many_arguments)]
    fn fresh(
        config: IndexConfig,
        docs: Vec<DocMeta>,
        passages: PassageTable,
        live_df: Idf,
        idf: Idf,
        embedder: Embedder,
        dense: Dense,
        sparse: TermRows,
        hnsw: Option<(Hnsw, HnswParams)>,
    ) -> Index {
        Index {
            config,
            docs,
            deleted: vec![false; passages.len()],
            state: UpdateState {
                weighted_rows: passages.len() as u64,
                changed_since_weighting: 0,
            },
            passages,
            live_df,
            idf,
            embedder,
            dense,
            sparse,
            hnsw,
            file_bytes: None,
            sections: Vec::new(),
            failure: None,
            format_version: crate::store::FORMAT_VERSION,
        }
    }

    /// The built-in sample corpus, indexed in memory.
    pub fn sample(opts: &BuildOptions) -> Result<Index> {
        Ok(Self::from_documents(sample::documents(), opts, &Quiet)?.0)
    }

    /// Opens an index in O(1) of its vectors: structure, metadata checksums
    /// and bounds are checked; the big raw sections' checksums are left to
    /// [`Index::verify`].
    pub fn open(path: &Path) -> Result<Index> {
        persist::open(path, false)
    }

    /// Saves atomically; on error the file at `path` is as it was. Refuses
    /// to replace a file that is not an index (see
    /// [`crate::store::ensure_replaceable`]).
    pub fn save(&mut self, path: &Path) -> Result<u64> {
        crate::store::ensure_replaceable(path, &crate::store::MAGIC)?;
        let bytes = persist::save(self, path)?;
        self.file_bytes = Some(bytes);
        self.format_version = crate::store::FORMAT_VERSION;
        Ok(bytes)
    }

    pub fn config(&self) -> &IndexConfig {
        &self.config
    }

    pub fn docs(&self) -> &[DocMeta] {
        &self.docs
    }

    /// Passage records, indexable by passage id.
    pub fn passages(&self) -> &PassageTable {
        &self.passages
    }

    /// The text of passage `id`.
    pub fn passage_text(&self, id: u32) -> &str {
        self.passages.text(id)
    }

    /// The dense vectors as an f32 flat index: the stored rows, or for
    /// 1-bit codes, rows embedded again from the stored text (one
    /// analysis per passage; for `export` and `bench`, not for search).
    pub fn flat(&self) -> std::borrow::Cow<'_, FlatIndex> {
        match &self.dense {
            Dense::F32(f) => std::borrow::Cow::Borrowed(f),
            Dense::Bits(_) => {
                let dim = self.embedder.dim();
                let mut arena = crate::vector::AlignedVec::zeroed(self.passages.len() * dim);
                arena
                    .as_mut_slice()
                    .par_chunks_mut(dim)
                    .enumerate()
                    .for_each(|(i, row)| {
                        row.copy_from_slice(&self.dense_row(i as u32));
                    });
                std::borrow::Cow::Owned(
                    FlatIndex::new(dim, crate::vector::Slab::from_aligned(arena))
                        .expect("whole rows of dim"),
                )
            }
        }
    }

    /// How the dense vectors are stored.
    pub fn codes(&self) -> Codes {
        self.dense.codes()
    }

    /// The f32 dense vector of passage `id` (see [`Index::flat`]).
    pub(crate) fn dense_row(&self, id: u32) -> std::borrow::Cow<'_, [f32]> {
        dense::row_of(
            &self.dense,
            &self.embedder,
            &self.idf,
            id,
            self.passages.text(id),
        )
    }

    /// The graph and the parameters it was built with, for HNSW indexes.
    pub fn hnsw(&self) -> Option<&(Hnsw, HnswParams)> {
        self.hnsw.as_ref()
    }

    pub fn embedder(&self) -> &Embedder {
        &self.embedder
    }

    /// The unit query vector, hashed and sparse, or an error for an empty or
    /// wordless query. `None` when no query term occurs in the corpus:
    /// nothing can match.
    #[allow(clippy::type_complexity)]
    pub fn embed_query(&self, query: &str) -> Result<Option<(Vec<f32>, Vec<(u64, f32)>)>> {
        if query.trim().is_empty() {
            return Err(Error::EmptyQuery);
        }
        let counts = self.embedder.term_counts(query);
        if counts.is_empty() {
            return Err(Error::NoQueryTerms {
                query: query.to_string(),
            });
        }
        let mut v = vec![0.0; self.embedder.dim()];
        self.embedder.embed_counts(&counts, &self.idf, true, &mut v);
        if v.iter().all(|&x| x == 0.0) {
            return Ok(None);
        }
        Ok(Some((v, self.embedder.sparse(&counts, &self.idf, true))))
    }

    fn lang_mask(&self, lang: Option<&str>) -> Result<Option<Vec<bool>>> {
        let Some(tag) = lang else { return Ok(None) };
        if !text::is_valid_tag(tag) {
            return Err(Error::InvalidArgument(format!(
                "--lang {tag:?} is not a language tag (try ja, zh, zh-Hans, zh-Hant, fr, en)"
            )));
        }
        let mask: Vec<bool> = self
            .config
            .langs
            .iter()
            .map(|l| text::lang_matches(tag, l))
            .collect();
        if !mask.contains(&true) {
            // Nothing could ever pass: say which tags would, rather than
            // answer with silence.
            return Err(Error::InvalidArgument(format!(
                "language {tag:?} matches no passage of this index; its languages are {}",
                self.config.langs.join(", ")
            )));
        }
        Ok(Some(mask))
    }

    pub fn search(&self, query: &str, opts: &SearchOptions) -> Result<Vec<Hit>> {
        let hits = self.search_impl(query, opts);
        self.intact()?;
        hits
    }

    /// Every passage record, all checked (once): for readers of the whole
    /// table. A failure is the latched checksum error when there is one.
    pub(crate) fn records(&self) -> Result<&[PassageRecord]> {
        self.passages
            .records()
            .map_err(|detail| match self.intact() {
                Err(e) => e,
                Ok(()) => Error::Corrupt {
                    path: self
                        .failure
                        .as_ref()
                        .map_or_else(|| PathBuf::from("(in memory)"), |(p, _)| p.clone()),
                    detail,
                },
            })
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

    /// An error if any block this index has read so far failed its
    /// checksum: answers computed from damaged bytes never leave the
    /// engine.
    pub(crate) fn intact(&self) -> Result<()> {
        match &self.failure {
            Some((path, f)) => match crate::store::MappedFile::failure_error(path, f) {
                Some(e) => Err(e),
                None => Ok(()),
            },
            None => Ok(()),
        }
    }

    /// Answers many queries at once: all are embedded in parallel, then
    /// scanned together through the tiled kernel; results keep the order of
    /// `queries`, and each equals what [`Index::search`] returns for it.
    pub fn search_batch(&self, queries: &[String], opts: &SearchOptions) -> Vec<Result<Vec<Hit>>> {
        let results = self.search_batch_unchecked(queries, opts);
        results.into_iter().map(|r| self.intact().and(r)).collect()
    }

    fn search_batch_unchecked(
        &self,
        queries: &[String],
        opts: &SearchOptions,
    ) -> Vec<Result<Vec<Hit>>> {
        if opts.k == 0 {
            return queries
                .iter()
                .map(|_| Err(Error::InvalidArgument("-k must be at least 1".into())))
                .collect();
        }
        let mask = match self.lang_mask(opts.lang.as_deref()) {
            Ok(m) => m,
            Err(e) => return queries.iter().map(|_| Err(clone_arg_error(&e))).collect(),
        };
        let embedded: Vec<_> = queries.par_iter().map(|q| self.embed_query(q)).collect();
        let dim = self.embedder.dim();
        let mut matrix = Vec::new();
        for (v, _) in embedded.iter().flatten().flatten() {
            matrix.extend_from_slice(v);
        }
        let filter = |id: u32| self.visible(id, mask.as_deref());
        let fetch = self.fetch_count(opts);
        let mut dense = if matrix.is_empty() {
            Vec::new()
        } else {
            match (&self.dense, &self.hnsw) {
                (Dense::F32(flat), None) => flat.search_batch(&matrix, fetch, Some(&filter)),
                (Dense::F32(flat), Some(_)) if opts.exact => {
                    flat.search_batch(&matrix, fetch, Some(&filter))
                }
                _ => matrix
                    .par_chunks(dim)
                    .map(|q| self.dense_search(q, opts, &filter, false))
                    .collect(),
            }
        }
        .into_iter();
        debug_assert_eq!(matrix.len() % dim.max(1), 0);
        embedded
            .into_iter()
            .map(|e| match e {
                Err(e) => Err(e),
                Ok(None) => Ok(Vec::new()),
                Ok(Some((q, q_sparse))) => {
                    let scored = dense.next().expect("one result per embedded query");
                    let hits = self.finish_hits(scored, &q_sparse, opts);
                    Ok(self.exact_if_short(hits, &q, &q_sparse, opts, &filter, false))
                }
            })
            .collect()
    }

    /// Whether passage `id` may be returned: not tombstoned, and in one of
    /// the languages of `mask` (indexed by language id) when there is one.
    fn visible(&self, id: u32, mask: Option<&[bool]>) -> bool {
        !self.deleted[id as usize] && mask.is_none_or(|m| m[self.passages.get(id).lang as usize])
    }

    fn fetch_count(&self, opts: &SearchOptions) -> usize {
        if let Some(n) = opts.candidates {
            n.max(opts.k)
        } else if opts.rerank {
            self.dense
                .codes()
                .pool((opts.k * RERANK_FACTOR).max(RERANK_MIN))
        } else {
            opts.k
        }
    }

    fn finish_hits(
        &self,
        scored: Vec<Scored>,
        q_sparse: &[(u64, f32)],
        opts: &SearchOptions,
    ) -> Vec<Hit> {
        let scored = if opts.rerank {
            self.rerank(scored, q_sparse, opts.k)
        } else {
            scored
        };
        self.hits(scored)
    }

    fn search_impl(&self, query: &str, opts: &SearchOptions) -> Result<Vec<Hit>> {
        if opts.k == 0 {
            return Err(Error::InvalidArgument("-k must be at least 1".into()));
        }
        let mask = self.lang_mask(opts.lang.as_deref())?;
        let Some((q, q_sparse)) = self.embed_query(query)? else {
            return Ok(Vec::new());
        };
        let filter = |id: u32| self.visible(id, mask.as_deref());
        let scored = self.dense_search(&q, opts, &filter, true);
        let hits = self.finish_hits(scored, &q_sparse, opts);
        Ok(self.exact_if_short(hits, &q, &q_sparse, opts, &filter, true))
    }

    /// A query of rare terms gives the graph walk no gradient to follow: it
    /// may end among passages that share nothing with the query. When the
    /// graph returns fewer than `k` passages that do share a term, the exact
    /// scan answers instead, so a rare word is never missed.
    fn exact_if_short(
        &self,
        hits: Vec<Hit>,
        q: &[f32],
        q_sparse: &[(u64, f32)],
        opts: &SearchOptions,
        filter: &(dyn Fn(u32) -> bool + Sync),
        parallel: bool,
    ) -> Vec<Hit> {
        if self.hnsw.is_none() || opts.exact || hits.len() >= opts.k {
            return hits;
        }
        let exact = SearchOptions {
            exact: true,
            ..opts.clone()
        };
        let scored = self.dense_search(q, &exact, filter, parallel);
        self.finish_hits(scored, q_sparse, &exact)
    }

    /// Dense candidates: through the graph when there is one (and the
    /// caller did not ask for `exact`), else by a full scan.
    fn dense_search(
        &self,
        q: &[f32],
        opts: &SearchOptions,
        filter: &(dyn Fn(u32) -> bool + Sync),
        parallel: bool,
    ) -> Vec<Scored> {
        let fetch = self.fetch_count(opts);
        match (&self.hnsw, self.dense.f32()) {
            (Some((g, _)), Some(flat)) if !opts.exact => {
                thread_local! {
                    static SEARCHER: std::cell::RefCell<Searcher> = std::cell::RefCell::new(Searcher::tracking());
                }
                let ef = opts.ef.unwrap_or(DEFAULT_EF).max(fetch);
                SEARCHER
                    .with(|s| {
                        let mut s = s.borrow_mut();
                        let found =
                            g.search_filtered(flat.rows(), q, fetch, ef, Some(filter), &mut s);
                        // The walk read the vectors and links of every node
                        // it visited: verify those blocks (once per process
                        // each); a bad one is latched and the answer refused.
                        flat.check_rows(s.trail());
                        g.check_links(s.trail());
                        found
                    })
                    .into_iter()
                    .map(|(id, score)| Scored { id, score })
                    .collect()
            }
            _ => self.dense.search(q, fetch, filter, parallel),
        }
    }

    /// The exact sparse cosine times a length prior, (terms / mean
    /// terms)^SEARCH_LENGTH_PRIOR: see the constant.
    fn rerank(&self, candidates: Vec<Scored>, q: &[(u64, f32)], k: usize) -> Vec<Scored> {
        let (keys, weights): (Vec<u32>, Vec<f32>) = compact_row(q).into_iter().unzip();
        let mean_terms = self.sparse.mean_row_len().max(1.0);
        let mut top = crate::index::TopK::new(k);
        // In id order the rows are read front to back: a pool of thousands
        // then shares pages and TLB entries instead of jumping at random.
        let mut candidates = candidates;
        candidates.sort_unstable_by_key(|c| c.id);
        for c in candidates {
            let n = self.sparse.row(c.id).0.len() as f32;
            let prior = (n / mean_terms).powf(SEARCH_LENGTH_PRIOR);
            top.push(c.id, self.sparse.dot(c.id, &keys, &weights) * prior);
        }
        top.into_sorted()
    }

    /// Turns scored ids into hits; a score of zero or less shares no term
    /// with the query (only hash collisions), so it is not a hit.
    fn hits(&self, scored: Vec<Scored>) -> Vec<Hit> {
        scored
            .into_iter()
            .filter(|s| s.score > 0.0)
            .enumerate()
            .map(|(i, s)| {
                let p = self.passages.get(s.id);
                Hit {
                    rank: i + 1,
                    score: s.score,
                    passage: s.id,
                    doc: self.docs[p.doc as usize].path.clone(),
                    line_start: p.line_start,
                    line_end: p.line_end,
                    byte_start: p.byte_start,
                    byte_end: p.byte_end,
                    lang: self.config.langs[p.lang as usize].clone(),
                    text: self.passages.text(s.id).to_string(),
                }
            })
            .collect()
    }

    /// Byte ranges of `text` whose terms occur in `query`, merged, for
    /// highlighting.
    pub fn highlight(&self, query: &str, text: &str) -> Vec<(usize, usize)> {
        let analyzer = self.embedder.analyzer();
        let terms: std::collections::HashSet<String> = analyzer
            .analyze(query)
            .into_iter()
            .map(|t| t.term)
            .collect();
        let mut ranges: Vec<(usize, usize)> = Vec::new();
        analyzer.for_each_token(text, |term, s, e| {
            // Unigrams of a CJK query only light up inside a matched bigram.
            let cjk_single = term.chars().count() == 1
                && term
                    .chars()
                    .next()
                    .is_some_and(|c| text::script_of(c).is_cjk());
            if terms.contains(term) && !cjk_single {
                ranges.push((s, e));
            }
        });
        ranges.sort_unstable();
        let mut merged: Vec<(usize, usize)> = Vec::new();
        for (s, e) in ranges {
            match merged.last_mut() {
                Some(last) if s <= last.1 => last.1 = last.1.max(e),
                _ => merged.push((s, e)),
            }
        }
        merged
    }

    /// What `info` shows; reads every passage record, so a damaged one is
    /// an error.
    pub fn info(&self) -> Result<IndexInfo> {
        let mut counts = vec![0usize; self.config.langs.len()];
        for (p, _) in self
            .records()?
            .iter()
            .zip(&self.deleted)
            .filter(|(_, d)| !**d)
        {
            counts[p.lang as usize] += 1;
        }
        let dead = self.deleted.iter().filter(|d| **d).count();
        Ok(IndexInfo {
            passages: self.passages.len() - dead,
            deleted_passages: dead,
            documents: self.docs.iter().filter(|d| !d.deleted).count(),
            languages: self.config.langs.iter().cloned().zip(counts).collect(),
            dim: self.config.embedder.dim,
            kind: self.config.kind.name(),
            bytes: self.file_bytes,
            format_version: self.format_version,
            terms: self.idf.terms(),
            seed: self.config.embedder.seed,
            kernel: crate::vector::best().name,
            codes: self.dense.codes().name(),
            sections: self.sections.clone(),
        })
    }
}

/// The idf the vectors are weighted with, from the raw counts `live_df`
/// and every live passage's (language tag, term counts): language-relative
/// (see [`Idf::language_relative`]), with the scripts of one language
/// (zh-Hans, zh-Hant) as one group, since they share most terms.
pub(crate) fn weighting_idf<'a>(
    live_df: &Idf,
    rows: impl Iterator<Item = (&'a str, &'a TermCounts)>,
) -> Idf {
    let mut groups: Vec<&str> = Vec::new();
    let rows: Vec<(usize, &TermCounts)> = rows
        .map(|(tag, counts)| {
            let base = tag.split('-').next().unwrap_or(tag);
            let g = match groups.iter().position(|x| *x == base) {
                Some(g) => g,
                None => {
                    groups.push(base);
                    groups.len() - 1
                }
            };
            (g, counts)
        })
        .collect();
    live_df.language_relative(&rows)
}

/// Cuts `docs` into passages and analyzes each one (language tag, term
/// weights). Every document with text gets a `DocMeta` appended to
/// `doc_meta`, and its passages carry that entry's position. Builds and
/// updates both come through here, so both cut and analyze identically.
#[allow(clippy::type_complexity)]
fn cut_and_analyze(
    embedder: &Embedder,
    docs: &[Document],
    doc_meta: &mut Vec<DocMeta>,
    reporter: &dyn Reporter,
) -> (
    Vec<(u32, corpus::RawPassage)>,
    Vec<(&'static str, TermCounts)>,
) {
    reporter.stage("cutting passages", docs.len() as u64);
    let cut: Vec<Vec<corpus::RawPassage>> = docs
        .par_iter()
        .map(|d| {
            let p = corpus::cut_passages(&d.text);
            reporter.inc(1);
            p
        })
        .collect();
    let mut raw = Vec::new();
    for (d, ps) in docs.iter().zip(cut) {
        if ps.is_empty() {
            reporter.warn(&format!("{}: skipped: no text", d.path));
            continue;
        }
        let id = doc_meta.len() as u32;
        doc_meta.push(DocMeta {
            path: d.path.clone(),
            bytes: d.text.len() as u64,
            content_hash: xxh3_64(d.text.as_bytes()),
            mtime_ns: d.mtime_ns,
            deleted: false,
        });
        raw.extend(ps.into_iter().map(|p| (id, p)));
    }
    reporter.stage("analyzing", raw.len() as u64);
    let analyzed = raw
        .par_iter()
        .map(|(_, p)| {
            let r = (text::detect_lang(&p.text), embedder.term_counts(&p.text));
            reporter.inc(1);
            r
        })
        .collect();
    (raw, analyzed)
}
