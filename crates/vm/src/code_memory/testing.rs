//! Hand-assembled x86-64 code for the tests of this crate, so linking,
//! traps and unwinding can be tested without a compiler backend.
//!
//! Functions follow the Wasm call (`rdi` = callee vmctx) with a frame
//! pointer; [`array_to_wasm`] and [`libcall_trampoline`] follow the contracts
//! in `tandem_codegen_api::abi`. The "vmctx" is a [`FakeVmctx`] with the
//! store and builtins pointers at their `VMOffsets` positions.

use crate::vmcontext::{ArrayCallFn, VMStoreContext};
use std::sync::Arc;
use tandem_codegen_api::{
    CompiledFunction, CompiledModule, RelocKind, RelocTarget, Relocation, TrapSite,
};
use tandem_environ::{
    DefinedFuncIndex, FuncIndex, FuncType, Libcall, ModuleInfo, TrapCode, TypeIndex, VMOffsets,
    ValType,
};

/// A tiny byte emitter that records relocations, trap sites and an address
/// map as it goes.
#[derive(Default)]
pub(crate) struct Asm {
    f: CompiledFunction,
}

impl Asm {
    pub(crate) fn new() -> Asm {
        Asm::default()
    }

    fn pos(&self) -> u32 {
        self.f.code.len() as u32
    }

    /// Raw instruction bytes.
    pub(crate) fn bytes(&mut self, bytes: &[u8]) -> &mut Asm {
        self.f.code.extend_from_slice(bytes);
        self
    }

    /// An instruction that traps with `code`.
    pub(crate) fn trap(&mut self, code: TrapCode, bytes: &[u8]) -> &mut Asm {
        self.f.traps.push(TrapSite {
            code_offset: self.pos(),
            code,
        });
        self.bytes(bytes)
    }

    /// Following instructions belong to the Wasm operator at `offset`.
    pub(crate) fn wasm_offset(&mut self, offset: u32) -> &mut Asm {
        self.f.address_map.push((self.pos(), offset));
        self
    }

    /// `push rbp; mov rbp, rsp`
    pub(crate) fn prologue(&mut self) -> &mut Asm {
        self.bytes(&[0x55, 0x48, 0x89, 0xE5])
    }

    /// `pop rbp; ret`
    pub(crate) fn epilogue(&mut self) -> &mut Asm {
        self.bytes(&[0x5D, 0xC3])
    }

    /// `call rel32` to `target`.
    pub(crate) fn call(&mut self, target: RelocTarget) -> &mut Asm {
        self.bytes(&[0xE8]);
        self.f.relocs.push(Relocation {
            offset: self.pos(),
            kind: RelocKind::X86PcRel4,
            target,
            addend: -4,
        });
        self.bytes(&[0; 4])
    }

    /// `mov eax, imm32`
    pub(crate) fn mov_eax(&mut self, imm: u32) -> &mut Asm {
        self.bytes(&[0xB8]).bytes(&imm.to_le_bytes())
    }

    /// `mov esi, imm32` (the first argument after the vmctx)
    pub(crate) fn mov_esi(&mut self, imm: u32) -> &mut Asm {
        self.bytes(&[0xBE]).bytes(&imm.to_le_bytes())
    }

    pub(crate) fn finish(&mut self) -> CompiledFunction {
        std::mem::take(&mut self.f)
    }
}

/// `ud2`
pub(crate) const UD2: [u8; 2] = [0x0F, 0x0B];

/// The array-to-Wasm entry of `func` (an `() -> i64` function): records its
/// frame pointer as the entry FP, calls `func` with the vmctx twice, stores
/// `rax` into `values[0]`, returns `true`.
pub(crate) fn array_to_wasm(func: usize) -> CompiledFunction {
    Asm::new()
        .prologue()
        .bytes(&[0x53]) // push rbx
        .bytes(&[0x48, 0x83, 0xEC, 0x08]) // sub rsp, 8
        .bytes(&[0x48, 0x89, 0xD3]) // mov rbx, rdx
        .bytes(&[0x48, 0x8B, 0x47, 0x08]) // mov rax, [rdi + VMCTX_STORE_CONTEXT]
        .bytes(&[0x48, 0x89, 0x68, 0x28]) // mov [rax + STORE_LAST_WASM_ENTRY_FP], rbp
        .bytes(&[0x48, 0x89, 0xFE]) // mov rsi, rdi
        .call(RelocTarget::Func(DefinedFuncIndex::new(func)))
        .bytes(&[0x48, 0x89, 0x03]) // mov [rbx], rax
        .mov_eax(1)
        .bytes(&[0x48, 0x83, 0xC4, 0x08]) // add rsp, 8
        .bytes(&[0x5B]) // pop rbx
        .epilogue()
        .finish()
}

