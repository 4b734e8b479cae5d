//! The passage table as raw sections: fixed 48-byte records and the UTF-8
//! text of every passage. Opening an index maps them and validates records
//! only as they are read; a passage's text is taken out when it is shown
//! (or analyzed again, by updates and `similar` on codes).
//!
//! The text is stored compressed (format 6 on): the blob is cut into
//! frames of [`FRAME`] bytes, each compressed on its own with zstd, so a
//! passage costs the decompression of one frame (two if it straddles a
//! boundary), and the text takes about a third of its bytes (BENCHMARKS.md).
//! A table built in memory compresses its text as it is built (a batch of
//! frames at a time, so the plain text is never held whole); files before
//! format 6 hold it plain.

use std::borrow::Cow;
use std::sync::{Arc, OnceLock};

use bytemuck::{Pod, Zeroable};

use super::staged::ScratchSection;
use super::PassageMeta;
use crate::error::{Malformed, Result};
use crate::vector::Slab;

#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Pod, Zeroable)]
pub struct PassageRecord {
    pub doc: u32,
    pub lang: u16,
    pub _pad: u16,
    pub line_start: u32,
    pub line_end: u32,
    pub byte_start: u64,
    pub byte_end: u64,
    /// Where the passage's text lies in the blob.
    pub text_start: u64,
    pub text_len: u64,
}

/// The passage records and their text. A table read from a file with block
/// checksums (format 5) is checked lazily: [`PassageTable::get`] verifies
/// and validates the one record a query reads, so opening is O(1) in the
/// passages; [`PassageTable::records`] checks all of them once, for the
/// whole-table readers (updates, `info`, evaluation).
#[derive(Debug, Clone, Default)]
pub struct PassageTable {
    records: Slab<PassageRecord>,
    text: Text,
    /// Documents and languages the records may name.
    bounds: (usize, usize),
    /// Whether the records still need checking (lazily, as read).
    lazy: bool,
    /// The outcome of checking every record, once.
    checked_all: Arc<OnceLock<Result<(), Malformed>>>,
}

/// Stands in for a record that failed its check, once the failure is
/// latched for the engine to report: it names document 0 and language 0,
/// which a table with passages always has, and no text.
const DAMAGED: PassageRecord = PassageRecord {
    doc: 0,
    lang: 0,
    _pad: 0,
    line_start: 1,
    line_end: 1,
    byte_start: 0,
    byte_end: 0,
    text_start: 0,
    text_len: 0,
};

/// Uncompressed bytes per frame of compressed text: big enough for zstd to
/// find the repetition in documentation prose (about 3× on the Debian
/// corpus), small enough that showing a hit decompresses little.
pub const FRAME: usize = 32 << 10;

/// zstd level of the frames: the default, which compresses at hundreds of
/// MB/s per core, so a build barely notices it.
const LEVEL: i32 = 3;

/// The passages' text: the blob itself, or its compressed frames.
#[derive(Debug, Clone)]
enum Text {
    Plain(Slab<u8>),
    /// `ends[0]` is the blob's length; `ends[1 + i]` is where frame `i`'s
    /// compressed bytes end in `data`.
    Frames {
        data: Slab<u8>,
        ends: Slab<u64>,
    },
}

impl Default for Text {
    fn default() -> Self {
        Text::Plain(Slab::default())
    }
}

/// One compressed frame, decompressed with this thread's zstd context: a
/// context costs more to make than a 32 KiB frame costs to decompress (a
/// search shows ten hits, each in its own frame).
fn decompress_frame(src: &[u8]) -> std::io::Result<Vec<u8>> {
    thread_local! {
        static CONTEXT: std::cell::RefCell<Option<zstd::bulk::Decompressor<'static>>> =
            const { std::cell::RefCell::new(None) };
    }
    CONTEXT.with(|c| {
        let mut c = c.borrow_mut();
        if c.is_none() {
            *c = Some(zstd::bulk::Decompressor::new()?);
        }
        c.as_mut().expect("made above").decompress(src, FRAME)
    })
}

