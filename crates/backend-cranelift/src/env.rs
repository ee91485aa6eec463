//! How compiled code reaches the runtime's structures: Cranelift signatures
//! for the Wasm call and the libcalls, memory flags, and [`FuncEnv`], which
//! computes VMContext addresses from [`VMOffsets`] and calls libcalls for one
//! function being translated.

use crate::isa::{FUNC_NAMESPACE, LIBCALL_NAMESPACE};
use cranelift_codegen::ir::{
    AbiParam, ArgumentPurpose, ExtFuncData, ExternalName, FuncRef, InstBuilder, MemFlagsData,
    SigRef, Signature, Type, UserExternalName, Value, types,
};
use cranelift_codegen::isa::CallConv;
use cranelift_frontend::FunctionBuilder;
use std::collections::HashMap;
use tandem_codegen_api::lower::{FloatTy, IntTy, NumTy};
use tandem_codegen_api::{CompileError, CompileInputs};
use tandem_environ::{
    DefinedFuncIndex, FuncIndex, FuncType, GlobalIndex, Libcall, LibcallType, MemoryIndex,
    ModuleInfo, TableIndex, Tunables, TypeIndex, VMOffsets, ValType,
};

/// The pointer type of every supported target.
pub(crate) const POINTER: Type = types::I64;

/// Flags for a VMContext field that never changes while code runs (store
/// context, builtins, imported definitions' addresses, ...): the load is
/// pure and may be hoisted or merged.
pub(crate) fn constant_field() -> MemFlagsData {
    MemFlagsData::trusted().with_readonly().with_can_move()
}

/// Flags for a run-time field that may change (lengths, table bases, mutable
/// globals): aligned and never faulting.
pub(crate) fn mutable_field() -> MemFlagsData {
    MemFlagsData::trusted()
}

/// The Cranelift type of a Wasm value type; every `v128` is an `i8x16`
/// (see `translate::simd`).
pub(crate) fn ir_type(ty: ValType) -> Type {
    match ty {
        ValType::I32 => types::I32,
        ValType::I64 => types::I64,
        ValType::F32 => types::F32,
        ValType::F64 => types::F64,
        ValType::Ref(_) => POINTER,
        ValType::V128 => types::I8X16,
    }
}

/// The IR type of an operator family's integer type.
pub(crate) fn int_type(ty: IntTy) -> Type {
    match ty {
        IntTy::I32 => types::I32,
        IntTy::I64 => types::I64,
    }
}

/// The IR type of an operator family's float type.
pub(crate) fn float_type(ty: FloatTy) -> Type {
    match ty {
        FloatTy::F32 => types::F32,
        FloatTy::F64 => types::F64,
    }
}

/// The IR type of an operator family's numeric type.
pub(crate) fn num_type(ty: NumTy) -> Type {
    match ty {
        NumTy::I32 => types::I32,
        NumTy::I64 => types::I64,
        NumTy::F32 => types::F32,
        NumTy::F64 => types::F64,
    }
}

/// The Cranelift type of a value type as wasmparser reads it (locals and
/// block types); every reference type is a pointer.
pub(crate) fn wasm_ir_type(ty: tandem_environ::wasmparser::ValType) -> Type {
    use tandem_environ::wasmparser::ValType as W;
    match ty {
        W::I32 => types::I32,
        W::I64 => types::I64,
        W::F32 => types::F32,
        W::F64 => types::F64,
        W::Ref(_) => POINTER,
        W::V128 => types::I8X16,
    }
}

/// The Wasm-call signature of `ty` (see `tandem_codegen_api::abi`):
/// `(callee_vmctx, caller_vmctx, params...) -> results` with `tail`.
pub(crate) fn wasm_signature(ty: &FuncType) -> Result<Signature, CompileError> {
    let mut sig = Signature::new(CallConv::Tail);
    sig.params
        .push(AbiParam::special(POINTER, ArgumentPurpose::VMContext));
    sig.params.push(AbiParam::new(POINTER));
    for &p in ty.params.iter() {
        sig.params.push(AbiParam::new(ir_type(p)));
    }
    for &r in ty.results.iter() {
        sig.returns.push(AbiParam::new(ir_type(r)));
    }
    Ok(sig)
}

