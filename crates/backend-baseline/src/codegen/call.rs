//! Calls: `call`, `call_indirect`, `call_ref`, their tail-call forms
//! `return_call*`, libcalls, and the function's own return sequence, all
//! following `tandem_codegen_api::abi`.
//!
//! A call spills the operand stack below its arguments, reserves the
//! outgoing area (stack arguments, then the return area) below `rsp`,
//! stores the stack arguments, moves the register arguments in parallel,
//! and calls. The callee pops the stack arguments; results in registers
//! become register entries and results in the return area are copied to
//! their stack slots before the area is released.
//!
//! A tail call leaves this frame and jumps; the callee returns to this
//! function's caller, which popped `N0` bytes of stack arguments
//! (this function's own) with its `ret`, so the callee's `N1` bytes of
//! stack arguments must end where this function's began: at
//! `rbp + 16 + N0`. When either is non-zero, the stack arguments are built
//! in an outgoing area below the frame together with a copy of the saved
//! `rbp` and the return address, the callee-saved registers are reloaded,
//! and the `N1 + 16` bytes are copied (highest first: the destination lies
//! above the source and may overlap it, and the frame, when `N1 > N0`) to
//! end at `rbp + 16 + N0`; then `rsp` points at the copied `rbp`, which is
//! popped, and the jump leaves `rsp` at the return address with the
//! arguments above it, exactly as a `call` would. Cranelift grows its
//! incoming area in the prologue instead; both satisfy the same contract
//! (`tandem_codegen_api::abi`, "Tail calls").

