//! Criterion benchmark: single-query HNSW search at ef 32 and 64 on 50k
//! generated clustered unit vectors of dimension 256.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use vecsearch::internals::index::hnsw::{Hnsw, HnswParams, Rows, Searcher};
use vecsearch::internals::index::testing as synth;

const N: usize = 50_000;
const DIM: usize = 256;
const QUERIES: usize = 256;

fn search(c: &mut Criterion) {
    let all = synth::clustered(N + QUERIES, DIM, 100, 0.06, 42);
    let (vectors, queries) = all.split_at(N * DIM);
    let index = Hnsw::build(Rows::new(vectors, DIM), &HnswParams::default(), &|_| {});
    let mut group = c.benchmark_group("hnsw_search_50k_256");
    for ef in [32, 64] {
        group.bench_with_input(BenchmarkId::from_parameter(ef), &ef, |b, &ef| {
            let mut searcher = Searcher::new();
            let mut qs = queries.chunks_exact(DIM).cycle();
            b.iter(|| {
                let q = qs.next().unwrap();
                index.search(Rows::new(vectors, DIM), q, 10, ef, &mut searcher)
            });
        });
    }
    group.finish();
}

criterion_group!(benches, search);
criterion_main!(benches);
