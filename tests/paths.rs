//! Stored paths do not depend on the current folder (format 7): an index
//! built in one folder answers from another with paths that open from
//! there, `--update` from anywhere (any spelling, through a symlink, after
//! the whole tree moved) re-reads nothing that did not change, and the
//! filters and `similar` take the printed form.

mod common;

use std::fs;
use std::path::Path;

use common::*;

/// Folder `a` holding `docs/` (three files) and, once built, `x.vsx`;
/// folder `b` beside it, empty.
fn layout(root: &Path) {
    let docs = root.join("a/docs/sub");
    fs::create_dir_all(&docs).unwrap();
    fs::create_dir_all(root.join("b")).unwrap();
    fs::write(
        root.join("a/docs/vec.md"),
        "# Vector databases\n\nA vector database stores embeddings for nearest neighbour search.\n",
    )
    .unwrap();
    fs::write(
        root.join("a/docs/cats.md"),
        "# Cats\n\nCats sleep for most of the afternoon in the sun.\n",
    )
    .unwrap();
    fs::write(
        docs.join("rivers.txt"),
        "Rivers carry water and sediment from the mountains to the sea.\n",
    )
    .unwrap();
    let r = run_in(&root.join("a"), &["index", "docs", "--index", "x.vsx"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
}

fn docs_of(r: &Run) -> Vec<String> {
    assert!(r.code <= 1, "{}", r.stderr);
    json_lines(&r.stdout)
        .iter()
        .map(|h| h["doc"].as_str().unwrap().to_string())
        .collect()
}

/// The counts of an update's summary line, from "N added" to "N unchanged".
fn counts(r: &Run) -> String {
    assert_eq!(r.code, 0, "{}", r.stderr);
    let line = r
        .stderr
        .lines()
        .find(|l| l.starts_with("updated "))
        .unwrap_or_else(|| panic!("no summary: {}", r.stderr));
    let from = line.find(": ").unwrap() + 2;
    let to = line.find(" documents").unwrap();
    line[from..to].to_string()
}

#[test]
fn paths_print_relative_to_the_folder_searched_from() {
    let t = tempfile::tempdir().unwrap();
    layout(t.path());
    let (a, b) = (t.path().join("a"), t.path().join("b"));
    let here = docs_of(&run_in(
        &a,
        &["search", "vector database", "--index", "x.vsx", "--json"],
    ));
    assert_eq!(here[0], "docs/vec.md", "as typed from the build's folder");
    let there = docs_of(&run_in(
        &b,
        &[
            "search",
            "vector database",
            "--index",
            "../a/x.vsx",
            "--json",
        ],
    ));
    assert_eq!(there[0], "../a/docs/vec.md");
    for d in &there {
        assert!(b.join(d).is_file(), "{d} does not open from b");
    }
    // The text output and the filters take the same form.
    let r = run_in(&b, &["search", "rivers", "--index", "../a/x.vsx"]);
    assert!(
        r.stdout.contains("../a/docs/sub/rivers.txt:1"),
        "{}",
        r.stdout
    );
    let r = run_in(
        &b,
        &[
            "search",
            "water",
            "--index",
            "../a/x.vsx",
            "--path",
            "../a/docs/sub/*",
            "--json",
        ],
    );
    assert_eq!(docs_of(&r), ["../a/docs/sub/rivers.txt"]);
    let r = run_in(
        &b,
        &[
            "search",
            "sleep",
            "--index",
            "../a/x.vsx",
            "--doc",
            "../a/docs/cats.md",
            "--json",
        ],
    );
    assert_eq!(docs_of(&r), ["../a/docs/cats.md"; 1]);
    let r = run_in(
        &b,
        &[
            "similar",
            "../a/docs/vec.md:3",
            "--index",
            "../a/x.vsx",
            "--json",
        ],
    );
    assert!(r.code <= 1, "{}", r.stderr);
    // From the filesystem root every path is still one that opens.
    let root_view = docs_of(&run_in(
        Path::new("/"),
        &[
            "search",
            "vector database",
            "--index",
            a.join("x.vsx").to_str().unwrap(),
            "--json",
        ],
    ));
    assert!(
        Path::new("/").join(&root_view[0]).is_file(),
        "{root_view:?}"
    );
}

#[test]
fn absolute_paths_stay_absolute() {
    let t = tempfile::tempdir().unwrap();
    layout(t.path());
    let a = t.path().join("a");
    let abs_docs = a.join("docs");
    let r = run_in(
        &a,
        &["index", abs_docs.to_str().unwrap(), "--index", "y.vsx"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    for dir in [a.as_path(), Path::new("/")] {
        let index = a.join("y.vsx");
        let got = docs_of(&run_in(
            dir,
            &[
                "search",
                "cats",
                "--index",
                index.to_str().unwrap(),
                "--json",
            ],
        ));
        assert!(
            got[0].starts_with(abs_docs.to_str().unwrap()),
            "{got:?} from {}",
            dir.display()
        );
    }
}

#[test]
fn update_from_another_folder_rereads_nothing_unchanged() {
    let t = tempfile::tempdir().unwrap();
    layout(t.path());
    let (a, b) = (t.path().join("a"), t.path().join("b"));
    let cats = a.join("docs/cats.md");
    // Same size, same mtime, other bytes: only a re-read would notice, so
    // "unchanged" below proves the file was not read.
    let mtime = fs::metadata(&cats).unwrap().modified().unwrap();
    let text = fs::read_to_string(&cats).unwrap();
    fs::write(&cats, text.replace("Cats", "Dogs")).unwrap();
    fs::File::options()
        .write(true)
        .open(&cats)
        .unwrap()
        .set_modified(mtime)
        .unwrap();
    let abs_index = a.join("x.vsx");
    let abs_index = abs_index.to_str().unwrap();
    let r = run_in(
        Path::new("/"),
        &[
            "index",
            a.join("docs").to_str().unwrap(),
            "--index",
            abs_index,
            "--update",
        ],
    );
    assert_eq!(counts(&r), "0 added, 0 changed, 0 removed, 3 unchanged");
    // Another relative spelling, with `..` and `.` in it.
    let r = run_in(
        &b,
        &[
            "index",
            "../b/../a/./docs",
            "--index",
            "../a/x.vsx",
            "--update",
        ],
    );
    assert_eq!(counts(&r), "0 added, 0 changed, 0 removed, 3 unchanged");
    // An edit is the one file read again.
    fs::write(
        a.join("docs/sub/rivers.txt"),
        "Rivers carry water, sediment and fish from the hills down to the sea.\n",
    )
    .unwrap();
    let r = run_in(
        &b,
        &["index", "../a/docs", "--index", "../a/x.vsx", "--update"],
    );
    assert_eq!(counts(&r), "0 added, 1 changed, 0 removed, 2 unchanged");
    assert!(
        r.stderr.contains("1 passages added, 1 removed"),
        "{}",
        r.stderr
    );
    let got = docs_of(&run_in(
        &b,
        &["search", "fish hills", "--index", "../a/x.vsx", "--json"],
    ));
    assert_eq!(got[0], "../a/docs/sub/rivers.txt");
    let r = run_in(&b, &["verify", "--index", "../a/x.vsx"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
}

#[cfg(unix)]
#[test]
fn symlinked_and_moved_trees_are_the_same_documents() {
    let t = tempfile::tempdir().unwrap();
    layout(t.path());
    let (a, b) = (t.path().join("a"), t.path().join("b"));
    std::os::unix::fs::symlink(&a, t.path().join("link")).unwrap();
    // Through a symlinked folder: same files, nothing re-read.
    let r = run_in(
        &b,
        &[
            "index",
            "../link/docs",
            "--index",
            "../link/x.vsx",
            "--update",
        ],
    );
    assert_eq!(counts(&r), "0 added, 0 changed, 0 removed, 3 unchanged");
    let got = docs_of(&run_in(
        &b,
        &["search", "cats", "--index", "../link/x.vsx", "--json"],
    ));
    assert!(b.join(&got[0]).is_file(), "{got:?}");
    // An index opened through a symlink to it: paths are relative to the
    // folder the file is really in.
    std::os::unix::fs::symlink(a.join("x.vsx"), b.join("link.vsx")).unwrap();
    let got = docs_of(&run_in(
        &b,
        &["search", "cats", "--index", "link.vsx", "--json"],
    ));
    assert_eq!(got[0], "../a/docs/cats.md");
    // Written through a symlink, the new file replaces the link, and paths
    // are relative to where it now is.
    let r = run_in(&b, &["index", "../a/docs", "--index", "link.vsx"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(!fs::symlink_metadata(b.join("link.vsx"))
        .unwrap()
        .is_symlink());
    let got = docs_of(&run_in(
        &t.path().join("a/docs"),
        &["search", "cats", "--index", "../../b/link.vsx", "--json"],
    ));
    assert_eq!(got[0], "cats.md");
    fs::remove_file(b.join("link.vsx")).unwrap();
    // The index travels with its documents: paths below its folder are
    // stored relative to it.
    let moved = t.path().join("moved");
    fs::rename(&a, &moved).unwrap();
    let got = docs_of(&run_in(
        &b,
        &["search", "rivers", "--index", "../moved/x.vsx", "--json"],
    ));
    assert!(got[0].starts_with("../moved/docs/"), "{got:?}");
    let r = run_in(&moved, &["index", "docs", "--index", "x.vsx", "--update"]);
    assert_eq!(counts(&r), "0 added, 0 changed, 0 removed, 3 unchanged");
}
