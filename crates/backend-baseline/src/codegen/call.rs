//! Calls: `call`, `call_indirect`, libcalls, and the function's own
//! return sequence, all following `tandem_codegen_api::abi`.
//!
//! A call spills the operand stack below its arguments, reserves the
//! outgoing area (stack arguments, then the return area) below `rsp`,
//! stores the stack arguments, moves the register arguments in parallel,
//! and calls. The callee pops the stack arguments; results in registers
//! become register entries and results in the return area are copied to
//! their stack slots before the area is released.

use super::CodeGen;
use crate::isa::x64::abi::SYSV_INT_ARGS;
use crate::isa::x64::regs::{FSCRATCH, RAX, RBP, RSP, Reg, SCRATCH, VMCTX};
use crate::masm::{Address, AluOp, Cond, FloatSize, MacroAssembler, Operand, Size, StoreSize};
use crate::stack::{Loc, Ty, Val};
use tandem_codegen_api::abi::{CallLayout, Loc as AbiLoc, wasm_call_layout};
use tandem_codegen_api::lower::LowerCall;
use tandem_codegen_api::{CompileError, RelocKind, RelocTarget, Relocation};
use tandem_environ::{
    DefinedFuncIndex, FuncIndex, Libcall, TableIndex, TrapCode, TypeIndex, VMOffsets,
};

/// What a call jumps to.
#[derive(Clone, Copy)]
enum Callee {
    /// A defined function of this module, called directly with this
    /// VMContext.
    Direct(DefinedFuncIndex),
    /// Through a `VMFuncRef` of this VMContext (an import).
    Import(FuncIndex),
    /// Code and VMContext already in these registers.
    Regs(Reg, Reg),
}

impl CodeGen<'_, '_> {
    /// Takes the call layout of type `ty` out of the cache (computing it on
    /// first use); hand it back with [`CodeGen::put_layout`]. The cache
    /// outlives one function: entries remember the signature they were
    /// computed for, so a later module cannot see a stale one.
    fn take_layout(&mut self, ty: TypeIndex) -> CallLayout {
        let i = ty.index();
        if self.layouts.len() <= i {
            self.layouts.resize_with(i + 1, || None);
        }
        let fty = &self.env.module.types[i];
        match self.layouts[i].take() {
            Some((cached, Some(layout))) if cached == *fty => {
                self.layouts[i] = Some((cached, None));
                layout
            }
            _ => {
                self.layouts[i] = Some((fty.clone(), None));
                wasm_call_layout(fty)
            }
        }
    }

    /// Returns a layout taken with [`CodeGen::take_layout`].
    fn put_layout(&mut self, ty: TypeIndex, layout: CallLayout) {
        if let Some(Some((_, slot))) = self.layouts.get_mut(ty.index()) {
            *slot = Some(layout);
        }
    }

    /// Pops `n` operands into `self.args`, deepest first.
    fn pop_args(&mut self, n: usize) -> Result<(), CompileError> {
        self.args.clear();
        for _ in 0..n {
            let tv = self.pop()?;
            self.args.push(tv);
        }
        self.args.reverse();
        Ok(())
    }

