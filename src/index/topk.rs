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
