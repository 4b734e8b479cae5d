//! What a writer must undo when the process is told to stop (SIGINT,
//! SIGTERM): its temporary file and its lock file. Writers list them here
//! while they exist. The CLI's signal handler runs on a thread of its own
//! (so it may lock and allocate) and calls [`abandon_writes`], which
//! removes them and keeps the list locked until the process exits. A
//! writer takes the same lock to rename its temporary file and to remove
//! its lock file, so the two never interleave: the handler sees a
//! temporary file either before its rename (and removes it) or after (and
//! it is no longer listed), and a lock file only while it is still held.

use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};

/// Files of unfinished writes.
#[derive(Debug)]
pub struct Pending {
    pub(crate) temps: Vec<PathBuf>,
    pub(crate) locks: Vec<PathBuf>,
}

static PENDING: Mutex<Pending> = Mutex::new(Pending {
    temps: Vec::new(),
    locks: Vec::new(),
});

/// The list, locked. A panic elsewhere must not stop the clean-up, so a
/// poisoned lock is taken as it is.
pub(crate) fn pending() -> MutexGuard<'static, Pending> {
    PENDING.lock().unwrap_or_else(|p| p.into_inner())
}

/// Holds the list locked, so that no writer renames a file or lets go of
/// a lock after [`abandon_writes`]; keep it until the process exits.
pub struct Abandoned {
    _held: MutexGuard<'static, Pending>,
    /// The temporary files removed: writes that had not replaced their
    /// index yet.
    pub temps: Vec<PathBuf>,
}

/// Removes the temporary and lock files of every unfinished write, for a
/// process about to exit on a signal. The locks themselves go with the
/// process; a lock file is removed while its lock is still held, which is
/// what `WriterLock` requires (see `lock.rs`).
pub fn abandon_writes() -> Abandoned {
    let mut held = pending();
    let temps: Vec<PathBuf> = held.temps.drain(..).collect();
    for t in &temps {
        let _ = std::fs::remove_file(t);
    }
    for l in held.locks.drain(..) {
        let _ = std::fs::remove_file(l);
    }
    Abandoned { _held: held, temps }
}
