//! HTML read as text. The markup is blanked out in place rather than
//! removed: tags, comments, scripts and styles become spaces (their line
//! breaks kept) and an entity becomes its character padded with spaces, so
//! every byte offset and line number of the result is the file's own, and
//! a hit's `doc:line` points into the HTML file. A block-level tag (`<p>`,
//! `<h1>`, `<li>`, `<tr>`, `<br>`, ...) leaves [`BLOCK_BREAK`] at its first
//! byte, which the passage cutter takes as the end of a block.

/// Marks the place of a block-level tag in blanked HTML (ASCII record
/// separator, which no text file of words holds).
pub const BLOCK_BREAK: char = '\u{1e}';

/// Fills the room an entity or an inline tag leaves, which the cutter
/// drops from a passage's text (ASCII unit separator): `donn&eacute;es`
/// and `data<b>base</b>` stay one word, where a space would cut them.
pub const FILLER: char = '\u{1f}';

/// Inline (phrasing) elements: their tags do not separate words.
const INLINE: &[&str] = &[
    "a", "abbr", "b", "bdi", "bdo", "cite", "code", "data", "dfn", "em", "font", "i", "kbd",
    "mark", "q", "ruby", "rt", "rp", "s", "samp", "small", "span", "strong", "sub", "sup", "time",
    "tt", "u", "var", "wbr",
];

/// Elements whose content is not text.
const HIDDEN: &[&str] = &[
    "script", "style", "noscript", "template", "svg", "math", "iframe", "object",
];

/// Elements that start or end a block (a passage boundary).
const BLOCKS: &[&str] = &[
    "address",
    "article",
    "aside",
    "blockquote",
    "body",
    "br",
    "caption",
    "dd",
    "details",
    "div",
    "dl",
    "dt",
    "figcaption",
    "figure",
    "footer",
    "form",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "head",
    "header",
    "hr",
    "html",
    "li",
    "main",
    "nav",
    "ol",
    "p",
    "pre",
    "section",
    "summary",
    "table",
    "tbody",
    "tfoot",
    "thead",
    "title",
    "tr",
    "ul",
];

/// `html` with its markup blanked out; same length, same line breaks.
pub fn blank_markup(html: &str) -> String {
    let src = html.as_bytes();
    let mut out = src.to_vec();
    let mut i = 0;
    while i < src.len() {
        i = match src[i] {
            b'<' => markup(src, &mut out, i),
            b'&' => character_reference(src, &mut out, i),
            _ => i + 1,
        };
    }
    // Only whole characters were replaced, by ASCII or by a whole character
    // no longer than what it replaced: still UTF-8.
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// Blanks `out[from..to]` to spaces, line breaks kept.
fn blank(out: &mut [u8], from: usize, to: usize) {
    for b in &mut out[from..to] {
        if *b != b'\n' && *b != b'\r' {
            *b = b' ';
        }
    }
}

/// Blanks the markup that starts with the `<` at `i` (a comment, a CDATA
/// section's brackets, a tag and, for hidden elements, their content) and
/// returns where the text resumes. A `<` that starts no tag is text.
fn markup(src: &[u8], out: &mut [u8], i: usize) -> usize {
    let rest = &src[i..];
    if rest.starts_with(b"<!--") {
        let end = find(src, i + 4, b"-->").map_or(src.len(), |e| e + 3);
        blank(out, i, end);
        return end;
    }
    if rest.starts_with(b"<![CDATA[") {
        let end = find(src, i + 9, b"]]>").unwrap_or(src.len());
        blank(out, i, i + 9);
        if end < src.len() {
            blank(out, end, end + 3);
        }
        return (end + 3).min(src.len());
    }
    let name_start = i + 1 + usize::from(rest.get(1) == Some(&b'/'));
    let name_len = src[name_start..]
        .iter()
        .take_while(|b| b.is_ascii_alphanumeric() || **b == b'-' || **b == b':')
        .count();
    let is_tag = name_len > 0 && src[name_start].is_ascii_alphabetic()
        || matches!(rest.get(1), Some(b'!' | b'?'));
    if !is_tag {
        // A lone `<` in text ("a < b").
        return i + 1;
    }
    let end = tag_end(src, i + 1);
    let name = std::str::from_utf8(&src[name_start..name_start + name_len])
        .unwrap_or("")
        .to_ascii_lowercase();
    blank(out, i, end);
    let closing = rest.get(1) == Some(&b'/');
    if BLOCKS.contains(&name.as_str()) {
        out[i] = BLOCK_BREAK as u8;
    } else if INLINE.contains(&name.as_str()) {
        fill(&mut out[i..end]);
    }
    if !closing && HIDDEN.contains(&name.as_str()) {
        // Everything up to the matching close tag goes.
        let close = format!("</{name}");
        let stop = find_ci(src, end, close.as_bytes()).unwrap_or(src.len());
        let stop_end = if stop < src.len() {
            tag_end(src, stop + 1)
        } else {
            stop
        };
        blank(out, end, stop_end);
        return stop_end;
    }
    end
}

/// Decodes the character reference at the `&` at `i` in place (the
/// character, then filler to the reference's length) and returns where the
/// text resumes; an `&` that starts none is text.
fn character_reference(src: &[u8], out: &mut [u8], i: usize) -> usize {
    let Some((len, c)) = entity(&src[i..]) else {
        return i + 1;
    };
    let mut buf = [0u8; 4];
    let enc = c.encode_utf8(&mut buf).as_bytes();
    debug_assert!(enc.len() <= len);
    out[i..i + enc.len()].copy_from_slice(enc);
    fill(&mut out[i + enc.len()..i + len]);
    i + len
}

/// Makes blanked bytes filler, line breaks kept.
fn fill(bytes: &mut [u8]) {
    for b in bytes {
        if *b != b'\n' && *b != b'\r' {
            *b = FILLER as u8;
        }
    }
}

/// The end (exclusive) of the tag whose name starts at `from`: after the
/// first `>` outside quotes.
fn tag_end(src: &[u8], from: usize) -> usize {
    let mut quote = None;
    for (j, &b) in src.iter().enumerate().skip(from) {
        match (quote, b) {
            (None, b'"' | b'\'') => quote = Some(b),
            (Some(q), _) if b == q => quote = None,
            (None, b'>') => return j + 1,
            _ => {}
        }
    }
    src.len()
}

fn find(src: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    src.get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

fn find_ci(src: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    src.get(from..)?
        .windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle))
        .map(|p| p + from)
}

