//! The pooling instance allocator: address space for a fixed number of
//! instances, memories and tables, reserved once, handed out as slots and
//! taken back, so instantiating in a loop makes no `mmap` at all.
//!
//! # Slots
//!
//! | pool | one slot | reset when given back |
//! |---|---|---|
//! | instances | `max_core_instance_size` bytes for a VMContext | zeroed when taken |
//! | memories | a whole memory reservation (`Tunables::memory_reservation`, guard included) | `madvise(DONTNEED)` on its accessible part: anonymous pages read as zeros again, pages of a mapped memory image as the image again |
//! | tables | `table_elements` pointer-sized elements | zeroed (`memset` up to `table_keep_resident` bytes or a page, `madvise` beyond) |
//!
//! A memory slot keeps its memory image mapped when it is given back, and
//! a module instantiated again prefers a free slot holding its own image
//! (else one holding none), so the hot path is: take the slot, make the
//! module's initial pages accessible if the slot's last user had fewer
//! (an `mprotect`, usually not even that), run; and on drop one `madvise`.
//! The memory stays where it is and never moves, as every Tandem memory.
//!
//! Memories of a slot can grow up to `max_memory_size` (and the
//! reservation); 64-bit and shared memories do not fit a slot sized for
//! 32-bit memories and are refused. Running out of slots of any kind is an
//! error naming the limit ([`PoolConfig`] has wasmtime's names).
//!
//! Free slots are kept last-freed first, which keeps recently used pages
//! (and page-table entries) warm.

use crate::memory_image::MemoryImage;
use crate::mmap::{self, Access, Mmap};
use crate::{VmError, memory::WASM_PAGE_SIZE};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use tandem_environ::{ModuleInfo, Tunables, VMOffsets};

/// The sizes and counts of an [`InstancePool`], with wasmtime's
/// `PoolingAllocationConfig` names and defaults.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PoolConfig {
    /// Instances alive at once (each holds one instance slot).
    pub total_core_instances: u32,
    /// Memories alive at once, in all instances.
    pub total_memories: u32,
    /// Tables alive at once, in all instances.
    pub total_tables: u32,
    /// Bytes a memory may have (initially and by growing).
    pub max_memory_size: usize,
    /// Elements a table may have (initially and by growing).
    pub table_elements: usize,
    /// Memories one instance may define.
    pub max_memories_per_module: u32,
    /// Tables one instance may define.
    pub max_tables_per_module: u32,
    /// Bytes of one instance's VMContext.
    pub max_core_instance_size: usize,
    /// Bytes at the start of a memory without an image that are zeroed
    /// with `memset` when its slot is given back, instead of being handed
    /// back to the system (saves the page faults of the next user).
    pub linear_memory_keep_resident: usize,
    /// The same for a table's elements.
    pub table_keep_resident: usize,
}

impl Default for PoolConfig {
    fn default() -> Self {
        PoolConfig {
            total_core_instances: 1000,
            total_memories: 1000,
            total_tables: 1000,
            max_memory_size: 4 << 30,
            table_elements: 20_000,
            max_memories_per_module: 1,
            max_tables_per_module: 1,
            max_core_instance_size: 1 << 20,
            linear_memory_keep_resident: 0,
            table_keep_resident: 0,
        }
    }
}

/// Preallocated slots for instances, memories and tables; cheap to clone
/// (clones share the slots). See the module docs.
#[derive(Clone, Debug)]
pub struct InstancePool {
    inner: Arc<PoolInner>,
}

#[derive(Debug)]
struct PoolInner {
    config: PoolConfig,
    /// `total_memories` slots of `memory_slot` bytes, inaccessible until used.
    memories: Mmap,
    memory_slot: usize,
    /// Most bytes a memory of this pool may have.
    memory_limit: usize,
    /// `total_tables` slots of `table_slot` bytes, read+write.
    tables: Mmap,
    table_slot: usize,
    /// `total_core_instances` slots of `instance_slot` bytes, read+write.
    instances: Mmap,
    instance_slot: usize,
    free: Mutex<Free>,
    /// How many memory images were mapped and removed (for tests).
    image_maps: AtomicU64,
}

/// The free slots of each kind, most recently freed last.
#[derive(Debug, Default)]
struct Free {
    memories: Vec<FreeMemory>,
    tables: Vec<u32>,
    instances: Vec<u32>,
}

