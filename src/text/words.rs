//! UAX #29 words, as `unicode_segmentation`'s `unicode_word_indices` gives
//! them (segments holding a letter or digit), but with pure-ASCII stretches
//! cut by a small scanner: word segmentation was the largest single cost of
//! analysis and passage cutting, and most words of most passages are ASCII.
//!
//! The text is split at guaranteed word boundaries that no rule looks
//! across: after an ASCII space, tab or line feed that is followed by an
//! ASCII character other than a space. A stretch that is all ASCII goes to
//! the scanner, any other to `unicode_segmentation`.

use unicode_segmentation::UnicodeSegmentation;

/// Calls `emit(start, word)` for every word of `text`, in order, exactly
/// as `text.unicode_word_indices()` would yield them.
pub fn for_each_word<'t>(text: &'t str, mut emit: impl FnMut(usize, &'t str)) {
    let bytes = text.as_bytes();
    let chunk = |from: usize, to: usize, emit: &mut dyn FnMut(usize, &'t str)| {
        let chunk = &text[from..to];
        if chunk.is_ascii() {
            ascii_words(chunk, |s, w| emit(from + s, w));
        } else {
            for (s, w) in chunk.unicode_word_indices() {
                emit(from + s, w);
            }
        }
    };
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        // A lone ideograph or hiragana: a word of its own when what
        // follows cannot attach to it (see `lone_char`).
        if (0xE3..=0xE9).contains(&b) && lone_char(text, i) && lone_after(text, i + 3) {
            chunk(start, i, &mut emit);
            emit(i, &text[i..i + 3]);
            i += 3;
            start = i;
            continue;
        }
        if matches!(b, b' ' | b'\t' | b'\n')
            && bytes.get(i + 1).is_some_and(|&n| n < 0x80 && n != b' ')
        {
            chunk(start, i + 1, &mut emit);
            start = i + 1;
        }
        i += 1;
    }
    chunk(start, bytes.len(), &mut emit);
}

/// Whether the character at byte `i` is a CJK ideograph (Unified and
/// Extension A) or a hiragana letter. Their Word_Break is Other: no rule of
/// UAX #29 joins one to what precedes it, or joins what surrounds it across
/// it, and only Extend, Format or ZWJ after it join it to what follows
/// (WB4). So one followed by ASCII, by another such character or by
/// nothing is a word of its own, and the text on either side is segmented
/// alone exactly as within the whole (the test checks every such
/// character).
#[inline]
fn lone_char(text: &str, i: usize) -> bool {
    let b = text.as_bytes();
    if i + 3 > b.len() || !(0xE3..=0xE9).contains(&b[i]) {
        return false;
    }
    let c =
        ((b[i] as u32 & 0x0F) << 12) | ((b[i + 1] as u32 & 0x3F) << 6) | (b[i + 2] as u32 & 0x3F);
    matches!(c, 0x3041..=0x3096 | 0x3400..=0x4DBF | 0x4E00..=0x9FFF)
}