/// The Cranelift type of a libcall parameter or result.
fn libcall_type(ty: LibcallType) -> Type {
    match ty {
        LibcallType::VMContext | LibcallType::Pointer | LibcallType::I64 => types::I64,
        LibcallType::I32 => types::I32,
        LibcallType::F32 => types::F32,
        LibcallType::F64 => types::F64,
    }
}

/// The System V signature of `libcall` (also its trampoline's).
pub(crate) fn libcall_signature(libcall: Libcall) -> Signature {
    let ls = libcall.signature();
    let mut sig = Signature::new(CallConv::SystemV);
    sig.params
        .extend(ls.params.iter().map(|&t| AbiParam::new(libcall_type(t))));
    sig.returns
        .extend(ls.result.map(|t| AbiParam::new(libcall_type(t))));
    sig
}

/// Where a definition (memory, table, global) lives: `base + offset`.
#[derive(Clone, Copy)]
pub(crate) struct DefAddr {
    /// The VMContext (defined) or the loaded definition pointer (imported).
    pub base: Value,
    /// Byte offset of the definition from `base`.
    pub offset: i32,
}

impl DefAddr {
    /// The offset of the definition's field at `field`.
    pub fn field(self, field: u32) -> i32 {
        self.offset + field as i32
    }
}

/// Converts a VMContext offset to a Cranelift offset immediate.
fn imm(offset: u32) -> i32 {
    // VMContext offsets are bounded by counts validated to fit in the
    // address space; a VMContext beyond 2 GiB cannot be allocated.
    i32::try_from(offset).unwrap_or(i32::MAX)
}

/// The environment of one function being translated: the module, its layout,
/// the function's VMContext value and caches of imported references.
pub(crate) struct FuncEnv<'a> {
    /// The module.
    pub module: &'a ModuleInfo,
    /// Its VMContext layout.
    pub offsets: &'a VMOffsets,
    /// Shared settings.
    pub tunables: &'a Tunables,
    /// This function's own VMContext (its `callee_vmctx` parameter).
    pub vmctx: Value,
    libcalls: [Option<FuncRef>; Libcall::COUNT],
    funcs: HashMap<FuncIndex, FuncRef>,
    sigs: HashMap<TypeIndex, SigRef>,
}

impl<'a> FuncEnv<'a> {
    /// An environment for a function whose VMContext is `vmctx`.
    pub fn new(inputs: &CompileInputs<'a>, vmctx: Value) -> Self {
        FuncEnv {
            module: inputs.module,
            offsets: inputs.offsets,
            tunables: inputs.tunables,
            vmctx,
            libcalls: [None; Libcall::COUNT],
            funcs: HashMap::new(),
            sigs: HashMap::new(),
        }
    }

    /// Loads a pointer-sized constant VMContext field.
    pub fn load_vmctx_ptr(&self, b: &mut FunctionBuilder, offset: u32) -> Value {
        b.ins()
            .load(POINTER, constant_field(), self.vmctx, imm(offset))
    }

    /// Where memory `index`'s `VMMemoryDefinition` is.
    pub fn memory_def(&self, b: &mut FunctionBuilder, index: MemoryIndex) -> DefAddr {
        match self.module.defined_memory_index(index) {
            Some(def) => DefAddr {
                base: self.vmctx,
                offset: imm(self.offsets.defined_memory(def)),
            },
            None => DefAddr {
                base: self.load_vmctx_ptr(b, self.offsets.imported_memory(index)),
                offset: 0,
            },
        }
    }

    /// Where table `index`'s `VMTableDefinition` is.
    pub fn table_def(&self, b: &mut FunctionBuilder, index: TableIndex) -> DefAddr {
        match self.module.defined_table_index(index) {
            Some(def) => DefAddr {
                base: self.vmctx,
                offset: imm(self.offsets.defined_table(def)),
            },
            None => DefAddr {
                base: self.load_vmctx_ptr(b, self.offsets.imported_table(index)),
                offset: 0,
            },
        }
    }

