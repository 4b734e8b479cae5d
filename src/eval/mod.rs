//! Evaluation harnesses over the public API: how well `similar` finds a
//! passage's translations ([`crosslang`]) and how well `search` answers a
//! query set ([`search`]), from JSON-lines files the user writes.

mod crosslang;
mod search;

pub use crosslang::{crosslang, read_aligned, AlignedRow, CrosslangReport, PairScore};
pub use search::{read_queries, search, QueryRow, SearchEvalReport, SearchScore};

use std::path::Path;

use crate::error::{Error, Result};

/// Reads JSON lines of `T`, skipping blank lines; a bad line is an error
/// naming the file, the line, what it should be and the fields it needs.
fn read_json_lines<T: serde::de::DeserializeOwned>(
    path: &Path,
    what: &'static str,
    need: &'static str,
) -> Result<Vec<T>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l).map_err(|e| Error::BadLine {
                path: path.to_path_buf(),
                line: i + 1,
                what,
                need,
                detail: e.to_string(),
            })
        })
        .collect()
}
