//! Measures HNSW build time, recall@10 and single-thread QPS on generated
//! clustered unit vectors, to compare against hnswlib's figures.
//!
//! `cargo run --release --example hnsw_bench -- [n] [dim] [sigma] [ef_construction] [m] [queries]`
//! (defaults 200000 256 0.06 200 16 1000). The build uses the global rayon pool
//! (`RAYON_NUM_THREADS` to change it); queries run on one thread.
//!
//! It uses the crate's `internals` (the graph itself and the test-data
//! generator), which are not a stable API: it measures the graph alone,
//! below the public `Index`.

use std::time::Instant;

use rayon::prelude::*;
use vecsearch::internals::index::hnsw::{Hnsw, HnswParams, Rows, Searcher};
use vecsearch::internals::index::testing as synth;

fn arg<T: std::str::FromStr>(i: usize, default: T) -> T {
    std::env::args()
        .nth(i)
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// CPU seconds used so far by this process (`/proc/self/stat`) or thread
/// (`/proc/thread-self/stat`); the machine is shared, so wall time alone
/// over-states the cost. Zero where procfs is missing.
fn cpu_secs(path: &str) -> f64 {
    let stat = std::fs::read_to_string(path).unwrap_or_default();
    // Fields after the parenthesised command name; utime and stime are 14 and 15.
    let rest = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<f64> = rest
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|x| x.parse().ok())
        .collect();
    f.iter().sum::<f64>() / 100.0
}

fn main() {
    let n: usize = arg(1, 200_000);
    let dim: usize = arg(2, 256);
    let sigma: f32 = arg(3, 0.06);
    let ef_construction: usize = arg(4, 200);
    let m: usize = arg(5, 16);
    let nq: usize = arg(6, 1_000);
    let k = 10;

    let all = synth::clustered(n + nq, dim, 100, sigma, 42);
    let (vectors, queries) = all.split_at(n * dim);
    println!(
        "n={n} dim={dim} sigma={sigma} m={m} ef_construction={ef_construction} threads={} kernel={}",
        rayon::current_num_threads(),
        vecsearch::internals::vector::best().name
    );

    let t = Instant::now();
    let truth: Vec<Vec<u32>> = queries
        .par_chunks_exact(dim)
        .map(|q| synth::brute_force(vectors, dim, q, k))
        .collect();
    println!("ground truth: {:.1} s", t.elapsed().as_secs_f64());
    // HNSW_DUMP=prefix writes the data as raw little-endian arrays so other
    // libraries can be measured on exactly the same vectors.
    if let Ok(prefix) = std::env::var("HNSW_DUMP") {
        let bytes = |xs: &[f32]| xs.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
        std::fs::write(format!("{prefix}.base.f32"), bytes(vectors)).unwrap();
        std::fs::write(format!("{prefix}.query.f32"), bytes(queries)).unwrap();
        let t: Vec<u8> = truth
            .iter()
            .flatten()
            .flat_map(|x| x.to_le_bytes())
            .collect();
        std::fs::write(format!("{prefix}.truth.u32"), t).unwrap();
    }

    let params = HnswParams {
        m,
        ef_construction,
        ..HnswParams::default()
    };
    let t = Instant::now();
    let cpu = cpu_secs("/proc/self/stat");
    let index = Hnsw::build(Rows::new(vectors, dim), &params, &|_| {});
    let build = t.elapsed().as_secs_f64();
    let build_cpu = cpu_secs("/proc/self/stat") - cpu;
    println!(
        "build: {build:.2} s wall, {build_cpu:.2} CPU-s, max_level {}, link bytes {} ({:.1} per node), total with vectors {} bytes",
        index.max_level(),
        index.link_bytes(),
        index.link_bytes() as f64 / n as f64,
        index.link_bytes() + vectors.len() * 4
    );

    let mut searcher = Searcher::new();
    for ef in [10, 16, 24, 32, 48, 64, 128] {
        // Warm-up pass so the first ef does not pay for page faults.
        for q in queries.chunks_exact(dim).take(100) {
            index.search(Rows::new(vectors, dim), q, k, ef, &mut searcher);
        }
        let t = Instant::now();
        let cpu = cpu_secs("/proc/thread-self/stat");
        let results: Vec<Vec<(u32, f32)>> = queries
            .chunks_exact(dim)
            .map(|q| index.search(Rows::new(vectors, dim), q, k, ef, &mut searcher))
            .collect();
        let secs = t.elapsed().as_secs_f64();
        let cpu = cpu_secs("/proc/thread-self/stat") - cpu;
        let hits: usize = results
            .iter()
            .zip(&truth)
            .map(|(r, t)| r.iter().filter(|(id, _)| t.contains(id)).count())
            .sum();
        println!(
            "ef={ef:4} recall@{k}={:.4} qps={:.0} (per CPU-s {:.0})",
            hits as f64 / (nq * k) as f64,
            nq as f64 / secs,
            nq as f64 / cpu
        );
    }
}
