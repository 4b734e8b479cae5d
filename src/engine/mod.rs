//! The library's front door: build an index from paths or documents, save
//! and open it, search it. Ties corpus → embed → index → store together;
//! knows nothing of terminals or flags.

mod crosslang;
mod persist;
pub mod sample;

use std::path::{Path, PathBuf};
use std::time::Instant;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use xxhash_rust::xxh3::xxh3_64;

pub use crosslang::{read_aligned, AlignedRow, CrosslangReport, PairScore};

use crate::corpus::{self, Document, SkipReason, WalkOptions};
use crate::embed::{Embedder, EmbedderSettings, Idf, TermCounts};
use crate::error::{Error, Result};
use crate::index::{FlatIndex, Scored, SparseBuilder, SparseVectors};
use crate::text;
use crate::vector::{AlignedVec, Slab};

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
}

impl Default for BuildOptions {
    fn default() -> Self {
        BuildOptions {
            embedder: EmbedderSettings::default(),
            kind: IndexKind::Flat,
            walk: WalkOptions::default(),
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
}

impl Default for SearchOptions {
    fn default() -> Self {
        SearchOptions {
            k: 10,
            lang: None,
            rerank: true,
        }
    }
}

/// Dense candidates fetched per requested hit before the exact re-scoring:
/// enough that a true top-k passage pushed down by hash collisions is
/// still among them.
const RERANK_FACTOR: usize = 8;
const RERANK_MIN: usize = 64;

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
    pub passages: usize,
    pub documents: usize,
    pub languages: Vec<(String, usize)>,
    pub dim: u32,
    pub kind: &'static str,
    pub bytes: Option<u64>,
    pub format_version: u32,
    pub terms: usize,
    pub seed: u64,
    pub kernel: &'static str,
}

pub struct Index {
    config: IndexConfig,
    docs: Vec<DocMeta>,
    passages: Vec<PassageMeta>,
    idf: Idf,
    embedder: Embedder,
    flat: FlatIndex,
    sparse: SparseVectors,
    file_bytes: Option<u64>,
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
        let embedder = Embedder::new(opts.embedder.clone());
        reporter.stage("cutting passages", docs.len() as u64);
        let cut: Vec<Vec<corpus::RawPassage>> = docs
            .par_iter()
            .map(|d| {
                let p = corpus::cut_passages(&d.text);
                reporter.inc(1);
                p
            })
            .collect();
        let mut doc_meta = Vec::with_capacity(docs.len());
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
            });
            raw.extend(ps.into_iter().map(|p| (id, p)));
        }
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
        reporter.stage("analyzing", raw.len() as u64);
        let analyzed: Vec<(&'static str, TermCounts)> = raw
            .par_iter()
            .map(|(_, p)| {
                let r = (text::detect_lang(&p.text), embedder.term_counts(&p.text));
                reporter.inc(1);
                r
            })
            .collect();
        let idf = Idf::from_passages(analyzed.iter().map(|(_, c)| c));
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
        let dim = embedder.dim();
        reporter.stage("embedding", raw.len() as u64);
        let mut arena = AlignedVec::zeroed(raw.len() * dim);
        let sparse_rows: Vec<Vec<(u64, f32)>> = arena
            .as_mut_slice()
            .par_chunks_mut(dim)
            .zip(analyzed.par_iter())
            .map(|(row, (_, counts))| {
                embedder.embed_counts(counts, &idf, false, row);
                reporter.inc(1);
                embedder.sparse(counts, &idf, false)
            })
            .collect();
        let mut sparse = SparseBuilder::new();
        for row in sparse_rows {
            sparse.push(row);
        }
        let sparse = sparse.finish();
        let passages: Vec<PassageMeta> = raw
            .into_iter()
            .zip(&analyzed)
            .map(|((doc, p), (lang, _))| PassageMeta {
                doc,
                lang: langs
                    .binary_search_by(|l| l.as_str().cmp(lang))
                    .expect("collected above") as u16,
                line_start: p.line_start,
                line_end: p.line_end,
                byte_start: p.byte_start,
                byte_end: p.byte_end,
                text: p.text,
            })
            .collect();
        reporter.finish();
        let n = passages.len();
        let flat =
            FlatIndex::new(dim, Slab::from_aligned(arena)).map_err(Error::InvalidArgument)?;
        let index = Index {
            config: IndexConfig {
                embedder: settings.clone(),
                kind: opts.kind,
                langs,
            },
            docs: doc_meta,
            passages,
            idf,
            embedder: Embedder::with_bridge(settings, bridge),
            flat,
            sparse,
            file_bytes: None,
        };
        Ok((index, n))
    }

    /// The built-in sample corpus, indexed in memory.
    pub fn sample(opts: &BuildOptions) -> Result<Index> {
        Ok(Self::from_documents(sample::documents(), opts, &Quiet)?.0)
    }

    pub fn open(path: &Path) -> Result<Index> {
        persist::open(path)
    }

    /// Saves atomically; on error the file at `path` is as it was.
    pub fn save(&mut self, path: &Path) -> Result<u64> {
        let bytes = persist::save(self, path)?;
        self.file_bytes = Some(bytes);
        Ok(bytes)
    }

    pub fn config(&self) -> &IndexConfig {
        &self.config
    }

    pub fn docs(&self) -> &[DocMeta] {
        &self.docs
    }

    pub fn passages(&self) -> &[PassageMeta] {
        &self.passages
    }

    pub fn flat(&self) -> &FlatIndex {
        &self.flat
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
        Ok(Some(
            self.config
                .langs
                .iter()
                .map(|l| text::lang_matches(tag, l))
                .collect(),
        ))
    }

    pub fn search(&self, query: &str, opts: &SearchOptions) -> Result<Vec<Hit>> {
        self.search_impl(query, opts, true)
    }

    /// Answers many queries, in parallel across queries; results keep the
    /// order of `queries`.
    pub fn search_batch(&self, queries: &[String], opts: &SearchOptions) -> Vec<Result<Vec<Hit>>> {
        queries
            .par_iter()
            .map(|q| self.search_impl(q, opts, false))
            .collect()
    }

    fn search_impl(&self, query: &str, opts: &SearchOptions, parallel: bool) -> Result<Vec<Hit>> {
        if opts.k == 0 {
            return Err(Error::InvalidArgument("-k must be at least 1".into()));
        }
        let mask = self.lang_mask(opts.lang.as_deref())?;
        let Some((q, q_sparse)) = self.embed_query(query)? else {
            return Ok(Vec::new());
        };
        let filter = |id: u32| {
            mask.as_ref()
                .is_none_or(|m| m[self.passages[id as usize].lang as usize])
        };
        let fetch = if opts.rerank {
            (opts.k * RERANK_FACTOR).max(RERANK_MIN)
        } else {
            opts.k
        };
        let scored = if parallel {
            self.flat.search(&q, fetch, Some(&filter))
        } else {
            self.flat.search_serial(&q, fetch, Some(&filter))
        };
        let scored = if opts.rerank {
            self.rerank(scored, &q_sparse, opts.k)
        } else {
            scored
        };
        Ok(self.hits(scored))
    }

    fn rerank(&self, candidates: Vec<Scored>, q: &[(u64, f32)], k: usize) -> Vec<Scored> {
        let (keys, weights): (Vec<u64>, Vec<f32>) = q.iter().copied().unzip();
        let mut top = crate::index::TopK::new(k);
        for c in candidates {
            top.push(c.id, self.sparse.dot(c.id, &keys, &weights));
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
                let p = &self.passages[s.id as usize];
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
                    text: p.text.clone(),
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

    pub fn info(&self) -> IndexInfo {
        let mut counts = vec![0usize; self.config.langs.len()];
        for p in &self.passages {
            counts[p.lang as usize] += 1;
        }
        IndexInfo {
            passages: self.passages.len(),
            documents: self.docs.len(),
            languages: self.config.langs.iter().cloned().zip(counts).collect(),
            dim: self.config.embedder.dim,
            kind: self.config.kind.name(),
            bytes: self.file_bytes,
            format_version: crate::store::FORMAT_VERSION,
            terms: self.idf.terms(),
            seed: self.config.embedder.seed,
            kernel: crate::vector::best().name,
        }
    }
}
