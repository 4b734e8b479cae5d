//! SIGINT and SIGTERM during a write: the unfinished temporary file and the
//! lock file are removed, then the process exits 130 or 143 (128 + the
//! signal, as a shell reports it). Without this, the default action would
//! kill the process and leave both behind until the next write.

use anyhow::{Context, Result};
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

/// Catches SIGINT and SIGTERM for the rest of the process. The handler
/// proper only wakes a thread (signal-hook's self-pipe), so the clean-up
/// runs as ordinary code, serialized with the writers by
/// `store::abandon_writes`.
pub fn install() -> Result<()> {
    let mut signals = Signals::new([SIGINT, SIGTERM]).context("cannot catch signals")?;
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            let Some(sig) = signals.forever().next() else {
                return;
            };
            // Held until the process is gone: no writer renames or unlocks
            // after this point.
            let _abandoned = vecsearch::abandon_writes();
            let name = if sig == SIGINT { "SIGINT" } else { "SIGTERM" };
            eprintln!("vecsearch: interrupted by {name}");
            // SAFETY: `_exit` only ends the process; it is sound to call at
            // any time. It is used instead of `process::exit` so that no
            // destructor or exit handler runs while the other threads are
            // mid-write; the clean-up above is complete.
            unsafe { libc::_exit(128 + sig) }
        })
        .context("cannot start the signal thread")?;
    Ok(())
}
