//! The graph over 1-bit codes (`vector::bits`): built on the symmetric
//! Hamming distance between codes, walked with a query's 4-bit planes
//! (the estimate the flat code scan ranks by), so neither needs an f32
//! row. Both score through the kernel table (`vector::hamming`,
//! `vector::bits_scores` on one code), so every machine walks and builds
//! the same graph.

use super::build::Space;
use super::layer::{prefetch, prefetch_rest};
use super::search::{Cand, Exact, Quantized, Scorer};
use std::borrow::Cow;

use super::{Hnsw, HnswParams, Rows, EXPANDED};
use crate::vector::sq8::Sq8Codes;
use crate::vector::{self, bits};

/// `len()` codes of `words()` u64 each, back to back: the graph's view of
/// an index's 1-bit codes.
#[derive(Clone, Copy, Debug)]
pub struct CodeRows<'a> {
    codes: &'a [u64],
    words: usize,
    n: usize,
}

impl<'a> CodeRows<'a> {
    /// # Panics
    /// If `words == 0` or `codes` is not a whole number of codes.
    pub fn new(codes: &'a [u64], words: usize) -> Self {
        assert!(
            words > 0 && codes.len().is_multiple_of(words),
            "hnsw: codes not a whole number of rows"
        );
        CodeRows {
            codes,
            words,
            n: codes.len() / words,
        }
    }

    pub fn len(&self) -> usize {
        self.n
    }

    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    pub fn words(&self) -> usize {
        self.words
    }

    /// Code `id`.
    ///
    /// # Panics
    /// If `id >= len()`.
    #[inline(always)]
    pub fn code(&self, id: u32) -> &'a [u64] {
        let i = id as usize * self.words;
        &self.codes[i..i + self.words]
    }

    /// Code `id` without a bounds check.
    ///
    /// # Safety
    /// `id < len()`.
    #[inline(always)]
    unsafe fn code_unchecked(&self, id: u32) -> &'a [u64] {
        debug_assert!((id as usize) < self.n);
        // SAFETY: `id < n` by the caller's guarantee, and `new` checked that
        // `codes` holds `n * words` words.
        unsafe {
            std::slice::from_raw_parts(
                self.codes.as_ptr().add(id as usize * self.words),
                self.words,
            )
        }
    }

    #[inline(always)]
    fn ptr(&self, id: u32) -> *const f32 {
        self.codes.as_ptr().wrapping_add(id as usize * self.words) as *const f32
    }

    /// Similarity of two codes: agreeing minus differing bits, a linear
    /// function of the Hamming distance, so higher is nearer.
    #[inline(always)]
    fn similarity(&self, hamming: u32) -> f32 {
        (self.words as i64 * 64 - 2 * hamming as i64) as f32
    }
}

/// Scores every code against one code (a node being linked).
pub(super) struct Hamming<'a> {
    rows: CodeRows<'a>,
    query: &'a [u64],
    hamming: fn(&[u64], &[u64]) -> u32,
}

// SAFETY: `score_unchecked` reads code `id`, in bounds for `id < rows.len()
// == len()` (see `CodeRows::code_unchecked`).
unsafe impl Scorer for Hamming<'_> {
    #[inline(always)]
    fn len(&self) -> usize {
        self.rows.len()
    }

    #[inline(always)]
    fn score(&self, id: u32) -> f32 {
        self.rows
            .similarity((self.hamming)(self.query, self.rows.code(id)))
    }

    #[inline(always)]
    unsafe fn score_unchecked(&self, id: u32) -> f32 {
        // SAFETY: `id < len()` by the caller's guarantee.
        let code = unsafe { self.rows.code_unchecked(id) };
        self.rows.similarity((self.hamming)(self.query, code))
    }

    #[inline(always)]
    fn prefetch(&self, id: u32) {
        prefetch(self.rows.ptr(id));
    }

    #[inline(always)]
    fn prefetch_rest(&self, id: u32) {
        // A code of `words` u64 spans `2 * words` "floats" of the helper.
        prefetch_rest(self.rows.ptr(id), 2 * self.rows.words);
    }
}

