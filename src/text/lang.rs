//! Language tags from script evidence: kana means Japanese; Han alone means
//! Chinese, simplified or traditional by which character set dominates;
//! Latin text goes to a small character-trigram model (en, fr, de, es, it,
//! pt, nl), and is `und` when the model's lead is thin. Coarse on purpose: a passage is short and a wrong sure tag
//! hurts filtering more than `und` does.

use std::collections::HashMap;
use std::sync::OnceLock;

use super::script::{script_of, Script};

/// Characters used only in traditional (T) or only in simplified (S)
/// writing, generated from OpenCC's tables by scripts/gen_han_variants.py.
const HAN_SCRIPT_TSV: &str = include_str!("../../data/han_script.tsv");

fn han_script() -> &'static HashMap<char, bool> {
    static TABLE: OnceLock<HashMap<char, bool>> = OnceLock::new();
    TABLE.get_or_init(|| {
        HAN_SCRIPT_TSV
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
            .collect()
    })
}

/// Character-trigram model of Latin-script languages, generated from
/// gettext catalogues by scripts/gen_latin_trigrams.py (not from any text
/// vecsearch is measured on).
const LATIN_TRIGRAMS_TSV: &str = include_str!("../../data/latin_trigrams.tsv");

struct TrigramModel {
    langs: Vec<(&'static str, f32)>,
    /// trigram → log10 P per language (parallel to `langs`; NaN = unseen).
    table: HashMap<String, Vec<f32>>,
}

fn trigram_model() -> &'static TrigramModel {
    static MODEL: OnceLock<TrigramModel> = OnceLock::new();
    MODEL.get_or_init(|| {
        let rows: Vec<(&'static str, f32, &'static str)> = LATIN_TRIGRAMS_TSV
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| {
                let mut f = l.split('\t');
                Some((f.next()?, f.next()?.parse().ok()?, f.next()?))
            })
            .collect();
        let mut table: HashMap<String, Vec<f32>> = HashMap::new();
        for (i, (_, _, cells)) in rows.iter().enumerate() {
            for cell in cells.split(' ') {
                let Some((g, p)) = cell.rsplit_once('=') else {
                    continue;
                };
                let Ok(p) = p.parse::<f32>() else { continue };
                table
                    .entry(g.replace('_', " "))
                    .or_insert_with(|| vec![f32::NAN; rows.len()])[i] = p;
            }
        }
        TrigramModel {
            langs: rows.iter().map(|r| (r.0, r.1)).collect(),
            table,
        }
    })
}

/// Fewest trigrams worth a decision, and the least log10 likelihood lead
/// (per trigram) of the best language over the next: below either the
/// text is `und` rather than a guess.
const MIN_TRIGRAMS: usize = 6;
const MIN_LEAD_PER_TRIGRAM: f32 = 0.08;

/// The language of Latin-script text by its character trigrams, or `und`.
fn latin_lang(text: &str) -> &'static str {
    let m = trigram_model();
    let mut score = vec![0f32; m.langs.len()];
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
        let mut g = String::new();
        for t in chars.windows(3) {
            g.clear();
            g.extend(t);
            n += 1;
            let row = m.table.get(&g);
            for (i, s) in score.iter_mut().enumerate() {
                let p = row.map_or(f32::NAN, |r| r[i]);
                *s += if p.is_nan() { m.langs[i].1 } else { p };
            }
        }
    }
    if n < MIN_TRIGRAMS {
        return "und";
    }
    let mut order: Vec<usize> = (0..score.len()).collect();
    order.sort_by(|&a, &b| score[b].total_cmp(&score[a]));
    let lead = (score[order[0]] - score[order[1]]) / n as f32;
    if lead < MIN_LEAD_PER_TRIGRAM {
        return "und";
    }
    m.langs[order[0]].0
}

/// A BCP 47 tag for `text`: ja, zh-Hans, zh-Hant, zh, ko, fr, en or und.
pub fn detect_lang(text: &str) -> &'static str {
    let (mut kana, mut han, mut hangul, mut latin) = (0usize, 0usize, 0usize, 0usize);
    let (mut trad, mut simp) = (0usize, 0usize);
    let table = han_script();
    for c in text.chars() {
        match script_of(c) {
            Script::Hiragana | Script::Katakana => kana += 1,
            Script::Han => {
                han += 1;
                match table.get(&c) {
                    Some(true) => trad += 1,
                    Some(false) => simp += 1,
                    None => {}
                }
            }
            Script::Hangul => hangul += 1,
            Script::Latin => latin += 1,
            _ => {}
        }
    }
    let cjk = kana + han + hangul;
    if cjk == 0 && latin == 0 {
        return "und";
    }
    // One CJK character carries about as much as a short Latin word.
    if cjk * 3 >= latin {
        if hangul > kana + han {
            return "ko";
        }
        if kana > 0 {
            return "ja";
        }
        return match trad.cmp(&simp) {
            std::cmp::Ordering::Greater => "zh-Hant",
            std::cmp::Ordering::Less => "zh-Hans",
            std::cmp::Ordering::Equal => "zh",
        };
    }
    latin_lang(text)
}

/// Whether a passage tagged `lang` passes the user's `--lang filter`.
/// `zh` covers both scripts; region subtags map to scripts (zh-TW → zh-Hant).
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
        _ => t,
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
    use super::*;

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
