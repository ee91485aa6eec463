//! The runtime functions compiled code calls ("libcalls").
//!
//! Rules every libcall follows (see the seed document on libcalls):
//! - Parameters and results are raw `i32`/`i64`/`f32`/`f64`/pointers only,
//!   as listed once in [`tandem_environ::foreach_libcall!`].
//! - Each body in `impls` is an ordinary safe function returning
//!   `Result`. The `extern "C"` shim generated for it converts the VMContext
//!   to the instance, calls the body, and only after the body has returned —
//!   so every Rust local it had is already dropped — raises the trap, which
//!   unwinds straight to the host's landing pad without running destructors.
//! - Compiled code enters a libcall through its module's Wasm-to-libcall
//!   trampoline, which records the last Wasm frame pointer and PC so the
//!   trap's backtrace starts at the calling Wasm frame.
//! - A panic in a body (a bug, or a host `ResourceLimiter` that panics) is
//!   caught by the shim and carried to the host as an unwind, which resumes
//!   the panic there: it never crosses the `extern "C"` boundary.
//!
//! # Externrefs
//!
//! A raw externref pointer arriving here (the init value of `table.grow`,
//! the value of `table.fill`) must be turned into an owning handle before
//! anything that could collect garbage runs. In Tandem the collector
//! (`Store::gc` in `tandem-store`) refuses to run while any Wasm of the
//! store is on the stack — so neither the store's `ResourceLimiter` nor an
//! interrupt hook (which has the whole store) can collect during a libcall.
//! So a libcall may store the raw pointer directly: it is kept alive by
//! whatever Wasm got it from (a table, a global, or a host handle behind an
//! argument), none of which can be collected until the outermost Wasm call
//! returns, and once stored in a table it is a root of its own. A libcall
//! that ever calls back into host code with store access must first clone
//! such a pointer into a handle.

use crate::instance::Instance;
use crate::interrupt::Interrupt;
use tandem_environ::Libcall;

/// How a libcall body receives its caller: most take `&mut Instance`; the
/// ones that run host code able to re-enter the store take [`Vmctx`], so no
/// reference to the instance is live while that code runs.
trait FromVmctx {
    /// # Safety
    ///
    /// `vmctx` is the VMContext of a live instance running a libcall.
    unsafe fn from_vmctx(vmctx: *mut u8) -> Self;
}

impl FromVmctx for &mut Instance {
    unsafe fn from_vmctx(vmctx: *mut u8) -> Self {
        // SAFETY: guaranteed by the caller; while Wasm runs nothing else
        // borrows the instance.
        unsafe { Instance::from_vmctx(vmctx) }
    }
}

/// The calling instance's VMContext, unborrowed.
#[derive(Clone, Copy)]
pub(crate) struct Vmctx(*mut u8);

impl FromVmctx for Vmctx {
    unsafe fn from_vmctx(vmctx: *mut u8) -> Self {
        Vmctx(vmctx)
    }
}

/// How a libcall body fails.
#[derive(Debug)]
pub enum LibcallError {
    /// Raise this trap.
    Trap(tandem_environ::TrapCode),
    /// A host function already recorded why Wasm must unwind.
    Pending,
}

impl From<tandem_environ::TrapCode> for LibcallError {
    fn from(code: tandem_environ::TrapCode) -> Self {
        LibcallError::Trap(code)
    }
}

/// Result of a libcall body.
pub type LibcallResult<T = ()> = Result<T, LibcallError>;

macro_rules! libcall_type {
    (ptr) => { *mut u8 };
    (i32) => { i32 };
    (i64) => { i64 };
    (f32) => { f32 };
    (f64) => { f64 };
}