/// A free memory slot and the state its last user left it in.
#[derive(Clone, Copy, Debug)]
struct FreeMemory {
    index: u32,
    /// Bytes from the slot's start that are read+write (all zero, or the
    /// image's contents where it is mapped).
    accessible: usize,
    /// The image mapped in the slot, inside `[0, accessible)`.
    image: Option<MappedImage>,
}

/// Which image is mapped where in a memory slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct MappedImage {
    id: u64,
    offset: usize,
    len: usize,
}

fn exhausted(what: &str, limit: u32, setting: &str) -> VmError {
    VmError::Limit(format!(
        "maximum concurrent {what} limit of {limit} reached (PoolingAllocationConfig::{setting})"
    ))
}

impl InstancePool {
    /// Reserves the address space of every slot of `config`, for memories
    /// laid out by `tunables`.
    ///
    /// # Errors
    ///
    /// If the reservation fails, or `config` asks for an empty slot size.
    pub fn new(config: &PoolConfig, tunables: &Tunables) -> Result<InstancePool, VmError> {
        let page = mmap::page_size();
        let too_large =
            |what: &str| VmError::Limit(format!("the pool's {what} do not fit the address space"));
        let memory_slot = usize::try_from(tunables.memory_reservation)
            .ok()
            .and_then(|r| r.checked_next_multiple_of(page))
            .ok_or_else(|| too_large("memory slots"))?;
        let memory_limit = config.max_memory_size.min(memory_slot).min(4 << 30);
        let table_slot = config
            .table_elements
            .checked_mul(size_of::<*mut u8>())
            .and_then(|b| b.checked_next_multiple_of(page))
            .ok_or_else(|| too_large("tables"))?;
        let instance_slot = config
            .max_core_instance_size
            .checked_next_multiple_of(16)
            .ok_or_else(|| too_large("instances"))?;
        let total = |count: u32, slot: usize, what: &str| {
            (count as usize)
                .checked_mul(slot)
                .ok_or_else(|| too_large(what))
        };
        let memories = Mmap::reserve(total(config.total_memories, memory_slot, "memory slots")?)?;
        let tables = Mmap::accessible(total(config.total_tables, table_slot, "tables")?)?;
        let instances = Mmap::accessible(total(
            config.total_core_instances,
            instance_slot,
            "instances",
        )?)?;
        let free = Free {
            memories: (0..config.total_memories)
                .rev()
                .map(|index| FreeMemory {
                    index,
                    accessible: 0,
                    image: None,
                })
                .collect(),
            tables: (0..config.total_tables).rev().collect(),
            instances: (0..config.total_core_instances).rev().collect(),
        };
        Ok(InstancePool {
            inner: Arc::new(PoolInner {
                config: config.clone(),
                memories,
                memory_slot,
                memory_limit,
                tables,
                table_slot,
                instances,
                instance_slot,
                free: Mutex::new(free),
                image_maps: AtomicU64::new(0),
            }),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &PoolConfig {
        &self.inner.config
    }

    /// Whether instances of `module` fit this pool's slots: every memory
    /// and table it defines, their number, and its VMContext.
    ///
    /// # Errors
    ///
    /// [`VmError::Limit`] naming what does not fit and the setting.
    pub fn check_module(&self, module: &ModuleInfo) -> Result<(), VmError> {
        let config = &self.inner.config;
        let limit = |message: String| Err(VmError::Limit(message));
        let memories = module.num_defined_memories();
        if memories > config.max_memories_per_module as usize {
            return limit(format!(
                "the module defines {memories} memories, more than the pooling allocator's limit of {} per instance (PoolingAllocationConfig::max_memories_per_module)",
                config.max_memories_per_module
            ));
        }
        let tables = module.num_defined_tables();
        if tables > config.max_tables_per_module as usize {
            return limit(format!(
                "the module defines {tables} tables, more than the pooling allocator's limit of {} per instance (PoolingAllocationConfig::max_tables_per_module)",
                config.max_tables_per_module
            ));
        }
        for ty in &module.memories[module.num_imported_memories as usize..] {
            if ty.memory64 || ty.shared {
                return limit(
                    "64-bit and shared memories do not fit the pooling allocator's slots, which are sized for 32-bit memories".into(),
                );
            }
            let bytes = ty.minimum.saturating_mul(WASM_PAGE_SIZE);
            if bytes > self.inner.memory_limit as u64 {
                return limit(format!(
                    "a memory's minimum of {bytes} bytes exceeds the pooling allocator's limit of {} bytes (PoolingAllocationConfig::max_memory_size)",
                    self.inner.memory_limit
                ));
            }
        }
        for ty in &module.tables[module.num_imported_tables as usize..] {
            if ty.minimum > config.table_elements as u64 {
                return limit(format!(
                    "a table's minimum of {} elements exceeds the pooling allocator's limit of {} (PoolingAllocationConfig::table_elements)",
                    ty.minimum, config.table_elements
                ));
            }
        }
        let size = VMOffsets::new(module).size() as usize;
        if size > self.inner.instance_slot {
            return limit(format!(
                "the instance's VMContext of {size} bytes exceeds the pooling allocator's limit of {} bytes (PoolingAllocationConfig::max_core_instance_size)",
                config.max_core_instance_size
            ));
        }
        Ok(())
    }

    fn free(&self) -> std::sync::MutexGuard<'_, Free> {
        // Every change under the lock is one push or remove: a panic
        // elsewhere cannot leave the lists inconsistent.
        self.inner
            .free
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// A zeroed VMContext of `size` bytes (16-byte aligned).
    pub(crate) fn instance(&self, size: usize) -> Result<InstanceSlot, VmError> {
        let inner = &self.inner;
        if size > inner.instance_slot {
            return Err(VmError::Limit(format!(
                "the instance's VMContext of {size} bytes exceeds the pooling allocator's limit of {} bytes (PoolingAllocationConfig::max_core_instance_size)",
                inner.config.max_core_instance_size
            )));
        }
        let index = self.free().instances.pop().ok_or_else(|| {
            exhausted(
                "core instance",
                inner.config.total_core_instances,
                "total_core_instances",
            )
        })?;
        let ptr = inner
            .instances
            .as_ptr()
            .wrapping_add(index as usize * inner.instance_slot)
            .cast_mut();
        // SAFETY: the slot is ours alone until given back, inside the
        // read+write instance mapping, and `size` fits it.
        unsafe { ptr.write_bytes(0, size) };
        Ok(InstanceSlot {
            pool: self.clone(),
            index,
            ptr: NonNull::new(ptr).expect("a mapping is never at address 0"),
        })
    }

    /// A table slot holding `elements` null elements.
    pub(crate) fn table(&self, elements: usize) -> Result<TableSlot, VmError> {
        let inner = &self.inner;
        if elements > inner.config.table_elements {
            return Err(VmError::Limit(format!(
                "a table of {elements} elements exceeds the pooling allocator's limit of {} (PoolingAllocationConfig::table_elements)",
                inner.config.table_elements
            )));
        }
        let index = self
            .free()
            .tables
            .pop()
            .ok_or_else(|| exhausted("table", inner.config.total_tables, "total_tables"))?;
        let ptr = inner
            .tables
            .as_ptr()
            .wrapping_add(index as usize * inner.table_slot)
            .cast_mut()
            .cast::<*mut u8>();
        Ok(TableSlot {
            pool: self.clone(),
            index,
            ptr: NonNull::new(ptr).expect("a mapping is never at address 0"),
            capacity: inner.config.table_elements,
            len: elements,
        })
    }

    /// A memory slot whose first `initial` bytes are read+write and zero,
    /// preferring one that already maps `image` (see the module docs).
    pub(crate) fn memory(
        &self,
        initial: usize,
        image: Option<&MemoryImage>,
    ) -> Result<MemorySlot, VmError> {
        let inner = &self.inner;
        if initial > inner.memory_limit {
            return Err(VmError::Limit(format!(
                "a memory of {initial} bytes exceeds the pooling allocator's limit of {} bytes (PoolingAllocationConfig::max_memory_size)",
                inner.memory_limit
            )));
        }
        let wanted = image.map(MemoryImage::id);
        let state = {
            let mut free = self.free();
            let list = &free.memories;
            let pos = list
                .iter()
                .rposition(|s| s.image.map(|m| m.id) == wanted)
                .or_else(|| list.iter().rposition(|s| s.image.is_none()))
                .or(list.len().checked_sub(1))
                .ok_or_else(|| {
                    exhausted("memory", inner.config.total_memories, "total_memories")
                })?;
            free.memories.remove(pos)
        };
        let mut slot = MemorySlot {
            pool: self.clone(),
            index: state.index,
            base: NonNull::new(
                inner
                    .memories
                    .as_ptr()
                    .wrapping_add(state.index as usize * inner.memory_slot)
                    .cast_mut(),
            )
            .expect("a mapping is never at address 0"),
            accessible: state.accessible,
            image: state.image,
        };
        if let Err(e) = slot.prepare(initial, wanted) {
            slot.scrap();
            return Err(e);
        }
        Ok(slot)
    }

    /// How many times a memory image was mapped into a slot or removed
    /// from one (each an `mmap`); a module instantiated again and again
    /// maps its image once per slot it uses.
    pub fn image_mappings(&self) -> u64 {
        self.inner.image_maps.load(Ordering::Relaxed)
    }
}

/// One instance's VMContext storage in a pool; given back on drop.
#[derive(Debug)]
pub(crate) struct InstanceSlot {
    pool: InstancePool,
    index: u32,
    ptr: NonNull<u8>,
}

impl InstanceSlot {
    /// The slot's first byte (16-byte aligned).
    pub(crate) fn ptr(&self) -> *mut u8 {
        self.ptr.as_ptr()
    }
}

impl Drop for InstanceSlot {
    fn drop(&mut self) {
        self.pool.free().instances.push(self.index);
    }
}

/// One table's element storage in a pool: `len` elements in use of
/// `capacity`; zeroed and given back on drop.
#[derive(Debug)]
pub(crate) struct TableSlot {
    pool: InstancePool,
    index: u32,
    ptr: NonNull<*mut u8>,
    capacity: usize,
    len: usize,
}

impl TableSlot {
    /// The elements in use.
    pub(crate) fn elements(&self) -> &[*mut u8] {
        // SAFETY: the slot is ours alone; its first `len <= capacity`
        // elements are initialised (zero, or written since).
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }

    /// The elements in use, mutably.
    pub(crate) fn elements_mut(&mut self) -> &mut [*mut u8] {
        // SAFETY: as above, and `&mut self` makes the borrow unique.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }

    /// Grows to `len` elements of `init`, or `false` past the capacity.
    pub(crate) fn grow(&mut self, len: usize, init: *mut u8) -> bool {
        if len > self.capacity {
            return false;
        }
        let old = self.len;
        self.len = len;
        self.elements_mut()[old..].fill(init);
        true
    }
}

impl Drop for TableSlot {
    fn drop(&mut self) {
        let bytes = self.len * size_of::<*mut u8>();
        // Zeroing up to a page in place costs less than the `madvise` and
        // the page fault that would follow it.
        let resident = self
            .pool
            .inner
            .config
            .table_keep_resident
            .max(mmap::page_size());
        let keep = bytes.min(resident);
        let base = self.ptr.as_ptr().cast::<u8>();
        // SAFETY: the slot is ours alone and read+write; no reference into
        // it outlives the table being dropped.
        let reset = unsafe {
            base.write_bytes(0, keep);
            let start = keep.next_multiple_of(mmap::page_size());
            if start < bytes {
                base.add(keep).write_bytes(0, start - keep);
                mmap::discard_range(base.add(start), bytes - start)
            } else {
                base.add(keep).write_bytes(0, bytes - keep);
                Ok(())
            }
        };
        if reset.is_ok() {
            self.pool.free().tables.push(self.index);
        }
        // Otherwise the slot is not clean and stays out of use.
    }
}

/// One memory's reservation in a pool; reset and given back on drop.
#[derive(Debug)]
pub(crate) struct MemorySlot {
    pool: InstancePool,
    index: u32,
    base: NonNull<u8>,
    /// Bytes from `base` that are read+write.
    accessible: usize,
    image: Option<MappedImage>,
}

// SAFETY: the slot is address space owned by whoever holds it, like an
// `Mmap`; the pool it points back to is `Send + Sync`.
unsafe impl Send for MemorySlot {}
// SAFETY: as above; `&MemorySlot` only hands out raw pointers.
unsafe impl Sync for MemorySlot {}
// SAFETY: as for `MemorySlot`.
unsafe impl Send for TableSlot {}
// SAFETY: as above.
unsafe impl Sync for TableSlot {}
// SAFETY: as for `MemorySlot`.
unsafe impl Send for InstanceSlot {}
// SAFETY: as above.
unsafe impl Sync for InstanceSlot {}

impl MemorySlot {
    /// The first byte of the memory.
    pub(crate) fn base(&self) -> *mut u8 {
        self.base.as_ptr()
    }

    /// Most bytes the memory may grow to.
    pub(crate) fn limit(&self) -> usize {
        self.pool.inner.memory_limit
    }

    /// Makes the slot fit a new memory of `initial` bytes that will map
    /// image `wanted`: removes another image, and makes exactly the first
    /// `initial` bytes accessible.
    fn prepare(&mut self, initial: usize, wanted: Option<u64>) -> Result<(), VmError> {
        if let Some(mapped) = self.image
            && Some(mapped.id) != wanted
        {
            // SAFETY: the image lies in the slot's accessible part, which is
            // ours alone and not referenced.
            unsafe {
                mmap::remap_anonymous(
                    self.base().add(mapped.offset),
                    mapped.len,
                    Access::ReadWrite,
                )?
            };
            self.image = None;
            self.pool.inner.image_maps.fetch_add(1, Ordering::Relaxed);
        }
        if self.accessible > initial {
            // SAFETY: inside the slot, ours alone, no reference into it.
            unsafe {
                mmap::protect_range(
                    self.base().add(initial),
                    self.accessible - initial,
                    Access::None,
                )?
            };
            self.accessible = initial;
        }
        self.make_accessible(initial)
    }

    /// Makes the first `bytes` read+write (growth).
    pub(crate) fn make_accessible(&mut self, bytes: usize) -> Result<(), VmError> {
        if bytes > self.limit() {
            return Err(VmError::Limit(format!(
                "a memory of {bytes} bytes exceeds the pooling allocator's limit of {} bytes (PoolingAllocationConfig::max_memory_size)",
                self.limit()
            )));
        }
        if bytes > self.accessible {
            // SAFETY: inside the slot (below the limit, itself within the
            // slot), ours alone.
            unsafe {
                mmap::protect_range(
                    self.base().add(self.accessible),
                    bytes - self.accessible,
                    Access::ReadWrite,
                )?
            };
            self.accessible = bytes;
        }
        Ok(())
    }

    /// Maps `image` at its offset unless the slot already holds it (then
    /// its pages already read as the image: the last user's writes were
    /// discarded). The range must be accessible and unwritten.
    pub(crate) fn map_image(&mut self, image: &MemoryImage) -> Result<(), VmError> {
        let mapped = MappedImage {
            id: image.id(),
            offset: image.offset(),
            len: image.len(),
        };
        if self.image == Some(mapped) {
            return Ok(());
        }
        debug_assert!(self.image.is_none(), "`prepare` removed other images");
        if mapped.offset + mapped.len > self.accessible {
            return Err(VmError::Limit(format!(
                "a memory image of {} bytes at {} does not fit a memory of {} bytes",
                mapped.len, mapped.offset, self.accessible
            )));
        }
        // SAFETY: inside the accessible part of the slot, ours alone; the
        // image's sealed memfd never shrinks.
        unsafe {
            mmap::map_file_over(
                self.base().add(mapped.offset),
                mapped.len,
                image.fd(),
                image.file_offset(),
            )?
        };
        self.image = Some(mapped);
        self.pool.inner.image_maps.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Puts the slot back as if never used: inaccessible, no image. Used
    /// when it cannot be reset or prepared; if even that fails the slot is
    /// left out of use.
    fn scrap(&mut self) {
        let len = self.pool.inner.memory_slot;
        // SAFETY: the whole slot is ours alone, nothing references it.
        if unsafe { mmap::remap_anonymous(self.base(), len, Access::None) }.is_ok() {
            self.pool.free().memories.push(FreeMemory {
                index: self.index,
                accessible: 0,
                image: None,
            });
        }
        self.image = None;
        self.accessible = 0;
        // Keep `Drop` from giving the slot back a second time.
        self.index = u32::MAX;
    }
}

impl Drop for MemorySlot {
    fn drop(&mut self) {
        if self.index == u32::MAX {
            return;
        }
        let keep = match self.image {
            None => {
                self.pool
                    .inner
                    .config
                    .linear_memory_keep_resident
                    .min(self.accessible)
                    / mmap::page_size()
                    * mmap::page_size()
            }
            Some(_) => 0,
        };
        // SAFETY: the accessible part is ours alone and read+write; the
        // memory that referenced it is being dropped.
        let reset = unsafe {
            self.base().write_bytes(0, keep);
            mmap::discard_range(self.base().add(keep), self.accessible - keep)
        };
        match reset {
            Ok(()) => self.pool.free().memories.push(FreeMemory {
                index: self.index,
                accessible: self.accessible,
                image: self.image,
            }),
            Err(_) => self.scrap(),
        }
    }
}

#[cfg(test)]
mod tests;