/// The Wasm-to-libcall trampoline of `libcall`: records the exit FP and PC
/// through the vmctx's store, then calls `builtins[libcall]`.
pub(crate) fn libcall_trampoline(libcall: Libcall) -> CompiledFunction {
    let slot = (libcall.index() * 8) as u32;
    Asm::new()
        .prologue()
        .bytes(&[0x48, 0x8B, 0x47, 0x08]) // mov rax, [rdi + VMCTX_STORE_CONTEXT]
        .bytes(&[0x4C, 0x8B, 0x55, 0x00]) // mov r10, [rbp]
        .bytes(&[0x4C, 0x89, 0x50, 0x18]) // mov [rax + STORE_LAST_WASM_EXIT_FP], r10
        .bytes(&[0x4C, 0x8B, 0x55, 0x08]) // mov r10, [rbp + 8]
        .bytes(&[0x4C, 0x89, 0x50, 0x20]) // mov [rax + STORE_LAST_WASM_EXIT_PC], r10
        .bytes(&[0x48, 0x8B, 0x47, 0x10]) // mov rax, [rdi + VMCTX_BUILTINS]
        .bytes(&[0xFF, 0x90]) // call [rax + slot]
        .bytes(&slot.to_le_bytes())
        .epilogue()
        .finish()
}

/// A function of the test module: its name, body, and whether it gets an
/// array-to-Wasm entry.
pub(crate) struct TestFunc {
    pub(crate) name: &'static str,
    pub(crate) body: CompiledFunction,
    pub(crate) entry: bool,
}

/// Builds the module info and compiled module for `funcs`, all of type
/// `() -> i64`, with trampolines for `libcalls`.
pub(crate) fn test_module(
    funcs: Vec<TestFunc>,
    libcalls: &[Libcall],
) -> (CompiledModule, Arc<ModuleInfo>) {
    let mut module = ModuleInfo {
        name: Some("test".into()),
        types: vec![FuncType::new([], [ValType::I64])],
        ..ModuleInfo::default()
    };
    let mut compiled = CompiledModule {
        funcs: Vec::new(),
        array_to_wasm: Vec::new(),
        wasm_to_array: vec![Asm::new().bytes(&UD2).finish()],
        wasm_to_array_of_type: vec![0],
        libcall_trampolines: libcalls
            .iter()
            .map(|&l| (l, libcall_trampoline(l)))
            .collect(),
        offsets: VMOffsets::new(&module),
    };
    for (i, func) in funcs.into_iter().enumerate() {
        module.functions.push(TypeIndex::from_u32(0));
        module.escaping.push(func.entry);
        module
            .func_names
            .insert(FuncIndex::new(i), func.name.to_string());
        compiled.funcs.push(func.body);
        compiled
            .array_to_wasm
            .push(func.entry.then(|| array_to_wasm(i)));
    }
    compiled.offsets = VMOffsets::new(&module);
    (compiled, Arc::new(module))
}

/// The vmctx the hand-assembled code expects: store at offset 8, builtins at
/// offset 16 (as in `VMOffsets`), plus test data.
#[repr(C)]
pub(crate) struct FakeVmctx {
    pub(crate) magic: u32,
    pub(crate) store: *const VMStoreContext,
    pub(crate) builtins: *const [usize; Libcall::COUNT],
    /// An entry for host functions that call back into Wasm.
    pub(crate) reenter: Option<ArrayCallFn>,
}

const _: () = {
    assert!(std::mem::offset_of!(FakeVmctx, store) == VMOffsets::VMCTX_STORE_CONTEXT as usize);
    assert!(std::mem::offset_of!(FakeVmctx, builtins) == VMOffsets::VMCTX_BUILTINS as usize);
};
