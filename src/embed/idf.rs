//! Document frequencies by term hash, stored in the index so a query is
//! weighted exactly like the documents it is compared with.

use std::collections::HashMap;
use std::hash::BuildHasherDefault;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::Terms;
use crate::error::Malformed;
use crate::vector::Slab;

/// Pseudo-passages of the shrinkage in [`Idf::language_relative`]: a
/// language with this many passages gets half its own idf and half the
/// plain one. Without it (0) a corpus of one passage per language ranks a
/// French passage that only translates the query above the English one
/// that says it; 10 keeps most of the gain on the sample's query set
/// (`eval search` nDCG@10 0.633, against 0.640 at 0, 0.629 at 20, 0.620 at
/// 100 and 0.599 for plain idf; BENCHMARKS.md).
const LANG_IDF_PRIOR: f64 = 10.0;

/// The columns are slabs, so an index opens its tables zero-copy from
/// the file (version 5 on) instead of decoding a million-term table on
/// every query.
#[derive(Debug, Clone, Default)]
pub struct Idf {
    pub n_docs: u64,
    /// Sorted, unique term hashes.
    pub hashes: Slab<u64>,
    /// Passages containing each term, parallel to `hashes`.
    pub df: Slab<u32>,
}

impl PartialEq for Idf {
    fn eq(&self, other: &Self) -> bool {
        self.n_docs == other.n_docs
            && self.hashes[..] == other.hashes[..]
            && self.df[..] == other.df[..]
    }
}

/// Document frequencies being counted: one per thread, merged at the end
/// ([`Idf::from_passages`], or a build reading its counts back a batch at
/// a time). Counted in maps, not by sorting every passage's hashes: on a
/// corpus of 88 million (passage, term) pairs that array alone was a
/// gigabyte of a build's peak memory; a map holds each distinct term once.
#[derive(Debug, Default)]
pub struct DfCount {
    counts: Counter,
    n_docs: u64,
}

impl DfCount {
    /// Counts one passage's terms (each once: a passage's terms are unique).
    pub fn add(&mut self, p: &Terms) {
        for &(h, _) in p.iter() {
            *self.counts.entry(h).or_insert(0) += 1;
        }
        self.n_docs += 1;
    }

    /// The two counts together; the order of merging does not matter.
    pub fn merge(a: DfCount, b: DfCount) -> DfCount {
        DfCount {
            counts: merge_maps(a.counts, b.counts, |x, y| *x += y),
            n_docs: a.n_docs + b.n_docs,
        }
    }

    /// The table, sorted by hash.
    pub fn finish(self) -> Idf {
        let mut pairs: Vec<(u64, u32)> = self.counts.into_iter().collect();
        pairs.par_sort_unstable_by_key(|p| p.0);
        let (hashes, df) = pairs.into_iter().unzip();
        Idf::from_columns(self.n_docs, hashes, df)
    }
}

/// [`DfCount`] and [`GroupMasks`] at once: each term's document frequency
/// and the language groups it occurs in, counted as the passages are
/// analyzed, so a build that spills its counts need not read them all back
/// to find which languages hold each term. Groups are numbered as the
/// caller likes (below 64); [`DfGroupCount::finish`] renumbers them.
#[derive(Debug, Default)]
pub struct DfGroupCount {
    entries: HashMap<u64, (u32, u64), BuildHasherDefault<HashIsKey>>,
    n_docs: u64,
}

impl DfGroupCount {
    /// One passage of group `group` (below 64) with terms `p` (unique).
    pub fn add(&mut self, p: &Terms, group: usize) {
        debug_assert!(group < 64, "group numbers are below 64");
        let bit = 1u64 << group.min(63);
        for &(h, _) in p.iter() {
            let e = self.entries.entry(h).or_insert((0, 0));
            e.0 += 1;
            e.1 |= bit;
        }
        self.n_docs += 1;
    }

    /// The two counts together; the order of merging does not matter.
    pub fn merge(a: DfGroupCount, b: DfGroupCount) -> DfGroupCount {
        DfGroupCount {
            entries: merge_maps(a.entries, b.entries, |x, y| {
                x.0 += y.0;
                x.1 |= y.1;
            }),
            n_docs: a.n_docs + b.n_docs,
        }
    }

