//! In-process latency of `Index::search`, as a server or an embedding
//! program sees it: the index is opened once, every query runs once to
//! warm the caches, then `passes` more times; prints the median, p90 and
//! p99 of one query's wall time and the load average. The whole-command
//! figure (`scripts/time_queries.py`) adds the process start and the open.
//!
//! With `PAUSE_MS=N` in the environment the process sleeps N ms before each
//! timed query, as a server with sparse traffic idles between requests.
//! With `RESIDENT=1` the index is made resident first
//! (`Index::make_resident`), as `vecsearch serve` does.
//!
//! `cargo run --release --example query_latency -- INDEX QUERIES [passes] [n]`

use std::time::Instant;

use vecsearch::{Index, SearchOptions};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let usage = "usage: query_latency INDEX QUERIES [passes] [n]";
    let mut args = std::env::args().skip(1);
    let mut index = Index::open(std::path::Path::new(&args.next().ok_or(usage)?))?;
    if std::env::var("RESIDENT").is_ok_and(|v| v == "1") {
        index.make_resident()?;
    }
    let text = std::fs::read_to_string(args.next().ok_or(usage)?)?;
    let passes: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(3);
    let n: usize = args
        .next()
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(usize::MAX);
    let queries: Vec<&str> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .take(n)
        .collect();
    let opts = SearchOptions::default();
    for q in &queries {
        let _ = index.search(q, &opts);
    }
    let pause = std::env::var("PAUSE_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .map(std::time::Duration::from_millis);
    let mut ms = Vec::with_capacity(queries.len() * passes);
    for _ in 0..passes {
        for q in &queries {
            if let Some(p) = pause {
                std::thread::sleep(p);
            }
            let t = Instant::now();
            let _ = index.search(q, &opts);
            ms.push(t.elapsed().as_secs_f64() * 1e3);
        }
    }
    ms.sort_by(f64::total_cmp);
    let at = |p: f64| ms[((ms.len() - 1) as f64 * p).round() as usize];
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "queries {} x {passes}  median {:.2} ms  p90 {:.2} ms  p99 {:.2} ms  load {}",
        queries.len(),
        at(0.5),
        at(0.9),
        at(0.99),
        load.split_whitespace().next().unwrap_or("?")
    );
    Ok(())
}
