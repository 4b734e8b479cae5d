//! Flat scan over 1-bit codes (see `vector::bits`): every code scored
//! against the quantized query, in parallel chunks with a bounded heap
//! each. Scores are estimates, so callers fetch a larger pool and re-score
//! it exactly; the scan's job is to keep the true top-k inside that pool
//! while reading 32× fewer bytes than the f32 scan.

use rayon::prelude::*;

use super::flat::{offer, Filter};
use std::sync::atomic::{AtomicU32, Ordering};

use super::topk::{Collect, Scored, TopPool};
use crate::error::Malformed;
use crate::vector::{self, bits, Slab};

/// Fewest codes per parallel task; at 128 bytes a code, 8192 are 1 MiB.
/// Tasks are otherwise a few per thread: each keeps its own heap of the
/// whole pool, and a pool of hundreds refilled per small chunk cost more
/// than the scan (measured: 12% of a search at 1.5M codes, pool 640).
const MIN_CHUNK_ROWS: usize = 8192;
/// Codes scored per kernel call: the score buffer stays in L1.
const BLOCK_ROWS: usize = 256;

#[derive(Debug, Clone)]
pub struct BitIndex {
    dim: usize,
    words: usize,
    codes: Slab<u64>,
    /// The rotation the codes were made with; queries go through it too.
    rotation: bits::Rotation,
}

impl BitIndex {
    /// `codes` holds one code of `bits::code_words(dim)` words per row.
    pub fn new(dim: usize, codes: Slab<u64>) -> Result<Self, Malformed> {
        let words = bits::code_words(dim);
        if dim == 0 || !codes.len().is_multiple_of(words) {
            return Err(Malformed::PartialCodes {
                words: codes.len(),
                dim,
            });
        }
        Ok(BitIndex {
            dim,
            words,
            codes,
            rotation: bits::Rotation::new(dim),
        })
    }

    /// Encodes unit vectors (`vectors.len() / dim` rows) in parallel.
    pub fn encode_rows(dim: usize, vectors: &[f32]) -> Vec<u64> {
        let rotation = bits::Rotation::new(dim);
        let words = bits::code_words(dim);
        let mut codes = vec![0u64; vectors.len() / dim.max(1) * words];
        codes
            .par_chunks_mut(words)
            .zip(vectors.par_chunks(dim.max(1)))
            .for_each_init(
                || vec![0.0f32; rotation.len()],
                |buf, (code, v)| rotation.encode(v, buf, code),
            );
        codes
    }

    /// Verifies the codes of rows `ids` against their block checksums (a
    /// graph walk's trail); a failure is latched for the engine to report.
    pub fn check_rows(&self, ids: &[u32]) -> bool {
        ids.iter().fold(true, |ok, &id| {
            self.codes.check(id as usize * self.words, self.words) & ok
        })
    }

    /// The codes as the graph reads them.
    pub fn rows(&self) -> crate::index::hnsw::CodeRows<'_> {
        crate::index::hnsw::CodeRows::new(&self.codes, self.words)
    }

    /// Verifies every block checksum of the codes (for a full check).
    pub fn check_all(&self) -> bool {
        self.codes.check_all()
    }

    /// The same index with its codes copied into huge-page-backed memory,
    /// for a long-running process; `None` if a block of the codes fails
    /// its check (the copy would carry no checks).
    pub fn resident(&self) -> Option<BitIndex> {
        if !self.codes.check_all() {
            return None;
        }
        Some(BitIndex {
            dim: self.dim,
            words: self.words,
            codes: Slab::copy_huge(&self.codes),
            rotation: self.rotation.clone(),
        })
    }

    pub fn dim(&self) -> usize {
        self.dim
    }

    pub fn len(&self) -> usize {
        self.codes.len() / self.words
    }

    pub fn is_empty(&self) -> bool {
        self.codes.is_empty()
    }

    pub fn codes(&self) -> &[u64] {
        &self.codes
    }

    pub fn code(&self, id: u32) -> &[u64] {
        let i = id as usize * self.words;
        &self.codes[i..i + self.words]
    }

    /// The quantized, rotated form of a unit query vector of `dim`.
    pub fn query(&self, query: &[f32]) -> bits::QueryPlanes {
        let mut buf = vec![0.0f32; self.rotation.len()];
        self.rotation.apply(query, &mut buf);
        bits::QueryPlanes::new(&buf)
    }

    /// The `k` best-estimated rows, best first, using every core. Scores
    /// are the kernel's integers (as `f32`, exact below 2^24).
    pub fn search(&self, q: &bits::QueryPlanes, k: usize, filter: Option<Filter>) -> Vec<Scored> {
        let rows = self.len();
        let chunk = rows
            .div_ceil(rayon::current_num_threads() * 4)
            .max(MIN_CHUNK_ROWS);
        let floor = SharedFloor::default();
        (0..rows.div_ceil(chunk))
            .into_par_iter()
            .map(|c| {
                let end = ((c + 1) * chunk).min(rows);
                self.scan(q, k, c * chunk, end, filter, Some(&floor))
            })
            .reduce(|| TopPool::new(k), TopPool::merge)
            .into_sorted()
    }

    /// As [`BitIndex::search`], on the calling thread only.
    pub fn search_serial(
        &self,
        q: &bits::QueryPlanes,
        k: usize,
        filter: Option<Filter>,
    ) -> Vec<Scored> {
        self.scan(q, k, 0, self.len(), filter, None).into_sorted()
    }

    fn scan(
        &self,
        q: &bits::QueryPlanes,
        k: usize,
        start: usize,
        end: usize,
        filter: Option<Filter>,
        shared: Option<&SharedFloor>,
    ) -> TopPool {
        assert_eq!(q.words(), self.words, "query planes for another dimension");
        let mut top = TopPool::new(k);
        let mut ints = [0i32; BLOCK_ROWS];
        let mut scores = [0.0f32; BLOCK_ROWS];
        let mut r = start;
        while r < end {
            let r1 = (r + BLOCK_ROWS).min(end);
            let n = r1 - r;
            // A bad block is latched for the engine to report; its scores
            // are skipped rather than ranked.
            if !self.codes.check(r * self.words, n * self.words) {
                r = r1;
                continue;
            }
            vector::bits_scores(
                &q.planes,
                &self.codes[r * self.words..r1 * self.words],
                &mut ints[..n],
            );
            for (s, &i) in scores.iter_mut().zip(&ints[..n]) {
                *s = i as f32;
            }
            let floor = shared.map_or(f32::NEG_INFINITY, SharedFloor::get);
            offer(&mut Floored(&mut top, floor), &scores[..n], r, filter);
            if let Some(shared) = shared {
                shared.raise(top.threshold());
            }
            r = r1;
        }
        top
    }
}

