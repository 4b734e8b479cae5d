//! A fresh build's bulk rows on their way to the file: the dense rows
//! (1-bit codes or f32) and the packed sparse term words are appended to
//! unlinked scratch files beside the index as each batch is embedded, and
//! the file writer copies them into the index through a bounded buffer
//! (`store::SectionSource`). They are the sections that grow with the
//! corpus and are not read again during a build, so holding them made the
//! build's peak memory grow with the corpus (BENCHMARKS.md, issue 10).
//! Like the counts' spill (`spill.rs`) they are written with positioned
//! I/O and never mapped: their pages stay in the page cache, not in the
//! process, and the system reclaims the files however the process ends.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use super::dense::{Codes, Dense};
use super::spill::{scratch, unlinked_beside};
use crate::error::Result;
use crate::store::SectionSource;

/// One section's bytes, appended in order to an unlinked scratch file.
#[derive(Debug)]
pub(crate) struct ScratchSection {
    file: File,
    len: u64,
    /// The index it serves, for messages.
    index: PathBuf,
}

impl ScratchSection {
    /// Makes the scratch file `.NAME.WHAT-PID` beside the index `index`
    /// and unlinks it at once.
    pub(crate) fn create(index: &Path, what: &str) -> Result<ScratchSection> {
        Ok(ScratchSection {
            file: unlinked_beside(index, what)?,
            len: 0,
            index: index.to_path_buf(),
        })
    }

    /// Appends `bytes` to the section.
    pub(crate) fn append(&mut self, bytes: &[u8]) -> Result<()> {
        self.file
            .write_all_at(bytes, self.len)
            .map_err(|e| scratch(&self.index, e))?;
        self.len += bytes.len() as u64;
        Ok(())
    }
}

impl ScratchSection {
    /// Rewrites the section in place, `chunk` bytes at a time (the last
    /// run shorter), through `f`.
    pub(crate) fn rewrite(&mut self, chunk: usize, mut f: impl FnMut(&mut [u8])) -> Result<()> {
        let mut buf = vec![0u8; chunk.min(self.len as usize)];
        let mut at = 0;
        while at < self.len {
            let n = chunk.min((self.len - at) as usize);
            let run = &mut buf[..n];
            let done = self.file.read_exact_at(run, at).and_then(|()| {
                f(run);
                self.file.write_all_at(run, at)
            });
            done.map_err(|e| scratch(&self.index, e))?;
            at += n as u64;
        }
        Ok(())
    }
}

impl SectionSource for ScratchSection {
    fn size(&self) -> u64 {
        self.len
    }

    fn read_at(&self, buf: &mut [u8], at: u64) -> io::Result<()> {
        self.file.read_exact_at(buf, at)
    }
}

/// The dense rows of a staged build: in scratch, or held when the build
/// needs them again (a graph is linked over them).
#[derive(Debug)]
pub(crate) enum StagedDense {
    Scratch(Codes, ScratchSection),
    Held(Dense),
}

/// The rows of a staged build: the dense rows, and the sparse rows packed
/// as the file stores them (their row offsets and their words, both in
/// scratch).
#[derive(Debug)]
pub(crate) struct StagedRows {
    pub(crate) dense: StagedDense,
    pub(crate) offsets: ScratchSection,
    pub(crate) words: ScratchSection,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_read_back_as_appended_and_have_no_name() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = ScratchSection::create(&dir.path().join("x.vsx"), "dense").unwrap();
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        let bytes: Vec<u8> = (0..100_000u32).map(|i| (i * 7 % 251) as u8).collect();
        for part in bytes.chunks(7_919) {
            s.append(part).unwrap();
        }
        assert_eq!(s.size(), bytes.len() as u64);
        let mut back = vec![0u8; 5_000];
        s.read_at(&mut back, 31_337).unwrap();
        assert_eq!(back, bytes[31_337..36_337]);
        assert!(s.read_at(&mut back, 99_000).is_err(), "read past the end");
    }
}
