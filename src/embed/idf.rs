//! Document frequencies by term hash, stored in the index so a query is
//! weighted exactly like the documents it is compared with.

use serde::{Deserialize, Serialize};

use super::TermCounts;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Idf {
    pub n_docs: u64,
    /// Sorted, unique term hashes.
    pub hashes: Vec<u64>,
    /// Passages containing each term, parallel to `hashes`.
    pub df: Vec<u32>,
}

impl Idf {
    /// Counts, for every term, the passages it occurs in.
    pub fn from_passages<'a>(passages: impl Iterator<Item = &'a TermCounts>) -> Self {
        let mut all: Vec<u64> = Vec::new();
        let mut n_docs = 0u64;
        for p in passages {
            n_docs += 1;
            all.extend(p.iter().map(|&(h, _)| h));
        }
        Self::from_hashes(all, n_docs)
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
        Idf { n_docs, hashes, df }
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
        self.hashes = hashes;
        self.df = df;
        self.n_docs = n_docs;
    }

    /// This table, plus every term of `live` it lacks, at `live`'s count.
    /// Known terms keep their weight; new terms become searchable.
    pub fn extended_with(&self, live: &Idf) -> Idf {
        let mut out = Idf {
            n_docs: self.n_docs,
            hashes: Vec::with_capacity(live.hashes.len().max(self.hashes.len())),
            df: Vec::new(),
        };
        let (mut a, mut b) = (0, 0);
        while a < self.hashes.len() || b < live.hashes.len() {
            if b == live.hashes.len() || (a < self.hashes.len() && self.hashes[a] <= live.hashes[b])
            {
                if b < live.hashes.len() && self.hashes[a] == live.hashes[b] {
                    b += 1;
                }
                out.hashes.push(self.hashes[a]);
                out.df.push(self.df[a]);
                a += 1;
            } else {
                out.hashes.push(live.hashes[b]);
                out.df.push(live.df[b]);
                b += 1;
            }
        }
        out
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
    pub fn validate(&self) -> Result<(), String> {
        if self.hashes.len() != self.df.len() {
            return Err("idf table columns differ in length".into());
        }
        if self.hashes.windows(2).any(|w| w[0] >= w[1]) {
            return Err("idf table is not sorted".into());
        }
        Ok(())
    }
}

fn rayon_sort(v: &mut [u64]) {
    use rayon::slice::ParallelSliceMut;
    v.par_sort_unstable();
}

#[cfg(test)]
mod tests {
    use super::*;
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
        let old = Idf {
            n_docs: 10,
            hashes: vec![1, 5],
            df: vec![3, 4],
        };
        let live = Idf {
            n_docs: 12,
            hashes: vec![1, 2, 5],
            df: vec![6, 1, 4],
        };
        let e = old.extended_with(&live);
        assert_eq!(
            e,
            Idf {
                n_docs: 10,
                hashes: vec![1, 2, 5],
                df: vec![3, 1, 4]
            }
        );
    }
}