    /// The table sorted by hash, and its masks with the groups renumbered:
    /// the caller's group `g` becomes `renumber[g]` (above 63 sharing the
    /// last bit, as [`GroupMasks::add`] does), with `per_group` passages in
    /// each renumbered group. Exactly what [`DfCount::finish`] and
    /// [`GroupMasks::add`] over every passage give.
    pub fn finish(self, renumber: &[usize], per_group: &[u64]) -> (Idf, GroupMasks) {
        let mut rows: Vec<(u64, u32, u64)> = self
            .entries
            .into_iter()
            .map(|(h, (c, m))| (h, c, m))
            .collect();
        rows.par_sort_unstable_by_key(|r| r.0);
        let mut hashes = Vec::with_capacity(rows.len());
        let mut df = Vec::with_capacity(rows.len());
        let mut masks = Vec::with_capacity(rows.len());
        for (h, c, m) in rows {
            hashes.push(h);
            df.push(c);
            let mut out = 0u64;
            let mut bits = m;
            while bits != 0 {
                let g = bits.trailing_zeros() as usize;
                bits &= bits - 1;
                out |= 1u64 << renumber.get(g).copied().unwrap_or(63).min(63);
            }
            masks.push(out);
        }
        let mut counts = [0u64; 64];
        let mut groups = 0;
        for (g, &n) in per_group.iter().enumerate() {
            counts[g.min(63)] += n;
            if n > 0 {
                groups = groups.max(g.min(63) + 1);
            }
        }
        let idf = Idf::from_columns(self.n_docs, hashes, df);
        let masks = GroupMasks {
            masks,
            per_group: counts,
            groups,
        };
        (idf, masks)
    }
}

/// Which language groups hold each term of an [`Idf`] (a bit per group,
/// groups beyond 64 sharing the last), and the passages of each group:
/// what [`Idf::relative_to`] needs. One per thread, merged at the end.
#[derive(Debug)]
pub struct GroupMasks {
    masks: Vec<u64>,
    per_group: [u64; 64],
    groups: usize,
}

impl GroupMasks {
    pub fn new(idf: &Idf) -> GroupMasks {
        GroupMasks {
            masks: vec![0u64; idf.hashes.len()],
            per_group: [0; 64],
            groups: 0,
        }
    }

    /// One passage of group `g` with terms `counts`.
    pub fn add(&mut self, idf: &Idf, g: usize, counts: &Terms) {
        let g = g.min(63);
        self.per_group[g] += 1;
        self.groups = self.groups.max(g + 1);
        let bit = 1u64 << g;
        let masks = &mut self.masks;
        super::for_each_position(counts, idf, |i| {
            if let Some(i) = i {
                masks[i] |= bit;
            }
        });
    }

    pub fn merge(mut a: GroupMasks, b: GroupMasks) -> GroupMasks {
        a.masks.iter_mut().zip(b.masks).for_each(|(x, y)| *x |= y);
        a.per_group
            .iter_mut()
            .zip(b.per_group)
            .for_each(|(x, y)| *x += y);
        a.groups = a.groups.max(b.groups);
        a
    }
}

/// How format versions before 5 encoded the table (one bincode section).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct IdfV4 {
    pub n_docs: u64,
    pub hashes: Vec<u64>,
    pub df: Vec<u32>,
}

impl From<IdfV4> for Idf {
    fn from(v: IdfV4) -> Idf {
        Idf::from_columns(v.n_docs, v.hashes, v.df)
    }
}

impl Idf {
    pub fn from_columns(n_docs: u64, hashes: Vec<u64>, df: Vec<u32>) -> Idf {
        Idf {
            n_docs,
            hashes: Slab::from_vec(hashes),
            df: Slab::from_vec(df),
        }
    }