/// One frame compressed with this thread's zstd context: making a context
/// (and clearing its tables) cost a 32 KiB frame about as much as
/// compressing it. The frame is the one a new context makes.
fn compress_frame(src: &[u8]) -> Vec<u8> {
    thread_local! {
        static CONTEXT: std::cell::RefCell<Option<zstd::bulk::Compressor<'static>>> =
            const { std::cell::RefCell::new(None) };
    }
    CONTEXT.with(|c| {
        let mut c = c.borrow_mut();
        if c.is_none() {
            *c = Some(zstd::bulk::Compressor::new(LEVEL).expect("a zstd context"));
        }
        c.as_mut()
            .expect("made above")
            .compress(src)
            .expect("compressing to memory")
    })
}

/// The last frame a thread decompressed: (its table's data address, its
/// number, its bytes).
type CachedFrame = (usize, usize, std::rc::Rc<Vec<u8>>);

/// How the passage text is to be written: the compressed frames and their
/// ends (see [`Text`]).
pub struct TextSections<'a> {
    pub data: Cow<'a, [u8]>,
    pub ends: Cow<'a, [u64]>,
}

/// Compresses the passage text as it comes: whole frames are compressed
/// (in parallel) a batch at a time, so a build never holds the plain text
/// of the corpus, only the compressed frames and less than a batch of
/// plain bytes. The frames are those of the whole blob cut every
/// [`FRAME`] bytes, whatever the batches.
#[derive(Default)]
struct Framer {
    /// Plain bytes not yet compressed.
    pending: Vec<u8>,
    /// Plain bytes compressed so far.
    framed: u64,
    /// The compressed frames, held (`data`) or in scratch (`sink`).
    data: Vec<u8>,
    sink: Option<ScratchSection>,
    /// Compressed bytes so far.
    compressed: u64,
    /// Where each frame's compressed bytes end.
    ends: Vec<u64>,
}

/// Frames compressed together.
const FRAME_BATCH: usize = 64;

impl Framer {
    /// Plain bytes so far.
    fn len(&self) -> u64 {
        self.framed + self.pending.len() as u64
    }

    fn push(&mut self, text: &[u8]) -> Result<()> {
        self.pending.extend_from_slice(text);
        if self.pending.len() >= FRAME_BATCH * FRAME {
            let whole = self.pending.len() / FRAME * FRAME;
            self.compress(whole)?;
        }
        Ok(())
    }

    /// Compresses `pending[..n]` into frames of [`FRAME`] bytes (the last
    /// one shorter only at the end of the text).
    fn compress(&mut self, n: usize) -> Result<()> {
        use rayon::prelude::*;
        let frames: Vec<Vec<u8>> = self.pending[..n]
            .par_chunks(FRAME)
            .map(compress_frame)
            .collect();
        for f in frames {
            match &mut self.sink {
                Some(s) => s.append(&f)?,
                None => self.data.extend_from_slice(&f),
            }
            self.compressed += f.len() as u64;
            self.ends.push(self.compressed);
        }
        self.pending.drain(..n);
        self.framed += n as u64;
        Ok(())
    }

    /// The frame table (the text's length, then each frame's end), the
    /// pending text compressed first.
    fn close(&mut self) -> Result<Vec<u64>> {
        self.compress(self.pending.len())?;
        let mut ends = Vec::with_capacity(self.ends.len() + 1);
        ends.push(self.framed);
        ends.extend_from_slice(&self.ends);
        Ok(ends)
    }

    fn finish(mut self) -> Text {
        let ends = self.close().expect("held frames are not written");
        self.data.shrink_to_fit();
        Text::Frames {
            data: Slab::from_vec(self.data),
            ends: Slab::from_vec(ends),
        }
    }
}

impl Text {
    /// Uncompressed length.
    fn len(&self) -> u64 {
        match self {
            Text::Plain(b) => b.len() as u64,
            Text::Frames { ends, .. } => ends[0],
        }
    }

