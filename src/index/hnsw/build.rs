//! Construction: parallel, deterministic batch insertion into a mutable
//! `Graph`, frozen into an [`Hnsw`] when done.

use rayon::prelude::*;

use super::codes::Coded;
use super::layer::{Dense, Layer, Sparse};
use super::search::{greedy, search_layer, Cand, Scorer, Searcher};
use super::{Hnsw, HnswParams, Rows, SplitMix64, EXPANDED, MAX_LEVEL};
use crate::vector::{self, Slab};

/// What a graph is built over: `len()` nodes and a symmetric similarity
/// between any two (higher = nearer). The f32 rows score exact inner
/// products; 1-bit codes their Hamming agreement (`codes.rs`).
pub(super) trait Space: Sync {
    /// Scores nodes against one node, for the walks that find its links.
    type Scorer<'s>: Scorer
    where
        Self: 's;
    fn len(&self) -> usize;
    /// A scorer of every node against node `id`.
    fn scorer_of(&self, id: u32) -> Self::Scorer<'_>;
    /// The similarity of nodes `a` and `b`, what `scorer_of(a)` gives `b`.
    fn similarity(&self, a: u32, b: u32) -> f32;
    /// `out[i] = similarity(a, bs[i])`, each exactly that.
    fn similarities(&self, a: u32, bs: &[u32], out: &mut [f32]) {
        for (o, &b) in out.iter_mut().zip(bs) {
            *o = self.similarity(a, b);
        }
    }
    /// Replaces the walk's scores of `cands` against node `q` by the
    /// exact similarities, for spaces whose walks score approximately.
    fn rescore(&self, _q: u32, _cands: &mut [Cand]) {}
    /// The selection heuristic's test: no node of `kept` is more similar
    /// to `c` than `score`, by [`similarity`](Space::similarity)`(c, kept)`.
    fn none_closer(&self, c: u32, score: f32, kept: &[u32]) -> bool {
        kept.iter().all(|&k| self.similarity(c, k) <= score)
    }
}

/// An insert walks on SQ8 codes only when it adds at least 1/this of the
/// rows. Encoding reads every row once; a walk at `ef_construction` 200
/// scores a few thousand rows per inserted node, and codes save three
/// quarters of those reads, so below about n / 3000 new rows the encoding
/// costs more than it saves.
pub(super) const CODED_INSERT_SHARE: usize = 2048;

/// A batch is at most this fraction (1/BATCH_DIV) of the nodes already in the
/// graph, so a new node misses few links to its batch siblings.
const BATCH_DIV: usize = 64;
/// Batch members are linked to each other by brute force; this caps that cost.
const MAX_BATCH: usize = 256;

/// A node's level depends only on (seed, id), not on insertion order, so
/// batched, sequential and incremental builds agree on it.
fn level_of(seed: u64, id: u32, m: usize) -> usize {
    let mut rng = SplitMix64(seed ^ (id as u64).wrapping_mul(0xD1B5_4A32_D192_ED03));
    let ml = 1.0 / (m as f64).ln();
    let level = (-rng.next_f64().ln() * ml).floor();
    (level as usize).min(MAX_LEVEL)
}

/// The paper's Algorithm 4 (without extending or keeping pruned links):
/// walking `cands` best first, keep one only if it is closer to the base than
/// to every neighbour kept so far, which spreads links across directions.
/// `cands` must be sorted best first and hold scores against the base.
fn select_neighbours<S: Space>(space: &S, cands: &[Cand], cap: usize, out: &mut Vec<u32>) {
    out.clear();
    if cands.len() <= cap {
        out.extend(cands.iter().map(|c| c.id));
        return;
    }
    for c in cands {
        if out.len() >= cap {
            break;
        }
        if space.none_closer(c.id, c.score, out) {
            out.push(c.id);
        }
    }
}

/// Sorts best first. Exact ties (duplicate vectors) are broken by a hash of
/// (base, id) rather than by id: with the id, every duplicate would keep the
/// same lowest-id copies and the rest would become unreachable.
///
/// The hash is a bijection of distinct ids, so the order is total and the
/// result unique whichever sort makes it. The stable sort is the one that
/// finds the runs already sorted (a walk's beam, best first) and merges
/// them with the rest instead of sorting everything again.
fn sort_best_first(cands: &mut [Cand], base: u32) {
    let tie = |id: u32| SplitMix64(((base as u64) << 32) | id as u64).next_u64();
    cands.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then_with(|| tie(a.id).cmp(&tie(b.id)))
    });
}

