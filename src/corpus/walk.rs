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

const DEFAULT_EXTENSIONS: &[&str] = &["txt", "md", "markdown", "html", "htm", "xhtml", "pdf"];

#[derive(Debug, Clone)]
pub struct WalkOptions {
    /// Extra file-name globs to read besides the default extensions.
    pub include: Vec<glob::Pattern>,
    /// Files larger than this are skipped with a warning.
    pub max_file_bytes: u64,
    /// The index file being written, if any: a walk that reaches it (named,
    /// inside a folder, through a symlink or another spelling) fails, since
    /// indexing a file and then replacing it with the index destroys it.
    pub output: Option<PathBuf>,
    /// ripgrep-style globs over the path below each walked folder: `GLOB`
    /// keeps only matching files (when any is given), `!GLOB` drops
    /// matching files and folders. They win over ignore files.
    pub globs: Vec<String>,
    /// Honour `.gitignore` (inside a git repository), `.ignore`,
    /// `.git/info/exclude` and the global git excludes, as ripgrep does.
    pub ignore_files: bool,
    /// Walk hidden files and folders (names starting with `.`) too.
    pub hidden: bool,
    /// Only files of these types, when any: `md` (.md, .markdown), `txt`,
    /// `html` (.html, .htm, .xhtml), or any other extension as itself.
    pub types: Vec<String>,
    /// What the walk passed over, and a sink for its warnings.
    pub log: WalkLog,
}

/// The extensions of a `--type` name.
pub fn type_extensions(name: &str) -> Vec<String> {
    let name = name.trim_start_matches('.').to_ascii_lowercase();
    match name.as_str() {
        "md" | "markdown" => vec!["md".into(), "markdown".into()],
        "html" | "htm" => vec!["html".into(), "htm".into(), "xhtml".into()],
        "txt" | "text" => vec!["txt".into()],
        "pdf" => vec!["pdf".into()],
        _ => vec![name],
    }
}

impl Default for WalkOptions {
    fn default() -> Self {
        WalkOptions {
            include: Vec::new(),
            max_file_bytes: 256 << 20,
            output: None,
            globs: Vec::new(),
            ignore_files: true,
            hidden: false,
            types: Vec::new(),
            log: WalkLog::default(),
        }
    }
}

/// Counts of what a walk passed over, shared by the clones of one
/// [`WalkOptions`]; a front end reads it after the build.
#[derive(Clone, Default)]
pub struct WalkLog {
    inner: std::sync::Arc<std::sync::Mutex<WalkStats>>,
    sink: Option<Sink>,
}

/// Where a walk's warnings go as they happen.
type Sink = std::sync::Arc<dyn Fn(&str) + Send + Sync>;

impl std::fmt::Debug for WalkLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("WalkLog").field(&self.stats()).finish()
    }
}

/// What a walk skipped before reading anything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WalkStats {
    /// Files in folders passed over for their extension, by lowercase
    /// extension (`""` for none).
    pub extensions: std::collections::BTreeMap<String, usize>,
    /// Folders that could not be listed (no permission, vanished).
    pub unreadable_dirs: usize,
    /// Paths named more than once (or two spellings of one file).
    pub duplicates: usize,
}

impl WalkStats {
    /// Files passed over for their extension.
    pub fn extension_total(&self) -> usize {
        self.extensions.values().sum()
    }
}

impl WalkLog {
    /// A log whose warnings also go to `sink` as they happen.
    pub fn with_sink(sink: impl Fn(&str) + Send + Sync + 'static) -> WalkLog {
        WalkLog {
            inner: Default::default(),
            sink: Some(std::sync::Arc::new(sink)),
        }
    }

    pub fn stats(&self) -> WalkStats {
        self.inner.lock().map(|s| s.clone()).unwrap_or_default()
    }

    fn update(&self, f: impl FnOnce(&mut WalkStats)) {
        if let Ok(mut s) = self.inner.lock() {
            f(&mut s);
        }
    }

    fn warn(&self, message: &str) {
        if let Some(sink) = &self.sink {
            sink(message);
        }
    }
}

