//! A file written out of order: a fresh build's bulk sections (its dense
//! rows and packed term rows) are written straight into the index file at
//! their final offsets as each batch is embedded, rather than staged in
//! scratch files and copied in at the end. Copying them was the last
//! second of every large build, on one core (BENCHMARKS.md, issue 10).
//!
//! That works because every section before the last placed one has a
//! length known when the file is started: the sections already in hand are
//! written at once, placed ones get their room, and the sections after the
//! last placed one (whose length is known only at the end) are laid out
//! when it is done. The bytes are those [`FileWriter::save`] writes for the
//! same sections; the file checksum is made by reading the file back once
//! it is whole, since its bytes were not written in order.
//!
//! Writes go through [`ChunkedFile`], which hands the system only whole,
//! aligned 4 MiB chunks, as the sequential writer does (`atomic.rs` says
//! why: the page cache's folios, and so every search's page mapping).

use std::collections::HashMap;
use std::io::Write;
use std::os::unix::fs::FileExt;

use xxhash_rust::xxh3::Xxh3;

use super::atomic::{start_writeback, AtomicFile, CHUNK, WRITEBACK_EVERY};
use super::format::{
    companion, footer_head, footer_tail, push_entry, write_body, write_section, BlockSums, Body,
    FileWriter, HashingWriter, Placed, ALIGN, ENTRY_LEN,
};
use crate::error::{Error, Result};

/// A file started by [`FileWriter::start`]: the placed sections are
/// filled through [`StartedFile::append`], then [`StartedFile::finish`]
/// writes the rest.
pub struct StartedFile<'a> {
    out: ChunkedFile,
    version: u32,
    table: Vec<u8>,
    placed: Vec<PlacedSection>,
    /// The sections after the last placed one, laid out at the end.
    rest: Vec<(u32, Body<'a>)>,
}

/// One placed section's room and what has been written into it.
struct PlacedSection {
    id: u32,
    at: u64,
    /// Its laid-out length; `None` for the last, open-ended one.
    len: Option<u64>,
    written: u64,
    hasher: Xxh3,
    sums: Option<PlacedSums>,
    /// Its entry in the section table.
    entry: usize,
}

/// Block checksums of a placed section, made as its bytes arrive.
struct PlacedSums {
    sums: BlockSums,
    /// The bytes of a block not yet complete.
    carry: Vec<u8>,
    /// The companion section's offset and table entry, when laid out up
    /// front (a placed section of known length).
    room: Option<(u64, usize)>,
}

impl PlacedSums {
    fn add(&mut self, mut bytes: &[u8]) {
        let block = self.sums.block;
        if !self.carry.is_empty() {
            let n = (block - self.carry.len()).min(bytes.len());
            self.carry.extend_from_slice(&bytes[..n]);
            bytes = &bytes[n..];
            if self.carry.len() < block {
                return;
            }
            self.sums.add(&self.carry);
            self.carry.clear();
        }
        let whole = bytes.len() / block * block;
        self.sums.add(&bytes[..whole]);
        self.carry.extend_from_slice(&bytes[whole..]);
    }

    /// The companion section's bytes, the last (short) block summed.
    fn finish(mut self) -> Vec<u8> {
        if !self.carry.is_empty() {
            self.sums.add(&self.carry);
        }
        self.sums.bytes()
    }
}

impl<'a> FileWriter<'a> {
    /// Starts the file that will replace `path` (see [`AtomicFile`]):
    /// writes the header and every section up to the last placed one
    /// ([`FileWriter::add_placed`]), leaving room for the placed ones and
    /// their block checksums.
    pub fn start(self, path: &std::path::Path) -> Result<StartedFile<'a>> {
        let file = AtomicFile::create(path)?;
        let mut started = StartedFile {
            out: ChunkedFile::new(file),
            version: self.header.version,
            table: Vec::with_capacity(self.sections.len() * ENTRY_LEN),
            placed: Vec::new(),
            rest: Vec::new(),
        };
        let header = self.header.encode();
        let mut sections = self.sections.into_iter();
        let mut at = 0u64;
        let laid = (|| -> std::io::Result<()> {
            started.out.write_at(0, &header)?;
            at = header.len() as u64;
            for (id, body) in sections.by_ref() {
                let Body::Placed(len, blocks) = body else {
                    at = started.sequential(at, |out, table| write_body(out, table, id, &body))?;
                    continue;
                };
                at = started.pad(at)?;
                let entry = started.reserve_entry();
                let mut sums = blocks.map(|(block, algo)| PlacedSums {
                    sums: BlockSums::new(block, algo, len.unwrap_or(0) as usize),
                    carry: Vec::new(),
                    room: None,
                });
                started.placed.push(PlacedSection {
                    id,
                    at,
                    len,
                    written: 0,
                    hasher: Xxh3::new(),
                    sums: None,
                    entry,
                });
                let Some(len) = len else {
                    started.placed.last_mut().expect("pushed").sums = sums;
                    break;
                };
                at += len;
                if let (Some(s), Some((block, algo))) = (&mut sums, blocks) {
                    at = started.pad(at)?;
                    s.room = Some((at, started.reserve_entry()));
                    at += BlockSums::len_for(block, algo, len);
                }
                started.placed.last_mut().expect("pushed").sums = sums;
            }
            Ok(())
        })();
        laid.map_err(|e| Error::io(started.out.file.path(), e))?;
        started.rest = sections.collect();
        if started
            .rest
            .iter()
            .any(|(_, b)| matches!(b, Body::Placed(..)))
            || started.placed[..started.placed.len().saturating_sub(1)]
                .iter()
                .any(|p| p.len.is_none())
        {
            panic!("only the last placed section may be open-ended");
        }
        Ok(started)
    }
}

