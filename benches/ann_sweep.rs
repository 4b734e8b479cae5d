//! HNSW sweep on TEXMEX files, for BENCHMARKS.md: the f32 walk against the
//! quantized (SQ8) walk, in alternating rounds in one process so that both
//! see the same machine, and filtered search at several selectivities.
//!
//! ```text
//! cargo bench --bench ann_sweep -- --base B.fvecs --query Q.fvecs [--gt G.ivecs]
//!     [--k 10] [--m 16] [--ef-construction 200] [--ef 16,32,64,128]
//!     [--rounds 3] [--filters 1,5,20,50] [--filter-ef 64,...] [--no-reorder]
//!     [--cache FILE]
//! ```
//!
//! One JSON object per line on stdout: `mode` is `build`, `f32`, `sq8`,
//! `filtered` (the plain filtered walk at each `--filter-ef`, default 64,
//! the engine's default) or `planned`
//! (`plan_filtered`: a wider walk or an exact scan of the passing rows).
//! Searches run one query per call on one thread. Recall follows the
//! ann-benchmarks rule (a hit scores >= the true k-th score - 1e-3). Without
//! arguments (plain `cargo bench`) it does nothing. `--cache FILE` keeps the
//! graph (and its renumbering) in FILE, built when FILE is absent or was
//! written for another base, other parameters or another builder (the file
//! carries a fingerprint of this binary's build, see `build_fingerprint`):
//! the graph is deterministic, so a cached one equals a rebuilt one. `visits` is
//! the mean number of layer-0 nodes a walk scores (first 200 queries);
//! `cpu_qps` divides by this thread's CPU time, not the wall clock.

use std::time::Instant;

use vecsearch::bench::annfiles::{read_ivecs, read_vectors};
use vecsearch::internals::index::hnsw::{
    plan_filtered, scan_allowed, FilterPlan, Hnsw, HnswParams, HnswParts,
};
use vecsearch::internals::index::{Rows, Searcher};
use vecsearch::internals::vector::sq8::Sq8Codes;
use vecsearch::internals::vector::{self, Slab};

const EPS: f32 = 1e-3;

struct Args {
    base: String,
    query: String,
    gt: Option<String>,
    k: usize,
    m: usize,
    efc: usize,
    ef: Vec<usize>,
    rounds: usize,
    filters: Vec<u64>,
    filter_efs: Vec<usize>,
    cache: Option<String>,
    reorder: bool,
}

fn parse() -> Option<Args> {
    let argv: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let get = |name: &str| {
        argv.iter()
            .position(|a| a == name)
            .and_then(|i| argv.get(i + 1).cloned())
    };
    let list = |name: &str, default: &str| -> Vec<u64> {
        get(name)
            .unwrap_or_else(|| default.into())
            .split(',')
            .filter(|s| !s.is_empty())
            .map(|s| s.parse().expect("number"))
            .collect()
    };
    let num =
        |name: &str, default: usize| get(name).map_or(default, |s| s.parse().expect("number"));
    Some(Args {
        base: get("--base")?,
        query: get("--query")?,
        gt: get("--gt"),
        k: num("--k", 10),
        m: num("--m", 16),
        efc: num("--ef-construction", 200),
        ef: list("--ef", "16,32,64,128")
            .into_iter()
            .map(|x| x as usize)
            .collect(),
        rounds: num("--rounds", 3),
        filters: list("--filters", "1,5,20,50"),
        filter_efs: list("--filter-ef", "64")
            .into_iter()
            .map(|x| x as usize)
            .collect(),
        cache: get("--cache"),
        reorder: !argv.iter().any(|a| a == "--no-reorder"),
    })
}

/// The true k-th best score of every query (from the ground truth, or exact).
fn kth_scores(a: &Args, rows: Rows<'_>, queries: Rows<'_>) -> Vec<f32> {
    let k = a.k;
    match &a.gt {
        Some(path) => {
            let (gt, n, width) = read_ivecs(path).expect("ground truth");
            assert!(n == queries.len() && width >= k, "ground truth shape");
            (0..n)
                .map(|q| {
                    vector::dot(
                        queries.row(q as u32),
                        rows.row(gt[q * width + k - 1] as u32),
                    )
                })
                .collect()
        }
        None => (0..queries.len() as u32)
            .map(|q| {
                let all: Vec<u32> = (0..rows.len() as u32).collect();
                scan_allowed(rows, &all, queries.row(q), k)[k - 1].1
            })
            .collect(),
    }
}

