//! The indexes served, and their safe reload.
//!
//! Writers replace an index file by renaming a complete new file over it
//! (`index --update`, `compact`), so the path names a new inode. A poller
//! compares the file's identity (device, inode, size, mtime) with the one
//! it loaded; on a change it opens the new file with every checksum and
//! invariant checked, on a blocking thread, and only then swaps the
//! [`Searcher`]. A request clones the current `Searcher` (an `Arc`) when it
//! starts, so it finishes on the mapping it began with, and that mapping
//! lives until the last such request drops it. The poller keeps the old
//! generations it swapped out and frees each one, on its own thread, once
//! no request holds it, then hands the heap's free pages back to the
//! kernel (`malloc_trim`): the server keeps freed memory for its requests
//! (`keep_freed_memory`), which would otherwise keep what every old
//! generation's tables left behind. A new file that does not
//! open or check is refused once, with the reason on stderr, and the old
//! index goes on answering.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use anyhow::Result;
use vecsearch::{Index, IndexInfo, Searcher};

/// What tells one file at a path from another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    dev: u64,
    ino: u64,
    size: u64,
    mtime_ns: i128,
}

impl Stamp {
    fn of(path: &Path) -> std::io::Result<Stamp> {
        let m = std::fs::metadata(path)?;
        Ok(Stamp {
            dev: m.dev(),
            ino: m.ino(),
            size: m.size(),
            mtime_ns: i128::from(m.mtime()) * 1_000_000_000 + i128::from(m.mtime_nsec()),
        })
    }
}

/// Stands for "no file" in the refused slot.
const MISSING: Stamp = Stamp {
    dev: 0,
    ino: 0,
    size: 0,
    mtime_ns: -1,
};

/// The index answering now.
#[derive(Clone)]
pub struct Current {
    pub searcher: Searcher,
    /// 1 for the file opened at start, +1 per swap.
    pub generation: u64,
    /// What `info` says of it, taken when it was opened.
    pub info: Arc<IndexInfo>,
    stamp: Stamp,
}

/// One index served under a name.
pub struct Served {
    pub name: String,
    pub path: PathBuf,
    current: RwLock<Current>,
    /// The last file refused or missing, so each problem is logged once.
    refused: Mutex<Option<Stamp>>,
    pub reloads: AtomicU64,
    pub reloads_refused: AtomicU64,
    /// Generations swapped out that a request may still hold.
    retired: Mutex<Vec<Searcher>>,
}

impl Served {
    /// Opens the file at `path`, checked as a reload checks it.
    pub fn open(name: String, path: PathBuf) -> Result<Served> {
        let stamp = Stamp::of(&path)
            .map_err(|e| anyhow::anyhow!("{}: cannot read: {e}", path.display()))?;
        let (index, info) = open_resident(&path)?;
        let info = Arc::new(info);
        Ok(Served {
            name,
            path,
            current: RwLock::new(Current {
                searcher: Searcher::new(index),
                generation: 1,
                info,
                stamp,
            }),
            refused: Mutex::new(None),
            reloads: AtomicU64::new(0),
            reloads_refused: AtomicU64::new(0),
            retired: Mutex::new(Vec::new()),
        })
    }

