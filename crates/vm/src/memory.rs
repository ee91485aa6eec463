//! Linear memories: a reserved region with guard pages whose accessible
//! prefix grows in 64 KiB pages.

use crate::limits::{GrowthLimiter, to_usize};
use crate::memory_image::MemoryImage;
use crate::mmap::Mmap;
use crate::pool::MemorySlot;
use crate::{VMMemoryDefinition, VmError};
use tandem_environ::{MemoryType, Tunables};

/// Bytes per Wasm page.
pub(crate) const WASM_PAGE_SIZE: u64 = 64 << 10;
/// Most pages a 32-bit memory can have (4 GiB).
pub(crate) const MAX_PAGES_32: u64 = 1 << 16;

/// `pages` Wasm pages in bytes, saturating.
pub fn pages_to_bytes(pages: u64) -> usize {
    to_usize(pages.saturating_mul(WASM_PAGE_SIZE))
}

/// A linear memory. Its [`VMMemoryDefinition`] lives where compiled code
/// reads it: inside the owning instance's VMContext, or in a box of its own
/// for memories the host created. The memory keeps it current on growth.
pub struct LinearMemory {
    storage: Storage,
    def: *mut VMMemoryDefinition,
    own_def: Option<Box<VMMemoryDefinition>>,
    ty: MemoryType,
    pages: u64,
}

// SAFETY: `def` points into memory owned by the same store, which moves
// between threads as a whole and is used by one thread at a time.
unsafe impl Send for LinearMemory {}
// SAFETY: as above; shared access never writes.
unsafe impl Sync for LinearMemory {}

/// Where a memory's bytes live.
enum Storage {
    /// A reservation of its own.
    Own(Mmap),
    /// A slot of an instance pool, reset and given back on drop.
    Pooled(MemorySlot),
}

impl Storage {
    /// The memory's first byte.
    fn base(&self) -> *mut u8 {
        match self {
            Storage::Own(mmap) => mmap.as_ptr().cast_mut(),
            Storage::Pooled(slot) => slot.base(),
        }
    }

    /// Most bytes the memory can have here.
    fn limit(&self) -> usize {
        match self {
            Storage::Own(mmap) => mmap.len(),
            Storage::Pooled(slot) => slot.limit(),
        }
    }

    /// Makes `[old, new)` read+write.
    fn grow(&mut self, old: usize, new: usize) -> Result<(), VmError> {
        match self {
            Storage::Own(mmap) => mmap.make_accessible(old, new - old),
            Storage::Pooled(slot) => slot.make_accessible(new),
        }
    }
}

impl LinearMemory {
    /// Creates a memory of type `ty` whose definition is written to `def`
    /// (null: the memory owns its definition).
    ///
    /// # Safety
    ///
    /// A non-null `def` must stay valid and unaliased by other writers for as
    /// long as the memory lives.
    pub unsafe fn new(
        ty: MemoryType,
        tunables: &Tunables,
        def: *mut VMMemoryDefinition,
    ) -> Result<LinearMemory, VmError> {
        if ty.memory64 || ty.shared {
            return Err(VmError::Limit(
                "64-bit and shared memories are not supported yet".into(),
            ));
        }
        if ty.minimum > MAX_PAGES_32 {
            return Err(VmError::Limit(format!(
                "memory minimum of {} pages exceeds the 4 GiB limit",
                ty.minimum
            )));
        }
        let reservation = usize::try_from(tunables.memory_reservation)
            .map_err(|_| VmError::Limit("memory reservation exceeds address space".into()))?;
        let mmap = Mmap::reserve(reservation)?;
        // SAFETY: forwarded from the caller.
        unsafe { Self::with_storage(ty, Storage::Own(mmap), def) }
    }

    /// Creates a memory of type `ty` in a pool's memory slot (see
    /// [`LinearMemory::new`] for `def`).
    ///
    /// # Safety
    ///
    /// As [`LinearMemory::new`].
    pub(crate) unsafe fn in_slot(
        ty: MemoryType,
        slot: MemorySlot,
        def: *mut VMMemoryDefinition,
    ) -> Result<LinearMemory, VmError> {
        // SAFETY: forwarded from the caller.
        unsafe { Self::with_storage(ty, Storage::Pooled(slot), def) }
    }

    /// # Safety
    ///
    /// As [`LinearMemory::new`].
    unsafe fn with_storage(
        ty: MemoryType,
        storage: Storage,
        def: *mut VMMemoryDefinition,
    ) -> Result<LinearMemory, VmError> {
        let mut own_def = None;
        let def = if def.is_null() {
            let boxed = own_def.insert(Box::new(VMMemoryDefinition {
                base: std::ptr::null_mut(),
                current_length: 0,
            }));
            &mut **boxed as *mut VMMemoryDefinition
        } else {
            def
        };
        let mut memory = LinearMemory {
            storage,
            def,
            own_def,
            ty,
            pages: 0,
        };
        memory.set_pages(ty.minimum)?;
        Ok(memory)
    }