fn recall(found: &[Vec<(u32, f32)>], kth: &[f32], k: usize) -> f64 {
    let hits: usize = found
        .iter()
        .zip(kth)
        .map(|(r, &t)| r.iter().take(k).filter(|x| x.1 >= t - EPS).count())
        .sum();
    hits as f64 / (found.len() * k).max(1) as f64
}

/// Seconds of CPU this thread has used. On a shared machine the wall clock
/// also counts the time other jobs held the core; this does not (their
/// cache traffic still shows), so A/B comparisons under load read it.
fn thread_cpu_s() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec for the call's duration.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID)");
    ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
}

/// Runs `search` once per query (after a warm-up pass over 100 queries):
/// the results, the queries per second, and the queries per CPU second of
/// this thread.
fn timed(
    nq: usize,
    mut search: impl FnMut(usize) -> Vec<(u32, f32)>,
) -> (Vec<Vec<(u32, f32)>>, f64, f64) {
    for q in 0..nq.min(100) {
        search(q);
    }
    let (t, cpu) = (Instant::now(), thread_cpu_s());
    let out: Vec<_> = (0..nq).map(&mut search).collect();
    let cpu = thread_cpu_s() - cpu;
    (
        out,
        nq as f64 / t.elapsed().as_secs_f64(),
        nq as f64 / cpu.max(1e-9),
    )
}

/// Deterministic pseudo-random filter keeping about `pct`% of the input rows.
fn passes(old_id: u32, pct: u64) -> bool {
    let mut z = (old_id as u64 ^ 0xF117E5).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 31)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    (z ^ (z >> 29)) % 100 < pct
}

fn main() {
    let Some(a) = parse() else {
        return;
    };
    let (base, n, dim) = read_vectors(&a.base).expect("base");
    let (qdata, nq, qdim) = read_vectors(&a.query).expect("queries");
    assert_eq!(dim, qdim, "dimensions differ");
    let queries = Rows::new(&qdata, dim);
    let params = HnswParams {
        m: a.m,
        ef_construction: a.efc,
        ..HnswParams::default()
    };
    let key = CacheKey {
        n,
        dim,
        efc: a.efc,
        fingerprint: if a.cache.is_some() {
            build_fingerprint(a.m, a.efc)
        } else {
            0
        },
    };
    let t = Instant::now();
    let cached = a.cache.as_deref().and_then(|p| load_graph(p, &key, a.m));
    let fresh = cached.is_none();
    let (graph, order) = match cached {
        Some(g) => g,
        None if a.reorder => {
            let r = Hnsw::build_reordered(Rows::new(&base, dim), &params, &|_| {});
            (r.graph, r.order)
        }
        None => {
            let g = Hnsw::build(Rows::new(&base, dim), &params, &|_| {});
            (g, (0..n as u32).collect())
        }
    };
    let build_s = t.elapsed().as_secs_f64();
    if let (Some(path), true) = (&a.cache, fresh) {
        save_graph(path, &key, &graph, &order);
    }
    let arena = Slab::fill_huge(n * dim, |out| {
        for (r, &o) in out.chunks_exact_mut(dim).zip(&order) {
            r.copy_from_slice(Rows::new(&base, dim).row(o));
        }
    });
    let rows = Rows::new(&arena, dim);
    let t = Instant::now();
    let codes = Sq8Codes::build(rows);
    let codes_s = t.elapsed().as_secs_f64();
    println!(
        "{{\"mode\":\"build\",\"n\":{n},\"dim\":{dim},\"m\":{},\"ef_construction\":{},\"build_s\":{build_s:.2},\"cached\":{},\"sq8_encode_s\":{codes_s:.3},\"link_bytes\":{},\"vector_bytes\":{},\"code_bytes\":{},\"threads\":{},\"kernel\":\"{}\"}}",
        a.m, a.efc, !fresh, graph.link_bytes(), n * dim * 4, codes.bytes(), rayon::current_num_threads(), vector::best().name
    );
    let kth = kth_scores(&a, Rows::new(&base, dim), queries);
    let mut s = Searcher::new();
    for round in 0..a.rounds {
        let modes = if round % 2 == 0 {
            ["f32", "sq8"]
        } else {
            ["sq8", "f32"]
        };
        for mode in modes {
            for &ef in &a.ef {
                let (found, qps, cpu_qps) = timed(nq, |q| {
                    let q = queries.row(q as u32);
                    if mode == "f32" {
                        graph.search(rows, q, a.k, ef, &mut s)
                    } else {
                        graph.search_sq8(rows, &codes, q, a.k, ef, None, &mut s)
                    }
                });
                let mut t = Searcher::tracking();
                let visits: usize = (0..nq.min(200) as u32)
                    .map(|q| {
                        graph.search(rows, queries.row(q), a.k, ef, &mut t);
                        t.trail().len()
                    })
                    .sum();
                println!(
                    "{{\"mode\":\"{mode}\",\"round\":{round},\"ef\":{ef},\"recall\":{:.4},\"qps\":{qps:.0},\"cpu_qps\":{cpu_qps:.0},\"visits\":{:.0}}}",
                    recall(&found, &kth, a.k),
                    visits as f64 / nq.min(200) as f64
                );
            }
        }
    }
    filtered(&a, &graph, rows, &order, queries, &mut s);
}

