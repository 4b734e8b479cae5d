//! Reading and writing the container: header, sections, table, footer.

use std::borrow::Cow;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use memmap2::Mmap;
use xxhash_rust::xxh3::{xxh3_64, Xxh3};

use crate::error::{Error, Result};
use crate::vector::{BlockCheck, BlockSum, Failure, Slab};

pub const MAGIC: [u8; 8] = *b"VSXINDEX";
const FOOTER_MAGIC: [u8; 8] = *b"VSXFOOT1";
/// The version this build writes. Version 2 added the live df, update
/// state, tombstone and term-frequency sections of incremental updates;
/// version 3 stored the passage table raw; version 4 drops the
/// term-frequency section (re-weighting re-analyzes the stored text);
/// version 5 may hold 1-bit codes (`Codes`) instead of f32 vectors;
/// version 6 packs the passages' term rows (`TermWords`) and compresses
/// their text (`TextFrames`); version 7 stores document paths relative to
/// the index file's folder (`DocPaths` says how each is shown).
pub const FORMAT_VERSION: u32 = 7;
/// The oldest version this build still reads; older files get an error that
/// names the exact command that rebuilds them.
pub const MIN_FORMAT_VERSION: u32 = 3;
const HEADER_LEN: usize = 64;
const ENTRY_LEN: usize = 32;
const FOOTER_LEN: usize = 40;
const ALIGN: usize = 64;

/// What a section holds. Numbers are part of the format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum SectionId {
    Config = 1,
    Docs = 2,
    Passages = 3,
    Idf = 4,
    Vectors = 5,
    HnswMeta = 6,
    HnswLayer0 = 7,
    HnswUpper = 8,
    SparseOffsets = 9,
    SparseKeys = 10,
    SparseWeights = 11,
    HnswUpperOffsets = 12,
    HnswUpperIds = 13,
    LiveDf = 14,
    UpdateState = 15,
    Deleted = 16,
    /// Pre-idf term weights, parallel to SparseKeys: written by version 3
    /// only, ignored on reading.
    TermFreqs = 17,
    /// Analyzer switches newer than the config section, and the lexicon
    /// (see engine/persist.rs). Optional: a file without it predates them.
    Crosslang = 18,
    /// The lexicon bridge as flat arrays: sorted source term hashes, row
    /// offsets, target term hashes, weights.
    LexiconSources = 19,
    LexiconOffsets = 20,
    LexiconTargets = 21,
    LexiconWeights = 22,
    PassageText = 23,
    /// 1-bit codes of the rotated dense vectors (`vector::bits`), one
    /// `code_words(dim)` run of u64 per passage, in place of `Vectors`.
    Codes = 24,
    /// The idf table's columns (version 5 on; `Idf` then holds its
    /// passage count only): sorted term hashes, and passages per term.
    IdfHashes = 25,
    IdfDf = 26,
    /// The live document frequencies' columns, as for the idf table.
    LiveDfHashes = 27,
    LiveDfDf = 28,
    /// Passages' term rows packed (version 6 on; see `index::terms`): one
    /// u32 per term, a 24-bit key above an 8-bit weight, in place of
    /// `SparseKeys` and `SparseWeights`.
    TermWords = 29,
    /// Where each compressed frame of `PassageText` ends (version 6 on;
    /// see `engine/passages.rs`), after the text's uncompressed length.
    TextFrames = 30,
    /// How each document's path is shown (version 7 on; see
    /// `engine/paths.rs`): one bool per document, true when the user named
    /// it by an absolute path. The document table then holds paths relative
    /// to the index file's folder, or absolute when outside it.
    DocPaths = 31,
    /// Where the pages of paged documents (PDF) start in their text
    /// (version 7 on, only when there are any): (document, offsets) pairs.
    DocPages = 32,
}