    /// Bytes `start..start + len` of the blob, checked (a failed block is
    /// latched and gives empty text).
    fn bytes(&self, start: u64, len: u64) -> Cow<'_, [u8]> {
        match self {
            Text::Plain(b) => {
                // Verifies the blocks under the text once per process; a
                // failure is latched for the engine to report.
                b.check(start as usize, len as usize);
                Cow::Borrowed(&b[start as usize..(start + len) as usize])
            }
            Text::Frames { .. } if len == 0 => Cow::Borrowed(&[]),
            Text::Frames { .. } => {
                let (first, last) = (start as usize / FRAME, (start + len - 1) as usize / FRAME);
                let mut out = Vec::with_capacity(len as usize);
                for f in first..=last {
                    let Some(frame) = self.frame(f) else {
                        return Cow::Borrowed(&[]);
                    };
                    let base = (f * FRAME) as u64;
                    let s = start.max(base) - base;
                    let e = (start + len).min(base + frame.len() as u64) - base;
                    if s > e || e as usize > frame.len() {
                        return Cow::Borrowed(&[]);
                    }
                    out.extend_from_slice(&frame[s as usize..e as usize]);
                }
                Cow::Owned(out)
            }
        }
    }

    /// Frame `f` decompressed, from a one-frame cache per thread (readers
    /// of consecutive passages, such as compaction, decompress each frame
    /// once). `None` if its bytes fail their checksum (latched) or do not
    /// decompress.
    fn frame(&self, f: usize) -> Option<std::rc::Rc<Vec<u8>>> {
        let Text::Frames { data, ends } = self else {
            return None;
        };
        thread_local! {
            static CACHE: std::cell::RefCell<Option<CachedFrame>> =
                const { std::cell::RefCell::new(None) };
        }
        let owner = data.as_ptr() as usize;
        if let Some(hit) = CACHE.with(|c| {
            c.borrow()
                .as_ref()
                .filter(|(o, i, _)| *o == owner && *i == f)
                .map(|(_, _, v)| v.clone())
        }) {
            return Some(hit);
        }
        if f + 2 > ends.len() {
            return None;
        }
        let (s, e) = (
            if f == 0 { 0 } else { ends[f] as usize },
            ends[f + 1] as usize,
        );
        if s > e || e > data.len() || !data.check(s, e - s) {
            return None;
        }
        let Ok(frame) = decompress_frame(&data[s..e]) else {
            data.fail(s);
            return None;
        };
        let frame = std::rc::Rc::new(frame);
        CACHE.with(|c| *c.borrow_mut() = Some((owner, f, frame.clone())));
        Some(frame)
    }

    /// What to write: the frames as they are, or the plain blob compressed
    /// (in parallel).
    fn sections(&self) -> TextSections<'_> {
        match self {
            Text::Frames { data, ends } => TextSections {
                data: Cow::Borrowed(data),
                ends: Cow::Borrowed(ends),
            },
            Text::Plain(blob) => {
                use rayon::prelude::*;
                let frames: Vec<Vec<u8>> = blob.par_chunks(FRAME).map(compress_frame).collect();
                let mut ends = Vec::with_capacity(frames.len() + 1);
                ends.push(blob.len() as u64);
                let mut data = Vec::with_capacity(frames.iter().map(Vec::len).sum());
                for f in frames {
                    data.extend_from_slice(&f);
                    ends.push(data.len() as u64);
                }
                TextSections {
                    data: Cow::Owned(data),
                    ends: Cow::Owned(ends),
                }
            }
        }
    }

    fn check_all(&self) -> bool {
        match self {
            Text::Plain(b) => b.check_all(),
            Text::Frames { data, ends } => data.check_all() & ends.check_all(),
        }
    }
}

