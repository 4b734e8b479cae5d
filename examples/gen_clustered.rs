//! Generates a clustered unit-vector data set in TEXMEX format for comparing
//! vecsearch with other ANN libraries on equal terms:
//!
//! ```text
//! cargo run --release --example gen_clustered -- --out DIR --n 200000 --nq 1000 \
//!     --dim 256 --clusters 100 --k 100 --seed 42 [--spread 0.8]
//! ```
//!
//! writes `DIR/base.fvecs`, `DIR/query.fvecs` and `DIR/gt.ivecs` (exact
//! top-k by inner product, best first). Points are Gaussian clusters around
//! random unit centres, normalised to unit length, because real embeddings
//! are clustered and uniform random data makes every ANN index look bad.
//! Queries come from the same distribution but are drawn separately, so
//! none is in the base set. The output depends only on the arguments.
//!
//! It uses the crate's `internals` (the tiled kernel, for exact ground
//! truth), as the benchmarks do.

use std::cmp::Ordering;
use std::path::PathBuf;
use std::time::Instant;

use rayon::prelude::*;
use vecsearch::bench::annfiles::{write_fvecs, write_ivecs};
use vecsearch::internals::vector::{self, normalize};

/// xoshiro256** seeded through SplitMix64, as its authors recommend; small,
/// fast and reproducible on every platform, which a data set needs.
struct Rng {
    s: [u64; 4],
    spare: Option<f64>,
}

impl Rng {
    fn new(seed: u64) -> Self {
        let mut x = seed;
        let mut next = || {
            x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        };
        Rng {
            s: [next(), next(), next(), next()],
            spare: None,
        }
    }

    fn next_u64(&mut self) -> u64 {
        let s = &mut self.s;
        let out = s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        out
    }

    /// Uniform in (0, 1]: never 0, so `ln` in Box-Muller stays finite.
    fn unit_open(&mut self) -> f64 {
        ((self.next_u64() >> 11) + 1) as f64 / (1u64 << 53) as f64
    }

    fn below(&mut self, n: usize) -> usize {
        (((self.next_u64() >> 32) * n as u64) >> 32) as usize
    }

    /// Standard normal by Box-Muller, keeping the second value of each pair.
    fn gauss(&mut self) -> f64 {
        if let Some(z) = self.spare.take() {
            return z;
        }
        let r = (-2.0 * self.unit_open().ln()).sqrt();
        let theta = std::f64::consts::TAU * self.unit_open();
        self.spare = Some(r * theta.sin());
        r * theta.cos()
    }
}

struct Args {
    out: PathBuf,
    n: usize,
    nq: usize,
    dim: usize,
    clusters: usize,
    k: usize,
    seed: u64,
    spread: f64,
}

/// `None` when there is no `--out`: the plain `cargo bench` case.
fn parse_args() -> Result<Option<Args>, String> {
    let mut a = Args {
        out: PathBuf::new(),
        n: 200_000,
        nq: 1_000,
        dim: 256,
        clusters: 100,
        k: 100,
        seed: 42,
        spread: 0.8,
    };
    let mut have_out = false;
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        // cargo and criterion add flags of their own; ignore what is not ours.
        let known = [
            "--out",
            "--n",
            "--nq",
            "--dim",
            "--clusters",
            "--k",
            "--seed",
            "--spread",
        ];
        if !known.contains(&flag.as_str()) {
            continue;
        }
        let value = it.next().ok_or(format!("{flag} needs a value"))?;
        let num = |v: &str| v.parse::<usize>().map_err(|e| format!("{flag} {v}: {e}"));
        match flag.as_str() {
            "--out" => {
                a.out = PathBuf::from(value);
                have_out = true;
            }
            "--n" => a.n = num(&value)?,
            "--nq" => a.nq = num(&value)?,
            "--dim" => a.dim = num(&value)?,
            "--clusters" => a.clusters = num(&value)?,
            "--k" => a.k = num(&value)?,
            "--seed" => a.seed = value.parse().map_err(|e| format!("--seed {value}: {e}"))?,
            "--spread" => {
                a.spread = value
                    .parse()
                    .map_err(|e| format!("--spread {value}: {e}"))?
            }
            _ => unreachable!(),
        }
    }
    if !have_out {
        return Ok(None);
    }
    if a.dim == 0 || a.clusters == 0 || a.n == 0 {
        return Err("--dim, --clusters and --n must be positive".into());
    }
    Ok(Some(a))
}

fn unit_gaussian(rng: &mut Rng, dim: usize, out: &mut [f32]) {
    for x in out.iter_mut().take(dim) {
        *x = rng.gauss() as f32;
    }
    normalize(out);
}

