//! The three trampoline kinds of `tandem_codegen_api::abi`, emitted with
//! the macro assembler:
//!
//! - array-to-Wasm ([`array_to_wasm`]): how the host enters a defined
//!   function;
//! - Wasm-to-array ([`wasm_to_array`]): the `wasm_call` of a host function;
//! - Wasm-to-libcall ([`wasm_to_libcall`]): how compiled code reaches a
//!   runtime library call while recording where it left Wasm.

use crate::codegen::with_buffers;
use crate::isa::x64::abi::SYSV_INT_ARGS;
use crate::isa::x64::masm::X64Masm;
use crate::isa::x64::regs::{FSCRATCH, R12, RAX, RBP, RBX, RCX, RDI, RDX, RSI, RSP, Reg, SCRATCH};
use crate::masm::{Address, AluOp, Cond, MacroAssembler, Operand, Size, StoreSize};
use crate::stack::Ty;
use crate::{codegen_error, unsupported};
use tandem_codegen_api::abi::{CallLayout, Loc, RAISE_PENDING, wasm_call_layout};
use tandem_codegen_api::{
    CompileError, CompiledFunction, RelocKind, RelocTarget, Relocation, TrapSite,
};
use tandem_environ::{
    DefinedFuncIndex, FuncType, Libcall, ModuleInfo, TrapCode, VALRAW_SIZE, VMOffsets, ValType,
};

/// The code types of a signature's values.
fn tys(vals: &[ValType]) -> Result<Vec<Ty>, CompileError> {
    vals.iter()
        .map(|&v| Ty::of(v).ok_or_else(|| unsupported("the v128 type", 0)))
        .collect()
}

/// Loads a `ty` from `addr` into `dst`.
fn load(m: &mut X64Masm, ty: Ty, dst: Reg, addr: Address) {
    if ty.is_float() {
        m.fload(ty.fsize(), dst, addr);
    } else {
        m.mov(ty.size(), dst, Operand::Mem(addr));
    }
}

/// Stores a `ty` in `src` to `addr`.
fn store(m: &mut X64Masm, ty: Ty, addr: Address, src: Reg) {
    match ty {
        Ty::I32 => m.store(StoreSize::B32, addr, Operand::Reg(src)),
        Ty::I64 => m.store(StoreSize::B64, addr, Operand::Reg(src)),
        Ty::F32 | Ty::F64 => m.fstore(ty.fsize(), addr, src),
    }
}

/// Copies a `ty` between memory locations through a scratch register.
fn copy(m: &mut X64Masm, ty: Ty, to: Address, from: Address) {
    let tmp = if ty.is_float() { FSCRATCH } else { SCRATCH };
    load(m, ty, tmp, from);
    store(m, ty, to, tmp);
}

/// The register of an ABI location.
fn reg_of(loc: Loc) -> Option<Reg> {
    match loc {
        Loc::Gpr(g) => Some(Reg::from_abi_gpr(g)),
        Loc::Xmm(x) => Some(Reg::from_abi_xmm(x)),
        Loc::Stack(_) => None,
    }
}

/// `push rbp; mov rbp, rsp` then pushes of `saved`.
fn frame(m: &mut X64Masm, saved: &[Reg]) {
    m.push(RBP);
    m.mov(Size::S64, RBP, Operand::Reg(RSP));
    for &r in saved {
        m.push(r);
    }
}

/// Restores `saved`, `rbp`, and returns popping `pop` bytes.
fn unframe(m: &mut X64Masm, saved: &[Reg], pop: u32) {
    m.lea(RSP, Address::base_disp(RBP, -8 * saved.len() as i32));
    for &r in saved.iter().rev() {
        m.pop(r);
    }
    m.pop(RBP);
    m.ret(pop as u16);
}

/// Packages emitted code.
fn package(
    m: &mut X64Masm,
    code: &mut Vec<u8>,
    relocs: Vec<Relocation>,
    traps: Vec<TrapSite>,
) -> Result<CompiledFunction, CompileError> {
    m.finish(code).map_err(codegen_error)?;
    Ok(CompiledFunction {
        code: code.clone(),
        alignment: 16,
        relocs,
        traps,
        address_map: Vec::new(),
    })
}

