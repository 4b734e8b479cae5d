//! The cross-language bridge: a lexicon of token → pivot-language (English)
//! tokens with association scores, learned from parallel text (see
//! `learn.rs`). The embedder adds each token's translations as extra
//! weighted terms, so a French and a Japanese passage about the same thing
//! meet on the English terms both expand to, while everything stays a
//! hashed bag of words.
//!
//! On disk a lexicon is TSV, gzip-compressed when the file starts with the
//! gzip magic: `source<TAB>target score<TAB>target score…`, `#` comments.
//! The shipped one is `data/lexicon.tsv.gz`, compiled in as `builtin`.

use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::path::Path;
use std::sync::{Arc, OnceLock};

use serde::{Deserialize, Serialize};

use super::term_hash;
use crate::error::{Error, Malformed, Result};
use crate::index::{sort_and_sum, SparseBuilder, SparseVectors};
use crate::vector::Slab;

/// The lexicon shipped in `data/`, made by `scripts/make_lexicon.sh`.
const BUILTIN_GZ: &[u8] = include_bytes!("../../data/lexicon.tsv.gz");

/// How much a translation weighs next to a word actually written, before
/// its association score: measured on the sample and seed corpora (see
/// BENCHMARKS.md).
pub const DEFAULT_BRIDGE: f32 = 2.0;

/// Source tokens and their pivot translations, sorted by source.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Lexicon {
    /// Weight factor applied to every translation (× its association).
    pub bridge: f32,
    /// `(source, [(target, association in (0, 1])])`, sorted by source.
    pub entries: Vec<(String, Vec<(String, f32)>)>,
}

// Compared bit for bit: settings that hold a lexicon must stay `Eq`.
impl PartialEq for Lexicon {
    fn eq(&self, other: &Self) -> bool {
        self.bridge.to_bits() == other.bridge.to_bits()
            && self.entries.len() == other.entries.len()
            && self.entries.iter().zip(&other.entries).all(|(a, b)| {
                a.0 == b.0
                    && a.1.len() == b.1.len()
                    && a.1
                        .iter()
                        .zip(&b.1)
                        .all(|(x, y)| x.0 == y.0 && x.1.to_bits() == y.1.to_bits())
            })
    }
}
impl Eq for Lexicon {}

impl Lexicon {
    /// The compiled-in lexicon, decoded once per process.
    pub fn builtin() -> Arc<Lexicon> {
        static BUILTIN: OnceLock<Arc<Lexicon>> = OnceLock::new();
        BUILTIN
            .get_or_init(|| {
                let text = gunzip(BUILTIN_GZ).expect("the builtin lexicon is valid gzip");
                Arc::new(Lexicon::parse(&text, DEFAULT_BRIDGE).expect("the builtin lexicon parses"))
            })
            .clone()
    }