    fn set_pages(&mut self, pages: u64) -> Result<(), VmError> {
        let old_bytes = (self.pages * WASM_PAGE_SIZE) as usize;
        let new_bytes = (pages * WASM_PAGE_SIZE) as usize;
        if new_bytes > self.storage.limit() {
            // A reservation below 4 GiB (`Tunables::memory_reservation`)
            // or a pool's `max_memory_size` caps the memory: it never moves.
            return Err(VmError::Limit(format!(
                "memory of {pages} pages exceeds its reservation of {} bytes",
                self.storage.limit()
            )));
        }
        if new_bytes > old_bytes {
            self.storage.grow(old_bytes, new_bytes)?;
        }
        self.pages = pages;
        // SAFETY: `def` is valid for the memory's life (constructor contract
        // or our own box), and only this memory writes it.
        unsafe {
            *self.def = VMMemoryDefinition {
                base: self.storage.base(),
                current_length: new_bytes,
            };
        }
        Ok(())
    }

    /// Grows by `delta` pages; returns the old size in pages, or `None` if
    /// the maximum forbids it, `limiter` refuses, or memory ran out.
    ///
    /// The limiter is asked only for growth the maximum allows, and not for
    /// a growth by zero pages (which always succeeds).
    pub fn grow(&mut self, delta: u64, limiter: Option<&mut dyn GrowthLimiter>) -> Option<u64> {
        let old = self.pages;
        let new = old.checked_add(delta)?;
        let max = self.ty.maximum.unwrap_or(MAX_PAGES_32).min(MAX_PAGES_32);
        if new > max {
            return None;
        }
        if delta > 0
            && let Some(limiter) = limiter
            && !limiter.memory_growing(
                pages_to_bytes(old),
                pages_to_bytes(new),
                self.ty.maximum.map(pages_to_bytes),
            )
        {
            return None;
        }
        self.set_pages(new).ok()?;
        Some(old)
    }

    /// Makes the memory's bytes at `image.offset()..` those of `image`,
    /// mapped copy-on-write (see [`crate::memory_image`]). Only meant for a
    /// memory nothing has written yet: whatever the range held is replaced
    /// by the image, zeros included. The image must lie within the
    /// memory's current size.
    pub(crate) fn map_image(&mut self, image: &MemoryImage) -> Result<(), VmError> {
        let size = pages_to_bytes(self.pages);
        if image
            .offset()
            .checked_add(image.len())
            .is_none_or(|end| end > size)
        {
            return Err(VmError::Limit(format!(
                "a memory image of {} bytes at {} does not fit a memory of {size} bytes",
                image.len(),
                image.offset()
            )));
        }
        match &mut self.storage {
            Storage::Own(mmap) => {
                mmap.map_file_private(image.offset(), image.len(), image.fd(), image.file_offset())
            }
            Storage::Pooled(slot) => slot.map_image(image),
        }
    }

    /// Current size in pages.
    pub fn pages(&self) -> u64 {
        self.pages
    }

    /// The memory's type (with the current size as minimum).
    pub fn ty(&self) -> MemoryType {
        MemoryType {
            minimum: self.pages,
            ..self.ty
        }
    }

    /// Pointer to the definition compiled code reads (for imports).
    pub fn definition(&self) -> *mut VMMemoryDefinition {
        self.def
    }

    /// The accessible bytes.
    pub fn data(&self) -> &[u8] {
        let len = (self.pages * WASM_PAGE_SIZE) as usize;
        // SAFETY: the first `len` bytes of the mapping are accessible, and
        // Wasm does not run while the host holds this borrow.
        unsafe { std::slice::from_raw_parts(self.storage.base(), len) }
    }

    /// The accessible bytes, mutably.
    pub fn data_mut(&mut self) -> &mut [u8] {
        let len = (self.pages * WASM_PAGE_SIZE) as usize;
        // SAFETY: as in `data`, and `&mut self` makes the borrow unique.
        unsafe { std::slice::from_raw_parts_mut(self.storage.base(), len) }
    }
}