/// Builds a passage table a passage at a time, its text compressed as it
/// comes; a build that reads its documents in batches pushes each batch's
/// passages as they are analyzed, before the corpus's languages are all
/// known, and renumbers their languages at the end. A staged builder
/// (for a build that writes a file) puts its records and compressed text
/// in scratch files as it goes (see `staged.rs`).
#[derive(Default)]
pub(crate) struct TableBuilder {
    records: Vec<PassageRecord>,
    /// Where records go, [`RECORD_RUN`] at a time, when staged.
    record_sink: Option<ScratchSection>,
    count: usize,
    text: Framer,
    docs: usize,
}

/// Records a staged builder holds before writing them out.
const RECORD_RUN: usize = 1 << 14;

/// A finished staged table: what the file's passage sections hold.
#[derive(Debug)]
pub(crate) struct StagedTable {
    pub(crate) records: ScratchSection,
    pub(crate) text: ScratchSection,
    pub(crate) frame_ends: Vec<u64>,
    pub(crate) len: usize,
}

impl TableBuilder {
    pub(crate) fn with_capacity(n: usize) -> Self {
        TableBuilder {
            records: Vec::with_capacity(n),
            ..Default::default()
        }
    }

    /// A builder whose records and text go to scratch beside `index`.
    pub(crate) fn staged(index: &std::path::Path) -> Result<Self> {
        Ok(TableBuilder {
            record_sink: Some(ScratchSection::create(index, "records")?),
            text: Framer {
                sink: Some(ScratchSection::create(index, "text")?),
                ..Default::default()
            },
            ..Default::default()
        })
    }

    pub(crate) fn len(&self) -> usize {
        self.count
    }

    pub(crate) fn push(&mut self, m: PassageMeta) -> Result<()> {
        self.docs = self.docs.max(m.doc as usize + 1);
        self.count += 1;
        self.records.push(PassageRecord {
            doc: m.doc,
            lang: m.lang,
            _pad: 0,
            line_start: m.line_start,
            line_end: m.line_end,
            byte_start: m.byte_start,
            byte_end: m.byte_end,
            text_start: self.text.len(),
            text_len: m.text.len() as u64,
        });
        if self.records.len() >= RECORD_RUN {
            self.write_records()?;
        }
        self.text.push(m.text.as_bytes())
    }

    /// Writes the held records out, when staged.
    fn write_records(&mut self) -> Result<()> {
        if let Some(sink) = &mut self.record_sink {
            sink.append(bytemuck::cast_slice(&self.records))?;
            self.records.clear();
        }
        Ok(())
    }

    /// The table; with `langs`, each record's language `l` becomes
    /// `langs[l]`.
    pub(crate) fn finish(mut self, langs: Option<&[u16]>) -> PassageTable {
        debug_assert!(
            self.record_sink.is_none(),
            "a staged table is finished staged"
        );
        if let Some(map) = langs {
            self.records
                .iter_mut()
                .for_each(|r| r.lang = map[r.lang as usize]);
        }
        let langs = self.records.iter().map(|r| r.lang as usize + 1).max();
        PassageTable {
            records: Slab::from_vec(self.records),
            text: self.text.finish(),
            bounds: (self.docs, langs.unwrap_or(0)),
            lazy: false,
            checked_all: Arc::default(),
        }
    }

    /// The staged table, each record's language `l` renumbered `langs[l]`
    /// (in place in the scratch file).
    pub(crate) fn finish_staged(mut self, langs: &[u16]) -> Result<StagedTable> {
        self.write_records()?;
        let frame_ends = self.text.close()?;
        let (Some(mut records), Some(text)) = (self.record_sink, self.text.sink) else {
            unreachable!("finish_staged of a staged builder");
        };
        records.rewrite(RECORD_RUN * std::mem::size_of::<PassageRecord>(), |bytes| {
            let run: &mut [PassageRecord] = bytemuck::cast_slice_mut(bytes);
            run.iter_mut().for_each(|r| r.lang = langs[r.lang as usize]);
        })?;
        Ok(StagedTable {
            records,
            text,
            frame_ends,
            len: self.count,
        })
    }
}

