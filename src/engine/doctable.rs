//! The document table, read lazily from its file.
//!
//! Why: a search command opens the index once per query, and decoding every
//! document up front (39,843 paths on the 1.49M-passage corpus, each its own
//! `String`, then rewritten to its shown form) was the open's critical path:
//! 8–15 ms of a 10–15 ms open, to print ten paths. Opening now checks the
//! section's checksum and its structure (every length in bounds, every path
//! UTF-8, every flag a flag, nothing after the last entry) and notes where
//! each entry starts; a hit's path is decoded when it is shown. Everything
//! that needs the whole table (updates, path filters, exports, the library's
//! `Index::docs`) gets it decoded once, on first use, through `Deref`.

use std::borrow::Cow;
use std::ops::Deref;
use std::path::PathBuf;
use std::sync::OnceLock;

use super::paths;
use super::types::DocMeta;
use crate::vector::Slab;

/// Bytes of an entry after its path: size, content hash and mtime (`u64`
/// each) and the deleted flag (one byte), as bincode's fixed-width
/// little-endian encoding lays out [`DocMeta`].
const AFTER_PATH: usize = 8 * 3 + 1;

/// Every document, decoded or still in its file.
pub(crate) struct DocTable {
    all: OnceLock<Vec<DocMeta>>,
    file: Option<Stored>,
}

/// The table as its file holds it.
struct Stored {
    bytes: Slab<u8>,
    /// Where each entry starts (its path's length field).
    starts: Vec<usize>,
    /// The `DocPaths` flags (format 7 on), with the folders a stored path
    /// is shown from; `None` for older files, whose paths show as stored.
    shown: Option<(Vec<bool>, PathBuf, PathBuf)>,
    /// Page starts of paged documents, by document.
    pages: Vec<Vec<u64>>,
}

impl DocTable {
    /// A table already decoded (a build's, an update's, a compaction's).
    pub(crate) fn held(docs: Vec<DocMeta>) -> DocTable {
        DocTable {
            all: OnceLock::from(docs),
            file: None,
        }
    }

    /// A table over the bytes of a file's document section, already
    /// checksummed. Returns what is wrong when the bytes are not a table:
    /// what decoding them would have refused.
    pub(crate) fn stored(bytes: Slab<u8>) -> Result<DocTable, String> {
        let starts = entry_starts(&bytes)?;
        Ok(DocTable {
            all: OnceLock::new(),
            file: Some(Stored {
                bytes,
                pages: Vec::new(),
                starts,
                shown: None,
            }),
        })
    }

    /// Paths are shown from the current folder: `typed_absolute` is the
    /// file's `DocPaths` section, `root` its folder (see `paths.rs`).
    pub(crate) fn show_from(&mut self, typed_absolute: Vec<bool>, root: PathBuf) {
        if let Some(s) = &mut self.file {
            s.shown = Some((typed_absolute, root, paths::current_dir()));
        }
    }

    /// Attaches page starts to paged documents (`pages[d]` for document
    /// `d`, empty for the others).
    pub(crate) fn set_pages(&mut self, pages: Vec<Vec<u64>>) {
        if let Some(s) = &mut self.file {
            s.pages = pages;
        }
    }

    /// Documents, tombstoned ones included.
    pub(crate) fn len(&self) -> usize {
        match (&self.file, self.all.get()) {
            (_, Some(all)) => all.len(),
            (Some(s), None) => s.starts.len(),
            (None, None) => 0,
        }
    }

