//! The library's one error type. Every variant names the file it concerns
//! and what was wrong, in words a user can act on; the CLI prints it on one
//! line.

use std::path::PathBuf;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: no such file or directory", path.display())]
    NotFound { path: PathBuf },
    #[error("no indexable files in {paths} (vecsearch reads .txt, .md and .markdown; add --include GLOB for others)")]
    NoFiles { paths: String },
    #[error("nothing to index: {reason}")]
    NoPassages { reason: String },
    #[error("{}: not a vecsearch index ({detail})", path.display())]
    NotAnIndex { path: PathBuf, detail: String },
    #[error("{}: index is truncated ({detail}); rebuild it with `vecsearch index`", path.display())]
    Truncated { path: PathBuf, detail: String },
    #[error("{}: index format version {found} is newer than this build reads (up to {supported}); upgrade vecsearch", path.display())]
    NewerVersion {
        path: PathBuf,
        found: u32,
        supported: u32,
    },
    #[error("{}: index format version {found} is no longer read by this build (it reads {supported}); rebuild it with `vecsearch index <PATH>... --index {}`", path.display(), path.display())]
    OlderVersion {
        path: PathBuf,
        found: u32,
        supported: u32,
    },
    #[error("{}: checksum mismatch in the {section}: the file is corrupt; rebuild it with `vecsearch index`", path.display())]
    Checksum { path: PathBuf, section: String },
    #[error("{}: index is corrupt: {detail}", path.display())]
    Corrupt { path: PathBuf, detail: String },
    #[error("{}: another vecsearch process{} is writing this index (lock file {}); wait for it or pass --wait", path.display(), holder.map(|p| format!(" (pid {p})")).unwrap_or_default(), lock.display())]
    Locked {
        path: PathBuf,
        lock: PathBuf,
        holder: Option<u32>,
    },
    #[error("{}: the index file is also one of the files to index ({}); refusing to replace it, choose another index file", path.display(), input.display())]
    OutputIsInput { path: PathBuf, input: PathBuf },
    #[error("{}: {why}; refusing to replace it with an index (remove it first if it should go, or choose another index file)", path.display())]
    NotReplaceable { path: PathBuf, why: String },
    #[error("empty query")]
    EmptyQuery,
    #[error("query {query:?} has no searchable words")]
    NoQueryTerms { query: String },
    #[error("{0}")]
    InvalidArgument(String),
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}