    /// Reads a lexicon file (TSV, optionally gzip-compressed).
    pub fn load(path: &Path, bridge: f32) -> Result<Lexicon> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        let bad = |detail: String| Error::BadInput {
            path: path.to_path_buf(),
            detail: format!("not a lexicon: {detail}"),
        };
        let text = if bytes.starts_with(&[0x1f, 0x8b]) {
            gunzip(&bytes).map_err(bad)?
        } else {
            String::from_utf8(bytes).map_err(|_| bad("not UTF-8".into()))?
        };
        Lexicon::parse(&text, bridge).map_err(bad)
    }

    pub fn parse(text: &str, bridge: f32) -> std::result::Result<Lexicon, String> {
        let mut entries = Vec::new();
        for (i, line) in text.lines().enumerate() {
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            let mut f = line.split('\t');
            let src = f.next().unwrap_or_default().to_string();
            let mut targets = Vec::new();
            for t in f {
                let (word, score) = t
                    .rsplit_once(' ')
                    .ok_or_else(|| format!("line {}: expected 'target score'", i + 1))?;
                let score: f32 = score
                    .parse()
                    .ok()
                    .filter(|s: &f32| s.is_finite() && *s > 0.0)
                    .ok_or_else(|| format!("line {}: bad score {score:?}", i + 1))?;
                targets.push((word.to_string(), score));
            }
            if !src.is_empty() && !targets.is_empty() {
                entries.push((src, targets));
            }
        }
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        entries.dedup_by(|a, b| a.0 == b.0);
        Ok(Lexicon { bridge, entries })
    }

    /// The TSV form `parse` reads.
    pub fn to_tsv(&self) -> String {
        let mut out = String::new();
        for (src, targets) in &self.entries {
            out.push_str(src);
            for (t, s) in targets {
                out.push_str(&format!("\t{t} {s:.3}"));
            }
            out.push('\n');
        }
        out
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

fn gunzip(bytes: &[u8]) -> std::result::Result<String, String> {
    let mut s = String::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_string(&mut s)
        .map_err(|e| format!("gzip: {e}"))?;
    Ok(s)
}

/// A lexicon keyed by term hash under one seed, ready for embedding, in
/// the flat layout the index file stores (sorted source hashes, and per
/// source a row of target hashes with weights = bridge × association), so
/// opening an index maps it instead of parsing text.
#[derive(Debug, Clone, Default)]
pub struct Bridge {
    sources: Slab<u64>,
    rows: SparseVectors,
    /// Katakana sources, for splitting a compound the lexicon lacks
    /// (ベクトルデータベース → ベクトル + データベース). Sorted.
    katakana: Vec<String>,
    seed: u64,
    /// A hash index over `sources` for bridges built in memory (every
    /// build expands each term of every passage, where the binary search
    /// was a tenth of the time); one read from a file, which expands a
    /// query or two, keeps the binary search and opens without building it.
    table: Option<SourceTable>,
}

/// Open addressing with linear probing over (source hash, start and end
/// of its row in the target arrays), at most half full, so a hit costs one
/// probe and no read of the row offsets. Term hashes are XXH3 values, so
/// their bits serve as slots.
#[derive(Clone, Default)]
struct SourceTable {
    mask: usize,
    slots: Vec<(u64, u32, u32)>,
    /// A bit per [`FILTER_BITS`] range of hashes (top bits) that holds a
    /// source: most terms of a passage are in no lexicon, and this 128 KiB
    /// stays in cache where the slots (megabytes) do not.
    filter: Vec<u64>,
}

/// log2 of the bits of [`SourceTable::filter`].
const FILTER_BITS: u32 = 20;

const EMPTY: u32 = u32::MAX;

impl std::fmt::Debug for SourceTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SourceTable({} slots)", self.slots.len())
    }
}

impl SourceTable {
    /// `None` when the rows are too long to address with u32.
    fn new(sources: &[u64], offsets: &[u64]) -> Option<Self> {
        if offsets.last().is_some_and(|&end| end >= EMPTY as u64) {
            return None;
        }
        let cap = (sources.len() * 2).next_power_of_two().max(16);
        let mut t = SourceTable {
            mask: cap - 1,
            slots: vec![(0, EMPTY, EMPTY); cap],
            filter: vec![0; 1 << (FILTER_BITS - 6)],
        };
        for (i, &h) in sources.iter().enumerate() {
            let f = Self::filter_bit(h);
            t.filter[f >> 6] |= 1 << (f & 63);
            let mut p = Self::slot(h) & t.mask;
            while t.slots[p].1 != EMPTY {
                p = (p + 1) & t.mask;
            }
            t.slots[p] = (h, offsets[i] as u32, offsets[i + 1] as u32);
        }
        Some(t)
    }

    #[inline]
    fn slot(h: u64) -> usize {
        (h ^ (h >> 32)) as usize
    }

    #[inline]
    fn filter_bit(h: u64) -> usize {
        (h >> (64 - FILTER_BITS)) as usize
    }

    /// Whether `h` may be a source (false: surely not).
    #[inline]
    fn may_hold(&self, h: u64) -> bool {
        let f = Self::filter_bit(h);
        self.filter[f >> 6] >> (f & 63) & 1 == 1
    }

    /// Hints that `h`'s slot will be read soon.
    #[inline]
    fn prefetch(&self, h: u64) {
        if self.may_hold(h) {
            crate::vector::prefetch(self.slots.as_ptr().wrapping_add(Self::slot(h) & self.mask));
        }
    }