    /// The index to answer one request with.
    pub fn current(&self) -> Current {
        // A poisoned lock only means a panic elsewhere while swapping a
        // clone in; the value is whole either way.
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Frees the old generations no request holds any more, and gives the
    /// heap's free pages back if one was freed.
    async fn free_retired(&self) {
        let free: Vec<Searcher> = {
            let mut retired = self.retired.lock().unwrap_or_else(|p| p.into_inner());
            let (held, free) = std::mem::take(&mut *retired)
                .into_iter()
                .partition(Searcher::is_shared);
            *retired = held;
            free
        };
        if free.is_empty() {
            return;
        }
        // Unmapping and freeing a generation, and walking the heaps, take
        // a while; no request waits for it.
        let _ = tokio::task::spawn_blocking(move || {
            drop(free);
            trim_heap();
        })
        .await;
    }

    /// Looks at the file once and swaps in a new one if it checks.
    pub async fn check(&self) {
        self.free_retired().await;
        let now = match Stamp::of(&self.path) {
            Ok(s) => s,
            Err(e) => {
                // Between a writer's unlink and rename there is no gap (it
                // renames over), so a missing file was removed: keep
                // serving the one we have.
                let mut refused = self.refused.lock().unwrap_or_else(|p| p.into_inner());
                if refused.is_none() {
                    eprintln!(
                        "vecsearch: {}: {}: {e}; still serving generation {}",
                        self.name,
                        self.path.display(),
                        self.current().generation
                    );
                    *refused = Some(MISSING);
                }
                return;
            }
        };
        if now == self.current().stamp {
            // Back to the file we serve (a missing file put back): the
            // next problem is news again.
            let mut refused = self.refused.lock().unwrap_or_else(|p| p.into_inner());
            if refused.is_some() {
                *refused = None;
            }
            return;
        }
        if *self.refused.lock().unwrap_or_else(|p| p.into_inner()) == Some(now) {
            return;
        }
        let path = self.path.clone();
        let opened = tokio::task::spawn_blocking(move || open_resident(&path)).await;
        let generation = self.current().generation;
        match opened {
            Ok(Ok((index, info))) => {
                let passages = info.passages;
                let mut cur = self.current.write().unwrap_or_else(|p| p.into_inner());
                cur.generation += 1;
                let old = std::mem::replace(&mut cur.searcher, Searcher::new(index));
                cur.info = Arc::new(info);
                // The identity seen before opening: if the file changed
                // again meanwhile, the next look opens that one too.
                cur.stamp = now;
                let generation = cur.generation;
                drop(cur);
                self.retired
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push(old);
                *self.refused.lock().unwrap_or_else(|p| p.into_inner()) = None;
                self.reloads.fetch_add(1, Ordering::Relaxed);
                eprintln!(
                    "vecsearch: {}: reloaded {} (generation {generation}, {passages} passages)",
                    self.name,
                    self.path.display()
                );
            }
            Ok(Err(e)) => {
                *self.refused.lock().unwrap_or_else(|p| p.into_inner()) = Some(now);
                self.reloads_refused.fetch_add(1, Ordering::Relaxed);
                eprintln!(
                    "vecsearch: {}: the new file was refused, still serving generation {generation}: {}",
                    self.name,
                    super::super::describe(&e)
                );
            }
            Err(e) => {
                *self.refused.lock().unwrap_or_else(|p| p.into_inner()) = Some(now);
                self.reloads_refused.fetch_add(1, Ordering::Relaxed);
                eprintln!(
                    "vecsearch: {}: checking the new file failed ({e}); still serving generation {generation}",
                    self.name
                );
            }
        }
    }
}

/// Polls `served`'s file every `every` until the server stops.
pub async fn watch(
    served: Arc<Served>,
    every: Duration,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => served.check().await,
            _ = stop.changed() => return,
        }
    }
}

/// Gives the free pages inside every malloc heap back to the kernel. The
/// server asks glibc to keep freed memory (`keep_freed_memory`), which is
/// right for what requests allocate and free again, but an old generation's
/// tables are freed once, and the new generation's were allocated while
/// they were alive, so their pages would stay as holes in the heaps. (The
/// free top of a thread's arena is not trimmed; the arena limit bounds it.)
fn trim_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `malloc_trim` only returns whole free pages of glibc's heaps
    // to the kernel; it is thread-safe and touches no live allocation.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Opens a served index with every check, and copies the sections each
/// query reads into huge-page memory (`Index::make_resident`): a server idles
/// between requests, and a query that finds its pages' TLB entries gone
/// costs several times one that does not (BENCHMARKS.md, "Serving").
fn open_resident(path: &Path) -> vecsearch::Result<(Index, IndexInfo)> {
    let mut index = Index::open_verified(path)?;
    index.make_resident()?;
    let info = index.info()?;
    Ok((index, info))
}
