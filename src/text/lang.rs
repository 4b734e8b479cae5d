//! Language tags from script evidence: kana means Japanese; Han alone means
//! Chinese, simplified or traditional by which character set dominates;
//! Latin text goes to a small character-trigram model (en, fr, de, es, it,
//! pt, nl), and is `und` when the model's lead is thin. Coarse on purpose: a passage is short and a wrong sure tag
//! hurts filtering more than `und` does.

use std::sync::OnceLock;

use super::script::{script_of, Script};

/// Characters used only in traditional (T) or only in simplified (S)
/// writing, generated from OpenCC's tables by scripts/gen_han_variants.py.
const HAN_SCRIPT_TSV: &str = include_str!("../../data/han_script.tsv");

/// Which Han characters are traditional-only or simplified-only, as a
/// direct table over the main CJK blocks (looked up for every Han character
/// of every passage, where a hashed lookup cost more than the rest of the
/// language test) and a sorted list for the rare rest.
struct HanScript {
    /// 0 = either, 1 = simplified, 2 = traditional; indexed by `c - HAN_DIRECT.start`.
    direct: Vec<u8>,
    other: Vec<(char, bool)>,
}

const HAN_DIRECT: std::ops::Range<u32> = 0x3400..0xA000;

impl HanScript {
    /// `Some(true)` traditional only, `Some(false)` simplified only.
    #[inline]
    fn get(&self, c: char) -> Option<bool> {
        let u = c as u32;
        if HAN_DIRECT.contains(&u) {
            match self.direct[(u - HAN_DIRECT.start) as usize] {
                0 => None,
                v => Some(v == 2),
            }
        } else {
            self.other
                .binary_search_by_key(&c, |e| e.0)
                .ok()
                .map(|i| self.other[i].1)
        }
    }
}

fn han_script() -> &'static HanScript {
    static TABLE: OnceLock<HanScript> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut direct = vec![0u8; HAN_DIRECT.len()];
        let mut other: Vec<(char, bool)> = Vec::new();
        // A character listed twice keeps its last class, as the map this
        // table replaced did.
        for (c, traditional) in HAN_SCRIPT_TSV
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| {
                let mut f = l.split('\t');
                let c = f.next()?.chars().next()?;
                let traditional = match f.next()? {
                    "T" => true,
                    "S" => false,
                    _ => return None,
                };
                Some((c, traditional))
            })
        {
            let u = c as u32;
            if HAN_DIRECT.contains(&u) {
                direct[(u - HAN_DIRECT.start) as usize] = if traditional { 2 } else { 1 };
            } else {
                other.retain(|e| e.0 != c);
                other.push((c, traditional));
            }
        }
        other.sort_by_key(|e| e.0);
        HanScript { direct, other }
    })
}

/// Character-trigram model of Latin-script languages, generated from
/// gettext catalogues by scripts/gen_latin_trigrams.py (not from any text
/// vecsearch is measured on).
const LATIN_TRIGRAMS_TSV: &str = include_str!("../../data/latin_trigrams.tsv");

/// Languages the trigram model can hold: scores and rows are fixed arrays
/// of this many lanes, which the compiler adds as one vector.
const LANES: usize = 8;

struct TrigramModel {
    langs: Vec<(&'static str, f32)>,
    /// Packed trigram (see [`pack`]) → its row in `rows`.
    table: TrigramTable,
    /// Per known trigram, log10 P per language, the language's floor
    /// already put in where it never saw the trigram (lanes past the
    /// languages are 0).
    rows: Vec<[f32; LANES]>,
    /// The floors: the row of an unknown trigram.
    floors: [f32; LANES],
}

/// Open addressing with linear probing, at most half full: a trigram of
/// every word of every Latin passage is looked up here.
struct TrigramTable {
    shift: u32,
    slots: Vec<(u64, u32)>,
}

const NO_ROW: u32 = u32::MAX;

impl TrigramTable {
    fn with_capacity(n: usize) -> Self {
        let bits = (n.max(8) * 2).next_power_of_two().trailing_zeros();
        TrigramTable {
            shift: 64 - bits,
            slots: vec![(0, NO_ROW); 1 << bits],
        }
    }

