//! Cutting a document into passages: headings, paragraphs, list items and
//! table rows each stand alone; a long block is packed sentence by sentence
//! into windows of about `WINDOW_TOKENS` tokens. Every passage keeps its
//! 1-based inclusive line range and its byte range in the file.

use crate::text::{for_each_word, script_of};

/// Target passage length in tokens (a CJK character counts as one).
pub const WINDOW_TOKENS: usize = 120;
/// A passage never exceeds this many bytes, even when it is one huge "word".
const MAX_PASSAGE_BYTES: usize = 4096;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawPassage {
    pub line_start: u32,
    pub line_end: u32,
    pub byte_start: u64,
    pub byte_end: u64,
    pub text: String,
}

/// Passages of `text` in reading order. Text holding
/// `BLOCK_BREAK` (see `html.rs`) is blanked HTML
/// and is cut at those marks and at blank lines instead.
pub fn cut_passages(text: &str) -> Vec<RawPassage> {
    let line_starts: Vec<usize> = std::iter::once(0)
        .chain(text.match_indices('\n').map(|(i, _)| i + 1))
        .filter(|&i| i < text.len())
        .collect();
    let html = text.contains(super::html::BLOCK_BREAK);
    let mut cutter = Cutter {
        text,
        line_starts: &line_starts,
        out: Vec::new(),
        collapse: html,
    };
    if html {
        return cut_blanked_html(cutter);
    }
    let mut block: Option<(usize, usize)> = None; // byte range of the open block
    let mut in_fence = false;
    let first_line = skip_front_matter(text, &line_starts);
    for (li, &start) in line_starts.iter().enumerate().skip(first_line) {
        let end = line_starts.get(li + 1).copied().unwrap_or(text.len());
        let line = text[start..end].trim_end_matches(['\n', '\r']);
        let trimmed = line.trim();
        let line_end = start + line.len();
        let is_fence = trimmed.starts_with("```") || trimmed.starts_with("~~~");
        if is_fence {
            cutter.flush(block.take());
            in_fence = !in_fence;
            continue;
        }
        if trimmed.is_empty() {
            cutter.flush(block.take());
            continue;
        }
        if in_fence {
            block = Some(block.map_or((start, line_end), |(s, _)| (s, line_end)));
            continue;
        }
        if is_rule(trimmed) {
            // Thematic break or setext underline: ends the block, not text.
            cutter.flush(block.take());
            continue;
        }
        if trimmed.starts_with('|') {
            cutter.flush(block.take());
            if !is_table_separator(trimmed) {
                cutter.flush(Some((start, line_end)));
            }
            continue;
        }
        if is_heading(trimmed) {
            cutter.flush(block.take());
            cutter.flush(Some((start, line_end)));
            continue;
        }
        if is_list_item(trimmed) {
            cutter.flush(block.take());
            block = Some((start, line_end));
            continue;
        }
        block = Some(block.map_or((start, line_end), |(s, _)| (s, line_end)));
    }
    cutter.flush(block.take());
    cutter.out
}

/// Blocks of blanked HTML: runs of text between block marks and blank
/// lines. Markdown rules do not apply (a `#` or `|` in HTML is text).
fn cut_blanked_html(mut cutter: Cutter<'_>) -> Vec<RawPassage> {
    let text = cutter.text;
    let mut block: Option<(usize, usize)> = None;
    let mut line_start = 0;
    for (i, c) in text.char_indices() {
        if c == super::html::BLOCK_BREAK {
            cutter.flush(block.take());
            continue;
        }
        if c == '\n' {
            if text[line_start..i].trim().is_empty() {
                cutter.flush(block.take());
            }
            line_start = i + 1;
            continue;
        }
        if !c.is_whitespace() && c != super::html::FILLER {
            let end = i + c.len_utf8();
            block = Some(block.map_or((i, end), |(s, _)| (s, end)));
        }
    }
    cutter.flush(block.take());
    cutter.out
}

/// Index of the first line after a YAML front matter block, or 0.
fn skip_front_matter(text: &str, line_starts: &[usize]) -> usize {
    let line = |i: usize| {
        let s = line_starts[i];
        let e = line_starts.get(i + 1).copied().unwrap_or(text.len());
        text[s..e].trim_end()
    };
    if line_starts.is_empty() || line(0).trim_start_matches('\u{feff}').trim() != "---" {
        return 0;
    }
    (1..line_starts.len())
        .find(|&i| matches!(line(i), "---" | "..."))
        .map_or(0, |i| i + 1)
}

