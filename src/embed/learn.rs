//! Learning a lexicon from parallel text: which tokens of each language
//! translate which tokens of the pivot (English). Both sides are cut by the
//! same analyzer the index uses, so the lexicon's keys are exactly the
//! terms the embedder will look up.
//!
//! The score is the Dice coefficient of co-occurrence in aligned pairs,
//! counted per source language (a Han bigram in Japanese and in Chinese
//! pairs is judged against each language's own English side), kept when
//! the pair co-occurs often enough and its log-likelihood ratio (G²) says
//! the association is not chance. Dice alone overrates rare pairs; G²
//! alone overrates frequent words; together they keep what both accept.

use std::collections::HashMap;
use std::path::Path;

use rayon::prelude::*;
use serde::Deserialize;

use super::lexicon::Lexicon;
use crate::error::{Error, Result};
use crate::text::{Analyzer, AnalyzerSettings};

/// One aligned pair: a pivot-language text and its translation.
#[derive(Debug, Clone)]
pub struct ParallelPair {
    /// Language of `other` (pairs are scored per language); `""` if unknown.
    pub lang: String,
    pub pivot: String,
    pub other: String,
}

#[derive(Debug, Clone)]
pub struct LearnOptions {
    /// Must be the analyzer of the indexes the lexicon will serve.
    pub analyzer: AnalyzerSettings,
    /// Pairs a (source, target) must share to be kept.
    pub min_pairs: u32,
    /// Lowest Dice score kept.
    pub min_dice: f32,
    /// G² threshold (10.83 is p < 0.001 for one degree of freedom).
    pub min_g2: f64,
    /// Translations kept per source token, best first.
    pub top: usize,
    /// Which association is the score (and the weight of a translation).
    pub score: Score,
}

/// The association of a source token f with a pivot token e, over the
/// aligned pairs of one language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Score {
    /// 2·c(f,e) / (c(f) + c(e)): symmetric, so an English word with many
    /// French forms (vector: vectoriel, vectorielles, vecteur…) scores low
    /// against each form.
    Dice,
    /// c(f,e) / c(f), the share of f's pairs whose English side has e: how
    /// sure a translation of f is, whatever else e translates. Common
    /// English words are kept out by the G² and Dice floors.
    Conditional,
    /// IBM Model 1: EM over the aligned pairs (English generating each
    /// source token, with a NULL word), then the expected share of f's
    /// occurrences aligned to e. Unlike `Conditional`, a common English
    /// word that merely co-occurs ("the", "of") gets little of f's mass,
    /// which goes to the word that explains f best.
    Model1,
}

/// EM iterations of `Score::Model1`.
const MODEL1_ITERS: usize = 5;

