//! The benchmark harness over the public API: recall@k against exact
//! search, QPS, latency percentiles, build time, index bytes and peak RSS,
//! on a vecsearch index with a file of text queries, or on standard ANN
//! files (.fvecs/.ivecs/.bvecs, see [`annfiles`]). Every configuration is
//! measured in two modes: `single` (one query per call, each call timed)
//! and `batch` (all queries in one call). `export` writes an index's
//! vectors in those formats, so peers run on exactly what vecsearch
//! indexes.

pub mod annfiles;
mod export;
mod subject;

pub use export::{embed_queries, export_vectors};

use std::path::PathBuf;
use std::time::Instant;

use rayon::prelude::*;
use serde::Serialize;

use crate::engine::{IndexKind, Reporter};
use crate::error::{Error, Result};
use crate::index::{HnswParams, Scored};
use crate::vector;
use subject::{Loaded, Subject};

/// ann-benchmarks' rule: a result counts if its true score is within this
/// of the true k-th score, so ties at the boundary are not penalised.
const RECALL_EPS: f32 = 1e-3;

/// Batch mode reports the fastest of this many identical calls.
const BATCH_REPEATS: usize = 3;

/// What to measure on.
#[derive(Debug, Clone)]
pub enum Source {
    /// A vecsearch index and a file of text queries, one per line.
    Index {
        /// The index file.
        index: PathBuf,
        /// The query file.
        queries: PathBuf,
    },
    /// A base set and a query set of vectors, with optional ground truth.
    Files {
        /// Base vectors (.fvecs or .bvecs).
        base: PathBuf,
        /// Query vectors.
        query: PathBuf,
        /// True neighbour ids per query (.ivecs), best first.
        gt: Option<PathBuf>,
    },
}

/// A benchmark run: the data, the index kinds (built from vector files),
/// and the grid of settings.
#[derive(Debug, Clone)]
pub struct Setup {
    /// The data.
    pub source: Source,
    /// Kinds to build from vector files (an index file has its own).
    pub kinds: Vec<IndexKind>,
    /// Graph parameters for HNSW builds.
    pub hnsw: HnswParams,
    /// Renumber rows in graph order after an HNSW build.
    pub reorder: bool,
    /// Beam widths to try on graphs.
    pub efs: Vec<usize>,
    /// Thread counts to try.
    pub threads: Vec<usize>,
    /// Neighbours per query.
    pub k: usize,
}

/// One measured configuration.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    /// "flat" or "hnsw".
    pub kind: &'static str,
    /// "single" (one query per call) or "batch" (all in one call).
    pub mode: &'static str,
    /// Recall@k against exact search.
    pub recall: f64,
    /// Queries per second.
    pub qps: f64,
    /// Median latency (single mode), µs.
    pub p50_us: Option<f64>,
    /// 95th percentile latency, µs.
    pub p95_us: Option<f64>,
    /// 99th percentile latency, µs.
    pub p99_us: Option<f64>,
    /// Build time, when built here.
    pub build_s: Option<f64>,
    /// Bytes of vectors, links and id map.
    pub index_bytes: u64,
    /// Threads used.
    pub threads: usize,
    /// Beam width (graphs).
    pub ef: Option<usize>,
    /// Graph degree.
    pub m: Option<usize>,
    /// Build beam width.
    pub ef_construction: Option<usize>,
    /// Neighbours per query.
    pub k: usize,
    /// Rows.
    pub n: usize,
    /// Dimension.
    pub dim: usize,
    /// Queries run.
    pub queries: usize,
    /// Peak resident memory of the process so far.
    pub peak_rss_bytes: Option<u64>,
    /// The SIMD kernel set.
    pub kernel: &'static str,
}

/// Runs `setup`, handing each row to `emit` as soon as it is measured.
pub fn run(
    setup: &Setup,
    reporter: &dyn Reporter,
    mut emit: impl FnMut(&Row) -> std::io::Result<()>,
) -> Result<()> {
    crate::engine::SearchOptions::check_k(setup.k)?;
    let Loaded {
        subjects,
        queries,
        dim,
        gt,
    } = subject::load(setup, reporter)?;
    let nq = queries.len() / dim;
    if nq == 0 {
        return Err(Error::BadInput {
            path: match &setup.source {
                Source::Index { queries, .. } => queries.clone(),
                Source::Files { query, .. } => query.clone(),
            },
            detail: "no queries to run".into(),
        });
    }
    let k = setup.k.min(subjects[0].flat.len());
    // Ground truth: the k-th best exact score per query.
    reporter.stage("exact ground truth", 1);
    let kth: Vec<f32> = match &gt {
        Some(gt) => subject::gt_kth(gt, &subjects[0], &queries, k)?,
        None => subjects[0]
            .flat
            .search_batch(&queries, k, None)
            .iter()
            .map(|r| r.last().map_or(f32::NEG_INFINITY, |s| s.score))
            .collect(),
    };
    reporter.finish();
    let rss = peak_rss();
    for s in &subjects {
        let efs: Vec<Option<usize>> = if s.graph.is_some() {
            setup.efs.iter().map(|&e| Some(e)).collect()
        } else {
            vec![None]
        };
        for &t in &setup.threads {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(t)
                .build()
                .map_err(|e| Error::io("(thread pool)", std::io::Error::other(e)))?;
            for &ef in &efs {
                let grid = Grid {
                    subject: s,
                    queries: &queries,
                    dim,
                    k,
                    ef,
                };
                for row in grid.measure(&pool, &kth, t, rss, reporter) {
                    emit(&row).map_err(|e| Error::io("(output)", e))?;
                }
            }
        }
    }
    Ok(())
}

