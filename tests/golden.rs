//! Freezes the index format: the golden file of the current version must
//! keep opening and answering the same, and today's writer must still
//! produce it byte for byte. Files of older versions must say, on one line,
//! the exact command that rebuilds them. Regenerate the current golden
//! with `VECSEARCH_BLESS=1 cargo test --test golden` only on purpose: after
//! a format change (with a version bump, as `golden_vN.vsx` for the new N)
//! or a deliberate change of what a build computes (weights, lexicon), and
//! say so in the commit.

mod common;

use std::path::Path;

use common::*;

/// The version today's writer produces (`store::FORMAT_VERSION`).
const CURRENT: u32 = vecsearch::internals::store::FORMAT_VERSION;

const QUERIES: &[&str] = &[
    "vector",
    "ベクトルデータベース",
    "向量資料庫",
    "données vectorielles",
];

fn data() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data"))
}

fn answers(index: &Path) -> String {
    let mut out = String::new();
    for q in QUERIES {
        let r = run_in(
            data(),
            &["search", q, "--index", index.to_str().unwrap(), "--json"],
        );
        assert!(r.code <= 1, "{}", r.stderr);
        out.push_str(&r.stdout);
    }
    out
}

#[test]
fn golden_file_still_opens_answers_and_is_reproduced() {
    let golden = data().join(format!("golden_v{CURRENT}.vsx"));
    let expected = data().join(format!("golden_v{CURRENT}.expected.jsonl"));
    let tmp = tempfile::tempdir().unwrap();
    let fresh = tmp.path().join("fresh.vsx");
    // Paths are stored relative to the index file's folder (format 7), so
    // the corpus is copied beside the fresh index: its bytes then do not
    // depend on where the repository is checked out. The index records
    // each file's modification time (for `--update`); pin it too.
    let copy = tmp.path().join("golden_corpus");
    std::fs::create_dir(&copy).unwrap();
    for f in std::fs::read_dir(data().join("golden_corpus")).unwrap() {
        let f = f.unwrap().path();
        let to = copy.join(f.file_name().unwrap());
        std::fs::copy(&f, &to).unwrap();
        let f = std::fs::File::options().write(true).open(&to).unwrap();
        f.set_modified(std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000))
            .unwrap();
    }
    let r = run_in(
        tmp.path(),
        &[
            "index",
            "golden_corpus",
            "--index",
            fresh.to_str().unwrap(),
            "--dim",
            "64",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    if std::env::var_os("VECSEARCH_BLESS").is_some() {
        std::fs::copy(&fresh, &golden).unwrap();
        std::fs::write(&expected, answers(&golden)).unwrap();
        eprintln!("blessed {}", golden.display());
    }
    let want = std::fs::read_to_string(&expected).expect("golden answers exist");
    assert_eq!(
        answers(&golden),
        want,
        "the golden index answers differently"
    );
    assert!(
        std::fs::read(&fresh).unwrap() == std::fs::read(&golden).unwrap(),
        "today's writer no longer reproduces the golden v{CURRENT} file byte for byte"
    );
    let r = run_in(data(), &["verify", "--index", golden.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
}

/// Every older golden file either opens and answers as it did, or (below
/// `MIN_FORMAT_VERSION`) fails with one line naming the rebuild command.
#[test]
fn older_golden_files_open_or_name_the_rebuild_command() {
    for v in 1..CURRENT {
        let golden = data().join(format!("golden_v{v}.vsx"));
        assert!(golden.exists(), "{} is missing", golden.display());
        let name = golden.to_str().unwrap();
        if v >= vecsearch::internals::store::MIN_FORMAT_VERSION {
            let want = std::fs::read_to_string(data().join(format!("golden_v{v}.expected.jsonl")))
                .unwrap();
            assert_eq!(answers(&golden), want, "golden v{v} answers differently");
            continue;
        }
        for cmd in ["search", "info", "verify"] {
            let mut args = vec![cmd, "--index", name];
            if cmd == "search" {
                args.insert(1, "vector");
            }
            let line = assert_error(&run_in(data(), &args));
            assert!(
                line.contains(&format!("format version {v} "))
                    && line.contains(&format!(
                        "rebuild it with `vecsearch index <PATH>... --index {name}`"
                    )),
                "{cmd} on golden v{v}: {line}"
            );
        }
    }
}