impl StartedFile<'_> {
    /// Appends `bytes` to the placed section `p`.
    pub fn append(&mut self, p: Placed, bytes: &[u8]) -> Result<()> {
        let s = &mut self.placed[p.0];
        if s.len
            .is_some_and(|len| s.written + bytes.len() as u64 > len)
        {
            return Err(Error::io(
                self.out.file.path(),
                std::io::Error::other("more bytes than a placed section's room"),
            ));
        }
        self.out
            .write_at(s.at + s.written, bytes)
            .map_err(|e| Error::io(self.out.file.path(), e))?;
        s.hasher.update(bytes);
        if let Some(sums) = &mut s.sums {
            sums.add(bytes);
        }
        s.written += bytes.len() as u64;
        Ok(())
    }

    /// Writes the placed sections' block checksums and the sections after
    /// them, the table and the footer. The file is then whole but not yet
    /// in place: [`WrittenFile::commit`] renames it.
    pub fn finish(mut self) -> Result<WrittenFile> {
        let path = self.out.file.path().to_path_buf();
        let done = (|| -> std::io::Result<()> {
            let mut end = 0;
            for s in std::mem::take(&mut self.placed) {
                if s.len.is_some_and(|len| len != s.written) {
                    return Err(std::io::Error::other(
                        "a placed section was not filled to its length",
                    ));
                }
                let at = s.at;
                patch_entry(
                    &mut self.table,
                    s.entry,
                    s.id,
                    at,
                    s.written,
                    s.hasher.digest(),
                );
                end = at + s.written;
                if let Some(sums) = s.sums {
                    let room = sums.room;
                    let bytes = sums.finish();
                    let sums_at = match room {
                        Some((sums_at, entry)) => {
                            self.out.write_at(sums_at, &bytes)?;
                            patch_entry(
                                &mut self.table,
                                entry,
                                companion(s.id),
                                sums_at,
                                bytes.len() as u64,
                                xxhash_rust::xxh3::xxh3_64(&bytes),
                            );
                            sums_at
                        }
                        None => {
                            // The open-ended section's: laid out after it.
                            let sums_at = self.pad(end)?;
                            self.sequential(sums_at, |out, table| {
                                write_section(out, table, companion(s.id), &bytes)
                            })?;
                            sums_at
                        }
                    };
                    end = end.max(sums_at + bytes.len() as u64);
                }
            }
            let rest = std::mem::take(&mut self.rest);
            for (id, body) in &rest {
                end = self.sequential(end, |out, table| write_body(out, table, *id, body))?;
            }
            let table_offset = end.next_multiple_of(8);
            self.out
                .write_at(end, &[0u8; 8][..(table_offset - end) as usize])?;
            let head = footer_head(&self.table, table_offset, self.version);
            let table = std::mem::take(&mut self.table);
            self.out.write_at(table_offset, &table)?;
            let head_at = table_offset + table.len() as u64;
            self.out.write_at(head_at, &head)?;
            self.out.flush()?;
            let tail_at = head_at + head.len() as u64;
            let sum = self.out.checksum(tail_at)?;
            // Past every chunk sent: written as is.
            self.out
                .file
                .file()?
                .write_all_at(&footer_tail(sum), tail_at)
        })();
        done.map_err(|e| Error::io(&path, e))?;
        Ok(WrittenFile(self.out.file))
    }

    /// Writes through a sequential writer from `at` (the sections in hand,
    /// and those after the placed ones); returns where it stopped.
    fn sequential(
        &mut self,
        at: u64,
        f: impl FnOnce(&mut HashingWriter, &mut Vec<u8>) -> std::io::Result<()>,
    ) -> std::io::Result<u64> {
        let mut to = At {
            out: &mut self.out,
            pos: at,
        };
        let mut w = HashingWriter::new(&mut to, at);
        f(&mut w, &mut self.table)?;
        Ok(w.written)
    }

    /// Zeros up to the next section boundary; returns it.
    fn pad(&mut self, at: u64) -> std::io::Result<u64> {
        let to = at.next_multiple_of(ALIGN as u64);
        self.out.write_at(at, &[0u8; ALIGN][..(to - at) as usize])?;
        Ok(to)
    }

    /// A table entry to fill in at the end; returns its position.
    fn reserve_entry(&mut self) -> usize {
        let entry = self.table.len() / ENTRY_LEN;
        push_entry(&mut self.table, 0, 0, 0, 0);
        entry
    }
}