impl Space for CodeRows<'_> {
    type Scorer<'s>
        = Hamming<'s>
    where
        Self: 's;

    fn len(&self) -> usize {
        self.n
    }

    fn scorer_of(&self, id: u32) -> Hamming<'_> {
        Hamming {
            rows: *self,
            query: self.code(id),
            hamming: vector::best().hamming,
        }
    }

    fn similarity(&self, a: u32, b: u32) -> f32 {
        self.similarity(vector::hamming(self.code(a), self.code(b)))
    }
}

/// Rows `ids[0..4]`, for one [`vector::dot4`] call.
#[inline(always)]
fn rows4<'a>(rows: &Rows<'a>, ids: &[u32]) -> [&'a [f32]; 4] {
    [
        rows.row(ids[0]),
        rows.row(ids[1]),
        rows.row(ids[2]),
        rows.row(ids[3]),
    ]
}

impl Space for Rows<'_> {
    type Scorer<'s>
        = Exact<'s>
    where
        Self: 's;

    fn len(&self) -> usize {
        Rows::len(self)
    }

    fn scorer_of(&self, id: u32) -> Exact<'_> {
        Exact::new(*self, self.row(id))
    }

    fn similarity(&self, a: u32, b: u32) -> f32 {
        vector::dot(self.row(a), self.row(b))
    }

    /// Four rows per kernel call, each result exactly `dot`'s.
    fn similarities(&self, a: u32, bs: &[u32], out: &mut [f32]) {
        let (dot4, row) = (vector::dot4::best_dot4(), self.row(a));
        let mut blocks = bs.chunks_exact(4);
        let mut outs = out.chunks_exact_mut(4);
        for (b, o) in (&mut blocks).zip(&mut outs) {
            o.copy_from_slice(&dot4(row, rows4(self, b)));
        }
        for (o, &b) in outs.into_remainder().iter_mut().zip(blocks.remainder()) {
            *o = vector::dot(row, self.row(b));
        }
    }

    /// The first kept node (the most similar to the base, so the likeliest
    /// to be closer to `c`) alone, then four per kernel call: a rejected
    /// candidate usually stops at the first, a kept one is compared with
    /// all of them. Each similarity is exactly `dot`'s, so the answer is
    /// the plain loop's.
    fn none_closer(&self, c: u32, score: f32, kept: &[u32]) -> bool {
        let Some((&first, rest)) = kept.split_first() else {
            return true;
        };
        let row = self.row(c);
        // `x <= score` negated, not `x > score`: the plain loop's test for
        // every value, NaN included.
        let within = |x: f32| x <= score;
        if !within(vector::dot(row, self.row(first))) {
            return false;
        }
        let dot4 = vector::dot4::best_dot4();
        let mut blocks = rest.chunks_exact(4);
        for b in &mut blocks {
            if !dot4(row, rows4(self, b)).into_iter().all(within) {
                return false;
            }
        }
        blocks
            .remainder()
            .iter()
            .all(|&k| vector::dot(row, self.row(k)) <= score)
    }
}

/// f32 rows with their SQ8 codes, the space [`Hnsw::build`] links: the
/// walks that find a new node's candidates score codes (a quarter of the
/// bytes, and the build is bound by the lines it reads), and the
/// candidates are then re-scored exactly, so the links are chosen and
/// pruned on exact inner products as before.
pub(super) struct Coded<'a> {
    rows: Rows<'a>,
    codes: Sq8Codes,
}

impl<'a> Coded<'a> {
    pub(super) fn new(rows: Rows<'a>) -> Self {
        Coded {
            rows,
            codes: Sq8Codes::build(rows),
        }
    }
}

