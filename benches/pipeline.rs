//! Criterion benches for the text-to-vector pipeline and the exact scan:
//! tokenizing, embedding, and flat search over 100k vectors at dim 256 and
//! 1024. Run: `cargo bench --bench pipeline`.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use vecsearch::internals::embed::{Embedder, EmbedderSettings, Idf};
use vecsearch::internals::index::FlatIndex;
use vecsearch::internals::text::Analyzer;
use vecsearch::internals::vector::{self, AlignedVec, Slab};

/// The built-in sample corpus, concatenated: real multilingual text.
fn sample_text() -> String {
    vecsearch::sample::documents()
        .into_iter()
        .map(|d| d.text)
        .collect::<Vec<_>>()
        .join("\n\n")
}

fn random_unit_rows(n: usize, dim: usize, seed: u64) -> AlignedVec {
    let mut x = seed;
    let mut v = AlignedVec::zeroed(n * dim);
    for row in v.as_mut_slice().chunks_mut(dim) {
        for f in row.iter_mut() {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            *f = ((x >> 40) as f32 / (1u64 << 24) as f32) - 0.5;
        }
        vector::normalize(row);
    }
    v
}

fn tokenize(c: &mut Criterion) {
    let text = sample_text();
    let analyzer = Analyzer::default();
    let mut g = c.benchmark_group("tokenize");
    g.throughput(Throughput::Bytes(text.len() as u64));
    g.bench_function("sample_corpus", |b| {
        b.iter(|| {
            let mut n = 0usize;
            analyzer.for_each_token(&text, |_, _, _| n += 1);
            n
        })
    });
    g.finish();
}

fn embed(c: &mut Criterion) {
    let text = sample_text();
    let passages: Vec<&str> = text
        .split("\n\n")
        .filter(|p| !p.trim().is_empty())
        .collect();
    let mut g = c.benchmark_group("embed");
    g.throughput(Throughput::Elements(passages.len() as u64));
    for dim in [256u32, 1024] {
        let e = Embedder::new(EmbedderSettings {
            dim,
            ..Default::default()
        });
        let counts: Vec<_> = passages.iter().map(|p| e.term_counts(p)).collect();
        let idf = Idf::from_passages(counts.iter().map(Vec::as_slice).collect::<Vec<_>>());
        let mut out = vec![0.0f32; dim as usize];
        g.bench_with_input(BenchmarkId::new("passages", dim), &dim, |b, _| {
            b.iter(|| {
                for p in &passages {
                    let c = e.term_counts(p);
                    e.embed_counts(&c, &idf, false, &mut out);
                }
            })
        });
    }
    g.finish();
}

fn flat_search(c: &mut Criterion) {
    let n = 100_000;
    let mut g = c.benchmark_group("flat_search_100k");
    g.sample_size(30);
    for dim in [256usize, 1024] {
        let idx = FlatIndex::new(dim, Slab::from_aligned(random_unit_rows(n, dim, 1))).unwrap();
        let q = random_unit_rows(1, dim, 2);
        g.throughput(Throughput::Bytes((n * dim * 4) as u64));
        g.bench_with_input(BenchmarkId::new("parallel_k10", dim), &dim, |b, _| {
            b.iter(|| idx.search(&q, 10, None))
        });
        g.bench_with_input(BenchmarkId::new("one_thread_k10", dim), &dim, |b, _| {
            b.iter(|| idx.search_serial(&q, 10, None))
        });
    }
    g.finish();
}

criterion_group!(benches, tokenize, embed, flat_search);
criterion_main!(benches);