    /// Counts, for every term, the passages it occurs in.
    pub fn from_passages<'a>(
        passages: impl rayon::iter::IntoParallelIterator<Item = &'a Terms>,
    ) -> Self {
        use rayon::prelude::*;
        passages
            .into_par_iter()
            .fold(DfCount::default, |mut d, p| {
                d.add(p);
                d
            })
            .reduce(DfCount::default, DfCount::merge)
            .finish()
    }

    /// `all` holds each passage's unique hashes, concatenated.
    pub fn from_hashes(mut all: Vec<u64>, n_docs: u64) -> Self {
        rayon_sort(&mut all);
        let mut hashes = Vec::new();
        let mut df: Vec<u32> = Vec::new();
        for h in all {
            if hashes.last() == Some(&h) {
                *df.last_mut().expect("parallel to hashes") += 1;
            } else {
                hashes.push(h);
                df.push(1);
            }
        }
        Idf::from_columns(n_docs, hashes, df)
    }

    /// Applies a change of corpus: each hash in `added` (one per passage
    /// that gained it) raises its count, each in `removed` lowers it; terms
    /// that reach zero leave the table. `n_docs` is the new passage count.
    pub fn apply_delta(&mut self, mut added: Vec<u64>, mut removed: Vec<u64>, n_docs: u64) {
        added.sort_unstable();
        removed.sort_unstable();
        let mut delta: Vec<(u64, i64)> = Vec::with_capacity(added.len() + removed.len());
        let mut push = |h: u64, d: i64| match delta.last_mut() {
            Some((last, n)) if *last == h => *n += d,
            _ => delta.push((h, d)),
        };
        let (mut i, mut j) = (0, 0);
        while i < added.len() || j < removed.len() {
            if j == removed.len() || (i < added.len() && added[i] <= removed[j]) {
                push(added[i], 1);
                i += 1;
            } else {
                push(removed[j], -1);
                j += 1;
            }
        }
        let mut hashes = Vec::with_capacity(self.hashes.len() + delta.len());
        let mut df = Vec::with_capacity(hashes.capacity());
        let (mut a, mut b) = (0, 0);
        while a < self.hashes.len() || b < delta.len() {
            let (h, n) =
                if b == delta.len() || (a < self.hashes.len() && self.hashes[a] < delta[b].0) {
                    a += 1;
                    (self.hashes[a - 1], self.df[a - 1] as i64)
                } else if a < self.hashes.len() && self.hashes[a] == delta[b].0 {
                    a += 1;
                    b += 1;
                    (self.hashes[a - 1], self.df[a - 1] as i64 + delta[b - 1].1)
                } else {
                    b += 1;
                    delta[b - 1]
                };
            if n > 0 {
                hashes.push(h);
                df.push(n.min(u32::MAX as i64) as u32);
            }
        }
        *self = Idf::from_columns(n_docs, hashes, df);
    }

    /// This table, plus every term of `live` it lacks, at `live`'s count.
    /// Known terms keep their weight; new terms become searchable.
    pub fn extended_with(&self, live: &Idf) -> Idf {
        let mut hashes = Vec::with_capacity(live.hashes.len().max(self.hashes.len()));
        let mut df = Vec::with_capacity(hashes.capacity());
        let (mut a, mut b) = (0, 0);
        while a < self.hashes.len() || b < live.hashes.len() {
            if b == live.hashes.len() || (a < self.hashes.len() && self.hashes[a] <= live.hashes[b])
            {
                if b < live.hashes.len() && self.hashes[a] == live.hashes[b] {
                    b += 1;
                }
                hashes.push(self.hashes[a]);
                df.push(self.df[a]);
                a += 1;
            } else {
                hashes.push(live.hashes[b]);
                df.push(live.df[b]);
                b += 1;
            }
        }
        Idf::from_columns(self.n_docs, hashes, df)
    }

    /// The table to weight with, from this one of raw counts: each term's
    /// count scaled so that its idf is relative to the passages of the
    /// languages it occurs in, ln(N_L / df) rather than ln(N / df)
    /// (shrunk toward the latter for small N_L).
    ///
    /// In a corpus of several languages, a word of one language is rare
    /// in the whole only because the other languages never write it: "de"
    /// or "の", in nearly every passage of their language, would keep a
    /// high idf and swell every norm, drowning the few terms (names, shared
    /// characters, lexicon translations) a passage shares with its
    /// translation. Terms every language has (numbers, Latin names, the
    /// lexicon's English pivots) keep their plain idf.
    ///
    /// `rows` are (language group, term counts) of every live passage;
    /// groups beyond 64 share one bit, which only errs toward plain idf.
    pub fn language_relative(&self, rows: &[(usize, &Terms)]) -> Idf {
        // One mask table per thread (a table is 8 bytes a term, so not one
        // per work item), OR-ed together.
        let per_thread = rows.len().div_ceil(rayon::current_num_threads()).max(1);
        let masks = rows
            .par_chunks(per_thread)
            .map(|chunk| {
                let mut m = GroupMasks::new(self);
                for (g, counts) in chunk {
                    m.add(self, *g, counts);
                }
                m
            })
            .reduce(|| GroupMasks::new(self), GroupMasks::merge);
        self.relative_to(&masks)
    }

    /// [`Idf::language_relative`] from the groups' masks, however they
    /// were gathered.
    pub fn relative_to(&self, masks: &GroupMasks) -> Idf {
        let per_group = &masks.per_group;
        let groups = masks.groups;
        let masks = &masks.masks;
        let n = self.n_docs.max(1) as f64;
        let df = self
            .df
            .iter()
            .zip(masks.iter())
            .map(|(&d, &m)| {
                let n_lang: u64 = (0..groups)
                    .filter(|g| m >> g & 1 == 1)
                    .map(|g| per_group[g])
                    .sum();
                if n_lang == 0 {
                    return d;
                }
                // A language of few passages tells stop words from content
                // words poorly: shrink toward plain idf, trusting the
                // language's own idf as n_L / (n_L + LANG_IDF_PRIOR).
                let w = n_lang as f64 / (n_lang as f64 + LANG_IDF_PRIOR);
                let plain = ((1.0 + n) / (1.0 + d as f64)).ln();
                let own = ((1.0 + n_lang as f64) / (1.0 + d as f64)).ln().max(0.0);
                let idf = w * own + (1.0 - w) * plain;
                // The df that `weight_for_df` turns into that idf.
                let scaled = ((1.0 + n) / idf.exp() - 1.0).round();
                scaled.clamp(d as f64, self.n_docs.max(1) as f64) as u32
            })
            .collect();
        Idf {
            n_docs: self.n_docs,
            hashes: self.hashes.clone(),
            df: Slab::from_vec(df),
        }
    }

    pub fn df(&self, hash: u64) -> u32 {
        self.hashes.binary_search(&hash).map_or(0, |i| self.df[i])
    }

    /// Smoothed idf, ln((1 + N) / (1 + df)) + 1: positive for every term, so
    /// a term in every passage still counts a little.
    pub fn weight_for_df(&self, df: u32) -> f32 {
        (((1 + self.n_docs) as f64 / (1 + df as u64) as f64).ln() + 1.0) as f32
    }

    pub fn terms(&self) -> usize {
        self.hashes.len()
    }

    /// Checks the invariants a corrupt or hostile file could break.
    pub fn validate(&self) -> Result<(), Malformed> {
        if self.hashes.len() != self.df.len() {
            return Err("idf table columns differ in length".into());
        }
        if self.hashes.windows(2).any(|w| w[0] >= w[1]) {
            return Err("idf table is not sorted".into());
        }
        Ok(())
    }
}

