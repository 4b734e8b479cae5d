//! Finding and reading documents. Directory entries are visited in byte
//! order of their names so an index built twice is built identically.

use std::fs;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

const DEFAULT_EXTENSIONS: &[&str] = &["txt", "md", "markdown"];

#[derive(Debug, Clone)]
pub struct WalkOptions {
    /// Extra file-name globs to read besides .txt/.md/.markdown.
    pub include: Vec<glob::Pattern>,
    /// Files larger than this are skipped with a warning.
    pub max_file_bytes: u64,
}

impl Default for WalkOptions {
    fn default() -> Self {
        WalkOptions {
            include: Vec::new(),
            max_file_bytes: 256 << 20,
        }
    }
}

/// A readable UTF-8 document; `path` is spelt as the user named it.
#[derive(Debug, Clone)]
pub struct Document {
    pub path: String,
    pub text: String,
    /// Modification time in ns since the epoch, 0 when unknown.
    pub mtime_ns: u64,
}

/// Why a file was passed over; each becomes a warning naming the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SkipReason {
    Binary,
    NotUtf8 { offset: usize },
    TooLarge { bytes: u64, limit: u64 },
    Empty,
    Unreadable(String),
}

impl std::fmt::Display for SkipReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SkipReason::Binary => write!(f, "binary file"),
            SkipReason::NotUtf8 { offset } => {
                write!(f, "not valid UTF-8 (first bad byte at offset {offset})")
            }
            SkipReason::TooLarge { bytes, limit } => write!(
                f,
                "{bytes} bytes is over the limit of {limit} (raise --max-file-bytes)"
            ),
            SkipReason::Empty => write!(f, "empty file"),
            SkipReason::Unreadable(e) => write!(f, "unreadable: {e}"),
        }
    }
}

/// Expands `paths` into the files to read, in a stable order. A path that
/// does not exist is an error; a file named explicitly is read whatever its
/// extension.
pub fn collect_files(paths: &[PathBuf], opts: &WalkOptions) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in paths {
        let meta = fs::metadata(p).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Error::NotFound { path: p.clone() },
            _ => Error::io(p, e),
        })?;
        if meta.is_dir() {
            walk_dir(p, opts, &mut out)?;
        } else {
            out.push(p.clone());
        }
    }
    Ok(out)
}

fn walk_dir(dir: &Path, opts: &WalkOptions, out: &mut Vec<PathBuf>) -> Result<()> {
    let mut entries: Vec<_> = fs::read_dir(dir)
        .map_err(|e| Error::io(dir, e))?
        .filter_map(|e| e.ok())
        .collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        // Hidden files and folders (.git, editor swap files) are never content.
        if name.starts_with('.') {
            continue;
        }
        let path = entry.path();
        // file_type() does not follow symlinks, so a link loop cannot trap
        // the walk; linked files are still read.
        let Ok(ft) = entry.file_type() else { continue };
        if ft.is_dir() {
            walk_dir(&path, opts, out)?;
        } else if (ft.is_file() || (ft.is_symlink() && path.is_file())) && wanted(&path, opts) {
            out.push(path);
        }
    }
    Ok(())
}

fn wanted(path: &Path, opts: &WalkOptions) -> bool {
    let ext_ok = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| DEFAULT_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()));
    ext_ok
        || opts.include.iter().any(|g| {
            path.file_name()
                .is_some_and(|n| g.matches(&n.to_string_lossy()))
                || g.matches_path(path)
        })
}

/// Reads one file as text, or says why it is skipped.
pub fn read_document(path: &Path, opts: &WalkOptions) -> std::result::Result<Document, SkipReason> {
    let meta = fs::metadata(path).map_err(|e| SkipReason::Unreadable(e.to_string()))?;
    if meta.len() > opts.max_file_bytes {
        return Err(SkipReason::TooLarge {
            bytes: meta.len(),
            limit: opts.max_file_bytes,
        });
    }
    let bytes = fs::read(path).map_err(|e| SkipReason::Unreadable(e.to_string()))?;
    let text = decode_text(bytes)?;
    Ok(Document {
        path: path.to_string_lossy().into_owned(),
        text,
        mtime_ns: mtime_ns(&meta),
    })
}

/// A file's modification time in ns since the epoch, 0 when unknown.
pub fn mtime_ns(meta: &fs::Metadata) -> u64 {
    meta.modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos() as u64)
}

/// Text checks shared by files on disk and built-in documents.
pub(crate) fn decode_text(bytes: Vec<u8>) -> std::result::Result<String, SkipReason> {
    // Same rule as git and ripgrep: a NUL byte near the start means binary.
    if bytes[..bytes.len().min(8192)].contains(&0) {
        return Err(SkipReason::Binary);
    }
    let mut text = String::from_utf8(bytes).map_err(|e| SkipReason::NotUtf8 {
        offset: e.utf8_error().valid_up_to(),
    })?;
    if text.starts_with('\u{feff}') {
        // Keep byte offsets true to the file: blank the BOM out instead of
        // shifting everything by three bytes. It analyzes to nothing.
        text.replace_range(0..3, "   ");
    }
    if text.trim().is_empty() {
        return Err(SkipReason::Empty);
    }
    Ok(text)
}