/// One subject at one setting.
struct Grid<'a> {
    subject: &'a Subject,
    queries: &'a [f32],
    dim: usize,
    k: usize,
    ef: Option<usize>,
}

impl Grid<'_> {
    /// The single and batch rows of this setting on `t` threads.
    fn measure(
        &self,
        pool: &rayon::ThreadPool,
        kth: &[f32],
        t: usize,
        rss: Option<u64>,
        reporter: &dyn Reporter,
    ) -> Vec<Row> {
        let s = self.subject;
        let nq = self.queries.len() / self.dim;
        let (single, latencies) = pool.install(|| self.run_single(reporter));
        let single_wall: f64 = latencies.iter().sum::<f64>();
        let (batch, batch_s) = pool.install(|| self.run_batch());
        let mut lat = latencies;
        lat.sort_by(f64::total_cmp);
        let pct =
            |p: f64| lat[((lat.len() as f64 * p).ceil() as usize).clamp(1, lat.len()) - 1] * 1e6;
        [
            ("single", &single, single_wall, true),
            ("batch", &batch, batch_s, false),
        ]
        .into_iter()
        .map(|(mode, results, secs, with_lat)| Row {
            kind: s.kind,
            mode,
            recall: recall(results, kth, self.k),
            qps: nq as f64 / secs.max(1e-12),
            p50_us: with_lat.then(|| pct(0.50)),
            p95_us: with_lat.then(|| pct(0.95)),
            p99_us: with_lat.then(|| pct(0.99)),
            build_s: s.build_s,
            index_bytes: s.index_bytes(),
            threads: t,
            ef: self.ef,
            m: s.graph.as_ref().map(|(_, p)| p.m),
            ef_construction: s.graph.as_ref().map(|(_, p)| p.ef_construction),
            k: self.k,
            n: s.flat.len(),
            dim: self.dim,
            queries: nq,
            peak_rss_bytes: rss.max(peak_rss()),
            kernel: vector::best().name,
        })
        .collect()
    }

    /// One query per call, in order, each timed.
    fn run_single(&self, reporter: &dyn Reporter) -> (Vec<Vec<Scored>>, Vec<f64>) {
        let nq = self.queries.len() / self.dim;
        reporter.stage(&format!("{} single", self.subject.kind), nq as u64);
        let mut searcher = crate::index::Searcher::new();
        let mut results = Vec::with_capacity(nq);
        let mut lat = Vec::with_capacity(nq);
        for q in self.queries.chunks_exact(self.dim) {
            let t = Instant::now();
            let r = self.subject.search(q, self.k, self.ef, &mut searcher);
            lat.push(t.elapsed().as_secs_f64());
            results.push(r);
            reporter.inc(1);
        }
        reporter.finish();
        (results, lat)
    }

    /// All queries in one call, spread over the current pool.
    fn run_batch(&self) -> (Vec<Vec<Scored>>, f64) {
        let s = self.subject;
        // Best of a few calls, as the peer script does: one call is short
        // enough that a preemption on a shared machine would dominate it.
        let mut best = f64::INFINITY;
        let mut result = Vec::new();
        for _ in 0..BATCH_REPEATS {
            let t = Instant::now();
            let r = match (&s.graph, self.ef) {
                (Some(_), Some(_)) => self
                    .queries
                    .par_chunks_exact(self.dim)
                    .map_init(crate::index::Searcher::new, |searcher, q| {
                        s.search(q, self.k, self.ef, searcher)
                    })
                    .collect(),
                _ => s.flat.search_batch(self.queries, self.k, None),
            };
            best = best.min(t.elapsed().as_secs_f64());
            result = r;
        }
        (result, best)
    }
}

fn recall(results: &[Vec<Scored>], kth: &[f32], k: usize) -> f64 {
    let hits: usize = results
        .iter()
        .zip(kth)
        .map(|(r, &t)| {
            r.iter()
                .take(k)
                .filter(|s| s.score >= t - RECALL_EPS)
                .count()
        })
        .sum();
    hits as f64 / (results.len() * k).max(1) as f64
}

/// Peak resident set size of this process (Linux), from /proc.
fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Scales every row of `data` (rows of `dim`) to unit length, for data
/// generators.
pub fn normalize_rows(data: &mut [f32], dim: usize) {
    for row in data.chunks_exact_mut(dim) {
        vector::normalize(row);
    }
}
