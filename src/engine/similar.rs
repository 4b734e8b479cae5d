//! Passage-to-passage lookup: `similar` finds the passages most like a
//! stored one, with its own dense vector for candidates and its own sparse
//! row for the exact re-score. Cross-language lookup is this with a
//! language filter.

use super::search::{Filter, RERANK_FACTOR, RERANK_MIN};
use super::types::{Hit, SearchOptions};
use super::Index;
use crate::error::{Error, Result};
use crate::index::{QueryRow, Scored};

/// How many times more dense candidates `similar` re-scores than `search`.
const SIMILAR_FETCH_BOOST: usize = 4;

/// Exponent of the length prior of `similar` (0 = plain cosine); 0.25
/// measured best of 0, 0.15, 0.25, 0.5 on the sample and on the seeds
/// among 25,000 distractors (BENCHMARKS.md).
const LENGTH_PRIOR: f32 = 0.25;

impl Index {
    /// The passage of document `doc` covering 1-based `line`. `doc` is a
    /// stored path or an unambiguous suffix of one (at a `/` boundary).
    pub fn passage_at(&self, doc: &str, line: u32) -> Result<u32> {
        let d = self.corpus.find_doc(doc)?;
        self.corpus
            .overlapping(d, line, line)
            .first()
            .copied()
            .ok_or_else(|| Error::NoPassageAtLine {
                doc: self.corpus.docs.path(d).into_owned(),
                line,
            })
    }

    /// The live document stored as `doc`, or the only one whose path ends
    /// with it (see [`Index::passage_at`]).
    pub(crate) fn find_doc(&self, doc: &str) -> Result<u32> {
        self.corpus.find_doc(doc)
    }

    /// The passages of document `doc` overlapping lines `start..=end`.
    pub(crate) fn overlapping(&self, doc: u32, start: u32, end: u32) -> Vec<u32> {
        self.corpus.overlapping(doc, start, end)
    }

    /// Whether passage `id` is tombstoned.
    pub(crate) fn is_deleted(&self, id: u32) -> bool {
        self.corpus.deleted[id as usize]
    }

    /// The passages most like passage `id`, itself excluded, best first.
    pub fn similar(&self, id: u32, opts: &SearchOptions) -> Result<Vec<Hit>> {
        opts.check()?;
        if id as usize >= self.corpus.passages.len() {
            return Err(Error::NoSuchPassage { id });
        }
        let mask = self.lang_mask(opts.lang.as_deref())?;
        let filter = |p: u32| p != id && self.corpus.visible(p, mask.as_deref());
        let hits = self.hits(self.similar_where(id, opts.k, opts.rerank, &filter, true));
        self.intact()?;
        Ok(hits)
    }

    /// The best `k` passages like `id` among those `filter` admits, as
    /// scored ids (for evaluation, which filters by its own labels).
    pub(crate) fn similar_where(
        &self,
        id: u32,
        k: usize,
        rerank: bool,
        filter: &Filter,
        parallel: bool,
    ) -> Vec<Scored> {
        let q = self.dense_row(id);
        // A passage is a long query: hash collisions spread its dense
        // score over many more near-misses than a few query words do, so
        // it fetches several times more candidates for the exact re-score
        // (cheap next to the dense scan; measured in BENCHMARKS.md).
        let fetch = if rerank {
            self.codes()
                .pool((k * RERANK_FACTOR).max(RERANK_MIN) * SIMILAR_FETCH_BOOST)
        } else {
            k
        };
        let scored = self.vectors.dense.search(&q, fetch, filter, parallel);
        if !rerank {
            return scored;
        }
        let (mut keys, mut weights) = self.vectors.sparse.row_f32(id);
        if !keys.windows(2).all(|w| w[0] < w[1]) {
            // Only a damaged row is out of order: its block failed its
            // checksum and the answer will be refused (`intact`), but the
            // query row must still be well formed until then.
            let mut pairs: Vec<(u32, f32)> = keys.into_iter().zip(weights).collect();
            pairs.sort_by_key(|p| p.0);
            pairs.dedup_by_key(|p| p.0);
            (keys, weights) = pairs.into_iter().unzip();
        }
        // Length prior: cosine over a few shared terms favours fragments (a
        // two-word table cell "データ" beats a whole paragraph), but a
        // passage's counterpart is about as long as it is. Term counts of
        // the two passages, min/max, to the power LENGTH_PRIOR.
        let own = keys.len();
        let query = QueryRow::new(keys, weights);
        self.rescore(scored, &query, k, |n| {
            let (a, b) = (n.min(own) as f32, n.max(own).max(1) as f32);
            (a / b).powf(LENGTH_PRIOR)
        })
    }
}