macro_rules! define_shims {
    ($($(#[$doc:meta])* $name:ident(vmctx: vmctx $(, $pname:ident: $pty:ident)*) $(-> $rty:ident)?;)*) => {
        /// The `extern "C"` entry points, one per libcall.
        pub(crate) mod raw {
            use super::*;
            $(
                $(#[$doc])*
                ///
                /// # Safety
                ///
                /// Called only by compiled code, with the VMContext of a live
                /// instance whose store is inside `catch_traps`.
                pub(crate) unsafe extern "C" fn $name(vmctx: *mut u8 $(, $pname: libcall_type!($pty))*) $(-> libcall_type!($rty))? {
                    let result = {
                        // SAFETY: compiled code passes its own live VMContext,
                        // and while Wasm runs nothing else borrows the instance.
                        let instance = unsafe { FromVmctx::from_vmctx(vmctx) };
                        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                            impls::$name(instance $(, $pname)*)
                        }))
                    };
                    // Each raise below skips only this shim (which owns
                    // nothing: the body has returned, so its locals are
                    // dropped), the libcall trampoline and Wasm.
                    match result {
                        Ok(Ok(value)) => value,
                        // SAFETY: only skippable frames are above the pad (see above).
                        Ok(Err(LibcallError::Trap(code))) => unsafe {
                            crate::traphandlers::raise_trap(code)
                        },
                        // SAFETY: as above.
                        Ok(Err(LibcallError::Pending)) => unsafe {
                            crate::traphandlers::raise_pending()
                        },
                        // SAFETY: as above.
                        Err(payload) => unsafe {
                            crate::traphandlers::raise_unwind(
                                crate::traphandlers::UnwindReason::Panic(payload),
                            )
                        },
                    }
                }
            )*
        }

        /// The address table every VMContext points to, in [`Libcall`] order.
        pub(crate) static BUILTINS: Builtins = Builtins([$(raw::$name as *const u8,)*]);

        #[cfg(test)]
        const NAMES: &[&str] = &[$(stringify!($name),)*];
    };
}

/// The libcall address table.
#[repr(transparent)]
pub(crate) struct Builtins([*const u8; Libcall::COUNT]);

// SAFETY: the table holds immutable function addresses.
unsafe impl Sync for Builtins {}

impl Builtins {
    /// Pointer to the first entry (what `VMCTX_BUILTINS` holds).
    pub(crate) fn as_ptr(&self) -> *const *const u8 {
        self.0.as_ptr()
    }

    /// The address of `libcall`.
    #[cfg(test)]
    pub(crate) fn get(&self, libcall: Libcall) -> *const u8 {
        self.0[libcall.index()]
    }
}

tandem_environ::foreach_libcall!(define_shims);

/// The libcall bodies: safe functions over the calling instance.
pub(crate) mod impls {
    use super::*;
    use tandem_environ::{DataIndex, ElemIndex, MemoryIndex, TableIndex, TrapCode};

    pub(super) fn memory_grow(
        instance: &mut Instance,
        memory: i32,
        delta: i64,
    ) -> LibcallResult<i64> {
        let limiter = instance.limiter();
        let memory = instance.memory_mut(MemoryIndex::from_u32(memory as u32));
        // SAFETY: `set_limiter`'s contract keeps the slot valid and unborrowed
        // while a libcall of the instance runs; the borrow ends with the call.
        let limiter = limiter.map(|mut l| unsafe { l.as_mut() });
        Ok(memory
            .grow(delta as u64, limiter)
            .map_or(-1, |old| old as i64))
    }

    pub(super) fn memory_fill(
        instance: &mut Instance,
        memory: i32,
        dst: i64,
        value: i32,
        len: i64,
    ) -> LibcallResult {
        let data = instance
            .memory_mut(MemoryIndex::from_u32(memory as u32))
            .data_mut();
        let range = crate::instance::memory_range(dst as u64, len as u64, data.len())?;
        data[range].fill(value as u8);
        Ok(())
    }

    pub(super) fn memory_copy(
        instance: &mut Instance,
        dst_memory: i32,
        dst: i64,
        src_memory: i32,
        src: i64,
        len: i64,
    ) -> LibcallResult {
        let (dst_memory, src_memory) = (
            MemoryIndex::from_u32(dst_memory as u32),
            MemoryIndex::from_u32(src_memory as u32),
        );
        let (dst, src, len) = (dst as u64, src as u64, len as u64);
        // Two indices may name one memory (multi-memory can import a memory
        // twice), so compare the memories, not the indices.
        if instance.memory_ptr(dst_memory) == instance.memory_ptr(src_memory) {
            let data = instance.memory_mut(dst_memory).data_mut();
            let src_range = crate::instance::memory_range(src, len, data.len())?;
            crate::instance::memory_range(dst, len, data.len())?;
            data.copy_within(src_range, dst as usize);
        } else {
            // SAFETY: the memories are distinct objects, so the shared and
            // the exclusive borrow below do not alias, and both memories
            // stay alive for the instance's life.
            let src_data = unsafe { (*instance.memory_ptr(src_memory)).data() };
            let src_range = crate::instance::memory_range(src, len, src_data.len())?;
            let dst_data = instance.memory_mut(dst_memory).data_mut();
            let dst_range = crate::instance::memory_range(dst, len, dst_data.len())?;
            dst_data[dst_range].copy_from_slice(&src_data[src_range]);
        }
        Ok(())
    }

