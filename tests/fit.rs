//! Issue 13: vecsearch fits how people already work. Ignore files, globs,
//! hidden files, HTML and PDF, one document per file however it is named,
//! search filters and output modes, completions. Each test runs the real
//! binary on files it writes.

mod common;

use std::fs;
use std::path::Path;

use common::*;

fn write(path: &Path, text: &str) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
}

fn docs_of(dir: &Path, index: &str) -> Vec<String> {
    let r = run_in(
        dir,
        &["search", "vector", "--index", index, "--json", "-k", "50"],
    );
    assert!(r.code <= 1, "{}", r.stderr);
    let mut docs: Vec<String> = json_lines(&r.stdout)
        .iter()
        .map(|h| h["doc"].as_str().unwrap().to_string())
        .collect();
    docs.sort();
    docs.dedup();
    docs
}

/// A git repository with node_modules, build output, hidden folders, a
/// PDF and an image.
fn repo(dir: &Path) -> std::path::PathBuf {
    let root = dir.join("repo");
    fs::create_dir_all(root.join(".git")).unwrap();
    write(&root.join(".gitignore"), "node_modules/\ntarget/\n");
    write(&root.join(".ignore"), "drafts/\n");
    write(&root.join("node_modules/pkg/README.md"), "vector package\n");
    write(&root.join("target/out.txt"), "vector build output\n");
    write(&root.join("drafts/d.md"), "vector draft\n");
    write(&root.join(".cache/c.md"), "vector cache\n");
    write(&root.join("docs/guide.md"), "vector guide\n");
    write(&root.join("docs/api.txt"), "vector api\n");
    write(&root.join("notes.md"), "vector notes\n");
    fs::write(root.join("paper.pdf"), b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n").unwrap();
    fs::write(root.join("logo.png"), b"\x89PNG\r\n").unwrap();
    root
}

#[test]
fn gitignore_ignore_and_hidden_are_honoured_and_flags_turn_them_off() {
    let tmp = tempfile::tempdir().unwrap();
    repo(tmp.path());
    let r = run_in(tmp.path(), &["index", "repo", "--index", "a.vsx"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        docs_of(tmp.path(), "a.vsx"),
        ["repo/docs/api.txt", "repo/docs/guide.md", "repo/notes.md"]
    );
    // The summary counts the files passed over for their extension.
    assert!(
        r.stderr
            .contains("skipped 1 file(s) (1 unreadable PDF; see the warnings above); 1 file(s) for their extension (1 .png;"),
        "{}",
        r.stderr
    );

    let r = run_in(
        tmp.path(),
        &[
            "index",
            "repo",
            "--index",
            "b.vsx",
            "--no-ignore",
            "--hidden",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        docs_of(tmp.path(), "b.vsx"),
        [
            "repo/.cache/c.md",
            "repo/docs/api.txt",
            "repo/docs/guide.md",
            "repo/drafts/d.md",
            "repo/node_modules/pkg/README.md",
            "repo/notes.md",
            "repo/target/out.txt",
        ]
    );

    // --glob keeps, --exclude (or -g '!GLOB') drops.
    let r = run_in(
        tmp.path(),
        &["index", "repo", "--index", "c.vsx", "--glob", "docs/**"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        docs_of(tmp.path(), "c.vsx"),
        ["repo/docs/api.txt", "repo/docs/guide.md"]
    );
    let r = run_in(
        tmp.path(),
        &[
            "index",
            "repo",
            "--index",
            "d.vsx",
            "--exclude",
            "*.txt",
            "-g",
            "!notes.md",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(docs_of(tmp.path(), "d.vsx"), ["repo/docs/guide.md"]);

    // --type keeps only files of those types.
    let r = run_in(
        tmp.path(),
        &["index", "repo", "--index", "t.vsx", "-t", "txt"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(docs_of(tmp.path(), "t.vsx"), ["repo/docs/api.txt"]);
    let r = run_in(
        tmp.path(),
        &[
            "index", "repo", "--index", "t.vsx", "--type", "md", "--type", "txt",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        docs_of(tmp.path(), "t.vsx"),
        ["repo/docs/api.txt", "repo/docs/guide.md", "repo/notes.md"]
    );

    let line = assert_error(&run_in(
        tmp.path(),
        &["index", "repo", "--index", "e.vsx", "--glob", "a[b"],
    ));
    assert!(
        line.contains("--glob \"a[b\" is not a valid glob"),
        "{line}"
    );
    assert!(!tmp.path().join("e.vsx.lock").exists());
}

#[test]
fn the_walk_order_is_sorted_and_deterministic() {
    let tmp = tempfile::tempdir().unwrap();
    for name in ["b.md", "a/z.md", "a/b.md", "c/a.md", "B.md"] {
        write(&tmp.path().join("t").join(name), "vector\n");
    }
    let r = run_in(tmp.path(), &["index", "t", "--index", "i.vsx"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = run_in(
        tmp.path(),
        &["search", "vector", "--index", "i.vsx", "--json", "-k", "9"],
    );
    // Equal scores tie-break by passage id, which is walk order.
    let docs: Vec<String> = json_lines(&r.stdout)
        .iter()
        .map(|h| h["doc"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        docs,
        ["t/B.md", "t/a/b.md", "t/a/z.md", "t/b.md", "t/c/a.md"]
    );
}

#[test]
fn one_file_named_many_ways_is_one_document() {
    let tmp = tempfile::tempdir().unwrap();
    write(&tmp.path().join("t/a.txt"), "vector databases\n");
    write(&tmp.path().join("t/b.txt"), "other vector text\n");
    let r = run_in(
        tmp.path(),
        &[
            "index",
            "t",
            "t",
            "t/a.txt",
            "./t/a.txt",
            "t//b.txt",
            "--index",
            "i.vsx",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("from 2 documents"), "{}", r.stderr);
    // The folder named twice is walked once; the files named again are
    // counted as repeats.
    assert!(
        r.stderr.contains("3 path(s) naming a file already named"),
        "{}",
        r.stderr
    );
    assert_eq!(docs_of(tmp.path(), "i.vsx"), ["t/a.txt", "t/b.txt"]);
    let r = run_in(
        tmp.path(),
        &["search", "vector", "--index", "i.vsx", "--json"],
    );
    assert_eq!(json_lines(&r.stdout).len(), 2, "{}", r.stdout);
    // `./t` is stored as `t`, so an update spelt either way is a no-op.
    let r = run_in(
        tmp.path(),
        &["index", "./t", "--index", "i.vsx", "--update"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("0 added, 0 changed, 0 removed, 2 unchanged"),
        "{}",
        r.stderr
    );
}

#[test]
fn an_unreadable_folder_is_warned_about_and_skipped() {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        write(&tmp.path().join("t/ok.md"), "vector ok\n");
        write(&tmp.path().join("t/locked/secret.md"), "vector secret\n");
        fs::set_permissions(tmp.path(), fs::Permissions::from_mode(0o777)).unwrap();
        fs::set_permissions(tmp.path().join("t"), fs::Permissions::from_mode(0o755)).unwrap();
        fs::set_permissions(
            tmp.path().join("t/ok.md"),
            fs::Permissions::from_mode(0o644),
        )
        .unwrap();
        fs::set_permissions(
            tmp.path().join("t/locked"),
            fs::Permissions::from_mode(0o000),
        )
        .unwrap();
        // Root reads any folder: run the binary as `nobody` then, when
        // setpriv can drop to it.
        let root = unsafe { libc::geteuid() } == 0;
        let mut cmd = if root {
            let mut c = std::process::Command::new("setpriv");
            c.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
                .arg(env!("CARGO_BIN_EXE_vecsearch"));
            c
        } else {
            std::process::Command::new(env!("CARGO_BIN_EXE_vecsearch"))
        };
        cmd.env_remove("VECSEARCH_INDEX")
            .current_dir(tmp.path())
            .args(["index", "t", "--index", "i.vsx"]);
        let out = cmd.output();
        fs::set_permissions(
            tmp.path().join("t/locked"),
            fs::Permissions::from_mode(0o755),
        )
        .unwrap();
        let r: Run = match out {
            Ok(o) if !(root && o.status.code() == Some(127)) => o.into(),
            _ => {
                skip("running as root and setpriv cannot drop to nobody: the chmod-000 folder is readable");
                return;
            }
        };
        if root && r.stderr.contains("setpriv") {
            skip(&format!("setpriv failed: {}", r.stderr.trim()));
            return;
        }
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert!(
            r.stderr
                .contains("t/locked: skipped: unreadable folder: Permission denied"),
            "{}",
            r.stderr
        );
        assert!(r.stderr.contains("1 unreadable folder(s)"), "{}", r.stderr);
        assert!(r.stderr.contains("from 1 documents"), "{}", r.stderr);
    }
}

#[test]
fn html_is_indexed_as_text_with_the_file_lines() {
    let tmp = tempfile::tempdir().unwrap();
    write(
        &tmp.path().join("site/page.html"),
        "<!DOCTYPE html>\n<html><head><title>Bases vectorielles</title>\n<style>body { vector: none }</style>\n<script>\nvar vector = '<p>';\n</script></head>\n<body>\n<h1>Vector   <em>databases</em></h1>\n<p>A vector database stores embeddings &amp; answers\nnearest neighbour queries.</p><p>Une base de donn&eacute;es</p>\n<!-- vector comment -->\n</body></html>\n",
    );
    let r = run_in(tmp.path(), &["index", "site", "--index", "i.vsx"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = run_in(
        tmp.path(),
        &["search", "vector", "--index", "i.vsx", "--json", "-k", "20"],
    );
    let hits = json_lines(&r.stdout);
    let got: Vec<(u64, u64, &str)> = hits
        .iter()
        .map(|h| {
            (
                h["line_start"].as_u64().unwrap(),
                h["line_end"].as_u64().unwrap(),
                h["text"].as_str().unwrap(),
            )
        })
        .collect();
    assert!(got.contains(&(8, 8, "Vector databases")), "{got:?}");
    assert!(
        got.contains(&(
            9,
            10,
            "A vector database stores embeddings & answers nearest neighbour queries."
        )),
        "{got:?}"
    );
    // Scripts, styles and comments are not text.
    assert!(
        got.iter()
            .all(|(_, _, t)| !t.contains("var") && !t.contains("comment") && !t.contains('<')),
        "{got:?}"
    );
    let r = run_in(
        tmp.path(),
        &["search", "données", "--index", "i.vsx", "--json"],
    );
    let hits = json_lines(&r.stdout);
    assert_eq!(hits[0]["text"], "Une base de données", "{}", r.stdout);
    assert_eq!(hits[0]["line_start"], 10);
}

#[test]
fn a_damaged_pdf_is_skipped_with_a_counted_message() {
    let tmp = tempfile::tempdir().unwrap();
    let root = repo(tmp.path());
    let r = run_in(
        tmp.path(),
        &[
            "index",
            "repo/notes.md",
            "repo/paper.pdf",
            "--index",
            "i.vsx",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("repo/paper.pdf: skipped: not a readable PDF"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("skipped 1 file(s) (1 unreadable PDF;"),
        "{}",
        r.stderr
    );
    drop(root);
}

/// A corpus for the search modes: two folders, a table whose cells share
/// a line, a file with a blank line.
fn search_corpus(dir: &Path) {
    write(
        &dir.join("t/docs/guide.md"),
        "# Vector search\n\nA vector index answers nearest neighbour queries.\n\nUnrelated closing words.\n",
    );
    write(
        &dir.join("t/notes/n.txt"),
        "Vector databases store embeddings.\n\nThe vector graph links neighbours.\n",
    );
    write(
        &dir.join("t/site/table.html"),
        "<table><tr><td>vector one</td></tr><tr><td>vector two</td></tr></table>\n",
    );
    let r = run_in(dir, &["index", "t", "--index", "i.vsx"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
}

#[test]
fn path_and_doc_filters_apply_before_k() {
    let tmp = tempfile::tempdir().unwrap();
    search_corpus(tmp.path());
    let docs = |args: &[&str]| {
        let mut a = vec!["search", "vector", "--index", "i.vsx", "--json"];
        a.extend_from_slice(args);
        let r = run_in(tmp.path(), &a);
        assert!(r.code <= 1, "{}", r.stderr);
        json_lines(&r.stdout)
            .iter()
            .map(|h| h["doc"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    // -k 1 still finds a hit in the filtered folder: the filter runs
    // inside the search, not on its top k.
    assert_eq!(docs(&["--path", "notes", "-k", "1"]), ["t/notes/n.txt"]);
    assert_eq!(docs(&["--path", "*.md", "-k", "1"]), ["t/docs/guide.md"]);
    let both = docs(&["--path", "docs/**", "--doc", "n.txt"]);
    assert!(both.iter().all(|d| d != "t/site/table.html"), "{both:?}");
    assert!(both.contains(&"t/notes/n.txt".to_string()), "{both:?}");
    assert_eq!(
        run_in(
            tmp.path(),
            &[
                "search",
                "vector",
                "--index",
                "i.vsx",
                "--path",
                "nothing/**"
            ]
        )
        .code,
        1
    );
    let line = assert_error(&run_in(
        tmp.path(),
        &["search", "vector", "--index", "i.vsx", "--path", "a[b"],
    ));
    assert!(line.contains("\"a[b\" is not valid"), "{line}");
}

#[test]
fn count_files_with_matches_context_and_stdin() {
    let tmp = tempfile::tempdir().unwrap();
    search_corpus(tmp.path());
    let r = run_in(
        tmp.path(),
        &["search", "vector", "--index", "i.vsx", "--count"],
    );
    assert_eq!((r.code, r.stdout.as_str()), (0, "6\n"), "{}", r.stderr);
    let r = run_in(
        tmp.path(),
        &["search", "vector", "--index", "i.vsx", "--count", "--json"],
    );
    assert_eq!(r.stdout, "{\"count\":6}\n");
    let r = run_in(tmp.path(), &["search", "vector", "--index", "i.vsx", "-l"]);
    let mut files: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(files.len(), 3, "{}", r.stdout);
    files.sort();
    assert_eq!(
        files,
        ["t/docs/guide.md", "t/notes/n.txt", "t/site/table.html"]
    );

    // Context lines come from the file, the hit's own lines marked ':'.
    let r = run_in(
        tmp.path(),
        &[
            "search",
            "nearest neighbour",
            "--index",
            "i.vsx",
            "-C",
            "1",
            "-k",
            "1",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains(
            "       2- \n       3: A vector index answers nearest neighbour queries.\n       4- \n"
        ),
        "{}",
        r.stdout
    );

    // Table cells on one line are told apart by their bytes.
    let r = run_in(
        tmp.path(),
        &["search", "vector", "--index", "i.vsx", "--path", "*.html"],
    );
    assert!(
        r.stdout.contains("t/site/table.html:1 (bytes "),
        "{}",
        r.stdout
    );

    // `-` reads the query from standard input.
    let mut child = bin()
        .current_dir(tmp.path())
        .args(["search", "-", "--index", "i.vsx", "--json", "-k", "1"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"embeddings\ndatabases\n")
        .unwrap();
    let r: Run = child.wait_with_output().unwrap().into();
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(json_lines(&r.stdout)[0]["doc"], "t/notes/n.txt");
}

#[test]
fn queries_stream_from_a_file_or_stdin() {
    let tmp = tempfile::tempdir().unwrap();
    search_corpus(tmp.path());
    // More queries than one batch, so answers go out batch by batch.
    let mut qs = String::new();
    for i in 0..1100 {
        qs.push_str(if i % 2 == 0 {
            "vector\n"
        } else {
            "embeddings\n"
        });
    }
    qs.push_str("\n!!!\n");
    fs::write(tmp.path().join("q.txt"), &qs).unwrap();
    let r = run_in(
        tmp.path(),
        &[
            "search",
            "--queries",
            "q.txt",
            "--index",
            "i.vsx",
            "--count",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(lines.len(), 1100);
    assert_eq!(lines[0], "0\t6");
    assert_eq!(lines[1099], "1099\t1");
    assert!(
        r.stderr
            .contains("q.txt:1102: query \"!!!\" has no searchable words"),
        "{}",
        r.stderr
    );
    let mut child = bin()
        .current_dir(tmp.path())
        .args([
            "search",
            "--queries",
            "-",
            "--index",
            "i.vsx",
            "--json",
            "-k",
            "1",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"vector\nembeddings\n")
        .unwrap();
    let r: Run = child.wait_with_output().unwrap().into();
    let hits = json_lines(&r.stdout);
    assert_eq!(hits.len(), 2, "{}", r.stdout);
    assert_eq!(hits[1]["query_id"], 1);
}

#[test]
fn similar_takes_the_nearest_passage_and_ripgrep_columns() {
    let tmp = tempfile::tempdir().unwrap();
    search_corpus(tmp.path());
    // Line 2 is blank: the passage after it answers, and stderr says so.
    let r = run_in(
        tmp.path(),
        &["similar", "t/notes/n.txt:2", "--index", "i.vsx", "--json"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("no passage covers t/notes/n.txt:2; using the nearest one, lines 3-3"),
        "{}",
        r.stderr
    );
    // ripgrep prints path:line:column.
    let r = run_in(
        tmp.path(),
        &["similar", "t/notes/n.txt:1:8", "--index", "i.vsx", "--json"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.is_empty(), "{}", r.stderr);
}

#[test]
fn index_variable_typos_and_empty_values_are_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let r: Run = bin()
        .current_dir(tmp.path())
        .env("VECSEARCH_INDEX", "/nonexistent/typo.vsx")
        .args(["search", "vector"])
        .output()
        .unwrap()
        .into();
    let line = assert_error(&r);
    assert!(
        line.contains("/nonexistent/typo.vsx: no such index (named by VECSEARCH_INDEX)"),
        "{line}"
    );
    for cmd in [&["search", "vector"][..], &["info"], &["index", "."]] {
        let r: Run = bin()
            .current_dir(tmp.path())
            .env("VECSEARCH_INDEX", "")
            .args(cmd)
            .output()
            .unwrap()
            .into();
        let line = assert_error(&r);
        assert!(
            line.contains("VECSEARCH_INDEX is set but empty"),
            "{cmd:?}: {line}"
        );
    }
    // A missing argument is named.
    let line = assert_error(&run_in(tmp.path(), &["index"]));
    assert!(line.contains("<PATH>"), "{line}");
}

#[test]
fn completions_man_page_and_color() {
    let tmp = tempfile::tempdir().unwrap();
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let r = run_in(tmp.path(), &["completions", shell]);
        assert_eq!(r.code, 0, "{shell}: {}", r.stderr);
        assert!(r.stdout.contains("vecsearch"), "{shell}");
        assert!(r.stdout.contains("files-with-matches"), "{shell}");
    }
    assert_error(&run_in(tmp.path(), &["completions", "tcsh"]));
    let r = run_in(tmp.path(), &["man"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.starts_with(".ie") || r.stdout.contains(".TH vecsearch 1"),
        "{}",
        &r.stdout[..200.min(r.stdout.len())]
    );

    search_corpus(tmp.path());
    let r = run_in(
        tmp.path(),
        &[
            "search", "vector", "--index", "i.vsx", "--color", "always", "-k", "1",
        ],
    );
    assert!(r.stdout.contains("\x1b[35m"), "{:?}", r.stdout);
    assert!(r.stdout.contains("\x1b[1;31m"), "{:?}", r.stdout);
    let r: Run = bin()
        .current_dir(tmp.path())
        .env_remove("NO_COLOR")
        .args(["search", "vector", "--index", "i.vsx", "--color", "never"])
        .output()
        .unwrap()
        .into();
    assert!(!r.stdout.contains('\x1b'), "{:?}", r.stdout);
    assert_error(&run_in(
        tmp.path(),
        &[
            "search",
            "vector",
            "--index",
            "i.vsx",
            "--color",
            "sometimes",
        ],
    ));
}

#[test]
fn names_that_are_not_utf8_stay_apart_across_updates() {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("t");
        fs::create_dir_all(&dir).unwrap();
        for (name, text) in [
            (&b"x\xff.txt"[..], "vector one\n"),
            (b"x\xfe.txt", "vector two\n"),
        ] {
            let p = dir.join(std::ffi::OsStr::from_bytes(name));
            if fs::write(&p, text).is_err() {
                skip("this file system refuses names that are not UTF-8");
                return;
            }
        }
        let r = run_in(tmp.path(), &["index", "t", "--index", "i.vsx"]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert_eq!(
            docs_of(tmp.path(), "i.vsx"),
            ["t/x\\xfe.txt", "t/x\\xff.txt"]
        );
        let r = run_in(tmp.path(), &["index", "t", "--index", "i.vsx", "--update"]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert!(
            r.stderr
                .contains("0 added, 0 changed, 0 removed, 2 unchanged"),
            "{}",
            r.stderr
        );
    }
}

#[test]
fn update_refuses_settings_it_would_ignore_and_bad_dims_cost_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    write(&tmp.path().join("t/a.md"), "vector databases\n");
    let r = run_in(
        tmp.path(),
        &[
            "index",
            "t",
            "--index",
            "i.vsx",
            "--no-subwords",
            "--dim",
            "64",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    for (flags, named) in [
        (&["--seed", "7"][..], "seed"),
        (&["--lexicon", "none"], "--lexicon"),
        (&["--bridge", "1.5"], "--bridge"),
        (&["--no-han-fold"], "--no-han-fold"),
    ] {
        let mut args = vec!["index", "t", "--index", "i.vsx", "--update"];
        args.extend_from_slice(flags);
        let line = assert_error(&run_in(tmp.path(), &args));
        assert!(line.contains("--update keeps the index's"), "{line}");
        assert!(line.contains(named), "{flags:?}: {line}");
    }
    // A flag that agrees with the index is no conflict.
    let r = run_in(
        tmp.path(),
        &[
            "index",
            "t",
            "--index",
            "i.vsx",
            "--update",
            "--no-subwords",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);

    for dim in ["0", "70000"] {
        let line = assert_error(&run_in(
            tmp.path(),
            &["index", "t", "--index", "j.vsx", "--dim", dim],
        ));
        assert!(
            line.contains("--dim") && line.contains("between 1 and"),
            "{line}"
        );
        assert!(!tmp.path().join("j.vsx.lock").exists());
    }
}

#[test]
fn a_lexicon_with_no_usable_pairs_is_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    fs::write(
        tmp.path().join("par.tsv"),
        "fr\tdatabase\tbase\nja\tvector\tベクトル\n",
    )
    .unwrap();
    let line = assert_error(&run_in(
        tmp.path(),
        &["lexicon", "learn", "par.tsv", "--out", "lex.tsv"],
    ));
    assert!(line.contains("no translation passed the floors"), "{line}");
    assert!(!tmp.path().join("lex.tsv").exists());
}

#[test]
fn short_passages_take_the_language_of_their_document() {
    let tmp = tempfile::tempdir().unwrap();
    write(
        &tmp.path().join("t/guide.md"),
        "# Network setup\n\nThe network configuration of a Debian system lives in a few plain text files, which the installer writes and which you can edit by hand whenever the machine moves to another network.\n\n- Gateway address\n- Name servers\n\n| interface | method |\n|---|---|\n| eth0 | dhcp |\n",
    );
    let r = run_in(tmp.path(), &["index", "t", "--index", "i.vsx"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = run_in(
        tmp.path(),
        &[
            "search", "gateway", "--index", "i.vsx", "--lang", "en", "--json",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(json_lines(&r.stdout)[0]["text"], "- Gateway address");
    let r = run_in(tmp.path(), &["info", "--index", "i.vsx"]);
    assert!(r.stdout.contains("languages       en 6\n"), "{}", r.stdout);
}