    #[inline]
    fn slot(&self, key: u64) -> usize {
        (key.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> self.shift) as usize
    }

    #[inline]
    fn get(&self, key: u64) -> Option<u32> {
        let mask = self.slots.len() - 1;
        let mut p = self.slot(key);
        loop {
            let (k, row) = self.slots[p];
            if row == NO_ROW {
                return None;
            }
            if k == key {
                return Some(row);
            }
            p = (p + 1) & mask;
        }
    }

    /// The row of `key`, inserting `next` for a new key.
    fn get_or_insert(&mut self, key: u64, next: u32) -> u32 {
        let mask = self.slots.len() - 1;
        let mut p = self.slot(key);
        loop {
            let (k, row) = self.slots[p];
            if row == NO_ROW {
                self.slots[p] = (key, next);
                return next;
            }
            if k == key {
                return row;
            }
            p = (p + 1) & mask;
        }
    }
}

/// Three chars as one key (21 bits each), so a trigram is looked up
/// without building a string.
#[inline]
fn pack(a: char, b: char, c: char) -> u64 {
    ((a as u64) << 42) | ((b as u64) << 21) | c as u64
}

fn trigram_model() -> &'static TrigramModel {
    static MODEL: OnceLock<TrigramModel> = OnceLock::new();
    MODEL.get_or_init(|| {
        let langs: Vec<(&'static str, f32, &'static str)> = LATIN_TRIGRAMS_TSV
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| {
                let mut f = l.split('\t');
                Some((f.next()?, f.next()?.parse().ok()?, f.next()?))
            })
            .collect();
        assert!(
            langs.len() <= LANES,
            "the trigram model has too many languages"
        );
        let mut floors = [0f32; LANES];
        for (f, l) in floors.iter_mut().zip(&langs) {
            *f = l.1;
        }
        let cells: usize = langs.iter().map(|l| l.2.split(' ').count()).sum();
        let mut table = TrigramTable::with_capacity(cells);
        let mut rows: Vec<[f32; LANES]> = Vec::new();
        for (i, (_, _, cells)) in langs.iter().enumerate() {
            for cell in cells.split(' ') {
                let Some((g, p)) = cell.rsplit_once('=') else {
                    continue;
                };
                let Ok(p) = p.parse::<f32>() else { continue };
                // Only three-character keys can ever equal a text trigram.
                let g: Vec<char> = g.chars().map(|c| if c == '_' { ' ' } else { c }).collect();
                let [a, b, c] = g[..] else { continue };
                let row = table.get_or_insert(pack(a, b, c), rows.len() as u32) as usize;
                if row == rows.len() {
                    rows.push(floors);
                }
                // A NaN cell counted as unseen.
                rows[row][i] = if p.is_nan() { floors[i] } else { p };
            }
        }
        TrigramModel {
            langs: langs.iter().map(|r| (r.0, r.1)).collect(),
            table,
            rows,
            floors,
        }
    })
}

/// Fewest trigrams worth a decision, and the least log10 likelihood lead
/// (per trigram) of the best language over the next: below either the
/// text is `und` rather than a guess.
const MIN_TRIGRAMS: usize = 6;
const MIN_LEAD_PER_TRIGRAM: f32 = 0.08;

/// Adds the trigrams of one padded word (' ', letters…, ' ') to `score`
/// and counts them in `n`.
fn score_word(m: &TrigramModel, padded: &[char], score: &mut [f32; LANES], n: &mut usize) {
    for t in padded.windows(3) {
        *n += 1;
        let row = match m.table.get(pack(t[0], t[1], t[2])) {
            Some(r) => &m.rows[r as usize],
            None => &m.floors,
        };
        for (s, p) in score.iter_mut().zip(row) {
            *s += p;
        }
    }
}

