//! Printers: human text (with highlighted query terms on a terminal) and
//! JSON lines for scripts.

use std::io::{self, Write};

use anyhow::Result;
use serde::Serialize;
use vecsearch::{Hit, Index, IndexInfo};

const MAX_TEXT_CHARS: usize = 400;

/// The hit fields `search --json` prints, in its order (a contract; the
/// server answers with the same).
#[derive(Serialize)]
pub struct JsonHit<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    query_id: Option<usize>,
    rank: usize,
    score: f32,
    doc: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    page: Option<u32>,
    line_start: u32,
    line_end: u32,
    lang: &'a str,
    text: &'a str,
    byte_start: u64,
    byte_end: u64,
    passage: u32,
}

impl<'a> JsonHit<'a> {
    pub fn of(h: &'a Hit, query_id: Option<usize>) -> Self {
        JsonHit {
            query_id,
            rank: h.rank,
            score: h.score,
            doc: &h.doc,
            page: h.page,
            line_start: h.line_start,
            line_end: h.line_end,
            lang: &h.lang,
            text: &h.text,
            byte_start: h.byte_start,
            byte_end: h.byte_end,
            passage: h.passage,
        }
    }
}

pub fn hits(
    out: &mut dyn Write,
    index: &Index,
    query: &str,
    query_id: Option<usize>,
    hits: &[Hit],
    json: bool,
    color: bool,
) -> Result<()> {
    hits_with_context(out, index, query, query_id, hits, json, color, None)
}

#[allow(clippy::too_many_arguments)]
fn hits_with_context(
    out: &mut dyn Write,
    index: &Index,
    query: &str,
    query_id: Option<usize>,
    hits: &[Hit],
    json: bool,
    color: bool,
    context: Option<usize>,
) -> Result<()> {
    if json {
        for h in hits {
            let j = JsonHit::of(h, query_id);
            serde_json::to_writer(&mut *out, &j).map_err(io::Error::from)?;
            out.write_all(b"\n")?;
        }
        return Ok(());
    }
    if let Some(id) = query_id {
        writeln!(out, "# query {id}: {}", escape_controls(query))?;
    }
    let mut lines_of = FileLines::default();
    for h in hits {
        let loc = location(h, hits);
        if color {
            writeln!(
                out,
                "{:.4}  \x1b[35m{loc}\x1b[0m  \x1b[2m[{}]\x1b[0m",
                h.score, h.lang
            )?;
        } else {
            writeln!(out, "{:.4}  {loc}  [{}]", h.score, h.lang)?;
        }
        // A paged document's lines are those of its extracted text, not
        // of the file: its passage is shown instead.
        if let Some(n) = context.filter(|_| h.page.is_none()) {
            if let Some(lines) = lines_of.get(&h.doc) {
                context_lines(out, index, query, h, lines, n, color)?;
                continue;
            }
        }
        let marks = if color {
            index.highlight(query, &h.text)
        } else {
            Vec::new()
        };
        writeln!(out, "        {}", render(&h.text, &marks))?;
    }
    Ok(())
}

/// `doc:line` or `doc:start-end` of a hit; passages sharing their lines
/// (table cells, windows of one long line) are told apart by their bytes.
fn location(h: &Hit, hits: &[Hit]) -> String {
    let doc = escape_controls(&h.doc);
    let mut loc = if h.line_start == h.line_end {
        format!("{doc}:{}", h.line_start)
    } else {
        format!("{doc}:{}-{}", h.line_start, h.line_end)
    };
    if hits.iter().any(|o| {
        o.passage != h.passage
            && o.doc == h.doc
            && o.line_start == h.line_start
            && o.line_end == h.line_end
    }) {
        loc.push_str(&format!(" (bytes {}-{})", h.byte_start, h.byte_end));
    }
    if let Some(page) = h.page {
        loc.push_str(&format!(" (page {page})"));
    }
    loc
}

/// The hit's lines of its file with `n` lines either side, as grep's
/// `-C` prints them (`:` inside the passage, `-` around it).
fn context_lines(
    out: &mut dyn Write,
    index: &Index,
    query: &str,
    h: &Hit,
    lines: &[String],
    n: usize,
    color: bool,
) -> Result<()> {
    let from = (h.line_start as usize).saturating_sub(n).max(1);
    let to = (h.line_end as usize + n).min(lines.len());
    for (i, line) in lines.iter().enumerate().take(to).skip(from - 1) {
        let no = i + 1;
        let inside = no >= h.line_start as usize && no <= h.line_end as usize;
        let marks = if color && inside {
            index.highlight(query, line)
        } else {
            Vec::new()
        };
        let sep = if inside { ':' } else { '-' };
        writeln!(out, "  {no:>6}{sep} {}", render(line, &marks))?;
    }
    Ok(())
}

/// How `search` prints an answer.
pub struct Mode {
    pub json: bool,
    pub color: bool,
    /// Only the number of hits.
    pub count: bool,
    /// Only the documents with hits.
    pub files: bool,
    /// Lines of the file around each hit (text output).
    pub context: Option<usize>,
}

#[derive(Serialize)]
struct JsonCount {
    #[serde(skip_serializing_if = "Option::is_none")]
    query_id: Option<usize>,
    count: usize,
}

#[derive(Serialize)]
struct JsonDoc<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    query_id: Option<usize>,
    doc: &'a str,
}

