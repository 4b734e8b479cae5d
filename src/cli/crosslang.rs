//! The cross-language subcommands: `similar DOC:LINE`, `eval crosslang` and
//! `lexicon learn`. Kept apart from the search front end so the two grow
//! without touching each other.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use vecsearch::lexicon::{LearnOptions, Lexicon};
use vecsearch::{EmbedderSettings, Index, SearchOptions};

use super::{open_index, print, Outcome};

#[derive(Debug, Args)]
pub struct SimilarArgs {
    /// The passage to start from: DOC:LINE, where DOC is an indexed path or
    /// an unambiguous suffix of one and LINE any line of the passage.
    #[arg(value_name = "DOC:LINE")]
    pub target: String,
    #[command(flatten)]
    pub hits: super::args::HitArgs,
}

/// `index` flags for the analyzer switches and the lexicon, each on by
/// default; turning one off is how its effect is measured.
#[derive(Debug, Args)]
pub struct AnalyzerFlags {
    /// Token translations to add: builtin (shipped), none, or a lexicon
    /// file from `vecsearch lexicon learn`. Recorded in the index.
    /// [default: builtin]
    #[arg(long, value_name = "FILE|builtin|none")]
    pub lexicon: Option<String>,
    /// Weight of a translation next to a written word (× its association)
    /// [default: 2].
    #[arg(long, value_name = "F")]
    pub bridge: Option<f32>,
    /// Keep traditional and shinjitai Han characters apart from simplified.
    #[arg(long)]
    pub no_han_fold: bool,
    /// No 4-gram subwords of Latin words.
    #[arg(long)]
    pub no_subwords: bool,
    /// Keep diacritics ("données" and "donnees" differ).
    #[arg(long)]
    pub no_diacritic_fold: bool,
    /// Also index the bigrams inside Katakana words.
    #[arg(long)]
    pub katakana_bigrams: bool,
}

impl AnalyzerFlags {
    /// Applies the flags to embedder settings.
    pub fn apply(&self, s: &mut EmbedderSettings) -> Result<()> {
        let bridge = self.bridge.unwrap_or(vecsearch::lexicon::DEFAULT_BRIDGE);
        if !(bridge.is_finite() && bridge >= 0.0) {
            bail!("--bridge must be a number from 0");
        }
        s.analyzer.fold_han = !self.no_han_fold;
        s.analyzer.latin_subwords = !self.no_subwords;
        s.analyzer.fold_diacritics = !self.no_diacritic_fold;
        s.analyzer.whole_katakana = !self.katakana_bigrams;
        s.lexicon = match self.lexicon.as_deref().unwrap_or("builtin") {
            "none" => None,
            "builtin" => {
                let builtin = Lexicon::builtin();
                // A copy (390,000 strings) only for another bridge weight.
                Some(if builtin.bridge.to_bits() == bridge.to_bits() {
                    builtin
                } else {
                    Arc::new(Lexicon {
                        bridge,
                        ..(*builtin).clone()
                    })
                })
            }
            file => Some(Arc::new(Lexicon::load(Path::new(file), bridge)?)),
        };
        Ok(())
    }

    /// The flags given that ask for other settings than `have`, the
    /// settings of an index being updated, as typed.
    pub fn conflicts(&self, have: &vecsearch::AnalyzerSettings) -> Vec<&'static str> {
        let mut out = Vec::new();
        if self.lexicon.is_some() {
            out.push("--lexicon");
        }
        if self.bridge.is_some() {
            out.push("--bridge");
        }
        if self.no_han_fold && have.fold_han {
            out.push("--no-han-fold");
        }
        if self.no_subwords && have.latin_subwords {
            out.push("--no-subwords");
        }
        if self.no_diacritic_fold && have.fold_diacritics {
            out.push("--no-diacritic-fold");
        }
        if self.katakana_bigrams && have.whole_katakana {
            out.push("--katakana-bigrams");
        }
        out
    }
}

#[derive(Debug, Args)]
pub struct LexiconArgs {
    #[command(subcommand)]
    pub what: LexiconCommand,
}

#[derive(Debug, Subcommand)]
pub enum LexiconCommand {
    /// Learn token translations toward English from aligned text.
    Learn(LearnArgs),
}

#[derive(Debug, Args)]
pub struct LearnArgs {
    /// JSON lines with id, lang, text (English rows pair with the other
    /// rows of their id), or TSV: english<TAB>other or lang<TAB>english<TAB>other.
    #[arg(value_name = "PARALLEL")]
    pub parallel: PathBuf,
    /// Where to write the lexicon (gzip-compressed when it ends in .gz).
    #[arg(long, default_value = "lexicon.tsv.gz", value_name = "FILE")]
    pub out: PathBuf,
    /// Aligned pairs a translation must occur in.
    #[arg(long, default_value_t = 2, value_name = "N")]
    pub min_pairs: u32,
    /// Lowest Dice association kept (whatever the score).
    #[arg(long, default_value_t = 0.02, value_name = "F")]
    pub min_dice: f32,
    /// Translations kept per token.
    #[arg(long, default_value_t = 3, value_name = "N")]
    pub top: usize,
    /// The association kept as a translation's weight: dice, or cond
    /// (c(f,e)/c(f), how sure a translation of the token is), or model1
    /// (IBM Model 1 EM: the share of the token's occurrences aligned to e).
    #[arg(long, default_value = "cond", value_parser = ["dice", "cond", "model1"])]
    pub score: String,
}