/// Recall against the exact filtered answer and QPS, for the plain filtered
/// walk and for the planned search, at each selectivity.
fn filtered(
    a: &Args,
    graph: &Hnsw,
    rows: Rows<'_>,
    order: &[u32],
    queries: Rows<'_>,
    s: &mut Searcher,
) {
    let (n, nq, k) = (rows.len(), queries.len(), a.k);
    let ef = a.filter_efs.first().copied().unwrap_or(64);
    for &pct in &a.filters {
        let mask: Vec<bool> = order.iter().map(|&old| passes(old, pct)).collect();
        let allowed: Vec<u32> = (0..n as u32).filter(|&i| mask[i as usize]).collect();
        let truth: Vec<f32> = (0..nq as u32)
            .map(|q| {
                let top = scan_allowed(rows, &allowed, queries.row(q), k);
                top.last().map_or(f32::MIN, |x| x.1)
            })
            .collect();
        let pass = |id: u32| mask[id as usize];
        let plan = plan_filtered(n, allowed.len(), k, ef);
        let runs = a.filter_efs.iter().map(|&e| ("filtered", e));
        for (mode, ef) in runs.chain([("planned", ef)]) {
            for round in 0..a.rounds.min(2) {
                let (found, qps, _) = timed(nq, |q| {
                    let q = queries.row(q as u32);
                    match (mode, plan) {
                        ("filtered", _) => graph.search_filtered(rows, q, k, ef, Some(&pass), s),
                        (_, FilterPlan::Graph { ef }) => {
                            graph.search_filtered(rows, q, k, ef, Some(&pass), s)
                        }
                        (_, FilterPlan::Scan) => scan_allowed(rows, &allowed, q, k),
                    }
                });
                println!(
                    "{{\"mode\":\"{mode}\",\"round\":{round},\"filter_pct\":{pct},\"allowed\":{},\"plan\":\"{plan:?}\",\"ef\":{ef},\"recall\":{:.4},\"qps\":{qps:.0}}}",
                    allowed.len(),
                    recall(&found, &truth, k)
                );
            }
        }
    }
}