    /// The span of `h`'s row in the target arrays.
    #[inline]
    fn find(&self, h: u64) -> Option<(usize, usize)> {
        if !self.may_hold(h) {
            return None;
        }
        let mut p = Self::slot(h) & self.mask;
        loop {
            let (k, start, end) = self.slots[p];
            if start == EMPTY {
                return None;
            }
            if k == h {
                return Some((start as usize, end as usize));
            }
            p = (p + 1) & self.mask;
        }
    }
}

/// Buffers of [`Bridge::expand`], kept between passages by the embedder.
#[derive(Debug, Default)]
pub(crate) struct ExpandScratch {
    extra: Vec<(u64, f32)>,
    merged: Vec<(u64, f32)>,
}

// Compared by content: settings and configs that hold one stay `Eq`.
impl PartialEq for Bridge {
    fn eq(&self, other: &Self) -> bool {
        let (a, b) = (self.rows.parts(), other.rows.parts());
        self.seed == other.seed
            && self.katakana == other.katakana
            && self.sources[..] == other.sources[..]
            && a.0 == b.0
            && a.1 == b.1
            && a.2
                .iter()
                .map(|w| w.to_bits())
                .eq(b.2.iter().map(|w| w.to_bits()))
    }
}

/// The strength a folded plural's singular gets next to the written plural:
/// 1, as if the singular were written too. On the sample, 1 ties leaving
/// plurals unfolded and 2 trades top-1 for nDCG (BENCHMARKS.md).
const FOLD_STRENGTH: f32 = 1.0;

/// The singular of an English plural pivot term, when the lexicon has that
/// singular as a pivot too (the evidence that it is a word): `databases` →
/// `database`, `queries` → `query`, `indexes` → `index`. Words that only
/// look plural (`access`, `status`, `analysis`) are left alone.
fn fold_plural<'a>(w: &str, vocab: &HashSet<&'a str>) -> Option<&'a str> {
    if w.len() < 4 || !w.bytes().all(|b| b.is_ascii_lowercase()) {
        return None;
    }
    if w.ends_with("ss") || w.ends_with("us") || w.ends_with("is") {
        return None;
    }
    let stem = w.strip_suffix('s')?;
    let find = |c: &str| vocab.get(c).copied();
    if let Some(y) = stem.strip_suffix("ie") {
        if let Some(s) = find(&format!("{y}y")) {
            return Some(s);
        }
    }
    if let Some(e) = stem.strip_suffix('e') {
        let sibilant = ["s", "x", "z", "ch", "sh"].iter().any(|x| e.ends_with(x));
        if sibilant {
            if let Some(s) = find(e) {
                return Some(s);
            }
        }
    }
    find(stem)
}

/// Whether `term` is written in Katakana only (the prolonged sound mark
/// included), the script of Japanese loanword compounds.
fn is_katakana(term: &str) -> bool {
    term.chars()
        .all(|c| crate::text::script_of(c) == crate::text::Script::Katakana)
}

impl Bridge {
    /// Pivot plurals are folded onto their singular (see `fold_plural`):
    /// the forms' translation probabilities add up, so "bases" (→
    /// databases) and "データベース" (→ database) meet on `database` at full
    /// strength; and each folded plural, as written in an English passage,
    /// gains its singular at the strength of a written word, so English
    /// "databases" meets them too.
    pub fn new(lexicon: &Lexicon, seed: u64) -> Self {
        let vocab: HashSet<&str> = lexicon
            .entries
            .iter()
            .flat_map(|(_, ts)| ts.iter().map(|(t, _)| t.as_str()))
            .collect();
        let mut rows: HashMap<u64, Vec<(u64, f32)>> = HashMap::new();
        let mut folded: HashMap<&str, &str> = HashMap::new();
        for (s, ts) in &lexicon.entries {
            let row = rows.entry(term_hash(s, seed)).or_default();
            if !row.is_empty() {
                continue; // a duplicate source: the first wins, as in `parse`
            }
            for (t, a) in ts {
                let lemma = fold_plural(t, &vocab).unwrap_or(t);
                if lemma != t {
                    folded.insert(t, lemma);
                }
                row.push((term_hash(lemma, seed), a * lexicon.bridge));
            }
        }
        for (plural, singular) in folded {
            let row = rows.entry(term_hash(plural, seed)).or_default();
            row.push((term_hash(singular, seed), FOLD_STRENGTH));
        }
        let rows: Vec<(u64, Vec<(u64, f32)>)> = rows.into_iter().collect();
        let katakana = lexicon
            .entries
            .iter()
            .filter(|(s, _)| s.chars().nth(1).is_some() && is_katakana(s))
            .map(|(s, _)| s.clone())
            .collect();
        Self::from_rows(rows, katakana, seed)
    }

