//! Read-only views of one layer's link records, shared by search and
//! construction.

/// Read access to one layer's link records.
///
/// # Safety
/// Every id that [`links`](Layer::links) returns must be below
/// [`bound`](Layer::bound): the beam search reads the rows and visited marks
/// of those ids without bounds checks, after checking once that both cover
/// `bound` ids.
pub(super) unsafe trait Layer<'a> {
    /// Every link id is below this.
    fn bound(&self) -> usize;
    fn links(&self, id: u32) -> &'a [u32];
    /// Hints that `id`'s record will be read soon (its first line).
    fn prefetch_links(&self, _id: u32) {}
    /// Hints `id`'s whole record: at m = 16 a layer-0 record is 132 bytes
    /// over three or four lines, all read when the node is expanded.
    fn prefetch_record(&self, id: u32) {
        self.prefetch_links(id);
    }
}

/// Fixed-stride records addressed by node id.
pub(super) struct Dense<'a> {
    data: &'a [u32],
    stride: usize,
    bound: usize,
    /// Check each record as it is read (records not validated up front).
    check: bool,
}

impl<'a> Dense<'a> {
    /// Records of `stride` u32: a count, then that many neighbour ids.
    ///
    /// # Safety
    /// Every neighbour id in every record of `data` is below `bound`.
    pub(super) unsafe fn new(data: &'a [u32], stride: usize, bound: usize) -> Self {
        Dense {
            data,
            stride,
            bound,
            check: false,
        }
    }

    /// Records that were not validated: each is checked as it is read,
    /// and a bad one (a count past the stride, an id not below `bound`)
    /// reads as no links. The file's block checksums over the records a
    /// walk read then refuse its answer (`Hnsw::check_links`).
    pub(super) fn checked(data: &'a [u32], stride: usize, bound: usize) -> Self {
        Dense {
            data,
            stride,
            bound,
            check: true,
        }
    }
}

// SAFETY: `links` returns ids stored in `data`, which `Dense::new`'s caller
// guarantees are below `bound`, or, for `Dense::checked`, which `links`
// itself has just compared with `bound`.
unsafe impl<'a> Layer<'a> for Dense<'a> {
    #[inline(always)]
    fn bound(&self) -> usize {
        self.bound
    }

    #[inline(always)]
    fn links(&self, id: u32) -> &'a [u32] {
        let start = id as usize * self.stride;
        let rec = &self.data[start..start + self.stride];
        if self.check {
            let count = rec[0] as usize;
            if count >= self.stride || rec[1..1 + count].iter().any(|&x| x as usize >= self.bound) {
                return &[];
            }
        }
        // Counts were validated (or written by us, or checked just above)
        // to be < stride.
        &rec[1..1 + rec[0] as usize]
    }

    #[inline(always)]
    fn prefetch_links(&self, id: u32) {
        let p = self.data.as_ptr().wrapping_add(id as usize * self.stride);
        prefetch(p as *const f32);
    }

    #[inline(always)]
    fn prefetch_record(&self, id: u32) {
        let p = self.data.as_ptr().wrapping_add(id as usize * self.stride) as *const u8;
        let bytes = self.stride * 4;
        let mut off = 0;
        while off < bytes {
            prefetch(p.wrapping_add(off) as *const f32);
            off += 64;
        }
        // The last line, when the record does not start on a line boundary.
        prefetch(p.wrapping_add(bytes - 1) as *const f32);
    }
}

/// Records for a sorted subset of the nodes.
pub(super) struct Sparse<'a> {
    ids: &'a [u32],
    data: &'a [u32],
    stride: usize,
    bound: usize,
}

impl<'a> Sparse<'a> {
    /// Record `i` of `data` (stride `stride`) belongs to node `ids[i]`.
    ///
    /// # Safety
    /// Every neighbour id in every record of `data` is below `bound`.
    pub(super) unsafe fn new(ids: &'a [u32], data: &'a [u32], stride: usize, bound: usize) -> Self {
        Sparse {
            ids,
            data,
            stride,
            bound,
        }
    }

    fn slot(&self, id: u32) -> Option<usize> {
        self.ids.binary_search(&id).ok()
    }
}

// SAFETY: `links` returns ids stored in `data`, which `Sparse::new`'s caller
// guarantees are below `bound`.
unsafe impl<'a> Layer<'a> for Sparse<'a> {
    #[inline(always)]
    fn bound(&self) -> usize {
        self.bound
    }

    #[inline]
    fn links(&self, id: u32) -> &'a [u32] {
        match self.slot(id) {
            Some(s) => {
                let rec = &self.data[s * self.stride..(s + 1) * self.stride];
                &rec[1..1 + rec[0] as usize]
            }
            // Validation makes this unreachable; an empty list is the safe answer.
            None => &[],
        }
    }
}

#[inline(always)]
pub(super) fn prefetch(p: *const f32) {
    crate::vector::prefetch(p);
}

/// Prefetches the cache lines of a row after the first.
#[inline(always)]
pub(super) fn prefetch_rest(p: *const f32, dim: usize) {
    let mut off = 16;
    while off < dim {
        prefetch(p.wrapping_add(off));
        off += 16;
    }
}