impl SectionId {
    pub fn name(self) -> &'static str {
        match self {
            SectionId::Config => "config section",
            SectionId::Docs => "document table",
            SectionId::Passages => "passage table",
            SectionId::Idf => "idf table",
            SectionId::Vectors => "vector section",
            SectionId::HnswMeta => "HNSW header section",
            SectionId::HnswLayer0 => "HNSW layer-0 section",
            SectionId::HnswUpper => "HNSW upper-layer section",
            SectionId::SparseOffsets => "sparse offset section",
            SectionId::SparseKeys => "sparse term section",
            SectionId::SparseWeights => "sparse weight section",
            SectionId::HnswUpperOffsets => "HNSW upper-layer offset section",
            SectionId::HnswUpperIds => "HNSW upper-layer id section",
            SectionId::LiveDf => "live document-frequency table",
            SectionId::UpdateState => "update state section",
            SectionId::Deleted => "tombstone section",
            SectionId::TermFreqs => "term-frequency section",
            SectionId::Crosslang => "cross-language section",
            SectionId::LexiconSources => "lexicon source section",
            SectionId::LexiconOffsets => "lexicon offset section",
            SectionId::LexiconTargets => "lexicon target section",
            SectionId::LexiconWeights => "lexicon weight section",
            SectionId::PassageText => "passage text section",
            SectionId::Codes => "code section",
            SectionId::IdfHashes => "idf term section",
            SectionId::IdfDf => "idf count section",
            SectionId::LiveDfHashes => "live document-frequency term section",
            SectionId::LiveDfDf => "live document-frequency count section",
            SectionId::TermWords => "packed term section",
            SectionId::TextFrames => "passage text frame table",
            SectionId::DocPaths => "document path section",
            SectionId::DocPages => "document page section",
        }
    }

    pub fn from_u32(v: u32) -> Option<Self> {
        Some(match v {
            1 => SectionId::Config,
            2 => SectionId::Docs,
            3 => SectionId::Passages,
            4 => SectionId::Idf,
            5 => SectionId::Vectors,
            6 => SectionId::HnswMeta,
            7 => SectionId::HnswLayer0,
            8 => SectionId::HnswUpper,
            9 => SectionId::SparseOffsets,
            10 => SectionId::SparseKeys,
            11 => SectionId::SparseWeights,
            12 => SectionId::HnswUpperOffsets,
            13 => SectionId::HnswUpperIds,
            14 => SectionId::LiveDf,
            15 => SectionId::UpdateState,
            16 => SectionId::Deleted,
            17 => SectionId::TermFreqs,
            18 => SectionId::Crosslang,
            19 => SectionId::LexiconSources,
            20 => SectionId::LexiconOffsets,
            21 => SectionId::LexiconTargets,
            22 => SectionId::LexiconWeights,
            23 => SectionId::PassageText,
            24 => SectionId::Codes,
            25 => SectionId::IdfHashes,
            26 => SectionId::IdfDf,
            27 => SectionId::LiveDfHashes,
            28 => SectionId::LiveDfDf,
            29 => SectionId::TermWords,
            30 => SectionId::TextFrames,
            31 => SectionId::DocPaths,
            32 => SectionId::DocPages,
            _ => return None,
        })
    }
}

/// The fixed-size facts readable without decoding any section.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Header {
    pub version: u32,
    /// 0 = flat, 1 = HNSW.
    pub kind: u32,
    pub dim: u32,
    pub n_passages: u64,
    pub n_docs: u64,
    pub seed: u64,
}

impl Header {
    fn encode(&self) -> [u8; HEADER_LEN] {
        let mut b = [0u8; HEADER_LEN];
        b[0..8].copy_from_slice(&MAGIC);
        b[8..12].copy_from_slice(&self.version.to_le_bytes());
        b[12..16].copy_from_slice(&(HEADER_LEN as u32).to_le_bytes());
        b[16..20].copy_from_slice(&self.kind.to_le_bytes());
        b[20..24].copy_from_slice(&self.dim.to_le_bytes());
        b[24..32].copy_from_slice(&self.n_passages.to_le_bytes());
        b[32..40].copy_from_slice(&self.n_docs.to_le_bytes());
        b[40..48].copy_from_slice(&self.seed.to_le_bytes());
        let sum = xxh3_64(&b[..56]);
        b[56..64].copy_from_slice(&sum.to_le_bytes());
        b
    }
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}
fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

/// Collects sections, then writes the whole file atomically.
pub struct FileWriter<'a> {
    header: Header,
    sections: Vec<(u32, Body<'a>)>,
}