    fn from_rows(rows: Vec<(u64, Vec<(u64, f32)>)>, mut katakana: Vec<String>, seed: u64) -> Self {
        let mut sources = Vec::with_capacity(rows.len());
        let mut b = SparseBuilder::new();
        let mut rows = rows;
        rows.sort_unstable_by_key(|r| r.0);
        for (h, mut ts) in rows {
            // One weight per target: forms folded together add up.
            sort_and_sum(&mut ts);
            sources.push(h);
            b.push(ts);
        }
        katakana.sort();
        katakana.dedup();
        let mut bridge = Self::from_parts(seed, Slab::from_vec(sources), b.finish(), katakana)
            .expect("rows built in order");
        bridge.table = SourceTable::new(&bridge.sources, bridge.rows.parts().0);
        bridge
    }

    /// Reassembles a bridge from the arrays `parts` gave; an error names
    /// what is inconsistent.
    pub fn from_parts(
        seed: u64,
        sources: Slab<u64>,
        rows: SparseVectors,
        katakana: Vec<String>,
    ) -> std::result::Result<Self, Malformed> {
        if rows.rows() != sources.len() {
            return Err("lexicon rows and sources differ in number".into());
        }
        if sources.windows(2).any(|w| w[0] >= w[1]) {
            return Err("lexicon sources are not sorted".into());
        }
        if katakana.windows(2).any(|w| w[0] >= w[1]) {
            return Err("lexicon Katakana words are not sorted".into());
        }
        Ok(Bridge {
            sources,
            rows,
            katakana,
            seed,
            table: None,
        })
    }

    /// The seed, sorted source hashes, rows and Katakana words, for saving.
    pub fn parts(&self) -> (u64, &Slab<u64>, &SparseVectors, &[String]) {
        (self.seed, &self.sources, &self.rows, &self.katakana)
    }

    pub fn len(&self) -> usize {
        self.sources.len()
    }

    pub fn is_empty(&self) -> bool {
        self.sources.is_empty()
    }

    /// A copy keeping only translations into terms `keep` accepts, and
    /// only sources left with one: an index stores just the part of the
    /// lexicon its corpus can ever match (a query term expanding to a term
    /// no passage has is dropped anyway).
    pub fn pruned(&self, keep: impl Fn(u64) -> bool) -> Bridge {
        let mut rows = Vec::new();
        let mut kept = std::collections::HashSet::new();
        for (i, &h) in self.sources.iter().enumerate() {
            let (keys, weights) = self.rows.row(i as u32);
            let ts: Vec<(u64, f32)> = keys
                .iter()
                .zip(weights)
                .filter(|(k, _)| keep(**k))
                .map(|(k, w)| (*k, *w))
                .collect();
            if !ts.is_empty() {
                kept.insert(h);
                rows.push((h, ts));
            }
        }
        let katakana = self
            .katakana
            .iter()
            .filter(|k| kept.contains(&term_hash(k, self.seed)))
            .cloned()
            .collect();
        Self::from_rows(rows, katakana, self.seed)
    }

    fn lookup(&self, h: u64) -> Option<(&[u64], &[f32])> {
        match &self.table {
            Some(t) => {
                let (start, end) = t.find(h)?;
                let (_, keys, weights) = self.rows.parts();
                Some((&keys[start..end], &weights[start..end]))
            }
            None => {
                let i = self.sources.binary_search(&h).ok()?;
                Some(self.rows.row(i as u32))
            }
        }
    }

