//! Crash safety: `kill -9` a real `vecsearch index` writer at random moments
//! (seeded, spread over its whole run, the write and the rename included),
//! and after every kill the index still opens, `vecsearch verify` passes,
//! and a fixed query set answers exactly as before the write or as after
//! it. Stray temporary files of killed writers are gone after the next
//! successful run.

mod common;

use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use common::*;

const KILLS: usize = 50;

/// xorshift64*: a seeded generator, so a failure can be replayed.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

const WORDS: &[&str] = &[
    "vector",
    "database",
    "embedding",
    "graph",
    "search",
    "index",
    "query",
    "neighbour",
    "cosine",
    "passage",
    "document",
    "storage",
    "checksum",
    "crash",
    "rename",
    "journal",
    "memory",
    "map",
    "section",
    "header",
    "footer",
    "writer",
    "reader",
    "lock",
    "ベクトル",
    "検索",
    "索引",
    "向量",
    "数据库",
    "données",
    "recherche",
    "mémoire",
];

/// `files` files of `paras` paragraphs of 8..20 words each.
fn write_corpus(root: &Path, seed: u64, files: usize, paras: usize) {
    let mut rng = Rng(seed);
    fs::create_dir_all(root).unwrap();
    for f in 0..files {
        let mut text = String::new();
        for _ in 0..paras {
            let n = 8 + rng.below(12);
            let words: Vec<&str> = (0..n)
                .map(|_| WORDS[rng.below(WORDS.len() as u64) as usize])
                .collect();
            text.push_str(&words.join(" "));
            text.push_str(&format!(" w{}.\n\n", rng.below(500)));
        }
        fs::write(root.join(format!("f{f:03}.md")), text).unwrap();
    }
}

fn answers(dir: &Path) -> String {
    let r = run_in(
        dir,
        &[
            "search",
            "--queries",
            "q.txt",
            "--index",
            "k.vsx",
            "--json",
            "-k",
            "5",
        ],
    );
    assert!(r.code <= 1, "search after a kill failed: {}", r.stderr);
    r.stdout
}

fn strays(dir: &Path) -> Vec<String> {
    fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".k.vsx.tmp-"))
        .collect()
}

fn writer(dir: &Path, corpus: &str) -> std::process::Command {
    let mut c = bin();
    c.current_dir(dir)
        .args(["index", corpus, "--index", "k.vsx", "-q"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    c
}

#[test]
fn kill_9_at_random_moments_leaves_the_old_or_the_new_index() {
    let started = Instant::now();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    write_corpus(&dir.join("a"), 1, 24, 20);
    write_corpus(&dir.join("b"), 2, 24, 21);
    fs::write(
        dir.join("q.txt"),
        "vector database\n検索 索引\n向量 数据库\nrecherche mémoire\ncrash rename journal\nw17 w230\nlock writer\n",
    )
    .unwrap();
    // The answers of each corpus, and how long a whole write takes.
    let mut expect = Vec::new();
    let mut run_ms = Vec::new();
    for corpus in ["a", "b", "a", "b", "a", "b"] {
        let t = Instant::now();
        let status = writer(dir, corpus).status().unwrap();
        assert!(status.success());
        run_ms.push(t.elapsed().as_millis() as u64);
        expect.push(answers(dir));
    }
    let (ans_a, ans_b) = (expect[4].clone(), expect[5].clone());
    assert_eq!(ans_a, expect[0]);
    assert_ne!(ans_a, ans_b, "the two corpora must answer differently");
    // The quickest warm run: kills drawn below it land while it runs.
    let full = run_ms[2..].iter().copied().min().unwrap().max(5);

    let mut rng = Rng(0x5eed_1234_abcd_ef01);
    let mut state = 'b';
    let (mut killed, mut finished, mut stayed_old, mut became_new, mut left_stray) =
        (0, 0, 0, 0, 0);
    // Until KILLS writers have died mid-run (a draw can land after a quick
    // run has ended; that run is checked too).
    let mut i = 0;
    while killed < KILLS {
        i += 1;
        assert!(i <= 4 * KILLS, "only {killed} of {i} kills landed mid-run");
        let target = if state == 'a' { 'b' } else { 'a' };
        // Half the kills anywhere in the run (and a little past it), half in
        // its last stretch, where the file is written, synced and renamed.
        let delay = if i % 2 == 0 {
            rng.below(full)
        } else {
            full * 3 / 5 + rng.below(full * 2 / 5)
        };
        let mut child = writer(dir, &target.to_string()).spawn().unwrap();
        std::thread::sleep(Duration::from_millis(delay));
        let exited = child.try_wait().unwrap();
        if exited.is_none() {
            child.kill().unwrap();
        }
        let status = child.wait().unwrap();
        if exited.is_none() && !status.success() {
            killed += 1;
        } else {
            assert!(status.success(), "kill {i}: the writer failed on its own");
            finished += 1;
            assert!(
                strays(dir).is_empty(),
                "kill {i}: a successful run left {:?}",
                strays(dir)
            );
        }
        if !strays(dir).is_empty() {
            left_stray += 1;
        }
        let v = run_in(dir, &["verify", "--index", "k.vsx"]);
        assert_eq!(v.code, 0, "kill {i} after {delay} ms: verify: {}", v.stderr);
        let now = answers(dir);
        let (old, new) = if state == 'a' {
            (&ans_a, &ans_b)
        } else {
            (&ans_b, &ans_a)
        };
        if &now == new {
            became_new += 1;
            state = target;
        } else {
            assert!(
                &now == old,
                "kill {i} after {delay} ms: the index answers neither as before nor as after"
            );
            stayed_old += 1;
        }
    }
    // The next successful run removes whatever the killed writers left.
    let target = if state == 'a' { "b" } else { "a" };
    assert!(writer(dir, target).status().unwrap().success());
    assert!(strays(dir).is_empty(), "{:?}", strays(dir));
    assert_eq!(run_in(dir, &["verify", "--index", "k.vsx"]).code, 0);
    eprintln!(
        "kill test: {killed}/{KILLS} writers killed mid-run, each left a sound index (a whole write takes ≈ {full} ms; {finished} more runs ended before their kill); old index kept {stayed_old}×, new one in place {became_new}×; {left_stray} kills left a temporary file, each removed by the next run; {:.1} s",
        started.elapsed().as_secs_f64()
    );
    assert!(
        killed >= KILLS / 2,
        "too few kills landed mid-run: {killed}"
    );
}