/// Whether what starts at byte `i` cannot attach to a [`lone_char`]
/// before it: the end, ASCII, or another such character.
#[inline]
fn lone_after(text: &str, i: usize) -> bool {
    match text.as_bytes().get(i) {
        None => true,
        Some(&n) if n < 0x80 => true,
        Some(_) => lone_char(text, i),
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Class {
    Letter,
    Numeric,
    /// `_` (ExtendNumLet).
    Connector,
    /// `:` (MidLetter).
    MidLetter,
    /// `.` and `'` (MidNumLet, Single_Quote).
    MidNumLet,
    /// `,` and `;` (MidNum).
    MidNum,
    Other,
}

fn class(b: u8) -> Class {
    match b {
        b'a'..=b'z' | b'A'..=b'Z' => Class::Letter,
        b'0'..=b'9' => Class::Numeric,
        b'_' => Class::Connector,
        b':' => Class::MidLetter,
        b'.' | b'\'' => Class::MidNumLet,
        b',' | b';' => Class::MidNum,
        _ => Class::Other,
    }
}

/// The words of ASCII `text` by rules WB5–WB13b (no other rule joins two
/// ASCII characters into a segment that can hold a letter or digit).
fn ascii_words<'t>(text: &'t str, mut emit: impl FnMut(usize, &'t str)) {
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let first = class(b[i]);
        if !matches!(first, Class::Letter | Class::Numeric | Class::Connector) {
            i += 1;
            continue;
        }
        let start = i;
        let mut prev = first;
        let mut alnum = first != Class::Connector;
        i += 1;
        while i < b.len() {
            let c = class(b[i]);
            match c {
                // WB5, WB8–WB10, WB13a, WB13b.
                Class::Letter | Class::Numeric | Class::Connector => {
                    alnum |= c != Class::Connector;
                    prev = c;
                    i += 1;
                }
                // WB6/WB7 (letters) and WB11/WB12 (digits) across one middle.
                Class::MidLetter | Class::MidNumLet | Class::MidNum => {
                    let next = b.get(i + 1).map_or(Class::Other, |&n| class(n));
                    let joins = match (prev, c) {
                        (Class::Letter, Class::MidLetter | Class::MidNumLet) => {
                            next == Class::Letter
                        }
                        (Class::Numeric, Class::MidNum | Class::MidNumLet) => {
                            next == Class::Numeric
                        }
                        _ => false,
                    };
                    if !joins {
                        break;
                    }
                    prev = next;
                    i += 2;
                }
                Class::Other => break,
            }
        }
        if alnum {
            emit(start, &text[start..i]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agrees(text: &str) {
        let mut ours = Vec::new();
        for_each_word(text, |s, w| ours.push((s, w)));
        let theirs: Vec<(usize, &str)> = text.unicode_word_indices().collect();
        assert_eq!(ours, theirs, "{text:?}");
    }

    #[test]
    fn ascii_rules_match_the_segmenter() {
        for t in [
            "",
            "can't stop: a.b a:b 3.14 1,000;2 a1 1a _a a_ __ _1_ x_.y",
            "e.g. U.S.A. don't 'quoted' a'' a.'b 1., 1.a a.1 1:2",
            "trailing. end: 9, ; ''",
            "  spaces\tand\ttabs\r\nlines\n\n x ",
            "mixed données déjà-vu café's ベクトル検索 a\u{301}b x \u{301}y",
            "\u{600}1 a\u{200d}b 🇫🇷a 1\u{ff0e}2 a\u{2019}b",
        ] {
            agrees(t);
        }
    }

    /// Every character `lone_char` names is a word of its own before and
    /// after ASCII, another of them and the end, and the text around it
    /// segments as within the whole.
    #[test]
    fn lone_characters_are_words_of_their_own() {
        let mut n = 0;
        for u in 0..=0x10FFFFu32 {
            let Some(c) = char::from_u32(u) else { continue };
            let s = c.to_string();
            if !lone_char(&s, 0) {
                continue;
            }
            n += 1;
            for t in [
                format!("a{c}b"),
                format!("{c}{c}"),
                format!("1.{c}.2"),
                format!("a.{c}:b"),
                format!("_{c}_"),
                format!("{c}\u{301}{c}"),
                format!("ア{c}ア{c}\u{200d}"),
            ] {
                agrees(&t);
            }
        }
        assert_eq!(
            n,
            0x96 - 0x41 + 1 + 0x4DBF - 0x3400 + 1 + 0x9FFF - 0x4E00 + 1
        );
    }

    proptest::proptest! {
        #[test]
        fn words_agree_on_cjk_text(
            t in "[a0 .:_\n一丁龥㐀あんアー・。\u{301}\u{200d}\u{3099}\u{FE00}\u{E0100}]{0,40}"
        ) {
            agrees(&t);
        }

        #[test]
        fn words_agree_on_any_text(
            t in "[aZ09 _.,:;'\"\t\r\n-]{0,40}"
        ) {
            agrees(&t);
        }

        #[test]
        fn words_agree_on_mixed_text(
            t in "[aZ0 _.,:'\t\n-éß\u{301}\u{200d}\u{600}ベ検。・ー\u{ff0e}\u{2019}🇫]{0,40}"
        ) {
            agrees(&t);
        }
    }
}