    /// Document `d`'s path as shown (as [`DocMeta::path`]), without
    /// decoding the rest of the table.
    ///
    /// # Panics
    /// If `d >= len()`.
    pub(crate) fn path(&self, d: u32) -> Cow<'_, str> {
        match (&self.file, self.all.get()) {
            (Some(s), None) => Cow::Owned(s.shown_path(d as usize).0),
            _ => Cow::Borrowed(&self[d as usize].path),
        }
    }

    /// Document `d`'s page starts (empty unless it is paged).
    pub(crate) fn pages(&self, d: u32) -> &[u64] {
        match (&self.file, self.all.get()) {
            (Some(s), None) => s.pages.get(d as usize).map_or(&[], |p| p),
            _ => self.get(d as usize).map_or(&[], |m| &m.pages),
        }
    }

    /// Every document, decoded on first use.
    fn all(&self) -> &Vec<DocMeta> {
        self.all.get_or_init(|| match &self.file {
            Some(s) => (0..s.starts.len()).map(|d| s.decode(d)).collect(),
            None => Vec::new(),
        })
    }
}

impl Deref for DocTable {
    type Target = [DocMeta];

    fn deref(&self) -> &[DocMeta] {
        self.all()
    }
}

impl Stored {
    /// Entry `d`, its path shown. The bytes were checked when the table
    /// was opened; the reads below still never panic should the file
    /// change under its mapping (they would read garbage, as any other
    /// mapped section would).
    fn decode(&self, d: usize) -> DocMeta {
        let b: &[u8] = &self.bytes;
        let (path, rest) = self.shown_path(d);
        DocMeta {
            path,
            bytes: read_u64(b, rest).unwrap_or(0),
            content_hash: read_u64(b, rest + 8).unwrap_or(0),
            mtime_ns: read_u64(b, rest + 16).unwrap_or(0),
            deleted: b.get(rest + 24) == Some(&1),
            pages: self.pages.get(d).cloned().unwrap_or_default(),
        }
    }

    /// Entry `d`'s path, shown, and where the fields after it start: all a
    /// hit needs of its document.
    fn shown_path(&self, d: usize) -> (String, usize) {
        let b: &[u8] = &self.bytes;
        let at = self.starts[d];
        // At most the section's length, so the sums below cannot overflow.
        let len = read_u64(b, at).map_or(0, |l| l.min(b.len() as u64) as usize);
        let stored = String::from_utf8_lossy(b.get(at + 8..at + 8 + len).unwrap_or_default());
        let path = match &self.shown {
            Some((typed_absolute, root, cwd)) => paths::shown_form(
                &stored,
                typed_absolute.get(d).copied().unwrap_or(false),
                root,
                cwd,
            ),
            None => stored.into_owned(),
        };
        (path, at + 8 + len)
    }
}

