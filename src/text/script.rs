//! Coarse Unicode script classes: enough to cut CJK runs into n-grams and to
//! tag a passage's language from its letters.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Script {
    Han,
    Hiragana,
    Katakana,
    Hangul,
    Latin,
    Cyrillic,
    Other,
}

impl Script {
    /// Scripts written without spaces between words, which the analyzer
    /// indexes as character unigrams and bigrams.
    pub fn is_cjk(self) -> bool {
        matches!(
            self,
            Script::Han | Script::Hiragana | Script::Katakana | Script::Hangul
        )
    }
}

#[inline]
pub fn script_of(c: char) -> Script {
    let u = c as u32;
    // Most characters of most passages are ASCII: decided without the
    // Unicode tables `is_alphabetic` consults.
    if u < 0x80 {
        return if c.is_ascii_alphabetic() {
            Script::Latin
        } else {
            Script::Other
        };
    }
    match u {
        0x3040..=0x309F => Script::Hiragana,
        // The prolonged sound mark U+30FC and the middle dot live here too.
        0x30A0..=0x30FF | 0x31F0..=0x31FF | 0xFF66..=0xFF9F => Script::Katakana,
        0x3400..=0x4DBF
        | 0x4E00..=0x9FFF
        | 0xF900..=0xFAFF
        | 0x20000..=0x2A6DF
        | 0x2A700..=0x2EBEF
        | 0x30000..=0x3134F
        | 0x3005
        | 0x3007 => Script::Han,
        0x1100..=0x11FF | 0x3130..=0x318F | 0xAC00..=0xD7AF => Script::Hangul,
        0x0400..=0x04FF => Script::Cyrillic,
        // Latin-1 and Latin Extended-A/B letters, without the tables.
        0xD7 | 0xF7 => Script::Other,
        0xC0..=0x24F => Script::Latin,
        _ if c.is_alphabetic()
            && (u < 0x0250 || (0x1E00..=0x1EFF).contains(&u) || (0xFF21..=0xFF5A).contains(&u)) =>
        {
            Script::Latin
        }
        _ => Script::Other,
    }
}