#[derive(Debug, Args)]
pub struct EvalArgs {
    #[command(subcommand)]
    pub what: EvalCommand,
}

#[derive(Debug, Subcommand)]
pub enum EvalCommand {
    /// Top-1 and MRR@10 of finding a passage's translation, per directed
    /// language pair, from an aligned JSON-lines file.
    Crosslang(CrosslangArgs),
    /// MRR@10, nDCG@10 and answer languages in the top 5 of `search`, from
    /// a query file whose answers are ids of an aligned file.
    Search(SearchEvalArgs),
}

#[derive(Debug, Args)]
pub struct SearchEvalArgs {
    /// JSON lines with query, relevant (aligned ids) and optional lang.
    #[arg(long, value_name = "FILE")]
    pub queries: PathBuf,
    /// The aligned file the relevant ids refer to (id, lang, file, line_start).
    #[arg(long, value_name = "FILE")]
    pub aligned: PathBuf,
    #[command(flatten)]
    pub common: EvalCommon,
}

#[derive(Debug, Args)]
pub struct CrosslangArgs {
    /// JSON lines with id, lang, file, line_start (rows sharing an id
    /// translate each other).
    #[arg(long, value_name = "FILE")]
    pub aligned: PathBuf,
    #[command(flatten)]
    pub common: EvalCommon,
}

/// The options every `eval` takes.
#[derive(Debug, Args)]
pub struct EvalCommon {
    /// Index file [default: $VECSEARCH_INDEX or vecsearch.vsx].
    #[arg(long, value_name = "FILE")]
    pub index: Option<PathBuf>,
    /// JSON lines: one object per row of the report, then the pooled one.
    #[arg(long)]
    pub json: bool,
    /// Rank by the hashed vectors alone, without the exact re-scoring.
    #[arg(long)]
    pub no_rerank: bool,
}

/// Splits `DOC:LINE` at its last colon, so paths with colons still work.
/// ripgrep's `DOC:LINE:COLUMN` is taken too (the column is not needed: a
/// passage covers whole lines).
fn parse_target(s: &str) -> Result<(&str, u32)> {
    let s = match s.rsplit_once(':') {
        Some((head, col))
            if !col.is_empty()
                && col.bytes().all(|b| b.is_ascii_digit())
                && head
                    .rsplit_once(':')
                    .is_some_and(|(d, l)| !d.is_empty() && l.parse::<u32>().is_ok()) =>
        {
            head
        }
        _ => s,
    };
    let (doc, line) = s
        .rsplit_once(':')
        .with_context(|| format!("{s:?}: expected DOC:LINE, e.g. notes/a.md:12"))?;
    let line: u32 = line
        .parse()
        .ok()
        .filter(|&n| n > 0)
        .with_context(|| format!("{s:?}: LINE must be a line number from 1"))?;
    if doc.is_empty() {
        bail!("{s:?}: expected DOC:LINE, e.g. notes/a.md:12");
    }
    Ok((doc, line))
}

pub fn similar(a: SimilarArgs) -> Result<Outcome> {
    let opts = a.hits.options()?;
    let (doc, line) = parse_target(&a.target)?;
    let index = open_index(a.hits.index.as_deref())?;
    let (id, covers, (from, to)) = index.passage_near(doc, line)?;
    if !covers {
        eprintln!(
            "vecsearch: no passage covers {}:{line}; using the nearest one, lines {from}-{to}",
            print::escape_controls(doc),
        );
    }
    let hits = index.similar(id, &opts)?;
    let color = a.hits.color.enabled();
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let query = index.passage_text(id).to_string();
    print::hits(&mut out, &index, &query, None, &hits, a.hits.json, color)?;
    print::finish(out)?;
    Ok(if hits.is_empty() {
        Outcome::NoHits
    } else {
        Outcome::Hits
    })
}

pub fn eval(a: EvalArgs) -> Result<Outcome> {
    match a.what {
        EvalCommand::Crosslang(c) => eval_crosslang(c),
        EvalCommand::Search(s) => eval_search(s),
    }
}

