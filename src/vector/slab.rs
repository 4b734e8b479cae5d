//! `Slab<T>`: a shared, read-only run of plain values that either owns its
//! memory or borrows it from something kept alive alongside it (usually a
//! memory map). Index structures hold slabs, so a freshly built index and one
//! opened zero-copy from disk are the same type.

use std::any::Any;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use super::AlignedVec;

pub struct Slab<T: bytemuck::Pod> {
    // Keeps the memory behind `ptr` alive; never read directly.
    _owner: Arc<dyn Any + Send + Sync>,
    ptr: *const T,
    len: usize,
    /// Per-block checksums of these bytes, for slabs read from a file.
    blocks: Option<Arc<BlockCheck>>,
}

/// Where the first failed block check of a file is recorded: (section id,
/// block). Readers check many blocks in hot loops that return no `Result`;
/// they latch the failure here and the engine turns it into an error
/// before any answer leaves it.
pub type Failure = Arc<OnceLock<(u32, usize)>>;

/// How a block's checksum is computed; recorded with the sums.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockSum {
    /// XXH3-64, one word a block: for blocks read a few at a time.
    Xxh3 = 0,
    /// Two 64-bit Fletcher sums over eight word lanes, two words a
    /// block: a few adds per word, which a scan that reads every block
    /// of a large section can afford (XXH3 cost half of a search's CPU at
    /// 1.5M codes; this is a small fraction of the scan it precedes).
    Fletcher = 1,
}

impl BlockSum {
    pub fn from_u32(v: u32) -> Option<BlockSum> {
        match v {
            0 => Some(BlockSum::Xxh3),
            1 => Some(BlockSum::Fletcher),
            _ => None,
        }
    }

    /// Words of checksum per block.
    pub fn width(self) -> usize {
        match self {
            BlockSum::Xxh3 => 1,
            BlockSum::Fletcher => 2,
        }
    }

    /// The checksum words of one block.
    pub fn sum(self, bytes: &[u8]) -> [u64; 2] {
        match self {
            BlockSum::Xxh3 => [xxhash_rust::xxh3::xxh3_64(bytes), 0],
            BlockSum::Fletcher => fletcher(bytes),
        }
    }
}

/// Fletcher-style sums over 64-bit little-endian words in eight lanes (a
/// short tail is zero-padded): `a += w; b += a` per lane, so a changed,
/// lost or moved word changes the result; the lanes are then folded with
/// distinct rotations, and the length is mixed in.
pub fn fletcher(bytes: &[u8]) -> [u64; 2] {
    let mut lanes = Lanes::default();
    let whole = bytes.len() / 64 * 64;
    match bytemuck::try_cast_slice::<u8, u64>(&bytes[..whole]) {
        Ok(words) => lanes.words(words),
        Err(_) => {
            for c in bytes[..whole].chunks_exact(64) {
                lanes.chunk(std::array::from_fn(|l| {
                    u64::from_le_bytes(c[8 * l..8 * l + 8].try_into().expect("8 bytes"))
                }));
            }
        }
    }
    let rem = &bytes[whole..];
    if !rem.is_empty() {
        let mut pad = [0u8; 64];
        pad[..rem.len()].copy_from_slice(rem);
        lanes.chunk(std::array::from_fn(|l| {
            u64::from_le_bytes(pad[8 * l..8 * l + 8].try_into().expect("8 bytes"))
        }));
    }
    let (mut sa, mut sb) = (bytes.len() as u64, 0u64);
    for l in 0..8 {
        sa = sa.wrapping_add(lanes.a[l].rotate_left(8 * l as u32));
        sb = sb.wrapping_add(lanes.b[l].rotate_left(8 * l as u32 + 3));
    }
    [sa, sb]
}

#[derive(Default)]
struct Lanes {
    a: [u64; 8],
    b: [u64; 8],
}

impl Lanes {
    #[inline(always)]
    fn chunk(&mut self, w: [u64; 8]) {
        for ((a, b), w) in self.a.iter_mut().zip(&mut self.b).zip(w) {
            *a = a.wrapping_add(u64::from_le(w));
            *b = b.wrapping_add(*a);
        }
    }