fn read_u64(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

/// Where each entry of an encoded `Vec<DocMeta>` starts, checking what
/// decoding it would: a count, then per entry a path (length and UTF-8
/// bytes), three `u64`s and a flag of 0 or 1, and nothing after.
fn entry_starts(b: &[u8]) -> Result<Vec<usize>, String> {
    let short = || "it ends inside an entry".to_string();
    let n = read_u64(b, 0).ok_or_else(short)?;
    // Each entry takes at least 8 + AFTER_PATH bytes: a hostile count
    // cannot allocate more than the section could hold.
    if n > (b.len() / (8 + AFTER_PATH)) as u64 {
        return Err(short());
    }
    let mut starts = Vec::with_capacity(n as usize);
    let mut at = 8;
    for _ in 0..n {
        starts.push(at);
        let len = read_u64(b, at).ok_or_else(short)?;
        let end = (at + 8)
            .checked_add(usize::try_from(len).map_err(|_| short())?)
            .filter(|&e| e + AFTER_PATH <= b.len())
            .ok_or_else(short)?;
        std::str::from_utf8(&b[at + 8..end]).map_err(|e| format!("a path is not UTF-8: {e}"))?;
        match b[end + AFTER_PATH - 1] {
            0 | 1 => {}
            v => return Err(format!("a deleted flag is {v}, not 0 or 1")),
        }
        at = end + AFTER_PATH;
    }
    if at != b.len() {
        return Err(format!("{} unexpected trailing bytes", b.len() - at));
    }
    Ok(starts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::codec;
    use proptest::prelude::*;

    fn doc(path: &str, n: u64, deleted: bool) -> DocMeta {
        DocMeta {
            path: path.into(),
            bytes: n,
            content_hash: n.wrapping_mul(31),
            mtime_ns: n << 7,
            deleted,
            pages: Vec::new(),
        }
    }

    fn table(bytes: Vec<u8>) -> Result<DocTable, String> {
        DocTable::stored(Slab::from_vec(bytes))
    }

    proptest! {
        /// The lazy table reads what bincode's decoder reads, entry by
        /// entry and whole.
        #[test]
        fn reads_what_the_codec_wrote(
            docs in prop::collection::vec(("\\PC{0,40}", any::<u64>(), any::<bool>()), 0..40),
        ) {
            let docs: Vec<DocMeta> = docs.iter().map(|(p, n, d)| doc(p, *n, *d)).collect();
            let t = table(codec::encode(&docs)).unwrap();
            prop_assert_eq!(t.len(), docs.len());
            for (i, d) in docs.iter().enumerate() {
                let shown = t.path(i as u32);
                prop_assert_eq!(shown.as_ref(), d.path.as_str());
            }
            prop_assert_eq!(&t[..], &docs[..]);
        }

        /// Any bytes: refused exactly when the codec refuses them, and
        /// otherwise read as the codec reads them.
        #[test]
        fn refuses_what_the_codec_refuses(
            docs in prop::collection::vec(("[a-zé/]{0,12}", any::<u64>(), any::<bool>()), 0..6),
            cut in any::<prop::sample::Index>(),
            at in any::<prop::sample::Index>(),
            byte in any::<u8>(),
            how in 0u8..5,
        ) {
            let docs: Vec<DocMeta> = docs.iter().map(|(p, n, d)| doc(p, *n, *d)).collect();
            let mut bytes = codec::encode(&docs);
            // The bytes an entry's own fields start at: its path length and
            // its deleted flag, where a bad value is most likely to slip by.
            let mut fields = Vec::new();
            let mut p = 8;
            for d in &docs {
                fields.push(p);
                p += 8 + d.path.len() + AFTER_PATH;
                fields.push(p - 1);
            }
            match how {
                0 => { let i = at.index(bytes.len()); bytes[i] = byte; }
                1 => bytes.truncate(cut.index(bytes.len() + 1)),
                2 if !fields.is_empty() => { bytes[fields[at.index(fields.len())]] = byte; }
                3 => { let i = at.index(bytes.len().min(8)); bytes[i] = byte; }
                _ => bytes.push(byte),
            }
            let want = codec::decode::<Vec<DocMeta>>(&bytes);
            match table(bytes) {
                Ok(t) => prop_assert_eq!(Ok(t.to_vec()), want),
                Err(_) => prop_assert!(want.is_err()),
            }
        }
    }

    #[test]
    fn a_flag_other_than_0_or_1_is_refused() {
        let mut bytes = codec::encode(&vec![doc("a.md", 1, false)]);
        *bytes.last_mut().unwrap() = 2;
        assert!(codec::decode::<Vec<DocMeta>>(&bytes).is_err());
        assert!(table(bytes).is_err());
    }

    #[test]
    fn paths_show_from_the_current_folder_and_pages_attach() {
        let docs = vec![doc("a/x.md", 1, false), doc("/abs/y.md", 2, true)];
        let mut t = table(codec::encode(&docs)).unwrap();
        let root = paths::current_dir().join("sub");
        t.show_from(vec![false, true], root);
        t.set_pages(vec![vec![], vec![0, 10]]);
        assert_eq!(t.path(0), "sub/a/x.md");
        assert_eq!(t.path(1), "/abs/y.md");
        assert_eq!(t.pages(1), &[0, 10]);
        assert_eq!(t[1].pages, vec![0, 10]);
        assert_eq!(t[0].path, "sub/a/x.md");
        assert!(t[1].deleted);
    }
}
