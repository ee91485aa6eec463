//! [`Mmap`]: an anonymous, page-aligned region of address space that is
//! unmapped on drop, with page-granular protection changes.
//!
//! Linear memories reserve their whole range (plus guard) with
//! [`Mmap::reserve`] and make the accessible prefix readable and writable as
//! they grow; code memory is written while read+write and then switched to
//! read+execute (never writable and executable at once). A memory image
//! ([`crate::memory_image`]) is mapped copy-on-write over the start of a
//! reservation with [`Mmap::map_file_private`].

use crate::VmError;
use rustix::mm::{MapFlags, MprotectFlags, ProtFlags};
use std::ffi::c_void;
use std::os::fd::BorrowedFd;
use std::ptr::NonNull;

/// The size of a virtual-memory page.
pub(crate) fn page_size() -> usize {
    rustix::param::page_size()
}

/// Rounds `len` up to a whole number of pages, or `None` on overflow.
fn round_to_pages(len: usize) -> Option<usize> {
    len.checked_next_multiple_of(page_size())
}

/// An owned anonymous memory mapping.
#[derive(Debug)]
pub(crate) struct Mmap {
    /// Start of the mapping; dangling (but non-null) when `len` is 0.
    ptr: NonNull<u8>,
    /// Length in bytes, a multiple of the page size.
    len: usize,
}

// SAFETY: the mapping is plain memory owned by this value; access to its bytes
// is governed by `&`/`&mut` on the `Mmap` like any owned buffer.
unsafe impl Send for Mmap {}
// SAFETY: as above; `&Mmap` only hands out raw pointers.
unsafe impl Sync for Mmap {}

impl Mmap {
    /// Reserves `len` bytes (rounded up to pages) of inaccessible address
    /// space. Touching it faults until [`Mmap::make_accessible`].
    pub(crate) fn reserve(len: usize) -> Result<Mmap, VmError> {
        Self::map(len, ProtFlags::empty())
    }

    /// Maps `len` bytes (rounded up to pages) of zeroed read+write memory.
    pub(crate) fn accessible(len: usize) -> Result<Mmap, VmError> {
        Self::map(len, ProtFlags::READ | ProtFlags::WRITE)
    }

    fn map(len: usize, prot: ProtFlags) -> Result<Mmap, VmError> {
        let too_large = || VmError::Mmap {
            size: len,
            source: std::io::Error::from(std::io::ErrorKind::OutOfMemory),
        };
        let len = round_to_pages(len).ok_or_else(too_large)?;
        if len == 0 {
            return Ok(Mmap {
                ptr: NonNull::dangling(),
                len: 0,
            });
        }
        // SAFETY: a fresh anonymous mapping at an address the kernel picks
        // cannot alias any existing Rust object.
        let ptr = unsafe {
            rustix::mm::mmap_anonymous(
                std::ptr::null_mut(),
                len,
                prot,
                MapFlags::PRIVATE | MapFlags::NORESERVE,
            )
        }
        .map_err(|e| VmError::Mmap {
            size: len,
            source: e.into(),
        })?;
        let ptr = NonNull::new(ptr.cast::<u8>()).ok_or_else(too_large)?;
        Ok(Mmap { ptr, len })
    }

