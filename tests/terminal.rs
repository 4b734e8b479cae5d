//! What reaches a terminal or a pipe: control characters from documents,
//! file names and queries are escaped in text output (JSON escapes them
//! itself), and a reader that closes the pipe early ends the run quietly.

mod common;

use std::io::Read;
use std::process::Stdio;

use common::*;

#[test]
fn control_characters_never_reach_the_terminal_raw() {
    let dir = tempfile::tempdir().unwrap();
    let docs = dir.path().join("docs");
    std::fs::create_dir(&docs).unwrap();
    // An OSC title change, a colour, a bell, a C1 CSI and a bare CR.
    std::fs::write(
        docs.join("evil.txt"),
        "hijack \x1b]0;owned\x07 the \x1b[31mterminal\x1b[0m title \u{9b}2J now\rgone\n",
    )
    .unwrap();
    std::fs::write(docs.join("bad\nname.txt"), "hijack by file name\n").unwrap();
    let r = run_in(dir.path(), &["index", "docs", "--index", "t.vsx", "-q"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = run_in(
        dir.path(),
        &["search", "hijack \x1b[2J", "--index", "t.vsx", "-k", "5"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    for bad in ['\x1b', '\x07', '\u{9b}', '\r'] {
        assert!(!r.stdout.contains(bad), "{bad:?} in {:?}", r.stdout);
    }
    assert!(r.stdout.contains("\\x1b]0;owned\\x07"), "{}", r.stdout);
    // The newline in the name is escaped: every hit is still one
    // `score  doc:line  [lang]` line followed by one text line.
    assert!(r.stdout.contains("bad\\x0aname.txt:1"), "{}", r.stdout);
    assert_eq!(r.stdout.lines().count(), 4, "{}", r.stdout);
    // JSON keeps the exact text, escaped by JSON itself.
    let r = run_in(
        dir.path(),
        &["search", "hijack", "--index", "t.vsx", "--json"],
    );
    let hits = json_lines(&r.stdout);
    assert!(hits
        .iter()
        .any(|h| h["text"].as_str().unwrap().contains("\x1b]0;owned\x07")));
    assert!(hits.iter().any(|h| h["doc"] == "docs/bad\nname.txt"));
    assert!(!r.stdout.contains('\x1b'));
}

/// `search --json | head -1`: the reader leaves after one line, and the
/// writer ends without an error line, as in text mode.
#[test]
fn a_closed_pipe_ends_json_output_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = write_corpus(dir.path());
    // Enough queries that the output outgrows the pipe's buffer.
    let queries: String = (0..3000)
        .map(|i| format!("vector database {i}\n"))
        .collect();
    std::fs::write(dir.path().join("q.txt"), queries).unwrap();
    let r = run_in(
        dir.path(),
        &["index", corpus.to_str().unwrap(), "--index", "p.vsx", "-q"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    for json in [true, false] {
        let mut args = vec!["search", "--queries", "q.txt", "--index", "p.vsx"];
        if json {
            args.push("--json");
        }
        let mut child = bin()
            .current_dir(dir.path())
            .args(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut first = [0u8; 64];
        child
            .stdout
            .as_mut()
            .unwrap()
            .read_exact(&mut first)
            .unwrap();
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !stderr.contains("error") && !stderr.contains("panicked"),
            "json {json}: {stderr}"
        );
        assert!(
            matches!(out.status.code(), Some(0) | Some(1)),
            "json {json}: {:?} {stderr}",
            out.status
        );
    }
}

/// An I/O error is said once, not once per layer that carried it.
#[test]
fn an_io_error_is_printed_once() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = write_corpus(dir.path());
    let line = assert_error(&run_in(
        dir.path(),
        &[
            "index",
            corpus.to_str().unwrap(),
            "--index",
            "no/such/folder/n.vsx",
        ],
    ));
    assert_eq!(
        line.matches("No such file or directory").count(),
        1,
        "{line}"
    );
}