/// The entries of two maps keyed by term hash in one, `add` combining the
/// values of a key both hold: the smaller map goes into the larger.
fn merge_maps<V: Default>(
    a: HashMap<u64, V, BuildHasherDefault<HashIsKey>>,
    b: HashMap<u64, V, BuildHasherDefault<HashIsKey>>,
    add: impl Fn(&mut V, V),
) -> HashMap<u64, V, BuildHasherDefault<HashIsKey>> {
    let (mut big, small) = if a.len() >= b.len() { (a, b) } else { (b, a) };
    for (h, v) in small {
        add(big.entry(h).or_default(), v);
    }
    big
}

/// Document frequencies by term hash while they are counted. The keys are
/// XXH3 hashes already, so the map uses them as they are; its order is
/// never seen (the table is sorted by hash).
type Counter = HashMap<u64, u32, BuildHasherDefault<HashIsKey>>;

/// A `Hasher` for keys that are already uniform 64-bit hashes.
#[derive(Default)]
struct HashIsKey(u64);

impl std::hash::Hasher for HashIsKey {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        // Only u64 keys are hashed; fold anything else in for completeness.
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ b as u64;
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

fn rayon_sort(v: &mut [u64]) {
    use rayon::slice::ParallelSliceMut;
    v.par_sort_unstable();
}

#[cfg(test)]
mod tests {
    /// A fixed-seed generator of test hashes.
    fn numbers(mut s: u64) -> impl FnMut() -> u64 {
        move || {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            s ^ (s >> 29)
        }
    }

