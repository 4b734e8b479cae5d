//! The one analyzer used for documents and queries alike, so both sides of a
//! comparison are cut into the same terms: UAX #29 words over normalized
//! text, CJK runs as character unigrams plus bigrams (the idea of Lucene's
//! CJK bigram filter), French elisions split off, and an optional lossy
//! diacritic fold.

use serde::{Deserialize, Serialize};
use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

use super::hanfold::fold_han;
use super::normalize::{normalize, normalize_into};
use super::script::{script_of, Script};
use super::words::for_each_word;

/// Switches recorded in the index, so a query is analyzed exactly as the
/// documents were.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnalyzerSettings {
    pub cjk_unigrams: bool,
    pub cjk_bigrams: bool,
    /// Lossy: "données" and "donnees" become one term.
    pub fold_diacritics: bool,
    /// Also index a whole Katakana word (3+ characters) as one term: a
    /// loanword like ベクトルデータベース is a rare, telling term, while its
    /// bigrams are shared with every text about データ.
    pub katakana_words: bool,
    /// Fold traditional and Japanese shinjitai Han characters to simplified
    /// (資料庫 → 资料库), so the three writings share terms. Kept out of the
    /// config section (old files lack it) and saved in the cross-language
    /// section instead; a file without that section reads as off.
    #[serde(skip)]
    pub fold_han: bool,
    /// Also index the 4-grams of Latin words longer than four letters, as
    /// `#gram` (a `#` never starts a word, so a gram cannot collide with a
    /// whole word): "vectorielles" meets "vectors" on `#vect`. Saved like
    /// `fold_han`.
    #[serde(skip)]
    pub latin_subwords: bool,
    /// No Katakana–Katakana bigrams: a Katakana word is matched whole (and,
    /// through the lexicon, by its parts' translations), not by the bigrams
    /// it shares with every other loanword (データ in データベース,
    /// メタデータ…), which outvote cross-language evidence. Saved like
    /// `fold_han`; off in files that predate it.
    #[serde(skip)]
    pub whole_katakana: bool,
}

impl Default for AnalyzerSettings {
    fn default() -> Self {
        AnalyzerSettings {
            cjk_unigrams: true,
            cjk_bigrams: true,
            fold_diacritics: true,
            katakana_words: true,
            fold_han: true,
            latin_subwords: true,
            whole_katakana: true,
        }
    }
}

/// A term and the byte range in the ORIGINAL text it was read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub term: String,
    pub start: usize,
    pub end: usize,
}

#[derive(Debug, Clone, Default)]
pub struct Analyzer {
    pub settings: AnalyzerSettings,
}

// French (and Catalan/Italian-style) elided articles and pronouns. The
// apostrophe survives NFKC as either U+0027 or U+2019.
const ELISIONS: &[&str] = &[
    "l", "d", "qu", "j", "n", "s", "c", "m", "t", "jusqu", "lorsqu", "puisqu",
];

impl Analyzer {
    pub fn new(settings: AnalyzerSettings) -> Self {
        Analyzer { settings }
    }

    /// All tokens of `text`, in reading order.
    pub fn analyze(&self, text: &str) -> Vec<Token> {
        let mut out = Vec::new();
        self.for_each_token(text, |term, start, end| {
            out.push(Token {
                term: term.to_string(),
                start,
                end,
            })
        });
        out
    }

    /// Calls `emit(term, original_start, original_end)` for every token
    /// without allocating a String per token.
    pub fn for_each_token(&self, text: &str, mut emit: impl FnMut(&str, usize, usize)) {
        let norm = normalize(text);
        self.scan(&norm.text, &mut Buffers::default(), |term, s, e| {
            let (os, oe) = norm.original_range(s, e);
            emit(term, os, oe);
        });
    }

    /// The terms of [`Analyzer::for_each_token`], in the same order,
    /// without their offsets: indexing needs only the terms, and skipping
    /// the offset map and reusing `scratch` across passages saves most of
    /// the allocation of the analysis.
    pub fn for_each_term(&self, text: &str, scratch: &mut Scratch, mut emit: impl FnMut(&str)) {
        normalize_into(text, &mut scratch.norm, &mut scratch.grapheme);
        self.scan(&scratch.norm, &mut scratch.buffers, |term, _, _| emit(term));
    }