    /// Maps `len` bytes (rounded up to pages) of `fd` from file offset
    /// `offset` (a multiple of the page size) privately: reads see the
    /// file, and with `writable` writes go to private copies of the pages
    /// they touch (the file never changes). Pages that nothing writes stay
    /// shared with the page cache. A read-only mapping is populated at once.
    ///
    /// # Safety
    ///
    /// The file must hold at least `offset + len` bytes and must neither
    /// shrink nor change while mapped: a page past its end raises `SIGBUS`
    /// when touched, and a change shows through pages nobody wrote.
    pub(crate) unsafe fn map_file(
        fd: BorrowedFd<'_>,
        offset: u64,
        len: usize,
        writable: bool,
    ) -> Result<Mmap, VmError> {
        let invalid = || VmError::Mmap {
            size: len,
            source: std::io::Error::from(std::io::ErrorKind::InvalidInput),
        };
        let len = round_to_pages(len).ok_or_else(invalid)?;
        if len == 0 {
            return Ok(Mmap {
                ptr: NonNull::dangling(),
                len: 0,
            });
        }
        if !offset.is_multiple_of(page_size() as u64) {
            return Err(invalid());
        }
        // A read-only mapping is read whole right away (checksummed), so
        // its pages are mapped in one go instead of fault by fault.
        let (prot, flags) = if writable {
            (ProtFlags::READ | ProtFlags::WRITE, MapFlags::PRIVATE)
        } else {
            (ProtFlags::READ, MapFlags::PRIVATE | MapFlags::POPULATE)
        };
        // SAFETY: a fresh private mapping at an address the kernel picks
        // cannot alias any Rust object; the caller keeps the file intact.
        let ptr = unsafe { rustix::mm::mmap(std::ptr::null_mut(), len, prot, flags, fd, offset) }
            .map_err(|e| VmError::Mmap {
            size: len,
            source: e.into(),
        })?;
        let ptr = NonNull::new(ptr.cast::<u8>()).ok_or_else(invalid)?;
        Ok(Mmap { ptr, len })
    }

    /// Makes `[start, start + len)` readable and writable.
    pub(crate) fn make_accessible(&mut self, start: usize, len: usize) -> Result<(), VmError> {
        self.protect(start, len, MprotectFlags::READ | MprotectFlags::WRITE)
    }

    /// Makes `[start, start + len)` readable and executable (and no longer
    /// writable).
    pub(crate) fn make_executable(&mut self, start: usize, len: usize) -> Result<(), VmError> {
        self.protect(start, len, MprotectFlags::READ | MprotectFlags::EXEC)
    }

    /// Replaces `[start, start + len)` with a private (copy-on-write),
    /// read+write mapping of the `len` bytes of `fd` at `file_offset` (a
    /// page multiple): reads see the file, writes go to private copies of
    /// the pages they touch.
    ///
    /// Whatever the range held before is discarded. `fd` must hold those
    /// bytes and must not shrink while mapped (touching a page past its end
    /// raises `SIGBUS`); a sealed memfd guarantees both, a precompiled
    /// module's file is kept so by its loader's caller.
    pub(crate) fn map_file_private(
        &mut self,
        start: usize,
        len: usize,
        fd: BorrowedFd<'_>,
        file_offset: u64,
    ) -> Result<(), VmError> {
        let page = page_size();
        let in_bounds = start.checked_add(len).is_some_and(|end| end <= self.len);
        if !in_bounds || !start.is_multiple_of(page) || !len.is_multiple_of(page) {
            return Err(VmError::Mmap {
                size: len,
                source: std::io::Error::from(std::io::ErrorKind::InvalidInput),
            });
        }
        if len == 0 {
            return Ok(());
        }
        // SAFETY: the range lies inside this mapping (checked above), which
        // this value owns and which only hands out raw pointers, so
        // replacing its pages invalidates no Rust reference; `MAP_FIXED`
        // over our own range cannot clobber anyone else's memory.
        unsafe {
            rustix::mm::mmap(
                self.ptr.as_ptr().add(start).cast::<c_void>(),
                len,
                ProtFlags::READ | ProtFlags::WRITE,
                MapFlags::PRIVATE | MapFlags::FIXED,
                fd,
                file_offset,
            )
        }
        .map(drop)
        .map_err(|e| VmError::Mmap {
            size: len,
            source: e.into(),
        })
    }