impl Default for LearnOptions {
    fn default() -> Self {
        LearnOptions {
            analyzer: AnalyzerSettings {
                // Grams would learn a second, noisier copy of each word.
                latin_subwords: false,
                ..AnalyzerSettings::default()
            },
            min_pairs: 3,
            min_dice: 0.1,
            min_g2: 10.83,
            top: 3,
            score: Score::Conditional,
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct LearnReport {
    pub pairs: usize,
    pub languages: Vec<(String, usize)>,
    pub sources: usize,
    pub translations: usize,
}

#[derive(Deserialize)]
struct Row {
    id: String,
    lang: String,
    text: String,
}

/// Reads aligned text: JSON lines (`id`, `lang`, `text`; English rows are
/// the pivot, every other row of the same id is paired with them), or TSV
/// with `pivot<TAB>other` or `lang<TAB>pivot<TAB>other` per line.
pub fn read_parallel(path: &Path) -> Result<Vec<ParallelPair>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let bad = |line: usize, why: &str| Error::BadInputLine {
        path: path.to_path_buf(),
        line,
        detail: why.to_string(),
    };
    let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    let mut pairs = Vec::new();
    if first.trim_start().starts_with('{') {
        // id → (English texts, (lang, text) of the others)
        type Group = (Vec<String>, Vec<(String, String)>);
        let mut groups: HashMap<String, Group> = HashMap::new();
        let mut order = Vec::new();
        for (i, l) in text.lines().enumerate() {
            if l.trim().is_empty() {
                continue;
            }
            let r: Row = serde_json::from_str(l)
                .map_err(|e| bad(i + 1, &format!("not a JSON row with id, lang, text ({e})")))?;
            let g = groups.entry(r.id.clone()).or_insert_with(|| {
                order.push(r.id.clone());
                Default::default()
            });
            if r.lang == "en" || r.lang.starts_with("en-") || r.lang.starts_with("en_") {
                g.0.push(r.text);
            } else {
                g.1.push((r.lang, r.text));
            }
        }
        for id in order {
            let (pivots, others) = &groups[&id];
            for p in pivots {
                for (lang, o) in others {
                    pairs.push(ParallelPair {
                        lang: lang.clone(),
                        pivot: p.clone(),
                        other: o.clone(),
                    });
                }
            }
        }
    } else {
        for (i, l) in text.lines().enumerate() {
            if l.trim().is_empty() {
                continue;
            }
            let f: Vec<&str> = l.split('\t').collect();
            let (lang, pivot, other) = match f.as_slice() {
                [p, o] => ("", *p, *o),
                [lang, p, o] => (*lang, *p, *o),
                _ => {
                    return Err(bad(
                        i + 1,
                        "expected pivot<TAB>other or lang<TAB>pivot<TAB>other",
                    ))
                }
            };
            pairs.push(ParallelPair {
                lang: lang.to_string(),
                pivot: pivot.to_string(),
                other: other.to_string(),
            });
        }
    }
    if pairs.is_empty() {
        return Err(Error::BadInput {
            path: path.to_path_buf(),
            detail: "no aligned pairs (need English rows and translations sharing an id)".into(),
        });
    }
    Ok(pairs)
}

/// Interns token strings to dense ids.
#[derive(Default)]
struct Vocab {
    ids: HashMap<String, u32>,
    words: Vec<String>,
}

impl Vocab {
    fn id(&mut self, w: &str) -> u32 {
        if let Some(&i) = self.ids.get(w) {
            return i;
        }
        let i = self.words.len() as u32;
        self.ids.insert(w.to_string(), i);
        self.words.push(w.to_string());
        i
    }
}

/// Co-occurrence counts of one source language.
#[derive(Default)]
struct Counts {
    pairs: u64,
    /// Each pair's (pivot ids, source ids), for Model 1.
    sents: Vec<(Vec<u32>, Vec<u32>)>,
    src: HashMap<u32, u32>,
    tgt: HashMap<u32, u32>,
    joint: HashMap<(u32, u32), u32>,
}

/// A pivot token worth translating to: a word with letters, not a number
/// or a one-letter fragment.
fn good_pivot(t: &str) -> bool {
    t.chars().count() >= 2 && t.chars().any(|c| c.is_alphabetic()) && t.is_ascii()
}

/// Learns a lexicon from `pairs`: co-occurrence counts per language,
/// filtered by Dice and G², scored as `opts.score` says, best `opts.top`
/// translations per token.
pub fn learn_lexicon(pairs: &[ParallelPair], opts: &LearnOptions) -> (Lexicon, LearnReport) {
    let analyzed = analyze_pairs(pairs, opts);
    let mut vocab = Vocab::default();
    let by_lang = count_pairs(pairs, &analyzed, &mut vocab, opts);
    let links: HashMap<&str, HashMap<(u32, u32), f64>> = if opts.score == Score::Model1 {
        let mut v: Vec<(&str, &Counts)> = by_lang.iter().map(|(l, c)| (*l, c)).collect();
        v.sort_by_key(|x| x.0);
        v.par_iter()
            .map(|(l, c)| (*l, model1_links(c, opts.min_pairs)))
            .collect::<Vec<_>>()
            .into_iter()
            .collect()
    } else {
        HashMap::new()
    };
    let best = best_scores(&by_lang, &links, opts);
    let mut languages: Vec<(String, usize)> = by_lang
        .iter()
        .map(|(lang, c)| (lang.to_string(), c.pairs as usize))
        .collect();
    languages.sort();
    let entries = top_entries(best, &vocab, opts.top);
    let report = LearnReport {
        pairs: by_lang.values().map(|c| c.pairs as usize).sum(),
        languages,
        sources: entries.len(),
        translations: entries.iter().map(|e| e.1.len()).sum(),
    };
    (
        Lexicon {
            bridge: super::DEFAULT_BRIDGE,
            entries,
        },
        report,
    )
}

/// Each pair's distinct pivot tokens (words worth translating to) and
/// other-language tokens (not also pivot tokens). Analyzing is the slow
/// part: it runs in parallel.
fn analyze_pairs(pairs: &[ParallelPair], opts: &LearnOptions) -> Vec<(Vec<String>, Vec<String>)> {
    let analyzer = Analyzer::new(opts.analyzer.clone());
    let tokens = |s: &str| {
        let mut v: Vec<String> = analyzer.analyze(s).into_iter().map(|t| t.term).collect();
        v.sort_unstable();
        v.dedup();
        v
    };
    pairs
        .par_iter()
        .map(|p| {
            let piv: Vec<String> = tokens(&p.pivot)
                .into_iter()
                .filter(|t| good_pivot(t))
                .collect();
            let oth: Vec<String> = tokens(&p.other)
                .into_iter()
                .filter(|t| !piv.contains(t))
                .collect();
            (piv, oth)
        })
        .collect()
}

/// Token and co-occurrence counts per language, tokens interned in
/// `vocab` (serially, so ids are deterministic).
fn count_pairs<'a>(
    pairs: &'a [ParallelPair],
    analyzed: &[(Vec<String>, Vec<String>)],
    vocab: &mut Vocab,
    opts: &LearnOptions,
) -> HashMap<&'a str, Counts> {
    let mut by_lang: HashMap<&str, Counts> = HashMap::new();
    for (p, (piv, oth)) in pairs.iter().zip(analyzed) {
        if piv.is_empty() || oth.is_empty() {
            continue;
        }
        let c = by_lang.entry(p.lang.as_str()).or_default();
        c.pairs += 1;
        let pi: Vec<u32> = piv.iter().map(|t| vocab.id(t)).collect();
        let oi: Vec<u32> = oth.iter().map(|t| vocab.id(t)).collect();
        for &e in &pi {
            *c.tgt.entry(e).or_default() += 1;
        }
        for &f in &oi {
            *c.src.entry(f).or_default() += 1;
            for &e in &pi {
                *c.joint.entry((f, e)).or_default() += 1;
            }
        }
        if opts.score == Score::Model1 {
            c.sents.push((pi, oi));
        }
    }
    by_lang
}