fn patch_entry(table: &mut [u8], entry: usize, id: u32, offset: u64, len: u64, sum: u64) {
    let mut one = Vec::with_capacity(ENTRY_LEN);
    push_entry(&mut one, id, offset, len, sum);
    table[entry * ENTRY_LEN..(entry + 1) * ENTRY_LEN].copy_from_slice(&one);
}

/// A file whole on disk under its temporary name.
#[derive(Debug)]
pub struct WrittenFile(AtomicFile);

impl WrittenFile {
    /// Makes it durable and renames it over the path it was started for;
    /// returns its length.
    pub fn commit(self) -> Result<u64> {
        self.0.commit()
    }
}

/// Positioned writes, handed to the file in whole chunks of [`CHUNK`]
/// bytes at multiples of it: a chunk's bytes gather in memory until every
/// one of them has been written (each byte of the file is written exactly
/// once), and [`ChunkedFile::flush`] writes those left at the end. Only
/// the chunks at the edges of what is being written are held: a few
/// dozen MiB at most.
struct ChunkedFile {
    file: AtomicFile,
    chunks: HashMap<u64, (Vec<u8>, usize)>,
    /// The end of the furthest byte written.
    end: u64,
    /// Chunks handed to the system since their writeback was last started.
    unsent: Vec<u64>,
    /// Buffers of chunks sent, for the next ones: fresh 4 MiB buffers
    /// cost a page fault a page and their frees a trip to the system (2.4 s
    /// of system time more on the 711 MB index), or grow the heap.
    spare: Vec<Vec<u8>>,
    /// Set by [`ChunkedFile::flush`]: a later write could land in a chunk
    /// already sent and zero the rest of it.
    flushed: bool,
}

impl ChunkedFile {
    fn new(file: AtomicFile) -> Self {
        ChunkedFile {
            file,
            chunks: HashMap::new(),
            end: 0,
            unsent: Vec::new(),
            spare: Vec::new(),
            flushed: false,
        }
    }

    fn write_at(&mut self, mut at: u64, mut bytes: &[u8]) -> std::io::Result<()> {
        if self.flushed {
            return Err(std::io::Error::other("a chunked write after the flush"));
        }
        self.end = self.end.max(at + bytes.len() as u64);
        while !bytes.is_empty() {
            let chunk = at / CHUNK as u64;
            let from = (at % CHUNK as u64) as usize;
            let n = (CHUNK - from).min(bytes.len());
            let spare = &mut self.spare;
            let (buf, filled) = self.chunks.entry(chunk).or_insert_with(|| {
                // Zeroed: a chunk is all written before it is sent but for
                // the file's last, sent short.
                let buf = match spare.pop() {
                    Some(mut b) => {
                        b.fill(0);
                        b
                    }
                    None => vec![0u8; CHUNK],
                };
                (buf, 0)
            });
            buf[from..from + n].copy_from_slice(&bytes[..n]);
            *filled += n;
            if *filled == CHUNK {
                let (buf, _) = self.chunks.remove(&chunk).expect("just filled");
                self.send(chunk, &buf)?;
                self.spare.push(buf);
            }
            at += n as u64;
            bytes = &bytes[n..];
        }
        Ok(())
    }

    fn send(&mut self, chunk: u64, bytes: &[u8]) -> std::io::Result<()> {
        let file = self.file.file()?;
        let at = chunk * CHUNK as u64;
        file.write_all_at(bytes, at)?;
        self.unsent.push(at);
        if self.unsent.len() * CHUNK >= WRITEBACK_EVERY as usize {
            // Chunk by chunk: asked for the whole file, the system walks
            // every page of it each time.
            for at in self.unsent.drain(..) {
                start_writeback(file, at, CHUNK as u64);
            }
        }
        Ok(())
    }