    /// Whole chunks of aligned words; with AVX2 where the CPU has it (the
    /// lanes then fit two registers, and a scan's verification keeps pace
    /// with memory).
    fn words(&mut self, words: &[u64]) {
        #[cfg(target_arch = "x86_64")]
        if is_x86_feature_detected!("avx2") {
            // SAFETY: AVX2 was just detected.
            return unsafe { self.words_avx2(words) };
        }
        self.words_portable(words)
    }

    #[inline(always)]
    fn words_portable(&mut self, words: &[u64]) {
        // The lanes live in locals (registers) for the loop, not behind
        // `&mut self`, which made every chunk a store and a reload.
        let mut lanes = Lanes {
            a: self.a,
            b: self.b,
        };
        for c in words.chunks_exact(8) {
            lanes.chunk(c.try_into().expect("8 words"));
        }
        *self = lanes;
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn words_avx2(&mut self, words: &[u64]) {
        self.words_portable(words)
    }
}

/// Checksums over fixed-size blocks of a slab's bytes, each verified the
/// first time any reader touches the block (RocksDB's way): a query pays
/// only for the blocks it reads, once per process.
pub struct BlockCheck {
    id: u32,
    block: usize,
    algo: BlockSum,
    sums: Slab<u64>,
    verified: Box<[AtomicBool]>,
    failure: Failure,
}

impl BlockCheck {
    /// `block` bytes per sum (a power of two); `sums` must hold
    /// `algo.width()` words per block of the slab it is attached to, the
    /// last block short.
    pub fn new(id: u32, block: usize, algo: BlockSum, sums: Slab<u64>, failure: Failure) -> Self {
        let verified = (0..sums.len() / algo.width())
            .map(|_| AtomicBool::new(false))
            .collect();
        BlockCheck {
            id,
            block,
            algo,
            sums,
            verified,
            failure,
        }
    }
}

// SAFETY: the data is immutable for the slab's life and its owner is Send + Sync.
unsafe impl<T: bytemuck::Pod + Send> Send for Slab<T> {}
// SAFETY: as for Send: shared access only reads immutable data.
unsafe impl<T: bytemuck::Pod + Sync> Sync for Slab<T> {}

/// Why bytes could not be viewed as a slab.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SlabError {
    Misaligned,
    BadLength,
}

impl<T: bytemuck::Pod> Slab<T> {
    pub fn from_vec(v: Vec<T>) -> Self
    where
        T: Send + Sync,
    {
        Self::owning(v)
    }

    /// A slab over the whole of `v`, which it keeps alive (heap memory does
    /// not move when its owner is moved into the `Arc`).
    fn owning<O>(v: O) -> Self
    where
        O: std::ops::Deref<Target = [T]> + Send + Sync + 'static,
    {
        let ptr = v.as_ptr();
        let len = v.len();
        Slab {
            _owner: Arc::new(v),
            ptr,
            len,
            blocks: None,
        }
    }

    /// Views `bytes`, which must live inside `owner`, as `[T]` without copying.
    ///
    /// # Safety
    /// `bytes` must point into memory owned by `owner` that stays valid and
    /// unmodified for as long as `owner` lives.
    pub unsafe fn from_owner(
        owner: Arc<dyn Any + Send + Sync>,
        bytes: &[u8],
    ) -> Result<Self, SlabError> {
        let view: &[T] = bytemuck::try_cast_slice(bytes).map_err(|e| match e {
            bytemuck::PodCastError::TargetAlignmentGreaterAndInputNotAligned => {
                SlabError::Misaligned
            }
            _ => SlabError::BadLength,
        })?;
        Ok(Slab {
            _owner: owner,
            ptr: view.as_ptr(),
            len: view.len(),
            blocks: None,
        })
    }

    /// Attaches per-block checksums; fails if they do not cover exactly
    /// this slab's bytes.
    pub fn with_blocks(mut self, check: BlockCheck) -> Result<Self, SlabError> {
        let bytes = self.len * std::mem::size_of::<T>();
        if check.block == 0 || bytes.div_ceil(check.block) != check.verified.len() {
            return Err(SlabError::BadLength);
        }
        self.blocks = Some(Arc::new(check));
        Ok(self)
    }