fn is_rule(t: &str) -> bool {
    let mut chars = t.chars().filter(|c| !c.is_whitespace());
    let Some(first) = chars.next() else {
        return false;
    };
    let count = t.chars().filter(|c| !c.is_whitespace()).count();
    matches!(first, '-' | '=' | '*' | '_')
        && chars.all(|c| c == first)
        && (count >= 3 || (first == '=' && count >= 2))
}

fn is_table_separator(t: &str) -> bool {
    t.contains('-') && t.chars().all(|c| matches!(c, '|' | '-' | ':' | ' ' | '\t'))
}

fn is_heading(t: &str) -> bool {
    let hashes = t.bytes().take_while(|&b| b == b'#').count();
    (1..=6).contains(&hashes)
        && t[hashes..]
            .chars()
            .next()
            .is_none_or(|c| c == ' ' || c == '\t')
}

fn is_list_item(t: &str) -> bool {
    if let Some(rest) = t.strip_prefix(['-', '*', '+']) {
        return rest.starts_with([' ', '\t']);
    }
    let digits = t.bytes().take_while(u8::is_ascii_digit).count();
    (1..=9).contains(&digits)
        && t[digits..].starts_with(['.', ')'])
        && t[digits + 1..].starts_with([' ', '\t'])
}

struct Cutter<'a> {
    text: &'a str,
    line_starts: &'a [usize],
    out: Vec<RawPassage>,
    /// Store each passage's text with runs of white space made one space
    /// (blanked HTML, where markup left runs of spaces).
    collapse: bool,
}

impl Cutter<'_> {
    fn line_of(&self, byte: usize) -> u32 {
        (self.line_starts.partition_point(|&s| s <= byte)) as u32
    }

    fn push(&mut self, start: usize, end: usize) {
        let slice = &self.text[start..end];
        let lead = slice.len() - slice.trim_start().len();
        let trail = slice.len() - slice.trim_end().len();
        let (start, end) = (start + lead, end - trail);
        if start >= end || !self.text[start..end].chars().any(char::is_alphanumeric) {
            return;
        }
        self.out.push(RawPassage {
            line_start: self.line_of(start),
            line_end: self.line_of(end - 1),
            byte_start: start as u64,
            byte_end: end as u64,
            text: if self.collapse {
                self.text[start..end]
                    .replace(super::html::FILLER, "")
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ")
            } else {
                self.text[start..end].to_string()
            },
        });
    }

    fn flush(&mut self, block: Option<(usize, usize)>) {
        let Some((start, end)) = block else { return };
        let body = &self.text[start..end];
        // Every token starts at a character of its own, so a block of at
        // most WINDOW_TOKENS characters fits one passage without counting
        // its tokens (word segmentation is most of the cutting's cost, and
        // most blocks are short lines).
        if body.len() <= MAX_PASSAGE_BYTES
            && (body.len() <= WINDOW_TOKENS || body.chars().count() <= WINDOW_TOKENS)
        {
            self.push(start, end);
            return;
        }
        // Token starts, relative to `start`; each CJK character is a token.
        let mut toks: Vec<usize> = Vec::new();
        for_each_word(body, |i, w| {
            if w.chars().next().is_some_and(|c| script_of(c).is_cjk()) {
                toks.extend(w.char_indices().map(|(j, _)| i + j));
            } else {
                toks.push(i);
            }
        });
        if toks.len() <= WINDOW_TOKENS && body.len() <= MAX_PASSAGE_BYTES {
            self.push(start, end);
            return;
        }
        let count = |a: usize, b: usize| {
            toks.partition_point(|&t| t < b) - toks.partition_point(|&t| t < a)
        };
        // Pack whole sentences into windows; split a sentence that is itself
        // too long at token boundaries.
        let mut win_start = 0usize;
        let mut win_end = 0usize;
        for (s, e) in sentences(body) {
            if win_end > win_start
                && (count(win_start, e) > WINDOW_TOKENS || e - win_start > MAX_PASSAGE_BYTES)
            {
                self.push(start + win_start, start + win_end);
                win_start = s;
            }
            win_end = e;
            while count(win_start, win_end) > WINDOW_TOKENS
                || win_end - win_start > MAX_PASSAGE_BYTES
            {
                let first = toks.partition_point(|&t| t < win_start);
                let mut cut = toks
                    .get(first + WINDOW_TOKENS)
                    .copied()
                    .unwrap_or(win_end)
                    .min(win_start + MAX_PASSAGE_BYTES);
                while !body.is_char_boundary(cut) {
                    cut -= 1;
                }
                if cut <= win_start {
                    cut = win_start + body[win_start..].chars().next().map_or(1, char::len_utf8);
                }
                self.push(start + win_start, start + cut);
                win_start = cut;
            }
        }
        if win_end > win_start {
            self.push(start + win_start, start + win_end);
        }
    }
}