/// Mutable graph used while inserting; turned into slabs when done.
///
/// Invariant: every id written into a record is below `n` (records only
/// receive ids of nodes found by search or in the current batch, and `grow`
/// raises `n` before any of them is inserted).
pub(super) struct Graph {
    n: usize,
    m: usize,
    seed: u64,
    /// Level drawn for every node, inserted or not.
    levels: Vec<u8>,
    layer0: Vec<u32>,
    /// `upper[l - 1]`: sorted ids of the nodes drawn for level `l` and their
    /// records. Nodes not yet inserted have empty records and are unreachable.
    upper: Vec<UpperLayer>,
    /// `None` until the first node is inserted.
    entry: Option<u32>,
    /// Nodes linked into the graph so far (`<= n`).
    inserted: usize,
    max_level: usize,
}

#[derive(Default)]
struct UpperLayer {
    ids: Vec<u32>,
    links: Vec<u32>,
}

/// Links chosen for one new node: `per_level[l]` for levels `0..=level`.
type NewLinks = Vec<Vec<u32>>;

/// Searchers kept for the whole build. Rayon calls a parallel loop's init
/// once per piece of work it splits off, several times per batch; a fresh
/// [`Searcher`] allocates and zeroes its visited marks (one bit per node)
/// each time, which at hundreds of batches cost more than the walks' own
/// marking. What a walk finds does not depend on which searcher runs it.
#[derive(Default)]
struct Searchers(std::sync::Mutex<Vec<Searcher>>);

impl Searchers {
    fn take(&self) -> Lent<'_> {
        let s = self.0.lock().ok().and_then(|mut v| v.pop());
        Lent {
            home: self,
            s: s.unwrap_or_default(),
        }
    }
}

/// A searcher borrowed from [`Searchers`], returned when dropped.
struct Lent<'a> {
    home: &'a Searchers,
    s: Searcher,
}

impl std::ops::Deref for Lent<'_> {
    type Target = Searcher;
    fn deref(&self) -> &Searcher {
        &self.s
    }
}

impl std::ops::DerefMut for Lent<'_> {
    fn deref_mut(&mut self) -> &mut Searcher {
        &mut self.s
    }
}

impl Drop for Lent<'_> {
    fn drop(&mut self) {
        if let Ok(mut v) = self.home.0.lock() {
            v.push(std::mem::take(&mut self.s));
        }
    }
}

impl Graph {
    pub(super) fn new(m: usize, seed: u64) -> Graph {
        Graph {
            n: 0,
            m,
            seed,
            levels: Vec::new(),
            layer0: Vec::new(),
            upper: Vec::new(),
            entry: None,
            max_level: 0,
            inserted: 0,
        }
    }

    fn from_hnsw(h: &Hnsw) -> Graph {
        // The builder reads records unchecked: a graph opened lazily is
        // validated whole first (the engine extends only graphs it opened
        // with every check, so this does not fail there).
        if h.lazy_layer0 {
            super::layout::check_layer0(&h.layer0, h.m, h.n)
                .expect("hnsw: extending a graph whose links are corrupt");
        }
        let stride = 1 + h.m;
        let mut g = Graph::new(h.m, h.seed);
        g.n = h.n;
        g.inserted = h.n;
        g.layer0 = h.layer0.to_vec();
        g.levels = vec![0; h.n];
        for level in 1..=h.max_level {
            let (a, b) = (
                h.upper_offsets[level - 1] as usize,
                h.upper_offsets[level] as usize,
            );
            let ids = h.upper_ids[a..b].to_vec();
            for &id in &ids {
                g.levels[id as usize] = level as u8;
            }
            let links = h.upper_links[a * stride..b * stride].to_vec();
            g.upper.push(UpperLayer { ids, links });
        }
        g.entry = (h.n > 0).then_some(h.entry);
        g.max_level = h.max_level;
        g
    }

    /// Draws levels and reserves empty records for nodes up to `n`.
    pub(super) fn grow(&mut self, n: usize) {
        assert!(n < EXPANDED as usize, "hnsw: at most 2^31 - 1 nodes");
        if self.layer0.is_empty() {
            // Untouched zero pages, so the huge-page hint takes effect.
            self.layer0 = vec![0; n * (1 + 2 * self.m)];
            vector::advise_huge(&self.layer0);
        } else {
            self.layer0.resize(n * (1 + 2 * self.m), 0);
        }
        for id in self.n..n {
            let level = level_of(self.seed, id as u32, self.m);
            self.levels.push(level as u8);
            while self.upper.len() < level {
                self.upper.push(UpperLayer::default());
            }
            for layer in &mut self.upper[..level] {
                layer.ids.push(id as u32);
                layer.links.resize(layer.links.len() + 1 + self.m, 0);
            }
        }
        self.n = n;
    }

