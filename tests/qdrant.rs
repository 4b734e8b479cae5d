//! The Qdrant path (issue 15): `export --qdrant`, `embed`, and the Python
//! loader and front end (python/) against Qdrant's two embedded engines,
//! qdrant-client's local mode and qdrant-edge-py.
//!
//! The Python part needs a venv with qdrant-client and qdrant-edge-py. It is
//! made once under the target folder (`target/qdrant-venv`, or where
//! `VECSEARCH_QDRANT_VENV` says) and reused; when it cannot be made (no
//! python3, no network for pip), the test says `skipped: <reason>` and
//! passes, so everything else still runs.

mod common;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{assert_error, json_lines, run_in, seeds, skip};

const QUERY: &str = "ベクトルデータベース";

#[test]
fn embed_prints_sorted_unit_vectors_and_refuses_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let r = run_in(dir.path(), &["embed", QUERY, "--json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v = &json_lines(&r.stdout)[0];
    assert_eq!(v["idf"], "none");
    let idx: Vec<u64> = v["sparse"]["indices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap())
        .collect();
    assert!(idx.len() > 3 && idx.windows(2).all(|w| w[0] < w[1]));
    let norm: f64 = v["sparse"]["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap().powi(2))
        .sum();
    assert!((norm - 1.0).abs() < 1e-3, "unit length, got {norm}");
    assert_eq!(v["dense"].as_array().unwrap().len(), 1024);
    // The same query twice gives the same vector, and --sparse-only drops
    // the dense one.
    let again = run_in(dir.path(), &["embed", QUERY, "--json", "--sparse-only"]);
    let w = &json_lines(&again.stdout)[0];
    assert_eq!(w["sparse"], v["sparse"]);
    assert!(w.get("dense").is_none());

    for args in [
        &["embed", "", "--json"][..],
        &["embed", "   ", "--json"],
        &["embed", "x", "--index", "missing.vsx"],
        &["embed", "x", "--dim", "0"],
        &["export", "--index", "missing.vsx", "--qdrant", "p.jsonl"],
    ] {
        assert_error(&run_in(dir.path(), args));
    }
}

#[test]
fn export_writes_one_point_per_passage_with_the_search_payload() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = common::write_corpus(dir.path());
    let idx = dir.path().join("c.vsx");
    let (idx_s, corpus_s) = (idx.to_str().unwrap(), corpus.to_str().unwrap());
    let r = run_in(dir.path(), &["index", corpus_s, "--index", idx_s, "-q"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let info = run_in(dir.path(), &["info", "--index", idx_s, "--json"]);
    let passages = json_lines(&info.stdout)[0]["passages"].as_u64().unwrap();
    for (mode, dense) in [("engine", false), ("applied", true)] {
        let out = dir.path().join(format!("{mode}.jsonl"));
        let mut args = vec![
            "export",
            "--index",
            idx_s,
            "--qdrant",
            out.to_str().unwrap(),
            "--idf",
            mode,
        ];
        if dense {
            args.push("--dense");
        }
        let r = run_in(dir.path(), &args);
        assert_eq!(r.code, 0, "{}", r.stderr);
        let points = json_lines(&std::fs::read_to_string(&out).unwrap());
        assert_eq!(points.len() as u64, passages);
        let ids: HashSet<u64> = points.iter().map(|p| p["id"].as_u64().unwrap()).collect();
        assert_eq!(ids.len(), points.len(), "ids are unique");
        for p in &points {
            for f in [
                "doc",
                "line_start",
                "line_end",
                "lang",
                "text",
                "byte_start",
                "byte_end",
                "passage",
            ] {
                assert!(p["payload"].get(f).is_some(), "payload has {f}: {p}");
            }
            assert_eq!(p["vector"].get("dense").is_some(), dense);
            let terms = &p["vector"]["terms"];
            assert_eq!(
                terms["indices"].as_array().unwrap().len(),
                terms["values"].as_array().unwrap().len()
            );
        }
        let meta: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(format!("{}.meta.json", out.display())).unwrap(),
        )
        .unwrap();
        assert_eq!(meta["idf"], mode);
        assert_eq!(meta["points"].as_u64().unwrap(), passages);
        // Ids depend on the document and the passage's place in it, not on
        // the run.
        let again = dir.path().join("again.jsonl");
        args[4] = again.to_str().unwrap();
        assert_eq!(run_in(dir.path(), &args).code, 0);
        assert_eq!(std::fs::read(&out).unwrap(), std::fs::read(&again).unwrap());
    }
    // Straight from the files, without an index: the same ids, payloads
    // and term indices as the engine-idf export of their index.
    let paths = dir.path().join("paths.jsonl");
    let r = run_in(
        dir.path(),
        &[
            "export",
            "--qdrant",
            paths.to_str().unwrap(),
            corpus_s,
            "-q",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let from_paths = json_lines(&std::fs::read_to_string(&paths).unwrap());
    let from_index = json_lines(&std::fs::read_to_string(dir.path().join("engine.jsonl")).unwrap());
    assert_eq!(from_paths.len(), from_index.len());
    for (a, b) in from_paths.iter().zip(&from_index) {
        assert_eq!(a["id"], b["id"]);
        assert_eq!(a["payload"], b["payload"]);
        assert_eq!(
            a["vector"]["terms"]["indices"],
            b["vector"]["terms"]["indices"]
        );
    }
    for args in [
        &["export", "--qdrant", "x.jsonl"][..],
        &["export", "--qdrant", "x.jsonl", "missing-folder"],
        &["export", "--qdrant", "x.jsonl", corpus_s, "--dense"],
        &[
            "export", "--qdrant", "x.jsonl", corpus_s, "--idf", "applied",
        ],
        &["export", "--qdrant", "x.jsonl", corpus_s, "--index", idx_s],
    ] {
        assert_error(&run_in(dir.path(), args));
        assert!(!dir.path().join("x.jsonl").exists(), "{args:?}");
    }
}

/// A python with qdrant-client and qdrant-edge-py, made once and cached.
fn venv_python() -> Result<PathBuf, String> {
    let venv = match std::env::var_os("VECSEARCH_QDRANT_VENV") {
        Some(v) => PathBuf::from(v),
        None => {
            // target/<profile>/vecsearch → target/qdrant-venv
            let bin = PathBuf::from(env!("CARGO_BIN_EXE_vecsearch"));
            let target = bin
                .parent()
                .and_then(Path::parent)
                .ok_or("no target folder")?;
            target.join("qdrant-venv")
        }
    };
    let python = venv.join("bin/python3");
    let works = |py: &Path| {
        Command::new(py)
            .args(["-c", "import qdrant_client, qdrant_edge"])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if works(&python) {
        return Ok(python);
    }
    let made = Command::new("python3")
        .args(["-m", "venv"])
        .arg(&venv)
        .output()
        .map_err(|e| format!("no python3 ({e})"))?;
    if !made.status.success() {
        return Err(format!(
            "python3 -m venv {} failed: {}",
            venv.display(),
            String::from_utf8_lossy(&made.stderr)
                .lines()
                .last()
                .unwrap_or("")
        ));
    }
    let req = Path::new(env!("CARGO_MANIFEST_DIR")).join("python/requirements.txt");
    let pip = Command::new(venv.join("bin/pip"))
        .args(["install", "-q", "--timeout", "30", "--retries", "2", "-r"])
        .arg(&req)
        .output()
        .map_err(|e| format!("pip did not run ({e})"))?;
    if !pip.status.success() || !works(&python) {
        return Err(format!(
            "pip install -r python/requirements.txt failed (no network?): {}",
            String::from_utf8_lossy(&pip.stderr)
                .lines()
                .last()
                .unwrap_or("")
        ));
    }
    Ok(python)
}

#[test]
fn qdrant_local_mode_and_edge_find_what_the_local_index_ranks_first() {
    let Some(seeds) = seeds() else { return };
    let python = match venv_python() {
        Ok(p) => p,
        Err(reason) => {
            skip(&format!("the Qdrant path was not tested: {reason}"));
            return;
        }
    };
    let dir = tempfile::tempdir().unwrap();
    let idx = dir.path().join("seeds.vsx");
    let points = dir.path().join("seeds.jsonl");
    let (idx_s, points_s) = (idx.to_str().unwrap(), points.to_str().unwrap());
    let r = run_in(
        dir.path(),
        &["index", seeds.to_str().unwrap(), "--index", idx_s, "-q"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let local = run_in(
        dir.path(),
        &["search", QUERY, "--index", idx_s, "--json", "-k", "2"],
    );
    assert_eq!(local.code, 0, "{}", local.stderr);
    let want: Vec<u64> = json_lines(&local.stdout)
        .iter()
        .map(|h| h["passage"].as_u64().unwrap())
        .collect();
    assert_eq!(want.len(), 2);
    let r = run_in(
        dir.path(),
        &["export", "--index", idx_s, "--qdrant", points_s],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);

    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("python/vecsearch_qdrant.py");
    let edge = dir.path().join("edge");
    for target in [
        vec!["--path", ":memory:"],
        vec!["--edge", edge.to_str().unwrap()],
    ] {
        // Queries embedded without the index (stateless, the engine's idf)
        // and with it (the index's idf, as `search`).
        for with_index in [false, true] {
            let mut cmd = Command::new(&python);
            cmd.arg(&script)
                .args(["search", QUERY, "--json", "-k", "5", "--points", points_s])
                .args(&target)
                .env("VECSEARCH", env!("CARGO_BIN_EXE_vecsearch"))
                .current_dir(dir.path());
            if with_index {
                cmd.args(["--index", idx_s]);
            }
            if target[0] == "--edge" {
                cmd.arg("--recreate");
            }
            let out = cmd.output().unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(out.status.success(), "{target:?}: {stderr}");
            let hits = json_lines(&String::from_utf8_lossy(&out.stdout));
            common::assert_hit_fields(&hits);
            let got: Vec<u64> = hits
                .iter()
                .map(|h| h["passage"].as_u64().unwrap())
                .collect();
            for w in &want {
                assert!(
                    got.contains(w),
                    "{target:?} (index idf: {with_index}): top 5 {got:?} lacks passage {w} (local top 2: {want:?})"
                );
            }
        }
    }
}

#[test]
fn point_ids_do_not_depend_on_the_folder_an_export_runs_in() {
    let dir = tempfile::tempdir().unwrap();
    common::write_corpus(dir.path());
    let r = run_in(dir.path(), &["index", "notes", "--index", "c.vsx", "-q"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let export = |cwd: &Path, index: &str| {
        let out = dir.path().join("out.jsonl");
        let r = run_in(
            cwd,
            &[
                "export",
                "--index",
                index,
                "--qdrant",
                out.to_str().unwrap(),
                "-q",
            ],
        );
        assert_eq!(r.code, 0, "{}", r.stderr);
        json_lines(&std::fs::read_to_string(&out).unwrap())
    };
    let here = export(dir.path(), "c.vsx");
    let below = export(&dir.path().join("notes/sub"), "../../c.vsx");
    assert_eq!(here.len(), below.len());
    for (a, b) in here.iter().zip(&below) {
        assert_eq!(a["id"], b["id"], "{a} / {b}");
    }
    // The payload shows the path from where the export ran.
    assert!(here
        .iter()
        .any(|p| p["payload"]["doc"] == "notes/sub/b.txt"));
    assert!(below.iter().any(|p| p["payload"]["doc"] == "b.txt"));
    // And from paths, run where the index lives: the same ids again.
    let paths = dir.path().join("paths.jsonl");
    let r = run_in(
        dir.path(),
        &["export", "--qdrant", paths.to_str().unwrap(), "notes", "-q"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let from_paths = json_lines(&std::fs::read_to_string(&paths).unwrap());
    for (a, b) in here.iter().zip(&from_paths) {
        assert_eq!(a["id"], b["id"]);
    }
}
