//! What a backend hands back: [`CompiledFunction`]s and the
//! [`CompiledModule`] that groups them.

use tandem_environ::{DefinedFuncIndex, Libcall, TrapCode, VMOffsets};

/// What a relocation points at. Targets are named, never addresses, so one
/// linker in `tandem-vm` resolves them for both backends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RelocTarget {
    /// The body of a defined function of the same module.
    Func(DefinedFuncIndex),
    /// The module's Wasm-to-libcall trampoline for this libcall.
    LibcallTrampoline(Libcall),
}

/// How a relocation is patched.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RelocKind {
    /// x86-64 `call rel32` / `jmp rel32`: write
    /// `target + addend - (code_start + offset)` as an i32.
    X86PcRel4,
    /// An absolute 64-bit address: write `target + addend`.
    Abs8,
}

/// A place in the code to patch with a target's address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Relocation {
    /// Byte offset of the patched field in the function's code.
    pub offset: u32,
    /// How to patch.
    pub kind: RelocKind,
    /// What to point at.
    pub target: RelocTarget,
    /// Added to the target's address.
    pub addend: i64,
}

/// An instruction that traps: the faulting instruction's offset (for
/// signal-raised traps, the offset of the faulting instruction itself).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TrapSite {
    /// Byte offset of the instruction in the function's code.
    pub code_offset: u32,
    /// Why it traps.
    pub code: TrapCode,
}

/// One compiled function or trampoline.
#[derive(Clone, Debug, Default)]
pub struct CompiledFunction {
    /// Machine code.
    pub code: Vec<u8>,
    /// Required alignment of the code's start, in bytes.
    pub alignment: u32,
    /// Fix-ups to apply when linking.
    pub relocs: Vec<Relocation>,
    /// Trapping instructions, sorted by offset.
    pub traps: Vec<TrapSite>,
    /// `(code offset, Wasm bytecode offset)` pairs sorted by code offset: the
    /// instruction at a code offset belongs to the Wasm operator at the byte
    /// offset, until the next pair.
    pub address_map: Vec<(u32, u32)>,
}

/// Every artifact of one module, ready for `tandem-vm` to link.
#[derive(Debug)]
pub struct CompiledModule {
    /// Bodies, by [`DefinedFuncIndex`].
    pub funcs: Vec<CompiledFunction>,
    /// Array-to-Wasm entries by [`DefinedFuncIndex`]; `None` for functions
    /// that cannot be reached from outside the module's code.
    pub array_to_wasm: Vec<Option<CompiledFunction>>,
    /// Wasm-to-array trampolines, one per distinct signature.
    pub wasm_to_array: Vec<CompiledFunction>,
    /// For each `TypeIndex`, its slot in [`Self::wasm_to_array`].
    pub wasm_to_array_of_type: Vec<u32>,
    /// The libcall trampolines the code uses.
    pub libcall_trampolines: Vec<(Libcall, CompiledFunction)>,
    /// The layout the code was compiled against.
    pub offsets: VMOffsets,
}
