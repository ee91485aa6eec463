//! The three trampoline kinds of `tandem_codegen_api::abi`:
//!
//! - array-to-Wasm ([`array_to_wasm`]): how the host enters a defined
//!   function;
//! - Wasm-to-array ([`wasm_to_array`]): the `wasm_call` of a host function;
//! - Wasm-to-libcall ([`wasm_to_libcall`]): how compiled code reaches a
//!   runtime library call while recording where it left Wasm.

use crate::env::{
    POINTER, constant_field, ir_type, libcall_signature, mutable_field, wasm_signature,
};
use crate::isa::{self, FUNC_NAMESPACE, ir_trap};
use cranelift_codegen::ir::{
    AbiParam, ExtFuncData, ExternalName, InstBuilder, MemFlagsData, Signature, StackSlotData,
    StackSlotKind, UserExternalName, UserFuncName, Value, types,
};
use cranelift_codegen::isa::{CallConv, TargetIsa};
use cranelift_frontend::FunctionBuilder;
use tandem_codegen_api::{CompileError, CompiledFunction, abi};
use tandem_environ::{
    DefinedFuncIndex, FuncType, Libcall, ModuleInfo, TrapCode, VALRAW_SIZE, VMOffsets,
};

/// Flags for a `ValRaw` slot: aligned to 16, never faulting.
fn valraw_flags() -> MemFlagsData {
    MemFlagsData::trusted()
}

/// The System V signature of an array call:
/// `(callee_vmctx, caller_vmctx, values, len) -> bool`.
fn array_call_signature() -> Signature {
    let mut sig = Signature::new(CallConv::SystemV);
    sig.params.extend([AbiParam::new(POINTER); 4]);
    sig.returns.push(AbiParam::new(types::I8));
    sig
}

/// Records the exit from Wasm: the caller's frame pointer and the return
/// address into it, in the store context reached from `vmctx`.
fn record_exit(b: &mut FunctionBuilder, vmctx: Value) {
    let store = b.ins().load(
        POINTER,
        constant_field(),
        vmctx,
        VMOffsets::VMCTX_STORE_CONTEXT as i32,
    );
    let fp = b.ins().get_frame_pointer(POINTER);
    let caller_fp = b.ins().load(POINTER, mutable_field(), fp, 0);
    b.ins().store(
        mutable_field(),
        caller_fp,
        store,
        VMOffsets::STORE_LAST_WASM_EXIT_FP as i32,
    );
    let pc = b.ins().get_return_address(POINTER);
    b.ins().store(
        mutable_field(),
        pc,
        store,
        VMOffsets::STORE_LAST_WASM_EXIT_PC as i32,
    );
}

/// Loads the address of `libcall`'s runtime function from `vmctx`'s
/// builtins table.
fn builtin_address(b: &mut FunctionBuilder, vmctx: Value, libcall: Libcall) -> Value {
    let builtins = b.ins().load(
        POINTER,
        constant_field(),
        vmctx,
        VMOffsets::VMCTX_BUILTINS as i32,
    );
    b.ins().load(
        POINTER,
        constant_field(),
        builtins,
        (libcall.index() as u32 * 8) as i32,
    )
}

/// The array-to-Wasm entry of defined function `index`.
pub(crate) fn array_to_wasm(
    isa: &dyn TargetIsa,
    module: &ModuleInfo,
    index: DefinedFuncIndex,
) -> Result<CompiledFunction, CompileError> {
    let ty = module.func_type(module.func_index(index));
    let callee_sig = wasm_signature(ty)?;
    isa::with_scratch(|s| {
        s.ctx.func.signature = array_call_signature();
        s.ctx.func.name = UserFuncName::user(2, index.as_u32());
        let mut b = FunctionBuilder::new(&mut s.ctx.func, &mut s.fctx);
        let entry = b.create_block();
        b.append_block_params_for_function_params(entry);
        b.switch_to_block(entry);
        b.seal_block(entry);
        let (vmctx, values) = (b.block_params(entry)[0], b.block_params(entry)[2]);

        let store = b.ins().load(
            POINTER,
            constant_field(),
            vmctx,
            VMOffsets::VMCTX_STORE_CONTEXT as i32,
        );
        let fp = b.ins().get_frame_pointer(POINTER);
        b.ins().store(
            mutable_field(),
            fp,
            store,
            VMOffsets::STORE_LAST_WASM_ENTRY_FP as i32,
        );

        let mut args = vec![vmctx, vmctx];
        for (i, &p) in ty.params.iter().enumerate() {
            let t = ir_type(p);
            let slot = (i as u32 * VALRAW_SIZE) as i32;
            args.push(b.ins().load(t, valraw_flags(), values, slot));
        }
        let sig = b.import_signature(callee_sig);
        let name = b
            .func
            .declare_imported_user_function(UserExternalName::new(FUNC_NAMESPACE, index.as_u32()));
        let callee = b.import_function(ExtFuncData {
            name: ExternalName::user(name),
            signature: sig,
            colocated: true,
            patchable: false,
        });
        let call = b.ins().call(callee, &args);
        let results = b.inst_results(call).to_vec();
        for (i, r) in results.into_iter().enumerate() {
            let slot = (i as u32 * VALRAW_SIZE) as i32;
            b.ins().store(valraw_flags(), r, values, slot);
        }
        let ok = b.ins().iconst(types::I8, 1);
        b.ins().return_(&[ok]);
        b.finalize(isa.frontend_config());
        isa::finish(&mut s.ctx, isa)
    })
}

