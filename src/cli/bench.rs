//! `vecsearch bench`: recall@k against exact search, QPS, latency
//! percentiles, build time, index bytes and peak RSS, on a vecsearch index
//! with a file of text queries, or on standard ANN files (.fvecs/.ivecs/
//! .bvecs). Every configuration is measured in two modes: `single` (one
//! query per call, each call timed) and `batch` (all queries in one call).

use std::io::Write;
use std::path::Path;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use rayon::prelude::*;
use serde::Serialize;
use vecsearch::annfiles;
use vecsearch::index::{FlatIndex, Hnsw, HnswParams, Scored, Searcher};
use vecsearch::vector::{self, Slab};
use vecsearch::{Index, IndexKind, Reporter};

use super::args::{BenchArgs, KindArg};
use super::progress::Bar;

/// ann-benchmarks' rule: a result counts if its true score is within this
/// of the true k-th score, so ties at the boundary are not penalised.
const RECALL_EPS: f32 = 1e-3;

/// Batch mode reports the fastest of this many identical calls.
const BATCH_REPEATS: usize = 3;

#[derive(Debug, Serialize)]
struct Row {
    kind: &'static str,
    mode: &'static str,
    recall: f64,
    qps: f64,
    p50_us: Option<f64>,
    p95_us: Option<f64>,
    p99_us: Option<f64>,
    build_s: Option<f64>,
    index_bytes: u64,
    threads: usize,
    ef: Option<usize>,
    m: Option<usize>,
    ef_construction: Option<usize>,
    k: usize,
    n: usize,
    dim: usize,
    queries: usize,
    peak_rss_bytes: Option<u64>,
    kernel: &'static str,
}

/// What is being measured: the vectors plus, optionally, a graph over them.
struct Subject {
    kind: &'static str,
    flat: FlatIndex,
    graph: Option<(Hnsw, HnswParams)>,
    /// `order[graph_id] = row of the input` when the HNSW build renumbered
    /// the rows (`flat` then holds them in graph order).
    order: Option<Vec<u32>>,
    build_s: Option<f64>,
}

impl Subject {
    fn index_bytes(&self) -> u64 {
        let vectors = (self.flat.vectors().len() * 4) as u64;
        vectors
            + self
                .graph
                .as_ref()
                .map_or(0, |(g, _)| g.link_bytes() as u64)
            // The id map a renumbered index must keep (hnswlib keeps labels).
            + self.order.as_ref().map_or(0, |o| (o.len() * 4) as u64)
    }
}

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
    if a.k == 0 {
        bail!("-k must be at least 1");
    }
    let bar = Bar::new(a.quiet);
    let (subjects, queries, dim) = if let Some(index) = &a.index {
        from_index(index, &a, &bar)?
    } else if let (Some(base), Some(query)) = (&a.base, &a.query) {
        from_files(base, query, &a, &bar)?
    } else {
        bail!("give --index FILE --queries FILE, or --base X.fvecs --query Y.fvecs");
    };
    let nq = queries.len() / dim;
    if nq == 0 {
        bail!("no queries to run");
    }
    let k = a.k.min(subjects[0].flat.len());
    // Ground truth: the k-th best exact score per query.
    bar.stage("exact ground truth", 1);
    let kth: Vec<f32> = match &a.gt {
        Some(gt) if a.index.is_none() => gt_kth(gt, &subjects[0], &queries, k)?,
        _ => subjects[0]
            .flat
            .search_batch(&queries, k, None)
            .iter()
            .map(|r| r.last().map_or(f32::NEG_INFINITY, |s| s.score))
            .collect(),
    };
    bar.finish();
    let rss = peak_rss();
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
    for s in &subjects {
        let configs: Vec<Option<usize>> = if s.graph.is_some() {
            efs.iter().map(|&e| Some(e)).collect()
        } else {
            vec![None]
        };
        for &t in &threads {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(t)
                .build()
                .context("cannot start the thread pool")?;
            for &ef in &configs {
                let (single, latencies) =
                    pool.install(|| run_single(s, &queries, dim, k, ef, &bar));
                let single_wall: f64 = latencies.iter().sum::<f64>();
                let (batch, batch_s) = pool.install(|| run_batch(s, &queries, dim, k, ef));
                let mut lat = latencies.clone();
                lat.sort_by(f64::total_cmp);
                let pct = |p: f64| {
                    lat[((lat.len() as f64 * p).ceil() as usize).clamp(1, lat.len()) - 1] * 1e6
                };
                for (mode, results, secs, with_lat) in [
                    ("single", &single, single_wall, true),
                    ("batch", &batch, batch_s, false),
                ] {
                    let row = Row {
                        kind: s.kind,
                        mode,
                        recall: recall(results, &kth, k),
                        qps: nq as f64 / secs.max(1e-12),
                        p50_us: with_lat.then(|| pct(0.50)),
                        p95_us: with_lat.then(|| pct(0.95)),
                        p99_us: with_lat.then(|| pct(0.99)),
                        build_s: s.build_s,
                        index_bytes: s.index_bytes(),
                        threads: t,
                        ef,
                        m: s.graph.as_ref().map(|(_, p)| p.m),
                        ef_construction: s.graph.as_ref().map(|(_, p)| p.ef_construction),
                        k,
                        n: s.flat.len(),
                        dim,
                        queries: nq,
                        peak_rss_bytes: rss.max(peak_rss()),
                        kernel: vector::best().name,
                    };
                    print_row(&mut out, &row, a.json)?;
                }
                out.flush()?;
            }
        }
    }
    Ok(())
}

