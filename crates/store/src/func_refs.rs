//! The per-store arena of `VMFuncRef`s (see the seed document on func-refs).
//!
//! Func-refs are bump-allocated so their addresses never move for the
//! store's life: tables, globals and compiled code hold raw pointers to them.
//! A host function's func-ref starts with a hole (no `wasm_call`); the hole
//! is filled as soon as a module registered in the store has a Wasm-to-array
//! trampoline for its signature. The arena also keeps alive what func-refs
//! point into: host-function contexts owned by this store, and those shared
//! with other stores through a `Linker`.

use std::collections::HashMap;
use std::ptr::NonNull;
use std::sync::Arc;
use tandem_vm::{VMFuncRef, VMHostFuncContext};

/// Things that must live as long as the store because func-refs point
/// into them. Each variant adds its own heap indirection, so growing the
/// storage vector never moves them.
pub(crate) enum Storage {
    /// A host function owned by this store (`Func::new`, `Func::wrap`).
    BoxHost(#[allow(dead_code, reason = "kept alive for the func-ref")] Box<VMHostFuncContext>),
    /// A host function shared with other stores (a `Linker` definition).
    ArcHost(#[allow(dead_code, reason = "kept alive for the func-ref")] Arc<HostFuncBox>),
    /// The resolved imports of an `InstancePre` instantiated here.
    InstancePreDefinitions(
        #[allow(dead_code, reason = "kept alive for the func-refs")] Arc<crate::linker::PreItems>,
    ),
    /// The pre-patched func-refs of an `InstancePre` instantiated here.
    InstancePreFuncRefs(
        #[allow(dead_code, reason = "kept alive for the store's life")]
        Arc<crate::linker::PreFuncRefs>,
    ),
}

/// A host-function context shared between stores.
pub(crate) struct HostFuncBox(pub(crate) Box<VMHostFuncContext>);

// SAFETY: the context is immutable after creation; its host state is
// `Send + Sync`, and its func-ref's pointers reach only the context itself.
unsafe impl Send for HostFuncBox {}
// SAFETY: as above.
unsafe impl Sync for HostFuncBox {}

/// The arena.
#[derive(Default)]
pub(crate) struct FuncRefs {
    bump: bumpalo::Bump,
    with_holes: Vec<NonNull<VMFuncRef>>,
    storage: Vec<Storage>,
}

impl FuncRefs {
    /// Copies `func_ref` into the arena and returns its pinned address,
    /// filling its hole right away when a trampoline is known.
    pub(crate) fn push(
        &mut self,
        func_ref: VMFuncRef,
        trampolines: &HashMap<u32, usize>,
    ) -> NonNull<VMFuncRef> {
        let pinned = NonNull::from(self.bump.alloc(func_ref));
        // SAFETY: `pinned` was just allocated in our arena and is unaliased.
        if !unsafe { try_fill(pinned, trampolines) } {
            self.with_holes.push(pinned);
        }
        pinned
    }

    /// Keeps `item` alive for the store's life.
    pub(crate) fn keep(&mut self, item: Storage) {
        self.storage.push(item);
    }

    /// Fills every hole a known trampoline can fill.
    pub(crate) fn fill(&mut self, trampolines: &HashMap<u32, usize>) {
        // SAFETY: every entry points into our arena, alive while `self` is.
        self.with_holes
            .retain(|&f| !unsafe { try_fill(f, trampolines) });
    }

    /// Number of func-refs still waiting for a `wasm_call`.
    pub(crate) fn holes(&self) -> usize {
        self.with_holes.len()
    }
}

/// Fills `func_ref`'s hole if a trampoline for its type is known; returns
/// whether it has a `wasm_call` now.
///
/// # Safety
///
/// `func_ref` must point to a live func-ref not borrowed elsewhere.
unsafe fn try_fill(mut func_ref: NonNull<VMFuncRef>, trampolines: &HashMap<u32, usize>) -> bool {
    // SAFETY: guaranteed by the caller.
    let func_ref = unsafe { func_ref.as_mut() };
    if !func_ref.wasm_call.is_null() {
        return true;
    }
    match trampolines.get(&func_ref.type_index) {
        Some(&trampoline) => {
            func_ref.wasm_call = trampoline as *const u8;
            true
        }
        None => false,
    }
}