    /// Verifies the blocks under elements `start..start + len` that no
    /// reader has verified yet. `false` means a block's bytes do not match
    /// its checksum; the failure is latched for the engine to report, and
    /// the caller may go on reading (the bytes are memory-safe, only wrong).
    /// Slabs built in memory have no checksums and always pass.
    #[inline]
    pub fn check(&self, start: usize, len: usize) -> bool {
        // A build for measuring what verification costs (BENCHMARKS.md):
        // `RUSTFLAGS="--cfg vecsearch_unchecked"`. Never shipped.
        if cfg!(vecsearch_unchecked) {
            return true;
        }
        let Some(b) = &self.blocks else { return true };
        if len == 0 {
            return true;
        }
        let size = std::mem::size_of::<T>();
        let (first, last) = (start * size / b.block, ((start + len) * size - 1) / b.block);
        let bytes: &[u8] = bytemuck::cast_slice(self.as_slice());
        let mut ok = true;
        let width = b.algo.width();
        for i in first..=last.min(b.verified.len().saturating_sub(1)) {
            if b.verified[i].load(Ordering::Relaxed) {
                continue;
            }
            let block = &bytes[i * b.block..((i + 1) * b.block).min(bytes.len())];
            let sum = b.algo.sum(block);
            if sum[..width] == b.sums[i * width..(i + 1) * width] {
                b.verified[i].store(true, Ordering::Relaxed);
            } else {
                let _ = b.failure.set((b.id, i));
                ok = false;
            }
        }
        ok
    }

    /// Whether block checksums are attached.
    pub fn has_blocks(&self) -> bool {
        self.blocks.is_some()
    }

    /// Latches a failure at element `at` found by a reader's own check
    /// (a record whose checksum passed but whose fields cannot be), so the
    /// engine refuses the answer as for a checksum failure. No-op for
    /// slabs without block checksums.
    pub fn fail(&self, at: usize) {
        if let Some(b) = &self.blocks {
            let _ = b
                .failure
                .set((b.id, at * std::mem::size_of::<T>() / b.block));
        }
    }

    /// Verifies every block (what a full verification does).
    pub fn check_all(&self) -> bool {
        self.check(0, self.len)
    }

    pub fn as_slice(&self) -> &[T] {
        if self.len == 0 {
            return &[];
        }
        // SAFETY: ptr/len describe memory kept alive by _owner (constructors).
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }
}

impl<T: bytemuck::Pod + Send + Sync> Slab<T> {
    /// Copies `data` into a huge-page backed slab; see [`Slab::fill_huge`].
    pub fn copy_huge(data: &[T]) -> Self {
        Slab::fill_huge(data.len(), |dst| dst.copy_from_slice(data))
    }

    /// A slab of `len` zeroed values, filled by `fill`, in a fresh anonymous
    /// mapping that Linux is asked to back with transparent huge pages
    /// (`MADV_HUGEPAGE`, effective when
    /// `/sys/kernel/mm/transparent_hugepage/enabled` is `always` or
    /// `madvise`). Random reads over a large arena, as HNSW makes, then miss
    /// the TLB far less often. The mapping is page aligned, which satisfies
    /// any `T`. Falls back to an ordinary vector where mapping fails.
    pub fn fill_huge(len: usize, fill: impl FnOnce(&mut [T])) -> Self {
        let bytes = len * std::mem::size_of::<T>();
        let mapped = if bytes == 0 {
            None
        } else {
            memmap2::MmapMut::map_anon(bytes).ok()
        };
        let Some(mut map) = mapped else {
            let mut v = vec![T::zeroed(); len];
            fill(&mut v);
            return Slab::from_vec(v);
        };
        #[cfg(target_os = "linux")]
        let _ = map.advise(memmap2::Advice::HugePage);
        fill(bytemuck::cast_slice_mut(&mut map[..]));
        let owner: Arc<memmap2::MmapMut> = Arc::new(map);
        // SAFETY: the bytes live in `owner`'s private mapping, which nothing
        // writes to any more (the only `&mut` was `fill`'s) and which lives
        // as long as the slab.
        let view: &[u8] = unsafe { std::slice::from_raw_parts(owner.as_ptr(), owner.len()) };
        // SAFETY: `view` lies in `owner`'s mapping (see above), which the
        // slab keeps alive through the clone.
        unsafe { Slab::from_owner(owner.clone(), view) }.expect("page-aligned mapping")
    }
}

impl Slab<f32> {
    pub fn from_aligned(v: AlignedVec) -> Self {
        Self::owning(v)
    }
}

impl<T: bytemuck::Pod> Clone for Slab<T> {
    fn clone(&self) -> Self {
        Slab {
            _owner: self._owner.clone(),
            ptr: self.ptr,
            len: self.len,
            blocks: self.blocks.clone(),
        }
    }
}

