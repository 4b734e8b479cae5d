//! `vecsearch bench`: turns the flags into a [`vecsearch::bench::Setup`]
//! and prints each measured row as a table line or a JSON line.

use std::io::Write;

use anyhow::{bail, Result};
use vecsearch::bench::{Row, Setup, Source};
use vecsearch::IndexKind;

use super::args::{BenchArgs, KindArg};
use super::progress::Bar;

pub fn run(a: BenchArgs) -> Result<()> {
    let all = std::thread::available_parallelism().map_or(1, |n| n.get());
    let threads = match &a.threads {
        Some(list) => parse_list(list, "--threads")?,
        None => {
            let mut t = vec![1, all];
            t.dedup();
            t
        }
    };
    let efs = parse_list(&a.ef, "--ef")?;
    vecsearch::SearchOptions::check_k(a.k)?;
    let source = if let Some(index) = &a.index {
        let Some(queries) = &a.queries else {
            bail!("--index needs --queries FILE (one text query per line)");
        };
        Source::Index {
            index: index.clone(),
            queries: queries.clone(),
        }
    } else if let (Some(base), Some(query)) = (&a.base, &a.query) {
        Source::Files {
            base: base.clone(),
            query: query.clone(),
            gt: a.gt.clone(),
        }
    } else {
        bail!("give --index FILE --queries FILE, or --base X.fvecs --query Y.fvecs");
    };
    let setup = Setup {
        source,
        kinds: match a.kind {
            Some(KindArg::Flat) => vec![IndexKind::Flat],
            Some(KindArg::Hnsw) => vec![IndexKind::Hnsw],
            None => vec![IndexKind::Flat, IndexKind::Hnsw],
        },
        hnsw: a.graph.params(),
        reorder: !a.no_reorder,
        efs,
        threads,
        k: a.k,
    };
    let bar = Bar::new(a.quiet);
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    if !a.json {
        writeln!(
            out,
            "{:<5} {:<6} {:>3} {:>5} {:>7} {:>10} {:>9} {:>9} {:>9} {:>8} {:>11}",
            "kind",
            "mode",
            "thr",
            "ef",
            "recall",
            "qps",
            "p50_us",
            "p95_us",
            "p99_us",
            "build_s",
            "bytes"
        )?;
    }
    vecsearch::bench::run(&setup, &bar, |row| {
        print_row(&mut out, row, a.json)?;
        out.flush()
    })?;
    Ok(())
}

fn print_row(out: &mut dyn Write, r: &Row, json: bool) -> std::io::Result<()> {
    if json {
        serde_json::to_writer(&mut *out, r).map_err(std::io::Error::from)?;
        return writeln!(out);
    }
    let opt = |v: Option<f64>| v.map_or("-".to_string(), |x| format!("{x:.1}"));
    writeln!(
        out,
        "{:<5} {:<6} {:>3} {:>5} {:>7.4} {:>10.0} {:>9} {:>9} {:>9} {:>8} {:>11}",
        r.kind,
        r.mode,
        r.threads,
        r.ef.map_or("-".into(), |e| e.to_string()),
        r.recall,
        r.qps,
        opt(r.p50_us),
        opt(r.p95_us),
        opt(r.p99_us),
        r.build_s.map_or("-".into(), |b| format!("{b:.2}")),
        r.index_bytes
    )
}

fn parse_list(s: &str, flag: &str) -> Result<Vec<usize>> {
    let v: Result<Vec<usize>, _> = s.split(',').map(|x| x.trim().parse::<usize>()).collect();
    match v {
        Ok(v) if !v.is_empty() && v.iter().all(|&x| x > 0) => Ok(v),
        _ => bail!("{flag} takes a comma-separated list of positive numbers, not {s:?}"),
    }
}