impl Space for Coded<'_> {
    type Scorer<'s>
        = Quantized<'s>
    where
        Self: 's;

    fn len(&self) -> usize {
        self.rows.len()
    }

    fn scorer_of(&self, id: u32) -> Quantized<'_> {
        let q = self.codes.quantizer().query(self.rows.row(id));
        Quantized::new(&self.codes, Cow::Owned(q))
    }

    fn similarity(&self, a: u32, b: u32) -> f32 {
        self.rows.similarity(a, b)
    }

    fn similarities(&self, a: u32, bs: &[u32], out: &mut [f32]) {
        self.rows.similarities(a, bs, out)
    }

    fn rescore(&self, q: u32, cands: &mut [Cand]) {
        let mut ids = [0u32; 64];
        let mut scores = [0f32; 64];
        for chunk in cands.chunks_mut(64) {
            let n = chunk.len();
            for (i, c) in ids.iter_mut().zip(chunk.iter()) {
                *i = c.id;
            }
            self.rows.similarities(q, &ids[..n], &mut scores[..n]);
            for (c, &s) in chunk.iter_mut().zip(&scores[..n]) {
                c.score = s;
            }
        }
    }

    fn none_closer(&self, c: u32, score: f32, kept: &[u32]) -> bool {
        self.rows.none_closer(c, score, kept)
    }
}

/// Scores codes against a query's bit planes: the kernel's integer
/// estimate, as `f32` (exact: far below 2^24).
struct Planes<'a> {
    rows: CodeRows<'a>,
    planes: &'a [u64],
    kernel: fn(&[u64], &[u64], &mut [i32]),
}

// SAFETY: `score_unchecked` reads code `id`, in bounds for `id < rows.len()
// == len()`; the kernel checks the planes' length against the code's.
unsafe impl Scorer for Planes<'_> {
    #[inline(always)]
    fn len(&self) -> usize {
        self.rows.len()
    }

    #[inline(always)]
    fn score(&self, id: u32) -> f32 {
        let mut out = [0i32];
        (self.kernel)(self.planes, self.rows.code(id), &mut out);
        out[0] as f32
    }

    #[inline(always)]
    unsafe fn score_unchecked(&self, id: u32) -> f32 {
        let mut out = [0i32];
        // SAFETY: `id < len()` by the caller's guarantee.
        (self.kernel)(
            self.planes,
            unsafe { self.rows.code_unchecked(id) },
            &mut out,
        );
        out[0] as f32
    }

    #[inline(always)]
    fn prefetch(&self, id: u32) {
        prefetch(self.rows.ptr(id));
    }

    #[inline(always)]
    fn prefetch_rest(&self, id: u32) {
        prefetch_rest(self.rows.ptr(id), 2 * self.rows.words);
    }
}

impl Hnsw {
    /// Builds a graph over 1-bit codes, linking by Hamming distance; as
    /// [`Hnsw::build`] otherwise (deterministic for any thread count).
    ///
    /// # Panics
    /// If `m < 2` or there are 2^31 or more codes.
    pub fn build_codes(
        codes: CodeRows<'_>,
        params: &HnswParams,
        progress: &(dyn Fn(usize) + Sync),
    ) -> Hnsw {
        Hnsw::build_in(&codes, params, progress)
    }

    /// Adds codes `len()..` of `codes` (which must start with the codes
    /// the graph was built on) to the graph.
    pub fn insert_codes(
        &mut self,
        codes: CodeRows<'_>,
        ef_construction: usize,
        progress: &(dyn Fn(usize) + Sync),
    ) {
        self.insert_in(&codes, ef_construction, progress)
    }