    pub(super) fn memory_init(
        instance: &mut Instance,
        memory: i32,
        data: i32,
        dst: i64,
        src: i32,
        len: i32,
    ) -> LibcallResult {
        instance.memory_init(
            MemoryIndex::from_u32(memory as u32),
            DataIndex::from_u32(data as u32),
            dst as u64,
            src as u32,
            len as u32,
        )?;
        Ok(())
    }

    pub(super) fn data_drop(instance: &mut Instance, data: i32) -> LibcallResult {
        instance.data_drop(DataIndex::from_u32(data as u32));
        Ok(())
    }

    pub(super) fn table_grow(
        instance: &mut Instance,
        table: i32,
        delta: i32,
        init: *mut u8,
    ) -> LibcallResult<i32> {
        // `init` may be a raw externref: stored as is, which is sound because
        // no collection can run before this returns (see the module docs).
        let limiter = instance.limiter();
        let table = instance.table_mut(TableIndex::from_u32(table as u32));
        // SAFETY: as in `memory_grow`.
        let limiter = limiter.map(|mut l| unsafe { l.as_mut() });
        Ok(table
            .grow(delta as u32, init, limiter)
            .map_or(-1, |old| old as i32))
    }

    pub(super) fn table_fill(
        instance: &mut Instance,
        table: i32,
        dst: i32,
        value: *mut u8,
        len: i32,
    ) -> LibcallResult {
        // `value` may be a raw externref: see `table_grow`.
        instance
            .table_mut(TableIndex::from_u32(table as u32))
            .fill(dst as u32, value, len as u32)
            .map_err(|_| TrapCode::TableOutOfBounds.into())
    }

    pub(super) fn table_copy(
        instance: &mut Instance,
        dst_table: i32,
        src_table: i32,
        dst: i32,
        src: i32,
        len: i32,
    ) -> LibcallResult {
        let (dst_table, src_table) = (
            TableIndex::from_u32(dst_table as u32),
            TableIndex::from_u32(src_table as u32),
        );
        let (dst, src, len) = (dst as u32, src as u32, len as u32);
        let dst_ptr = instance.table_ptr(dst_table);
        let src_ptr = instance.table_ptr(src_table);
        let result = if dst_ptr == src_ptr {
            instance.table_mut(dst_table).copy_within(dst, src, len)
        } else {
            // SAFETY: distinct tables never alias and both outlive the call.
            let (dst_t, src_t) = unsafe { (&mut *dst_ptr, &*src_ptr) };
            dst_t.copy_from(dst, src_t, src, len)
        };
        result.map_err(|_| TrapCode::TableOutOfBounds.into())
    }

    pub(super) fn table_init(
        instance: &mut Instance,
        table: i32,
        elem: i32,
        dst: i32,
        src: i32,
        len: i32,
    ) -> LibcallResult {
        instance.table_init(
            TableIndex::from_u32(table as u32),
            ElemIndex::from_u32(elem as u32),
            dst as u32,
            src as u32,
            len as u32,
        )?;
        Ok(())
    }

    pub(super) fn elem_drop(instance: &mut Instance, elem: i32) -> LibcallResult {
        instance.elem_drop(ElemIndex::from_u32(elem as u32));
        Ok(())
    }

    pub(super) fn out_of_fuel(vmctx: Vmctx) -> LibcallResult {
        interrupt(vmctx, Interrupt::OutOfFuel, TrapCode::OutOfFuel)?;
        Ok(())
    }

    pub(super) fn new_epoch(vmctx: Vmctx) -> LibcallResult<i64> {
        let store = interrupt(vmctx, Interrupt::EpochDeadline, TrapCode::Interrupt)?;
        // SAFETY: the store context outlives its instances, and this thread
        // runs the store's Wasm.
        Ok(unsafe { *(*store).epoch_deadline.get() } as i64)
    }

    /// Asks the instance's interrupt hook, if it has one, whether Wasm may
    /// go on (else traps with `code`); returns the store context.
    fn interrupt(
        vmctx: Vmctx,
        why: Interrupt,
        code: TrapCode,
    ) -> LibcallResult<*mut crate::VMStoreContext> {
        let (hook, store) = {
            // SAFETY: the shim's caller passed a live VMContext; this
            // reference ends before the hook runs.
            let instance = unsafe { Instance::from_vmctx(vmctx.0) };
            (instance.interrupt_hook(), instance.store_context())
        };
        let hook = hook.ok_or(LibcallError::Trap(code))?;
        // SAFETY: this is a libcall of the store's running Wasm, on its
        // thread, and no reference to an instance is live.
        unsafe { hook(store, why) }?;
        Ok(store)
    }

