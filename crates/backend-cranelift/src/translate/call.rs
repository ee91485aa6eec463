//! `call` and `call_indirect`, with the Wasm call of
//! `tandem_codegen_api::abi`: `(callee_vmctx, caller_vmctx, args...)`.
//!
//! A defined callee is called directly (relocation `RelocTarget::Func`)
//! with this function's VMContext as both vmctx arguments. An imported
//! callee, and every `call_indirect`, goes through a `VMFuncRef`: its
//! `wasm_call` with its `vmctx`.

use super::Translator;
use crate::env::{POINTER, constant_field, mutable_field};
use crate::isa::ir_trap;
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{Inst, InstBuilder, MemFlagsData, Value, types};
use tandem_codegen_api::CompileError;
use tandem_codegen_api::lower::LowerCall;
use tandem_environ::{FuncIndex, TableIndex, TrapCode, TypeIndex, VMOffsets};

/// Flags for a field of a `VMFuncRef` reached through a checked pointer:
/// it never changes, but the load must stay after the check.
fn func_ref_field() -> MemFlagsData {
    MemFlagsData::trusted().with_readonly()
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

    /// Pushes the results of `call`.
    fn push_results(&mut self, call: Inst) {
        let results = self.b.inst_results(call);
        self.bufs.stack.extend_from_slice(results);
    }
}

impl LowerCall for Translator<'_, '_> {
    /// `call`.
    fn call(&mut self, func: FuncIndex) -> Result<(), CompileError> {
        let module = self.env.module;
        let ty = (module.func_type_index(func))
            .ok_or_else(|| crate::codegen_error("function index out of range"))?;
        let params = module.types[ty.index()].params.len();
        let call = match module.defined_func_index(func) {
            Some(defined) => {
                let callee = self.env.defined_func_ref(&mut self.b, defined)?;
                self.call_args(self.env.vmctx, params)?;
                self.b.ins().call(callee, &self.bufs.values)
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
                self.call_args(callee_vmctx, params)?;
                self.b.ins().call_indirect(sig, code, &self.bufs.values)
            }
        };
        self.push_results(call);
        Ok(())
    }

    /// `call_indirect`: bounds, null and signature checks, then a call
    /// through the element's `VMFuncRef`.
    fn call_indirect(&mut self, ty: TypeIndex, table: TableIndex) -> Result<(), CompileError> {
        let params = self
            .env
            .module
            .types
            .get(ty.index())
            .ok_or_else(|| crate::codegen_error("type index out of range"))?
            .params
            .len();
        let sig = self.env.sig_ref(&mut self.b, ty)?;
        let index = self.pop()?;
        let addr = self.table_elem_addr(table, index, TrapCode::IndirectCallOutOfBounds);
        let func_ref = self.b.ins().load(POINTER, mutable_field(), addr, 0);
        self.b
            .ins()
            .trapz(func_ref, ir_trap(TrapCode::IndirectCallToNull));

        let actual = self.b.ins().load(
            types::I32,
            func_ref_field(),
            func_ref,
            VMOffsets::FUNC_REF_TYPE_INDEX as i32,
        );
        let type_ids = self
            .env
            .load_vmctx_ptr(&mut self.b, VMOffsets::VMCTX_TYPE_IDS);
        let expected = self.b.ins().load(
            types::I32,
            constant_field(),
            type_ids,
            (ty.as_u32() * 4) as i32,
        );
        let mismatch = self.b.ins().icmp(IntCC::NotEqual, actual, expected);
        self.b
            .ins()
            .trapnz(mismatch, ir_trap(TrapCode::BadSignature));

        let code = self.b.ins().load(
            POINTER,
            func_ref_field(),
            func_ref,
            VMOffsets::FUNC_REF_WASM_CALL as i32,
        );
        let callee_vmctx = self.b.ins().load(
            POINTER,
            func_ref_field(),
            func_ref,
            VMOffsets::FUNC_REF_VMCTX as i32,
        );
        self.call_args(callee_vmctx, params)?;
        let call = self.b.ins().call_indirect(sig, code, &self.bufs.values);
        self.push_results(call);
        Ok(())
    }
}