    /// The walk over codes: the greedy descent and a layer-0 beam of width
    /// `max(ef, k)` scored by the query's bit `planes` (see
    /// [`bits::QueryPlanes`]). Returns the `max(ef, k)` best nodes the walk
    /// found (only those passing `filter`, if any), best first, with the
    /// kernel's integer scores: the candidate pool for an exact re-score.
    ///
    /// # Panics
    /// If `codes.len() != len()` or the planes are for another code length.
    pub fn search_codes(
        &self,
        codes: CodeRows<'_>,
        planes: &bits::QueryPlanes,
        k: usize,
        ef: usize,
        filter: Option<&dyn Fn(u32) -> bool>,
        searcher: &mut super::Searcher,
    ) -> Vec<(u32, i32)> {
        assert_eq!(codes.len(), self.n, "hnsw: code arena size");
        assert_eq!(planes.words(), codes.words(), "hnsw: query planes length");
        if self.n == 0 || k == 0 {
            return Vec::new();
        }
        let scorer = Planes {
            rows: codes,
            planes: &planes.planes,
            kernel: vector::best().bits_scores,
        };
        let keep = ef.max(k);
        self.walk_wide(&scorer, keep, keep, filter, searcher);
        searcher
            .found(filter.is_some())
            .iter()
            .map(|c| (c.id & !EXPANDED, c.score as i32))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::hnsw::Searcher;
    use crate::index::{testing, BitIndex};

    fn codes_of(v: &[f32], dim: usize) -> Vec<u64> {
        BitIndex::encode_rows(dim, v)
    }

    /// The walk over codes finds what the exhaustive code scan ranks best:
    /// nearly all of the scan's top 10 are in the walk's beam.
    #[test]
    fn walk_over_codes_finds_the_scan_top() {
        let (n, dim, k) = (6_000, 64, 10);
        let all = testing::clustered(n + 40, dim, 24, 0.15, 8);
        let (base, queries) = all.split_at(n * dim);
        let words = bits::code_words(dim);
        let codes = codes_of(base, dim);
        let rows = CodeRows::new(&codes, words);
        let params = HnswParams {
            m: 8,
            ef_construction: 64,
            ..HnswParams::default()
        };
        let g = Hnsw::build_codes(rows, &params, &|_| {});
        Hnsw::from_parts(g.to_parts()).unwrap();
        let flat = BitIndex::new(dim, crate::vector::Slab::from_vec(codes.clone())).unwrap();
        let mut s = Searcher::new();
        let (mut found, mut total) = (0, 0);
        for q in queries.chunks_exact(dim) {
            let planes = flat.query(q);
            let truth = flat.search_serial(&planes, k, None);
            let got = g.search_codes(rows, &planes, k, 128, None, &mut s);
            assert_eq!(got.len(), 128);
            assert!(got.windows(2).all(|w| w[0].1 >= w[1].1));
            for &(id, score) in &got {
                let mut one = [0];
                bits::scores(&planes.planes, rows.code(id), &mut one);
                assert_eq!(one[0], score);
            }
            let kth = truth.last().unwrap().score as i32;
            found += got.iter().take(k).filter(|c| c.1 >= kth).count().min(k);
            total += k;
        }
        let recall = found as f64 / total as f64;
        assert!(recall >= 0.9, "recall {recall}");
        let odd = |id: u32| id % 3 == 1;
        let got = g.search_codes(
            rows,
            &flat.query(&queries[..dim]),
            k,
            64,
            Some(&odd),
            &mut s,
        );
        assert!(got.len() == 64 && got.iter().all(|&(id, _)| odd(id)));
    }

    /// Inserting codes later gives a graph that still finds the new ones.
    #[test]
    fn inserted_codes_are_found() {
        let (n, dim) = (3_000, 32);
        let v = testing::clustered(n, dim, 12, 0.1, 4);
        let words = bits::code_words(dim);
        let codes = codes_of(&v, dim);
        let params = HnswParams {
            m: 8,
            ef_construction: 48,
            ..HnswParams::default()
        };
        let mut g = Hnsw::build_codes(
            CodeRows::new(&codes[..2000 * words], words),
            &params,
            &|_| {},
        );
        g.insert_codes(CodeRows::new(&codes, words), 48, &|_| {});
        assert_eq!(g.len(), n);
        Hnsw::from_parts(g.to_parts()).unwrap();
        let flat = BitIndex::new(dim, crate::vector::Slab::from_vec(codes.clone())).unwrap();
        let mut s = Searcher::new();
        let rows = CodeRows::new(&codes, words);
        let mut hits = 0;
        for id in (2000..n as u32).step_by(10) {
            let planes = flat.query(&v[id as usize * dim..(id as usize + 1) * dim]);
            let got = g.search_codes(rows, &planes, 10, 64, None, &mut s);
            hits += got.iter().any(|c| c.0 == id) as usize;
        }
        assert!(hits >= 95, "{hits} of 100 inserted nodes found");
    }
}
