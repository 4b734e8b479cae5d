//! One writer at a time: a second `vecsearch index` fails at once with one
//! line naming the lock file, or waits with `--wait`; readers are never
//! blocked. Stray temporary files of dead writers go on the next write.

mod common;

use std::fs;
use std::time::{Duration, Instant};

use common::*;
use vecsearch::internals::store::WriterLock;

#[test]
fn a_second_writer_fails_at_once_or_waits() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = write_corpus(dir.path());
    let corpus = corpus.to_str().unwrap();
    let r = run_in(dir.path(), &["index", corpus, "--index", "n.vsx", "-q"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let before = fs::read(dir.path().join("n.vsx")).unwrap();

    let held = WriterLock::acquire(&dir.path().join("n.vsx"), false).unwrap();
    let t = Instant::now();
    let line = assert_error(&run_in(dir.path(), &["index", corpus, "--index", "n.vsx"]));
    assert!(t.elapsed() < Duration::from_secs(5), "it waited");
    assert!(
        line.contains("n.vsx.lock")
            && line.contains("--wait")
            && line.contains(&format!("pid {}", std::process::id())),
        "{line}"
    );
    let line = assert_error(&run_in(dir.path(), &["compact", "--index", "n.vsx"]));
    assert!(line.contains("n.vsx.lock"), "{line}");
    assert!(fs::read(dir.path().join("n.vsx")).unwrap() == before);
    // Readers do not care.
    let r = run_in(dir.path(), &["search", "vector", "--index", "n.vsx"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(run_in(dir.path(), &["verify", "--index", "n.vsx"]).code, 0);

    // --wait: blocks until the holder lets go, then writes.
    let child = bin()
        .current_dir(dir.path())
        .args([
            "index", corpus, "--index", "n.vsx", "--wait", "--dim", "128",
        ])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Hold the lock until the child says it waits (a fixed sleep lost the
    // race on a loaded machine, where the child reached the lock late).
    let mut child = child;
    let stderr_pipe = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        use std::io::BufRead;
        let mut all = String::new();
        for line in std::io::BufReader::new(stderr_pipe).lines() {
            let line = line.unwrap_or_default();
            if line.contains("waiting") {
                let _ = tx.send(());
            }
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    let waited = rx.recv_timeout(Duration::from_secs(60)).is_ok();
    drop(held);
    let status = child.wait().unwrap();
    let stderr = reader.join().unwrap();
    assert!(status.success(), "{stderr}");
    assert!(waited && stderr.contains("waiting"), "{stderr}");
    // It was given --wait: no advice to pass it.
    assert!(!stderr.contains("pass --wait"), "{stderr}");
    assert!(fs::read(dir.path().join("n.vsx")).unwrap() != before);
}

#[cfg(target_os = "linux")]
#[test]
fn the_next_write_removes_temporaries_of_dead_writers_only() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = write_corpus(dir.path());
    // A pid above the kernel's limit (2^22) is never alive; pid 1 always is.
    let dead = dir.path().join(".n.vsx.tmp-4194999");
    let live = dir.path().join(".n.vsx.tmp-1");
    let other = dir.path().join(".other.vsx.tmp-4194999");
    for p in [&dead, &live, &other] {
        fs::write(p, b"half an index").unwrap();
    }
    let r = run_in(
        dir.path(),
        &["index", corpus.to_str().unwrap(), "--index", "n.vsx", "-q"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(!dead.exists(), "the dead writer's temporary file stayed");
    assert!(live.exists() && other.exists());
}

/// `files` files of `paras` distinct paragraphs: at dim 4096 their vectors
/// take long enough to write that a signal can land mid-write.
#[cfg(unix)]
fn big_corpus(root: &std::path::Path, files: usize, paras: usize) {
    fs::create_dir_all(root).unwrap();
    for f in 0..files {
        let text: String = (0..paras)
            .map(|p| {
                format!("Paragraph {p} of file {f} on vector search w{f}x{p} and more words.\n\n")
            })
            .collect();
        fs::write(root.join(format!("f{f:03}.md")), text).unwrap();
    }
}

/// Sends `sig` to a real writer once it is at `stage` (its lock file
/// exists, or its temporary file), and checks that it exits 128 + sig
/// having removed both, with the old index untouched (or, if the rename
/// won the race, the new one in place and sound).
#[cfg(unix)]
fn signal_a_writer(sig: i32, name: &str) {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    big_corpus(&d.join("big"), 40, 100);
    let r = run_in(
        d,
        &["index", "big", "--index", "n.vsx", "--dim", "16", "-q"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let before = fs::read(d.join("n.vsx")).unwrap();
    let mut landed = [0usize; 2];
    for attempt in 0..12 {
        let stage = attempt % 2;
        let mut child = bin()
            .current_dir(d)
            .args(["index", "big", "--index", "n.vsx", "--dim", "4096", "-q"])
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let pid = child.id();
        let wanted = if stage == 0 {
            "n.vsx.lock".to_string()
        } else {
            format!(".n.vsx.tmp-{pid}")
        };
        let seen = loop {
            if names_in(d).contains(&wanted) {
                break true;
            }
            if child.try_wait().unwrap().is_some() {
                break false;
            }
            std::thread::sleep(Duration::from_micros(500));
        };
        if seen {
            // SAFETY: kill(2) with a live child's pid and a valid signal
            // number touches no memory of ours.
            assert_eq!(unsafe { libc::kill(pid as i32, sig) }, 0);
        }
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        let leftovers: Vec<String> = names_in(d)
            .into_iter()
            .filter(|n| n.ends_with(".lock") || n.contains(".tmp-"))
            .collect();
        assert!(
            leftovers.is_empty(),
            "{name} at stage {stage}: left {leftovers:?}"
        );
        if !seen || out.status.success() {
            // Finished before the signal: it was not a test of it.
            continue;
        }
        assert_eq!(
            out.status.code(),
            Some(128 + sig),
            "{name} at stage {stage}: {:?} {stderr}",
            out.status
        );
        let v = run_in(d, &["verify", "--index", "n.vsx"]);
        assert_eq!(v.code, 0, "{}", v.stderr);
        let unchanged = fs::read(d.join("n.vsx")).unwrap() == before;
        // The signal's clean-up waits for a rename in progress; when the
        // rename won, the new file is whole and its summary may be printed
        // before the exit.
        let interrupted = format!("vecsearch: interrupted by {name}");
        if unchanged {
            assert_eq!(stderr.trim(), interrupted);
        } else {
            assert!(stderr.trim().ends_with(&interrupted), "{stderr}");
        }
        if unchanged {
            landed[stage] += 1;
        } else {
            // The rename beat the signal; start from the old file again.
            fs::write(d.join("n.vsx"), &before).unwrap();
        }
        if landed.iter().all(|&n| n >= 2) {
            break;
        }
    }
    assert!(
        landed.iter().all(|&n| n >= 1),
        "{name}: too few signals landed mid-write (lock stage, write stage): {landed:?}"
    );
    eprintln!("{name}: signals landed mid-write: {landed:?} (lock stage, write stage)");
}

#[cfg(unix)]
#[test]
fn sigint_mid_write_removes_the_temporary_and_lock_files() {
    signal_a_writer(libc::SIGINT, "SIGINT");
}

#[cfg(unix)]
#[test]
fn sigterm_mid_write_removes_the_temporary_and_lock_files() {
    signal_a_writer(libc::SIGTERM, "SIGTERM");
}