    fn dense(&self) -> Dense<'_> {
        // SAFETY: every id in `layer0` is below `n` (the type's invariant).
        unsafe { Dense::new(&self.layer0, 1 + 2 * self.m, self.n) }
    }

    fn sparse(&self, level: usize) -> Sparse<'_> {
        let layer = &self.upper[level - 1];
        // SAFETY: every id in `layer.links` is below `n` (the type's invariant).
        unsafe { Sparse::new(&layer.ids, &layer.links, 1 + self.m, self.n) }
    }

    fn links(&self, level: usize, id: u32) -> &[u32] {
        if level == 0 {
            self.dense().links(id)
        } else {
            self.sparse(level).links(id)
        }
    }

    /// Writes `ids` (all below `n`) as the links of `id` on `level`.
    fn set_links(&mut self, level: usize, id: u32, ids: &[u32]) {
        debug_assert!(ids.iter().all(|&x| (x as usize) < self.n));
        let rec = if level == 0 {
            let stride = 1 + 2 * self.m;
            &mut self.layer0[id as usize * stride..(id as usize + 1) * stride]
        } else {
            let stride = 1 + self.m;
            let layer = &mut self.upper[level - 1];
            let s = layer.ids.binary_search(&id).expect("node drawn for level");
            &mut layer.links[s * stride..(s + 1) * stride]
        };
        rec[0] = ids.len() as u32;
        rec[1..1 + ids.len()].copy_from_slice(ids);
        rec[1 + ids.len()..].fill(0);
    }

    fn cap(&self, level: usize) -> usize {
        if level == 0 {
            2 * self.m
        } else {
            self.m
        }
    }

    /// Greedy descent from the entry point to `level + 1`: the seed of the
    /// beam searches on the levels a new node with `level` links into.
    fn descend<Q: Scorer>(&self, scorer: &Q, level: usize, s: &mut Searcher) {
        s.seeds.clear();
        if let Some(entry) = self.entry {
            let mut cur = entry;
            let mut cur_score = scorer.score(cur);
            for l in (level + 1..=self.max_level).rev() {
                (cur, cur_score) = greedy(&self.sparse(l), scorer, cur, cur_score);
            }
            s.seeds.push(Cand {
                score: cur_score,
                id: cur,
            });
        }
    }

    /// Beam search on level `l` from `s.seeds`; the results become the next
    /// level's seeds and this level's candidates.
    fn search_level<Q: Scorer>(&self, scorer: &Q, l: usize, ef: usize, s: &mut Searcher) {
        s.begin(self.n);
        s.pool.reset(ef);
        for i in 0..s.seeds.len() {
            let c = s.seeds[i];
            s.visit(c.id);
            s.pool.insert(c.id, c.score);
        }
        if l == 0 {
            search_layer(&self.dense(), scorer, s, None, false);
        } else {
            search_layer(&self.sparse(l), scorer, s, None, false);
        }
        s.seeds.clear();
        s.seeds.extend(s.pool.items.iter().map(|c| Cand {
            score: c.score,
            id: c.id & !EXPANDED,
        }));
        s.cands.extend_from_slice(&s.seeds);
    }

    /// Finds the links of new node `q` against the frozen graph plus the
    /// earlier members of its batch (by brute force, since they are not in
    /// the graph yet) — what sequential insertion would have seen.
    fn find_links<S: Space>(
        &self,
        space: &S,
        q: u32,
        earlier: &[u32],
        ef: usize,
        s: &mut Searcher,
    ) -> NewLinks {
        let scorer = space.scorer_of(q);
        let level = self.levels[q as usize] as usize;
        let mut out: NewLinks = vec![Vec::new(); level + 1];

        self.descend(&scorer, level, s);
        for l in (0..=level).rev() {
            s.cands.clear();
            if self.entry.is_some() && l <= self.max_level {
                self.search_level(&scorer, l, ef, s);
            }
            for &j in earlier {
                if self.levels[j as usize] as usize >= l {
                    s.cands.push(Cand {
                        score: scorer.score(j),
                        id: j,
                    });
                }
            }
            space.rescore(q, &mut s.cands);
            sort_best_first(&mut s.cands, q);
            select_neighbours(space, &s.cands, self.m, &mut out[l]);
        }
        out
    }

    /// New list for `target` on `level` after adding `sources`, pruned with
    /// the heuristic if it overflows.
    fn merged_links<S: Space>(
        &self,
        space: &S,
        level: usize,
        target: u32,
        sources: impl Iterator<Item = u32>,
    ) -> Vec<u32> {
        let mut ids = self.links(level, target).to_vec();
        for src in sources {
            if src != target && !ids.contains(&src) {
                ids.push(src);
            }
        }
        let cap = self.cap(level);
        if ids.len() <= cap {
            return ids;
        }
        let mut scores = vec![0f32; ids.len()];
        space.similarities(target, &ids, &mut scores);
        let mut cands: Vec<Cand> = ids
            .iter()
            .zip(scores)
            .map(|(&id, score)| Cand { score, id })
            .collect();
        sort_best_first(&mut cands, target);
        let mut out = Vec::with_capacity(cap);
        select_neighbours(space, &cands, cap, &mut out);
        out
    }

    fn apply<S: Space>(&mut self, space: &S, batch: &[u32], found: Vec<NewLinks>) {
        let mut edges: Vec<(u8, u32, u32)> = Vec::new();
        for (&q, per_level) in batch.iter().zip(&found) {
            for (l, ids) in per_level.iter().enumerate() {
                self.set_links(l, q, ids);
                edges.extend(ids.iter().map(|&t| (l as u8, t, q)));
            }
        }
        // Group back-links by (level, target); each group is independent, so
        // they are merged in parallel and written back in a fixed order.
        edges.sort_unstable();
        let mut groups = Vec::new();
        let mut i = 0;
        while i < edges.len() {
            let key = (edges[i].0, edges[i].1);
            let mut j = i + 1;
            while j < edges.len() && (edges[j].0, edges[j].1) == key {
                j += 1;
            }
            groups.push(i..j);
            i = j;
        }
        let this = &*self;
        let updates: Vec<Vec<u32>> = groups
            .par_iter()
            .map(|r| {
                let (l, t, _) = edges[r.start];
                this.merged_links(space, l as usize, t, edges[r.clone()].iter().map(|e| e.2))
            })
            .collect();
        for (r, ids) in groups.iter().zip(&updates) {
            let (l, t, _) = edges[r.start];
            self.set_links(l as usize, t, ids);
        }
        for &q in batch {
            let level = self.levels[q as usize] as usize;
            if self.entry.is_none() || level > self.max_level {
                self.entry = Some(q);
                self.max_level = level;
            }
        }
    }

    /// Inserts the nodes of `seq`, in that order, in batches.
    ///
    /// # Panics
    /// If `space` does not hold the graph's `n` nodes.
    pub(super) fn insert_range<S: Space>(
        &mut self,
        space: &S,
        seq: &[u32],
        ef: usize,
        progress: &(dyn Fn(usize) + Sync),
    ) {
        assert_eq!(space.len(), self.n, "hnsw: vector arena size");
        let mut next = 0;
        let before = self.inserted;
        let searchers = Searchers::default();
        while next < seq.len() {
            let size = ((before + next) / BATCH_DIV)
                .clamp(1, MAX_BATCH)
                .min(seq.len() - next);
            let batch = &seq[next..next + size];
            let this = &*self;
            let found: Vec<NewLinks> = (0..size)
                .into_par_iter()
                .map_init(
                    || searchers.take(),
                    |s, i| this.find_links(space, batch[i], &batch[..i], ef, s),
                )
                .collect();
            self.apply(space, batch, found);
            next += size;
            progress(before + next);
        }
        self.inserted += seq.len();
    }

    pub(super) fn finish(self) -> Hnsw {
        let max_level = if self.entry.is_some() {
            self.max_level
        } else {
            0
        };
        let mut offsets = vec![0u32];
        let mut ids = Vec::new();
        let mut links = Vec::new();
        for layer in &self.upper[..max_level] {
            ids.extend_from_slice(&layer.ids);
            links.extend_from_slice(&layer.links);
            offsets.push(ids.len() as u32);
        }
        Hnsw {
            n: self.n,
            m: self.m,
            max_level,
            entry: self.entry.unwrap_or(u32::MAX),
            seed: self.seed,
            layer0: Slab::copy_huge(&self.layer0),
            upper_offsets: Slab::from_vec(offsets),
            upper_ids: Slab::from_vec(ids),
            upper_links: Slab::from_vec(links),
            lazy_layer0: false,
        }
    }
}