impl<T: bytemuck::Pod> std::ops::Deref for Slab<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        self.as_slice()
    }
}

impl<T: bytemuck::Pod> fmt::Debug for Slab<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Slab(len={})", self.len)
    }
}

impl<T: bytemuck::Pod + Send + Sync> Default for Slab<T> {
    fn default() -> Self {
        Slab::from_vec(Vec::new())
    }
}

/// Asks Linux to back the whole pages inside `data` with transparent huge
/// pages. Only pages touched after the call are affected, so call it on a
/// freshly allocated (`vec![0; n]`, i.e. untouched) buffer. A hint: errors
/// and other platforms are ignored.
pub fn advise_huge<T>(data: &[T]) {
    #[cfg(target_os = "linux")]
    {
        const PAGE: usize = 4096;
        let start = data.as_ptr() as usize;
        let end = start + std::mem::size_of_val(data);
        let a = start.next_multiple_of(PAGE);
        if end > a + PAGE {
            // SAFETY: madvise only changes paging policy for memory this
            // process owns ([a, end) lies inside `data`); it never faults.
            unsafe {
                libc::madvise(
                    a as *mut libc::c_void,
                    (end - a) & !(PAGE - 1),
                    libc::MADV_HUGEPAGE,
                );
            }
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = data;
}

#[cfg(test)]
mod block_tests {
    use super::*;

    fn bytes(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i * 131 + i / 7) as u8).collect()
    }

    #[test]
    fn fletcher_is_the_same_on_any_alignment_and_sees_moved_words() {
        for n in [0usize, 1, 63, 64, 65, 1000, 4096] {
            let data = bytes(n + 8);
            let aligned: Vec<u64> = vec![0; n.div_ceil(8) + 1];
            let mut a = bytemuck::cast_slice::<u64, u8>(&aligned)[..n].to_vec();
            a.copy_from_slice(&data[..n]);
            // Same bytes at an odd address take the unaligned path.
            let shifted = &data[1..n + 1];
            let mut b = data[..n + 1].to_vec();
            b.copy_within(1..n + 1, 0);
            assert_eq!(fletcher(&a), fletcher(&data[..n]), "n {n}");
            assert_eq!(fletcher(&b[..n]), fletcher(shifted), "n {n}");
        }
        let data = bytes(512);
        let base = fletcher(&data);
        let mut swapped = data.clone();
        swapped.copy_within(0..8, 256);
        swapped[..8].copy_from_slice(&data[256..264]);
        assert_ne!(fletcher(&swapped), base, "two words swapped");
        for bit in [0usize, 7, 63, 4095] {
            let mut flipped = data.clone();
            flipped[bit / 8] ^= 1 << (bit % 8);
            assert_ne!(fletcher(&flipped), base, "bit {bit}");
        }
        assert_ne!(fletcher(&data[..511]), fletcher(&data[..512]));
    }

    #[test]
    fn a_bad_block_is_latched_once_and_good_blocks_pass() {
        for algo in [BlockSum::Xxh3, BlockSum::Fletcher] {
            let data: Vec<u32> = (0..1000).collect();
            let raw: &[u8] = bytemuck::cast_slice(&data);
            let block = 256;
            let mut sums: Vec<u64> = raw
                .chunks(block)
                .flat_map(|c| algo.sum(c)[..algo.width()].to_vec())
                .collect();
            sums[2 * algo.width()] ^= 1; // block 2 no longer matches
            let failure = Failure::default();
            let slab = Slab::from_vec(data.clone())
                .with_blocks(BlockCheck::new(
                    7,
                    block,
                    algo,
                    Slab::from_vec(sums),
                    failure.clone(),
                ))
                .unwrap();
            assert!(slab.check(0, 64), "{algo:?}: blocks 0..1");
            assert!(failure.get().is_none());
            assert!(!slab.check(100, 80), "{algo:?}: block 2");
            assert_eq!(failure.get(), Some(&(7, 2)));
            assert!(!slab.check_all());
            assert!(Slab::from_vec(data.clone())
                .with_blocks(BlockCheck::new(
                    7,
                    block,
                    algo,
                    Slab::from_vec(vec![0; 3]),
                    failure
                ))
                .is_err());
        }
    }
}