/// The entity at the start of `s` (`&amp;`, `&#233;`, `&#xE9;`): its length
/// in bytes and its character. The character's UTF-8 is never longer than
/// the entity.
fn entity(s: &[u8]) -> Option<(usize, char)> {
    let semi = s.iter().take(12).position(|&b| b == b';')?;
    let body = std::str::from_utf8(&s[1..semi]).ok()?;
    let c = if let Some(num) = body.strip_prefix('#') {
        let code = match num.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => num.parse().ok()?,
        };
        match char::from_u32(code)? {
            '\0' => return None,
            c => c,
        }
    } else {
        named(body)?
    };
    (c.len_utf8() <= semi + 1).then_some((semi + 1, c))
}

fn named(name: &str) -> Option<char> {
    Some(match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        // A no-break space is a space to the reader and to the analyzer.
        "nbsp" | "ensp" | "emsp" | "thinsp" => ' ',
        "copy" => '©',
        "reg" => '®',
        "trade" => '™',
        "hellip" => '…',
        "mdash" => '—',
        "ndash" => '–',
        "lsquo" => '‘',
        "rsquo" => '’',
        "ldquo" => '“',
        "rdquo" => '”',
        "laquo" => '«',
        "raquo" => '»',
        "middot" => '·',
        "bull" => '•',
        "deg" => '°',
        "euro" => '€',
        "pound" => '£',
        "yen" => '¥',
        "sect" => '§',
        "para" => '¶',
        "times" => '×',
        "divide" => '÷',
        "shy" => '\u{ad}',
        "agrave" => 'à',
        "aacute" => 'á',
        "acirc" => 'â',
        "auml" => 'ä',
        "ccedil" => 'ç',
        "egrave" => 'è',
        "eacute" => 'é',
        "ecirc" => 'ê',
        "euml" => 'ë',
        "icirc" => 'î',
        "iuml" => 'ï',
        "ocirc" => 'ô',
        "ouml" => 'ö',
        "ugrave" => 'ù',
        "ucirc" => 'û',
        "uuml" => 'ü',
        "szlig" => 'ß',
        "ntilde" => 'ñ',
        "Eacute" => 'É',
        "Egrave" => 'È',
        "Agrave" => 'À',
        "Ccedil" => 'Ç',
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blanks_markup_in_place() {
        let html = "<html><head><title>T&amp;C</title>\n<style>p{color:red}</style>\n<script>\nvar x = '<p>';\n</script></head>\n<body><p>Caf&eacute; <b>cr&egrave;me</b> &#x263A; &lt;3</p>\n<!-- hidden\ncomment --><li>one</li></body></html>\n";
        let out = blank_markup(html);
        assert_eq!(out.len(), html.len());
        let lines = |s: &str| s.match_indices('\n').map(|(i, _)| i).collect::<Vec<_>>();
        assert_eq!(lines(&out), lines(html));
        let out = out.replace(FILLER, "");
        let words: Vec<&str> = out
            .split(|c: char| c.is_whitespace() || c == BLOCK_BREAK)
            .filter(|w| !w.is_empty())
            .collect();
        assert_eq!(words, ["T&C", "Café", "crème", "☺", "<3", "one"], "{out:?}");
        assert!(out.contains(BLOCK_BREAK));
    }

    #[test]
    fn entities_and_inline_tags_do_not_cut_words() {
        let out = blank_markup("<p>donn&eacute;es data<b>base</b></p>").replace(FILLER, "");
        assert_eq!(
            out.trim_matches([BLOCK_BREAK, ' ']).trim(),
            "données database"
        );
    }

    #[test]
    fn lone_angle_brackets_and_bad_entities_stay() {
        let out = blank_markup("a < b && c &bogus; d &#0; e");
        assert_eq!(out, "a < b && c &bogus; d &#0; e");
    }
}