impl std::fmt::Debug for LinearMemory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LinearMemory")
            .field("pages", &self.pages)
            .field("ty", &self.ty)
            .field("owns_definition", &self.own_def.is_some())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::tests::Caps;

    fn ty(minimum: u64, maximum: Option<u64>) -> MemoryType {
        MemoryType {
            minimum,
            maximum,
            memory64: false,
            shared: false,
        }
    }

    #[test]
    fn never_grows_past_its_reservation() {
        let tunables = Tunables {
            bounds_checks: tandem_environ::BoundsChecks::Explicit,
            memory_reservation: 2 * WASM_PAGE_SIZE,
            ..Tunables::default()
        };
        // SAFETY: a null definition makes the memory own it.
        let mut m =
            unsafe { LinearMemory::new(ty(1, None), &tunables, std::ptr::null_mut()) }.unwrap();
        assert_eq!(m.grow(1, None), Some(1));
        assert_eq!(m.grow(1, None), None);
        assert_eq!(m.pages(), 2);
        // SAFETY: as above.
        let too_big = unsafe { LinearMemory::new(ty(3, None), &tunables, std::ptr::null_mut()) };
        assert!(too_big.is_err());
    }

    #[test]
    fn grows_within_maximum_and_keeps_definition_current() {
        // SAFETY: a null definition makes the memory own it.
        let mut m = unsafe {
            LinearMemory::new(ty(1, Some(3)), &Tunables::default(), std::ptr::null_mut())
        }
        .unwrap();
        m.data_mut()[65535] = 7;
        assert_eq!(m.grow(2, None), Some(1));
        assert_eq!(m.grow(1, None), None);
        assert_eq!(m.data()[65535], 7);
        // SAFETY: the definition lives as long as `m`.
        let def = unsafe { &*m.definition() };
        assert_eq!(def.current_length, 3 << 16);
        assert_eq!(m.grow(0, None), Some(3));
    }

    fn imaged(minimum: u64, data: &[(i32, &[u8])]) -> tandem_environ::ModuleInfo {
        use tandem_environ::{ConstExpr, ConstOp, DataSegment, MemoryIndex, SegmentMode};
        tandem_environ::ModuleInfo {
            memories: vec![ty(minimum, None)],
            data: data
                .iter()
                .map(|&(offset, bytes)| DataSegment {
                    mode: SegmentMode::Active {
                        target: MemoryIndex::from_u32(0),
                        offset: ConstExpr::single(ConstOp::I32Const(offset)),
                    },
                    data: bytes.into(),
                })
                .collect(),
            ..Default::default()
        }
    }

    fn new_memory(minimum: u64, maximum: Option<u64>) -> LinearMemory {
        // SAFETY: a null definition makes the memory own it.
        unsafe {
            LinearMemory::new(
                ty(minimum, maximum),
                &Tunables::default(),
                std::ptr::null_mut(),
            )
        }
        .unwrap()
    }

    #[test]
    fn image_is_visible_and_outlives_its_file() {
        use crate::memory_image::MemoryImages;
        use tandem_environ::DefinedMemoryIndex;
        let images = MemoryImages::new(&imaged(2, &[(16, b"hello"), (70_000, b"far")]))
            .unwrap()
            .unwrap();
        let mut m = new_memory(2, None);
        m.map_image(images.get(DefinedMemoryIndex::new(0)).unwrap())
            .unwrap();
        drop(images);
        assert_eq!(&m.data()[16..21], b"hello");
        assert_eq!(&m.data()[70_000..70_003], b"far");
        assert!(m.data()[21..70_000].iter().all(|&x| x == 0));
    }

    #[test]
    fn image_is_copy_on_write_and_growth_adds_zero_pages() {
        use crate::memory_image::MemoryImages;
        use tandem_environ::DefinedMemoryIndex;
        let images = MemoryImages::new(&imaged(1, &[(16, b"hello")]))
            .unwrap()
            .unwrap();
        let image = images.get(DefinedMemoryIndex::new(0)).unwrap();
        let mut a = new_memory(1, Some(4));
        let mut b = new_memory(1, Some(4));
        a.map_image(image).unwrap();
        b.map_image(image).unwrap();
        a.data_mut()[16] = b'J';
        assert_eq!(&a.data()[16..21], b"Jello");
        assert_eq!(&b.data()[16..21], b"hello", "writes stay private");
        let c = {
            let mut c = new_memory(1, None);
            c.map_image(image).unwrap();
            c
        };
        assert_eq!(&c.data()[16..21], b"hello", "the image itself is unchanged");

        assert_eq!(a.grow(2, None), Some(1));
        assert_eq!(a.data().len(), 3 << 16);
        assert!(a.data()[65536..].iter().all(|&x| x == 0));
        assert_eq!(&a.data()[16..21], b"Jello");
        a.data_mut()[(3 << 16) - 1] = 1;
        assert_eq!(a.data()[(3 << 16) - 1], 1);

        let mut empty = new_memory(0, None);
        assert!(
            matches!(empty.map_image(image), Err(VmError::Limit(_))),
            "an image larger than the memory is refused"
        );
    }

    #[test]
    fn limiter_caps_growth_and_sees_bytes() {
        // SAFETY: a null definition makes the memory own it.
        let mut m = unsafe {
            LinearMemory::new(ty(0, Some(9)), &Tunables::default(), std::ptr::null_mut())
        }
        .unwrap();
        let mut caps = Caps {
            memory_bytes: Some(WASM_PAGE_SIZE as usize),
            ..Caps::default()
        };
        assert_eq!(m.grow(2, Some(&mut caps)), None);
        assert_eq!(m.grow(1, Some(&mut caps)), Some(0));
        // Beyond the declared maximum the limiter is not asked; by zero
        // pages neither.
        assert_eq!(m.grow(20, Some(&mut caps)), None);
        assert_eq!(m.grow(0, Some(&mut caps)), Some(1));
        let page = WASM_PAGE_SIZE as usize;
        assert_eq!(
            caps.asked,
            [(0, 2 * page, Some(9 * page)), (0, page, Some(9 * page))]
        );
        assert_eq!(m.pages(), 1);
    }
}
