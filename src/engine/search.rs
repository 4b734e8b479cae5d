//! Answering a query: embed it, fetch dense candidates (a scan of the codes
//! or vectors, or a graph walk), re-score them exactly on the sparse rows,
//! and turn the best into hits. A batch of queries takes the same steps,
//! scanning once for all of them.

use rayon::prelude::*;

use super::dense::Dense;
use super::types::{Hit, SearchOptions, DEFAULT_EF};
use super::Index;
use crate::error::{Error, Result};
use crate::index::{plan_filtered, FilterPlan, QueryRow, Scored, Searcher, TopK};
use crate::text;

/// A passage filter: which ids may be returned.
pub(crate) type Filter<'a> = dyn Fn(u32) -> bool + Sync + 'a;

/// A query embedded: its unit dense vector and its sparse terms.
pub(crate) type Embedded = (Vec<f32>, Vec<(u64, f32)>);

/// Dense candidates fetched per requested hit before the exact re-scoring:
/// enough that a true top-k passage pushed down by hash collisions is
/// still among them.
pub(crate) const RERANK_FACTOR: usize = 8;
pub(crate) const RERANK_MIN: usize = 64;

/// Candidates re-scored per parallel task: about 0.3 ms of work, so a
/// pool of 5,120 is split in five, and a small pool stays on one thread.
const RESCORE_CHUNK: usize = 1024;
/// How many candidates ahead the re-score asks for rows: a row comes from
/// memory in about the time eight rows are scored from cache.
const PREFETCH_AHEAD: usize = 16;

/// Exponent of the length prior of the exact re-score (0 = plain cosine).
/// Cosine favours fragments: a table cell naming one query word beats a
/// paragraph about the whole query, and a translation, which meets the
/// query only through the lexicon, loses most to such fragments. On the
/// sample's query set (`data/sample/queries.jsonl`, `eval search`) MRR@10
/// rose from 0.787 at 0 to 0.826 at 0.2 (nDCG@10 0.605 → 0.637), and kept
/// rising beyond; but from 0.5 on, queries whose answers are table rows
/// lose those answers to longer passages that merely mention their words,
/// so 0.2 (BENCHMARKS.md).
pub(crate) const SEARCH_LENGTH_PRIOR: f32 = 0.2;

impl SearchOptions {
    /// The options every query refuses before any work. Searches check
    /// them themselves; a front end may call this to refuse earlier.
    pub fn check(&self) -> Result<()> {
        Self::check_k(self.k)
    }

    /// The one rule for a number of hits (also of `bench`): at least one.
    pub fn check_k(k: usize) -> Result<()> {
        if k == 0 {
            return Err(Error::ZeroK);
        }
        Ok(())
    }
}

impl Index {
    /// The best passages for `query`, best first.
    pub fn search(&self, query: &str, opts: &SearchOptions) -> Result<Vec<Hit>> {
        let hits = self.search_unchecked(query, opts);
        self.intact()?;
        hits
    }

    /// Answers many queries at once: all are embedded in parallel, then
    /// scanned together through the tiled kernel; results keep the order of
    /// `queries`, and each equals what [`Index::search`] returns for it.
    pub fn search_batch(&self, queries: &[String], opts: &SearchOptions) -> Vec<Result<Vec<Hit>>> {
        let results = self.search_batch_unchecked(queries, opts);
        results.into_iter().map(|r| self.intact().and(r)).collect()
    }

    /// The unit query vector, hashed and sparse, or an error for an empty or
    /// wordless query. `None` when no query term occurs in the corpus:
    /// nothing can match.
    pub(crate) fn embed_query(&self, query: &str) -> Result<Option<Embedded>> {
        if query.trim().is_empty() {
            return Err(Error::EmptyQuery);
        }
        let embedder = &self.weighting.embedder;
        let idf = &self.weighting.idf;
        let counts = embedder.term_counts(query);
        if counts.is_empty() {
            return Err(Error::NoQueryTerms {
                query: query.to_string(),
            });
        }
        let mut v = vec![0.0; embedder.dim()];
        let sparse = embedder.embed_query(&counts, idf, self.idf_hint.get(), &mut v);
        if v.iter().all(|&x| x == 0.0) {
            return Ok(None);
        }
        Ok(Some((v, sparse)))
    }

