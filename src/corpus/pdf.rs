//! Text out of PDF files, page by page (pdf-extract, chosen by measuring it
//! against lopdf's own extraction on real manuals: BENCHMARKS.md).
//!
//! A document's text is its pages' text in order, each page's starting on
//! a line of its own after a blank line (so no passage spans two pages),
//! and `pages` holds the byte offset where each page starts: a passage's
//! page is found from its byte offset. Line numbers and byte offsets of a
//! PDF's passages are those of this text.
//!
//! PDF parsers meet hostile input: extraction runs under `catch_unwind`
//! on a thread of its own, bounded in pages, in the size of a page's
//! decompressed content, and in time, so a bad file is skipped with a
//! reason and never takes the run down. A file that still loops past the
//! time bound leaves its thread behind, spinning until the process exits;
//! the run goes on. A panic caught there is a skip reason, not a bug of
//! ours, so the process's panic hook (which reports bugs) is not called
//! for that thread: it is wrapped once, to pass over panics of threads
//! named [`THREAD`].

use std::sync::mpsc;
use std::time::Duration;

use super::walk::SkipReason;

/// Pages read from one file at most.
pub const MAX_PAGES: usize = 20_000;

/// Time one file may take; past it the file is skipped. Real manuals of a
/// thousand pages take about a second (BENCHMARKS.md).
pub const TIME_LIMIT: Duration = Duration::from_secs(60);

/// The name of the threads that read PDFs.
const THREAD: &str = "vecsearch-pdf";

/// A PDF's text and where each page starts in it.
#[derive(Debug)]
pub struct PdfText {
    pub text: String,
    pub pages: Vec<u64>,
}

/// Whether `bytes` start like a PDF (its header may follow some junk, up
/// to 1 KiB in, as readers allow).
pub fn looks_like_pdf(bytes: &[u8]) -> bool {
    bytes[..bytes.len().min(1024)]
        .windows(5)
        .any(|w| w == b"%PDF-")
}

/// The text of the PDF `bytes`, or why there is none.
pub fn extract(bytes: Vec<u8>) -> Result<PdfText, SkipReason> {
    quiet_pdf_panics();
    let (tx, rx) = mpsc::channel();
    let spawned = std::thread::Builder::new()
        .name(THREAD.into())
        .spawn(move || {
            let r = std::panic::catch_unwind(|| pages_of(&bytes));
            let _ = tx.send(r);
        });
    if spawned.is_err() {
        return Err(SkipReason::BadPdf("could not start a thread".into()));
    }
    match rx.recv_timeout(TIME_LIMIT) {
        Ok(Ok(Ok(pages))) => join(pages),
        Ok(Ok(Err(why))) => Err(why),
        Ok(Err(panic)) => {
            let why = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            Err(SkipReason::BadPdf(one_line(&format!(
                "the PDF reader gave up on it ({why})"
            ))))
        }
        Err(_) => Err(SkipReason::BadPdf(format!(
            "no text after {} s",
            TIME_LIMIT.as_secs()
        ))),
    }
}

/// Wraps the panic hook, once, so that it passes over the PDF threads.
fn quiet_pdf_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if std::thread::current().name() != Some(THREAD) {
                hook(info);
            }
        }));
    });
}

/// Each page's text, in order.
fn pages_of(bytes: &[u8]) -> Result<Vec<String>, SkipReason> {
    use pdf_extract::{output_doc_page, Document, PlainTextOutput};
    let bad = |e: &dyn std::fmt::Display| SkipReason::BadPdf(one_line(e));
    let mut doc = Document::load_mem(bytes).map_err(|e| bad(&e))?;
    if doc.is_encrypted() && doc.decrypt("").is_err() {
        return Err(SkipReason::Encrypted);
    }
    let n = doc.get_pages().len();
    if n > MAX_PAGES {
        return Err(SkipReason::BadPdf(format!(
            "{n} pages, over the limit of {MAX_PAGES}"
        )));
    }
    let mut pages = Vec::with_capacity(n);
    for page in 1..=n as u32 {
        let mut s = String::new();
        // A page that fails gives no text; the others are still read.
        if output_doc_page(&doc, &mut PlainTextOutput::new(&mut s), page).is_err() {
            s.clear();
        }
        pages.push(s);
    }
    Ok(pages)
}

fn one_line(e: &dyn std::fmt::Display) -> String {
    let s = e.to_string();
    let s = s.lines().next().unwrap_or("").trim();
    format!("not a readable PDF: {s}")
}

/// The pages as one text, each starting after a blank line, with control
/// characters blanked and trailing white space cut.
fn join(pages: Vec<String>) -> Result<PdfText, SkipReason> {
    let mut text = String::new();
    let mut starts = Vec::with_capacity(pages.len());
    for p in pages {
        starts.push(text.len() as u64);
        let p = p.replace("\r\n", "\n").replace('\r', "\n");
        let mut blank_run = 0;
        for line in p.lines() {
            let line: String = line
                .chars()
                .map(|c| if c.is_control() && c != '\t' { ' ' } else { c })
                .collect();
            let line = line.trim_end();
            if line.trim().is_empty() {
                blank_run += 1;
                if blank_run > 1 {
                    continue;
                }
                if text.is_empty() || text.ends_with("\n\n") {
                    continue;
                }
                text.push('\n');
                continue;
            }
            blank_run = 0;
            text.push_str(line);
            text.push('\n');
        }
        if !text.ends_with("\n\n") && !text.is_empty() {
            text.push('\n');
        }
    }
    if !text.contains(|c: char| c.is_alphanumeric()) {
        return Err(SkipReason::NoPdfText);
    }
    Ok(PdfText {
        text,
        pages: starts,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_start_on_their_own_lines() {
        let t = join(vec!["one\ntwo\n".into(), "".into(), "three\r\nfour".into()]).unwrap();
        assert_eq!(t.text, "one\ntwo\n\nthree\nfour\n\n");
        let at = |i: usize| &t.text[t.pages[i] as usize..];
        assert!(at(0).starts_with("one"));
        assert!(at(2).starts_with("three"));
        assert!(matches!(
            join(vec![" \n".into()]),
            Err(SkipReason::NoPdfText)
        ));
    }

    #[test]
    fn garbage_is_a_reason_not_a_panic() {
        for bytes in [
            b"%PDF-1.4\n".to_vec(),
            b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF".to_vec(),
            vec![0xff; 4096],
        ] {
            assert!(extract(bytes).is_err());
        }
    }
}