/// The language of Latin-script text by its character trigrams, or `und`.
/// Words are the runs of alphabetic characters of the lowercased text;
/// only words wholly in Latin script count.
#[cfg(test)]
fn latin_lang(text: &str) -> &'static str {
    latin_lang_counted(text).0
}

/// For a letter (`char::is_alphabetic`), whether it is in Latin script
/// ([`script_of`]); `None` for anything else. The accented letters of
/// Latin-1 and Latin Extended-A/B, most of the non-ASCII characters of
/// Latin text, are decided without the Unicode tables.
#[inline]
fn letter_script(c: char) -> Option<bool> {
    match c as u32 {
        0xD7 | 0xF7 => None,
        0xC0..=0x24F => Some(true),
        _ if c.is_alphabetic() => Some(script_of(c) == Script::Latin),
        _ => None,
    }
}

/// `c.to_lowercase()` for the Latin-1 letters, whose lowercase is one
/// character (`None` for others).
#[inline]
fn latin1_lowercase(c: char) -> Option<char> {
    match c as u32 {
        0xD7 => Some(c),
        u @ 0xC0..=0xDE => char::from_u32(u + 0x20),
        0xDF..=0xFF => Some(c),
        _ => None,
    }
}

/// [`latin_lang`] and the number of trigrams it went by.
fn latin_lang_counted(text: &str) -> (&'static str, usize) {
    let m = trigram_model();
    let mut score = [0f32; LANES];
    let mut n = 0usize;
    let mut word: Vec<char> = vec![' '];
    let mut latin = true;
    let mut letter = |l: char, word: &mut Vec<char>, score: &mut [f32; LANES], n: &mut usize| {
        if let Some(is_latin) = letter_script(l) {
            latin = latin && is_latin;
            word.push(l);
        } else {
            if word.len() > 1 && latin {
                word.push(' ');
                score_word(m, word, score, n);
            }
            word.truncate(1);
            latin = true;
        }
    };
    // Lowercased char by char: the same as lowercasing the whole text but
    // for a final Greek sigma, which is not Latin either way.
    for c in text.chars() {
        if c.is_ascii() {
            letter(c.to_ascii_lowercase(), &mut word, &mut score, &mut n);
        } else if let Some(l) = latin1_lowercase(c) {
            letter(l, &mut word, &mut score, &mut n);
        } else {
            for l in c.to_lowercase() {
                letter(l, &mut word, &mut score, &mut n);
            }
        }
    }
    letter(' ', &mut word, &mut score, &mut n);
    if n < MIN_TRIGRAMS {
        return ("und", n);
    }
    let mut order: Vec<usize> = (0..m.langs.len()).collect();
    order.sort_by(|&a, &b| score[b].total_cmp(&score[a]));
    let lead = (score[order[0]] - score[order[1]]) / n as f32;
    if lead < MIN_LEAD_PER_TRIGRAM {
        return ("und", n);
    }
    (m.langs[order[0]].0, n)
}

/// Below this many trigrams (about a dozen words) a Latin passage's own
/// tag is a guess: headings, list items, table cells and command lines
/// come out `und`, or as a stray de/es/it/nl/pt from a few trigrams.
const SURE_TRIGRAMS: usize = 60;

/// How much of a document's Latin text its document-level tag reads.
const DOC_SAMPLE_BYTES: usize = 16 << 10;