    /// Writes every chunk still held, up to the end written.
    fn flush(&mut self) -> std::io::Result<()> {
        self.flushed = true;
        let mut held: Vec<u64> = self.chunks.keys().copied().collect();
        held.sort_unstable();
        for chunk in held {
            let (buf, _) = self.chunks.remove(&chunk).expect("listed");
            let len = (self.end - chunk * CHUNK as u64).min(CHUNK as u64) as usize;
            self.send(chunk, &buf[..len])?;
        }
        Ok(())
    }

    /// XXH3-64 of the file's first `len` bytes, read back.
    fn checksum(&self, len: u64) -> std::io::Result<u64> {
        let file = self.file.file()?;
        let mut hasher = Xxh3::new();
        let mut buf = vec![0u8; CHUNK];
        let mut at = 0;
        while at < len {
            let n = (CHUNK as u64).min(len - at) as usize;
            file.read_exact_at(&mut buf[..n], at)?;
            hasher.update(&buf[..n]);
            at += n as u64;
        }
        Ok(hasher.digest())
    }
}

/// A sequential view of a [`ChunkedFile`] from `pos`.
struct At<'f> {
    out: &'f mut ChunkedFile,
    pos: u64,
}

impl Write for At<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.out.write_at(self.pos, buf)?;
        self.pos += buf.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::SectionId;
    use crate::vector::BlockSum;

    /// Deterministic bytes that differ from section to section.
    fn bytes(seed: u64, n: usize) -> Vec<u8> {
        let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect()
    }

    /// A placed file is byte for byte the file written in order, whatever
    /// the pieces its placed sections arrive in, and whether or not they
    /// have block checksums.
    #[test]
    fn placed_sections_write_the_same_bytes_as_a_sequential_save() {
        let dir = tempfile::tempdir().unwrap();
        let head = bytes(1, 100);
        let dense = bytes(2, 3 * CHUNK + 12_345);
        let offsets = bytes(3, 777);
        let words = bytes(4, 2 * CHUNK + 999);
        let tail = bytes(5, 5_000);
        let header = crate::store::Header {
            dim: 8,
            n_passages: 3,
            ..Default::default()
        };
        let scan = Some((64 << 10, BlockSum::Fletcher));
        let random = Some((1 << 10, BlockSum::Xxh3));

        let mut w = FileWriter::new(header);
        w.add(SectionId::Config, &head[..]);
        w.add_blocked(SectionId::Codes, &dense[..], 64 << 10, BlockSum::Fletcher);
        w.add(SectionId::SparseOffsets, &offsets[..]);
        w.add_blocked(SectionId::TermWords, &words[..], 1 << 10, BlockSum::Xxh3);
        w.add(SectionId::UpdateState, &tail[..]);
        let whole = dir.path().join("whole.vsx");
        w.save(&whole).unwrap();

        for piece in [1usize, 4_093, 1 << 20, CHUNK + 7] {
            let mut w = FileWriter::new(header);
            w.add(SectionId::Config, &head[..]);
            let d = w.add_placed(SectionId::Codes, Some(dense.len() as u64), scan);
            let o = w.add_placed(SectionId::SparseOffsets, Some(offsets.len() as u64), None);
            let t = w.add_placed(SectionId::TermWords, None, random);
            w.add(SectionId::UpdateState, &tail[..]);
            let placed = dir.path().join(format!("placed-{piece}.vsx"));
            let mut s = w.start(&placed).unwrap();
            // Interleaved, as a build gives them.
            let (mut dc, mut wc) = (dense.chunks(piece), words.chunks(piece.max(3_000)));
            loop {
                let (a, b) = (dc.next(), wc.next());
                if a.is_none() && b.is_none() {
                    break;
                }
                if let Some(a) = a {
                    s.append(d, a).unwrap();
                }
                if let Some(b) = b {
                    s.append(t, b).unwrap();
                }
            }
            s.append(o, &offsets).unwrap();
            s.finish().unwrap().commit().unwrap();
            let (a, b) = (
                std::fs::read(&placed).unwrap(),
                std::fs::read(&whole).unwrap(),
            );
            let first = a.iter().zip(&b).position(|(x, y)| x != y);
            assert!(
                a == b,
                "pieces of {piece} bytes: lengths {} and {}, first difference at {first:?}",
                a.len(),
                b.len()
            );
            assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
            std::fs::remove_file(&placed).unwrap();
        }
    }

    /// Too many or too few bytes for a section's room are errors, and the
    /// temporary file goes with the writer.
    #[test]
    fn a_wrongly_filled_section_is_an_error_and_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.vsx");
        let mut w = FileWriter::new(crate::store::Header::default());
        let d = w.add_placed(SectionId::Codes, Some(10), None);
        let mut s = w.start(&path).unwrap();
        assert!(s.append(d, &[0u8; 11]).is_err());
        s.append(d, &[0u8; 9]).unwrap();
        assert!(s.finish().is_err());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