impl PassageTable {
    pub fn build(metas: impl IntoIterator<Item = PassageMeta>) -> Self {
        let metas = metas.into_iter();
        let mut table = TableBuilder::with_capacity(metas.size_hint().0);
        for m in metas {
            table.push(m).expect("held passages are not written");
        }
        table.finish(None)
    }

    /// Takes what a file supplied. Records with block checksums are
    /// checked as they are read; others (older files) are checked here:
    /// ids in range, line and byte ranges in order, text ranges inside the
    /// blob. The blob's UTF-8 is checked per passage when it is read, and
    /// in full by `verify`.
    /// `frame_ends`, when the file has them, says the text is compressed
    /// (see [`Text`]).
    pub fn from_parts(
        records: Slab<PassageRecord>,
        text: Slab<u8>,
        frame_ends: Option<Slab<u64>>,
        docs: usize,
        langs: usize,
    ) -> Result<Self, Malformed> {
        if !records.is_empty() && (docs == 0 || langs == 0) {
            return Err("passages without documents or languages".into());
        }
        let text = match frame_ends {
            None => Text::Plain(text),
            Some(ends) => {
                let frames = ends.len().saturating_sub(1);
                let ok = !ends.is_empty()
                    && (ends[0] as usize).div_ceil(FRAME) == frames
                    && ends[1..].windows(2).all(|w| w[0] <= w[1])
                    && ends
                        .last()
                        .is_some_and(|&e| e as usize == text.len() || frames == 0);
                if !ok {
                    return Err("the passage text's frame table does not match it".into());
                }
                Text::Frames { data: text, ends }
            }
        };
        let table = PassageTable {
            lazy: records.has_blocks(),
            records,
            text,
            bounds: (docs, langs),
            checked_all: Arc::default(),
        };
        if !table.lazy {
            table.check_all()?;
        }
        Ok(table)
    }

