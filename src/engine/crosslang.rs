//! Passage-to-passage lookup and its measurement: `similar` finds the
//! passages most like a stored one (its own dense vector for candidates,
//! its own sparse vector for the exact re-score), and `eval_crosslang`
//! scores how often a passage's translation comes first, per directed
//! language pair, from an aligned JSON-lines file.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::{Hit, Index, IndexConfig, SearchOptions, RERANK_FACTOR, RERANK_MIN};
use crate::embed::Bridge;
use crate::error::{Error, Result};
use crate::index::{Scored, TopK};
use crate::text;

/// How many times more dense candidates `similar` re-scores than `search`.
const SIMILAR_FETCH_BOOST: usize = 4;

/// Exponent of the length prior of `similar` (0 = plain cosine); 0.25
/// measured best of 0, 0.15, 0.25, 0.5 on the sample and on the seeds
/// among 25,000 distractors (BENCHMARKS.md).
const LENGTH_PRIOR: f32 = 0.25;

/// One row of an aligned file: rows sharing `id` translate each other.
#[derive(Debug, Clone, Deserialize)]
pub struct AlignedRow {
    pub id: String,
    pub lang: String,
    pub file: String,
    pub line_start: u32,
    #[serde(default)]
    pub line_end: Option<u32>,
    #[serde(default)]
    pub text: Option<String>,
}

/// The score of one directed language pair (or of all of them).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PairScore {
    pub source: String,
    pub target: String,
    /// Source passages that have a counterpart in the target language.
    pub queries: usize,
    /// Share of queries whose counterpart ranks first.
    pub top1: f64,
    /// Mean reciprocal rank of the counterpart, 0 beyond rank 10.
    pub mrr10: f64,
}

/// What `eval crosslang` reports.
#[derive(Debug, Clone, Serialize)]
pub struct CrosslangReport {
    pub pairs: Vec<PairScore>,
    /// Every directed pair pooled (weighted by queries).
    pub all: PairScore,
    /// Rows whose (file, line) no indexed passage covers.
    pub unmatched_rows: usize,
}

impl Index {
    /// The passage of document `doc` covering 1-based `line`. `doc` is a
    /// stored path or an unambiguous suffix of one (at a `/` boundary).
    pub fn passage_at(&self, doc: &str, line: u32) -> Result<u32> {
        let d = self.find_doc(doc)?;
        self.passage_in_doc(d, line).ok_or_else(|| {
            Error::InvalidArgument(format!(
                "{}:{line}: no passage covers that line",
                self.docs[d as usize].path
            ))
        })
    }