/// The best score per (source, target) over the languages, of the links
/// that pass the filters.
fn best_scores(
    by_lang: &HashMap<&str, Counts>,
    links: &HashMap<&str, HashMap<(u32, u32), f64>>,
    opts: &LearnOptions,
) -> HashMap<(u32, u32), f32> {
    let mut best: HashMap<(u32, u32), f32> = HashMap::new();
    for (lang, c) in by_lang {
        let n = c.pairs as f64;
        for (&(f, e), &k) in &c.joint {
            if k < opts.min_pairs {
                continue;
            }
            let (cf, ce) = (c.src[&f] as f64, c.tgt[&e] as f64);
            let dice = (2.0 * k as f64 / (cf + ce)) as f32;
            if dice < opts.min_dice || g2(k as f64, cf, ce, n) < opts.min_g2 {
                continue;
            }
            let score = match opts.score {
                Score::Dice => dice,
                Score::Conditional => (k as f64 / cf) as f32,
                Score::Model1 => {
                    let l = links[lang].get(&(f, e)).copied().unwrap_or(0.0);
                    (l / cf) as f32
                }
            };
            if score < 0.0005 {
                continue;
            }
            let s = best.entry((f, e)).or_default();
            *s = s.max(score);
        }
    }
    best
}

/// Lexicon entries: per source token, its `top` best targets (ties by
/// word), scores rounded to the three decimals the TSV keeps; sorted.
fn top_entries(
    best: HashMap<(u32, u32), f32>,
    vocab: &Vocab,
    top: usize,
) -> Vec<(String, Vec<(String, f32)>)> {
    let mut per_src: HashMap<u32, Vec<(u32, f32)>> = HashMap::new();
    for ((f, e), s) in best {
        per_src.entry(f).or_default().push((e, s));
    }
    let word = |i: u32| vocab.words[i as usize].clone();
    let mut entries: Vec<(String, Vec<(String, f32)>)> = per_src
        .into_iter()
        .map(|(f, mut ts)| {
            ts.sort_by(|a, b| {
                b.1.total_cmp(&a.1)
                    .then_with(|| vocab.words[a.0 as usize].cmp(&vocab.words[b.0 as usize]))
            });
            ts.truncate(top);
            let ts = ts
                .into_iter()
                .map(|(e, s)| (word(e), (s * 1000.0).round() / 1000.0))
                .collect();
            (word(f), ts)
        })
        .collect();
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    entries
}

