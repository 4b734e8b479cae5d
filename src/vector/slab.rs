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

impl Slab<f32> {
    pub fn from_aligned(v: AlignedVec) -> Self {
        let ptr = v.as_ptr();
        let len = v.len();
        Slab {
            _owner: Arc::new(v),
            ptr,
            len,
        }
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
