//! A build's scratch files (term counts, passage records and text, dense
//! rows, sparse term words; see `engine/spill.rs` and `engine/staged.rs`)
//! never keep a name in the folder: while a real build runs, every one it
//! holds open is unlinked, so nothing is left after a success, an error or
//! a signal. Looks at `/proc/PID/fd`; where there is none the test says
//! `skipped`.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::*;

const KINDS: [&str; 5] = ["counts", "records", "text", "dense", "terms"];

/// `files` files of `paras` distinct paragraphs.
fn corpus(root: &Path, files: usize, paras: usize) {
    fs::create_dir_all(root).unwrap();
    for f in 0..files {
        let text: String = (0..paras)
            .map(|p| format!("Paragraph {p} of file {f}: w{f}x{p} y{p}z{f} on vectors.\n\n"))
            .collect();
        fs::write(root.join(format!("f{f:03}.md")), text).unwrap();
    }
}

/// The scratch files `pid` holds open: each descriptor's link in `/proc`
/// and what it points to.
fn open_scratch(pid: u32) -> Vec<(PathBuf, String)> {
    let Ok(fds) = fs::read_dir(format!("/proc/{pid}/fd")) else {
        return Vec::new();
    };
    fds.filter_map(|e| {
        let fd = e.ok()?.path();
        let target = fs::read_link(&fd).ok()?.to_string_lossy().into_owned();
        Some((fd, target))
    })
    .filter(|(_, t)| KINDS.iter().any(|k| t.contains(&format!(".n.vsx.{k}-"))))
    .collect()
}

/// Whether a scratch file seen with a name keeps it: it is made and
/// unlinked in one step under a lock, so a look can land between the two,
/// but not twice 50 ms apart.
fn stays_named(fd: &Path, target: &str) -> bool {
    std::thread::sleep(Duration::from_millis(50));
    fs::read_link(fd).is_ok_and(|t| t.to_string_lossy() == target)
}

/// Hidden names of `n.vsx` in `dir` other than the temporary file.
fn named_scratch(dir: &Path) -> Vec<String> {
    names_in(dir)
        .into_iter()
        .filter(|n| n.starts_with(".n.vsx.") && !n.contains(".tmp-"))
        .collect()
}

#[cfg(unix)]
#[test]
fn scratch_files_are_unlinked_while_a_build_runs_and_gone_after_sigint() {
    if !Path::new("/proc/self/fd").exists() {
        skip("no /proc/self/fd to look at a build's open files");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    corpus(&d.join("big"), 40, 300);
    let mut seen_kinds = std::collections::BTreeSet::new();
    let mut interrupted = 0;
    for attempt in 0..8 {
        let mut child = bin()
            .current_dir(d)
            .args(["index", "big", "--index", "n.vsx", "--dim", "4096", "-q"])
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let pid = child.id();
        // Interrupt once the dense rows' scratch is open (embedding), or
        // the counts' on odd attempts (analysis).
        let wanted = if attempt % 2 == 0 {
            ".dense-"
        } else {
            ".counts-"
        };
        let mut seen = false;
        while child.try_wait().unwrap().is_none() {
            let open = open_scratch(pid);
            for (fd, t) in &open {
                if !t.ends_with(" (deleted)") {
                    assert!(!stays_named(fd, t), "a named scratch file: {t}");
                    continue;
                }
                for k in KINDS {
                    if t.contains(&format!(".n.vsx.{k}-{pid}")) {
                        seen_kinds.insert(k);
                    }
                }
            }
            if !named_scratch(d).is_empty() {
                std::thread::sleep(Duration::from_millis(50));
                let again = named_scratch(d);
                assert!(again.is_empty(), "scratch with a name: {again:?}");
            }
            if open
                .iter()
                .any(|(_, t)| t.contains(wanted) && t.ends_with(" (deleted)"))
            {
                seen = true;
                break;
            }
            std::thread::sleep(Duration::from_micros(300));
        }
        if seen {
            // SAFETY: kill(2) with a live child's pid and a valid signal
            // number touches no memory of ours.
            assert_eq!(unsafe { libc::kill(pid as i32, libc::SIGINT) }, 0);
        }
        let out = child.wait_with_output().unwrap();
        if seen && !out.status.success() {
            assert_eq!(out.status.code(), Some(130), "{out:?}");
            interrupted += 1;
        }
        // Whatever ended it, the folder holds the corpus and at most the
        // index: no scratch, no temporary, no lock.
        let left: Vec<String> = names_in(d)
            .into_iter()
            .filter(|n| n != "big" && n != "n.vsx")
            .collect();
        assert!(left.is_empty(), "attempt {attempt}: left {left:?}");
        if interrupted >= 2 && seen_kinds.len() == KINDS.len() {
            break;
        }
    }
    assert_eq!(
        seen_kinds.len(),
        KINDS.len(),
        "saw only {seen_kinds:?} of the scratch files open"
    );
    assert!(interrupted >= 1, "no interrupt landed mid-build");
    // And a build that runs to the end leaves only the index.
    let r = run_in(
        d,
        &["index", "big", "--index", "n.vsx", "--dim", "64", "-q"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(names_in(d), vec!["big".to_string(), "n.vsx".to_string()]);
}