/// IBM Model 1 on one language's pairs: t(f|e) by EM over the (f, e)
/// that co-occur in at least `min_pairs` pairs (rarer ones can never be
/// kept, and leaving them out bounds memory), each source token also
/// explainable by NULL. Returns each (f, e)'s expected link count after the
/// last iteration: how many of f's occurrences e accounts for.
fn model1_links(c: &Counts, min_pairs: u32) -> HashMap<(u32, u32), f64> {
    // Sorted, so every sum below runs in the same order on every run and
    // the lexicon is byte-identical for the same input.
    let mut keys: Vec<(u32, u32)> = c
        .joint
        .iter()
        .filter(|(_, &k)| k >= min_pairs)
        .map(|(&fe, _)| fe)
        .collect();
    keys.sort_unstable();
    let index: HashMap<(u32, u32), u32> = keys
        .iter()
        .enumerate()
        .map(|(i, &fe)| (fe, i as u32))
        .collect();
    // Per pair, per source token: its NULL slot (the token id) and the
    // indexes of its kept links, flattened.
    let mut flat: Vec<u32> = Vec::new();
    let mut spans: Vec<(u32, u32, u32)> = Vec::new(); // (f, start, end) into flat
    for (pi, oi) in &c.sents {
        for &f in oi {
            let start = flat.len() as u32;
            flat.extend(pi.iter().filter_map(|&e| index.get(&(f, e)).copied()));
            spans.push((f, start, flat.len() as u32));
        }
    }
    drop(index);
    let mut t = vec![1.0f64; keys.len()];
    let mut tnull: HashMap<u32, f64> = c.src.keys().map(|&f| (f, 1.0)).collect();
    let mut cnt = vec![0.0f64; keys.len()];
    for iter in 0..MODEL1_ITERS {
        cnt.iter_mut().for_each(|x| *x = 0.0);
        let mut cnull: HashMap<u32, f64> = HashMap::new();
        let mut nsum = 0.0f64;
        for &(f, s, e) in &spans {
            let links = &flat[s as usize..e as usize];
            let tn = tnull[&f];
            let denom = tn + links.iter().map(|&i| t[i as usize]).sum::<f64>();
            for &i in links {
                cnt[i as usize] += t[i as usize] / denom;
            }
            *cnull.entry(f).or_default() += tn / denom;
            nsum += tn / denom;
        }
        if iter + 1 == MODEL1_ITERS {
            break;
        }
        // M step: t(f|e) = count(f, e) / count(e).
        let mut total: HashMap<u32, f64> = HashMap::new();
        for (k, &x) in keys.iter().zip(&cnt) {
            *total.entry(k.1).or_default() += x;
        }
        for ((k, &x), tv) in keys.iter().zip(&cnt).zip(t.iter_mut()) {
            *tv = x / total[&k.1];
        }
        for (f, v) in tnull.iter_mut() {
            *v = cnull.get(f).copied().unwrap_or(0.0) / nsum.max(1e-12);
        }
    }
    keys.into_iter().zip(cnt).collect()
}