    /// The Wasm call of type `ty` to `callee`, arguments on the stack.
    fn emit_call(&mut self, ty: TypeIndex, callee: Callee) -> Result<(), CompileError> {
        let layout = self.take_layout(ty);
        let fty = &self.env.module.types[ty.index()];
        let (nparams, nresults) = (fty.params.len(), fty.results.len());
        self.pop_args(nparams)?;
        self.spill_all();
        self.save_local_regs();
        let out = layout.stack_args_size + layout.ret_area_size;
        if out > 0 {
            self.masm
                .alu(AluOp::Sub, Size::S64, RSP, Operand::Imm(out as i32));
            self.max_call_area = self.max_call_area.max(out);
        }
        // Stack arguments first: they read registers the moves overwrite.
        for i in 0..nparams {
            if let AbiLoc::Stack(off) = layout.args[2 + i] {
                let (t, v) = self.args[i];
                self.store_val(t, Address::base_disp(RSP, off as i32), v);
            }
        }
        for i in 0..nparams {
            let (t, v) = self.args[i];
            match layout.args[2 + i] {
                AbiLoc::Gpr(g) => self.queue_move(Reg::from_abi_gpr(g), t, v),
                AbiLoc::Xmm(x) => self.queue_move(Reg::from_abi_xmm(x), t, v),
                AbiLoc::Stack(_) => {}
            }
        }
        let (AbiLoc::Gpr(callee_vmctx), AbiLoc::Gpr(caller_vmctx)) =
            (layout.args[0], layout.args[1])
        else {
            return Err(self.bug("vmctx arguments not in registers"));
        };
        let (callee_vmctx, caller_vmctx) = (
            Reg::from_abi_gpr(callee_vmctx),
            Reg::from_abi_gpr(caller_vmctx),
        );
        self.queue_move(caller_vmctx, Ty::I64, Val::Reg(VMCTX));
        match callee {
            Callee::Direct(_) => self.queue_move(callee_vmctx, Ty::I64, Val::Reg(VMCTX)),
            Callee::Regs(code, vmctx) => {
                self.queue_move(callee_vmctx, Ty::I64, Val::Reg(vmctx));
                self.queue_move(RAX, Ty::I64, Val::Reg(code));
            }
            Callee::Import(_) => {}
        }
        self.resolve_moves();
        if let Callee::Import(f) = callee {
            let at = self.env.offsets.func_ref(f) as i32;
            self.masm.mov(
                Size::S64,
                RAX,
                Operand::Mem(Address::base_disp(
                    VMCTX,
                    at + VMOffsets::FUNC_REF_WASM_CALL as i32,
                )),
            );
            self.masm.mov(
                Size::S64,
                callee_vmctx,
                Operand::Mem(Address::base_disp(
                    VMCTX,
                    at + VMOffsets::FUNC_REF_VMCTX as i32,
                )),
            );
        }
        if layout.has_ret_area() {
            self.masm.lea(
                crate::isa::x64::regs::RDI,
                Address::base_disp(RSP, layout.stack_args_size as i32),
            );
        }
        match callee {
            Callee::Direct(d) => {
                let at = self.masm.call_rel32();
                self.relocs.push(Relocation {
                    offset: at,
                    kind: RelocKind::X86PcRel4,
                    target: RelocTarget::Func(d),
                    addend: -4,
                });
            }
            _ => self.masm.call_reg(RAX),
        }
        self.regs.reset();
        // Results.
        for i in 0..nresults {
            let t = Ty::of(self.env.module.types[ty.index()].results[i])
                .ok_or_else(|| self.unsupported("the v128 type"))?;
            match layout.results[i] {
                AbiLoc::Gpr(g) => {
                    let r = Reg::from_abi_gpr(g);
                    if t == Ty::I32 {
                        // Other code leaves the upper half undefined.
                        self.masm.asm.mov_rr(Size::S32, r, r);
                    }
                    if self.regs.is_free(r) {
                        self.regs.take(r);
                        self.push_reg(t, r);
                    } else {
                        // A register that holds a local: the value goes to
                        // its slot before the local is reloaded.
                        let to = self.slot(self.stack.len());
                        self.store_reg(t, to, r);
                        self.stack.push(t, Loc::Mem);
                    }
                }
                AbiLoc::Xmm(x) => {
                    let r = Reg::from_abi_xmm(x);
                    self.regs.take(r);
                    self.push_reg(t, r);
                }
                AbiLoc::Stack(off) => {
                    let pos = self.stack.len();
                    let to = self.slot(pos);
                    self.copy_mem(t, to, Address::base_disp(RSP, off as i32));
                    self.stack.push(t, Loc::Mem);
                }
            }
        }
        if layout.ret_area_size > 0 {
            self.masm.alu(
                AluOp::Add,
                Size::S64,
                RSP,
                Operand::Imm(layout.ret_area_size as i32),
            );
        }
        self.restore_local_regs();
        self.stack.clean = self.stack.len() - nresults;
        self.put_layout(ty, layout);
        Ok(())
    }

    /// Calls `libcall` through the module's trampoline with this VMContext
    /// and `args` (the System V convention); returns the result register.
    pub fn libcall(
        &mut self,
        libcall: Libcall,
        args: &[(Ty, Val)],
    ) -> Result<Option<Reg>, CompileError> {
        if args.len() + 1 > SYSV_INT_ARGS.len() {
            return Err(self.bug("libcall with stack arguments"));
        }
        self.spill_all();
        self.save_local_regs();
        self.queue_move(SYSV_INT_ARGS[0], Ty::I64, Val::Reg(VMCTX));
        for (i, &(t, v)) in args.iter().enumerate() {
            self.queue_move(SYSV_INT_ARGS[i + 1], t, v);
        }
        self.resolve_moves();
        let at = self.masm.call_rel32();
        self.relocs.push(Relocation {
            offset: at,
            kind: RelocKind::X86PcRel4,
            target: RelocTarget::LibcallTrampoline(libcall),
            addend: -4,
        });
        self.regs.reset();
        self.restore_local_regs();
        Ok(libcall.signature().result.map(|_| {
            self.regs.take(RAX);
            RAX
        }))
    }