fn print_row(out: &mut dyn Write, r: &Row, json: bool) -> Result<()> {
    if json {
        serde_json::to_writer(&mut *out, r).map_err(std::io::Error::from)?;
        writeln!(out)?;
        return Ok(());
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
    )?;
    Ok(())
}

fn search_one(
    s: &Subject,
    q: &[f32],
    k: usize,
    ef: Option<usize>,
    searcher: &mut Searcher,
) -> Vec<Scored> {
    match (&s.graph, ef) {
        (Some((g, _)), Some(ef)) => g
            .search(s.flat.rows(), q, k, ef, searcher)
            .into_iter()
            .map(|(id, score)| Scored {
                id: s.order.as_ref().map_or(id, |o| o[id as usize]),
                score,
            })
            .collect(),
        _ => s.flat.search(q, k, None),
    }
}

/// One query per call, in order, each timed.
fn run_single(
    s: &Subject,
    queries: &[f32],
    dim: usize,
    k: usize,
    ef: Option<usize>,
    bar: &Bar,
) -> (Vec<Vec<Scored>>, Vec<f64>) {
    let nq = queries.len() / dim;
    bar.stage(&format!("{} single", s.kind), nq as u64);
    let mut searcher = Searcher::new();
    let mut results = Vec::with_capacity(nq);
    let mut lat = Vec::with_capacity(nq);
    for q in queries.chunks_exact(dim) {
        let t = Instant::now();
        let r = search_one(s, q, k, ef, &mut searcher);
        lat.push(t.elapsed().as_secs_f64());
        results.push(r);
        bar.inc(1);
    }
    bar.finish();
    (results, lat)
}

