//! Query files: one query per line, blank lines skipped. Every reader of
//! such a file (search, bench, export) takes it through here, so they all
//! agree on what a line is.

use std::path::Path;

use crate::error::{Error, Result};

/// One query of a query file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryLine {
    /// Its 1-based line number.
    pub line: usize,
    /// The query.
    pub text: String,
}

/// The non-blank lines of `path`, with their line numbers.
pub fn read_query_lines(path: &Path) -> Result<Vec<QueryLine>> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let text = String::from_utf8(bytes).map_err(|_| Error::BadInput {
        path: path.to_path_buf(),
        detail: "not valid UTF-8".into(),
    })?;
    Ok(text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| QueryLine {
            line: i + 1,
            text: l.to_string(),
        })
        .collect())
}