/// Settles the tags of short Latin passages by their document: each
/// passage whose tag came from the trigram model on too little text (or
/// was `und` for it) takes the tag of its document's Latin text taken as
/// a whole, when that is sure. A long passage keeps its own tag (a French
/// quotation in an English file stays French), and so does a passage in
/// another script or without letters. `passages` are (document id, text,
/// tag) in document order, as built.
///
/// Each passage may bring the number of trigrams [`detect_lang_counted`]
/// scored its tag by (`Some`): that tag is the passage's own Latin tag,
/// so it is not scored a second time (a few percent of a build).
pub fn settle_short_tags<'a, 'b>(
    passages: impl Iterator<Item = (u32, &'a str, &'b mut &'static str, Option<u32>)>,
) {
    let mut doc: Option<u32> = None;
    let mut pending: Vec<&'b mut &'static str> = Vec::new();
    let mut sample = String::new();
    let flush = |pending: &mut Vec<&'b mut &'static str>, sample: &mut String| {
        if !pending.is_empty() {
            let (tag, n) = latin_lang_counted(sample);
            if tag != "und" && n >= SURE_TRIGRAMS {
                for t in pending.iter_mut() {
                    **t = tag;
                }
            }
        }
        pending.clear();
        sample.clear();
    };
    for (d, text, tag, counted) in passages {
        if doc != Some(d) {
            flush(&mut pending, &mut sample);
            doc = Some(d);
        }
        let latin_tag = *tag == "und" || trigram_model().langs.iter().any(|l| l.0 == *tag);
        if !latin_tag {
            continue;
        }
        let (own, n) = match counted {
            Some(n) => (*tag, n as usize),
            None => latin_lang_counted(text),
        };
        if n == 0 {
            // No Latin word: digits, symbols; nothing to go by.
            continue;
        }
        if sample.len() < DOC_SAMPLE_BYTES {
            sample.push_str(text);
            sample.push('\n');
        }
        if n < SURE_TRIGRAMS && own == *tag {
            pending.push(tag);
        }
    }
    flush(&mut pending, &mut sample);
}

/// A BCP 47 tag for `text`: ja, zh-Hans, zh-Hant, zh, ko, fr, en or und.
pub fn detect_lang(text: &str) -> &'static str {
    detect_lang_counted(text).0
}

/// The characters outside Latin script (by [`script_of`]) whose lowercase
/// is a Latin letter, so the trigram model may count them (the Kelvin and
/// Angstrom signs, three letters of Latin Extended-C and -D; the test
/// checks every character).
const LOWERS_TO_LATIN: [char; 5] = ['\u{212A}', '\u{212B}', '\u{2C7E}', '\u{2C7F}', '\u{A7DC}'];

/// [`detect_lang`], and when the tag came from the Latin trigram model
/// (or the text has no Latin letter: 0), the number of trigrams it went
/// by (for [`settle_short_tags`]).
pub fn detect_lang_counted(text: &str) -> (&'static str, Option<u32>) {
    let (mut kana, mut han, mut hangul, mut latin) = (0usize, 0usize, 0usize, 0usize);
    let (mut trad, mut simp) = (0usize, 0usize);
    let mut lowers_to_latin = false;
    let table = han_script();
    for c in text.chars() {
        match script_of(c) {
            Script::Hiragana | Script::Katakana => kana += 1,
            Script::Han => {
                han += 1;
                match table.get(c) {
                    Some(true) => trad += 1,
                    Some(false) => simp += 1,
                    None => {}
                }
            }
            Script::Hangul => hangul += 1,
            Script::Latin => latin += 1,
            Script::Other if LOWERS_TO_LATIN.contains(&c) => lowers_to_latin = true,
            _ => {}
        }
    }
    let cjk = kana + han + hangul;
    if cjk == 0 && latin == 0 {
        // No Latin character, so no Latin word: the trigram model would
        // count none. Saying so spares `settle_short_tags` running it on
        // every Cyrillic, Greek or Arabic passage.
        return ("und", (!lowers_to_latin).then_some(0));
    }
    // One CJK character carries about as much as a short Latin word.
    if cjk * 3 >= latin {
        if hangul > kana + han {
            return ("ko", None);
        }
        if kana > 0 {
            return ("ja", None);
        }
        let tag = match trad.cmp(&simp) {
            std::cmp::Ordering::Greater => "zh-Hant",
            std::cmp::Ordering::Less => "zh-Hans",
            std::cmp::Ordering::Equal => "zh",
        };
        return (tag, None);
    }
    let (tag, n) = latin_lang_counted(text);
    (tag, Some(n.min(u32::MAX as usize) as u32))
}