fn le_u32s(xs: &[u32]) -> Vec<u8> {
    xs.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// First word of a graph cache ("VSGC"), then the cache layout's version.
const CACHE_MAGIC: u32 = u32::from_le_bytes(*b"VSGC");
const CACHE_VERSION: u32 = 2;

/// What the graph builder of this binary gives, as one number: the xxh3-64
/// of a small graph built on fixed pseudo-random vectors with the same `m`
/// and `ef_construction`. A cache written by a build whose construction
/// differs (another neighbour selection, walk or renumbering) carries
/// another fingerprint and is rebuilt rather than measured.
fn build_fingerprint(m: usize, efc: usize) -> u64 {
    let (n, dim) = (3_000usize, 16usize);
    let mut z = 0x5EED_CAFE_u64;
    let mut next = || {
        z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut x = z;
        x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((x ^ (x >> 31)) >> 40) as f32 / (1u64 << 24) as f32 - 0.5
    };
    let centres: Vec<f32> = (0..8 * dim).map(|_| next()).collect();
    let mut v = Vec::with_capacity(n * dim);
    for i in 0..n {
        let c = &centres[(i % 8) * dim..(i % 8 + 1) * dim];
        let row: Vec<f32> = c.iter().map(|&x| x + 0.3 * next()).collect();
        let norm = row.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
        v.extend(row.iter().map(|x| x / norm));
    }
    let params = HnswParams {
        m,
        ef_construction: efc,
        ..HnswParams::default()
    };
    let r = Hnsw::build_reordered(Rows::new(&v, dim), &params, &|_| {});
    let p = r.graph.to_parts();
    let mut bytes = le_u32s(&[p.n, p.m, p.max_level, p.entry_point]);
    for x in [
        &r.order[..],
        &p.layer0,
        &p.upper_offsets,
        &p.upper_ids,
        &p.upper_links,
    ] {
        bytes.extend(le_u32s(x));
    }
    xxhash_rust::xxh3::xxh3_64(&bytes)
}

/// What a cache must match: the base's shape, the build parameters and the
/// builder's fingerprint.
struct CacheKey {
    n: usize,
    dim: usize,
    efc: usize,
    fingerprint: u64,
}

/// `[magic, version, fingerprint lo, hi, n, dim, ef_construction]`, then
/// `[n, m, max_level, entry, seed lo, seed hi, len × 5]` and the five arrays
/// (order, layer0, upper offsets, ids, links), all little-endian u32.
fn save_graph(path: &str, key: &CacheKey, g: &Hnsw, order: &[u32]) {
    let p = g.to_parts();
    let arrays: [&[u32]; 5] = [
        order,
        &p.layer0,
        &p.upper_offsets,
        &p.upper_ids,
        &p.upper_links,
    ];
    let mut head = cache_key_words(key).to_vec();
    head.extend([
        p.n,
        p.m,
        p.max_level,
        p.entry_point,
        p.seed as u32,
        (p.seed >> 32) as u32,
    ]);
    head.extend(arrays.iter().map(|x| x.len() as u32));
    let mut bytes = le_u32s(&head);
    for x in arrays {
        bytes.extend(le_u32s(x));
    }
    std::fs::write(path, bytes).expect("write graph cache");
}

/// The words that open a cache file: what it is, and what made it.
fn cache_key_words(key: &CacheKey) -> [u32; 7] {
    [
        CACHE_MAGIC,
        CACHE_VERSION,
        key.fingerprint as u32,
        (key.fingerprint >> 32) as u32,
        key.n as u32,
        key.dim as u32,
        key.efc as u32,
    ]
}

/// The cached graph, if `path` holds one this binary's builder would have
/// made from the same base with the same parameters (else `None`, and a
/// note on stderr when the file exists). Layer 0 goes to huge pages, as a
/// freshly built graph's does: at 1M nodes its 132 MB of records on 4 KiB
/// pages cost a TLB miss on most expansions.
fn load_graph(path: &str, key: &CacheKey, m: usize) -> Option<(Hnsw, Vec<u32>)> {
    let bytes = std::fs::read(path).ok()?;
    let words: Vec<u32> = bytes
        .chunks_exact(4)
        .map(|c| u32::from_le_bytes(c.try_into().unwrap()))
        .collect();
    let want = cache_key_words(key);
    if words.len() < 18 || words[..7] != want || words[8] as usize != m {
        eprintln!("ann_sweep: {path} is not this build's graph of this base; rebuilding it");
        return None;
    }
    let (head, mut rest) = words[7..].split_at(11);
    let mut take = |len: u32| {
        let (a, b) = rest.split_at(len as usize);
        rest = b;
        a
    };
    let order = take(head[6]).to_vec();
    let parts = HnswParts {
        n: head[0],
        m: head[1],
        max_level: head[2],
        entry_point: head[3],
        seed: head[4] as u64 | (head[5] as u64) << 32,
        layer0: Slab::copy_huge(take(head[7])),
        upper_offsets: Slab::from_vec(take(head[8]).to_vec()),
        upper_ids: Slab::from_vec(take(head[9]).to_vec()),
        upper_links: Slab::from_vec(take(head[10]).to_vec()),
    };
    Some((Hnsw::from_parts(parts).expect("valid graph cache"), order))
}