    /// For a Katakana compound with no entry of its own, the hashes of its
    /// parts that have one, by greedy longest match from the left; a
    /// character no known word starts with is stepped over.
    pub fn compound_parts(&self, term: &str, out: &mut Vec<u64>) {
        if self.katakana.is_empty() || !is_katakana(term) {
            return;
        }
        let chars: Vec<(usize, char)> = term.char_indices().collect();
        if chars.len() < 4 || self.lookup(term_hash(term, self.seed)).is_some() {
            return;
        }
        let mut i = 0;
        while i < chars.len() {
            let found = (i + 2..=chars.len()).rev().find(|&j| {
                let end = chars.get(j).map_or(term.len(), |c| c.0);
                let part = &term[chars[i].0..end];
                self.katakana
                    .binary_search_by(|k| k.as_str().cmp(part))
                    .is_ok()
            });
            match found {
                Some(j) => {
                    let end = chars.get(j).map_or(term.len(), |c| c.0);
                    out.push(term_hash(&term[chars[i].0..end], self.seed));
                    i = j;
                }
                None => i += 1,
            }
        }
    }

    /// Adds translations to `strengths` (term hash → 1 + ln tf, sorted by
    /// hash). A pivot term reached from several source terms (向量, 向, 量 →
    /// vector) gets the strongest evidence, not the sum, so a CJK word's
    /// unigrams and bigrams do not count it three times.
    /// `hidden` are sources that are not terms of their own (the parts of
    /// a compound), with their strengths.
    pub fn expand(&self, strengths: &mut Vec<(u64, f32)>, hidden: &[(u64, f32)]) {
        self.expand_iter(
            strengths,
            hidden.iter().copied(),
            &mut ExpandScratch::default(),
        );
    }

    /// [`Bridge::expand`] with hidden sources of strength 1 and reused
    /// buffers; `strengths` may come back in a different (scratch) vector.
    pub(crate) fn expand_with(
        &self,
        strengths: &mut Vec<(u64, f32)>,
        hidden: &[u64],
        scratch: &mut ExpandScratch,
    ) {
        self.expand_iter(strengths, hidden.iter().map(|&h| (h, 1.0)), scratch);
    }

    fn expand_iter(
        &self,
        strengths: &mut Vec<(u64, f32)>,
        hidden: impl Iterator<Item = (u64, f32)>,
        scratch: &mut ExpandScratch,
    ) {
        if self.sources.is_empty() {
            return;
        }
        let ExpandScratch { extra, merged } = scratch;
        extra.clear();
        // Each lookup misses the cache twice (its slot, then its row), so
        // slots are fetched a few terms ahead and rows half as far.
        const AHEAD: usize = 8;
        for (i, &(h, s)) in strengths.iter().enumerate() {
            if let Some(t) = &self.table {
                if let Some(&(far, _)) = strengths.get(i + AHEAD) {
                    t.prefetch(far);
                }
                if let Some((start, _)) = strengths.get(i + AHEAD / 2).and_then(|n| t.find(n.0)) {
                    let (_, keys, weights) = self.rows.parts();
                    crate::vector::prefetch(keys.as_ptr().wrapping_add(start));
                    crate::vector::prefetch(weights.as_ptr().wrapping_add(start));
                }
            }
            if let Some((keys, weights)) = self.lookup(h) {
                extra.extend(keys.iter().zip(weights).map(|(&t, &w)| (t, w * s)));
            }
        }
        for (h, s) in hidden {
            if let Some((keys, weights)) = self.lookup(h) {
                extra.extend(keys.iter().zip(weights).map(|(&t, &w)| (t, w * s)));
            }
        }
        if extra.is_empty() {
            return;
        }
        extra.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(b.1.total_cmp(&a.1)));
        extra.dedup_by_key(|e| e.0);
        merged.clear();
        merged.reserve(strengths.len() + extra.len());
        let (mut i, mut j) = (0, 0);
        while i < strengths.len() && j < extra.len() {
            let (a, b) = (strengths[i], extra[j]);
            if a.0 == b.0 {
                merged.push((a.0, a.1 + b.1));
                i += 1;
                j += 1;
            } else if a.0 < b.0 {
                merged.push(a);
                i += 1;
            } else {
                merged.push(b);
                j += 1;
            }
        }
        merged.extend_from_slice(&strengths[i..]);
        merged.extend_from_slice(&extra[j..]);
        std::mem::swap(strengths, merged);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tsv_round_trips_and_bad_lines_are_named() {
        let l = Lexicon::parse(
            "# c\nvecteur\tvector 0.800\n向量\tvector 0.700\tarray 0.200\n",
            0.5,
        )
        .unwrap();
        assert_eq!(l.len(), 2);
        assert_eq!(Lexicon::parse(&l.to_tsv(), 0.5).unwrap(), l);
        assert!(Lexicon::parse("a\tb", 0.5).unwrap_err().contains("line 1"));
        assert!(Lexicon::parse("a\tb -1", 0.5).is_err());
    }

