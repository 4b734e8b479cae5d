//! A build's scratch file for the term counts between analysis and
//! embedding (see `counts.rs`): made next to the index being written and
//! unlinked at once, so it takes no name in the folder and the system
//! reclaims it however the process ends (success, error, signal, crash).
//! It is written and read with plain positioned I/O, not mapped: its pages
//! stay in the page cache, which the kernel may drop or write back, and do
//! not count in the process's memory.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::counts::CountArena;
use crate::error::{Error, Result};

/// The unlinked scratch file.
#[derive(Debug)]
pub(crate) struct Spill {
    file: File,
    /// Where the next arena goes: arenas are written from several
    /// threads, each to a range it reserved here.
    end: AtomicU64,
    /// The index it serves, for messages.
    index: PathBuf,
}

/// Where one arena lies in the spill.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SpilledArena {
    at: u64,
    rows: u32,
    terms: u64,
}

impl SpilledArena {
    pub(crate) fn rows(&self) -> usize {
        self.rows as usize
    }

    pub(crate) fn terms(&self) -> usize {
        self.terms as usize
    }
}

impl Spill {
    /// Makes the scratch file for the index `index` in its folder, and
    /// unlinks it. The name is the index's, hidden, with the process id.
    pub(crate) fn create(index: &Path) -> Result<Spill> {
        Ok(Spill {
            file: unlinked_beside(index, "counts")?,
            end: AtomicU64::new(0),
            index: index.to_path_buf(),
        })
    }

    /// Appends `arena`: its row offsets, hashes and weights as three
    /// columns (12 bytes a count rather than 16 with padding).
    pub(crate) fn put(&self, arena: &CountArena) -> Result<SpilledArena> {
        let (offsets, hashes, weights) = arena.columns();
        let parts: [&[u8]; 3] = [
            bytemuck::cast_slice(offsets),
            bytemuck::cast_slice(&hashes),
            bytemuck::cast_slice(&weights),
        ];
        let len: u64 = parts.iter().map(|p| p.len() as u64).sum();
        let at = self.end.fetch_add(len, Ordering::Relaxed);
        let mut pos = at;
        for p in parts {
            self.file
                .write_all_at(p, pos)
                .map_err(|e| scratch(&self.index, e))?;
            pos += p.len() as u64;
        }
        Ok(SpilledArena {
            at,
            rows: arena.len() as u32,
            terms: hashes.len() as u64,
        })
    }

    /// Reads back the arena `s` describes.
    pub(crate) fn load(&self, s: &SpilledArena) -> Result<CountArena> {
        let read = || -> io::Result<CountArena> {
            let mut offsets = vec![0u32; s.rows as usize + 1];
            let mut hashes = vec![0u64; s.terms as usize];
            let mut weights = vec![0f32; s.terms as usize];
            let mut pos = s.at;
            for p in [
                bytemuck::cast_slice_mut::<u32, u8>(&mut offsets),
                bytemuck::cast_slice_mut::<u64, u8>(&mut hashes),
                bytemuck::cast_slice_mut::<f32, u8>(&mut weights),
            ] {
                self.file.read_exact_at(p, pos)?;
                pos += p.len() as u64;
            }
            Ok(CountArena::from_columns(offsets, &hashes, &weights))
        };
        read().map_err(|e| scratch(&self.index, e))
    }
}

/// A file in the folder of the index `index`, opened for reading and
/// writing and already unlinked: `.NAME.WHAT-PID` for the moment between.
pub(crate) fn unlinked_beside(index: &Path, what: &str) -> Result<File> {
    let dir = match index.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let name = index.file_name().unwrap_or(index.as_os_str());
    let path = dir.join(format!(
        ".{}.{what}-{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    // Made and unlinked under the clean-up list's lock, so a signal's
    // clean-up (which holds that lock until the process exits) never
    // finds the file named.
    let held = crate::store::pending();
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(&path)
        .and_then(|f| std::fs::remove_file(&path).map(|()| f));
    drop(held);
    file.map_err(|e| {
        let _ = std::fs::remove_file(&path);
        scratch(index, e)
    })
}

pub(crate) fn scratch(index: &Path, source: io::Error) -> Error {
    Error::Scratch {
        index: index.to_path_buf(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arena(seed: u64, rows: usize) -> CountArena {
        let rows: Vec<Vec<(u64, f32)>> = (0..rows)
            .map(|r| {
                (0..(r * 7 + seed as usize) % 13)
                    .map(|t| (seed ^ (r as u64) << 20 ^ t as u64, t as f32 * 0.5 + 0.25))
                    .collect()
            })
            .collect();
        {
            let mut a = CountArena::new();
            rows.iter().for_each(|r| a.push(r));
            a
        }
    }

    fn same(a: &CountArena, b: &CountArena) -> bool {
        a.len() == b.len() && a.rows().zip(b.rows()).all(|(x, y)| x == y)
    }

    #[test]
    fn arenas_come_back_as_they_went_and_the_file_has_no_name() {
        let dir = tempfile::tempdir().unwrap();
        let spill = Spill::create(&dir.path().join("x.vsx")).unwrap();
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        let arenas: Vec<CountArena> = (0..5).map(|s| arena(s, 40 + s as usize)).collect();
        let put: Vec<SpilledArena> = arenas.iter().map(|a| spill.put(a).unwrap()).collect();
        for (a, s) in arenas.iter().zip(&put).rev() {
            assert!(same(a, &spill.load(s).unwrap()));
        }
        let empty = spill.put(&CountArena::new()).unwrap();
        assert_eq!(spill.load(&empty).unwrap().len(), 0);
    }

    #[test]
    fn a_folder_that_cannot_hold_it_is_an_error_naming_the_index() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("no-such-folder").join("x.vsx");
        match Spill::create(&missing) {
            Err(e @ Error::Scratch { .. }) => {
                let line = e.to_string();
                assert!(
                    line.starts_with(&format!("{}: ", missing.display())),
                    "{line}"
                );
                assert!(!line.contains('\n'), "{line}");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