/// A section's bytes: in memory, or read from a [`SectionSource`] as the
/// file is written (with its block checksums, if any, made on the way).
enum Body<'a> {
    Bytes(Cow<'a, [u8]>),
    Stream(&'a dyn SectionSource, Option<(usize, BlockSum)>),
}

/// Bytes of a section that live outside the process's memory (a build's
/// scratch file, see `engine/staged.rs`): the writer copies them into the
/// file through a bounded buffer, so a section of any size costs
/// 1 MiB of memory to write.
pub trait SectionSource: Sync {
    /// The section's length in bytes.
    fn size(&self) -> u64;
    /// Fills `buf` with the bytes at `at`.
    fn read_at(&self, buf: &mut [u8], at: u64) -> std::io::Result<()>;
}

/// Bytes copied at a time from a [`SectionSource`]: a multiple of every
/// block size a section is checked by (up to 64 KiB in practice), so each
/// buffer holds whole blocks.
const COPY_BUFFER: usize = 1 << 20;

/// The id of the section holding the block checksums of section `id`.
pub fn block_sums_id(id: SectionId) -> u32 {
    BLOCK_SUMS | id as u32
}

/// Set in the id of a block-checksum section; the low bits name the
/// section it covers.
const BLOCK_SUMS: u32 = 0x100;

/// A section's name for messages and `info`, block checksums included.
pub fn section_name(id: u32) -> String {
    match SectionId::from_u32(id & !BLOCK_SUMS) {
        Some(s) if id & BLOCK_SUMS != 0 => format!("block checksums of the {}", s.name()),
        Some(s) => s.name().to_string(),
        None => format!("unknown section {id}"),
    }
}

impl<'a> FileWriter<'a> {
    pub fn new(header: Header) -> Self {
        FileWriter {
            header: Header {
                version: FORMAT_VERSION,
                ..header
            },
            sections: Vec::new(),
        }
    }

    pub fn add(&mut self, id: SectionId, bytes: impl Into<Cow<'a, [u8]>>) {
        self.sections.push((id as u32, Body::Bytes(bytes.into())));
    }

    /// Adds a section read from `source` while the file is written, with
    /// block checksums as [`FileWriter::add_blocked`] makes them when
    /// `blocks` is given (the file is byte for byte the one those bytes
    /// added from memory would give).
    pub fn add_streamed(
        &mut self,
        id: SectionId,
        source: &'a dyn SectionSource,
        blocks: Option<(usize, BlockSum)>,
    ) {
        if let Some((block, _)) = blocks {
            assert!(
                block.is_power_of_two() && COPY_BUFFER.is_multiple_of(block),
                "block size {block}"
            );
        }
        self.sections
            .push((id as u32, Body::Stream(source, blocks)));
    }

    /// Adds a bulk section together with XXH3-64 checksums of each `block`
    /// bytes of it (a power of two), so readers can verify just the
    /// blocks they touch; see [`MappedFile::slab`]. The sums go in a
    /// companion section, [`block_sums_id`] of `id`: the block size (with
    /// the algorithm in the high half), then the sums.
    pub fn add_blocked(
        &mut self,
        id: SectionId,
        bytes: impl Into<Cow<'a, [u8]>>,
        block: usize,
        algo: BlockSum,
    ) {
        assert!(block.is_power_of_two(), "block size {block}");
        let bytes = bytes.into();
        let mut sums = BlockSums::new(block, algo, bytes.len());
        sums.add(&bytes);
        self.sections.push((id as u32, Body::Bytes(bytes)));
        self.sections
            .push((block_sums_id(id), Body::Bytes(Cow::Owned(sums.bytes()))));
    }

    /// Writes everything to `w`, returning nothing but I/O errors.
    pub fn write_to(&self, w: &mut dyn Write) -> std::io::Result<()> {
        let mut out = HashingWriter {
            inner: w,
            hasher: Xxh3::new(),
            written: 0,
        };
        out.write_all(&self.header.encode())?;
        let mut table = Vec::with_capacity(self.sections.len() * ENTRY_LEN);
        for (id, body) in &self.sections {
            match body {
                Body::Bytes(bytes) => write_section(&mut out, &mut table, *id, bytes)?,
                Body::Stream(source, blocks) => {
                    out.pad_to(ALIGN)?;
                    let offset = out.written;
                    let (len, sum, sums) = copy_section(&mut out, *source, *blocks)?;
                    push_entry(&mut table, *id, offset, len, sum);
                    if let Some(sums) = sums {
                        let covered = SectionId::from_u32(*id).expect("added by its id");
                        let id = block_sums_id(covered);
                        write_section(&mut out, &mut table, id, &sums.bytes())?;
                    }
                }
            }
        }
        out.pad_to(8)?;
        let table_offset = out.written;
        let count = table.len() / ENTRY_LEN;
        out.write_all(&table)?;
        let mut footer = [0u8; FOOTER_LEN];
        footer[0..8].copy_from_slice(&table_offset.to_le_bytes());
        footer[8..12].copy_from_slice(&(count as u32).to_le_bytes());
        footer[12..16].copy_from_slice(&self.header.version.to_le_bytes());
        footer[16..24].copy_from_slice(&xxh3_64(&table).to_le_bytes());
        out.write_all(&footer[..24])?;
        let file_sum = out.hasher.digest();
        footer[24..32].copy_from_slice(&file_sum.to_le_bytes());
        footer[32..40].copy_from_slice(&FOOTER_MAGIC);
        out.write_all(&footer[24..])?;
        out.inner.flush()
    }

    pub fn save(&self, path: &Path) -> Result<u64> {
        super::write_atomically(path, |w| self.write_to(w))
    }
}

/// Writes a section held in memory, and its table entry.
fn write_section(
    out: &mut HashingWriter,
    table: &mut Vec<u8>,
    id: u32,
    bytes: &[u8],
) -> std::io::Result<()> {
    out.pad_to(ALIGN)?;
    let offset = out.written;
    out.write_all(bytes)?;
    push_entry(table, id, offset, bytes.len() as u64, xxh3_64(bytes));
    Ok(())
}

/// Appends a section table entry.
fn push_entry(table: &mut Vec<u8>, id: u32, offset: u64, len: u64, sum: u64) {
    table.extend_from_slice(&id.to_le_bytes());
    table.extend_from_slice(&0u32.to_le_bytes());
    table.extend_from_slice(&offset.to_le_bytes());
    table.extend_from_slice(&len.to_le_bytes());
    table.extend_from_slice(&sum.to_le_bytes());
}

/// Copies `source` to `out` a buffer at a time, returning its length, its
/// XXH3-64 (the same as of the bytes whole) and its block checksums. A
/// second thread reads and sums the next buffers while this one hashes
/// the last into the file's checksum and writes it: a build's largest
/// sections pass through here, and done in turn they kept a core idle.
fn copy_section(
    out: &mut HashingWriter,
    source: &dyn SectionSource,
    blocks: Option<(usize, BlockSum)>,
) -> std::io::Result<(u64, u64, Option<BlockSums>)> {
    use std::sync::mpsc::sync_channel;
    let len = source.size();
    let size = COPY_BUFFER.min(len as usize);
    // Two buffers go round: filled by the reader, emptied by the writer.
    let (filled_tx, filled) = sync_channel::<Vec<u8>>(2);
    let (empty_tx, empty) = sync_channel::<Vec<u8>>(2);
    for _ in 0..2 {
        empty_tx
            .send(vec![0u8; size])
            .expect("the receiver is here");
    }
    std::thread::scope(|scope| {
        let reader = scope.spawn(move || -> std::io::Result<(u64, Option<BlockSums>)> {
            let mut sums = blocks.map(|(block, algo)| BlockSums::new(block, algo, len as usize));
            let mut hasher = Xxh3::new();
            let mut at = 0;
            while at < len {
                // The writer stopped (a write failed): stop reading.
                let Ok(mut buf) = empty.recv() else { break };
                let n = COPY_BUFFER.min((len - at) as usize);
                buf.truncate(n);
                source.read_at(&mut buf, at)?;
                hasher.update(&buf);
                if let Some(s) = &mut sums {
                    s.add(&buf);
                }
                at += n as u64;
                if filled_tx.send(buf).is_err() {
                    break;
                }
            }
            Ok((hasher.digest(), sums))
        });
        let mut wrote = Ok(());
        for buf in filled.iter() {
            if let Err(e) = out.write_all(&buf) {
                wrote = Err(e);
                break;
            }
            // The reader may be done and gone: the buffer is not needed.
            let _ = empty_tx.send(buf);
        }
        drop(empty_tx);
        drop(filled);
        let read = reader.join().expect("the section reader does not panic");
        wrote?;
        let (sum, sums) = read?;
        Ok((len, sum, sums))
    })
}

/// The companion section of block checksums (see
/// [`FileWriter::add_blocked`]): the block size with the algorithm in its
/// high half, then each block's sum.
struct BlockSums {
    block: usize,
    algo: BlockSum,
    sums: Vec<u64>,
}

impl BlockSums {
    fn new(block: usize, algo: BlockSum, len: usize) -> BlockSums {
        let mut sums = Vec::with_capacity(1 + algo.width() * len.div_ceil(block));
        sums.push(block as u64 | (algo as u64) << 32);
        BlockSums { block, algo, sums }
    }

    /// Sums the blocks of `bytes`, the section's next bytes: every call
    /// but the last must add whole blocks.
    fn add(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(self.block) {
            self.sums
                .extend_from_slice(&self.algo.sum(chunk)[..self.algo.width()]);
        }
    }

    fn bytes(&self) -> Vec<u8> {
        bytemuck::cast_slice::<u64, u8>(&self.sums).to_vec()
    }
}

struct HashingWriter<'w> {
    inner: &'w mut dyn Write,
    hasher: Xxh3,
    written: u64,
}

