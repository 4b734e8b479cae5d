//! Lossless-in-position normalization: NFKC plus Unicode lowercase, applied
//! grapheme by grapheme so every byte of the normalized text maps back to the
//! grapheme of the original it came from (highlighting needs the original
//! offsets).

use unicode_normalization::UnicodeNormalization;
use unicode_segmentation::UnicodeSegmentation;

/// Normalized text plus, per normalized grapheme, where it came from.
#[derive(Debug, Clone)]
pub struct Normalized {
    pub text: String,
    // (normalized start, original start, original end), sorted by the first field.
    map: Vec<(u32, u32, u32)>,
}

impl Normalized {
    /// Original byte range of the normalized byte range `start..end`.
    pub fn original_range(&self, start: usize, end: usize) -> (usize, usize) {
        if self.map.is_empty() {
            return (0, 0);
        }
        let find = |pos: usize| -> usize {
            match self.map.binary_search_by_key(&(pos as u32), |m| m.0) {
                Ok(i) => i,
                Err(i) => i.saturating_sub(1),
            }
        };
        let first = self.map[find(start)];
        let last = self.map[find(end.saturating_sub(1).max(start))];
        (first.1 as usize, last.2 as usize)
    }
}

/// NFKC, then lowercase. Offsets are kept as u32: inputs are cut into
/// passages well below 4 GiB before they get here.
pub fn normalize(text: &str) -> Normalized {
    let mut out = String::with_capacity(text.len());
    let mut map = Vec::with_capacity(text.len() / 2);
    let mut buf = String::new();
    for (start, g) in text.grapheme_indices(true) {
        let norm_start = out.len() as u32;
        if g.len() == 1 {
            out.push(g.as_bytes()[0].to_ascii_lowercase() as char);
        } else {
            buf.clear();
            buf.extend(g.nfkc());
            for c in buf.chars() {
                out.extend(c.to_lowercase());
            }
        }
        if out.len() as u32 > norm_start {
            map.push((norm_start, start as u32, (start + g.len()) as u32));
        }
    }
    Normalized { text: out, map }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nfkc_and_lowercase_with_offsets() {
        let n = normalize("ＡＩ Données ｶﾀｶﾅ");
        assert_eq!(n.text, "ai données カタカナ");
        let i = n.text.find("données").unwrap();
        let (s, e) = n.original_range(i, i + "données".len());
        assert_eq!(&"ＡＩ Données ｶﾀｶﾅ"[s..e], "Données");
        let i = n.text.find("カタカナ").unwrap();
        let (s, e) = n.original_range(i, i + "カタカナ".len());
        assert_eq!(&"ＡＩ Données ｶﾀｶﾅ"[s..e], "ｶﾀｶﾅ");
    }

    #[test]
    fn combining_marks_compose() {
        let n = normalize("Cafe\u{301}");
        assert_eq!(n.text, "café");
    }
}