    pub(super) fn find_doc(&self, doc: &str) -> Result<u32> {
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
            [] => Err(Error::InvalidArgument(format!(
                "{doc}: no indexed document has this path"
            ))),
            many => Err(Error::InvalidArgument(format!(
                "{doc}: ambiguous, {} indexed documents end with it (e.g. {} and {})",
                many.len(),
                self.docs[many[0]].path,
                self.docs[many[1]].path
            ))),
        }
    }

    fn passage_in_doc(&self, doc: u32, line: u32) -> Option<u32> {
        // Passages of a document are stored together and in line order.
        (self.first_passage_of(doc)..self.passages.len() as u32)
            .map(|i| (i, self.passages.get(i)))
            .take_while(|(_, p)| p.doc == doc)
            .find(|(_, p)| p.line_start <= line && line <= p.line_end)
            .map(|(i, _)| i)
    }

    /// The passages most like passage `id`, itself excluded, best first.
    pub fn similar(&self, id: u32, opts: &SearchOptions) -> Result<Vec<Hit>> {
        if opts.k == 0 {
            return Err(Error::InvalidArgument("-k must be at least 1".into()));
        }
        if id as usize >= self.passages.len() {
            return Err(Error::InvalidArgument(format!("no passage {id}")));
        }
        let mask = self.lang_mask(opts.lang.as_deref())?;
        let filter = |p: u32| p != id && self.visible(p, mask.as_deref());
        let hits = self.hits(self.similar_scored(id, opts.k, opts.rerank, &filter, true));
        self.intact()?;
        Ok(hits)
    }

    fn similar_scored(
        &self,
        id: u32,
        k: usize,
        rerank: bool,
        filter: &(dyn Fn(u32) -> bool + Sync),
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
        let scored = self.dense.search(&q, fetch, filter, parallel);
        if !rerank {
            return scored;
        }
        let (keys, weights) = self.sparse.row_f32(id);
        // Length prior: cosine over a few shared terms favours fragments (a
        // two-word table cell "データ" beats a whole paragraph), but a
        // passage's counterpart is about as long as it is. Term counts of
        // the two passages, min/max, to the power LENGTH_PRIOR.
        let mut top = TopK::new(k);
        for c in scored {
            let n = self.sparse.row(c.id).0.len();
            let (a, b) = (n.min(keys.len()) as f32, n.max(keys.len()).max(1) as f32);
            top.push(
                c.id,
                self.sparse.dot(c.id, &keys, &weights) * (a / b).powf(LENGTH_PRIOR),
            );
        }
        top.into_sorted()
    }

    /// Top-1 and MRR@10 per directed language pair of `rows` (see
    /// [`AlignedRow`]): for each row, `similar` among the passages of each
    /// other language of its id, and where its counterpart ranks. The
    /// query is the passage covering the row's first line; any passage of
    /// the counterpart's file overlapping its lines counts as found.
    pub fn eval_crosslang(&self, rows: &[AlignedRow], rerank: bool) -> Result<CrosslangReport> {
        // Resolve every row to a passage first; a row no passage covers
        // cannot be scored either way and is counted apart.
        let mut unmatched = 0;
        let mut resolved: Vec<(&AlignedRow, u32)> = Vec::new();
        for r in rows {
            match self
                .find_doc(&r.file)
                .ok()
                .and_then(|d| self.passage_in_doc(d, r.line_start))
            {
                Some(p) => resolved.push((r, p)),
                None => unmatched += 1,
            }
        }
        let mut by_id: HashMap<&str, Vec<(&str, u32)>> = HashMap::new();
        for (r, p) in &resolved {
            by_id
                .entry(r.id.as_str())
                .or_default()
                .push((r.lang.as_str(), *p));
        }
        // The lines each resolved row spans: a long line cut into several
        // windows is found through any of them.
        let records = self.records()?;
        let span: HashMap<u32, (u32, u32, u32)> = resolved
            .iter()
            .map(|(r, p)| {
                let doc = records[*p as usize].doc;
                (*p, (doc, r.line_start, r.line_end.unwrap_or(r.line_start)))
            })
            .collect();
        let covers = |want: u32, got: u32| {
            let (doc, s, e) = span[&want];
            let g = &records[got as usize];
            g.doc == doc && g.line_start <= e && s <= g.line_end
        };
        // A passage the aligned file names has the language the file says;
        // any other passage has its detected tag, where a coarser tag
        // counts too (`zh` for zh-Hant). Short passages (table rows) often
        // carry no sure tag, and the user's labels are the ground truth.
        let mut labeled: HashMap<u32, &str> = HashMap::new();
        for (r, p) in &resolved {
            let doc = records[*p as usize].doc;
            let (s, e) = (r.line_start, r.line_end.unwrap_or(r.line_start));
            let first = records.partition_point(|q| q.doc < doc);
            for (i, q) in records[first..].iter().enumerate() {
                if q.doc != doc {
                    break;
                }
                if q.line_start <= e && s <= q.line_end {
                    labeled.insert((first + i) as u32, r.lang.as_str());
                }
            }
        }
        let tag_ok: HashMap<&str, Vec<bool>> = by_id
            .values()
            .flatten()
            .map(|(l, _)| {
                let ok = self
                    .config
                    .langs
                    .iter()
                    .map(|t| text::lang_matches(l, t) || text::lang_matches(t, l))
                    .collect();
                (*l, ok)
            })
            .collect();
        let in_lang = |p: u32, l: &str| match labeled.get(&p) {
            Some(label) => *label == l,
            None => tag_ok[l][records[p as usize].lang as usize],
        };
        let mut jobs: Vec<(&str, &str, u32, u32)> = Vec::new();
        for (r, p) in &resolved {
            for (l, tp) in &by_id[r.id.as_str()] {
                if *l != r.lang && *tp != *p {
                    jobs.push((r.lang.as_str(), l, *p, *tp));
                }
            }
        }
        let ranks: Vec<Option<usize>> = jobs
            .par_iter()
            .map(|&(_, tl, src, want)| {
                let filter = |p: u32| p != src && !self.deleted[p as usize] && in_lang(p, tl);
                self.similar_scored(src, 10, rerank, &filter, false)
                    .iter()
                    .filter(|s| s.score > 0.0)
                    .position(|s| covers(want, s.id))
                    .map(|i| i + 1)
            })
            .collect();
        let mut acc: BTreeMap<(&str, &str), (usize, usize, f64)> = BTreeMap::new();
        for (&(sl, tl, _, _), rank) in jobs.iter().zip(&ranks) {
            let e = acc.entry((sl, tl)).or_default();
            e.0 += 1;
            if *rank == Some(1) {
                e.1 += 1;
            }
            e.2 += rank.map_or(0.0, |r| 1.0 / r as f64);
        }
        let score = |s: &str, t: &str, (n, top1, rr): (usize, usize, f64)| PairScore {
            source: s.to_string(),
            target: t.to_string(),
            queries: n,
            top1: if n == 0 { 0.0 } else { top1 as f64 / n as f64 },
            mrr10: if n == 0 { 0.0 } else { rr / n as f64 },
        };
        let total = acc
            .values()
            .fold((0, 0, 0.0), |a, b| (a.0 + b.0, a.1 + b.1, a.2 + b.2));
        Ok(CrosslangReport {
            pairs: acc.iter().map(|((s, t), v)| score(s, t, *v)).collect(),
            all: score("all", "all", total),
            unmatched_rows: unmatched,
        })
    }
}