fn eval_search(a: SearchEvalArgs) -> Result<Outcome> {
    let queries = vecsearch::eval::read_queries(&a.queries)?;
    if queries.is_empty() {
        bail!("{}: no queries", a.queries.display());
    }
    let rows = vecsearch::eval::read_aligned(&a.aligned)?;
    let index: Index = open_index(a.common.index.as_deref())?;
    let opts = SearchOptions {
        rerank: !a.common.no_rerank,
        ..SearchOptions::default()
    };
    let report = vecsearch::eval::search(&index, &queries, &rows, &opts)?;
    if report.all.queries == 0 {
        bail!(
            "{}: no query has an answer among the indexed passages (are the files of {} indexed?)",
            a.queries.display(),
            a.aligned.display()
        );
    }
    let rows: Vec<_> = report.groups.iter().chain([&report.all]).collect();
    let header = format!(
        "{:<10} {:>7} {:>7} {:>7} {:>9}",
        "lang", "queries", "mrr@10", "ndcg@10", "langs@5"
    );
    print_report(a.common.json, &rows, &header, |g| {
        format!(
            "{:<10} {:>7} {:>7.3} {:>7.3} {:>9.3}",
            g.lang, g.queries, g.mrr10, g.ndcg10, g.langs_at5
        )
    })?;
    if report.unanswerable > 0 {
        eprintln!(
            "vecsearch: warning: {} quer(y/ies) of {} have no answer among the indexed passages",
            report.unanswerable,
            a.queries.display()
        );
    }
    Ok(Outcome::Hits)
}

fn eval_crosslang(a: CrosslangArgs) -> Result<Outcome> {
    let rows = vecsearch::eval::read_aligned(&a.aligned)?;
    if rows.is_empty() {
        bail!("{}: no aligned rows", a.aligned.display());
    }
    let index: Index = open_index(a.common.index.as_deref())?;
    let report = vecsearch::eval::crosslang(&index, &rows, !a.common.no_rerank)?;
    if report.all.queries == 0 {
        bail!(
            "{}: no row has a translation among the indexed passages (are the files indexed?)",
            a.aligned.display()
        );
    }
    let rows: Vec<_> = report.pairs.iter().chain([&report.all]).collect();
    let header = format!(
        "{:<18} {:>7} {:>6} {:>7}",
        "pair", "queries", "top1", "mrr@10"
    );
    print_report(a.common.json, &rows, &header, |p| {
        let pair = if p.source == "all" {
            "all".to_string()
        } else {
            format!("{}→{}", p.source, p.target)
        };
        format!(
            "{:<18} {:>7} {:>6.3} {:>7.3}",
            pair, p.queries, p.top1, p.mrr10
        )
    })?;
    if report.unmatched_rows > 0 {
        eprintln!(
            "vecsearch: warning: {} row(s) of {} match no indexed passage",
            report.unmatched_rows,
            a.aligned.display()
        );
    }
    Ok(Outcome::Hits)
}

/// Prints the rows of an eval report: JSON lines, or a header and one
/// formatted line per row.
fn print_report<T: serde::Serialize>(
    json: bool,
    rows: &[&T],
    header: &str,
    line: impl Fn(&T) -> String,
) -> Result<()> {
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    if json {
        for r in rows {
            serde_json::to_writer(&mut out, r).map_err(std::io::Error::from)?;
            out.write_all(b"\n")?;
        }
    } else {
        writeln!(out, "{header}")?;
        for r in rows {
            writeln!(out, "{}", line(r))?;
        }
    }
    print::finish(out)
}

pub fn lexicon(a: LexiconArgs) -> Result<Outcome> {
    let LexiconCommand::Learn(a) = a.what;
    if a.top == 0 {
        bail!("--top must be at least 1");
    }
    let pairs = vecsearch::lexicon::read_parallel(&a.parallel)?;
    let opts = LearnOptions {
        min_pairs: a.min_pairs.max(1),
        min_dice: a.min_dice,
        top: a.top,
        score: match a.score.as_str() {
            "cond" => vecsearch::lexicon::Score::Conditional,
            "model1" => vecsearch::lexicon::Score::Model1,
            _ => vecsearch::lexicon::Score::Dice,
        },
        ..Default::default()
    };
    let (lex, report) = vecsearch::lexicon::learn(&pairs, &opts);
    if lex.is_empty() {
        bail!(
            "{}: no translation passed the floors ({} aligned pairs read); nothing written to {} (try lower --min-pairs or --min-dice, or more aligned text)",
            a.parallel.display(),
            report.pairs,
            a.out.display()
        );
    }
    let header = format!(
        "vecsearch lexicon: token -> English, {} score; learned from {} pairs of {}",
        a.score,
        report.pairs,
        a.parallel
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
    );
    let bytes = vecsearch::lexicon::save(&lex, &header, &a.out)
        .with_context(|| format!("{}", a.out.display()))?;
    let langs: Vec<String> = report
        .languages
        .iter()
        .map(|(l, n)| format!("{} {n}", if l.is_empty() { "?" } else { l }))
        .collect();
    eprintln!(
        "learned {} translations of {} tokens from {} pairs ({}) → {} ({})",
        report.translations,
        report.sources,
        report.pairs,
        langs.join(", "),
        a.out.display(),
        print::human_bytes(bytes)
    );
    Ok(Outcome::Hits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_split_at_the_last_colon() {
        assert_eq!(parse_target("a.md:12").unwrap(), ("a.md", 12));
        assert_eq!(parse_target("c:/x/a.md:3").unwrap(), ("c:/x/a.md", 3));
        assert!(parse_target("a.md").is_err());
        assert!(parse_target("a.md:0").is_err());
        assert!(parse_target(":4").is_err());
    }
}
