//! Calls with the Wasm call of `tandem_codegen_api::abi`:
//! `(callee_vmctx, caller_vmctx, args...)`: `call`, `call_indirect`,
//! `call_ref`, and their tail-call forms `return_call*`.
//!
//! A defined callee is called directly (relocation `RelocTarget::Func`)
//! with this function's VMContext as both vmctx arguments. An imported
//! callee, and every `call_indirect` and `call_ref`, goes through a
//! `VMFuncRef`: its `wasm_call` with its `vmctx`.
//!
//! Tail calls are Cranelift's `return_call` / `return_call_indirect`: both
//! sides use the `tail` convention, so Cranelift grows this function's
//! incoming argument area in its prologue when a tail callee needs more
//! stack arguments, and shrinks it at the jump (the contract the baseline
//! matches, see `tandem_codegen_api::abi`).

use super::Translator;
use crate::env::{POINTER, constant_field, mutable_field};
use crate::isa::ir_trap;
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{FuncRef, InstBuilder, MemFlagsData, SigRef, Value, types};
use tandem_codegen_api::CompileError;
use tandem_codegen_api::lower::LowerCall;
use tandem_environ::{FuncIndex, TableIndex, TrapCode, TypeIndex, VMOffsets};

/// Flags for a field of a `VMFuncRef` reached through a checked pointer:
/// it never changes, but the load must stay after the check.
fn func_ref_field() -> MemFlagsData {
    MemFlagsData::trusted().with_readonly()
}

/// Flags for the first load through a `VMFuncRef` pointer that may be
/// null: the load is the null check (the first page is never mapped, and
/// the trap table maps the fault to `code`).
fn func_ref_field_or_trap(code: TrapCode) -> MemFlagsData {
    MemFlagsData::new()
        .with_aligned()
        .with_readonly()
        .with_trap_code(Some(ir_trap(code)))
}

/// What a call jumps to.
#[derive(Clone, Copy)]
enum Callee {
    /// A defined function of this module, by relocation.
    Direct(FuncRef),
    /// Code at a run-time address, with signature `SigRef`.
    Indirect(SigRef, Value),
}

impl Translator<'_, '_> {
    /// Fills `bufs.values` with `callee_vmctx`, this VMContext and the top
    /// `params` operands, which it pops.
    fn call_args(&mut self, callee_vmctx: Value, params: usize) -> Result<(), CompileError> {
        let at = self.top(params)?;
        self.bufs.values.clear();
        self.bufs.values.push(callee_vmctx);
        self.bufs.values.push(self.env.vmctx);
        self.bufs.values.extend_from_slice(&self.bufs.stack[at..]);
        self.bufs.stack.truncate(at);
        Ok(())
    }

    /// The number of parameters of type `ty`.
    fn param_count(&self, ty: TypeIndex) -> Result<usize, CompileError> {
        Ok(self
            .env
            .module
            .types
            .get(ty.index())
            .ok_or_else(|| crate::codegen_error("type index out of range"))?
            .params
            .len())
    }

    /// Calls (or, with `tail`, tail-calls) `callee` with the `params` top
    /// operands; a call pushes its results.
    fn emit_call(
        &mut self,
        callee: Callee,
        callee_vmctx: Value,
        params: usize,
        tail: bool,
    ) -> Result<(), CompileError> {
        self.call_args(callee_vmctx, params)?;
        let args = &self.bufs.values;
        let ins = self.b.ins();
        if tail {
            match callee {
                Callee::Direct(f) => ins.return_call(f, args),
                Callee::Indirect(sig, code) => ins.return_call_indirect(sig, code, args),
            };
            self.reachable = false;
            return Ok(());
        }
        let call = match callee {
            Callee::Direct(f) => ins.call(f, args),
            Callee::Indirect(sig, code) => ins.call_indirect(sig, code, args),
        };
        let results = self.b.inst_results(call);
        self.bufs.stack.extend_from_slice(results);
        Ok(())
    }

    /// `call` or `return_call` of `func`.
    fn call_func(&mut self, func: FuncIndex, tail: bool) -> Result<(), CompileError> {
        let module = self.env.module;
        let ty = (module.func_type_index(func))
            .ok_or_else(|| crate::codegen_error("function index out of range"))?;
        let params = module.types[ty.index()].params.len();
        match module.defined_func_index(func) {
            Some(defined) => {
                let callee = self.env.defined_func_ref(&mut self.b, defined)?;
                self.emit_call(Callee::Direct(callee), self.env.vmctx, params, tail)
            }
            None => {
                let sig = self.env.sig_ref(&mut self.b, ty)?;
                let at = self.env.offsets.func_ref(func);
                let code = self
                    .env
                    .load_vmctx_ptr(&mut self.b, at + VMOffsets::FUNC_REF_WASM_CALL);
                let callee_vmctx = self
                    .env
                    .load_vmctx_ptr(&mut self.b, at + VMOffsets::FUNC_REF_VMCTX);
                self.emit_call(Callee::Indirect(sig, code), callee_vmctx, params, tail)
            }
        }
    }

