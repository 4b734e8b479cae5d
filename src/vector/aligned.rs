//! A growable `f32` buffer whose start is 64-byte aligned, so SIMD loads of
//! whole rows never straddle a cache line at the row start (when the row
//! length is a multiple of 16) and the arena can be written to disk as is.

use std::alloc::{self, Layout};
use std::ptr::NonNull;

const ALIGN: usize = 64;

pub struct AlignedVec {
    ptr: NonNull<f32>,
    len: usize,
    cap: usize,
}

// SAFETY: AlignedVec owns its buffer exclusively, like Vec<f32>.
unsafe impl Send for AlignedVec {}
// SAFETY: shared access only reads, like &Vec<f32>.
unsafe impl Sync for AlignedVec {}

impl AlignedVec {
    pub fn new() -> Self {
        AlignedVec {
            ptr: NonNull::dangling(),
            len: 0,
            cap: 0,
        }
    }

    pub fn with_capacity(cap: usize) -> Self {
        let mut v = Self::new();
        v.reserve(cap);
        v
    }

    pub fn zeroed(len: usize) -> Self {
        let mut v = Self::with_capacity(len);
        // SAFETY: capacity >= len and zero is a valid f32.
        unsafe {
            std::ptr::write_bytes(v.ptr.as_ptr(), 0, len);
        }
        v.len = len;
        v
    }

    fn layout(cap: usize) -> Layout {
        Layout::from_size_align(cap * std::mem::size_of::<f32>(), ALIGN).expect("capacity overflow")
    }

    pub fn reserve(&mut self, additional: usize) {
        let need = self.len.checked_add(additional).expect("capacity overflow");
        if need <= self.cap {
            return;
        }
        let new_cap = need.max(self.cap * 2).max(16);
        let new_layout = Self::layout(new_cap);
        // SAFETY: the layout has non-zero size; the old block, if any, was
        // allocated with Self::layout(self.cap).
        let raw = unsafe {
            if self.cap == 0 {
                alloc::alloc(new_layout)
            } else {
                alloc::realloc(
                    self.ptr.as_ptr() as *mut u8,
                    Self::layout(self.cap),
                    new_layout.size(),
                )
            }
        };
        let Some(p) = NonNull::new(raw as *mut f32) else {
            alloc::handle_alloc_error(new_layout)
        };
        // realloc keeps the alignment of the layout it was given.
        self.ptr = p;
        self.cap = new_cap;
    }

    pub fn extend_from_slice(&mut self, xs: &[f32]) {
        self.reserve(xs.len());
        // SAFETY: reserve made room for xs.len() more elements.
        unsafe {
            std::ptr::copy_nonoverlapping(xs.as_ptr(), self.ptr.as_ptr().add(self.len), xs.len());
        }
        self.len += xs.len();
    }

    /// Grows to `len` elements, the new ones zero; never shrinks.
    pub fn resize_zeroed(&mut self, len: usize) {
        if len <= self.len {
            return;
        }
        self.reserve(len - self.len);
        // SAFETY: reserve made room for `len` elements; zero is a valid f32.
        unsafe {
            std::ptr::write_bytes(self.ptr.as_ptr().add(self.len), 0, len - self.len);
        }
        self.len = len;
    }

    pub fn truncate(&mut self, len: usize) {
        self.len = self.len.min(len);
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn as_slice(&self) -> &[f32] {
        // SAFETY: ptr is valid for len initialised elements (or dangling with len 0).
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }

    pub fn as_mut_slice(&mut self) -> &mut [f32] {
        // SAFETY: as above, and we hold &mut self.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }
}

impl Default for AlignedVec {
    fn default() -> Self {
        Self::new()
    }
}

impl Clone for AlignedVec {
    fn clone(&self) -> Self {
        let mut v = Self::with_capacity(self.len);
        v.extend_from_slice(self.as_slice());
        v
    }
}

impl Drop for AlignedVec {
    fn drop(&mut self) {
        if self.cap > 0 {
            // SAFETY: allocated with this layout in reserve().
            unsafe { alloc::dealloc(self.ptr.as_ptr() as *mut u8, Self::layout(self.cap)) }
        }
    }
}

impl std::ops::Deref for AlignedVec {
    type Target = [f32];
    fn deref(&self) -> &[f32] {
        self.as_slice()
    }
}

impl std::fmt::Debug for AlignedVec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AlignedVec(len={})", self.len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_is_64_byte_aligned_after_growth() {
        let mut v = AlignedVec::new();
        for i in 0..10_000 {
            v.extend_from_slice(&[i as f32]);
            assert_eq!(v.as_ptr() as usize % ALIGN, 0);
        }
        assert_eq!(v[9_999], 9_999.0);
        assert_eq!(v.len(), 10_000);
    }
}