    /// The masks found through the thread's idf hint (built after a few
    /// hundred passages) are the masks a binary search per term gives,
    /// with terms absent from the table among them.
    #[test]
    fn group_masks_match_a_binary_search_per_term() {
        let mut next = numbers(0x1234_5678);
        let mut hashes: Vec<u64> = (0..5000).map(|_| next()).collect();
        hashes.sort_unstable();
        hashes.dedup();
        let idf = Idf::from_columns(1000, hashes.clone(), vec![1; hashes.len()]);
        let mut masks = GroupMasks::new(&idf);
        let mut want = vec![0u64; hashes.len()];
        for p in 0..1000usize {
            let g = p % 5;
            let mut row: Vec<(u64, f32)> = (0..12)
                .map(|k| {
                    let h = if k % 3 == 0 {
                        next()
                    } else {
                        hashes[(next() % hashes.len() as u64) as usize]
                    };
                    (h, 1.0)
                })
                .collect();
            row.sort_by_key(|t| t.0);
            row.dedup_by_key(|t| t.0);
            for (h, _) in &row {
                if let Ok(i) = hashes.binary_search(h) {
                    want[i] |= 1 << g;
                }
            }
            masks.add(&idf, g, &row);
        }
        assert_eq!(masks.masks, want);
        assert!(want.iter().any(|&m| m.count_ones() > 1));
    }

    /// Counting frequencies and groups together, under other group
    /// numbers merged in any order, gives the table and the masks the two
    /// passes give.
    #[test]
    fn df_and_groups_counted_together_match_the_two_passes() {
        let mut next = numbers(0x9e37_79b9);
        let vocab: Vec<u64> = (0..700).map(|_| next()).collect();
        let rows: Vec<(usize, TermCounts)> = (0..900)
            .map(|_| {
                let g = (next() % 7) as usize;
                let mut r: TermCounts = (0..1 + next() % 20)
                    .map(|_| (vocab[(next() % 700) as usize], 1.0))
                    .collect();
                r.sort_by_key(|t| t.0);
                r.dedup_by_key(|t| t.0);
                (g, r)
            })
            .collect();
        // The two passes, groups numbered 0..7.
        let mut d = DfCount::default();
        rows.iter().for_each(|(_, r)| d.add(r));
        let live = d.finish();
        let mut masks = GroupMasks::new(&live);
        rows.iter().for_each(|(g, r)| masks.add(&live, *g, r));
        // Together, in three parts merged out of order, groups numbered
        // backwards (6 - g) and renumbered by the finish.
        let mut parts: Vec<DfGroupCount> = (0..3).map(|_| DfGroupCount::default()).collect();
        for (i, (g, r)) in rows.iter().enumerate() {
            parts[i % 3].add(r, 6 - g);
        }
        let c = parts.pop().unwrap();
        let merged = DfGroupCount::merge(
            c,
            DfGroupCount::merge(parts.pop().unwrap(), parts.pop().unwrap()),
        );
        let renumber: Vec<usize> = (0..7).map(|g| 6 - g).collect();
        let (got, got_masks) = merged.finish(&renumber, &masks.per_group[..7]);
        assert_eq!(got, live);
        assert_eq!(got_masks.masks, masks.masks);
        assert_eq!(got_masks.per_group, masks.per_group);
        assert_eq!(got_masks.groups, masks.groups);
        assert_eq!(live.relative_to(&got_masks), live.relative_to(&masks));
    }