/// Stores frame pointer `fp`'s caller frame and return address as the exit
/// from Wasm, through the store context of `vmctx`.
fn record_exit(m: &mut X64Masm, vmctx: Reg) {
    m.mov(
        Size::S64,
        SCRATCH,
        Operand::Mem(Address::base_disp(
            vmctx,
            VMOffsets::VMCTX_STORE_CONTEXT as i32,
        )),
    );
    m.mov(Size::S64, RAX, Operand::Mem(Address::base_disp(RBP, 0)));
    m.store(
        StoreSize::B64,
        Address::base_disp(SCRATCH, VMOffsets::STORE_LAST_WASM_EXIT_FP as i32),
        Operand::Reg(RAX),
    );
    m.mov(Size::S64, RAX, Operand::Mem(Address::base_disp(RBP, 8)));
    m.store(
        StoreSize::B64,
        Address::base_disp(SCRATCH, VMOffsets::STORE_LAST_WASM_EXIT_PC as i32),
        Operand::Reg(RAX),
    );
}

/// The two vmctx registers of a layout.
fn vmctx_regs(layout: &CallLayout) -> Result<(Reg, Reg), CompileError> {
    match (layout.args[0], layout.args[1]) {
        (Loc::Gpr(a), Loc::Gpr(b)) => Ok((Reg::from_abi_gpr(a), Reg::from_abi_gpr(b))),
        _ => Err(codegen_error("vmctx arguments not in registers")),
    }
}

/// The array-to-Wasm entry of defined function `index`.
pub(crate) fn array_to_wasm(
    module: &ModuleInfo,
    index: DefinedFuncIndex,
) -> Result<CompiledFunction, CompileError> {
    let ty = module.func_type(module.func_index(index));
    let (params, results) = (tys(&ty.params)?, tys(&ty.results)?);
    let layout = wasm_call_layout(ty);
    let (callee_vmctx, caller_vmctx) = vmctx_regs(&layout)?;
    with_buffers(|b| {
        let m = &mut b.masm;
        // (vmctx: rdi, caller: rsi, values: rdx, len: rcx)
        frame(m, &[RBX, R12]);
        m.mov(Size::S64, RBX, Operand::Reg(RDX));
        m.mov(Size::S64, R12, Operand::Reg(RDI));
        m.mov(
            Size::S64,
            SCRATCH,
            Operand::Mem(Address::base_disp(
                RDI,
                VMOffsets::VMCTX_STORE_CONTEXT as i32,
            )),
        );
        m.store(
            StoreSize::B64,
            Address::base_disp(SCRATCH, VMOffsets::STORE_LAST_WASM_ENTRY_FP as i32),
            Operand::Reg(RBP),
        );
        let out = layout.stack_args_size + layout.ret_area_size;
        if out > 0 {
            m.alu(AluOp::Sub, Size::S64, RSP, Operand::Imm(out as i32));
        }
        let value = |i: usize| Address::base_disp(RBX, (i as u32 * VALRAW_SIZE) as i32);
        for (i, &t) in params.iter().enumerate() {
            match layout.args[2 + i] {
                Loc::Stack(off) => copy(m, t, Address::base_disp(RSP, off as i32), value(i)),
                loc => {
                    let r = reg_of(loc).ok_or_else(|| codegen_error("bad argument location"))?;
                    load(m, t, r, value(i));
                }
            }
        }
        m.mov(Size::S64, callee_vmctx, Operand::Reg(R12));
        m.mov(Size::S64, caller_vmctx, Operand::Reg(R12));
        if layout.has_ret_area() {
            m.lea(RDI, Address::base_disp(RSP, layout.stack_args_size as i32));
        }
        let at = m.call_rel32();
        let relocs = vec![Relocation {
            offset: at,
            kind: RelocKind::X86PcRel4,
            target: RelocTarget::Func(index),
            addend: -4,
        }];
        for (i, &t) in results.iter().enumerate() {
            match layout.results[i] {
                Loc::Stack(off) => copy(m, t, value(i), Address::base_disp(RSP, off as i32)),
                loc => {
                    let r = reg_of(loc).ok_or_else(|| codegen_error("bad result location"))?;
                    store(m, t, value(i), r);
                }
            }
        }
        m.mov(Size::S32, RAX, Operand::Imm(1));
        unframe(m, &[RBX, R12], 0);
        package(m, &mut b.code, relocs, Vec::new())
    })
}