    /// One pass over every record, in parallel: each run is checked against
    /// its block sums (when there are any) while in cache, then validated.
    fn check_all(&self) -> Result<(), Malformed> {
        use rayon::prelude::*;
        const RUN: usize = 8192;
        let records = &self.records;
        let bad = (0..records.len().div_ceil(RUN))
            .into_par_iter()
            .find_map_first(|c| {
                let (start, end) = (c * RUN, ((c + 1) * RUN).min(records.len()));
                if !records.check(start, end - start) {
                    return Some(Malformed::PassageChecksum { start, end });
                }
                records[start..end]
                    .iter()
                    .position(|r| !self.valid(r))
                    .map(|i| Malformed::PassageFields { id: start + i })
            });
        match bad {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    fn valid(&self, r: &PassageRecord) -> bool {
        let text_ok = r
            .text_start
            .checked_add(r.text_len)
            .is_some_and(|end| end <= self.text.len());
        (r.doc as usize) < self.bounds.0
            && (r.lang as usize) < self.bounds.1
            && r.line_start != 0
            && r.line_end >= r.line_start
            && r.byte_end >= r.byte_start
            && text_ok
    }

    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// Record `id` (< `len()`), checked if the table is lazy. A record that
    /// fails is latched in the file's slabs (the engine then refuses the
    /// answer) and replaced by a harmless stand-in.
    #[inline]
    pub fn get(&self, id: u32) -> PassageRecord {
        let i = id as usize;
        let r = self.records[i];
        if self.lazy && !(self.records.check(i, 1) && self.valid(&r)) {
            self.records.fail(i);
            return DAMAGED;
        }
        r
    }

    /// Every record, all checked (once per table).
    pub fn records(&self) -> Result<&[PassageRecord], Malformed> {
        if self.lazy {
            self.checked_all.get_or_init(|| self.check_all()).clone()?;
        }
        Ok(&self.records)
    }

    /// Full check of the records and the text, for `verify`.
    pub fn verify_text(&self) -> Result<(), Malformed> {
        self.records()?;
        if !self.text.check_all() {
            return Err("a block of the passage text fails its checksum".into());
        }
        for i in 0..self.records.len() {
            let r = self.get(i as u32);
            let bytes = self.text.bytes(r.text_start, r.text_len);
            if bytes.len() as u64 != r.text_len {
                return Err(Malformed::PassageText { id: i });
            }
            std::str::from_utf8(&bytes).map_err(|_| Malformed::PassageUtf8 { id: i })?;
        }
        Ok(())
    }

    /// The passage's text; empty if a damaged file made it unreadable or
    /// invalid UTF-8 (which `verify` reports).
    pub fn text(&self, id: u32) -> Cow<'_, str> {
        let r = self.get(id);
        match self.text.bytes(r.text_start, r.text_len) {
            Cow::Borrowed(b) => Cow::Borrowed(std::str::from_utf8(b).unwrap_or("")),
            Cow::Owned(b) => Cow::Owned(String::from_utf8(b).unwrap_or_default()),
        }
    }

    /// An owned copy of passage `id`, to rebuild a table from.
    pub fn meta(&self, id: u32) -> PassageMeta {
        let r = self.get(id);
        PassageMeta {
            doc: r.doc,
            lang: r.lang,
            line_start: r.line_start,
            line_end: r.line_end,
            byte_start: r.byte_start,
            byte_end: r.byte_end,
            text: self.text(id).to_string(),
        }
    }

    /// The records, and the text as it is written (compressed).
    pub fn parts(&self) -> (&[PassageRecord], TextSections<'_>) {
        (&self.records, self.text.sections())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_across_frames_come_back_whole() {
        // Passages of 7 KiB straddle the 32 KiB frames.
        let metas: Vec<PassageMeta> = (0..20)
            .map(|i| PassageMeta {
                doc: 0,
                lang: 0,
                line_start: i + 1,
                line_end: i + 1,
                byte_start: 0,
                byte_end: 0,
                text: format!("{i}:").repeat(1800 + i as usize),
            })
            .collect();
        let t = PassageTable::build(metas.clone());
        let (r, x) = t.parts();
        assert_eq!(
            x.ends[0] as usize,
            metas.iter().map(|m| m.text.len()).sum::<usize>()
        );
        let back = PassageTable::from_parts(
            Slab::from_vec(r.to_vec()),
            Slab::from_vec(x.data.to_vec()),
            Some(Slab::from_vec(x.ends.to_vec())),
            1,
            1,
        )
        .unwrap();
        for (i, m) in metas.iter().enumerate() {
            assert_eq!(back.text(i as u32), m.text);
        }
        assert!(back.verify_text().is_ok());
    }

    #[test]
    fn round_trip_and_validation() {
        let metas = vec![
            PassageMeta {
                doc: 0,
                lang: 1,
                line_start: 1,
                line_end: 2,
                byte_start: 0,
                byte_end: 5,
                text: "héllo".into(),
            },
            PassageMeta {
                doc: 1,
                lang: 0,
                line_start: 4,
                line_end: 4,
                byte_start: 9,
                byte_end: 12,
                text: "向量".into(),
            },
        ];
        let t = PassageTable::build(metas.clone());
        assert_eq!(t.len(), 2);
        assert_eq!(t.text(1), "向量");
        assert_eq!(t.meta(0), metas[0]);
        assert_eq!(t.get(1).line_start, 4);
        let (r, x) = t.parts();
        let (data, ends) = (x.data.to_vec(), x.ends.to_vec());
        let table = |data: Vec<u8>, ends: Vec<u64>, docs| {
            PassageTable::from_parts(
                Slab::from_vec(r.to_vec()),
                Slab::from_vec(data),
                Some(Slab::from_vec(ends)),
                docs,
                2,
            )
        };
        let back = table(data.clone(), ends.clone(), 2).unwrap();
        assert_eq!(back.text(1), "向量");
        assert_eq!(back.meta(0), metas[0]);
        // A frame table that does not cover the text, and a document id
        // out of range, are refused.
        assert!(table(data[..data.len() - 1].to_vec(), ends.clone(), 2).is_err());
        assert!(table(data.clone(), ends.clone(), 1).is_err());
    }
}