/// The Wasm-to-array trampoline for signature `ty`.
pub(crate) fn wasm_to_array(
    isa: &dyn TargetIsa,
    ty: &FuncType,
) -> Result<CompiledFunction, CompileError> {
    let signature = wasm_signature(ty)?;
    let slots = ty.params.len().max(ty.results.len()).max(1);
    let slot_bytes = u32::try_from(slots)
        .ok()
        .and_then(|n| n.checked_mul(VALRAW_SIZE))
        .ok_or_else(|| crate::unsupported("a signature with this many values", 0))?;
    isa::with_scratch(|s| {
        s.ctx.func.signature = signature;
        s.ctx.func.name = UserFuncName::user(3, 0);
        let mut b = FunctionBuilder::new(&mut s.ctx.func, &mut s.fctx);
        let entry = b.create_block();
        b.append_block_params_for_function_params(entry);
        b.switch_to_block(entry);
        b.seal_block(entry);
        let params = b.block_params(entry).to_vec();
        let (callee_vmctx, caller_vmctx) = (params[0], params[1]);

        record_exit(&mut b, caller_vmctx);

        let slot = b.create_sized_stack_slot(StackSlotData::new(
            StackSlotKind::ExplicitSlot,
            slot_bytes,
            4,
        ));
        for (i, &p) in params[2..].iter().enumerate() {
            b.ins()
                .stack_store(POINTER, p, slot, (i as u32 * VALRAW_SIZE) as i32);
        }
        let values = b.ins().stack_addr(POINTER, slot, 0);
        let len = b.ins().iconst(POINTER, slots as i64);
        let host = b.ins().load(
            POINTER,
            constant_field(),
            callee_vmctx,
            VMOffsets::HOST_CTX_ARRAY_CALL as i32,
        );
        let sig = b.import_signature(array_call_signature());
        let call = b
            .ins()
            .call_indirect(sig, host, &[callee_vmctx, caller_vmctx, values, len]);
        let ok = b.inst_results(call)[0];

        let failed = b.create_block();
        let done = b.create_block();
        b.ins().brif(ok, done, &[], failed, &[]);

        b.switch_to_block(failed);
        b.seal_block(failed);
        b.set_cold_block(failed);
        let raise = builtin_address(&mut b, caller_vmctx, Libcall::raise_trap);
        let raise_sig = b.import_signature(libcall_signature(Libcall::raise_trap));
        let code = b
            .ins()
            .iconst(types::I32, i64::from(abi::RAISE_PENDING as u32));
        b.ins()
            .call_indirect(raise_sig, raise, &[caller_vmctx, code]);
        b.ins().trap(ir_trap(TrapCode::HostError));

        b.switch_to_block(done);
        b.seal_block(done);
        let mut results = Vec::with_capacity(ty.results.len());
        for (i, &r) in ty.results.iter().enumerate() {
            let t = ir_type(r);
            results.push(
                b.ins()
                    .stack_load(POINTER, t, slot, (i as u32 * VALRAW_SIZE) as i32),
            );
        }
        b.ins().return_(&results);
        b.finalize(isa.frontend_config());
        isa::finish(&mut s.ctx, isa)
    })
}

/// The Wasm-to-libcall trampoline of `libcall`.
pub(crate) fn wasm_to_libcall(
    isa: &dyn TargetIsa,
    libcall: Libcall,
) -> Result<CompiledFunction, CompileError> {
    isa::with_scratch(|s| {
        s.ctx.func.signature = libcall_signature(libcall);
        s.ctx.func.name = UserFuncName::user(4, libcall.index() as u32);
        let mut b = FunctionBuilder::new(&mut s.ctx.func, &mut s.fctx);
        let entry = b.create_block();
        b.append_block_params_for_function_params(entry);
        b.switch_to_block(entry);
        b.seal_block(entry);
        let params = b.block_params(entry).to_vec();
        let vmctx = params[0];

        record_exit(&mut b, vmctx);
        let target = builtin_address(&mut b, vmctx, libcall);
        let sig = b.import_signature(libcall_signature(libcall));
        let call = b.ins().call_indirect(sig, target, &params);
        let results = b.inst_results(call).to_vec();
        b.ins().return_(&results);
        b.finalize(isa.frontend_config());
        isa::finish(&mut s.ctx, isa)
    })
}
