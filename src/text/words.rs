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
    let mut start = 0;
    let mut i = 1;
    while i <= bytes.len() {
        let split = i == bytes.len()
            || (matches!(bytes[i - 1], b' ' | b'\t' | b'\n')
                && bytes[i] < 0x80
                && bytes[i] != b' ');
        if split {
            let chunk = &text[start..i];
            if chunk.is_ascii() {
                ascii_words(chunk, |s, w| emit(start + s, w));
            } else {
                for (s, w) in chunk.unicode_word_indices() {
                    emit(start + s, w);
                }
            }
            start = i;
        }
        i += 1;
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

    proptest::proptest! {
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
