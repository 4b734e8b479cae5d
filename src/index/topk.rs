//! Bounded top-k selection with a total, deterministic order: higher score
//! first, then lower id, so ties never depend on thread scheduling.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scored {
    pub id: u32,
    pub score: f32,
}

impl Scored {
    /// `Less` means `self` ranks better than `other`.
    #[inline]
    pub fn rank_cmp(&self, other: &Scored) -> Ordering {
        other
            .score
            .total_cmp(&self.score)
            .then(self.id.cmp(&other.id))
    }
}

// Heap order: the worst kept item sits on top, ready to be evicted.
#[derive(Debug, Clone, Copy)]
struct Worst(Scored);

impl PartialEq for Worst {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Worst {}
impl PartialOrd for Worst {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Worst {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.rank_cmp(&other.0)
    }
}

#[derive(Debug, Clone)]
pub struct TopK {
    k: usize,
    heap: BinaryHeap<Worst>,
}

impl TopK {
    pub fn new(k: usize) -> Self {
        TopK {
            k,
            heap: BinaryHeap::with_capacity(k.min(1 << 16) + 1),
        }
    }

    /// The score an item must beat to enter, once the heap is full.
    #[inline]
    pub fn threshold(&self) -> f32 {
        if self.heap.len() < self.k {
            f32::NEG_INFINITY
        } else {
            self.heap.peek().map_or(f32::NEG_INFINITY, |w| w.0.score)
        }
    }

    #[inline]
    pub fn push(&mut self, id: u32, score: f32) {
        if self.k == 0 {
            return;
        }
        let item = Scored { id, score };
        if self.heap.len() < self.k {
            self.heap.push(Worst(item));
        } else if let Some(mut top) = self.heap.peek_mut() {
            if item.rank_cmp(&top.0) == Ordering::Less {
                *top = Worst(item);
            }
        }
    }

    pub fn merge(mut self, other: TopK) -> TopK {
        for w in other.heap {
            self.push(w.0.id, w.0.score);
        }
        self
    }

    /// Best first.
    pub fn into_sorted(self) -> Vec<Scored> {
        let mut v: Vec<Scored> = self.heap.into_iter().map(|w| w.0).collect();
        v.sort_by(Scored::rank_cmp);
        v
    }
}

/// What a scan pushes its scores into: a bounded best-first set with an
/// entry threshold.
pub trait Collect {
    /// The score an item must reach to be worth pushing.
    fn threshold(&self) -> f32;
    fn push(&mut self, id: u32, score: f32);
}

impl Collect for TopK {
    #[inline]
    fn threshold(&self) -> f32 {
        TopK::threshold(self)
    }
    #[inline]
    fn push(&mut self, id: u32, score: f32) {
        TopK::push(self, id, score)
    }
}

/// The same selection as [`TopK`] for large `k` (the thousands of
/// candidates a code scan hands to the exact re-score): items collect in a
/// buffer that is cut back to the best `k` by quickselect whenever it
/// doubles, so a push costs O(1) amortized instead of a heap sift, and
/// the threshold tightens at each cut.
#[derive(Debug, Clone)]
pub struct TopPool {
    k: usize,
    buf: Vec<Scored>,
    threshold: f32,
}

impl TopPool {
    pub fn new(k: usize) -> Self {
        TopPool {
            k,
            buf: Vec::with_capacity(2 * k.min(1 << 16) + 1),
            threshold: f32::NEG_INFINITY,
        }
    }

    fn cut(&mut self) {
        if self.buf.len() > self.k {
            if self.k == 0 {
                self.buf.clear();
                return;
            }
            self.buf
                .select_nth_unstable_by(self.k - 1, Scored::rank_cmp);
            self.buf.truncate(self.k);
            // The worst kept item bounds the rest; an equal score may still
            // win on id, so `>=` at the threshold stays a candidate.
            self.threshold = self.buf[self.k - 1].score;
        }
    }

    pub fn merge(mut self, other: TopPool) -> TopPool {
        for s in other.buf {
            self.push(s.id, s.score);
        }
        self
    }

    /// Best first.
    pub fn into_sorted(mut self) -> Vec<Scored> {
        self.cut();
        self.buf.sort_by(Scored::rank_cmp);
        self.buf
    }
}

impl Collect for TopPool {
    #[inline]
    fn threshold(&self) -> f32 {
        self.threshold
    }

    #[inline]
    fn push(&mut self, id: u32, score: f32) {
        if self.k == 0 || score < self.threshold {
            return;
        }
        self.buf.push(Scored { id, score });
        if self.buf.len() >= 2 * self.k.max(1) {
            self.cut();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn matches_a_full_sort(scores in prop::collection::vec(-1.0f32..1.0, 0..300), k in 0usize..40) {
            let mut t = TopK::new(k);
            for (i, &s) in scores.iter().enumerate() {
                t.push(i as u32, s);
            }
            let mut all: Vec<Scored> = scores.iter().enumerate().map(|(i, &s)| Scored { id: i as u32, score: s }).collect();
            all.sort_by(Scored::rank_cmp);
            all.truncate(k);
            prop_assert_eq!(t.into_sorted(), all);
        }
    }

    proptest! {
        #[test]
        fn pool_matches_topk(scores in prop::collection::vec(-20i32..20, 0..400), k in 0usize..50, split in 0usize..400) {
            // Integer-valued scores: many ties, as code scans have.
            let mut t = TopK::new(k);
            let (mut a, mut b) = (TopPool::new(k), TopPool::new(k));
            for (i, &s) in scores.iter().enumerate() {
                t.push(i as u32, s as f32);
                if i < split { a.push(i as u32, s as f32) } else { b.push(i as u32, s as f32) }
            }
            prop_assert_eq!(a.merge(b).into_sorted(), t.into_sorted());
        }
    }

    #[test]
    fn ties_break_by_id() {
        let mut t = TopK::new(2);
        for id in [5, 3, 9, 1] {
            t.push(id, 0.5);
        }
        let ids: Vec<u32> = t.into_sorted().iter().map(|s| s.id).collect();
        assert_eq!(ids, [1, 3]);
    }
}