    /// Moves the top values to the function's return locations (without
    /// popping or allocating).
    pub fn return_moves(&mut self) -> Result<(), CompileError> {
        let n = self.layout.results.len();
        let len = self.stack.len();
        if len < n {
            return Err(self.bug("operand stack underflow at return"));
        }
        if self.layout.has_ret_area() {
            self.masm.mov(
                Size::S64,
                SCRATCH,
                Operand::Mem(Address::base_disp(RBP, self.frame.ret_area_ptr_disp())),
            );
            for i in 0..n {
                if let AbiLoc::Stack(off) = self.layout.results[i] {
                    let (t, v) = self.val_at(len - n + i);
                    let to = Address::base_disp(SCRATCH, off as i32);
                    match v {
                        Val::Mem(d) => {
                            // Copy through the float scratch: r11 holds
                            // the return-area pointer.
                            let fs = if matches!(t, Ty::I32 | Ty::F32) {
                                FloatSize::F32
                            } else {
                                FloatSize::F64
                            };
                            self.masm.fload(fs, FSCRATCH, Address::base_disp(RBP, d));
                            self.masm.fstore(fs, to, FSCRATCH);
                        }
                        Val::Const(c) => {
                            self.masm.store(StoreSize::B32, to, Operand::Imm(c as i32));
                            if matches!(t, Ty::I64 | Ty::F64) {
                                self.masm.store(
                                    StoreSize::B32,
                                    to.offset(4),
                                    Operand::Imm((c >> 32) as i32),
                                );
                            }
                        }
                        Val::Reg(r) | Val::LocalReg(r) => self.store_reg(t, to, r),
                    }
                }
            }
        }
        for i in 0..n {
            let (t, v) = self.val_at(len - n + i);
            match self.layout.results[i] {
                AbiLoc::Gpr(g) => self.queue_move(Reg::from_abi_gpr(g), t, v),
                AbiLoc::Xmm(x) => self.queue_move(Reg::from_abi_xmm(x), t, v),
                AbiLoc::Stack(_) => {}
            }
        }
        self.resolve_moves();
        Ok(())
    }
}

impl LowerCall for CodeGen<'_, '_> {
    /// `call`.
    fn call(&mut self, func: FuncIndex) -> Result<(), CompileError> {
        let module = self.env.module;
        let ty = (module.func_type_index(func))
            .ok_or_else(|| self.bug("function index out of range"))?;
        let callee = match module.defined_func_index(func) {
            Some(d) => Callee::Direct(d),
            None => Callee::Import(func),
        };
        self.emit_call(ty, callee)
    }

    /// `call_indirect`: bounds, null and signature checks, then a call
    /// through the element's `VMFuncRef`.
    fn call_indirect(&mut self, ty: TypeIndex, table: TableIndex) -> Result<(), CompileError> {
        if ty.index() >= self.env.module.types.len() {
            return Err(self.bug("type index out of range"));
        }
        let (_, index) = self.pop()?;
        let func_ref = self.table_element(table, index, TrapCode::IndirectCallOutOfBounds)?;
        // func_ref now holds the element's value.
        self.masm.test(Size::S64, func_ref, func_ref);
        let null = self.trap_label(TrapCode::IndirectCallToNull);
        self.masm.jcc(Cond::Eq, null);
        let code = self.alloc(false)?;
        self.masm.mov(
            Size::S64,
            code,
            Operand::Mem(Address::base_disp(VMCTX, VMOffsets::VMCTX_TYPE_IDS as i32)),
        );
        self.masm.mov(
            Size::S32,
            code,
            Operand::Mem(Address::base_disp(code, (ty.as_u32() * 4) as i32)),
        );
        self.masm.cmp(
            Size::S32,
            Operand::Reg(code),
            Operand::Mem(Address::base_disp(
                func_ref,
                VMOffsets::FUNC_REF_TYPE_INDEX as i32,
            )),
        );
        let bad = self.trap_label(TrapCode::BadSignature);
        self.masm.jcc(Cond::Ne, bad);
        self.masm.mov(
            Size::S64,
            code,
            Operand::Mem(Address::base_disp(
                func_ref,
                VMOffsets::FUNC_REF_WASM_CALL as i32,
            )),
        );
        self.masm.mov(
            Size::S64,
            func_ref,
            Operand::Mem(Address::base_disp(
                func_ref,
                VMOffsets::FUNC_REF_VMCTX as i32,
            )),
        );
        self.emit_call(ty, Callee::Regs(code, func_ref))
    }
}