    pub(super) fn raise_trap(_instance: &mut Instance, code: i32) -> LibcallResult {
        if code == tandem_codegen_api::abi::RAISE_PENDING {
            return Err(LibcallError::Pending);
        }
        Err(u8::try_from(code)
            .ok()
            .and_then(TrapCode::from_u8)
            .unwrap_or(TrapCode::UnreachableCodeReached)
            .into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::code_memory::LinkedCode;
    use crate::instance::InstanceImports;
    use crate::memory::LinearMemory;
    use crate::vmcontext::VMStoreContext;
    use std::sync::Arc;
    use tandem_environ::{MemoryType, ModuleInfo, TrapCode, Tunables};

    /// A one-page memory holding `1, 2, ..., 8` from address 0.
    fn memory() -> Box<LinearMemory> {
        let ty = MemoryType {
            minimum: 1,
            maximum: None,
            memory64: false,
            shared: false,
        };
        // SAFETY: a null definition makes the memory own it.
        let mut m = Box::new(
            unsafe { LinearMemory::new(ty, &Tunables::default(), std::ptr::null_mut()) }.unwrap(),
        );
        m.data_mut()[..8].copy_from_slice(&[1, 2, 3, 4, 5, 6, 7, 8]);
        m
    }

    /// Runs `f` on an instance whose memories 0 and 1 are the imports
    /// `memories` (the same memory twice, as multi-memory allows).
    fn with_instance(memories: [*mut LinearMemory; 2], f: impl FnOnce(&mut Instance)) {
        let (compiled, module) = crate::code_memory::testing::test_module(Vec::new(), &[]);
        let mut module = ModuleInfo::clone(&module);
        module.memories = memories
            .iter()
            // SAFETY: the memories outlive the instance.
            .map(|&m| unsafe { (*m).ty() })
            .collect();
        module.num_imported_memories = 2;
        let module = Arc::new(module);
        let code = LinkedCode::link(&compiled, module.clone()).unwrap();
        let mut store = VMStoreContext::default();
        let epoch = 0u64;
        let imports = InstanceImports {
            funcs: &[],
            tables: &[],
            memories: &memories,
            globals: &[],
        };
        // SAFETY: the memories, store context and epoch counter outlive the
        // instance, which is dropped at the end of this function.
        let mut instance = unsafe {
            Instance::new(
                module,
                code,
                Arc::from([0u32]),
                &mut store,
                &epoch,
                imports,
                &Tunables::default(),
                crate::instance::Allocator::OnDemand,
            )
        }
        .unwrap();
        f(&mut instance);
    }

    #[test]
    fn memory_copy_through_two_indices_of_one_memory_is_a_memmove() {
        let mut m = memory();
        let m_ptr: *mut LinearMemory = &mut *m;
        with_instance([m_ptr, m_ptr], |instance| {
            // Forward overlap: from memory 1 at 0 to memory 0 at 2.
            impls::memory_copy(instance, 0, 2, 1, 0, 6).unwrap();
            // Backward overlap: from memory 0 at 3 to memory 1 at 1.
            impls::memory_copy(instance, 1, 1, 0, 3, 4).unwrap();
            let oob = impls::memory_copy(instance, 0, 65535, 1, 0, 2);
            assert!(matches!(
                oob,
                Err(LibcallError::Trap(TrapCode::MemoryOutOfBounds))
            ));
        });
        assert_eq!(m.data()[..8], [1, 2, 3, 4, 5, 4, 5, 6]);
    }

    #[test]
    fn memory_copy_between_distinct_memories() {
        let (mut a, mut b) = (memory(), memory());
        b.data_mut()[..8].fill(9);
        let (a_ptr, b_ptr): (*mut LinearMemory, *mut LinearMemory) = (&mut *a, &mut *b);
        with_instance([a_ptr, b_ptr], |instance| {
            impls::memory_copy(instance, 0, 2, 1, 0, 3).unwrap();
            impls::memory_copy(instance, 1, 6, 0, 0, 2).unwrap();
            let oob = impls::memory_copy(instance, 1, 0, 0, 65535, 2);
            assert!(matches!(
                oob,
                Err(LibcallError::Trap(TrapCode::MemoryOutOfBounds))
            ));
        });
        assert_eq!(a.data()[..8], [1, 2, 9, 9, 9, 6, 7, 8]);
        assert_eq!(b.data()[..8], [9, 9, 9, 9, 9, 9, 1, 2]);
    }

    #[test]
    fn table_order_matches_the_libcall_list() {
        assert_eq!(NAMES.len(), Libcall::COUNT);
        for (&libcall, &name) in Libcall::ALL.iter().zip(NAMES) {
            assert_eq!(libcall.name(), name);
            assert!(!BUILTINS.get(libcall).is_null());
        }
    }
}