/// Sentence byte ranges covering `s`: a sentence ends after 。．！？!? (and
/// closing quotes or brackets right after), or after a '.' followed by
/// white space.
fn sentences(s: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut chars = s.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let next = chars.peek().map(|&(_, n)| n);
        let ends = match c {
            '。' | '．' | '！' | '？' | '!' | '?' | '｡' | '…' => true,
            '.' | ';' | '；' => next.is_none_or(char::is_whitespace),
            _ => false,
        };
        if ends {
            let mut end = i + c.len_utf8();
            while let Some(&(j, n)) = chars.peek() {
                if matches!(n, '」' | '』' | '）' | ')' | '"' | '\'' | '”' | '’' | '»') {
                    end = j + n.len_utf8();
                    chars.next();
                } else {
                    break;
                }
            }
            out.push((start, end));
            start = end;
        }
    }
    if start < s.len() {
        out.push((start, s.len()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_with_line_ranges() {
        let doc = "---\ntitle: x\n---\n# Title\n\nFirst para\ncontinues here.\n\n- item one\n- item two\n  more\n\n| a | b |\n|---|:-:|\n| 1 | 2 |\n";
        let p = cut_passages(doc);
        let got: Vec<_> = p
            .iter()
            .map(|p| (p.line_start, p.line_end, p.text.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                (4, 4, "# Title"),
                (6, 7, "First para\ncontinues here."),
                (9, 9, "- item one"),
                (10, 11, "- item two\n  more"),
                (13, 13, "| a | b |"),
                (15, 15, "| 1 | 2 |"),
            ]
        );
        for q in &p {
            assert_eq!(&doc[q.byte_start as usize..q.byte_end as usize], q.text);
        }
    }

    #[test]
    fn long_paragraph_splits_at_sentence_ends() {
        let sentence = "This sentence has exactly eight words in it. ";
        let doc = sentence.repeat(40);
        let p = cut_passages(&doc);
        assert!(p.len() >= 3, "{} passages", p.len());
        for q in &p {
            assert!(q.text.ends_with('.'), "{:?}", q.text);
            assert!(q.text.split_whitespace().count() <= WINDOW_TOKENS);
        }
    }

    #[test]
    fn cjk_counts_characters_and_splits_at_kuten() {
        let doc = "ベクトル検索は速い。".repeat(40);
        let p = cut_passages(&doc);
        assert!(p.len() >= 2);
        assert!(p.iter().all(|q| q.text.ends_with('。')));
    }

    #[test]
    fn one_huge_word_is_capped() {
        let doc = "x".repeat(20_000);
        let p = cut_passages(&doc);
        assert_eq!(p.len(), 5);
        assert!(p.iter().all(|q| q.text.len() <= MAX_PASSAGE_BYTES));
    }

    #[test]
    fn html_blocks_keep_the_file_lines() {
        let html = "<html><body>\n<h1>Vector  <i>search</i></h1>\n<p>First\nparagraph.</p><p>Second</p>\n<table><tr><td>a</td><td>b</td></tr></table>\n</body></html>\n";
        let text = super::super::html::blank_markup(html);
        let got: Vec<_> = cut_passages(&text)
            .into_iter()
            .map(|p| (p.line_start, p.line_end, p.text))
            .collect();
        let want = [
            (2, 2, "Vector search"),
            (3, 4, "First paragraph."),
            (4, 4, "Second"),
            (5, 5, "a b"),
        ];
        let want: Vec<_> = want
            .iter()
            .map(|(a, b, t)| (*a, *b, t.to_string()))
            .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn unclosed_front_matter_is_text() {
        let p = cut_passages("---\nnot front matter\n");
        assert_eq!(p[0].text, "not front matter");
    }
}