impl Hnsw {
    /// Builds a graph over `rows`, calling `progress` with the number of
    /// nodes inserted so far after each batch. Uses the current rayon pool;
    /// the result does not depend on its size. The walks run on SQ8 codes
    /// of `rows` and the links are chosen on exact scores (see the module
    /// docs).
    ///
    /// # Panics
    /// If `m < 2` or there are 2^31 or more rows.
    pub fn build(rows: Rows<'_>, params: &HnswParams, progress: &(dyn Fn(usize) + Sync)) -> Hnsw {
        Hnsw::build_in(&Coded::new(rows), params, progress)
    }

    /// [`Hnsw::build`] over any [`Space`].
    pub(super) fn build_in<S: Space>(
        space: &S,
        params: &HnswParams,
        progress: &(dyn Fn(usize) + Sync),
    ) -> Hnsw {
        assert!(params.m >= 2, "hnsw: m must be at least 2");
        let n = space.len();
        let mut g = Graph::new(params.m, params.seed);
        g.grow(n);
        let seq: Vec<u32> = (0..n as u32).collect();
        g.insert_range(space, &seq, params.ef_construction.max(1), progress);
        g.finish()
    }

    /// Adds rows `len()..` of `rows` (which must start with the rows the
    /// graph was built on) to the graph. A large insert walks on SQ8 codes,
    /// as [`Hnsw::build`] does; a small one walks on the f32 rows, since
    /// encoding every row (O(n·dim), the codes are trained on all of them)
    /// would cost more than its walks save (see [`CODED_INSERT_SHARE`]).
    /// Which one runs depends only on the two counts, so the graph is still
    /// the same for any thread count.
    pub fn insert(
        &mut self,
        rows: Rows<'_>,
        ef_construction: usize,
        progress: &(dyn Fn(usize) + Sync),
    ) {
        let new = rows.len().saturating_sub(self.n);
        if new.saturating_mul(CODED_INSERT_SHARE) >= rows.len() {
            self.insert_in(&Coded::new(rows), ef_construction, progress)
        } else {
            self.insert_in(&rows, ef_construction, progress)
        }
    }

