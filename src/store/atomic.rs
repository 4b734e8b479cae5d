//! Atomic replacement of a file: readers and crashes see the old file or the
//! new one, never a mix, and a failed write leaves the old file untouched.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use super::cleanup::pending;
use crate::error::{Error, Result};

/// Writes `path` through `fill`, via a temporary file in the same folder
/// (so the rename cannot cross file systems), fsync, rename, fsync of the
/// folder. Returns the bytes written.
pub fn write_atomically(
    path: &Path,
    fill: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<u64> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path.file_name().ok_or_else(|| Error::BadInput {
        path: path.to_path_buf(),
        detail: "not a file name".into(),
    })?;
    if path.is_dir() {
        return Err(Error::IsADirectory {
            path: path.to_path_buf(),
            what: "an index file",
        });
    }
    remove_stray_temps(path);
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    // Listed before it exists, so a signal at any moment after this finds it.
    pending().temps.push(tmp.clone());
    let result = (|| -> std::io::Result<u64> {
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&tmp)?;
        let mut w = ChunkWriter::new(file);
        fill(&mut w)?;
        let file = w.finish()?;
        file.sync_all()?;
        let len = file.metadata()?.len();
        drop(file);
        {
            // Rename and unlist as one step for a signal's clean-up.
            let mut pending = pending();
            fs::rename(&tmp, path)?;
            pending.temps.retain(|t| t != &tmp);
        }
        // Make the rename itself durable.
        if let Ok(d) = File::open(&dir) {
            let _ = d.sync_all();
        }
        Ok(len)
    })();
    result.map_err(|e| {
        let mut pending = pending();
        let _ = fs::remove_file(&tmp);
        pending.temps.retain(|t| t != &tmp);
        Error::io(path, e)
    })
}

/// Bytes per `write` of [`ChunkWriter`]: a multiple of the 2 MiB huge page.
const CHUNK: usize = 4 << 20;

/// Passes everything to the file in writes of exactly [`CHUNK`] bytes at
/// offsets that are multiples of it (the last write excepted), whatever
/// sizes the format writer hands it.
///
/// Why: Linux keeps a file's page cache in folios no larger than the writes
/// that made them, and maps a folio of 2 MiB with one page-table entry. An
/// index written in 1 MiB pieces (as a `BufWriter` does, or a large slice
/// passed through after a flush at an odd offset) is then mapped 4 KiB at a
/// time by every search: on the 1.5M-passage index, touching its pages took
/// 48 ms and unmapping 8 ms, against 28 ms and 0.1 ms for the same bytes
/// written in 4 MiB pieces (BENCHMARKS.md). One more copy of the bytes, at
/// memory speed, buys that for every search until the cache is evicted.
struct ChunkWriter {
    file: File,
    buf: Vec<u8>,
    /// Bytes written, and how many of them the disk was asked to take.
    written: u64,
    started: u64,
}

/// Bytes after which [`ChunkWriter`] starts their writeback: the
/// `sync_all` that makes the file durable then finds little left to
/// write (on the 711 MB index it was a third of a second at the end of
/// every build, with both cores idle).
const WRITEBACK_EVERY: u64 = 64 << 20;

impl ChunkWriter {
    fn new(file: File) -> Self {
        ChunkWriter {
            file,
            buf: Vec::with_capacity(CHUNK),
            written: 0,
            started: 0,
        }
    }

    /// Asks the system to start writing the bytes written so far to the
    /// disk, without waiting for it. Only a head start for `sync_all`, so a
    /// file system that refuses is no error.
    fn start_writeback(&mut self) {
        #[cfg(target_os = "linux")]
        {
            use std::os::fd::AsRawFd;
            let (from, len) = (self.started, self.written - self.started);
            // SAFETY: sync_file_range only reads its integer arguments; the
            // descriptor is this writer's open file.
            unsafe {
                libc::sync_file_range(
                    self.file.as_raw_fd(),
                    from as libc::off64_t,
                    len as libc::off64_t,
                    libc::SYNC_FILE_RANGE_WRITE,
                );
            }
        }
        self.started = self.written;
    }

    /// Writes what is buffered and hands the file back.
    fn finish(mut self) -> std::io::Result<File> {
        self.file.write_all(&self.buf)?;
        self.buf.clear();
        Ok(self.file)
    }
}