impl HashingWriter<'_> {
    fn pad_to(&mut self, align: usize) -> std::io::Result<()> {
        let pad = (align - (self.written as usize % align)) % align;
        self.write_all(&[0u8; ALIGN][..pad])
    }
}

impl Write for HashingWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.written += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// How much of the file to check when opening it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verify {
    /// Header, table and footer only: O(1) in the file size.
    Structure,
    /// Every section's checksum and the whole-file checksum too.
    Full,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    id: u32,
    offset: usize,
    len: usize,
    checksum: u64,
}

/// An index file mapped into memory, its structure checked.
pub struct MappedFile {
    path: PathBuf,
    map: Arc<Mmap>,
    pub header: Header,
    entries: Vec<Entry>,
    /// The first block of any slab of this file that failed its checksum.
    failure: Failure,
}

/// The mapping of an index file, for handing pages the process no longer
/// reads back to the kernel.
///
/// A full check reads every byte through the mapping, so every page of the
/// file counts in the process's resident memory afterwards. A server that
/// then copies its hot sections into memory of its own
/// (`Index::make_resident`) would hold those bytes twice, and a server
/// that reloads a growing file, more and more of them.
#[derive(Clone)]
pub struct MappedPages(Arc<Mmap>);

impl MappedPages {
    /// Drops the whole pages inside `bytes` from this process's page
    /// tables; the page cache keeps them, and a later read of them maps
    /// them again (a minor fault), so nothing that reads `bytes` sees a
    /// difference but its speed. Bytes outside this mapping are left
    /// alone. Returns the bytes given back.
    pub fn release(&self, bytes: &[u8]) -> usize {
        const PAGE: usize = 4096;
        let base = self.0.as_ptr() as usize;
        let (start, end) = (
            bytes.as_ptr() as usize,
            bytes.as_ptr() as usize + bytes.len(),
        );
        if bytes.is_empty() || start < base || end > base + self.0.len() {
            return 0;
        }
        // Whole pages only: a page shared with a neighbouring section
        // stays, as the neighbour may be in use.
        let (first, last) = (
            (start - base).next_multiple_of(PAGE),
            (end - base) & !(PAGE - 1),
        );
        if last <= first {
            return 0;
        }
        // The kernel maps a file's large folios whole (2 MiB at a time)
        // when any byte of them is read, which would map these pages again
        // for a read of a neighbouring section: such pages are kept to
        // single-page mappings.
        #[cfg(target_os = "linux")]
        let _ = self
            .0
            .advise_range(memmap2::Advice::NoHugePage, first, last - first);
        // SAFETY: the range lies inside the mapping, and the mapping is the
        // read-only shared mapping of a file that `MappedFile::open` made
        // (this type has no other constructor): MADV_DONTNEED on it only
        // unmaps pages, which the next access maps again from the file's
        // unchanged bytes (writers rename new files, never write in
        // place). No byte anyone reads changes.
        let done = unsafe {
            self.0
                .unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, first, last - first)
        };
        if done.is_ok() {
            last - first
        } else {
            0
        }
    }
}