#[cfg(test)]
mod settle_tests {
    #[test]
    fn short_passages_take_their_documents_language() {
        let long_en = "The package manager keeps a list of the software installed on the system and downloads updates from the archive when they are published by the maintainers of each package.";
        let long_fr = "Le gestionnaire de paquets conserve la liste des logiciels installés sur le système et télécharge les mises à jour depuis l'archive lorsque les responsables les publient.";
        let texts = [
            (0, long_en),
            (0, "apt-get install foo"),
            (0, "Network configuration"),
            (0, long_fr),
            (0, "12345"),
            (1, "Configuration réseau"),
            (1, long_fr),
        ];
        let detected: Vec<(&'static str, Option<u32>)> = texts
            .iter()
            .map(|(_, t)| super::detect_lang_counted(t))
            .collect();
        assert_eq!(detected[0].0, "en");
        assert_eq!(detected[3].0, "fr");
        // With the counts detection found and without them (each passage
        // scored again), the same tags.
        for keep_counts in [true, false] {
            let mut tags: Vec<&'static str> = detected.iter().map(|d| d.0).collect();
            super::settle_short_tags(
                texts
                    .iter()
                    .zip(tags.iter_mut())
                    .zip(&detected)
                    .map(|(((d, t), tag), (_, n))| (*d, *t, tag, n.filter(|_| keep_counts))),
            );
            assert_eq!(tags, ["en", "en", "en", "fr", "und", "fr", "fr"]);
        }
    }
}

/// Whether a passage tagged `lang` passes the user's `--lang filter`.
/// `zh` covers both scripts; Chinese region subtags map to scripts (zh-TW →
/// zh-Hant); other region subtags are dropped (BCP 47: fr-FR and fr-CA are
/// French, en-US and en-GB English), since passages carry no region.
pub fn lang_matches(filter: &str, lang: &str) -> bool {
    let f = canonical(filter);
    let l = canonical(lang);
    l == f || (l.len() > f.len() && l.starts_with(&f) && l.as_bytes()[f.len()] == b'-')
}

fn canonical(tag: &str) -> String {
    let t = tag.trim().replace('_', "-").to_ascii_lowercase();
    match t.as_str() {
        "zh-cn" | "zh-sg" | "zh-hans-cn" => "zh-hans".into(),
        "zh-tw" | "zh-hk" | "zh-mo" | "zh-hant-tw" => "zh-hant".into(),
        "ja-jp" => "ja".into(),
        _ if t.starts_with("zh-") => t,
        _ => {
            // Keep the language and any script subtag (sr-Latn); drop
            // regions (two letters or three digits) and what follows.
            let mut kept: Vec<&str> = Vec::new();
            for (i, part) in t.split('-').enumerate() {
                let region = (part.len() == 2 && part.chars().all(|c| c.is_ascii_alphabetic()))
                    || (part.len() == 3 && part.chars().all(|c| c.is_ascii_digit()));
                if i > 0 && region {
                    break;
                }
                kept.push(part);
            }
            kept.join("-")
        }
    }
}

/// Whether `tag` looks like a language tag at all (letters, digits, hyphens).
pub fn is_valid_tag(tag: &str) -> bool {
    let mut parts = tag.split(['-', '_']);
    let primary = parts.next().unwrap_or("");
    (2..=8).contains(&primary.len())
        && primary.chars().all(|c| c.is_ascii_alphabetic())
        && parts.all(|p| (1..=8).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphanumeric()))
}

