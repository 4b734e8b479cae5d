//! `Slab<T>`: a shared, read-only run of plain values that either owns its
//! memory or borrows it from something kept alive alongside it (usually a
//! memory map). Index structures hold slabs, so a freshly built index and one
//! opened zero-copy from disk are the same type.

use std::any::Any;
use std::fmt;
use std::sync::Arc;

use super::AlignedVec;

pub struct Slab<T: bytemuck::Pod> {
    // Keeps the memory behind `ptr` alive; never read directly.
    _owner: Arc<dyn Any + Send + Sync>,
    ptr: *const T,
    len: usize,
}

// SAFETY: the data is immutable for the slab's life and its owner is Send + Sync.
unsafe impl<T: bytemuck::Pod + Send> Send for Slab<T> {}
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
        })
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