    /// One flag per language of the index: whether `lang` covers it.
    pub(crate) fn lang_mask(&self, lang: Option<&str>) -> Result<Option<Vec<bool>>> {
        let Some(tag) = lang else { return Ok(None) };
        if !text::is_valid_tag(tag) {
            return Err(Error::BadLanguageTag {
                tag: tag.to_string(),
            });
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
            return Err(Error::LanguageNotInIndex {
                tag: tag.to_string(),
                langs: self.config.langs.clone(),
            });
        }
        Ok(Some(mask))
    }

    fn search_unchecked(&self, query: &str, opts: &SearchOptions) -> Result<Vec<Hit>> {
        opts.check()?;
        let mask = self.lang_mask(opts.lang.as_deref())?;
        let Some((q, q_sparse)) = self.embed_query(query)? else {
            return Ok(Vec::new());
        };
        let docs = self.doc_mask(opts);
        let filter = |id: u32| {
            self.corpus.visible(id, mask.as_deref()) && self.doc_allowed(docs.as_deref(), id)
        };
        if let Some(pool) = self.whole_pool(docs.as_deref(), opts, &filter) {
            return Ok(self.finish_hits(pool, &q_sparse, opts));
        }
        let scored = self.dense_search(&q, opts, &filter, true);
        let hits = self.finish_hits(scored, &q_sparse, opts);
        Ok(self.exact_if_short(hits, &q, &q_sparse, opts, &filter, true))
    }

