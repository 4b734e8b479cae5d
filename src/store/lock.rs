//! One writer per index: an advisory lock (`flock` on Unix, `LockFileEx` on
//! Windows, through `std::fs::File::lock`) on `NAME.lock` beside the index.
//! Writers take it before they read their input and hold it until the new
//! file has been renamed into place; readers never take it, because a
//! writer only ever renames a complete file over the old one. The lock file
//! holds the pid of its holder, which the "busy" message names. The kernel
//! drops the lock when the holder exits, even after `kill -9`.
//!
//! On Unix the lock file lives only as long as a write: the holder removes
//! it, still holding the lock, before it lets go (and so does the signal
//! clean-up, see `cleanup.rs`). Removing a lock file is racy on its own: a
//! second writer may have opened the old file and be waiting on it, and
//! would win a lock on a file no longer at the path while a third writer
//! creates and locks a new one. So a writer that wins the lock checks that
//! the file it locked is still the one at the path (same device and inode)
//! and starts over if not. Since the file is removed only under the lock,
//! whoever holds the lock on the file at the path is the one writer. Only
//! a killed writer leaves a lock file, and the next writer reuses it.
//! Elsewhere the file stays (an open file cannot be removed on Windows).

use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::cleanup::pending;
use crate::error::{Error, Result};

/// Held while a writer builds and replaces an index; released on drop.
#[derive(Debug)]
pub struct WriterLock {
    file: File,
    path: PathBuf,
}

/// `NAME.lock` in the index's folder.
pub fn lock_path(index: &Path) -> PathBuf {
    let mut name = index
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_else(|| "vecsearch.vsx".into());
    name.push(".lock");
    index.with_file_name(name)
}

impl WriterLock {
    /// Takes the writer lock of `index`. When another process holds it,
    /// fails at once with [`Error::Locked`], or with `wait` blocks until it
    /// is free (calling `on_wait` once first, e.g. to say so on stderr).
    pub fn acquire(index: &Path, wait: bool) -> Result<WriterLock> {
        Self::acquire_with(index, wait, |_| {})
    }

    pub fn acquire_with(
        index: &Path,
        wait: bool,
        on_wait: impl FnOnce(&Error),
    ) -> Result<WriterLock> {
        if index.is_dir() {
            return Err(Error::IsADirectory {
                path: index.to_path_buf(),
                what: "an index file",
            });
        }
        let path = lock_path(index);
        let mut on_wait = Some(on_wait);
        loop {
            // Held from creating the file to listing it, so that a signal's
            // clean-up finds no lock file of ours unlisted; let go only to
            // block on another writer's lock (a signal then may leave the
            // file, which the next writer reuses).
            let mut listed = pending();
            let mut file = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(&path)
                .map_err(|e| {
                    let why = format!("cannot open the lock file {}: {e}", path.display());
                    Error::io(index, std::io::Error::new(e.kind(), why))
                })?;
            match file.try_lock() {
                Ok(()) => {}
                Err(TryLockError::WouldBlock) => {
                    let busy = Error::Locked {
                        path: index.to_path_buf(),
                        lock: path.clone(),
                        holder: read_holder(&mut file),
                    };
                    if !wait {
                        return Err(busy);
                    }
                    drop(listed);
                    if let Some(f) = on_wait.take() {
                        f(&busy);
                    }
                    file.lock().map_err(|e| Error::io(&path, e))?;
                    listed = pending();
                }
                Err(TryLockError::Error(e)) => return Err(Error::io(&path, e)),
            }
            // The holder we waited for removed this file before letting go:
            // its lock guards nothing now (see the module docs).
            if !still_at(&file, &path) {
                continue;
            }
            // Best effort: name ourselves for the next writer's message.
            let _ = file.set_len(0);
            let _ = file.seek(SeekFrom::Start(0));
            let _ = writeln!(file, "{}", std::process::id());
            listed.locks.push(path.clone());
            return Ok(WriterLock { file, path });
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for WriterLock {
    fn drop(&mut self) {
        let mut pending = pending();
        // Removed while still locked: see the module docs.
        if cfg!(unix) {
            let _ = fs::remove_file(&self.path);
        }
        pending.locks.retain(|l| l != &self.path);
        let _ = self.file.unlock();
    }
}

/// Whether `file` is still the file at `path` (Unix: same device and
/// inode). When `path` cannot be examined for another reason than its
/// absence, the lock is taken as good rather than retried for ever.
#[cfg(unix)]
fn still_at(file: &File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), fs::metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        (_, Err(e)) if e.kind() == std::io::ErrorKind::NotFound => false,
        _ => true,
    }
}

#[cfg(not(unix))]
fn still_at(_: &File, _: &Path) -> bool {
    true
}

fn read_holder(file: &mut File) -> Option<u32> {
    let mut s = String::new();
    file.seek(SeekFrom::Start(0)).ok()?;
    file.take(32).read_to_string(&mut s).ok()?;
    s.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_writer_fails_then_succeeds_after_release() {
        let dir = tempfile::tempdir().unwrap();
        let index = dir.path().join("n.vsx");
        let first = WriterLock::acquire(&index, false).unwrap();
        assert_eq!(first.path(), dir.path().join("n.vsx.lock"));
        let err = WriterLock::acquire(&index, false).unwrap_err().to_string();
        assert!(err.contains("n.vsx.lock"), "{err}");
        assert!(
            err.contains(&format!("pid {}", std::process::id())),
            "{err}"
        );
        drop(first);
        let _again = WriterLock::acquire(&index, false).unwrap();
    }

    #[test]
    fn wait_blocks_until_the_holder_lets_go() {
        let dir = tempfile::tempdir().unwrap();
        let index = dir.path().join("n.vsx");
        let first = WriterLock::acquire(&index, false).unwrap();
        let released = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let r2 = released.clone();
        let t = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(100));
            r2.store(true, std::sync::atomic::Ordering::SeqCst);
            drop(first);
        });
        let mut told = false;
        let _second = WriterLock::acquire_with(&index, true, |_| told = true).unwrap();
        assert!(told);
        assert!(released.load(std::sync::atomic::Ordering::SeqCst));
        t.join().unwrap();
    }
}
