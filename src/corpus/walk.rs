//! Finding and reading documents. Directory entries are visited in byte
//! order of their names so an index built twice is built identically.
//! Only regular files are read, and never more than the size cap, whatever
//! `stat` says: a device, FIFO or socket named directly is skipped before
//! it is opened (it could block, or never end), and a file that reads
//! longer than it claimed is cut off at the cap.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

const DEFAULT_EXTENSIONS: &[&str] = &["txt", "md", "markdown"];

#[derive(Debug, Clone)]
pub struct WalkOptions {
    /// Extra file-name globs to read besides .txt/.md/.markdown.
    pub include: Vec<glob::Pattern>,
    /// Files larger than this are skipped with a warning.
    pub max_file_bytes: u64,
    /// The index file being written, if any: a walk that reaches it (named,
    /// inside a folder, through a symlink or another spelling) fails, since
    /// indexing a file and then replacing it with the index destroys it.
    pub output: Option<PathBuf>,
}

impl Default for WalkOptions {
    fn default() -> Self {
        WalkOptions {
            include: Vec::new(),
            max_file_bytes: 256 << 20,
            output: None,
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
    NotUtf8 {
        offset: usize,
    },
    /// `bytes` is the size `stat` gave, or `None` when the file read
    /// longer than the cap although `stat` said it fit.
    TooLarge {
        bytes: Option<u64>,
        limit: u64,
    },
    Empty,
    Unreadable(String),
    /// A device, FIFO or socket: named directly, but not a file to read.
    NotRegular(&'static str),
}

impl std::fmt::Display for SkipReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SkipReason::Binary => write!(f, "binary file"),
            SkipReason::NotUtf8 { offset } => {
                write!(f, "not valid UTF-8 (first bad byte at offset {offset})")
            }
            SkipReason::TooLarge {
                bytes: Some(bytes),
                limit,
            } => write!(
                f,
                "{bytes} bytes is over the limit of {limit} (raise --max-file-bytes)"
            ),
            SkipReason::TooLarge { bytes: None, limit } => write!(
                f,
                "reads longer than the limit of {limit} bytes (raise --max-file-bytes)"
            ),
            SkipReason::Empty => write!(f, "empty file"),
            SkipReason::Unreadable(e) => write!(f, "unreadable: {e}"),
            SkipReason::NotRegular(what) => write!(f, "not a regular file ({what})"),
        }
    }
}

/// Expands `paths` into the files to read, in a stable order. A path that
/// does not exist is an error; a file named explicitly is read whatever its
/// extension.
///
/// Fails with [`Error::OutputIsInput`] when one of the files is
/// `opts.output`, compared by identity (device and inode), so no spelling
/// of the path hides it.
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
    if let Some(output) = &opts.output {
        // A file that does not exist yet cannot be an input: no cost then.
        if let Some(id) = FileId::of(output) {
            if let Some(input) = out.iter().find(|f| FileId::of(f).as_ref() == Some(&id)) {
                return Err(Error::OutputIsInput {
                    path: output.clone(),
                    input: input.clone(),
                });
            }
        }
    }
    Ok(out)
}

/// What makes two paths the same file: device and inode on Unix (one
/// `stat`, and hard links count as the same file too), the canonical path
/// elsewhere.
#[derive(Debug, Clone, PartialEq, Eq)]
struct FileId(#[cfg(unix)] (u64, u64), #[cfg(not(unix))] PathBuf);

impl FileId {
    fn of(path: &Path) -> Option<FileId> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            let m = fs::metadata(path).ok()?;
            Some(FileId((m.dev(), m.ino())))
        }
        #[cfg(not(unix))]
        {
            Some(FileId(fs::canonicalize(path).ok()?))
        }
    }
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
    let unreadable = |e: std::io::Error| SkipReason::Unreadable(e.to_string());
    // The type first, from `stat` (which follows symlinks): opening a FIFO
    // blocks until a writer comes, and opening a device can have effects.
    let meta = fs::metadata(path).map_err(unreadable)?;
    regular(&meta)?;
    let limit = opts.max_file_bytes;
    if meta.len() > limit {
        return Err(SkipReason::TooLarge {
            bytes: Some(meta.len()),
            limit,
        });
    }
    // The path may have been swapped for a FIFO since the `stat`: open
    // without blocking and check what was opened.
    let mut file = open_nonblocking(path).map_err(unreadable)?;
    let meta = file.metadata().map_err(unreadable)?;
    regular(&meta)?;
    // The cap bounds what is read, not what `stat` claimed: a file can grow,
    // and some (in /proc, say) report size 0 and then read on.
    let mut bytes = Vec::with_capacity(meta.len().min(limit) as usize + 1);
    (&mut file)
        .take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(unreadable)?;
    if bytes.len() as u64 > limit {
        return Err(SkipReason::TooLarge { bytes: None, limit });
    }
    let text = decode_text(bytes)?;
    Ok(Document {
        path: path.to_string_lossy().into_owned(),
        text,
        mtime_ns: mtime_ns(&meta),
    })
}

/// Passes regular files; names what anything else is.
fn regular(meta: &fs::Metadata) -> std::result::Result<(), SkipReason> {
    let ft = meta.file_type();
    if ft.is_file() {
        return Ok(());
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        let what = if ft.is_fifo() {
            "a FIFO"
        } else if ft.is_char_device() {
            "a character device"
        } else if ft.is_block_device() {
            "a block device"
        } else if ft.is_socket() {
            "a socket"
        } else if ft.is_dir() {
            "a directory"
        } else {
            "a special file"
        };
        Err(SkipReason::NotRegular(what))
    }
    #[cfg(not(unix))]
    Err(SkipReason::NotRegular(if ft.is_dir() {
        "a directory"
    } else {
        "a special file"
    }))
}

/// Opens for reading; on Unix with O_NONBLOCK, so that a FIFO put in place
/// after the `stat` cannot block the open (it has no effect on a regular
/// file's reads).
fn open_nonblocking(path: &Path) -> std::io::Result<fs::File> {
    let mut o = fs::OpenOptions::new();
    o.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY);
    }
    o.open(path)
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
