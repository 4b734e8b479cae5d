//! Measuring cross-language lookup: how often a passage's translation
//! comes first among the passages of the other language, per directed
//! language pair, from an aligned JSON-lines file.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::text;
use crate::Index;

/// One row of an aligned file: rows sharing `id` translate each other.
#[derive(Debug, Clone, Deserialize)]
pub struct AlignedRow {
    /// Rows sharing an id translate each other.
    pub id: String,
    /// The row's language.
    pub lang: String,
    /// The document (a stored path or a suffix of one).
    pub file: String,
    /// First line of the row (1-based).
    pub line_start: u32,
    /// Last line, if the row spans several.
    #[serde(default)]
    pub line_end: Option<u32>,
    /// The row's text, for reading the file (unused in scoring).
    #[serde(default)]
    pub text: Option<String>,
}

/// The score of one directed language pair (or of all of them).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PairScore {
    /// The query passage's language (or "all").
    pub source: String,
    /// The language searched in (or "all").
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
    /// Scores per directed pair.
    pub pairs: Vec<PairScore>,
    /// Every directed pair pooled (weighted by queries).
    pub all: PairScore,
    /// Rows whose (file, line) no indexed passage covers.
    pub unmatched_rows: usize,
}

/// Reads an aligned JSON-lines file; blank lines are skipped, a bad line is
/// an error naming it.
pub fn read_aligned(path: &Path) -> Result<Vec<AlignedRow>> {
    super::read_json_lines(path, "an aligned row", "id, lang, file, line_start")
}

/// A row resolved to the passage covering its first line.
struct Resolved<'a> {
    row: &'a AlignedRow,
    passage: u32,
    doc: u32,
    /// The passages overlapping the row's lines: a long line cut into
    /// several windows is found through any of them.
    span: Vec<u32>,
}

/// Top-1 and MRR@10 per directed language pair of `rows` (see
/// [`AlignedRow`]): for each row, `similar` among the passages of each
/// other language of its id, and where its counterpart ranks. The query is
/// the passage covering the row's first line; any passage of the
/// counterpart's file overlapping its lines counts as found.
pub fn crosslang(index: &Index, rows: &[AlignedRow], rerank: bool) -> Result<CrosslangReport> {
    let records = index.records()?;
    // A row no passage covers cannot be scored either way: counted apart.
    let mut unmatched = 0;
    let mut resolved: Vec<Resolved> = Vec::new();
    for row in rows {
        let Ok(doc) = index.find_doc(&row.file) else {
            unmatched += 1;
            continue;
        };
        let span = index.overlapping(doc, row.line_start, row.line_end.unwrap_or(row.line_start));
        let first_line = index.overlapping(doc, row.line_start, row.line_start);
        match first_line.first() {
            Some(&passage) => resolved.push(Resolved {
                row,
                passage,
                doc,
                span,
            }),
            None => unmatched += 1,
        }
    }
    let in_lang = language_test(index, &resolved, records);
    let jobs = jobs(&resolved);
    let ranks: Vec<Option<usize>> = jobs
        .par_iter()
        .map(|&(_, tl, src, want)| {
            let own = resolved[src].passage;
            let filter = |p: u32| p != own && !index.is_deleted(p) && in_lang(p, tl);
            let covers = |got: u32| {
                let w = &resolved[want];
                records[got as usize].doc == w.doc && w.span.contains(&got)
            };
            index
                .similar_where(own, 10, rerank, &filter, false)
                .iter()
                .filter(|s| s.score > 0.0)
                .position(|s| covers(s.id))
                .map(|i| i + 1)
        })
        .collect();
    Ok(report(&jobs, &ranks, unmatched))
}

/// Whether a passage is in a language: a passage the aligned file names
/// has the language the file says; any other passage has its detected tag,
/// where a coarser tag counts too (`zh` for zh-Hant). Short passages
/// (table rows) often carry no sure tag, and the user's labels are the
/// ground truth.
fn language_test<'a>(
    index: &'a Index,
    resolved: &'a [Resolved],
    records: &'a [crate::engine::PassageRecord],
) -> impl Fn(u32, &str) -> bool + Sync + 'a {
    let mut labeled: HashMap<u32, &str> = HashMap::new();
    for r in resolved {
        for &p in &r.span {
            labeled.insert(p, r.row.lang.as_str());
        }
    }
    let langs = &index.config().langs;
    let tag_ok: HashMap<&str, Vec<bool>> = resolved
        .iter()
        .map(|r| {
            let l = r.row.lang.as_str();
            let ok = langs
                .iter()
                .map(|t| text::lang_matches(l, t) || text::lang_matches(t, l))
                .collect();
            (l, ok)
        })
        .collect();
    move |p: u32, l: &str| match labeled.get(&p) {
        Some(label) => *label == l,
        None => tag_ok[l][records[p as usize].lang as usize],
    }
}

/// (source language, target language, source row, target row) for every
/// pair of rows of one id in two languages.
fn jobs<'a>(resolved: &'a [Resolved]) -> Vec<(&'a str, &'a str, usize, usize)> {
    let mut by_id: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, r) in resolved.iter().enumerate() {
        by_id.entry(r.row.id.as_str()).or_default().push(i);
    }
    let mut jobs = Vec::new();
    for (i, r) in resolved.iter().enumerate() {
        for &j in &by_id[r.row.id.as_str()] {
            let t = &resolved[j];
            if t.row.lang != r.row.lang && t.passage != r.passage {
                jobs.push((r.row.lang.as_str(), t.row.lang.as_str(), i, j));
            }
        }
    }
    jobs
}

/// Scores per pair and pooled, from each job's rank (`None` beyond 10).
fn report(
    jobs: &[(&str, &str, usize, usize)],
    ranks: &[Option<usize>],
    unmatched: usize,
) -> CrosslangReport {
    let mut acc: BTreeMap<(&str, &str), (usize, usize, f64)> = BTreeMap::new();
    for (&(sl, tl, _, _), rank) in jobs.iter().zip(ranks) {
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
    CrosslangReport {
        pairs: acc.iter().map(|((s, t), v)| score(s, t, *v)).collect(),
        all: score("all", "all", total),
        unmatched_rows: unmatched,
    }
}