#[cfg(test)]
mod tests {
    /// The shortcuts agree with the Unicode tables on every character.
    #[test]
    fn letter_shortcuts_match_the_unicode_tables() {
        for u in 0..=0x10FFFFu32 {
            let Some(c) = char::from_u32(u) else { continue };
            // script_of's rule for Latin, from the tables alone.
            let latin = c.is_ascii_alphabetic()
                || (!c.is_ascii()
                    && c.is_alphabetic()
                    && (u < 0x0250
                        || (0x1E00..=0x1EFF).contains(&u)
                        || (0xFF21..=0xFF5A).contains(&u)));
            if c.is_ascii() || (0x80..0x250).contains(&u) {
                assert_eq!(
                    super::script_of(c) == super::Script::Latin,
                    latin,
                    "U+{u:04X}"
                );
            }
            let want = c
                .is_alphabetic()
                .then(|| super::script_of(c) == super::Script::Latin);
            assert_eq!(super::letter_script(c), want, "U+{u:04X}");
            if let Some(l) = super::latin1_lowercase(c) {
                let mut low = c.to_lowercase();
                assert_eq!((low.next(), low.next()), (Some(l), None), "U+{u:04X}");
            }
            // What `detect_lang_counted` relies on when a text has no Latin
            // character: only these become Latin letters when lowercased.
            if super::script_of(c) != super::Script::Latin {
                let latin_lower = c
                    .to_lowercase()
                    .any(|l| super::letter_script(l) == Some(true));
                assert_eq!(
                    latin_lower,
                    super::LOWERS_TO_LATIN.contains(&c),
                    "U+{u:04X}"
                );
            }
        }
    }

    /// A text without Latin characters counts no trigrams, as the model
    /// itself finds.
    #[test]
    fn text_without_latin_letters_counts_no_trigrams() {
        for text in [
            "Русский текст о пакетах",
            "Ελληνικά 123 αρχεία",
            "عربي",
            "1234 — !",
            "",
        ] {
            assert_eq!(super::detect_lang_counted(text), ("und", Some(0)));
            assert_eq!(super::latin_lang_counted(text), ("und", 0));
        }
        // The Kelvin sign lowercases to k: left to the model.
        assert_eq!(
            super::detect_lang_counted("\u{212A}\u{212A}"),
            ("und", None)
        );
    }

    use super::*;

    #[test]
    fn region_subtags_match_their_language() {
        for (filter, lang) in [
            ("fr-FR", "fr"),
            ("fr-CA", "fr"),
            ("en-US", "en"),
            ("en_GB", "en"),
            ("pt-BR", "pt"),
            ("de-DE", "de"),
            ("es-419", "es"),
            ("zh-TW", "zh-Hant"),
            ("zh-HK", "zh-Hant"),
            ("zh-CN", "zh-Hans"),
            ("zh", "zh-Hans"),
            ("zh", "zh-Hant"),
            ("ja-JP", "ja"),
            ("sr-Latn-RS", "sr-Latn"),
        ] {
            assert!(lang_matches(filter, lang), "{filter} should match {lang}");
        }
        for (filter, lang) in [
            ("fr-FR", "en"),
            ("zh-TW", "zh-Hans"),
            ("en", "und"),
            ("zh-Hant", "zh-Hans"),
        ] {
            assert!(
                !lang_matches(filter, lang),
                "{filter} should not match {lang}"
            );
        }
    }

    #[test]
    fn scripts_decide() {
        assert_eq!(detect_lang("ベクトルデータベースは検索に使われる。"), "ja");
        assert_eq!(detect_lang("向量数据库用于相似度搜索。"), "zh-Hans");
        assert_eq!(detect_lang("向量資料庫用於相似度搜尋。"), "zh-Hant");
        assert_eq!(
            detect_lang("Les bases de données vectorielles stockent des plongements."),
            "fr"
        );
        assert_eq!(
            detect_lang("Vector databases store embeddings for the search."),
            "en"
        );
        assert_eq!(detect_lang("12345 !!"), "und");
    }