/// All queries in one call, spread over the current pool.
fn run_batch(
    s: &Subject,
    queries: &[f32],
    dim: usize,
    k: usize,
    ef: Option<usize>,
) -> (Vec<Vec<Scored>>, f64) {
    // Best of a few calls, as the peer script does: one call is short
    // enough that a preemption on a shared machine would dominate it.
    let mut best = f64::INFINITY;
    let mut result = Vec::new();
    for _ in 0..BATCH_REPEATS {
        let t = Instant::now();
        let r = match (&s.graph, ef) {
            (Some(_), Some(_)) => queries
                .par_chunks_exact(dim)
                .map_init(Searcher::new, |searcher, q| {
                    search_one(s, q, k, ef, searcher)
                })
                .collect(),
            _ => s.flat.search_batch(queries, k, None),
        };
        best = best.min(t.elapsed().as_secs_f64());
        result = r;
    }
    (result, best)
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

/// The true k-th score of each query from a ground-truth id file.
fn gt_kth(path: &Path, subject: &Subject, queries: &[f32], k: usize) -> Result<Vec<f32>> {
    let flat = &subject.flat;
    // Ground-truth ids name input rows; a renumbered arena holds input row
    // `order[i]` at position `i`.
    let position: Option<Vec<u32>> = subject.order.as_ref().map(|order| {
        let mut pos = vec![0u32; order.len()];
        for (new, &old) in order.iter().enumerate() {
            pos[old as usize] = new as u32;
        }
        pos
    });
    let (ids, rows, width) = annfiles::read_ivecs(path)?;
    let dim = flat.dim();
    let nq = queries.len() / dim;
    if rows < nq || width < k {
        bail!(
            "{}: {rows} rows of {width} ids, but {nq} queries at k = {k} need at least {nq} rows of {k}",
            path.display()
        );
    }
    (0..nq)
        .map(|i| {
            let id = ids[i * width + k - 1];
            if id < 0 || id as usize >= flat.len() {
                bail!(
                    "{}: row {i} names vector {id}, outside the base set",
                    path.display()
                );
            }
            let row = position.as_ref().map_or(id as u32, |p| p[id as usize]);
            Ok(vector::dot(&queries[i * dim..(i + 1) * dim], flat.row(row)))
        })
        .collect()
}

type Loaded = (Vec<Subject>, Vec<f32>, usize);

fn from_files(base: &Path, query: &Path, a: &BenchArgs, bar: &Bar) -> Result<Loaded> {
    let (vectors, n, dim) = annfiles::read_vectors(base)?;
    let (queries, _, qdim) = annfiles::read_vectors(query)?;
    if n == 0 {
        bail!("{}: no vectors", base.display());
    }
    if qdim != dim {
        bail!(
            "{}: queries have dimension {qdim}, the base set {dim}",
            query.display()
        );
    }
    // Huge pages: HNSW reads rows at random all over the arena.
    let slab = Slab::copy_huge(vectors.as_slice());
    drop(vectors);
    let flat = FlatIndex::new(dim, slab).map_err(anyhow::Error::msg)?;
    let kinds: Vec<KindArg> = match a.kind {
        Some(k) => vec![k],
        None => vec![KindArg::Flat, KindArg::Hnsw],
    };
    let mut subjects = Vec::new();
    for kind in kinds {
        subjects.push(match kind {
            KindArg::Flat => Subject {
                kind: "flat",
                flat: flat.clone(),
                graph: None,
                order: None,
                build_s: Some(0.0),
            },
            KindArg::Hnsw => {
                let params = a.graph.params();
                bar.stage("building HNSW", n as u64);
                let done = std::sync::atomic::AtomicU64::new(0);
                let t = Instant::now();
                let progress = |inserted: usize| {
                    let before = done.swap(inserted as u64, std::sync::atomic::Ordering::Relaxed);
                    bar.inc((inserted as u64).saturating_sub(before));
                };
                let (g, hflat, order) = if a.no_reorder {
                    let g = Hnsw::build(flat.rows(), &params, &progress);
                    (g, flat.clone(), None)
                } else {
                    let r = Hnsw::build_reordered(flat.rows(), &params, &progress);
                    let hflat = FlatIndex::new(dim, r.rows).map_err(anyhow::Error::msg)?;
                    (r.graph, hflat, Some(r.order))
                };
                let build_s = t.elapsed().as_secs_f64();
                bar.finish();
                Subject {
                    kind: "hnsw",
                    flat: hflat,
                    graph: Some((g, params)),
                    order,
                    build_s: Some(build_s),
                }
            }
        });
    }
    Ok((subjects, queries.as_slice().to_vec(), dim))
}

fn from_index(path: &Path, a: &BenchArgs, bar: &Bar) -> Result<Loaded> {
    let Some(qfile) = &a.queries else {
        bail!("--index needs --queries FILE (one text query per line)");
    };
    let index = Index::open(path)?;
    let text = std::fs::read_to_string(qfile).with_context(|| format!("{}", qfile.display()))?;
    let dim = index.config().embedder.dim as usize;
    let mut queries = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        if let Ok(Some((v, _))) = index.embed_query(line) {
            queries.extend_from_slice(&v);
        }
    }
    bar.finish();
    let subject = Subject {
        kind: index.config().kind.name(),
        flat: index.flat().into_owned(),
        graph: match index.config().kind {
            IndexKind::Hnsw => index.hnsw().cloned(),
            IndexKind::Flat => None,
        },
        order: None,
        build_s: None,
    };
    Ok((vec![subject], queries, dim))
}

fn parse_list(s: &str, flag: &str) -> Result<Vec<usize>> {
    let v: Result<Vec<usize>, _> = s.split(',').map(|x| x.trim().parse::<usize>()).collect();
    match v {
        Ok(v) if !v.is_empty() && v.iter().all(|&x| x > 0) => Ok(v),
        _ => bail!("{flag} takes a comma-separated list of positive numbers, not {s:?}"),
    }
}

/// Peak resident set size of this process (Linux), from /proc.
fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}
