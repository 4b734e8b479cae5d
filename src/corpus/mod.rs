//! From paths on disk to passages: walk files and folders in sorted order,
//! read only what is text, strip front matter, cut Markdown-ish blocks into
//! passages that remember their line and byte ranges.

mod passage;
mod walk;

pub use passage::{cut_passages, RawPassage, WINDOW_TOKENS};
pub use walk::{collect_files, mtime_ns, read_document, Document, SkipReason, WalkOptions};
