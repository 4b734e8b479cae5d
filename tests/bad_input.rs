//! Every kind of bad input gets exit 2 and one clear line, or a warning and
//! a clean run where skipping is right; a failed rebuild never touches the
//! index that was there.

mod common;

use std::fs;
use std::path::Path;

use common::*;
use vecsearch::internals::store::{MappedFile, SectionId, Verify};

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
    assert!(r.stderr.contains("over the size limit"), "{}", r.stderr);
}

#[test]
fn empty_and_punctuation_queries() {
    let dir = tempfile::tempdir().unwrap();
    indexed(dir.path());
    let line = assert_error(&run_in(dir.path(), &["search", "", "--index", "n.vsx"]));
    assert!(line.contains("empty query"), "{line}");
    let line = assert_error(&run_in(dir.path(), &["search", "   ", "--index", "n.vsx"]));
    assert!(line.contains("empty query"), "{line}");
    // A query of punctuation or emoji finds nothing: exit 1, as grep,
    // with a word on why.
    for q in ["?!… 。、", "🙂🚀"] {
        let r = run_in(dir.path(), &["search", q, "--index", "n.vsx"]);
        assert_no_panic(&r);
        assert_eq!(r.code, 1, "{q}: {}", r.stderr);
        assert!(r.stdout.is_empty(), "{}", r.stdout);
        assert!(
            r.stderr.contains("no searchable words; no hits"),
            "{}",
            r.stderr
        );
    }
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
    let raw = raw_sections(&p("n.vsx"));
    let checked_on_open = open_checked_ranges(&p("n.vsx"));
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
        if in_raw(at) && r.code != 2 {
            assert_no_panic(&r);
            assert!(
                r.code <= 1 && r.stderr.is_empty(),
                "flip at {at}: exit {}: {}",
                r.code,
                r.stderr
            );
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

/// The sections a plain open checksums (the structured ones it decodes,
/// and the passage records and tombstones), by the library's own ids.
const CHECKED_ON_OPEN: &[SectionId] = &[
    SectionId::Config,
    SectionId::Docs,
    SectionId::Passages,
    SectionId::Idf,
    SectionId::IdfHashes,
    SectionId::IdfDf,
    SectionId::HnswMeta,
    SectionId::LiveDf,
    SectionId::LiveDfHashes,
    SectionId::LiveDfDf,
    SectionId::UpdateState,
    SectionId::Deleted,
    SectionId::TextFrames,
    SectionId::Crosslang,
    SectionId::LexiconSources,
    SectionId::LexiconOffsets,
    SectionId::LexiconTargets,
    SectionId::LexiconWeights,
];

/// The big raw sections whose checksums only `verify` reads.
const RAW: &[SectionId] = &[
    SectionId::Vectors,
    SectionId::Codes,
    SectionId::HnswLayer0,
    SectionId::HnswUpper,
    SectionId::SparseOffsets,
    SectionId::TermWords,
    SectionId::HnswUpperOffsets,
    SectionId::HnswUpperIds,
];

/// Byte ranges of the sections in `ids`, from the file's own section table
/// as the library reads it.
fn section_ranges(path: &Path, ids: &[SectionId]) -> Vec<(usize, usize)> {
    let file = MappedFile::open(path, Verify::Structure).unwrap();
    file.section_ranges()
        .into_iter()
        .filter(|&(id, _, _)| ids.iter().any(|&s| s as u32 == id))
        .map(|(_, off, len)| (off as usize, (off + len) as usize))
        .filter(|(s, e)| s < e)
        .collect()
}

/// Byte ranges of the big raw sections (vectors, sparse vectors, graph
/// arrays).
fn raw_sections(path: &Path) -> Vec<(usize, usize)> {
    section_ranges(path, RAW)
}

/// What a plain open checksums: the header, the metadata sections, the
/// section table and the footer, except the footer's whole-file checksum.
fn open_checked_ranges(path: &Path) -> Vec<(usize, usize)> {
    let b = fs::read(path).unwrap();
    let u64_at = |at: usize| u64::from_le_bytes(b[at..at + 8].try_into().unwrap()) as usize;
    let footer = b.len() - 40;
    let table = u64_at(footer);
    let mut out = vec![(0, 64), (table, b.len() - 16), (b.len() - 8, b.len())];
    out.extend(section_ranges(path, CHECKED_ON_OPEN));
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
        skip("running as root, permissions are not enforced (storage_diskfull.rs covers a read-only file system)");
        return;
    }
    let r = run_in(dir.path(), &["index", "notes", "--index", "ro/n.vsx"]);
    let line = assert_error(&r);
    assert!(line.contains("ro/n.vsx"), "{line}");
    assert!(fs::read(ro.join("n.vsx")).unwrap() == before);
    fs::set_permissions(&ro, fs::Permissions::from_mode(0o755)).unwrap();
}

/// The lock and temporary files a write may leave beside its index.
fn leftovers(dir: &Path) -> Vec<String> {
    names_in(dir)
        .into_iter()
        .filter(|n| n.ends_with(".lock") || n.contains(".tmp-"))
        .collect()
}

#[test]
fn update_and_compact_refuse_to_carry_over_a_corrupt_index() {
    let dir = tempfile::tempdir().unwrap();
    indexed(dir.path());
    let path = dir.path().join("n.vsx");
    // Damage in the dense vectors (1-bit codes or f32): a plain open does
    // not read them, and a new file would put a fresh checksum over them.
    let (start, end) = section_ranges(&path, &[SectionId::Vectors, SectionId::Codes])[0];
    let mut bad = fs::read(&path).unwrap();
    let at = (start + (end - start) / 2) & !3;
    for b in &mut bad[at..at + 4] {
        *b ^= 0xff;
    }
    fs::write(&path, &bad).unwrap();
    // Something for the update to do.
    fs::write(dir.path().join("notes/new.md"), "A new note on vectors.\n").unwrap();
    for args in [
        vec!["index", "notes", "--index", "n.vsx", "--update"],
        vec!["compact", "--index", "n.vsx"],
    ] {
        let line = assert_error(&run_in(dir.path(), &args));
        assert!(
            line.contains("n.vsx")
                && line.contains("corrupt")
                && (line.contains("vector section") || line.contains("code section"))
                && line.contains(
                    "rebuild it from your files with `vecsearch index <PATH>... --index n.vsx`"
                ),
            "{args:?}: {line}"
        );
        assert!(fs::read(&path).unwrap() == bad, "{args:?} wrote the file");
        assert_eq!(leftovers(dir.path()), Vec::<String>::new(), "{args:?}");
    }
    assert_error(&run_in(dir.path(), &["verify", "--index", "n.vsx"]));
    // The command the message names does rebuild it.
    let r = run_in(dir.path(), &["index", "notes", "--index", "n.vsx"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = run_in(dir.path(), &["verify", "--index", "n.vsx"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
}

#[test]
fn the_index_never_replaces_a_document_or_a_file_that_is_not_an_index() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_corpus(d);
    fs::create_dir(d.join("t")).unwrap();
    fs::write(d.join("t/a.txt"), "hi\n").unwrap();
    fs::write(d.join("other.txt"), "my own notes, not an index\n").unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink("notes/a.md", d.join("link.vsx")).unwrap();
    let mut cases = vec![
        // The case: the index named as one of its own inputs.
        (vec!["index", "t", "--index", "t/a.txt"], "t/a.txt"),
        (
            vec!["index", "notes", "--index", "notes/a.md"],
            "notes/a.md",
        ),
        (
            vec!["index", "notes", "--index", "./notes/sub/../a.md"],
            "notes/a.md",
        ),
        // Not among the inputs, but not an index either.
        (vec!["index", "notes", "--index", "other.txt"], "other.txt"),
        (
            vec!["index", "notes", "--index", "other.txt", "--update"],
            "other.txt",
        ),
    ];
    #[cfg(unix)]
    cases.push((vec!["index", "notes", "--index", "link.vsx"], "notes/a.md"));
    for (args, victim) in &cases {
        let before = fs::read(d.join(victim)).unwrap();
        let line = assert_error(&run_in(d, args));
        assert!(
            line.contains(args[3])
                && (line.contains("not a vecsearch index") || line.contains("refusing")),
            "{args:?}: {line}"
        );
        assert!(
            fs::read(d.join(victim)).unwrap() == before,
            "{args:?} replaced {victim}"
        );
        assert_eq!(leftovers(d), Vec::<String>::new(), "{args:?}");
        assert_eq!(
            leftovers(&d.join("notes")),
            Vec::<String>::new(),
            "{args:?}"
        );
    }
    #[cfg(unix)]
    assert!(fs::symlink_metadata(d.join("link.vsx"))
        .unwrap()
        .file_type()
        .is_symlink());
    // A device is not an index file either (as root, a rename over
    // /dev/null would replace the device node).
    #[cfg(unix)]
    {
        let line = assert_error(&run_in(d, &["index", "notes", "--index", "/dev/null"]));
        assert!(
            line.contains("/dev/null") && line.contains("not a regular file"),
            "{line}"
        );
    }

    // An index among its own inputs, named or reached through a folder.
    let r = run_in(d, &["index", "notes", "--index", "notes/n.vsx"]);
    assert_eq!(
        r.code, 0,
        "an index inside the folder it indexes is fine: {}",
        r.stderr
    );
    let index = fs::read(d.join("notes/n.vsx")).unwrap();
    for args in [
        vec!["index", "notes", "notes/n.vsx", "--index", "notes/n.vsx"],
        vec![
            "index",
            "notes",
            "--include",
            "*.vsx",
            "--index",
            "notes/n.vsx",
        ],
        vec![
            "index",
            "notes",
            "--include",
            "*.vsx",
            "--index",
            "notes/n.vsx",
            "--update",
        ],
    ] {
        let line = assert_error(&run_in(d, &args));
        assert!(
            line.contains("notes/n.vsx") && line.contains("one of the files to index"),
            "{args:?}: {line}"
        );
        assert!(
            fs::read(d.join("notes/n.vsx")).unwrap() == index,
            "{args:?}"
        );
        assert_eq!(
            leftovers(&d.join("notes")),
            Vec::<String>::new(),
            "{args:?}"
        );
    }

    // An empty file holds nothing to lose (mktemp makes them): replaced.
    fs::write(d.join("empty.vsx"), b"").unwrap();
    let r = run_in(d, &["index", "notes", "--index", "empty.vsx"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(run_in(d, &["verify", "--index", "empty.vsx"]).code, 0);
}

#[test]
fn a_failed_argument_check_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_corpus(d);
    fs::write(d.join("other.txt"), "not an index\n").unwrap();
    let before = names_in(d);
    for args in [
        vec!["index", "missing", "--index", "n.vsx"],
        vec![
            "index",
            "notes",
            "--index",
            "n.vsx",
            "--include",
            "[unclosed",
        ],
        vec!["index", "notes", "--index", "n.vsx", "--dim", "0"],
        vec!["index", "notes", "--index", "other.txt"],
        vec!["compact", "--index", "n.vsx"],
        vec![
            "index",
            "notes",
            "--index",
            "n.vsx",
            "--lexicon",
            "missing.tsv",
        ],
    ] {
        assert_error(&run_in(d, &args));
        assert_eq!(names_in(d), before, "{args:?} left files behind");
    }
    // Nor does a successful write leave a lock file.
    let r = run_in(d, &["index", "notes", "--index", "n.vsx"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = run_in(d, &["index", "notes", "--index", "n.vsx", "--update"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = run_in(d, &["compact", "--index", "n.vsx"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let mut after = before.clone();
    after.push("n.vsx".into());
    after.sort();
    assert_eq!(names_in(d), after);
    // And an update refused on its arguments, after the lock was taken.
    let line = assert_error(&run_in(
        d,
        &[
            "index", "notes", "--index", "n.vsx", "--update", "--dim", "64",
        ],
    ));
    assert!(line.contains("--update keeps"), "{line}");
    assert_eq!(names_in(d), after);
}

/// Runs `index TARGET` alone and checks the two lines: a warning naming
/// TARGET as not a regular file (a WHAT), then "nothing to index".
#[cfg(unix)]
fn assert_special_file_skipped(d: &Path, target: &str, what: &str) {
    let limit = std::time::Duration::from_secs(30);
    let r = run_with_timeout(d, &["index", target, "--index", "x.vsx"], limit)
        .unwrap_or_else(|| panic!("index {target} hung"));
    assert_no_panic(&r);
    assert_eq!(r.code, 2, "{target}: {}", r.stderr);
    let lines: Vec<&str> = r.stderr.lines().collect();
    assert_eq!(lines.len(), 2, "{target}: {}", r.stderr);
    assert!(
        lines[0].contains("warning")
            && lines[0].contains(target)
            && lines[0].contains(&format!("not a regular file (a {what})")),
        "{target}: {}",
        lines[0]
    );
    assert!(
        lines[1].contains("nothing to index"),
        "{target}: {}",
        lines[1]
    );
    assert!(!d.join("x.vsx").exists());
}

#[cfg(unix)]
#[test]
fn devices_are_skipped_unread_and_the_cap_bounds_the_bytes_read() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_corpus(d);
    std::os::unix::fs::symlink("/dev/zero", d.join("zero.txt")).unwrap();
    // /dev/zero never ends: read, it would fill the memory.
    assert_special_file_skipped(d, "/dev/zero", "character device");
    assert_special_file_skipped(d, "zero.txt", "character device");
    // Beside real documents: a warning, a skip, and the rest indexed.
    let r = run_with_timeout(
        d,
        &["index", "notes", "/dev/zero", "--index", "n.vsx"],
        std::time::Duration::from_secs(30),
    )
    .expect("index hung");
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("skipped 1 file(s)"), "{}", r.stderr);

    // The cap bounds the bytes read, not the size `stat` gives: /proc
    // files say 0 and read on.
    let r = run_in(
        d,
        &[
            "index",
            "/proc/self/status",
            "--index",
            "p.vsx",
            "--max-file-bytes",
            "64",
        ],
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("/proc/self/status")
            && r.stderr
                .contains("reads longer than the size limit of 64 bytes"),
        "{}",
        r.stderr
    );
    // A file of exactly the cap is read; one byte more is not.
    fs::write(d.join("cap.txt"), "vector ".repeat(8)).unwrap();
    let r = run_in(
        d,
        &[
            "index",
            "cap.txt",
            "--index",
            "c.vsx",
            "--max-file-bytes",
            "56",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = run_in(
        d,
        &[
            "index",
            "cap.txt",
            "--index",
            "c.vsx",
            "--max-file-bytes",
            "55",
        ],
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("56 bytes is over the size limit of 55"),
        "{}",
        r.stderr
    );
}

#[cfg(unix)]
#[test]
fn fifos_are_skipped_without_blocking() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_corpus(d);
    let mkfifo = |p: &Path| {
        let st = std::process::Command::new("mkfifo")
            .arg(p)
            .status()
            .unwrap();
        assert!(st.success(), "mkfifo {}", p.display());
    };
    // No writer ever opens it: opening it to read would block for ever.
    mkfifo(&d.join("pipe.txt"));
    std::os::unix::fs::symlink("pipe.txt", d.join("pipe-link.md")).unwrap();
    assert_special_file_skipped(d, "pipe.txt", "FIFO");
    assert_special_file_skipped(d, "pipe-link.md", "FIFO");
    let limit = std::time::Duration::from_secs(30);
    let r = run_with_timeout(
        d,
        &["index", "notes", "pipe.txt", "--index", "n.vsx"],
        limit,
    )
    .expect("index hung");
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("skipped 1 file(s)"), "{}", r.stderr);
    // One inside a folder is not a document and is never opened.
    mkfifo(&d.join("notes/q.md"));
    let r = run_with_timeout(d, &["index", "notes", "--index", "n.vsx"], limit).expect("hung");
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(!r.stderr.contains("q.md"), "{}", r.stderr);
}

#[test]
fn a_panic_is_not_a_clean_error() {
    let dir = tempfile::tempdir().unwrap();
    let r: Run = bin()
        .current_dir(dir.path())
        .env("VECSEARCH_PANIC_FOR_TEST", "1")
        .args(["info"])
        .output()
        .unwrap()
        .into();
    assert_eq!(r.code, PANIC_EXIT, "{}", r.stderr);
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    assert!(
        r.stderr.starts_with("vecsearch: internal error (panic"),
        "{}",
        r.stderr
    );
    // The tests' error check rejects it.
    let caught = std::panic::catch_unwind(|| assert_error(&r));
    assert!(caught.is_err(), "assert_error accepted a panic");
}
