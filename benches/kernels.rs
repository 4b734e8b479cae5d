//! Criterion benchmarks for every kernel set this machine can run, so a
//! regression in one SIMD path is not hidden by the dispatcher's choice.
//!
//! `dot_block` is reported in bytes of rows streamed (memory bandwidth);
//! `dot_tile` in elements, where one element is one floating-point operation
//! (a multiply-add counts two), so "elem/s" reads as FLOP/s.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use vecsearch::internals::vector::{self, AlignedVec, Kernels, PackedRows};

/// Deterministic data; the values do not affect timing, only the layout does.
fn data(n: usize, seed: u32) -> AlignedVec {
    let mut v = AlignedVec::with_capacity(n);
    let mut x = seed.wrapping_mul(2_654_435_761) | 1;
    let chunk: Vec<f32> = (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x >> 8) as f32 / (1 << 24) as f32 - 0.5
        })
        .collect();
    v.extend_from_slice(&chunk);
    v
}

fn bench_dot(c: &mut Criterion) {
    let mut g = c.benchmark_group("dot");
    for dim in [256usize, 1024] {
        let a = data(dim, 1);
        let b = data(dim, 2);
        g.throughput(Throughput::Bytes((2 * dim * 4) as u64));
        for k in vector::available() {
            g.bench_with_input(BenchmarkId::new(k.name, dim), &dim, |bch, _| {
                bch.iter(|| (k.dot)(black_box(&a), black_box(&b)))
            });
        }
    }
    g.finish();
}

const ROWS: usize = 100_000;
const DIM: usize = 256;

fn bench_dot_block(c: &mut Criterion) {
    let rows = data(ROWS * DIM, 3);
    let q = data(DIM, 4);
    let mut out = vec![0.0f32; ROWS];
    let mut g = c.benchmark_group("dot_block_100k_x_256");
    g.sample_size(20);
    g.throughput(Throughput::Bytes((ROWS * DIM * 4) as u64));
    for k in vector::available() {
        g.bench_function(k.name, |bch| {
            bch.iter(|| {
                (k.dot_block)(black_box(&q), black_box(&rows), &mut out);
                black_box(&out);
            })
        });
    }
    g.finish();
}

/// Scores 64 queries against all rows tile by tile, as a batch search would.
fn tile_pass(k: &Kernels, queries: &[f32], rows: &[f32], out: &mut [f32]) {
    let tile = vector::TILE_ROWS * DIM;
    let nq = queries.len() / DIM;
    for block in rows.chunks(tile) {
        let nv = block.len() / DIM;
        (k.dot_tile)(queries, block, DIM, &mut out[..nq * nv]);
        black_box(&out);
    }
}

fn bench_dot_tile(c: &mut Criterion) {
    let nq = vector::TILE_QUERIES;
    let rows = data(ROWS * DIM, 5);
    let queries = data(nq * DIM, 6);
    let mut out = vec![0.0f32; nq * vector::TILE_ROWS];
    let mut g = c.benchmark_group("dot_tile_64q_x_100k_x_256");
    g.sample_size(10);
    g.throughput(Throughput::Elements((2 * nq * ROWS * DIM) as u64));
    for k in vector::available() {
        g.bench_function(k.name, |bch| {
            bch.iter(|| tile_pass(&k, &queries, &rows, &mut out))
        });
    }
    g.finish();
}

/// The GEMM-style kernel alone, from L2: one tile of rows packed once and
/// scored by 64 queries as many times as the 100k rows hold tiles, the way a
/// batch search scores each packed tile (which it has just packed, so it
/// sits in L2) against every tile of queries.
fn bench_dot_tile_packed(c: &mut Criterion) {
    let nq = vector::TILE_QUERIES;
    let nv = vector::TILE_ROWS;
    let rows = data(nv * DIM, 5);
    let queries = data(nq * DIM, 6);
    let mut packed = PackedRows::new();
    packed.pack(&rows, DIM);
    let reps = ROWS / nv;
    let mut out = vec![0.0f32; nq * nv];
    let mut g = c.benchmark_group("dot_tile_packed_64q_x_100k_x_256");
    g.sample_size(10);
    g.throughput(Throughput::Elements((2 * nq * reps * nv * DIM) as u64));
    for k in vector::available() {
        g.bench_function(k.name, |bch| {
            bch.iter(|| {
                for _ in 0..reps {
                    (k.dot_tile_packed)(black_box(&queries), &packed, &mut out);
                    black_box(&out);
                }
            })
        });
    }
    g.finish();
}

/// The bounded kernel where no test can drop anything (every limit `−∞`):
/// what the tests cost over `dot_tile_packed` when they never pay.
fn bench_dot_tile_bounded(c: &mut Criterion) {
    let nq = vector::TILE_QUERIES;
    let nv = vector::TILE_ROWS;
    let rows = data(nv * DIM, 5);
    let queries = data(nq * DIM, 6);
    let checks = vector::bound::checkpoints(DIM);
    let nj = checks.len();
    let mut packed = PackedRows::new();
    packed.pack_bounded(&rows, DIM, &checks);
    let limit = vec![f32::NEG_INFINITY; nq];
    let margin = vec![0.0f32; nq];
    let residual = vec![1.0f32; nq * nj];
    let bounds = vector::QueryBounds {
        limit: &limit,
        margin: &margin,
        residual: &residual,
    };
    let reps = ROWS / nv;
    let mut out = vec![0.0f32; nq * nv];
    let mut g = c.benchmark_group("dot_tile_bounded_64q_x_100k_x_256");
    g.sample_size(10);
    g.throughput(Throughput::Elements((2 * nq * reps * nv * DIM) as u64));
    for k in vector::available() {
        g.bench_function(k.name, |bch| {
            bch.iter(|| {
                for _ in 0..reps {
                    (k.dot_tile_bounded)(black_box(&queries), &packed, &bounds, &mut out);
                    black_box(&out);
                }
            })
        });
    }
    g.finish();
}

/// 1-bit codes at dim 1024 (16 words), scored against a 4-bit query:
/// from L2 (2,048 codes, 256 KiB) and streamed from memory (200,000
/// codes, 25.6 MB, the size of a 178k-passage index's code section).
fn bench_bits(c: &mut Criterion) {
    const WORDS: usize = 16;
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let planes: Vec<u64> = (0..vector::bits::QUERY_BITS * WORDS)
        .map(|_| next())
        .collect();
    for rows in [2_048usize, 200_000] {
        let codes: Vec<u64> = (0..rows * WORDS).map(|_| next()).collect();
        let mut out = vec![0i32; 256];
        let mut g = c.benchmark_group(format!("bits_scores_{rows}_x_1024"));
        g.sample_size(20);
        g.throughput(Throughput::Bytes((rows * WORDS * 8) as u64));
        for k in vector::available() {
            g.bench_function(k.name, |bch| {
                bch.iter(|| {
                    // Blocks of 256 codes, as `BitIndex::scan` calls it.
                    for block in codes.chunks(256 * WORDS) {
                        let n = block.len() / WORDS;
                        (k.bits_scores)(black_box(&planes), block, &mut out[..n]);
                        black_box(&out);
                    }
                })
            });
        }
        g.finish();
    }
}

criterion_group!(
    benches,
    bench_bits,
    bench_dot,
    bench_dot_block,
    bench_dot_tile,
    bench_dot_tile_packed,
    bench_dot_tile_bounded
);
criterion_main!(benches);