/// A document read as text; `path` is spelt as the user named it (with
/// `.` components and doubled separators removed).
#[derive(Debug, Clone)]
pub struct Document {
    pub path: String,
    pub text: String,
    /// Modification time in ns since the epoch, 0 when unknown.
    pub mtime_ns: u64,
    /// The file's size (what `--update` compares): the text's length for
    /// text files, the PDF's for PDF files.
    pub bytes: u64,
    /// For a paged document (PDF), the byte offset in `text` where each
    /// page starts; empty otherwise.
    pub pages: Vec<u64>,
}

impl Document {
    /// A text document not paged: its size is its text's.
    pub fn new(path: impl Into<String>, text: impl Into<String>, mtime_ns: u64) -> Document {
        let text = text.into();
        Document {
            path: path.into(),
            bytes: text.len() as u64,
            text,
            mtime_ns,
            pages: Vec::new(),
        }
    }
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
    /// A format vecsearch does not extract text from (named directly).
    Unsupported(&'static str),
    /// A PDF that needs a password.
    Encrypted,
    /// A PDF whose pages hold no text (a scan: images only).
    NoPdfText,
    /// A PDF the reader could not read (damaged, or past a bound).
    BadPdf(String),
}

impl SkipReason {
    /// A short name of the reason, for a summary by reason.
    pub fn kind(&self) -> &'static str {
        match self {
            SkipReason::Binary => "binary",
            SkipReason::NotUtf8 { .. } => "not UTF-8",
            SkipReason::TooLarge { .. } => "too large",
            SkipReason::Empty => "empty",
            SkipReason::Unreadable(_) => "unreadable",
            SkipReason::NotRegular(_) => "not a regular file",
            SkipReason::Unsupported(_) => "unsupported format",
            SkipReason::Encrypted => "encrypted PDF",
            SkipReason::NoPdfText => "PDF without text",
            SkipReason::BadPdf(_) => "unreadable PDF",
        }
    }
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
            } => write!(f, "{bytes} bytes is over the size limit of {limit}"),
            SkipReason::TooLarge { bytes: None, limit } => {
                write!(f, "reads longer than the size limit of {limit} bytes")
            }
            SkipReason::Empty => write!(f, "empty file"),
            SkipReason::Unreadable(e) => write!(f, "unreadable: {e}"),
            SkipReason::NotRegular(what) => write!(f, "not a regular file ({what})"),
            SkipReason::Unsupported(what) => write!(f, "{what}"),
            SkipReason::Encrypted => write!(f, "encrypted PDF (it needs a password)"),
            SkipReason::NoPdfText => write!(f, "PDF without text (images only, such as a scan?)"),
            SkipReason::BadPdf(why) => write!(f, "{why}"),
        }
    }
}

/// Expands `paths` into the files to read, in a stable order: each path in
/// turn, folders walked depth first in byte order of names. A path that
/// does not exist is an error; a file named explicitly is read whatever its
/// extension, ignore files and globs. A folder that cannot be listed is
/// warned about and skipped. A file reached twice (named twice, named and
/// inside a named folder, or spelt two ways) is kept once, at its first
/// place.
///
/// Fails with [`Error::OutputIsInput`] when one of the files is
/// `opts.output`, compared by identity (device and inode), so no spelling
/// of the path hides it.
pub fn collect_files(paths: &[PathBuf], opts: &WalkOptions) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut walked = std::collections::HashSet::new();
    for p in paths {
        let p = &tidy(p);
        let meta = fs::metadata(p).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Error::NotFound { path: p.clone() },
            _ => Error::io(p, e),
        })?;
        if meta.is_dir() {
            // A folder named twice is walked once (its files would be
            // dropped as repeats anyway, and its skips counted twice).
            if let Some(id) = FileId::of(p) {
                if !walked.insert(id) {
                    continue;
                }
            }
            walk_dir(p, opts, &mut out)?;
        } else {
            out.push(p.clone());
        }
    }
    let mut seen = std::collections::HashSet::new();
    let before = out.len();
    out.retain(|f| match FileId::of(f) {
        Some(id) => seen.insert(id),
        None => true,
    });
    if out.len() < before {
        opts.log.update(|s| s.duplicates += before - out.len());
    }
    if let Some(output) = &opts.output {
        // A file that does not exist yet cannot be an input: no cost then.
        if let Some(id) = FileId::of(output) {
            if seen.contains(&id) {
                let input = out
                    .iter()
                    .find(|f| FileId::of(f).as_ref() == Some(&id))
                    .cloned()
                    .unwrap_or_else(|| output.clone());
                return Err(Error::OutputIsInput {
                    path: output.clone(),
                    input,
                });
            }
        }
    }
    Ok(out)
}

