//! Language tags from script evidence: kana means Japanese; Han alone means
//! Chinese, simplified or traditional by which character set dominates;
//! Latin is French or English by a small vote of function words and accents,
//! else `und`. Coarse on purpose: a passage is short and a wrong sure tag
//! hurts filtering more than `und` does.

use std::collections::HashMap;
use std::sync::OnceLock;

use unicode_segmentation::UnicodeSegmentation;

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

const FR_WORDS: &[&str] = &[
    "le", "la", "les", "des", "du", "de", "un", "une", "et", "est", "sont", "pour", "dans", "que",
    "qui", "avec", "sur", "par", "pas", "plus", "ou", "au", "aux", "ce", "cette", "ces", "leur",
    "nous", "vous", "il", "elle", "ils", "on", "être", "été", "comme", "mais",
];
const EN_WORDS: &[&str] = &[
    "the", "and", "is", "are", "of", "to", "in", "for", "with", "that", "this", "on", "by", "an",
    "it", "as", "be", "from", "or", "not", "which", "can", "its", "their", "we", "you", "was",
    "were", "has", "have", "into", "than",
];

/// A BCP 47 tag for `text`: ja, zh-Hans, zh-Hant, zh, ko, fr, en or und.
pub fn detect_lang(text: &str) -> &'static str {
    let (mut kana, mut han, mut hangul, mut latin) = (0usize, 0usize, 0usize, 0usize);
    let (mut trad, mut simp, mut accents) = (0usize, 0usize, 0usize);
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
            Script::Latin => {
                latin += 1;
                if "éèêàâçùûîïôœëÉÈÊÀÇ".contains(c) {
                    accents += 1;
                }
            }
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
    let (mut fr, mut en) = (accents.min(3), 0usize);
    for w in text.unicode_words() {
        let w = w.to_lowercase();
        let w = w
            .split_once(['\'', '\u{2019}'])
            .map_or(w.as_str(), |(head, _)| head);
        if FR_WORDS.contains(&w) || ["l", "d", "qu", "j", "n", "s", "c"].contains(&w) {
            fr += 1;
        }
        if EN_WORDS.contains(&w) {
            en += 1;
        }
    }
    match fr.cmp(&en) {
        std::cmp::Ordering::Greater => "fr",
        std::cmp::Ordering::Less => "en",
        std::cmp::Ordering::Equal => "und",
    }
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