    /// Tokenizes normalized text `t`; offsets passed to `emit` are into `t`.
    fn scan(&self, t: &str, bufs: &mut Buffers, mut emit_norm: impl FnMut(&str, usize, usize)) {
        // Byte ranges, in the normalized text, of the characters of the
        // current unbroken CJK run.
        let Buffers {
            run,
            folded,
            gram,
            term: cjk_term,
            idx,
        } = bufs;
        run.clear();
        for_each_word(t, |ws, word| {
            let first = word.chars().next().expect("words are non-empty");
            if script_of(first).is_cjk() {
                if run.last().is_some_and(|&(_, end)| end != ws) {
                    self.flush_cjk(t, run, cjk_term, &mut emit_norm);
                }
                run.extend(
                    word.char_indices()
                        .map(|(i, c)| (ws + i, ws + i + c.len_utf8())),
                );
                if self.settings.katakana_words
                    && word.chars().nth(2).is_some()
                    && word.chars().all(|c| script_of(c) == Script::Katakana)
                {
                    emit_norm(word, ws, ws + word.len());
                }
                return;
            }
            self.flush_cjk(t, run, cjk_term, &mut emit_norm);
            let (skip, word) = split_elision(word);
            let start = ws + skip;
            if word.is_empty() {
                return;
            }
            let term = if self.settings.fold_diacritics && !word.is_ascii() {
                folded.clear();
                folded.extend(word.nfd().filter(|c| !is_combining_mark(*c)));
                folded.as_str()
            } else {
                word
            };
            emit_norm(term, start, start + word.len());
            if self.settings.latin_subwords {
                emit_subwords(term, gram, idx, |g| emit_norm(g, start, start + word.len()));
            }
        });
        self.flush_cjk(t, run, cjk_term, &mut emit_norm);
    }

    fn flush_cjk(
        &self,
        t: &str,
        run: &mut Vec<(usize, usize)>,
        term: &mut String,
        emit: &mut impl FnMut(&str, usize, usize),
    ) {
        // Each character of the run as its term text: the character itself,
        // or its simplified form when Han folding is on.
        let fold = |s: usize, e: usize, out: &mut String| {
            if self.settings.fold_han {
                out.extend(t[s..e].chars().map(fold_han));
            } else {
                out.push_str(&t[s..e]);
            }
        };
        for (i, &(s, e)) in run.iter().enumerate() {
            // A single kana is a sound, not a word: Katakana unigrams only
            // add noise (the whole word and its bigrams carry the meaning).
            let kana = t[s..e]
                .chars()
                .next()
                .is_some_and(|c| script_of(c) == Script::Katakana);
            if self.settings.cjk_unigrams && (!kana || run.len() == 1) {
                term.clear();
                fold(s, e, term);
                emit(term, s, e);
            }
            if self.settings.cjk_bigrams {
                let next = run.get(i + 1).filter(|&&(s2, e2)| {
                    !(self.settings.whole_katakana
                        && kana
                        && t[s2..e2]
                            .chars()
                            .next()
                            .is_some_and(|c| script_of(c) == Script::Katakana))
                });
                if let Some(&(s2, e2)) = next {
                    term.clear();
                    fold(s, e, term);
                    fold(s2, e2, term);
                    emit(term, s, e2);
                }
            }
        }
        // A lone character is still a term when unigrams are off.
        if !self.settings.cjk_unigrams && run.len() == 1 {
            let (s, e) = run[0];
            term.clear();
            fold(s, e, term);
            emit(term, s, e);
        }
        run.clear();
    }
}

/// Buffers of one tokenization, kept between passages by [`Scratch`].
#[derive(Debug, Default)]
struct Buffers {
    run: Vec<(usize, usize)>,
    folded: String,
    gram: String,
    term: String,
    idx: Vec<usize>,
}

/// Reusable space for [`Analyzer::for_each_term`]; one per thread.
#[derive(Debug, Default)]
pub struct Scratch {
    norm: String,
    grapheme: String,
    buffers: Buffers,
}

/// Length of the Latin subword grams, and the shortest word cut into them.
const GRAM: usize = 4;

/// Emits `#` + each 4-gram of an alphabetic Latin `word` longer than four
/// letters; `buf` and `idx` are scratch space.
fn emit_subwords(word: &str, buf: &mut String, idx: &mut Vec<usize>, mut emit: impl FnMut(&str)) {
    if word.len() <= GRAM || !word.chars().all(|c| script_of(c) == Script::Latin) {
        return;
    }
    idx.clear();
    idx.extend(word.char_indices().map(|(i, _)| i).chain([word.len()]));
    if idx.len() <= GRAM + 1 {
        return;
    }
    for w in idx.windows(GRAM + 1) {
        buf.clear();
        buf.push('#');
        buf.push_str(&word[w[0]..w[GRAM]]);
        emit(buf);
    }
}