/// `count` points: a random centre plus isotropic noise whose expected norm
/// is `spread` (so `spread` is the noise-to-signal ratio), then normalised.
fn sample(rng: &mut Rng, centres: &[f32], dim: usize, spread: f64, count: usize) -> Vec<f32> {
    let sigma = spread / (dim as f64).sqrt();
    let nc = centres.len() / dim;
    let mut out = vec![0.0f32; count * dim];
    for row in out.chunks_exact_mut(dim) {
        let c = &centres[rng.below(nc) * dim..][..dim];
        for (x, &m) in row.iter_mut().zip(c) {
            *x = m + (sigma * rng.gauss()) as f32;
        }
        normalize(row);
    }
    out
}

/// Score order for top-k: higher score first, then lower id, so ties break
/// the same way on every run.
fn better(a: &(f32, u32), b: &(f32, u32)) -> Ordering {
    b.0.total_cmp(&a.0).then(a.1.cmp(&b.1))
}

/// Exact top-k ids by inner product, best first, for every query: query
/// blocks run in parallel, each scoring the base in L2-sized tiles.
fn ground_truth(base: &[f32], queries: &[f32], dim: usize, k: usize) -> Vec<i32> {
    let n = base.len() / dim;
    let k = k.min(n);
    let bq = vector::TILE_QUERIES;
    let tile_rows = vector::TILE_ROWS;
    queries
        .par_chunks(bq * dim)
        .flat_map_iter(|qblock| {
            let nq = qblock.len() / dim;
            let mut scores = vec![0.0f32; nq * tile_rows];
            // Per query: candidates above `floor`, trimmed back to k when
            // they pile up, so most tile scores are rejected by one compare.
            let mut cand: Vec<Vec<(f32, u32)>> = vec![Vec::with_capacity(4 * k); nq];
            let mut floor = vec![f32::NEG_INFINITY; nq];
            for (t, tile) in base.chunks(tile_rows * dim).enumerate() {
                let nv = tile.len() / dim;
                let s = &mut scores[..nq * nv];
                vector::dot_tile(qblock, tile, dim, s);
                for i in 0..nq {
                    for (j, &sc) in s[i * nv..(i + 1) * nv].iter().enumerate() {
                        if sc >= floor[i] {
                            cand[i].push((sc, (t * tile_rows + j) as u32));
                        }
                    }
                    if cand[i].len() >= 4 * k.max(16) {
                        cand[i].select_nth_unstable_by(k - 1, better);
                        cand[i].truncate(k);
                        floor[i] = cand[i].iter().map(|c| c.0).fold(f32::INFINITY, f32::min);
                    }
                }
            }
            cand.into_iter().flat_map(move |mut c| {
                c.sort_unstable_by(better);
                c.truncate(k);
                c.into_iter().map(|(_, id)| id as i32)
            })
        })
        .collect()
}

fn run(a: &Args) -> Result<(), Box<dyn std::error::Error>> {
    std::fs::create_dir_all(&a.out)?;
    let t0 = Instant::now();
    // Separate streams so changing --n does not change the queries.
    let mut rng = Rng::new(a.seed);
    let mut centres = vec![0.0f32; a.clusters * a.dim];
    for c in centres.chunks_exact_mut(a.dim) {
        unit_gaussian(&mut rng, a.dim, c);
    }
    let mut base_rng = Rng::new(a.seed ^ 0xBA5E_BA5E_BA5E_BA5E);
    let mut query_rng = Rng::new(a.seed ^ 0x0DE7_0DE7_0DE7_0DE7);
    let base = sample(&mut base_rng, &centres, a.dim, a.spread, a.n);
    let queries = sample(&mut query_rng, &centres, a.dim, a.spread, a.nq);
    eprintln!(
        "generated {} base + {} queries, dim {} ({:.1?})",
        a.n,
        a.nq,
        a.dim,
        t0.elapsed()
    );
    write_fvecs(a.out.join("base.fvecs"), &base, a.dim)?;
    write_fvecs(a.out.join("query.fvecs"), &queries, a.dim)?;
    let t1 = Instant::now();
    let gt = ground_truth(&base, &queries, a.dim, a.k);
    let k = a.k.min(a.n);
    eprintln!(
        "exact top-{k} with {} kernels on {} threads ({:.1?})",
        vector::best().name,
        rayon::current_num_threads(),
        t1.elapsed()
    );
    write_ivecs(a.out.join("gt.ivecs"), &gt, k)?;
    eprintln!("wrote {}", a.out.display());
    Ok(())
}

fn main() {
    match parse_args() {
        Ok(None) => {}
        Ok(Some(args)) => {
            if let Err(e) = run(&args) {
                eprintln!("gen_clustered: {e}");
                std::process::exit(1);
            }
        }
        Err(e) => {
            eprintln!("gen_clustered: {e}");
            std::process::exit(2);
        }
    }
}