/// The Wasm-to-array trampoline for signature `ty`.
pub(crate) fn wasm_to_array(ty: &FuncType) -> Result<CompiledFunction, CompileError> {
    let (params, results) = (tys(&ty.params)?, tys(&ty.results)?);
    let layout = wasm_call_layout(ty);
    let (callee_vmctx, caller_vmctx) = vmctx_regs(&layout)?;
    let slots = params.len().max(results.len()).max(1);
    let buf = u32::try_from(slots)
        .ok()
        .and_then(|n| n.checked_mul(VALRAW_SIZE))
        .filter(|&n| n < (1 << 30))
        .ok_or_else(|| unsupported("a signature with this many values", 0))?;
    with_buffers(|b| {
        let m = &mut b.masm;
        frame(m, &[RBX, R12]);
        m.mov(Size::S64, RBX, Operand::Reg(caller_vmctx));
        if layout.has_ret_area() {
            m.mov(Size::S64, R12, Operand::Reg(RDI));
        }
        record_exit(m, RBX);
        m.alu(
            AluOp::Sub,
            Size::S64,
            RSP,
            Operand::Imm(buf.next_multiple_of(16) as i32),
        );
        let value = |i: usize| Address::base_disp(RSP, (i as u32 * VALRAW_SIZE) as i32);
        for (i, &t) in params.iter().enumerate() {
            match layout.args[2 + i] {
                Loc::Stack(off) => copy(m, t, value(i), Address::base_disp(RBP, 16 + off as i32)),
                loc => {
                    let r = reg_of(loc).ok_or_else(|| codegen_error("bad argument location"))?;
                    store(m, t, value(i), r);
                }
            }
        }
        if callee_vmctx != RDI {
            m.mov(Size::S64, RDI, Operand::Reg(callee_vmctx));
        }
        m.mov(Size::S64, RSI, Operand::Reg(RBX));
        m.mov(Size::S64, RDX, Operand::Reg(RSP));
        m.mov(Size::S32, RCX, Operand::Imm(slots as i32));
        m.call_mem(Address::base_disp(
            RDI,
            VMOffsets::HOST_CTX_ARRAY_CALL as i32,
        ));
        let fail = m.new_label();
        // The array call returns a `bool` in `al`.
        m.alu(AluOp::And, Size::S32, RAX, Operand::Imm(0xff));
        m.jcc(Cond::Eq, fail);
        for (i, &t) in results.iter().enumerate() {
            match layout.results[i] {
                Loc::Stack(off) => copy(m, t, Address::base_disp(R12, off as i32), value(i)),
                loc => {
                    let r = reg_of(loc).ok_or_else(|| codegen_error("bad result location"))?;
                    load(m, t, r, value(i));
                }
            }
        }
        unframe(m, &[RBX, R12], layout.stack_args_size);
        m.bind(fail);
        m.mov(Size::S64, RDI, Operand::Reg(RBX));
        m.mov(Size::S32, RSI, Operand::Imm(RAISE_PENDING));
        m.mov(
            Size::S64,
            RAX,
            Operand::Mem(Address::base_disp(RBX, VMOffsets::VMCTX_BUILTINS as i32)),
        );
        m.call_mem(Address::base_disp(
            RAX,
            (Libcall::raise_trap.index() * 8) as i32,
        ));
        let at = m.ud2();
        let traps = vec![TrapSite {
            code_offset: at,
            code: TrapCode::HostError,
        }];
        package(m, &mut b.code, Vec::new(), traps)
    })
}

/// The Wasm-to-libcall trampoline of `libcall`.
pub(crate) fn wasm_to_libcall(libcall: Libcall) -> Result<CompiledFunction, CompileError> {
    if libcall.signature().params.len() > SYSV_INT_ARGS.len() {
        return Err(unsupported("a libcall with stack arguments", 0));
    }
    with_buffers(|b| {
        let m = &mut b.masm;
        frame(m, &[]);
        record_exit(m, RDI);
        m.mov(
            Size::S64,
            RAX,
            Operand::Mem(Address::base_disp(RDI, VMOffsets::VMCTX_BUILTINS as i32)),
        );
        m.call_mem(Address::base_disp(RAX, (libcall.index() * 8) as i32));
        m.pop(RBP);
        m.ret(0);
        package(m, &mut b.code, Vec::new(), Vec::new())
    })
}
