//! Time to the first result and resident memory of a cold process:
//! opens an index (O(1) in the vectors: see README, "What open checks"),
//! answers one query, then prints the timings and this process's memory
//! from /proc/self/status (VmRSS, split into anonymous and file-backed).
//!
//! `cargo run --release --example open_index -- INDEX "QUERY" [k]`

use std::time::Instant;

use vecsearch::{Index, SearchOptions};

fn status(field: &str) -> String {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(field))
        .map(|l| l[field.len()..].trim().to_string())
        .unwrap_or_else(|| "n/a".into())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = std::path::PathBuf::from(args.next().ok_or("usage: open_index INDEX QUERY [k]")?);
    let query = args.next().ok_or("usage: open_index INDEX QUERY [k]")?;
    let k: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(10);
    let started = Instant::now();
    let index = Index::open(&path)?;
    let opened = started.elapsed();
    let rss_open = status("VmRSS:");
    let hits = index.search(
        &query,
        &SearchOptions {
            k,
            ..Default::default()
        },
    )?;
    let first = started.elapsed();
    let info = index.info()?;
    println!(
        "index {}: {} passages, dim {}, {}, {} bytes",
        path.display(),
        info.passages,
        info.dim,
        info.kind,
        info.bytes.unwrap_or(0)
    );
    println!(
        "open: {:.1} ms (VmRSS after open {rss_open})",
        opened.as_secs_f64() * 1e3
    );
    println!(
        "first result: {:.1} ms after start ({} hits; top: {:?})",
        first.as_secs_f64() * 1e3,
        hits.len(),
        hits.first()
            .map(|h| (h.score, h.doc.as_str(), h.line_start))
    );
    println!(
        "after one query: VmRSS {}, RssAnon {}, RssFile {}, VmHWM {}",
        status("VmRSS:"),
        status("RssAnon:"),
        status("RssFile:"),
        status("VmHWM:")
    );
    Ok(())
}