/// Dunning's log-likelihood ratio G² of a 2×2 contingency table: `k` pairs
/// with both, `cf` with the source, `ce` with the target, of `n`.
fn g2(k: f64, cf: f64, ce: f64, n: f64) -> f64 {
    let cells = [
        (k, cf * ce / n),
        (cf - k, cf * (n - ce) / n),
        (ce - k, (n - cf) * ce / n),
        (n - cf - ce + k, (n - cf) * (n - ce) / n),
    ];
    2.0 * cells
        .iter()
        .filter(|(o, e)| *o > 0.0 && *e > 0.0)
        .map(|(o, e)| o * (o / e).ln())
        .sum::<f64>()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(lang: &str, pivot: &str, other: &str) -> ParallelPair {
        ParallelPair {
            lang: lang.into(),
            pivot: pivot.into(),
            other: other.into(),
        }
    }

    #[test]
    fn learns_consistent_translations_and_drops_chance() {
        let mut pairs = Vec::new();
        for i in 0..20 {
            pairs.push(pair(
                "fr",
                &format!("open file {i}"),
                &format!("ouvrir fichier {i}"),
            ));
            pairs.push(pair(
                "fr",
                &format!("close window {i}"),
                &format!("fermer fenêtre {i}"),
            ));
        }
        let (lex, report) = learn_lexicon(
            &pairs,
            &LearnOptions {
                min_pairs: 2,
                ..Default::default()
            },
        );
        assert_eq!(report.pairs, 40);
        let get = |s: &str| lex.entries.iter().find(|e| e.0 == s).map(|e| e.1.clone());
        let fichier = get("fichier").expect("fichier learned");
        assert_eq!(fichier[0].0, "file");
        assert!(fichier.iter().all(|t| t.0 != "window" && t.0 != "close"));
        // Numbers appear in both sides identically and are never translated.
        assert!(get("7").is_none());
    }

    #[test]
    fn model1_gives_a_common_word_little_of_the_mass() {
        // "the" co-occurs with every French word; Model 1 explains each
        // French word by its own English word instead.
        let mut pairs = Vec::new();
        for i in 0..20 {
            pairs.push(pair(
                "fr",
                &format!("open the file {i}"),
                &format!("ouvrir fichier {i}"),
            ));
            pairs.push(pair(
                "fr",
                &format!("close the window {i}"),
                &format!("fermer fenêtre {i}"),
            ));
            pairs.push(pair(
                "fr",
                &format!("the file name {i}"),
                &format!("nom fichier {i}"),
            ));
        }
        let learn = |score| {
            learn_lexicon(
                &pairs,
                &LearnOptions {
                    min_pairs: 2,
                    min_dice: 0.0,
                    min_g2: 0.0,
                    score,
                    ..Default::default()
                },
            )
            .0
        };
        let weight = |lex: &Lexicon, s: &str, t: &str| {
            lex.entries
                .iter()
                .find(|e| e.0 == s)
                .and_then(|e| e.1.iter().find(|x| x.0 == t))
                .map_or(0.0, |x| x.1)
        };
        let (cond, m1) = (learn(Score::Conditional), learn(Score::Model1));
        assert_eq!(weight(&cond, "fichier", "the"), 1.0, "always together");
        // (NULL explains part of every word in a corpus this small.)
        let (file, the) = (
            weight(&m1, "fichier", "file"),
            weight(&m1, "fichier", "the"),
        );
        assert!(file > 0.4 && the < file / 2.0, "file {file}, the {the}");
    }

    #[test]
    fn g2_is_zero_for_independence() {
        assert!(g2(25.0, 50.0, 50.0, 100.0).abs() < 1e-9);
        assert!(g2(50.0, 50.0, 50.0, 100.0) > 10.83);
    }
}
