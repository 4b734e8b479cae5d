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
/// Grapheme segmentation is the costly part, and most characters need
/// none: between two characters of Grapheme_Cluster_Break "Other" (ASCII
/// but CR LF, and the [`simple`] letters of the big scripts) there is
/// always a boundary, since every rule of UAX #29 that joins two
/// characters needs a CR, LF, control, Hangul jamo, Extend, ZWJ,
/// SpacingMark, Prepend or regional indicator right at the join. A simple
/// character with boundaries on both sides is a grapheme of its own, and
/// normalizes to its lowercase; only the stretches between such boundaries
/// that hold anything else go through the segmenter, which cuts them
/// exactly as it cuts the whole text.
fn for_each_grapheme(
    text: &str,
    out: &mut String,
    buf: &mut String,
    mut mapped: impl FnMut(u32, usize, usize),
) {
    let bytes = text.as_bytes();
    // The character at `i`, if simple.
    let simple_at = |i: usize| -> Option<char> {
        let b = *bytes.get(i)?;
        if b < 0x80 {
            return Some(b as char);
        }
        let c = text[i..].chars().next().expect("a char boundary");
        simple(c).then_some(c)
    };
    // A boundary that no rule can remove between the simple `before`
    // (ending at `i`) and what starts at `i`.
    let split_after = |before: char, i: usize| match simple_at(i) {
        _ if i == bytes.len() => true,
        Some(next) => !(before == '\r' && next == '\n'),
        None => false,
    };
    let mut i = 0;
    while i < bytes.len() {
        if let Some(c) = simple_at(i) {
            let end = i + c.len_utf8();
            if split_after(c, end) {
                mapped(out.len() as u32, i, end);
                if c.is_ascii() {
                    out.push(c.to_ascii_lowercase());
                } else {
                    out.extend(c.to_lowercase());
                }
                i = end;
                continue;
            }
        }
        // To the next boundary no rule can remove.
        let mut j = i;
        loop {
            let c = text[j..].chars().next().expect("a char boundary");
            j += c.len_utf8();
            if j == bytes.len() || (simple(c) && split_after(c, j)) {
                break;
            }
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

/// Characters of Grapheme_Cluster_Break "Other" that NFKC leaves alone and
/// that lowercase to one character: ASCII (CR LF aside, see
/// [`for_each_grapheme`]) and the letters of the scripts most text here is
/// in. The test checks every one of them against the segmenter and the
/// normalizer.
#[inline]
fn simple(c: char) -> bool {
    matches!(c as u32,
        0x00..=0x7F
        // Latin-1 letters (not the NFKC-changed ª º ¹ etc. below 0xC0).
        | 0xC0..=0xD6 | 0xD8..=0xF6 | 0xF8..=0xFF
        // Latin Extended-A (not İ, whose lowercase is two characters, nor
        // Ĳ ĳ ŀ Ŀ ŉ ſ, which NFKC changes).
        | 0x100..=0x12F | 0x131 | 0x134..=0x13E | 0x141..=0x148 | 0x14A..=0x17E
        // Greek and Cyrillic letters (no combining marks, no tonos forms).
        | 0x391..=0x3A1 | 0x3A3..=0x3A9 | 0x3B1..=0x3C9
        | 0x400..=0x482 | 0x48A..=0x4FF
        // Hiragana and Katakana letters, the prolonged sound mark.
        | 0x3041..=0x3096 | 0x30A1..=0x30FA | 0x30FC
        // CJK Unified Ideographs (and Extension A).
        | 0x3400..=0x4DBF | 0x4E00..=0x9FFF
    )
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

    /// Every character `simple` names is a grapheme of its own next to
    /// ASCII, to another of them and to itself (were it Extend, SpacingMark,
    /// ZWJ, Prepend, a jamo or a regional indicator, one of these would
    /// join), NFKC leaves it alone and it lowercases to one character.
    #[test]
    fn simple_characters_are_graphemes_of_their_own_that_normalize_to_their_lowercase() {
        let mut n = 0;
        for u in 0..=0x10FFFFu32 {
            let Some(c) = char::from_u32(u) else { continue };
            if !simple(c) || c.is_ascii() {
                continue;
            }
            n += 1;
            for t in [format!("a{c}a"), format!("{c}{c}"), format!("{c}\u{4E00}")] {
                let g: Vec<&str> = t.graphemes(true).collect();
                let want: Vec<String> = t.chars().map(String::from).collect();
                assert_eq!(g, want, "U+{u:04X}");
            }
            assert_eq!(
                c.to_string().nfkc().collect::<String>(),
                c.to_string(),
                "U+{u:04X}"
            );
            assert_eq!(c.to_lowercase().count(), 1, "U+{u:04X}");
            agrees(&format!("{c}Ab{c}\r\n{c}\u{301}{c}\u{200d}{c}{c}"));
        }
        assert!(n > 28_000, "{n}");
    }

    proptest::proptest! {
        #[test]
        fn the_shortcut_agrees_on_mixed_scripts(
            t in "[aZ1 \r\n.\u{301}\u{200d}\u{3099}ｶﾞÀßœŀДдΣσ\u{483}あア一丁\u{3000}\u{F900}\u{1100}\u{1161}]{0,40}"
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