    fn protect(&mut self, start: usize, len: usize, flags: MprotectFlags) -> Result<(), VmError> {
        debug_assert_eq!(start % page_size(), 0, "unaligned protection start");
        debug_assert!(
            start.checked_add(len).is_some_and(|end| end <= self.len),
            "protection range {start}+{len} outside a mapping of {}",
            self.len
        );
        if len == 0 {
            return Ok(());
        }
        if start.checked_add(len).is_none_or(|end| end > self.len) {
            return Err(VmError::Mmap {
                size: len,
                source: std::io::Error::from(std::io::ErrorKind::InvalidInput),
            });
        }
        // SAFETY: the range lies inside this mapping (checked above), which
        // this value owns; changing its protection cannot invalidate Rust
        // references because the mapping only hands out raw pointers.
        unsafe { rustix::mm::mprotect(self.ptr.as_ptr().add(start).cast::<c_void>(), len, flags) }
            .map_err(|e| VmError::Mmap {
                size: len,
                source: e.into(),
            })
    }

    /// Start of the mapping.
    pub(crate) fn as_ptr(&self) -> *const u8 {
        self.ptr.as_ptr()
    }

    /// Start of the mapping, for writing.
    pub(crate) fn as_mut_ptr(&mut self) -> *mut u8 {
        self.ptr.as_ptr()
    }

    /// Length in bytes (a multiple of the page size).
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The address range the mapping covers.
    pub(crate) fn range(&self) -> std::ops::Range<usize> {
        let start = self.ptr.as_ptr() as usize;
        start..start + self.len
    }
}

/// What [`protect_range`] makes a range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Access {
    /// Inaccessible: touching it faults.
    None,
    /// Readable and writable.
    ReadWrite,
}

/// Sets the protection of `[ptr, ptr + len)`.
///
/// # Safety
///
/// The range must be page-aligned, lie inside a mapping, and belong to the
/// caller alone (a pool slot it holds): nothing else may use it, and no
/// Rust reference may point into the part made inaccessible.
pub(crate) unsafe fn protect_range(
    ptr: *mut u8,
    len: usize,
    access: Access,
) -> Result<(), VmError> {
    if len == 0 {
        return Ok(());
    }
    debug_assert_eq!(ptr as usize % page_size(), 0, "unaligned protection start");
    let flags = match access {
        Access::None => MprotectFlags::empty(),
        Access::ReadWrite => MprotectFlags::READ | MprotectFlags::WRITE,
    };
    // SAFETY: the caller owns the range exclusively.
    unsafe { rustix::mm::mprotect(ptr.cast::<c_void>(), len, flags) }.map_err(|e| VmError::Mmap {
        size: len,
        source: e.into(),
    })
}

/// Throws away the contents of `[ptr, ptr + len)` (`madvise(DONTNEED)`):
/// anonymous pages read as zeros again, pages of a private file mapping as
/// the file again, and the memory they used goes back to the system. The
/// mappings and their protection stay.
///
/// # Safety
///
/// As [`protect_range`]; no Rust reference may point into the range.
pub(crate) unsafe fn discard_range(ptr: *mut u8, len: usize) -> Result<(), VmError> {
    if len == 0 {
        return Ok(());
    }
    // SAFETY: the caller owns the range exclusively; `DONTNEED` on a
    // private mapping only drops its private pages.
    unsafe { rustix::mm::madvise(ptr.cast::<c_void>(), len, rustix::mm::Advice::LinuxDontNeed) }
        .map_err(|e| VmError::Mmap {
            size: len,
            source: e.into(),
        })
}