use super::CodeGen;
use crate::isa::x64::abi::{SAVED_REGS, SYSV_INT_ARGS};
use crate::isa::x64::regs::{FSCRATCH, LOCAL_GPRS, R10, RAX, RBP, RDI, RSP, Reg, SCRATCH, VMCTX};
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

    /// Stores the popped arguments that go on the stack at `rsp + base`
    /// plus their offset. Done before the register moves: they read
    /// registers the moves overwrite.
    fn store_stack_args(&mut self, layout: &CallLayout, base: u32) {
        for i in 0..self.args.len() {
            if let AbiLoc::Stack(off) = layout.args[2 + i] {
                let (t, v) = self.args[i];
                self.store_val(t, Address::base_disp(RSP, (base + off) as i32), v);
            }
        }
    }

    /// Moves the popped register arguments, both VMContexts and (for code
    /// in registers) the code address into `rax`, in parallel; for an
    /// import, then loads its code into `rax` and its VMContext. Returns
    /// the callee-VMContext register.
    fn move_call_args(&mut self, layout: &CallLayout, callee: Callee) -> Result<Reg, CompileError> {
        let nparams = self.args.len();
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
        Ok(callee_vmctx)
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
        self.store_stack_args(&layout, 0);
        self.move_call_args(&layout, callee)?;
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

    /// The tail call of type `ty` to `callee`, arguments on the stack:
    /// leaves this frame and jumps (see the module docs).
    fn emit_tail_call(&mut self, ty: TypeIndex, callee: Callee) -> Result<(), CompileError> {
        let layout = self.take_layout(ty);
        let nparams = self.env.module.types[ty.index()].params.len();
        self.pop_args(nparams)?;
        // Nothing below the arguments survives the jump: no spills, no
        // saved locals.
        let (n0, n1) = (self.layout.stack_args_size, layout.stack_args_size);
        let moves_frame = n0 > 0 || n1 > 0;
        let area = n1 + 16;
        if moves_frame {
            self.masm
                .alu(AluOp::Sub, Size::S64, RSP, Operand::Imm(area as i32));
            self.max_call_area = self.max_call_area.max(area);
            self.store_stack_args(&layout, 16);
            self.copy_mem(
                Ty::I64,
                Address::base_disp(RSP, 0),
                Address::base_disp(RBP, 0),
            );
            self.copy_mem(
                Ty::I64,
                Address::base_disp(RSP, 8),
                Address::base_disp(RBP, 8),
            );
        }
        self.move_call_args(&layout, callee)?;
        if layout.has_ret_area() {
            // The results are this function's: the callee writes them
            // where this function's caller asked for them.
            let at = Address::base_disp(RBP, self.frame.ret_area_ptr_disp());
            self.masm.mov(Size::S64, RDI, Operand::Mem(at));
        }
        // The caller's values of the callee-saved registers this frame
        // pushed (read before the copy below may overwrite their slots).
        let pushed = self.frame.pushed as usize;
        let saved = SAVED_REGS
            .iter()
            .chain(&LOCAL_GPRS[..pushed - SAVED_REGS.len()]);
        for (k, &r) in saved.enumerate() {
            let slot = Address::base_disp(RBP, -8 * (k as i32 + 1));
            self.masm.mov(Size::S64, r, Operand::Mem(slot));
        }
        let delta = n0 as i32 - n1 as i32;
        if moves_frame {
            self.copy_down_to_frame_top(area / 8, delta);
        }
        self.masm.lea(RSP, Address::base_disp(RBP, delta));
        self.masm.pop(RBP);
        match callee {
            Callee::Direct(d) => {
                let at = self.masm.jmp_rel32();
                self.relocs.push(Relocation {
                    offset: at,
                    kind: RelocKind::X86PcRel4,
                    target: RelocTarget::Func(d),
                    addend: -4,
                });
            }
            _ => self.masm.jmp_reg(RAX),
        }
        self.regs.reset();
        self.reachable = false;
        self.put_layout(ty, layout);
        Ok(())
    }

    /// Copies `words` 8-byte words from `[rsp]` up to `[rbp + delta]`,
    /// the highest first (the destination is above the source and may
    /// overlap it). Uses only the scratch register and `r10`, which hold
    /// nothing a tail call passes.
    fn copy_down_to_frame_top(&mut self, words: u32, delta: i32) {
        const UNROLL: u32 = 16;
        if words <= UNROLL {
            for i in (0..words as i32).rev() {
                let from = Address::base_disp(RSP, 8 * i);
                self.copy_mem(Ty::I64, Address::base_disp(RBP, delta + 8 * i), from);
            }
            return;
        }
        self.masm.mov(Size::S32, R10, Operand::Imm(words as i32));
        let top = self.masm.new_label();
        self.masm.bind(top);
        self.copy_mem(
            Ty::I64,
            Address::indexed(RBP, R10, 8, delta - 8),
            Address::indexed(RSP, R10, 8, -8),
        );
        self.masm.alu(AluOp::Sub, Size::S64, R10, Operand::Imm(1));
        self.masm.jcc(Cond::Ne, top);
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

impl CodeGen<'_, '_> {
    /// `call` or `return_call` of `func`.
    fn call_func(&mut self, func: FuncIndex, tail: bool) -> Result<(), CompileError> {
        let module = self.env.module;
        let ty = (module.func_type_index(func))
            .ok_or_else(|| self.bug("function index out of range"))?;
        let callee = match module.defined_func_index(func) {
            Some(d) => Callee::Direct(d),
            None => Callee::Import(func),
        };
        self.call_or_tail(ty, callee, tail)
    }

    /// Calls or tail-calls `callee`.
    fn call_or_tail(
        &mut self,
        ty: TypeIndex,
        callee: Callee,
        tail: bool,
    ) -> Result<(), CompileError> {
        if tail {
            self.emit_tail_call(ty, callee)
        } else {
            self.emit_call(ty, callee)
        }
    }

    /// Loads the code and VMContext of the `VMFuncRef` in `func_ref`
    /// (which then holds the VMContext). When `null` is a trap code the
    /// pointer may be null: the first load is then the null check (the
    /// first page is never mapped), a trap site with that code.
    fn func_ref_target(
        &mut self,
        func_ref: Reg,
        null: Option<TrapCode>,
    ) -> Result<Callee, CompileError> {
        let code = self.alloc(false)?;
        let at = self.masm.offset();
        if let Some(trap) = null {
            self.trap_site(at, trap);
        }
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
        Ok(Callee::Regs(code, func_ref))
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
        if ty.index() >= self.env.module.types.len() {
            return Err(self.bug("type index out of range"));
        }
        let (_, index) = self.pop()?;
        let func_ref = self.table_element(table, index, TrapCode::IndirectCallOutOfBounds)?;
        if self.env.module.fixed_table_type(table) == Some(ty) {
            // Every element is null or a function of type `ty`, forever:
            // the null check (the first load's fault) is the only one left.
            let callee = self.func_ref_target(func_ref, Some(TrapCode::IndirectCallToNull))?;
            return self.call_or_tail(ty, callee, tail);
        }
        // func_ref now holds the element's value. Loading its type index
        // is the null check (a trap site: the first page is never mapped).
        let actual = self.alloc(false)?;
        let at = self.masm.offset();
        self.trap_site(at, TrapCode::IndirectCallToNull);
        self.masm.mov(
            Size::S32,
            actual,
            Operand::Mem(Address::base_disp(
                func_ref,
                VMOffsets::FUNC_REF_TYPE_INDEX as i32,
            )),
        );
        let expected = self.env.offsets.type_id(ty) as i32;
        self.masm.cmp(
            Size::S32,
            Operand::Reg(actual),
            Operand::Mem(Address::base_disp(VMCTX, expected)),
        );
        let bad = self.trap_label(TrapCode::BadSignature);
        self.masm.jcc(Cond::Ne, bad);
        self.regs.free(actual);
        let callee = self.func_ref_target(func_ref, None)?;
        self.call_or_tail(ty, callee, tail)
    }

    /// `call_ref` or `return_call_ref`: the reference on top has type `ty`
    /// by validation, so only null is checked.
    fn call_through_ref(&mut self, ty: TypeIndex, tail: bool) -> Result<(), CompileError> {
        if ty.index() >= self.env.module.types.len() {
            return Err(self.bug("type index out of range"));
        }
        let (t, v) = self.pop()?;
        let func_ref = self.owned_reg(t, v)?;
        let callee = self.func_ref_target(func_ref, Some(TrapCode::NullFunctionReference))?;
        self.call_or_tail(ty, callee, tail)
    }
}

impl LowerCall for CodeGen<'_, '_> {
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