/// `p` without `.` components or doubled separators, so `./t/a.txt` and
/// `t//a.txt` are stored as `t/a.txt`.
fn tidy(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        if c != std::path::Component::CurDir {
            out.push(c);
        }
    }
    if out.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        out
    }
}

/// What makes two paths the same file: device and inode on Unix (one
/// `stat`, and hard links count as the same file too), the canonical path
/// elsewhere.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
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

/// Checks the globs of `--glob`/`--exclude` (ripgrep's syntax, `!` to
/// exclude) without walking anything.
pub fn check_globs(globs: &[String]) -> Result<()> {
    overrides(Path::new("."), globs).map(|_| ())
}

fn overrides(root: &Path, globs: &[String]) -> Result<ignore::overrides::Override> {
    let mut b = ignore::overrides::OverrideBuilder::new(root);
    for g in globs {
        b.add(g).map_err(|e| Error::BadFileGlob {
            glob: g.clone(),
            detail: one_line(&e),
        })?;
    }
    b.build().map_err(|e| Error::BadFileGlob {
        glob: globs.join(" "),
        detail: one_line(&e),
    })
}

fn one_line(e: &dyn std::fmt::Display) -> String {
    e.to_string().lines().next().unwrap_or("").to_string()
}

fn walk_dir(dir: &Path, opts: &WalkOptions, out: &mut Vec<PathBuf>) -> Result<()> {
    let mut b = ignore::WalkBuilder::new(dir);
    b.standard_filters(opts.ignore_files)
        .hidden(!opts.hidden)
        .follow_links(false)
        .sort_by_file_name(|a, b| a.cmp(b))
        // Version control folders are never content, even with --hidden
        // or --no-ignore.
        .filter_entry(|e| {
            e.depth() == 0
                || !(e.file_type().is_some_and(|t| t.is_dir())
                    && matches!(e.file_name().to_str(), Some(".git" | ".hg" | ".svn")))
        });
    if !opts.globs.is_empty() {
        b.overrides(overrides(dir, &opts.globs)?);
    }
    for entry in b.build() {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                walk_error(&e, opts);
                continue;
            }
        };
        if let Some(e) = entry.error() {
            // A partial error: a bad line in an ignore file.
            opts.log.warn(&format!("warning: {}", one_line(e)));
        }
        // file_type() does not follow symlinks, so a link loop cannot trap
        // the walk; linked files are still read.
        let Some(ft) = entry.file_type() else {
            continue;
        };
        let path = entry.path();
        if ft.is_dir() {
            continue;
        }
        if !(ft.is_file() || (ft.is_symlink() && path.is_file())) {
            // Devices, FIFOs, sockets and links to folders: never content.
            continue;
        }
        if wanted(path, opts) {
            out.push(path.to_path_buf());
        } else {
            let ext = path
                .extension()
                .map(|e| e.to_string_lossy().to_lowercase())
                .unwrap_or_default();
            opts.log
                .update(|s| *s.extensions.entry(ext).or_default() += 1);
        }
    }
    Ok(())
}

/// A folder the walk cannot list is skipped with a warning naming it.
fn walk_error(e: &ignore::Error, opts: &WalkOptions) {
    fn parts(e: &ignore::Error) -> (Option<&Path>, String) {
        match e {
            ignore::Error::WithPath { path, err } => (Some(path), parts(err).1),
            ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => {
                parts(err)
            }
            ignore::Error::Io(io) => (
                None,
                io.raw_os_error().map_or_else(
                    || io.to_string(),
                    |c| std::io::Error::from_raw_os_error(c).to_string(),
                ),
            ),
            ignore::Error::Loop { child, .. } => (Some(child), "symlink loop".into()),
            other => (None, one_line(other)),
        }
    }
    let (path, mut why) = parts(e);
    // The walker words some I/O errors itself, path included.
    if let Some(rest) = why.strip_prefix("IO error for operation on ") {
        let p = path
            .map(|p| format!("{}: ", p.display()))
            .unwrap_or_default();
        why = rest.strip_prefix(&p).unwrap_or(rest).to_string();
    }
    opts.log.update(|s| s.unreadable_dirs += 1);
    match path {
        Some(p) => opts.log.warn(&format!(
            "{}: skipped: unreadable folder: {why}",
            p.display()
        )),
        None => opts.log.warn(&format!("skipped: {why}")),
    }
}

