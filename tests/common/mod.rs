//! Helpers for black-box tests: run the real binary in a temp folder.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_vecsearch"));
    c.env_remove("VECSEARCH_INDEX").env("NO_COLOR", "1");
    c
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(o: Output) -> Self {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

pub fn run_in(dir: &Path, args: &[&str]) -> Run {
    bin()
        .current_dir(dir)
        .args(args)
        .output()
        .expect("binary runs")
        .into()
}

/// The binary's exit status after a panic (see `src/main.rs`).
pub const PANIC_EXIT: i32 = 101;

/// Fails if the run panicked: exit 101, the binary's "internal error"
/// marker, or Rust's own panic message (a panic outside the hook).
pub fn assert_no_panic(r: &Run) {
    assert!(
        r.code != PANIC_EXIT
            && !r.stderr.contains("internal error")
            && !r.stderr.contains("panicked"),
        "the binary panicked (exit {}): {}",
        r.code,
        r.stderr
    );
}

/// Asserts exit 2 with exactly one line on stderr, and returns that line.
/// A panic is never a clean error, whatever it prints.
pub fn assert_error(r: &Run) -> String {
    assert_no_panic(r);
    assert_eq!(r.code, 2, "expected exit 2; stderr: {}", r.stderr);
    let lines: Vec<&str> = r.stderr.lines().collect();
    assert_eq!(
        lines.len(),
        1,
        "expected one stderr line, got: {:?}",
        r.stderr
    );
    lines[0].to_string()
}

/// Prints a line that shows in every `cargo test`, passing or not: libtest
/// captures `eprintln!` of passing tests, but not a write to the stderr
/// handle itself.
pub fn loud(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// Says loudly that a test did not run its checks, and why.
pub fn skip(reason: &str) {
    loud(&format!("skipped: {reason}"));
}

/// The shared seed corpus, when this checkout sits beside it (or where
/// `VECSEARCH_SEEDS` says, for a checkout elsewhere, such as a worktree).
pub fn seeds() -> Option<PathBuf> {
    let p = std::env::var_os("VECSEARCH_SEEDS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/seeds"));
    if p.is_dir() {
        Some(p)
    } else {
        skip(&format!(
            "../shared not found: {} is not here (it exists only in the project's workspace and CI; set VECSEARCH_SEEDS for a checkout elsewhere)",
            p.display()
        ));
        None
    }
}

/// A small multilingual corpus written by the test itself.
pub fn write_corpus(dir: &Path) -> PathBuf {
    let root = dir.join("notes");
    std::fs::create_dir_all(root.join("sub")).unwrap();
    std::fs::write(
        root.join("a.md"),
        "---\ntitle: notes\n---\n# Vector databases\n\nA vector database stores embeddings and answers nearest neighbour queries.\n\n- HNSW builds a layered graph for approximate search.\n- A flat index scans every vector exactly.\n",
    )
    .unwrap();
    std::fs::write(
        root.join("sub/b.txt"),
        "ベクトルデータベースは埋め込みを保存し、近傍検索に答える。\n\n全文検索は単語の索引を使う。\n",
    )
    .unwrap();
    std::fs::write(
        root.join("sub/c.md"),
        "Les bases de données vectorielles stockent des plongements.\n\n向量数据库存储嵌入向量。\n",
    )
    .unwrap();
    std::fs::write(root.join("ignored.rs"), "fn main() {}\n").unwrap();
    root
}

/// Every line of `s` parsed as JSON (the `--json` output contract).
pub fn json_lines(s: &str) -> Vec<serde_json::Value> {
    s.lines()
        .map(|l| serde_json::from_str(l).expect("valid JSON line"))
        .collect()
}

/// Checks the hit contract of `search --json` and `similar --json`: every
/// field present and ranks 1, 2, 3, ... in order.
pub fn assert_hit_fields(hits: &[serde_json::Value]) {
    for (i, h) in hits.iter().enumerate() {
        for f in [
            "rank",
            "score",
            "doc",
            "line_start",
            "line_end",
            "lang",
            "text",
        ] {
            assert!(h.get(f).is_some(), "missing {f} in {h}");
        }
        assert_eq!(h["rank"].as_u64().unwrap(), i as u64 + 1);
    }
}

/// A temporary folder holding `write_corpus`'s files indexed as `n.vsx`.
pub fn indexed_corpus() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let corpus = write_corpus(dir.path());
    let r = run_in(
        dir.path(),
        &["index", corpus.to_str().unwrap(), "--index", "n.vsx"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    dir
}

/// Runs the binary in `dir` and kills it after `limit`: `None` means it
/// hung. Output is drained by threads so a chatty child cannot block.
pub fn run_with_timeout(dir: &Path, args: &[&str], limit: std::time::Duration) -> Option<Run> {
    use std::io::Read;
    use std::process::Stdio;
    let mut child = bin()
        .current_dir(dir)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("binary runs");
    let drain = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut b = Vec::new();
            let _ = r.read_to_end(&mut b);
            String::from_utf8_lossy(&b).into_owned()
        })
    };
    let out = drain(Box::new(child.stdout.take().unwrap()));
    let err = drain(Box::new(child.stderr.take().unwrap()));
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break Some(s);
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    };
    let (stdout, stderr) = (out.join().unwrap(), err.join().unwrap());
    status.map(|s| Run {
        code: s.code().unwrap_or(-1),
        stdout,
        stderr,
    })
}

/// The names in `dir`, sorted.
pub fn names_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}