/// Reads an aligned JSON-lines file; blank lines are skipped, a bad line is
/// an error naming it.
pub fn read_aligned(path: &Path) -> Result<Vec<AlignedRow>> {
    read_json_lines(path, "an aligned row", "id, lang, file, line_start")
}

/// Reads JSON lines of `T`, skipping blank lines; a bad line is an error
/// naming the file, the line, what it should be and the fields it needs.
pub(super) fn read_json_lines<T: serde::de::DeserializeOwned>(
    path: &Path,
    what: &str,
    need: &str,
) -> Result<Vec<T>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l).map_err(|e| {
                Error::InvalidArgument(format!(
                    "{}:{}: not {what} ({e}); need {need}",
                    path.display(),
                    i + 1
                ))
            })
        })
        .collect()
}

/// Whether `path` ends with `suffix` at a path-component boundary.
fn is_path_suffix(path: &str, suffix: &str) -> bool {
    let p = path.replace('\\', "/");
    let s = suffix.replace('\\', "/");
    !s.is_empty() && (p == s || p.ends_with(&format!("/{s}")))
}

/// The cross-language section of the index file: the analyzer switches
/// added after the config section was frozen, and whether there is a
/// lexicon bridge (its arrays are raw sections of their own, mapped on
/// open), so a query is expanded exactly as the documents were. A file
/// without it predates all of them: switches off, no lexicon.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct Section {
    fold_han: bool,
    latin_subwords: bool,
    whole_katakana: bool,
    /// The bridge's seed and its Katakana words (for compound splitting).
    bridge: Option<(u64, Vec<String>)>,
}

impl Section {
    pub(super) fn of(config: &IndexConfig, bridge: Option<&Bridge>) -> Self {
        let a = &config.embedder.analyzer;
        Section {
            fold_han: a.fold_han,
            latin_subwords: a.latin_subwords,
            whole_katakana: a.whole_katakana,
            bridge: bridge.map(|b| {
                let (seed, _, _, katakana) = b.parts();
                (seed, katakana.to_vec())
            }),
        }
    }

    /// Applies the switches; returns the bridge's seed and Katakana words
    /// when the file has a bridge.
    pub(super) fn apply(self, config: &mut IndexConfig) -> Option<(u64, Vec<String>)> {
        let a = &mut config.embedder.analyzer;
        a.fold_han = self.fold_han;
        a.latin_subwords = self.latin_subwords;
        a.whole_katakana = self.whole_katakana;
        self.bridge
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