/// Replaces `[ptr, ptr + len)` with fresh anonymous pages of `access`
/// (zeros), dropping whatever was mapped there (a memory image).
///
/// # Safety
///
/// As [`protect_range`]; no Rust reference may point into the range.
pub(crate) unsafe fn remap_anonymous(
    ptr: *mut u8,
    len: usize,
    access: Access,
) -> Result<(), VmError> {
    if len == 0 {
        return Ok(());
    }
    let prot = match access {
        Access::None => ProtFlags::empty(),
        Access::ReadWrite => ProtFlags::READ | ProtFlags::WRITE,
    };
    // SAFETY: `MAP_FIXED` over a range the caller owns exclusively cannot
    // clobber anyone else's memory.
    unsafe {
        rustix::mm::mmap_anonymous(
            ptr.cast::<c_void>(),
            len,
            prot,
            MapFlags::PRIVATE | MapFlags::FIXED | MapFlags::NORESERVE,
        )
    }
    .map(drop)
    .map_err(|e| VmError::Mmap {
        size: len,
        source: e.into(),
    })
}

/// Maps the `len` bytes of `fd` at `file_offset` over `[ptr, ptr + len)`
/// privately (copy on write), read+write.
///
/// # Safety
///
/// As [`remap_anonymous`], and `fd` must hold those bytes and never shrink
/// (a sealed memfd, or a precompiled module's file left alone).
pub(crate) unsafe fn map_file_over(
    ptr: *mut u8,
    len: usize,
    fd: BorrowedFd<'_>,
    file_offset: u64,
) -> Result<(), VmError> {
    if len == 0 {
        return Ok(());
    }
    // SAFETY: as for `remap_anonymous`; the caller vouches for the file.
    unsafe {
        rustix::mm::mmap(
            ptr.cast::<c_void>(),
            len,
            ProtFlags::READ | ProtFlags::WRITE,
            MapFlags::PRIVATE | MapFlags::FIXED,
            fd,
            file_offset,
        )
    }
    .map(drop)
    .map_err(|e| VmError::Mmap {
        size: len,
        source: e.into(),
    })
}

impl Drop for Mmap {
    fn drop(&mut self) {
        if self.len == 0 {
            return;
        }
        // SAFETY: the mapping was created by `map` with this exact range and
        // is owned by this value, which is going away.
        let result = unsafe { rustix::mm::munmap(self.ptr.as_ptr().cast::<c_void>(), self.len) };
        debug_assert!(result.is_ok(), "munmap failed: {result:?}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserve_then_make_accessible_and_write() {
        let page = page_size();
        let mut m = Mmap::reserve(4 * page).unwrap();
        assert_eq!(m.len(), 4 * page);
        m.make_accessible(page, 2 * page).unwrap();
        // SAFETY: pages 1 and 2 were just made read+write.
        unsafe {
            let p = m.as_mut_ptr().add(page);
            assert_eq!(*p, 0, "fresh pages are zeroed");
            p.write(0xAB);
            p.add(2 * page - 1).write(0xCD);
            assert_eq!(*p, 0xAB);
            assert_eq!(*p.add(2 * page - 1), 0xCD);
        }
    }

    #[test]
    fn lengths_round_up_to_pages_and_zero_is_allowed() {
        let m = Mmap::accessible(1).unwrap();
        assert_eq!(m.len(), page_size());
        let empty = Mmap::reserve(0).unwrap();
        assert_eq!(empty.len(), 0);
        assert!(!empty.as_ptr().is_null());
    }

    #[test]
    fn huge_reservation_fails_with_an_error() {
        let err = Mmap::reserve(usize::MAX).unwrap_err();
        assert!(matches!(err, VmError::Mmap { .. }), "{err}");
    }

    #[test]
    fn executable_memory_runs() {
        // mov eax, 42; ret
        let code = [0xB8, 42, 0, 0, 0, 0xC3];
        let mut m = Mmap::accessible(code.len()).unwrap();
        // SAFETY: the mapping is read+write and at least a page long.
        unsafe { std::ptr::copy_nonoverlapping(code.as_ptr(), m.as_mut_ptr(), code.len()) };
        m.make_executable(0, m.len()).unwrap();
        // SAFETY: the mapping now holds a complete `extern "C" fn() -> i32`.
        let f: extern "C" fn() -> i32 = unsafe { std::mem::transmute(m.as_ptr()) };
        assert_eq!(f(), 42);
    }
}