/// The highest threshold any parallel task's pool has reached. A pool's
/// threshold is the score of the k-th best row it holds, so k rows score at
/// least that much and no row below it can be in the answer: every task
/// may skip such rows, not only the task that found them. Without it each
/// of the 4 tasks per core fills its own pool of thousands from scratch
/// (a quarter of a flat search's time at 178k passages went to pools).
/// Rows equal to the floor are still offered: one may win its tie on id.
#[derive(Debug)]
struct SharedFloor(AtomicU32);

impl Default for SharedFloor {
    fn default() -> Self {
        SharedFloor(AtomicU32::new(order_key(f32::NEG_INFINITY)))
    }
}

impl SharedFloor {
    fn get(&self) -> f32 {
        from_order_key(self.0.load(Ordering::Relaxed))
    }

    fn raise(&self, t: f32) {
        if t > f32::NEG_INFINITY {
            self.0.fetch_max(order_key(t), Ordering::Relaxed);
        }
    }
}

/// Maps an `f32` (not NaN) to a `u32` with the same order.
fn order_key(x: f32) -> u32 {
    let b = x.to_bits();
    if b >> 31 == 1 {
        !b
    } else {
        b | 1 << 31
    }
}

fn from_order_key(k: u32) -> f32 {
    f32::from_bits(if k >> 31 == 1 { k & !(1 << 31) } else { !k })
}

/// A pool seen through a floor: it asks for no row below `floor`.
struct Floored<'a>(&'a mut TopPool, f32);

impl Collect for Floored<'_> {
    #[inline]
    fn threshold(&self) -> f32 {
        self.0.threshold().max(self.1)
    }

    #[inline]
    fn push(&mut self, id: u32, score: f32) {
        self.0.push(id, score)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_keys_keep_the_order_of_floats() {
        let xs = [
            f32::NEG_INFINITY,
            -1e9,
            -2.5,
            -0.0,
            0.0,
            1e-30,
            3.0,
            1e9,
            f32::INFINITY,
        ];
        for w in xs.windows(2) {
            assert!(order_key(w[0]) <= order_key(w[1]), "{w:?}");
        }
        for x in xs {
            assert_eq!(from_order_key(order_key(x)).to_bits(), x.to_bits());
        }
    }

    fn unit_rows(n: usize, dim: usize, seed: u64) -> Vec<f32> {
        let mut x = seed;
        let mut v: Vec<f32> = (0..n * dim)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x % 2001) as f32 / 1000.0 - 1.0
            })
            .collect();
        for row in v.chunks_mut(dim) {
            crate::vector::normalize(row);
        }
        v
    }

    #[test]
    fn parallel_serial_and_reference_agree() {
        let dim = 100;
        let n = 20_000;
        let data = unit_rows(n, dim, 5);
        let idx = BitIndex::new(dim, Slab::from_vec(BitIndex::encode_rows(dim, &data))).unwrap();
        assert_eq!(idx.len(), n);
        let q = idx.query(&data[..dim]);
        let par = idx.search(&q, 25, None);
        let ser = idx.search_serial(&q, 25, None);
        assert_eq!(par, ser);
        let mut all: Vec<Scored> = (0..n as u32)
            .map(|id| {
                let mut s = [0];
                bits::scores(&q.planes, idx.code(id), &mut s);
                Scored {
                    id,
                    score: s[0] as f32,
                }
            })
            .collect();
        all.sort_by(Scored::rank_cmp);
        assert_eq!(par, all[..25]);
        // A vector's own code is its best match.
        assert_eq!(par[0].id, 0);
    }

    #[test]
    fn filter_is_applied_and_shapes_checked() {
        let dim = 8;
        let data = unit_rows(50, dim, 9);
        let idx = BitIndex::new(dim, Slab::from_vec(BitIndex::encode_rows(dim, &data))).unwrap();
        let q = idx.query(&data[..dim]);
        let odd = |id: u32| id % 2 == 1;
        let r = idx.search(&q, 100, Some(&odd));
        assert_eq!(r.len(), 25);
        assert!(r.iter().all(|s| s.id % 2 == 1));
        assert!(BitIndex::new(dim, Slab::from_vec(vec![0u64; 3])).is_ok());
        assert!(BitIndex::new(128, Slab::from_vec(vec![0u64; 3])).is_err());
    }
}