    fn search_batch_unchecked(
        &self,
        queries: &[String],
        opts: &SearchOptions,
    ) -> Vec<Result<Vec<Hit>>> {
        let mask = match opts
            .check()
            .and_then(|()| self.lang_mask(opts.lang.as_deref()))
        {
            Ok(m) => m,
            // The same refusal for every query (errors are not Clone: each
            // query gets its own, made the same way).
            Err(_) => {
                return queries
                    .iter()
                    .map(|_| {
                        opts.check()
                            .and_then(|()| self.lang_mask(opts.lang.as_deref()))
                            .map(|_| Vec::new())
                    })
                    .collect()
            }
        };
        let embedded: Vec<_> = queries.par_iter().map(|q| self.embed_query(q)).collect();
        let docs = self.doc_mask(opts);
        let filter = |id: u32| {
            self.corpus.visible(id, mask.as_deref()) && self.doc_allowed(docs.as_deref(), id)
        };
        if let Some(pool) = self.whole_pool(docs.as_deref(), opts, &filter) {
            return embedded
                .into_iter()
                .map(|e| match e {
                    Err(e) => Err(e),
                    Ok(None) => Ok(Vec::new()),
                    Ok(Some((_, q_sparse))) => Ok(self.finish_hits(pool.clone(), &q_sparse, opts)),
                })
                .collect();
        }
        let mut dense = self.dense_batch(&embedded, opts, &filter).into_iter();
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

    /// Dense candidates of every embedded query, in order: one tiled scan
    /// over f32 rows for all of them, else one search each.
    fn dense_batch(
        &self,
        embedded: &[Result<Option<Embedded>>],
        opts: &SearchOptions,
        filter: &Filter,
    ) -> Vec<Vec<Scored>> {
        let dim = self.weighting.embedder.dim();
        let mut matrix = Vec::new();
        for (v, _) in embedded.iter().flatten().flatten() {
            matrix.extend_from_slice(v);
        }
        if matrix.is_empty() {
            return Vec::new();
        }
        let fetch = self.fetch_count(opts);
        match (&self.vectors.dense, &self.vectors.graph) {
            (Dense::F32(flat), None) => flat.search_batch(&matrix, fetch, Some(filter)),
            (Dense::F32(flat), Some(_)) if opts.exact => {
                flat.search_batch(&matrix, fetch, Some(filter))
            }
            _ => matrix
                .par_chunks(dim)
                .map(|q| self.dense_search(q, opts, filter, false))
                .collect(),
        }
    }

    /// Every passage the filters let through, as the pool to re-score,
    /// when the documents they allow hold no more passages than a scan
    /// would fetch: the scan would return them all, and the re-score
    /// ranks them by their exact scores alone, so skipping the scan leaves
    /// the answer as it was. Not for `--no-rerank`, which ranks by the
    /// scan's own scores.
    fn whole_pool(
        &self,
        docs: Option<&[bool]>,
        opts: &SearchOptions,
        filter: &Filter,
    ) -> Option<Vec<Scored>> {
        if !opts.rerank {
            return None;
        }
        let ids = self.few_passages(docs, self.fetch_count(opts), filter)?;
        Some(
            ids.into_iter()
                .map(|id| Scored { id, score: 0.0 })
                .collect(),
        )
    }

    /// Dense candidates to fetch for `opts`.
    fn fetch_count(&self, opts: &SearchOptions) -> usize {
        if let Some(n) = opts.candidates {
            n.max(opts.k)
        } else if opts.rerank {
            self.codes().pool((opts.k * RERANK_FACTOR).max(RERANK_MIN))
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
            let query = self.vectors.sparse.query(q_sparse);
            let mean_terms = self.vectors.sparse.mean_row_len().max(1.0);
            self.rescore(scored, &query, opts.k, |n| {
                (n as f32 / mean_terms).powf(SEARCH_LENGTH_PRIOR)
            })
        } else {
            scored
        };
        self.hits(scored)
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
        filter: &Filter,
        parallel: bool,
    ) -> Vec<Hit> {
        if self.vectors.graph.is_none() || opts.exact || hits.len() >= opts.k {
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
    /// caller did not ask for `exact`), else by a full scan. `filter` is the
    /// one `opts` makes (language, documents, deletions): a walk drops it
    /// when `opts` lets every passage through.
    fn dense_search(
        &self,
        q: &[f32],
        opts: &SearchOptions,
        filter: &Filter,
        parallel: bool,
    ) -> Vec<Scored> {
        let fetch = self.fetch_count(opts);
        let Some((g, _)) = self.vectors.graph.as_ref().filter(|_| !opts.exact) else {
            return self.vectors.dense.search(q, fetch, filter, parallel);
        };
        let ef = opts.ef.unwrap_or(DEFAULT_EF).max(fetch);
        // A selective filter starves a walk of passing nodes: widen the
        // beam for it, or scan exactly when that reads fewer.
        let ef = match plan_filtered(g.len(), self.allowed(opts), fetch, ef) {
            FilterPlan::Scan => return self.vectors.dense.search(q, fetch, filter, parallel),
            FilterPlan::Graph { ef } => ef,
        };
        thread_local! {
            static SEARCHER: std::cell::RefCell<Searcher> = std::cell::RefCell::new(Searcher::tracking());
        }
        SEARCHER.with(|s| {
            let mut s = s.borrow_mut();
            // The walk read the rows and links of every node it visited:
            // verify those blocks (once per process each); a bad one is
            // latched and the answer refused. An index checked whole when
            // it was opened has nothing left to verify.
            let check = !self.verified;
            let found = match &self.vectors.dense {
                Dense::F32(flat) => {
                    // A filter that lets every passage through is no filter:
                    // the walk then skips a call and a second beam per node
                    // it scores. The answer is the same: the beam holds the
                    // best `ef` of the nodes scored, in the same order as the
                    // filtered list holds the best `fetch` of them.
                    let filter: Option<&dyn Fn(u32) -> bool> =
                        (!self.lets_all_through(opts)).then_some(filter);
                    let found = g.search_filtered(flat.rows(), q, fetch, ef, filter, &mut s);
                    if check {
                        flat.check_rows(s.trail());
                    }
                    found
                        .into_iter()
                        .map(|(id, score)| Scored { id, score })
                        .collect()
                }
                Dense::Bits(b) => {
                    // The beam is the pool: the walk's best `ef` by
                    // estimate, re-scored exactly as the scan's pool is.
                    let planes = b.query(q);
                    let found = g.search_codes(b.rows(), &planes, fetch, ef, Some(filter), &mut s);
                    if check {
                        b.check_rows(s.trail());
                    }
                    let found = found.into_iter().take(fetch).map(|(id, score)| Scored {
                        id,
                        score: score as f32,
                    });
                    super::dense::estimates(&planes, found.collect())
                }
            };
            if check {
                g.check_links(s.trail());
            }
            found
        })
    }

    /// Whether the filter of `opts` passes every passage: no language or
    /// document named, and no passage deleted.
    fn lets_all_through(&self, opts: &SearchOptions) -> bool {
        opts.lang.is_none()
            && opts.paths.as_ref().is_none_or(|p| p.is_empty())
            && *self.dead.get_or_init(|| self.corpus.dead()) == 0
    }

    /// How many live passages `opts`' filters (language, documents) let
    /// through, for planning a graph walk: exact for one of them, the
    /// smaller count when both are given.
    fn allowed(&self, opts: &SearchOptions) -> usize {
        let n = self.corpus.passages.len();
        let dead = *self.dead.get_or_init(|| self.corpus.dead());
        if opts.lang.is_none() && opts.paths.as_ref().is_none_or(|p| p.is_empty()) {
            return n - dead;
        }
        let (by_lang, by_doc) = self.live_counts.get_or_init(|| {
            let mut by_lang = vec![0; self.config.langs.len()];
            let mut by_doc = vec![0; self.corpus.docs.len()];
            for id in 0..n as u32 {
                if !self.corpus.deleted[id as usize] {
                    let p = self.corpus.passages.get(id);
                    by_lang[p.lang as usize] += 1;
                    by_doc[p.doc as usize] += 1;
                }
            }
            (by_lang, by_doc)
        });
        let mut allowed = n - dead;
        if let Ok(Some(mask)) = self.lang_mask(opts.lang.as_deref()) {
            allowed = allowed.min(
                by_lang
                    .iter()
                    .zip(&mask)
                    .filter(|(_, m)| **m)
                    .map(|(c, _)| c)
                    .sum(),
            );
        }
        if let Some(mask) = self.doc_mask(opts) {
            allowed = allowed.min(
                by_doc
                    .iter()
                    .zip(&mask)
                    .filter(|(_, m)| **m)
                    .map(|(c, _)| c)
                    .sum(),
            );
        }
        allowed
    }

    /// The best `k` of `candidates` by exact sparse cosine with the query
    /// terms times `prior(terms of the candidate)`.
    pub(crate) fn rescore(
        &self,
        mut candidates: Vec<Scored>,
        query: &QueryRow,
        k: usize,
        prior: impl Fn(usize) -> f32 + Sync,
    ) -> Vec<Scored> {
        let sparse = &self.vectors.sparse;
        // In id order the rows are read front to back: a pool of thousands
        // then shares pages and TLB entries instead of jumping at random.
        candidates.sort_unstable_by_key(|c| c.id);
        let score = |part: &[Scored]| {
            let mut top = TopK::new(k);
            // The loop asks for rows a fixed distance ahead, so the first
            // ones would come from memory one after another: ask for them
            // all first (a graph walk's pool of 80 is mostly this head).
            for c in part.iter().take(2 * PREFETCH_AHEAD) {
                sparse.prefetch_offsets(c.id);
            }
            for c in part.iter().take(PREFETCH_AHEAD) {
                sparse.prefetch(c.id);
            }
            for (i, c) in part.iter().enumerate() {
                if let Some(ahead) = part.get(i + 2 * PREFETCH_AHEAD) {
                    sparse.prefetch_offsets(ahead.id);
                }
                if let Some(ahead) = part.get(i + PREFETCH_AHEAD) {
                    sparse.prefetch(ahead.id);
                }
                let n = sparse.row_len(c.id);
                top.push(c.id, sparse.dot(c.id, query) * prior(n));
            }
            top
        };
        // A pool that is one task's worth is scored on the calling thread:
        // handing it to the pool and waiting for it costs two thread
        // wake-ups, which on an idle server are worth more than the work
        // (a graph walk's pool of 80).
        if candidates.len() <= RESCORE_CHUNK {
            return score(&candidates).into_sorted();
        }
        // A pool of thousands is split over the cores; the order of `TopK`
        // is total (score, then id), so the merged answer does not depend
        // on how the pool was split.
        candidates
            .par_chunks(RESCORE_CHUNK)
            .map(score)
            .reduce(|| TopK::new(k), TopK::merge)
            .into_sorted()
    }

    /// Turns scored ids into hits; a score of zero or less shares no term
    /// with the query (only hash collisions), so it is not a hit.
    pub(crate) fn hits(&self, scored: Vec<Scored>) -> Vec<Hit> {
        let passages = &self.corpus.passages;
        scored
            .into_iter()
            .filter(|s| s.score > 0.0)
            .enumerate()
            .map(|(i, s)| {
                let p = passages.get(s.id);
                Hit {
                    rank: i + 1,
                    score: s.score,
                    passage: s.id,
                    doc: self.corpus.docs.path(p.doc).into_owned(),
                    page: self.corpus.page_of(p.doc, p.byte_start),
                    line_start: p.line_start,
                    line_end: p.line_end,
                    byte_start: p.byte_start,
                    byte_end: p.byte_end,
                    lang: self.config.langs[p.lang as usize].clone(),
                    text: passages.text(s.id).to_string(),
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{BuildOptions, Codes, IndexKind, PathFilter, Quiet};

    /// A search in a few documents scores their passages without a scan
    /// (`whole_pool`); its answer must be the scan's, for every kind of
    /// index, every document of the sample, and queries in each language.
    #[test]
    fn a_whole_pool_answers_as_the_scan_does() {
        let queries = [
            "ベクトルデータベース",
            "向量数据库",
            "base de données",
            "search index",
        ];
        for (kind, codes) in [
            (IndexKind::Flat, Codes::Bits),
            (IndexKind::Flat, Codes::F32),
            (IndexKind::Hnsw, Codes::F32),
        ] {
            let opts = BuildOptions {
                kind,
                codes: Some(codes),
                ..BuildOptions::default()
            };
            let (index, _) = Index::build(&["data/sample".into()], &opts, &Quiet).unwrap();
            let paths: Vec<String> = index.corpus.docs.iter().map(|d| d.path.clone()).collect();
            let mut direct = 0;
            for path in &paths {
                for (query, k) in queries.iter().zip([1, 3, 10, 5]) {
                    let opts = SearchOptions {
                        k,
                        paths: Some(PathFilter::document(path)),
                        ..SearchOptions::default()
                    };
                    let Some((q, q_sparse)) = index.embed_query(query).unwrap() else {
                        continue;
                    };
                    let docs = index.doc_mask(&opts);
                    let filter = |id: u32| index.doc_allowed(docs.as_deref(), id);
                    let Some(pool) = index.whole_pool(docs.as_deref(), &opts, &filter) else {
                        continue;
                    };
                    direct += 1;
                    let exact = SearchOptions {
                        exact: true,
                        ..opts.clone()
                    };
                    let scanned = index.dense_search(&q, &exact, &filter, true);
                    let key = |h: Vec<Hit>| -> Vec<(u32, u32)> {
                        h.iter().map(|h| (h.passage, h.score.to_bits())).collect()
                    };
                    assert_eq!(
                        key(index.finish_hits(pool, &q_sparse, &opts)),
                        key(index.finish_hits(scanned, &q_sparse, &opts)),
                        "{kind:?} {codes:?} {path} {query}"
                    );
                }
            }
            // Most sample documents are small enough to take the shortcut.
            assert!(direct >= paths.len(), "{kind:?}: {direct} direct answers");
        }
    }
}