impl Write for ChunkWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        let n = data.len().min(CHUNK - self.buf.len());
        self.buf.extend_from_slice(&data[..n]);
        if self.buf.len() == CHUNK {
            self.file.write_all(&self.buf)?;
            self.buf.clear();
            self.written += CHUNK as u64;
            if self.written - self.started >= WRITEBACK_EVERY {
                self.start_writeback();
            }
        }
        Ok(n)
    }

    /// Whole chunks only: a partial chunk written early would break the
    /// alignment of every later one. `finish` writes the rest.
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Fails unless `path` may be replaced by a file that starts with `magic`:
/// it does not exist, or is empty (nothing to lose: `mktemp` makes such
/// files), or already starts with `magic`. Anything else (a document, a
/// device, a FIFO) is someone's, and a swapped argument must not cost a
/// user a file. A symlink is judged by what it points to.
pub fn ensure_replaceable(path: &Path, magic: &[u8]) -> Result<()> {
    let refuse = |why: &str| {
        Err(Error::NotReplaceable {
            path: path.to_path_buf(),
            why: why.into(),
        })
    };
    let meta = match fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::io(path, e)),
    };
    if meta.is_dir() {
        return Err(Error::IsADirectory {
            path: path.to_path_buf(),
            what: "an index file",
        });
    }
    if !meta.is_file() {
        return refuse("exists and is not a regular file");
    }
    if meta.len() == 0 {
        return Ok(());
    }
    let mut head = Vec::with_capacity(magic.len());
    File::open(path)
        .and_then(|f| f.take(magic.len() as u64).read_to_end(&mut head))
        .map_err(|e| Error::io(path, e))?;
    if head != magic {
        return refuse("exists and is not a vecsearch index");
    }
    Ok(())
}

/// Removes `.NAME.tmp-PID` files that a killed writer of `path` left
/// behind: on Linux those whose process no longer exists (`/proc/PID`),
/// elsewhere those older than an hour. Returns how many were removed.
/// Errors are ignored: a leftover temporary file is clutter, not damage.
pub fn remove_stray_temps(path: &Path) -> usize {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let Some(name) = path.file_name() else {
        return 0;
    };
    let prefix = format!(".{}.tmp-", name.to_string_lossy());
    let Ok(entries) = fs::read_dir(&dir) else {
        return 0;
    };
    let me = std::process::id();
    let have_proc = Path::new("/proc/self").exists();
    let mut removed = 0;
    for e in entries.flatten() {
        let file_name = e.file_name();
        let file_name = file_name.to_string_lossy();
        let Some(pid) = file_name
            .strip_prefix(&prefix)
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        let stale = if pid == me {
            false
        } else if have_proc {
            !Path::new(&format!("/proc/{pid}")).exists()
        } else {
            e.metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age > std::time::Duration::from_secs(3600))
        };
        if stale && fs::remove_file(e.path()).is_ok() {
            removed += 1;
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunked_writes_keep_every_byte_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("n.vsx");
        // Pieces of odd sizes around the chunk size, including one larger
        // than two chunks and empty ones, with a flush in the middle.
        let mut expected = Vec::new();
        let sizes = [0, 1, 63, CHUNK - 1, 2, 2 * CHUNK + 5, 0, 4095, CHUNK, 7];
        let n = write_atomically(&path, |w| {
            for (i, &len) in sizes.iter().enumerate() {
                let piece: Vec<u8> = (0..len).map(|j| (i * 31 + j * 7) as u8).collect();
                w.write_all(&piece)?;
                expected.extend_from_slice(&piece);
                if i == 4 {
                    w.flush()?;
                }
            }
            Ok(())
        })
        .unwrap();
        let got = std::fs::read(&path).unwrap();
        assert_eq!(n as usize, expected.len());
        assert!(got == expected, "bytes differ");
    }

    #[test]
    fn stray_temps_of_dead_writers_go_live_ones_stay() {
        let dir = tempfile::tempdir().unwrap();
        let index = dir.path().join("n.vsx");
        // A pid above the kernel's maximum (4194304) is never alive.
        let dead = dir.path().join(".n.vsx.tmp-4194999");
        let mine = dir
            .path()
            .join(format!(".n.vsx.tmp-{}", std::process::id()));
        let other_index = dir.path().join(".m.vsx.tmp-4194999");
        let not_a_pid = dir.path().join(".n.vsx.tmp-abc");
        for p in [&dead, &mine, &other_index, &not_a_pid] {
            fs::write(p, b"partial").unwrap();
        }
        // pid 1 is alive on any Linux (init, or the container's first process).
        let live = dir.path().join(".n.vsx.tmp-1");
        fs::write(&live, b"partial").unwrap();
        if Path::new("/proc/self").exists() {
            assert_eq!(remove_stray_temps(&index), 1);
            assert!(!dead.exists());
            assert!(live.exists());
        }
        assert!(mine.exists() && other_index.exists() && not_a_pid.exists());
        // A real write cleans up too, and leaves only the index.
        fs::remove_file(&mine).unwrap();
        fs::write(&dead, b"partial").unwrap();
        write_atomically(&index, |w| w.write_all(b"new")).unwrap();
        assert_eq!(fs::read(&index).unwrap(), b"new");
        assert_eq!(dead.exists(), !Path::new("/proc/self").exists());
    }
}