    /// Where global `index`'s value is.
    pub fn global_def(&self, b: &mut FunctionBuilder, index: GlobalIndex) -> DefAddr {
        match self.module.defined_global_index(index) {
            Some(def) => DefAddr {
                base: self.vmctx,
                offset: imm(self.offsets.defined_global(def)),
            },
            None => DefAddr {
                base: self.load_vmctx_ptr(b, self.offsets.imported_global(index)),
                offset: 0,
            },
        }
    }

    /// Loads table `index`'s base and current element count.
    ///
    /// A table whose type's maximum is its minimum never grows (an
    /// imported one too: the table given must fit that type), so its
    /// storage never moves and its size is a constant (as toolchains emit
    /// their function tables).
    pub fn table_bounds(&self, b: &mut FunctionBuilder, index: TableIndex) -> (Value, Value) {
        let def = self.table_def(b, index);
        let fixed = self
            .module
            .tables
            .get(index.index())
            .filter(|t| t.maximum == Some(t.minimum))
            .map(|t| t.minimum);
        let flags = if fixed.is_some() {
            constant_field()
        } else {
            mutable_field()
        };
        let base = b
            .ins()
            .load(POINTER, flags, def.base, def.field(VMOffsets::TABLE_BASE));
        let len = match fixed.and_then(|n| i64::try_from(n).ok()) {
            Some(n) => b.ins().iconst(POINTER, n),
            None => b.ins().load(
                POINTER,
                mutable_field(),
                def.base,
                def.field(VMOffsets::TABLE_CURRENT_ELEMENTS),
            ),
        };
        (base, len)
    }

    /// The address of function `index`'s `VMFuncRef` in this VMContext.
    pub fn func_ref_addr(&self, b: &mut FunctionBuilder, index: FuncIndex) -> Value {
        b.ins()
            .iadd_imm_u(self.vmctx, i64::from(self.offsets.func_ref(index)))
    }

    /// The signature of Wasm type `ty`, imported into the function.
    pub fn sig_ref(
        &mut self,
        b: &mut FunctionBuilder,
        ty: TypeIndex,
    ) -> Result<SigRef, CompileError> {
        if let Some(&sig) = self.sigs.get(&ty) {
            return Ok(sig);
        }
        let sig = b.import_signature(wasm_signature(&self.module.types[ty.index()])?);
        self.sigs.insert(ty, sig);
        Ok(sig)
    }

    /// A direct reference to defined function `index` (relocation
    /// `RelocTarget::Func`).
    pub fn defined_func_ref(
        &mut self,
        b: &mut FunctionBuilder,
        index: DefinedFuncIndex,
    ) -> Result<FuncRef, CompileError> {
        let func = self.module.func_index(index);
        if let Some(&f) = self.funcs.get(&func) {
            return Ok(f);
        }
        let signature = self.sig_ref(b, self.module.functions[func.index()])?;
        let name = b
            .func
            .declare_imported_user_function(UserExternalName::new(FUNC_NAMESPACE, index.as_u32()));
        let f = b.import_function(ExtFuncData {
            name: ExternalName::user(name),
            signature,
            colocated: true,
            patchable: false,
        });
        self.funcs.insert(func, f);
        Ok(f)
    }

    /// Calls `libcall` (through the module's libcall trampoline) with this
    /// function's VMContext followed by `args`; returns its result if any.
    pub fn call_libcall(
        &mut self,
        b: &mut FunctionBuilder,
        libcall: Libcall,
        args: &[Value],
    ) -> Option<Value> {
        let f = match self.libcalls[libcall.index()] {
            Some(f) => f,
            None => {
                let signature = b.import_signature(libcall_signature(libcall));
                let name = b.func.declare_imported_user_function(UserExternalName::new(
                    LIBCALL_NAMESPACE,
                    libcall.index() as u32,
                ));
                let f = b.import_function(ExtFuncData {
                    name: ExternalName::user(name),
                    signature,
                    colocated: true,
                    patchable: false,
                });
                self.libcalls[libcall.index()] = Some(f);
                f
            }
        };
        let mut all = Vec::with_capacity(args.len() + 1);
        all.push(self.vmctx);
        all.extend_from_slice(args);
        let call = b.ins().call(f, &all);
        b.inst_results(call).first().copied()
    }
}
