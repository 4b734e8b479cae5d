//! Measuring `search` itself: a file of queries, each naming the aligned
//! ids (see [`AlignedRow`]) of the passages that answer it, in whatever
//! languages the aligned file holds. A multilingual engine should bring an
//! answer in every language near the top, not just the query's own, so
//! besides MRR@10 and nDCG@10 it reports the share of answer languages
//! that have an answer in the top 5.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::crosslang::AlignedRow;
use crate::error::{Error, Result};
use crate::{Hit, Index, SearchOptions};

/// How deep MRR and nDCG look.
const DEPTH: usize = 10;
/// How deep an answer language must appear to count as covered.
const LANG_DEPTH: usize = 5;

/// A row of the aligned file that answers a query: its index, its
/// language, and the passages overlapping its lines.
type Answer<'a> = (usize, &'a str, Vec<u32>);

/// One line of a query file.
#[derive(Debug, Clone, Deserialize)]
pub struct QueryRow {
    /// The query.
    pub query: String,
    /// The query's language, for grouping the report (`und` if absent).
    #[serde(default)]
    pub lang: Option<String>,
    /// Aligned ids whose passages answer the query.
    pub relevant: Vec<String>,
}

/// Scores of a group of queries (one query language, or `all`).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SearchScore {
    /// The group: a query language, or "all".
    pub lang: String,
    /// Queries in the group.
    pub queries: usize,
    /// Mean reciprocal rank of the first answer, 0 beyond rank 10.
    pub mrr10: f64,
    /// Binary-gain nDCG@10 over every answering row (each counted once).
    pub ndcg10: f64,
    /// Share of (query, answer language) pairs with an answer in that
    /// language in the top 5.
    pub langs_at5: f64,
}

/// What `eval search` reports.
#[derive(Debug, Clone, Serialize)]
pub struct SearchEvalReport {
    /// Scores per query language.
    pub groups: Vec<SearchScore>,
    /// All queries.
    pub all: SearchScore,
    /// Queries none of whose relevant ids resolve to an indexed passage.
    pub unanswerable: usize,
}

/// Runs every query of `queries` through `search` (with `opts`, at depth
/// 10) and scores it against the passages `rows` name.
pub fn search(
    index: &Index,
    queries: &[QueryRow],
    rows: &[AlignedRow],
    opts: &SearchOptions,
) -> Result<SearchEvalReport> {
    let answers = answers(index, rows);
    let opts = SearchOptions {
        k: DEPTH,
        ..opts.clone()
    };
    let texts: Vec<String> = queries.iter().map(|q| q.query.clone()).collect();
    let results = index.search_batch(&texts, &opts);
    // (queries, rr, ndcg, covered langs, answer langs) per group.
    let mut acc: BTreeMap<String, Sums> = BTreeMap::new();
    let mut unanswerable = 0;
    for (i, (q, hits)) in queries.iter().zip(results).enumerate() {
        let hits = hits.map_err(|e| Error::QueryFailed {
            number: i + 1,
            query: q.query.clone(),
            source: Box::new(e),
        })?;
        let relevant: Vec<&Answer> = q
            .relevant
            .iter()
            .filter_map(|id| answers.get(id.as_str()))
            .flatten()
            .collect();
        if relevant.is_empty() {
            unanswerable += 1;
            continue;
        }
        let one = score_one(&hits, &relevant);
        let group = q.lang.clone().unwrap_or_else(|| "und".into());
        for key in [group, "all".to_string()] {
            let e = acc.entry(key).or_default();
            e.0 += 1;
            e.1 += one.1;
            e.2 += one.2;
            e.3 += one.3;
            e.4 += one.4;
        }
    }
    let all = acc
        .remove("all")
        .map_or_else(|| score("all", Sums::default()), |v| score("all", v));
    Ok(SearchEvalReport {
        groups: acc.iter().map(|(l, v)| score(l, *v)).collect(),
        all,
        unanswerable,
    })
}

/// (queries, reciprocal rank, nDCG, answer languages covered, answer
/// languages), summed over a group.
type Sums = (usize, f64, f64, usize, usize);

/// For every aligned id, the rows answering for it: every passage
/// overlapping a row's lines answers for that row.
fn answers<'a>(index: &Index, rows: &'a [AlignedRow]) -> HashMap<&'a str, Vec<Answer<'a>>> {
    let mut answers: HashMap<&str, Vec<Answer>> = HashMap::new();
    for (i, r) in rows.iter().enumerate() {
        let Ok(doc) = index.find_doc(&r.file) else {
            continue;
        };
        let ps = index.overlapping(doc, r.line_start, r.line_end.unwrap_or(r.line_start));
        if !ps.is_empty() {
            answers
                .entry(r.id.as_str())
                .or_default()
                .push((i, r.lang.as_str(), ps));
        }
    }
    answers
}

/// One query's sums (see [`Sums`]) from its hits and its answers.
fn score_one(hits: &[Hit], relevant: &[&Answer]) -> Sums {
    let row_of: HashMap<u32, (usize, &str)> = relevant
        .iter()
        .flat_map(|(row, lang, ps)| ps.iter().map(move |p| (*p, (*row, *lang))))
        .collect();
    let mut seen_rows = HashSet::new();
    let mut rr = 0.0;
    let mut dcg = 0.0;
    let mut covered = HashSet::new();
    for (i, h) in hits.iter().enumerate() {
        let Some(&(row, lang)) = row_of.get(&h.passage) else {
            continue;
        };
        if rr == 0.0 {
            rr = 1.0 / (i + 1) as f64;
        }
        if seen_rows.insert(row) {
            dcg += 1.0 / ((i + 2) as f64).log2();
        }
        if i < LANG_DEPTH {
            covered.insert(lang);
        }
    }
    let n_rows = relevant.len().min(DEPTH);
    let ideal: f64 = (0..n_rows).map(|i| 1.0 / ((i + 2) as f64).log2()).sum();
    let langs: HashSet<&str> = relevant.iter().map(|r| r.1).collect();
    (1, rr, dcg / ideal, covered.len(), langs.len())
}

fn score(lang: &str, (n, rr, ndcg, cov, langs): Sums) -> SearchScore {
    let per = |x: f64, d: usize| if d == 0 { 0.0 } else { x / d as f64 };
    SearchScore {
        lang: lang.to_string(),
        queries: n,
        mrr10: per(rr, n),
        ndcg10: per(ndcg, n),
        langs_at5: per(cov as f64, langs),
    }
}

/// Reads a query file (JSON lines: `query`, `relevant`, optional `lang`);
/// blank lines are skipped, a bad line is an error naming it.
pub fn read_queries(path: &Path) -> Result<Vec<QueryRow>> {
    super::read_json_lines(path, "a query row", "query and relevant")
}