    /// [`Hnsw::insert`] over any [`Space`].
    pub(super) fn insert_in<S: Space>(
        &mut self,
        space: &S,
        ef_construction: usize,
        progress: &(dyn Fn(usize) + Sync),
    ) {
        let n = space.len();
        assert!(n >= self.n, "hnsw: insert cannot remove vectors");
        let mut g = Graph::from_hnsw(self);
        let old = g.n;
        g.grow(n);
        let seq: Vec<u32> = (old as u32..n as u32).collect();
        g.insert_range(space, &seq, ef_construction.max(1), progress);
        *self = g.finish();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_are_geometric_and_deterministic() {
        let levels: Vec<usize> = (0..100_000).map(|i| level_of(7, i, 16)).collect();
        let above = levels.iter().filter(|&&l| l >= 1).count() as f64 / 1e5;
        assert!((above - 1.0 / 16.0).abs() < 0.01, "{above}");
        assert_eq!(levels[123], level_of(7, 123, 16));
    }

    /// A small insert (under 1/CODED_INSERT_SHARE of the rows) walks on
    /// the f32 rows: the new nodes are linked and found, and the graph is
    /// the same for any thread count.
    #[test]
    fn small_insert_links_new_nodes_on_any_thread_count() {
        use crate::index::hnsw::{HnswParams, Rows, Searcher};
        let (n, old, dim) = (4_100, 4_098, 24);
        assert!((n - old) * CODED_INSERT_SHARE < n);
        let v = crate::index::testing::clustered(n, dim, 12, 0.1, 21);
        let params = HnswParams::default();
        let grow = |threads| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| {
                let mut g = Hnsw::build(Rows::new(&v[..old * dim], dim), &params, &|_| {});
                g.insert(Rows::new(&v, dim), params.ef_construction, &|_| {});
                g
            })
        };
        let (a, b) = (grow(1), grow(2));
        assert_eq!(a.len(), n);
        assert_eq!(
            a.to_parts().layer0.as_slice(),
            b.to_parts().layer0.as_slice()
        );
        let rows = Rows::new(&v, dim);
        let mut s = Searcher::new();
        for id in old as u32..n as u32 {
            assert_eq!(a.search(rows, rows.row(id), 1, 32, &mut s)[0].0, id);
        }
    }
}