/// One query's answer in the chosen mode.
pub fn answer(
    out: &mut dyn Write,
    index: &Index,
    query: &str,
    query_id: Option<usize>,
    found: &[Hit],
    mode: &Mode,
) -> Result<()> {
    if mode.count {
        if mode.json {
            let j = JsonCount {
                query_id,
                count: found.len(),
            };
            serde_json::to_writer(&mut *out, &j).map_err(io::Error::from)?;
            out.write_all(b"\n")?;
        } else if let Some(id) = query_id {
            writeln!(out, "{id}\t{}", found.len())?;
        } else {
            writeln!(out, "{}", found.len())?;
        }
        return Ok(());
    }
    if mode.files {
        if query_id.is_some() && !mode.json {
            writeln!(
                out,
                "# query {}: {}",
                query_id.unwrap_or(0),
                escape_controls(query)
            )?;
        }
        let mut seen = std::collections::HashSet::new();
        for h in found.iter().filter(|h| seen.insert(h.doc.as_str())) {
            if mode.json {
                let j = JsonDoc {
                    query_id,
                    doc: &h.doc,
                };
                serde_json::to_writer(&mut *out, &j).map_err(io::Error::from)?;
                out.write_all(b"\n")?;
            } else {
                writeln!(out, "{}", escape_controls(&h.doc))?;
            }
        }
        return Ok(());
    }
    hits_with_context(
        out,
        index,
        query,
        query_id,
        found,
        mode.json,
        mode.color,
        mode.context,
    )
}

/// The lines of the files hits point into, read once each; `None` for a
/// file that cannot be read as text now.
#[derive(Default)]
struct FileLines {
    files: std::collections::HashMap<String, Option<Vec<String>>>,
}

impl FileLines {
    fn get(&mut self, path: &str) -> Option<&Vec<String>> {
        self.files
            .entry(path.to_string())
            .or_insert_with(|| {
                let bytes = std::fs::read(path).ok()?;
                let text = String::from_utf8_lossy(&bytes);
                Some(text.lines().map(str::to_string).collect())
            })
            .as_ref()
    }
}

/// C0 and C1 controls and DEL: a document or query holding ESC, OSC or
/// a bare carriage return must not drive the user's terminal.
fn is_control(c: char) -> bool {
    c.is_control()
}

fn escaped(c: char) -> String {
    format!("\\x{:02x}", c as u32)
}

/// `s` with every control character written as `\xNN`, so a file name
/// with a newline cannot split a `doc:line` record. JSON output escapes
/// them itself and is left alone.
pub fn escape_controls(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.chars().any(is_control) {
        return std::borrow::Cow::Borrowed(s);
    }
    std::borrow::Cow::Owned(
        s.chars()
            .map(|c| {
                if is_control(c) {
                    escaped(c)
                } else {
                    c.to_string()
                }
            })
            .collect(),
    )
}

/// One line of passage text, shortened, with `marks` in bold red.
fn render(text: &str, marks: &[(usize, usize)]) -> String {
    let mut s = String::new();
    let mut mark = marks.iter().peekable();
    let mut open = false;
    for (chars, (i, c)) in text.char_indices().enumerate() {
        if chars == MAX_TEXT_CHARS {
            s.push('…');
            break;
        }
        if open && mark.peek().is_some_and(|m| i >= m.1) {
            s.push_str("\x1b[0m");
            open = false;
            mark.next();
        }
        if !open && mark.peek().is_some_and(|m| i >= m.0 && i < m.1) {
            s.push_str("\x1b[1;31m");
            open = true;
        }
        match c {
            '\n' | '\r' | '\t' => s.push(' '),
            c if is_control(c) => s.push_str(&escaped(c)),
            c => s.push(c),
        }
    }
    if open {
        s.push_str("\x1b[0m");
    }
    s
}

pub fn info(out: &mut dyn Write, info: &IndexInfo, json: bool) -> Result<()> {
    if json {
        serde_json::to_writer(&mut *out, info).map_err(io::Error::from)?;
        out.write_all(b"\n")?;
        return Ok(());
    }
    writeln!(out, "passages        {}", info.passages)?;
    if info.deleted_passages > 0 {
        writeln!(
            out,
            "deleted         {} (run `vecsearch compact`)",
            info.deleted_passages
        )?;
    }
    writeln!(out, "documents       {}", info.documents)?;
    let langs: Vec<String> = info
        .languages
        .iter()
        .map(|(l, n)| format!("{l} {n}"))
        .collect();
    writeln!(out, "languages       {}", langs.join(", "))?;
    writeln!(out, "dim             {}", info.dim)?;
    writeln!(out, "kind            {}", info.kind)?;
    writeln!(out, "codes           {}", info.codes)?;
    match info.bytes {
        Some(b) => writeln!(out, "bytes           {b} ({})", human_bytes(b))?,
        None => writeln!(out, "bytes           (in memory, not saved)")?,
    }
    writeln!(out, "format version  {}", info.format_version)?;
    writeln!(out, "terms           {}", info.terms)?;
    writeln!(out, "kernel          {}", info.kernel)?;
    if !info.sections.is_empty() {
        writeln!(out, "sections")?;
        let total = info.bytes.unwrap_or(0).max(1) as f64;
        for sec in &info.sections {
            writeln!(
                out,
                "  {:<48} {:>10} {:>5.1}%",
                sec.name,
                human_bytes(sec.bytes),
                100.0 * sec.bytes as f64 / total
            )?;
        }
    }
    Ok(())
}

/// A count with thousands separators: 15,558.
pub fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

pub fn human_bytes(b: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = b as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{b} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// Flushes stdout; a reader that went away (`| head`) is not an error.
pub fn finish(mut out: impl Write) -> Result<()> {
    match out.flush() {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        r => Ok(r?),
    }
}
