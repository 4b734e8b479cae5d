//! A write that fails for lack of space (ENOSPC on a tiny tmpfs) or on a
//! read-only file system (EROFS) gives one clear line and exit 2, and
//! leaves the old index byte for byte as it was, with no temporary file
//! behind; so does a build whose scratch file (its term counts) does not
//! fit beside the index. Mounting needs root (CAP_SYS_ADMIN); elsewhere the test says
//! `skipped` and why. (tests/bad_input.rs covers a folder without write
//! permission for non-root users.)

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;

struct Mount(PathBuf);
impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

fn mount_tmpfs(at: &Path, size: u64) -> Result<Mount, String> {
    fs::create_dir_all(at).unwrap();
    let out = Command::new("mount")
        .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
        .arg(at)
        .output()
        .map_err(|e| format!("cannot run mount: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "mount -t tmpfs failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(Mount(at.to_path_buf()))
}

fn leftovers(dir: &Path) -> Vec<String> {
    fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp"))
        .collect()
}

#[test]
fn disk_full_and_read_only_keep_the_old_index() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = write_corpus(dir.path());
    let corpus = corpus.to_str().unwrap();
    let r = run_in(
        dir.path(),
        &["index", corpus, "--index", "small.vsx", "--dim", "16", "-q"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let before = fs::read(dir.path().join("small.vsx")).unwrap();

    // Room for the old index (tmpfs counts whole pages) and the lock file,
    // not for a new one at dim 4096.
    let full = dir.path().join("full");
    let mount = match mount_tmpfs(&full, before.len() as u64 + 64 * 1024) {
        Ok(m) => m,
        Err(why) => {
            skip(&why);
            return;
        }
    };
    fs::write(full.join("n.vsx"), &before).unwrap();
    let r = run_in(
        dir.path(),
        &[
            "index",
            corpus,
            "--index",
            "full/n.vsx",
            "--dim",
            "4096",
            "-q",
        ],
    );
    let line = assert_error(&r);
    assert!(
        line.contains("full/n.vsx") && line.contains("No space left on device"),
        "{line}"
    );
    assert!(
        fs::read(full.join("n.vsx")).unwrap() == before,
        "disk full changed the index"
    );
    assert!(leftovers(&full).is_empty(), "{:?}", leftovers(&full));
    assert_eq!(
        run_in(dir.path(), &["verify", "--index", "full/n.vsx"]).code,
        0
    );
    drop(mount);

    // Read-only: the same file system, remounted read-only under the index.
    let ro = dir.path().join("ro");
    let mount = mount_tmpfs(&ro, 1 << 20).unwrap();
    fs::write(ro.join("n.vsx"), &before).unwrap();
    let st = Command::new("mount")
        .args(["-o", "remount,ro"])
        .arg(&ro)
        .status()
        .unwrap();
    assert!(st.success(), "remount read-only failed");
    for args in [
        vec!["index", corpus, "--index", "ro/n.vsx", "-q"],
        vec!["compact", "--index", "ro/n.vsx", "-q"],
    ] {
        let line = assert_error(&run_in(dir.path(), &args));
        assert!(
            line.contains("ro/n.vsx") && line.contains("Read-only file system"),
            "{args:?}: {line}"
        );
    }
    assert!(
        fs::read(ro.join("n.vsx")).unwrap() == before,
        "read-only changed the index"
    );
    assert!(leftovers(&ro).is_empty());
    let r = run_in(dir.path(), &["search", "vector", "--index", "ro/n.vsx"]);
    assert_eq!(
        r.code, 0,
        "readers work on a read-only file system: {}",
        r.stderr
    );
    drop(mount);
}

/// A corpus of many distinct words, so its term counts (12 bytes each in
/// the scratch file) take far more than the `room` a tmpfs leaves.
fn wordy_corpus(root: &Path, files: usize) {
    fs::create_dir_all(root).unwrap();
    for f in 0..files {
        let text: String = (0..400)
            .map(|p| format!("Paragraph w{f}x{p} y{p}z{f} about q{p}r{f} and s{f}t{p}.\n\n"))
            .collect();
        fs::write(root.join(format!("f{f:03}.md")), text).unwrap();
    }
}

#[test]
fn a_scratch_file_that_does_not_fit_is_one_line_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    wordy_corpus(&dir.path().join("words"), 8);
    // Where it fits, a build leaves the index and nothing else beside it:
    // the scratch file was never visible.
    let ok = dir.path().join("ok");
    fs::create_dir_all(&ok).unwrap();
    let r = run_in(
        dir.path(),
        &["index", "words", "--index", "ok/n.vsx", "--dim", "16", "-q"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(names_in(&ok), vec!["n.vsx".to_string()]);

    // 64 KiB: room for the lock file, not for the counts of 3,200 passages.
    let full = dir.path().join("full");
    let mount = match mount_tmpfs(&full, 64 * 1024) {
        Ok(m) => m,
        Err(why) => {
            skip(&why);
            return;
        }
    };
    let r = run_in(
        dir.path(),
        &[
            "index",
            "words",
            "--index",
            "full/n.vsx",
            "--dim",
            "16",
            "-q",
        ],
    );
    assert_scratch_refused(&r, &full);
    drop(mount);

    // 4 MiB: room for the counts, not for the f32 rows (16 KiB a passage
    // at dim 4096) that go to scratch as they are embedded.
    let mount = mount_tmpfs(&full, 4 << 20).unwrap();
    let r = run_in(
        dir.path(),
        &[
            "index",
            "words",
            "--index",
            "full/n.vsx",
            "--dim",
            "4096",
            "--codes",
            "f32",
            "-q",
        ],
    );
    assert_scratch_refused(&r, &full);
    drop(mount);
}

/// A build whose scratch file did not fit: one line naming the index and
/// the full disk, and nothing left in the folder.
fn assert_scratch_refused(r: &Run, full: &Path) {
    let line = assert_error(r);
    assert!(
        line.contains("full/n.vsx: cannot use the build's scratch file beside it")
            && line.contains("No space left on device"),
        "{line}"
    );
    assert!(names_in(full).is_empty(), "{:?}", names_in(full));
}
