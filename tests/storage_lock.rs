//! One writer at a time: a second `vecsearch index` fails at once with one
//! line naming the lock file, or waits with `--wait`; readers are never
//! blocked. Stray temporary files of dead writers go on the next write.

mod common;

use std::fs;
use std::time::{Duration, Instant};

use common::*;
use vecsearch::store::WriterLock;

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
    std::thread::sleep(Duration::from_millis(400));
    drop(held);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("waiting"), "{stderr}");
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
