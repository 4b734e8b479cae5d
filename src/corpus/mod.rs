//! From paths on disk to passages: walk files and folders in sorted order,
//! read only what is text, strip front matter, cut Markdown-ish blocks into
//! passages that remember their line and byte ranges.

mod html;
mod passage;
mod pdf;
mod walk;

pub use html::blank_markup;

pub use passage::{cut_passages, RawPassage, WINDOW_TOKENS};
pub use walk::{
    check_globs, collect_files, is_html, is_pdf, key_path, mtime_ns, path_key, read_document,
    type_extensions, Document, SkipReason, WalkLog, WalkOptions, WalkStats,
};
