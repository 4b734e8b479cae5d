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
    for_each_grapheme(text, &mut out, &mut buf, |norm_start, start, end| {
        map.push((norm_start, start as u32, end as u32));
    });
    Normalized { text: out, map }
}

/// The text of [`normalize`] alone, written into `out` (cleared first),
/// with `buf` as scratch: what indexing needs, without the offset map.
pub fn normalize_into(text: &str, out: &mut String, buf: &mut String) {
    out.clear();
    out.reserve(text.len());
    if text.is_ascii() {
        // Every grapheme is one byte, or CR LF, which normalizes to itself.
        out.push_str(text);
        out.make_ascii_lowercase();
        return;
    }
    for_each_grapheme(text, out, buf, |_, _, _| {});
}

/// Appends each grapheme of `text`, normalized, to `out` and reports
/// (normalized start, original start, original end) for each that wrote
/// something.
///
/// Grapheme segmentation is the costly part, and most text is ASCII: two
/// adjacent ASCII characters other than CR LF are always separated by a
/// grapheme boundary (no UAX #29 rule joins them, and no rule looks back
/// past an ASCII character), so only the stretches between such
/// boundaries that hold a non-ASCII character or CR LF go through the
/// segmenter, which cuts them exactly as it cuts the whole text.
fn for_each_grapheme(
    text: &str,
    out: &mut String,
    buf: &mut String,
    mut mapped: impl FnMut(u32, usize, usize),
) {
    let bytes = text.as_bytes();
    // A boundary between i - 1 and i that no rule can remove.
    let split = |i: usize| {
        i == bytes.len()
            || (bytes[i - 1] < 0x80
                && bytes[i] < 0x80
                && !(bytes[i - 1] == b'\r' && bytes[i] == b'\n'))
    };
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] < 0x80 && split(i + 1) {
            mapped(out.len() as u32, i, i + 1);
            out.push(bytes[i].to_ascii_lowercase() as char);
            i += 1;
            continue;
        }
        let mut j = i + 1;
        while !split(j) {
            j += 1;
        }
        for (start, g) in text[i..j].grapheme_indices(true) {
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
                mapped(norm_start, i + start, i + start + g.len());
            }
        }
        i = j;
    }
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

    /// The grapheme loop as first written, over the whole text.
    fn reference(text: &str) -> (String, Vec<(u32, u32, u32)>) {
        let mut out = String::new();
        let mut map = Vec::new();
        for (start, g) in text.grapheme_indices(true) {
            let norm_start = out.len() as u32;
            if g.len() == 1 {
                out.push(g.as_bytes()[0].to_ascii_lowercase() as char);
            } else {
                for c in g.nfkc().collect::<String>().chars() {
                    out.extend(c.to_lowercase());
                }
            }
            if out.len() as u32 > norm_start {
                map.push((norm_start, start as u32, (start + g.len()) as u32));
            }
        }
        (out, map)
    }

    fn agrees(text: &str) {
        let (out, map) = reference(text);
        let n = normalize(text);
        assert_eq!(n.text, out, "{text:?}");
        assert_eq!(n.map, map, "{text:?}");
        let (mut fast, mut buf) = (String::from("stale"), String::new());
        normalize_into(text, &mut fast, &mut buf);
        assert_eq!(fast, out, "{text:?}");
    }

    #[test]
    fn the_ascii_shortcut_cuts_graphemes_as_the_segmenter_does() {
        for t in [
            "",
            "a\r\nb\r\n\r\r\n",
            "Cafe\u{301} e\u{301}\u{302}x",
            "\u{600}1 \u{600}\u{600}a",
            "a\u{200d}b 👨\u{200d}👩\u{200d}👧 x\u{200d}\u{1f600}",
            "🇫🇷🇯🇵a🇫🇷🇯🇵🇫",
            "ｶﾞｷﾞ ﾊﾟ ＡＢＣ ⅷ ﬁ Ｓ",
            "\u{1100}\u{1161}\u{11a8}a\u{1100}",
            "क्\u{200d}षa क्ष",
            "ﾞaﾞ\r\u{301}\n\u{301}",
        ] {
            agrees(t);
        }
    }

    proptest::proptest! {
        #[test]
        fn the_ascii_shortcut_agrees_on_any_text(
            t in "[aZ1 \r\n.\u{301}\u{200d}\u{600}\u{1f600}\u{1f1eb}\u{1f1f7}ｶﾞＡﬁé\u{1100}\u{1161}क्]{0,40}"
        ) {
            agrees(&t);
        }
    }

    #[test]
    fn combining_marks_compose() {
        let n = normalize("Cafe\u{301}");
        assert_eq!(n.text, "café");
    }
}