    #[test]
    fn expansion_takes_the_strongest_evidence_and_adds_to_written_terms() {
        let l = Lexicon::parse("a\tx 0.5\nb\tx 1.0\ty 0.2\n", 1.0).unwrap();
        let b = Bridge::new(&l, 7);
        let (ha, hb, hx, hy) = (
            term_hash("a", 7),
            term_hash("b", 7),
            term_hash("x", 7),
            term_hash("y", 7),
        );
        let mut s = vec![(ha, 1.0), (hb, 1.0), (hx, 1.0)];
        s.sort_by_key(|e| e.0);
        b.expand(&mut s, &[]);
        let get = |h| s.iter().find(|e| e.0 == h).unwrap().1;
        assert!(
            (get(hx) - 2.0).abs() < 1e-6,
            "written 1 + strongest bridge 1"
        );
        assert!((get(hy) - 0.2).abs() < 1e-6);
        assert!(s.windows(2).all(|w| w[0].0 < w[1].0));
    }

    #[test]
    fn katakana_compounds_split_into_known_words() {
        let l = Lexicon::parse("ベクトル\tvector 1\nデータベース\tdatabase 1\n", 1.0).unwrap();
        let b = Bridge::new(&l, 0);
        let mut parts = Vec::new();
        b.compound_parts("ベクトルデータベース", &mut parts);
        assert_eq!(
            parts,
            [term_hash("ベクトル", 0), term_hash("データベース", 0)]
        );
        parts.clear();
        b.compound_parts("ベクトル", &mut parts);
        assert!(parts.is_empty(), "a known word is not split");
    }

    #[test]
    fn plurals_fold_onto_singulars_the_lexicon_knows() {
        let vocab: HashSet<&str> = ["database", "query", "index", "match", "new", "access"]
            .into_iter()
            .collect();
        let f = |w| fold_plural(w, &vocab);
        assert_eq!(f("databases"), Some("database"));
        assert_eq!(f("queries"), Some("query"));
        assert_eq!(f("indexes"), Some("index"));
        assert_eq!(f("matches"), Some("match"));
        // Not plurals, or no singular the lexicon knows.
        assert_eq!(f("access"), None);
        assert_eq!(f("status"), None);
        assert_eq!(f("analysis"), None);
        assert_eq!(f("vectors"), None);
        assert_eq!(f("Databases"), None);
    }

    #[test]
    fn folded_forms_add_their_probabilities() {
        let lex = Lexicon::parse("bases\tdatabases 0.5\tdatabase 0.25\n", 2.0).unwrap();
        let b = Bridge::new(&lex, 7);
        let (keys, weights) = b.lookup(term_hash("bases", 7)).unwrap();
        assert_eq!(keys, [term_hash("database", 7)]);
        assert_eq!(weights, [1.5]);
        // English "databases" gains its singular.
        let (keys, weights) = b.lookup(term_hash("databases", 7)).unwrap();
        assert_eq!(keys, [term_hash("database", 7)]);
        assert_eq!(weights, [FOLD_STRENGTH]);
    }

    #[test]
    fn the_source_table_finds_what_the_binary_search_finds() {
        let b = Bridge::new(&Lexicon::builtin(), 3);
        assert!(b.table.is_some());
        let (seed, sources, rows, katakana) = b.parts();
        let plain =
            Bridge::from_parts(seed, sources.clone(), rows.clone(), katakana.to_vec()).unwrap();
        assert!(plain.table.is_none());
        let absent = (0..1000u64).map(|i| term_hash(&format!("absent {i}"), 3));
        for h in sources.iter().copied().chain(absent) {
            assert_eq!(b.lookup(h), plain.lookup(h));
        }
    }

    #[test]
    fn builtin_lexicon_loads() {
        assert!(!Lexicon::builtin().is_empty());
    }
}