/// Splits "l'index" into ("l'", "index"); returns the byte length skipped.
fn split_elision(word: &str) -> (usize, &str) {
    for (i, c) in word.char_indices() {
        if c == '\'' || c == '\u{2019}' {
            let head = &word[..i];
            if ELISIONS.contains(&head) {
                let skip = i + c.len_utf8();
                return (skip, &word[skip..]);
            }
            break;
        }
        if i > 6 {
            break;
        }
    }
    (0, word)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Terms without subword grams, which the older tests do not expect.
    fn terms(text: &str) -> Vec<String> {
        no_grams()
            .analyze(text)
            .into_iter()
            .map(|t| t.term)
            .collect()
    }

    fn no_grams() -> Analyzer {
        Analyzer::new(AnalyzerSettings {
            latin_subwords: false,
            ..Default::default()
        })
    }

    #[test]
    fn cjk_runs_become_unigrams_and_bigrams() {
        assert_eq!(
            terms("向量库"),
            ["向", "向量", "量", "量库", "库"].map(String::from)
        );
        // Katakana arrives as one word from UAX #29 and is cut the same way,
        // unless it is only matched whole.
        let plain = Analyzer::new(AnalyzerSettings {
            whole_katakana: false,
            ..Default::default()
        });
        let t: Vec<String> = plain
            .analyze("ベクトル")
            .into_iter()
            .map(|t| t.term)
            .collect();
        assert!(t.contains(&"ベク".to_string()) && t.contains(&"トル".to_string()));
        assert_eq!(terms("ベクトルは"), ["ベクトル", "ルは", "は"]);
    }

    #[test]
    fn punctuation_breaks_a_cjk_run() {
        let t = terms("数据。库");
        assert!(!t.contains(&"据库".to_string()));
    }

    #[test]
    fn elisions_split_off_and_offsets_point_into_the_original() {
        let text = "L’index d'une base";
        let toks = no_grams().analyze(text);
        let t: Vec<_> = toks.iter().map(|t| t.term.as_str()).collect();
        assert_eq!(t, ["index", "une", "base"]);
        assert_eq!(&text[toks[0].start..toks[0].end], "index");
        assert_eq!(&text[toks[1].start..toks[1].end], "une");
    }

    #[test]
    fn aujourd_hui_is_not_an_elision() {
        assert_eq!(terms("aujourd'hui"), ["aujourd'hui"]);
    }

    #[test]
    fn diacritics_fold_when_asked() {
        assert_eq!(terms("Données"), ["donnees"]);
        let strict = Analyzer::new(AnalyzerSettings {
            fold_diacritics: false,
            latin_subwords: false,
            ..Default::default()
        });
        assert_eq!(strict.analyze("Données")[0].term, "données");
    }

    #[test]
    fn fullwidth_and_case_normalize() {
        assert_eq!(terms("ＧＰＵ Search"), ["gpu", "search"]);
    }

    #[test]
    fn han_variants_fold_when_asked() {
        assert!(terms("資料庫").contains(&"资料".to_string()));
        let plain = Analyzer::new(AnalyzerSettings {
            fold_han: false,
            ..Default::default()
        });
        let t: Vec<String> = plain
            .analyze("資料庫")
            .into_iter()
            .map(|t| t.term)
            .collect();
        assert!(t.contains(&"資料".to_string()) && !t.contains(&"资料".to_string()));
    }

    #[test]
    fn latin_subwords_are_marked_grams_of_long_words() {
        let t: Vec<String> = Analyzer::default()
            .analyze("vectorielles base")
            .into_iter()
            .map(|t| t.term)
            .collect();
        assert!(t.contains(&"vectorielles".to_string()));
        assert!(t.contains(&"#vect".to_string()) && t.contains(&"#lles".to_string()));
        assert!(!t.iter().any(|x| x == "#base"), "four letters: no grams");
        let plain = Analyzer::new(AnalyzerSettings {
            latin_subwords: false,
            ..Default::default()
        });
        assert_eq!(plain.analyze("vectorielles").len(), 1);
    }

    #[test]
    fn punctuation_only_has_no_tokens() {
        assert!(terms("?!… 。、「」").is_empty());
    }
}