    #[test]
    fn idf_is_relative_to_the_languages_a_term_occurs_in() {
        // 60 French passages all saying "de", 60 English ones; "vector" in
        // 30 of each, "rare" in one French passage.
        let (de, vector, rare, other) = (1u64, 2u64, 3u64, 4u64);
        let mut rows: Vec<(usize, TermCounts)> = Vec::new();
        for i in 0..120 {
            let fr = i < 60;
            let mut c = vec![(other, 1.0)];
            if fr {
                c.push((de, 1.0));
            }
            if i % 2 == 0 {
                c.push((vector, 1.0));
            }
            if i == 0 {
                c.push((rare, 1.0));
            }
            c.sort_by_key(|t| t.0);
            rows.push((usize::from(!fr), c));
        }
        let raw = Idf::from_passages(rows.iter().map(|r| r.1.as_slice()).collect::<Vec<_>>());
        let refs: Vec<(usize, &Terms)> = rows.iter().map(|(g, c)| (*g, c.as_slice())).collect();
        let rel = raw.language_relative(&refs);
        let w = |t: &Idf, h| t.weight_for_df(t.df(h));
        // In every French passage: a stop word of French, whatever the
        // English passages do.
        assert!(w(&raw, de) > 1.6, "plain idf sees a rare word");
        assert!(w(&rel, de) < 1.2, "{}", w(&rel, de));
        // Shared by both languages: unchanged.
        assert_eq!(rel.df(vector), raw.df(vector));
        assert_eq!(rel.df(other), raw.df(other));
        // Rare within its language: still among the heaviest terms.
        assert!(w(&rel, rare) > w(&rel, vector));
        assert!(w(&rel, rare) <= w(&raw, rare));
    }

    #[test]
    fn a_language_of_few_passages_keeps_nearly_plain_idf() {
        // One French passage among 20 English ones.
        let mut rows: Vec<(usize, TermCounts)> = vec![(0, vec![(1, 1.0)])];
        rows.extend((0..20).map(|i| (1, vec![(100 + i, 1.0)])));
        let raw = Idf::from_passages(rows.iter().map(|r| r.1.as_slice()).collect::<Vec<_>>());
        let refs: Vec<(usize, &Terms)> = rows.iter().map(|(g, c)| (*g, c.as_slice())).collect();
        let rel = raw.language_relative(&refs);
        let (p, r) = (raw.weight_for_df(raw.df(1)), rel.weight_for_df(rel.df(1)));
        assert!(r <= p && r > 1.0 + 0.8 * (p - 1.0), "{r} vs {p}");
    }

    use super::*;
    use crate::embed::TermCounts;
    use proptest::prelude::*;

    proptest! {
        /// Adding and removing passages incrementally gives the same table as
        /// counting the final corpus from scratch.
        #[test]
        fn delta_equals_recount(
            before in prop::collection::vec(prop::collection::btree_set(0u64..40, 0..8), 0..20),
            added in prop::collection::vec(prop::collection::btree_set(0u64..40, 0..8), 0..10),
            drop_mask in prop::collection::vec(any::<bool>(), 20),
        ) {
            let flat = |ps: &[&std::collections::BTreeSet<u64>]| ps.iter().flat_map(|p| p.iter().copied()).collect::<Vec<_>>();
            let old: Vec<_> = before.iter().collect();
            let mut t = Idf::from_hashes(flat(&old), old.len() as u64);
            let kept: Vec<_> = before.iter().zip(&drop_mask).filter(|(_, d)| !**d).map(|(p, _)| p).collect();
            let dropped: Vec<_> = before.iter().zip(&drop_mask).filter(|(_, d)| **d).map(|(p, _)| p).collect();
            let new: Vec<_> = added.iter().collect();
            t.apply_delta(flat(&new), flat(&dropped), (kept.len() + new.len()) as u64);
            let all: Vec<_> = kept.into_iter().chain(new).collect();
            prop_assert_eq!(t, Idf::from_hashes(flat(&all), all.len() as u64));
        }
    }

    #[test]
    fn extension_keeps_known_weights_and_adds_new_terms() {
        let old = Idf::from_columns(10, vec![1, 5], vec![3, 4]);
        let live = Idf::from_columns(12, vec![1, 2, 5], vec![6, 1, 4]);
        let e = old.extended_with(&live);
        assert_eq!(e, Idf::from_columns(10, vec![1, 2, 5], vec![3, 1, 4]));
    }
}