fn wanted(path: &Path, opts: &WalkOptions) -> bool {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    if !opts.types.is_empty() {
        return ext.is_some_and(|e| opts.types.iter().any(|t| type_extensions(t).contains(&e)));
    }
    let ext_ok = ext.is_some_and(|e| DEFAULT_EXTENSIONS.contains(&e.as_str()));
    ext_ok
        || opts.include.iter().any(|g| {
            path.file_name()
                .is_some_and(|n| g.matches(&n.to_string_lossy()))
                || g.matches_path(path)
        })
}

/// How a path is stored and shown: as UTF-8, with each byte of a name
/// that is not UTF-8 written `\xNN`, so `x\xff.txt` and `x\xfe.txt` stay
/// two documents (a lossy conversion would make both `x\u{fffd}.txt`).
pub fn path_key(path: &Path) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let bytes = path.as_os_str().as_bytes();
        if let Ok(s) = std::str::from_utf8(bytes) {
            return s.to_string();
        }
        let mut out = String::with_capacity(bytes.len() + 8);
        for chunk in bytes.utf8_chunks() {
            out.push_str(chunk.valid());
            for b in chunk.invalid() {
                out.push_str(&format!("\\x{b:02x}"));
            }
        }
        out
    }
    #[cfg(not(unix))]
    {
        path.to_string_lossy().into_owned()
    }
}

/// The path a stored key names: the inverse of [`path_key`]. A key whose
/// `\xNN` escapes decode to valid UTF-8 came from a UTF-8 name (which
/// `path_key` never escapes) and is that name itself; otherwise the escapes
/// are the name's raw bytes.
pub fn key_path(key: &str) -> PathBuf {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStringExt;
        if !key.contains("\\x") {
            return PathBuf::from(key);
        }
        let b = key.as_bytes();
        let mut out = Vec::with_capacity(b.len());
        let mut i = 0;
        while i < b.len() {
            let hex = b
                .get(i + 2..i + 4)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok());
            match hex {
                Some(v) if b[i] == b'\\' && b[i + 1] == b'x' => {
                    out.push(v);
                    i += 4;
                }
                _ => {
                    out.push(b[i]);
                    i += 1;
                }
            }
        }
        if std::str::from_utf8(&out).is_ok() {
            return PathBuf::from(key);
        }
        PathBuf::from(std::ffi::OsString::from_vec(out))
    }
    #[cfg(not(unix))]
    {
        PathBuf::from(key)
    }
}

/// Whether `path` names a PDF file, read page by page.
pub fn is_pdf(path: &str) -> bool {
    path.to_ascii_lowercase().ends_with(".pdf")
}

/// Whether `path` names an HTML file, read as text without its markup.
pub fn is_html(path: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    lower.ends_with(".html") || lower.ends_with(".htm") || lower.ends_with(".xhtml")
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
    let file_bytes = bytes.len() as u64;
    // A PDF by its header, whatever its name; one named .pdf without it is
    // damaged, not text.
    if super::pdf::looks_like_pdf(&bytes) {
        let extracted = super::pdf::extract(bytes)?;
        return Ok(Document {
            path: path_key(path),
            text: extracted.text,
            mtime_ns: mtime_ns(&meta),
            bytes: file_bytes,
            pages: extracted.pages,
        });
    }
    if is_pdf(&path_key(path)) {
        return Err(SkipReason::BadPdf(
            "not a readable PDF: no %PDF- header".into(),
        ));
    }
    let mut text = decode_text(bytes)?;
    let path = path_key(path);
    if is_html(&path) {
        text = super::html::blank_markup(&text);
        if !text.contains(|c: char| c.is_alphanumeric()) {
            return Err(SkipReason::Empty);
        }
    }
    Ok(Document {
        path,
        bytes: file_bytes,
        text,
        mtime_ns: mtime_ns(&meta),
        pages: Vec::new(),
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