    /// The code and VMContext of the `VMFuncRef` at `func_ref`: when
    /// `null` is a trap code, the pointer may be null and the first load
    /// traps with it then.
    fn func_ref_target(&mut self, func_ref: Value, null: Option<TrapCode>) -> (Value, Value) {
        let flags = match null {
            Some(code) => func_ref_field_or_trap(code),
            None => func_ref_field(),
        };
        let code = self.b.ins().load(
            POINTER,
            flags,
            func_ref,
            VMOffsets::FUNC_REF_WASM_CALL as i32,
        );
        let vmctx = self.b.ins().load(
            POINTER,
            func_ref_field(),
            func_ref,
            VMOffsets::FUNC_REF_VMCTX as i32,
        );
        (code, vmctx)
    }

    /// `call_indirect` or `return_call_indirect`: bounds, null and
    /// signature checks (none of the last through a table whose elements
    /// all have type `ty`, `ModuleInfo::fixed_table_type`), then a call
    /// through the element's `VMFuncRef`.
    fn call_table(
        &mut self,
        ty: TypeIndex,
        table: TableIndex,
        tail: bool,
    ) -> Result<(), CompileError> {
        let params = self.param_count(ty)?;
        let sig = self.env.sig_ref(&mut self.b, ty)?;
        let index = self.pop()?;
        let addr = self.table_elem_addr(table, index, TrapCode::IndirectCallOutOfBounds);
        let func_ref = self.b.ins().load(POINTER, mutable_field(), addr, 0);
        if self.env.module.fixed_table_type(table) == Some(ty) {
            // Every element is null or a function of type `ty`, forever:
            // the null check (the first load's fault) is the only one left.
            let (code, callee_vmctx) =
                self.func_ref_target(func_ref, Some(TrapCode::IndirectCallToNull));
            return self.emit_call(Callee::Indirect(sig, code), callee_vmctx, params, tail);
        }
        // The null check is this load: a null element faults on it, and
        // its trap code says why.
        let actual = self.b.ins().load(
            types::I32,
            func_ref_field_or_trap(TrapCode::IndirectCallToNull),
            func_ref,
            VMOffsets::FUNC_REF_TYPE_INDEX as i32,
        );
        let expected = self.b.ins().load(
            types::I32,
            constant_field(),
            self.env.vmctx,
            self.env.offsets.type_id(ty) as i32,
        );
        let mismatch = self.b.ins().icmp(IntCC::NotEqual, actual, expected);
        self.b
            .ins()
            .trapnz(mismatch, ir_trap(TrapCode::BadSignature));
        let (code, callee_vmctx) = self.func_ref_target(func_ref, None);
        self.emit_call(Callee::Indirect(sig, code), callee_vmctx, params, tail)
    }

    /// `call_ref` or `return_call_ref`: the reference on top is of type
    /// `ty` by validation, so only null is checked.
    fn call_through_ref(&mut self, ty: TypeIndex, tail: bool) -> Result<(), CompileError> {
        let params = self.param_count(ty)?;
        let sig = self.env.sig_ref(&mut self.b, ty)?;
        let func_ref = self.pop()?;
        let (code, callee_vmctx) =
            self.func_ref_target(func_ref, Some(TrapCode::NullFunctionReference));
        self.emit_call(Callee::Indirect(sig, code), callee_vmctx, params, tail)
    }
}

impl LowerCall for Translator<'_, '_> {
    fn call(&mut self, func: FuncIndex) -> Result<(), CompileError> {
        self.call_func(func, false)
    }

    fn call_indirect(&mut self, ty: TypeIndex, table: TableIndex) -> Result<(), CompileError> {
        self.call_table(ty, table, false)
    }

    fn call_ref(&mut self, ty: TypeIndex) -> Result<(), CompileError> {
        self.call_through_ref(ty, false)
    }

    fn return_call(&mut self, func: FuncIndex) -> Result<(), CompileError> {
        self.call_func(func, true)
    }

    fn return_call_indirect(
        &mut self,
        ty: TypeIndex,
        table: TableIndex,
    ) -> Result<(), CompileError> {
        self.call_table(ty, table, true)
    }

    fn return_call_ref(&mut self, ty: TypeIndex) -> Result<(), CompileError> {
        self.call_through_ref(ty, true)
    }
}