impl MappedFile {
    pub fn open(path: &Path, verify: Verify) -> Result<MappedFile> {
        let file = File::open(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Error::NotFound {
                path: path.to_path_buf(),
            },
            _ => Error::io(path, e),
        })?;
        let meta = file.metadata().map_err(|e| Error::io(path, e))?;
        if meta.is_dir() {
            return Err(Error::NotAnIndex {
                path: path.to_path_buf(),
                detail: "it is a directory".into(),
            });
        }
        // SAFETY: the file is only read. Writers never modify an index in
        // place (they rename a new file over it), so the mapped bytes do not
        // change under us.
        let map = unsafe { Mmap::map(&file) }.map_err(|e| Error::io(path, e))?;
        // A hint, ignored where unsupported. Pages that are not cached are
        // then read in 2 MiB folios, which later commands map in a few
        // faults: after a cold read a warm flat `search` of 1.49M passages
        // took 44–47 ms of CPU with it and 73–77 ms without, the
        // difference being the page faults over its code section
        // (BENCHMARKS.md, ninth session).
        #[cfg(target_os = "linux")]
        let _ = map.advise(memmap2::Advice::HugePage);
        let (header, entries) = check_structure(path, &map, verify)?;
        Ok(MappedFile {
            path: path.to_path_buf(),
            map: Arc::new(map),
            header,
            entries,
            failure: Failure::default(),
        })
    }

    /// Where readers of this file's slabs latch the first bad block.
    pub fn failure(&self) -> Failure {
        self.failure.clone()
    }

    /// The error for a latched block failure, if any.
    pub fn failure_error(path: &Path, failure: &Failure) -> Option<Error> {
        failure.get().map(|&(id, block)| Error::Checksum {
            path: path.to_path_buf(),
            section: format!("{} (block {block})", section_name(id)),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A handle on this file's mapping for giving its pages back.
    pub fn pages(&self) -> MappedPages {
        MappedPages(self.map.clone())
    }

    pub fn len(&self) -> u64 {
        self.map.len() as u64
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    pub fn section(&self, id: SectionId) -> Result<&[u8]> {
        let e = self
            .entries
            .iter()
            .find(|e| e.id == id as u32)
            .ok_or_else(|| Error::Corrupt {
                path: self.path.clone(),
                detail: format!("the {} is missing", id.name()),
            })?;
        Ok(&self.map[e.offset..e.offset + e.len])
    }

    /// Whether the file holds block checksums of section `id`.
    pub fn has_section_sums(&self, id: SectionId) -> bool {
        self.entries.iter().any(|e| e.id == block_sums_id(id))
    }

    pub fn has_section(&self, id: SectionId) -> bool {
        self.entries.iter().any(|e| e.id == id as u32)
    }

    /// A zero-copy view of a raw little-endian section.
    ///
    /// When the file holds block checksums of the section (see
    /// [`FileWriter::add_blocked`]), they are checked themselves (8 bytes a
    /// block) and attached, so readers verify each block on first touch.
    pub fn slab<T: bytemuck::Pod + Send + Sync>(&self, id: SectionId) -> Result<Slab<T>> {
        let bytes = self.section(id)?;
        let bad = |what: String| Error::Corrupt {
            path: self.path.clone(),
            detail: format!("the {} is {what}", id.name()),
        };
        // SAFETY: `bytes` lies inside the map that the Arc keeps alive, and
        // the map is read-only.
        let slab = unsafe { Slab::from_owner(self.map.clone(), bytes) }
            .map_err(|e| bad(format!("{e:?}")))?;
        let sums_id = block_sums_id(id);
        let Some(e) = self.entries.iter().find(|e| e.id == sums_id) else {
            return Ok(slab);
        };
        let raw = &self.map[e.offset..e.offset + e.len];
        if xxh3_64(raw) != e.checksum {
            return Err(Error::Checksum {
                path: self.path.clone(),
                section: section_name(sums_id),
            });
        }
        let head = if raw.len() >= 8 { u64_at(raw, 0) } else { 0 };
        let block = (head & 0xffff_ffff) as usize;
        let algo = BlockSum::from_u32((head >> 32) as u32);
        let Some(algo) = algo.filter(|_| block.is_power_of_two()) else {
            return Err(bad(format!(
                "checked by an unknown block checksum ({head:#x})"
            )));
        };
        // SAFETY: as above; the sums follow the 8-byte block size, so they
        // keep the section's 64-byte alignment modulo 8.
        let sums = unsafe { Slab::<u64>::from_owner(self.map.clone(), &raw[8..]) }
            .map_err(|e| bad(format!("missing its block checksums ({e:?})")))?;
        let check = BlockCheck::new(id as u32, block, algo, sums, self.failure.clone());
        slab.with_blocks(check)
            .map_err(|_| bad("not covered by its block checksums".into()))
    }

    /// Decodes a structured section after checking its checksum: decoding
    /// reads every byte anyway, and a corrupt length prefix must never reach
    /// the decoder (it would ask for gigabytes).
    pub fn decode<T: serde::de::DeserializeOwned>(&self, id: SectionId) -> Result<T> {
        self.verify_section(id)?;
        super::codec::decode(self.section(id)?).map_err(|e| Error::Corrupt {
            path: self.path.clone(),
            detail: format!("the {} does not decode: {e}", id.name()),
        })
    }

    /// Checks every checksum; names the first bad part.
    pub fn verify_all(&self) -> Result<()> {
        verify_sections(&self.path, &self.map, &self.entries)
    }

    /// Checks the checksum of one section (every copy of it, if the table
    /// lists it twice). A missing section is not an error here.
    pub fn verify_section(&self, id: SectionId) -> Result<()> {
        for e in self.entries.iter().filter(|e| e.id == id as u32) {
            if xxh3_64(&self.map[e.offset..e.offset + e.len]) != e.checksum {
                return Err(Error::Checksum {
                    path: self.path.clone(),
                    section: id.name().to_string(),
                });
            }
        }
        Ok(())
    }

    /// How many sections the table lists.
    pub fn section_count(&self) -> usize {
        self.entries.len()
    }

    /// The byte range `(offset, len)` of each section, in table order.
    pub fn section_ranges(&self) -> Vec<(u32, u64, u64)> {
        self.entries
            .iter()
            .map(|e| (e.id, e.offset as u64, e.len as u64))
            .collect()
    }
}

/// The file's frame, checked from the outside in: magic, length,
/// version, header checksum, footer, section table, each section's bounds
/// (and with `Verify::Full`, each section's checksum). checklist: one
/// check after another, each with its own error, longer than most
/// functions on purpose; split, the order of the checks would be harder
/// to see.
fn check_structure(path: &Path, b: &[u8], verify: Verify) -> Result<(Header, Vec<Entry>)> {
    let p = || path.to_path_buf();
    if b.len() < 8 || b[..8] != MAGIC {
        return Err(Error::NotAnIndex {
            path: p(),
            detail: if b.is_empty() {
                "the file is empty".into()
            } else {
                "bad magic number".into()
            },
        });
    }
    if b.len() < HEADER_LEN + FOOTER_LEN {
        return Err(Error::Truncated {
            path: p(),
            detail: format!("{} bytes, shorter than a header and footer", b.len()),
        });
    }
    let version = u32_at(b, 8);
    if version > FORMAT_VERSION {
        return Err(Error::NewerVersion {
            path: p(),
            found: version,
            supported: FORMAT_VERSION,
        });
    }
    if version < MIN_FORMAT_VERSION {
        return Err(Error::OlderVersion {
            path: p(),
            found: version,
            supported: FORMAT_VERSION,
        });
    }
    if xxh3_64(&b[..56]) != u64_at(b, 56) {
        return Err(Error::Checksum {
            path: p(),
            section: "header".into(),
        });
    }
    let header = Header {
        version,
        kind: u32_at(b, 16),
        dim: u32_at(b, 20),
        n_passages: u64_at(b, 24),
        n_docs: u64_at(b, 32),
        seed: u64_at(b, 40),
    };
    let f = &b[b.len() - FOOTER_LEN..];
    if f[32..40] != FOOTER_MAGIC {
        return Err(Error::Truncated {
            path: p(),
            detail: "the footer is missing".into(),
        });
    }
    let table_offset = u64_at(f, 0) as usize;
    let count = u32_at(f, 8) as usize;
    let table_end = table_offset.checked_add(count.saturating_mul(ENTRY_LEN));
    if u32_at(f, 12) != version
        || table_offset < HEADER_LEN
        || table_end != Some(b.len() - FOOTER_LEN)
    {
        return Err(Error::Corrupt {
            path: p(),
            detail: "the footer does not match the file".into(),
        });
    }
    let table = &b[table_offset..b.len() - FOOTER_LEN];
    if xxh3_64(table) != u64_at(f, 16) {
        return Err(Error::Checksum {
            path: p(),
            section: "section table".into(),
        });
    }
    let mut entries = Vec::with_capacity(count);
    for e in table.chunks_exact(ENTRY_LEN) {
        let entry = Entry {
            id: u32_at(e, 0),
            offset: u64_at(e, 8) as usize,
            len: u64_at(e, 16) as usize,
            checksum: u64_at(e, 24),
        };
        let in_bounds = entry
            .offset
            .checked_add(entry.len)
            .is_some_and(|end| entry.offset >= HEADER_LEN && end <= table_offset);
        if !in_bounds || !entry.offset.is_multiple_of(ALIGN) {
            return Err(Error::Corrupt {
                path: p(),
                detail: format!("section {} lies outside the file", entry.id),
            });
        }
        entries.push(entry);
    }
    if verify == Verify::Full {
        verify_sections(path, b, &entries)?;
    }
    Ok((header, entries))
}

fn verify_sections(path: &Path, b: &[u8], entries: &[Entry]) -> Result<()> {
    for e in entries {
        if xxh3_64(&b[e.offset..e.offset + e.len]) != e.checksum {
            return Err(Error::Checksum {
                path: path.to_path_buf(),
                section: section_name(e.id),
            });
        }
    }
    // Padding and anything a section checksum does not cover.
    let body = &b[..b.len() - 16];
    if xxh3_64(body) != u64_at(b, b.len() - 16) {
        return Err(Error::Checksum {
            path: path.to_path_buf(),
            section: "file (outside any section)".into(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(dir: &Path) -> PathBuf {
        let path = dir.join("t.vsx");
        let mut w = FileWriter::new(Header {
            dim: 2,
            n_passages: 3,
            ..Default::default()
        });
        let floats: Vec<f32> = vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        w.add(SectionId::Config, b"hello".to_vec());
        w.add(SectionId::Vectors, bytemuck::cast_slice(&floats).to_vec());
        w.save(&path).unwrap();
        path
    }

    #[test]
    fn round_trip_and_zero_copy_slab() {
        let dir = tempfile::tempdir().unwrap();
        let path = sample(dir.path());
        let f = MappedFile::open(&path, Verify::Full).unwrap();
        assert_eq!(f.header.dim, 2);
        assert_eq!(f.section(SectionId::Config).unwrap(), b"hello");
        let s: Slab<f32> = f.slab(SectionId::Vectors).unwrap();
        assert_eq!(&s[..], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        assert_eq!(s.as_ptr() as usize % 64, 0);
    }

    /// The mapping carries the huge-page advice (`VmFlags: hg` in
    /// `/proc/self/smaps`): it is what lets uncached pages come back in
    /// 2 MiB folios, and a hint whose loss no answer would show.
    #[cfg(target_os = "linux")]
    #[test]
    fn the_mapping_is_advised_huge() {
        if !Path::new("/sys/kernel/mm/transparent_hugepage").exists() {
            eprintln!("skipped: this kernel has no transparent huge pages to advise");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let path = sample(dir.path());
        let f = MappedFile::open(&path, Verify::Full).unwrap();
        let at = f.map.as_ptr() as usize;
        let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap();
        let mut inside = false;
        let mut flags = None;
        for line in smaps.lines() {
            if let Some((range, _)) = line.split_once(' ') {
                if let Some((lo, hi)) = range.split_once('-') {
                    if let (Ok(lo), Ok(hi)) =
                        (usize::from_str_radix(lo, 16), usize::from_str_radix(hi, 16))
                    {
                        inside = (lo..hi).contains(&at);
                        continue;
                    }
                }
            }
            if inside {
                if let Some(v) = line.strip_prefix("VmFlags:") {
                    flags = Some(v.split_whitespace().map(String::from).collect::<Vec<_>>());
                }
            }
        }
        let flags = flags.expect("the mapping is listed with its flags");
        assert!(flags.iter().any(|f| f == "hg"), "{flags:?}");
    }

    /// Pages given back read the same bytes again, pages outside the
    /// mapping or shared with a neighbour are left alone, and on Linux the
    /// process's resident pages of the mapping really drop.
    #[test]
    fn released_pages_read_the_same_and_leave_the_process() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.vsx");
        let floats: Vec<f32> = (0..(64 << 10)).map(|i| i as f32).collect();
        let mut w = FileWriter::new(Header {
            dim: 4,
            n_passages: floats.len() as u64 / 4,
            ..Default::default()
        });
        w.add(SectionId::Config, b"hello".to_vec());
        w.add(SectionId::Vectors, bytemuck::cast_slice(&floats).to_vec());
        w.save(&path).unwrap();
        let f = MappedFile::open(&path, Verify::Full).unwrap();
        let s: Slab<f32> = f.slab(SectionId::Vectors).unwrap();
        let before: f64 = s.iter().map(|&x| f64::from(x)).sum();
        let resident = || mapping_rss_kb(&path);
        let touched = resident();
        let pages = f.pages();
        let given = pages.release(bytemuck::cast_slice(&s));
        // 256 KiB of floats from a 64-byte aligned start: all but the
        // first partial page.
        assert!(given >= (256 << 10) - 8192, "{given}");
        assert_eq!(given % 4096, 0);
        if let (Some(t), Some(after)) = (touched, resident()) {
            assert!(
                after + (given as u64 >> 10) <= t + 8,
                "{t} kB -> {after} kB"
            );
        } else {
            eprintln!("skipped: the resident check needs /proc/self/smaps");
        }
        let again: f64 = s.iter().map(|&x| f64::from(x)).sum();
        assert_eq!(again, before);
        assert_eq!(&s[..4], &[0.0, 1.0, 2.0, 3.0]);
        // Not this mapping's bytes, or less than a page: nothing.
        let other = vec![0u8; 1 << 16];
        assert_eq!(pages.release(&other), 0);
        assert_eq!(
            pages.release(&f.section(SectionId::Config).unwrap()[..5]),
            0
        );
        assert_eq!(f.section(SectionId::Config).unwrap(), b"hello");
    }

    /// The resident kB of the mapping of `path` in this process.
    fn mapping_rss_kb(path: &Path) -> Option<u64> {
        let smaps = std::fs::read_to_string("/proc/self/smaps").ok()?;
        let name = path.to_str()?;
        let mut total = None;
        let mut inside = false;
        for line in smaps.lines() {
            let head = line.split_whitespace().next().unwrap_or("");
            if head.contains('-') && !head.ends_with(':') {
                inside = line.ends_with(name);
            } else if inside && head == "Rss:" {
                let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
                *total.get_or_insert(0) += kb;
            }
        }
        total
    }

    /// Bytes in memory, read as a stream.
    struct Streamed(Vec<u8>);
    impl SectionSource for Streamed {
        fn size(&self) -> u64 {
            self.0.len() as u64
        }
        fn read_at(&self, buf: &mut [u8], at: u64) -> std::io::Result<()> {
            buf.copy_from_slice(&self.0[at as usize..at as usize + buf.len()]);
            Ok(())
        }
    }

    #[test]
    fn a_streamed_section_writes_the_bytes_of_one_held_in_memory() {
        // Lengths around the block sizes and the copy buffer, past it.
        for (len, block, algo) in [
            (0, 1 << 10, BlockSum::Xxh3),
            (1, 1 << 16, BlockSum::Fletcher),
            (1023, 1 << 10, BlockSum::Xxh3),
            (COPY_BUFFER, 1 << 16, BlockSum::Fletcher),
            (COPY_BUFFER * 2 + 4_099, 1 << 10, BlockSum::Xxh3),
            (COPY_BUFFER + 65_541, 1 << 16, BlockSum::Fletcher),
        ] {
            let bytes: Vec<u8> = (0..len as u64)
                .map(|i| (i.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 56) as u8)
                .collect();
            let header = Header {
                dim: 8,
                n_passages: 1,
                ..Default::default()
            };
            let mut held = FileWriter::new(header);
            held.add(SectionId::Config, b"before".to_vec());
            held.add_blocked(SectionId::Codes, bytes.clone(), block, algo);
            held.add_blocked(SectionId::TermWords, bytes.clone(), block, algo);
            held.add(SectionId::Deleted, b"after".to_vec());
            let source = Streamed(bytes.clone());
            let mut streamed = FileWriter::new(header);
            streamed.add(SectionId::Config, b"before".to_vec());
            streamed.add_streamed(SectionId::Codes, &source, Some((block, algo)));
            streamed.add_streamed(SectionId::TermWords, &source, Some((block, algo)));
            streamed.add(SectionId::Deleted, b"after".to_vec());
            let (mut a, mut b) = (Vec::new(), Vec::new());
            held.write_to(&mut a).unwrap();
            streamed.write_to(&mut b).unwrap();
            assert!(a == b, "length {len}, block {block}");
        }
        // Without block sums, the section alone.
        let source = Streamed(vec![7u8; 3 * COPY_BUFFER / 2]);
        let mut held = FileWriter::new(Header::default());
        held.add(SectionId::Vectors, source.0.clone());
        let mut streamed = FileWriter::new(Header::default());
        streamed.add_streamed(SectionId::Vectors, &source, None);
        let (mut a, mut b) = (Vec::new(), Vec::new());
        held.write_to(&mut a).unwrap();
        streamed.write_to(&mut b).unwrap();
        assert!(a == b);
    }

    #[test]
    fn every_single_byte_flip_is_caught() {
        let dir = tempfile::tempdir().unwrap();
        let path = sample(dir.path());
        let good = std::fs::read(&path).unwrap();
        for i in 0..good.len() {
            let mut bad = good.clone();
            bad[i] ^= 0x40;
            std::fs::write(&path, &bad).unwrap();
            assert!(
                MappedFile::open(&path, Verify::Full).is_err(),
                "flip at {i} went unnoticed"
            );
        }
        for cut in 0..good.len() {
            std::fs::write(&path, &good[..cut]).unwrap();
            assert!(
                MappedFile::open(&path, Verify::Full).is_err(),
                "cut at {cut} went unnoticed"
            );
        }
    }
}
