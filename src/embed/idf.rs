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