    #[test]
    fn latin_trigrams_tell_short_text_apart_and_stay_unsure_when_thin() {
        assert_eq!(
            detect_lang("| HNSW | high, tunable | large collections |"),
            "en"
        );
        assert_eq!(
            detect_lang("Recherche approximative des plus proches voisins"),
            "fr"
        );
        assert_eq!(detect_lang("Die Suche nach den nächsten Nachbarn"), "de");
        assert_eq!(detect_lang("La búsqueda de los vecinos más cercanos"), "es");
        assert_eq!(detect_lang("GPU"), "und");
        // Mixed script: kana decides before any trigram is counted.
        assert_eq!(detect_lang("GPUのメモリ帯域"), "ja");
    }

    /// The trigram scorer as first written (whole-text lowercase, a string
    /// per trigram, a map keyed by strings): the fast one must agree.
    fn reference_latin_lang(text: &str) -> &'static str {
        let m = trigram_model();
        let mut table: std::collections::HashMap<String, usize> = Default::default();
        for &(k, r) in &m.table.slots {
            if r == NO_ROW {
                continue;
            }
            let c = |s: u32| char::from_u32(((k >> s) & 0x1f_ffff) as u32).unwrap();
            table.insert([c(42), c(21), c(0)].iter().collect(), r as usize);
        }
        let l = m.langs.len();
        let mut score = vec![0f32; l];
        let mut n = 0usize;
        let lower = text.to_lowercase();
        for w in lower.split(|c: char| !c.is_alphabetic()) {
            if w.is_empty() || !w.chars().all(|c| script_of(c) == Script::Latin) {
                continue;
            }
            let chars: Vec<char> = std::iter::once(' ')
                .chain(w.chars())
                .chain(std::iter::once(' '))
                .collect();
            for t in chars.windows(3) {
                let g: String = t.iter().collect();
                n += 1;
                for (i, s) in score.iter_mut().enumerate() {
                    *s += table.get(&g).map_or(m.floors[i], |&r| m.rows[r][i]);
                }
            }
        }
        if n < MIN_TRIGRAMS {
            return "und";
        }
        let mut order: Vec<usize> = (0..score.len()).collect();
        order.sort_by(|&a, &b| score[b].total_cmp(&score[a]));
        if (score[order[0]] - score[order[1]]) / (n as f32) < MIN_LEAD_PER_TRIGRAM {
            return "und";
        }
        m.langs[order[0]].0
    }

    #[test]
    fn fast_trigram_scoring_agrees_with_the_reference() {
        let texts = [
            "Die Suche nach den nächsten Nachbarn",
            "ÉCOLE Straße İstanbul ΣΟΦΟΣ naïve façade coöperate",
            "La búsqueda de los vecinos más cercanos, ¿verdad?",
            "mixed ベクトル words and données déjà vu 123abc",
            "",
        ];
        for t in texts {
            assert_eq!(latin_lang(t), reference_latin_lang(t), "{t}");
        }
    }

    proptest::proptest! {
        #[test]
        fn fast_trigram_scoring_agrees_on_any_text(
            t in "[a-zA-ZéèàçÉßİıΣσöü' ,.ベ1-9]{0,80}"
        ) {
            proptest::prop_assert_eq!(latin_lang(&t), reference_latin_lang(&t));
        }
    }

    #[test]
    fn filters() {
        assert!(lang_matches("zh", "zh-Hans"));
        assert!(lang_matches("zh", "zh-Hant"));
        assert!(lang_matches("zh-TW", "zh-Hant"));
        assert!(!lang_matches("zh-Hans", "zh-Hant"));
        assert!(!lang_matches("z", "zh-Hant"));
        assert!(lang_matches("FR", "fr"));
        assert!(
            is_valid_tag("zh-Hant")
                && is_valid_tag("en")
                && !is_valid_tag("x")
                && !is_valid_tag("!!")
        );
    }
}
