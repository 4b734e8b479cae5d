//! Every kind of bad input gets exit 2 and one clear line, or a warning and
//! a clean run where skipping is right; a failed rebuild never touches the
//! index that was there.

mod common;

use std::fs;
use std::path::Path;

use common::*;

fn indexed(dir: &Path) -> Vec<u8> {
    let corpus = write_corpus(dir);
    let r = run_in(
        dir,
        &["index", corpus.to_str().unwrap(), "--index", "n.vsx"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    fs::read(dir.join("n.vsx")).unwrap()
}

#[test]
fn missing_path() {
    let dir = tempfile::tempdir().unwrap();
    let line = assert_error(&run_in(dir.path(), &["index", "nope", "--index", "n.vsx"]));
    assert!(
        line.contains("nope") && line.contains("no such file"),
        "{line}"
    );
    assert!(!dir.path().join("n.vsx").exists());
}

#[test]
fn empty_folder() {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir(dir.path().join("empty")).unwrap();
    let line = assert_error(&run_in(dir.path(), &["index", "empty", "--index", "n.vsx"]));
    assert!(line.contains("no indexable files"), "{line}");
}

#[test]
fn empty_binary_and_non_utf8_files_are_skipped_with_warnings() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = write_corpus(dir.path());
    fs::write(corpus.join("empty.md"), "").unwrap();
    fs::write(
        corpus.join("blob.txt"),
        [0x7f, b'E', b'L', b'F', 0, 0, 1, 2],
    )
    .unwrap();
    fs::write(corpus.join("latin1.txt"), b"caf\xe9 cr\xe8me\n").unwrap();
    let r = run_in(
        dir.path(),
        &["index", corpus.to_str().unwrap(), "--index", "n.vsx"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    for (name, why) in [
        ("empty.md", "empty"),
        ("blob.txt", "binary"),
        ("latin1.txt", "UTF-8"),
    ] {
        assert!(
            r.stderr
                .lines()
                .any(|l| l.contains("warning") && l.contains(name) && l.contains(why)),
            "no warning for {name}: {}",
            r.stderr
        );
    }
    assert!(r.stderr.contains("skipped 3 file(s)"), "{}", r.stderr);
    let info = run_in(dir.path(), &["info", "--index", "n.vsx", "--json"]);
    let v: serde_json::Value = serde_json::from_str(info.stdout.trim()).unwrap();
    assert_eq!(v["documents"], 3);
}

#[test]
fn only_unusable_files_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("empty.txt"), "").unwrap();
    let r = run_in(dir.path(), &["index", "empty.txt", "--index", "n.vsx"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr
            .lines()
            .last()
            .unwrap()
            .contains("nothing to index"),
        "{}",
        r.stderr
    );
    assert!(!dir.path().join("n.vsx").exists());
}

#[test]
fn a_50_mb_file_on_one_line_is_indexed() {
    let dir = tempfile::tempdir().unwrap();
    let word = "lorem ipsum dolor sit amet vector ";
    let line = word.repeat(50 * 1024 * 1024 / word.len());
    fs::write(dir.path().join("huge.txt"), &line).unwrap();
    let r = run_in(
        dir.path(),
        &["index", "huge.txt", "--index", "h.vsx", "--dim", "64", "-q"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = run_in(
        dir.path(),
        &["search", "vector", "--index", "h.vsx", "-k", "1", "--json"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("\"line_start\":1"));
    // And a size limit turns it into a warning, not a crash.
    let r = run_in(
        dir.path(),
        &[
            "index",
            "huge.txt",
            "--index",
            "h2.vsx",
            "--max-file-bytes",
            "1M",
        ],
    );
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("over the limit"), "{}", r.stderr);
}

#[test]
fn empty_and_punctuation_queries() {
    let dir = tempfile::tempdir().unwrap();
    indexed(dir.path());
    let line = assert_error(&run_in(dir.path(), &["search", "", "--index", "n.vsx"]));
    assert!(line.contains("empty query"), "{line}");
    let line = assert_error(&run_in(dir.path(), &["search", "   ", "--index", "n.vsx"]));
    assert!(line.contains("empty query"), "{line}");
    let line = assert_error(&run_in(
        dir.path(),
        &["search", "?!… 。、", "--index", "n.vsx"],
    ));
    assert!(line.contains("no searchable words"), "{line}");
}

#[test]
fn files_that_are_not_good_indexes() {
    let dir = tempfile::tempdir().unwrap();
    let good = indexed(dir.path());
    let p = |n: &str| dir.path().join(n);
    let search = |name: &str| run_in(dir.path(), &["search", "vector", "--index", name]);

    fs::write(p("notes.txt"), "just some text, not an index\n").unwrap();
    assert!(assert_error(&search("notes.txt")).contains("not a vecsearch index"));

    fs::write(p("zero.vsx"), b"").unwrap();
    assert!(assert_error(&search("zero.vsx")).contains("not a vecsearch index"));

    assert!(assert_error(&search("absent.vsx")).contains("no such file"));

    for cut in [good.len() / 2, good.len() - 1, 70] {
        fs::write(p("cut.vsx"), &good[..cut]).unwrap();
        let line = assert_error(&search("cut.vsx"));
        assert!(line.contains("truncated"), "cut at {cut}: {line}");
    }

    // One flipped byte anywhere: the vectors, the passage table, the header,
    // the footer. `verify` always catches it. Search (an O(1) open) catches
    // it too, except inside a big raw section (vectors, sparse vectors,
    // graph) or the zero padding between sections, whose checksums only
    // `verify` reads: there search may answer.
    let raw = raw_sections(&good);
    let checked_on_open = open_checked_ranges(&good);
    let in_raw = |at: usize| !checked_on_open.iter().any(|&(s, e)| (s..e).contains(&at));
    let mut positions = vec![good.len() / 2, 200, 20, good.len() - 30, good.len() - 10];
    positions.extend(raw.iter().map(|&(s, e)| (s + e) / 2));
    for at in positions {
        let mut bad = good.clone();
        bad[at] ^= 0x01;
        fs::write(p("flip.vsx"), &bad).unwrap();
        let line = assert_error(&run_in(dir.path(), &["verify", "--index", "flip.vsx"]));
        assert!(
            line.contains("checksum") || line.contains("corrupt") || line.contains("truncated"),
            "verify, flip at {at}: {line}"
        );
        let r = search("flip.vsx");
        if in_raw(at) {
            assert!(r.code <= 1 || r.code == 2, "{}", r.stderr);
            assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
        } else {
            let line = assert_error(&r);
            assert!(
                line.contains("checksum") || line.contains("corrupt") || line.contains("truncated"),
                "flip at {at}: {line}"
            );
        }
    }
    let r = run_in(dir.path(), &["verify", "--index", "n.vsx"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("OK"), "{}", r.stdout);

    let mut newer = good.clone();
    newer[8..12].copy_from_slice(&99u32.to_le_bytes());
    fs::write(p("v99.vsx"), &newer).unwrap();
    let line = assert_error(&search("v99.vsx"));
    assert!(
        line.contains("version 99") && line.contains("newer"),
        "{line}"
    );

    // An older version names the exact command that rebuilds it, for
    // search, info and verify alike.
    let mut older = good.clone();
    older[8..12].copy_from_slice(&0u32.to_le_bytes());
    fs::write(p("v0.vsx"), &older).unwrap();
    for args in [
        vec!["search", "vector", "--index", "v0.vsx"],
        vec!["info", "--index", "v0.vsx"],
        vec!["verify", "--index", "v0.vsx"],
    ] {
        let line = assert_error(&run_in(dir.path(), &args));
        assert!(
            line.contains("version 0")
                && line.contains("rebuild it with `vecsearch index <PATH>... --index v0.vsx`"),
            "{line}"
        );
    }
    let line = assert_error(&run_in(dir.path(), &["verify", "--index", "v99.vsx"]));
    assert!(
        line.contains("version 99") && line.contains("newer"),
        "{line}"
    );

    fs::create_dir(p("dir.vsx")).unwrap();
    assert_error(&search("dir.vsx"));
}

/// Byte ranges of the big raw sections (vectors, sparse vectors, graph
/// arrays), read from the section table the footer points at.
fn raw_sections(b: &[u8]) -> Vec<(usize, usize)> {
    let u64_at = |at: usize| u64::from_le_bytes(b[at..at + 8].try_into().unwrap()) as usize;
    let u32_at = |at: usize| u32::from_le_bytes(b[at..at + 4].try_into().unwrap());
    let footer = b.len() - 40;
    let (table, count) = (u64_at(footer), u32_at(footer + 8) as usize);
    (0..count)
        .map(|i| table + 32 * i)
        .filter(|&e| matches!(u32_at(e), 5 | 7..=13))
        .map(|e| (u64_at(e + 8), u64_at(e + 8) + u64_at(e + 16)))
        .filter(|(s, e)| s < e)
        .collect()
}

/// What a plain open checksums: the header, the metadata sections, the
/// section table and the footer, except the footer's whole-file checksum.
fn open_checked_ranges(b: &[u8]) -> Vec<(usize, usize)> {
    let u64_at = |at: usize| u64::from_le_bytes(b[at..at + 8].try_into().unwrap()) as usize;
    let u32_at = |at: usize| u32::from_le_bytes(b[at..at + 4].try_into().unwrap());
    let footer = b.len() - 40;
    let (table, count) = (u64_at(footer), u32_at(footer + 8) as usize);
    let mut out = vec![(0, 64), (table, b.len() - 16), (b.len() - 8, b.len())];
    out.extend(
        (0..count)
            .map(|i| table + 32 * i)
            .filter(|&e| matches!(u32_at(e), 1..=4 | 6))
            .map(|e| (u64_at(e + 8), u64_at(e + 8) + u64_at(e + 16))),
    );
    out
}

#[test]
fn bad_flags() {
    let dir = tempfile::tempdir().unwrap();
    indexed(dir.path());
    let line = assert_error(&run_in(
        dir.path(),
        &["search", "vector", "--index", "n.vsx", "-k", "0"],
    ));
    assert!(line.contains("-k"), "{line}");
    let line = assert_error(&run_in(dir.path(), &["search", "vector", "--frobnicate"]));
    assert!(line.contains("--frobnicate"), "{line}");
    assert_error(&run_in(dir.path(), &["search", "vector", "-k", "many"]));
    assert_error(&run_in(dir.path(), &["index", "x", "--dim", "0"]));
    assert_error(&run_in(dir.path(), &["nonsense"]));
    assert_error(&run_in(dir.path(), &["search"]));
    let r = run_in(dir.path(), &["--help"]);
    assert_eq!(r.code, 0);
    assert!(r.stdout.contains("search"));
}

#[test]
fn a_failed_rebuild_leaves_the_old_index_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let before = indexed(dir.path());
    for args in [
        vec!["index", "missing-folder", "--index", "n.vsx"],
        vec!["index", "notes", "--index", "n.vsx", "--dim", "0"],
        vec![
            "index",
            "notes",
            "--index",
            "n.vsx",
            "--include",
            "[unclosed",
        ],
    ] {
        let r = run_in(dir.path(), &args);
        assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
        assert!(
            fs::read(dir.path().join("n.vsx")).unwrap() == before,
            "{args:?} changed the index"
        );
    }
    fs::create_dir(dir.path().join("empty")).unwrap();
    let r = run_in(dir.path(), &["index", "empty", "--index", "n.vsx"]);
    assert_eq!(r.code, 2);
    assert!(fs::read(dir.path().join("n.vsx")).unwrap() == before);
    // No temporary files are left behind.
    let stray: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains(".tmp"))
        .collect();
    assert!(stray.is_empty(), "{stray:?}");
}

#[cfg(unix)]
#[test]
fn an_unwritable_folder_is_a_clear_error_and_keeps_the_old_index() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let before = indexed(dir.path());
    let ro = dir.path().join("ro");
    fs::create_dir(&ro).unwrap();
    fs::copy(dir.path().join("n.vsx"), ro.join("n.vsx")).unwrap();
    fs::set_permissions(&ro, fs::Permissions::from_mode(0o555)).unwrap();
    // Root ignores permission bits; the test means nothing then.
    if fs::write(ro.join("probe"), b"x").is_ok() {
        eprintln!("skipped: running as root, permissions are not enforced");
        return;
    }
    let r = run_in(dir.path(), &["index", "notes", "--index", "ro/n.vsx"]);
    let line = assert_error(&r);
    assert!(line.contains("ro/n.vsx"), "{line}");
    assert!(fs::read(ro.join("n.vsx")).unwrap() == before);
    fs::set_permissions(&ro, fs::Permissions::from_mode(0o755)).unwrap();
}
