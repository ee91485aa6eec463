//! The frame: which locals live in registers, the prologue that builds
//! the frame and puts the parameters where their locals live, the
//! epilogue, and saving the caller-saved local registers around calls.
//!
//! Each function keeps up to [`LOCAL_GPRS`]`.len()` integer and
//! [`LOCAL_XMMS`]`.len()` float locals in registers for its whole body, so
//! `local.get` is a register operand and `local.set` a register move, and
//! control-flow merges never move locals. When a function has more locals
//! of a class than registers, one extra pass over the body counts the uses
//! of each local, weighted by loop depth, and the heaviest win. Every
//! local keeps a home slot in the frame; a local held in a caller-saved
//! register is stored there before a call and reloaded after it.

use super::{CodeGen, LocalSlot};
use crate::isa::x64::abi::SAVED_REGS;
use crate::isa::x64::regs::{HEAP_BASE, LOCAL_GPRS, LOCAL_XMMS, RAX, RBP, RCX, RDI, RSP, Reg};
use crate::isa::x64::regs::{SCRATCH, VMCTX};
use crate::masm::{Address, Cond, FloatSize, MacroAssembler, Operand, Size, StoreSize};
use crate::stack::{Ty, Val};
use crate::unsupported;
use tandem_codegen_api::CompileError;
use tandem_codegen_api::abi::Loc as AbiLoc;
use tandem_environ::{MemoryIndex, TrapCode, TypeIndex, VMOffsets};
use wasmparser::FunctionBody;

/// Most locals a function may declare.
const MAX_LOCALS: usize = 100_000;

impl CodeGen<'_, '_> {
    /// Builds the frame, checks the stack limit and puts the parameters
    /// where their locals live. Returns the offsets of the two immediates
    /// patched with the frame size.
    pub(super) fn prologue(
        &mut self,
        ty_index: TypeIndex,
        body: &FunctionBody<'_>,
    ) -> Result<(u32, u32), CompileError> {
        let nparams = self.read_locals(ty_index, body)?;
        let callee_saved = self.assign_local_regs(body)?;
        let first_declared = self.assign_home_slots(nparams, callee_saved);

        let m = &mut *self.masm;
        m.push(RBP);
        m.asm.mov_rr(Size::S64, RBP, RSP);
        for r in SAVED_REGS {
            m.push(r);
        }
        for &r in &LOCAL_GPRS[..callee_saved as usize] {
            m.push(r);
        }
        let AbiLoc::Gpr(vmctx_arg) = self.layout.args[0] else {
            return Err(self.bug("callee vmctx not in a register"));
        };
        m.mov(Size::S64, VMCTX, Operand::Reg(Reg::from_abi_gpr(vmctx_arg)));
        // Stack limit: rsp - frame < store.stack_limit traps.
        let stack_check = m.lea_below_rsp_patchable(RAX);
        m.mov(
            Size::S64,
            SCRATCH,
            Operand::Mem(Address::base_disp(
                VMCTX,
                VMOffsets::VMCTX_STORE_CONTEXT as i32,
            )),
        );
        m.cmp(
            Size::S64,
            Operand::Reg(RAX),
            Operand::Mem(Address::base_disp(
                SCRATCH,
                VMOffsets::STORE_STACK_LIMIT as i32,
            )),
        );
        let overflow = m.new_label();
        m.jcc(Cond::Below, overflow);
        self.trap_stubs.push(super::TrapStub {
            label: overflow,
            code: TrapCode::StackOverflow,
            wasm_offset: 0,
        });
        let frame_sub = self.masm.sub_rsp_patchable();
        if self.layout.has_ret_area() {
            let at = Address::base_disp(RBP, self.frame.ret_area_ptr_disp());
            self.masm.store(StoreSize::B64, at, Operand::Reg(RDI));
        }
        self.place_params(nparams)?;
        self.zero_declared_locals(first_declared);
        // Memory 0's base never moves (memories are reserved up front).
        if let Some(mem) = self.env.module.memories.first()
            && !mem.memory64
            && !mem.shared
        {
            let addr = self.memory_def_addr(MemoryIndex::from_u32(0), HEAP_BASE);
            self.masm.mov(
                Size::S64,
                HEAP_BASE,
                Operand::Mem(addr.offset(VMOffsets::MEMORY_BASE as i32)),
            );
        }
        Ok((stack_check, frame_sub))
    }

    /// Records every local's type, parameters first; returns the number of
    /// parameters. Homes and registers are assigned afterwards.
    fn read_locals(
        &mut self,
        ty_index: TypeIndex,
        body: &FunctionBody<'_>,
    ) -> Result<usize, CompileError> {
        let ty = &self.env.module.types[ty_index.index()];
        for &p in ty.params.iter() {
            let ty = Ty::of(p).ok_or_else(|| self.unsupported("the v128 type"))?;
            self.locals.push(LocalSlot {
                disp: 0,
                ty,
                reg: None,
            });
        }
        let nparams = ty.params.len();
        let mut reader = body.get_locals_reader()?;
        for _ in 0..reader.get_count() {
            let offset = reader.original_position();
            let (count, t) = reader.read()?;
            let ty = Ty::of_wasmparser(t).ok_or_else(|| unsupported("the v128 type", offset))?;
            if count as usize > MAX_LOCALS || self.locals.len() > MAX_LOCALS {
                return Err(unsupported("more than 100000 locals", offset));
            }
            let slot = LocalSlot {
                disp: 0,
                ty,
                reg: None,
            };
            self.locals
                .extend(std::iter::repeat_n(slot, count as usize));
        }
        Ok(nparams)
    }

    /// Chooses the locals that live in registers and reserves those
    /// registers. Returns how many callee-saved registers it used (they
    /// are the first ones of [`LOCAL_GPRS`]).
    fn assign_local_regs(&mut self, body: &FunctionBody<'_>) -> Result<u32, CompileError> {
        // Candidates: every local when all fit (the common case, with no
        // extra pass); else the most used first, unused ones never.
        self.order.clear();
        self.order.extend(0..self.locals.len() as u32);
        let floats = self.locals.iter().filter(|l| l.ty.is_float()).count();
        let ints = self.locals.len() - floats;
        if ints > LOCAL_GPRS.len() || floats > LOCAL_XMMS.len() {
            self.count_local_uses(body)?;
            let weights = &*self.weights;
            self.order
                .sort_by_key(|&i| std::cmp::Reverse(weights[i as usize]));
            let used = self.order.partition_point(|&i| weights[i as usize] > 0);
            self.order.truncate(used);
        }
        let (mut next_gpr, mut next_xmm) = (0, 0);
        for k in 0..self.order.len() {
            let i = self.order[k] as usize;
            let reg = if self.locals[i].ty.is_float() {
                let r = LOCAL_XMMS.get(next_xmm).copied();
                next_xmm += 1;
                r
            } else {
                let r = LOCAL_GPRS.get(next_gpr).copied();
                next_gpr += 1;
                r
            };
            if let Some(r) = reg {
                self.locals[i].reg = Some(r);
                self.regs.reserve(r);
                if !r.is_callee_saved() {
                    self.caller_saved_locals.push(i as u32);
                }
            }
        }
        let callee_saved = LOCAL_GPRS
            .iter()
            .take_while(|r| r.is_callee_saved())
            .count()
            .min(next_gpr);
        Ok(callee_saved as u32)
    }

    /// Fills [`CodeGen::weights`] with each local's uses, weighted by loop
    /// depth: the one extra pass over the body.
    fn count_local_uses(&mut self, body: &FunctionBody<'_>) -> Result<(), CompileError> {
        self.weights.clear();
        self.weights.resize(self.locals.len(), 0);
        let reader = body.get_binary_reader_for_operators()?;
        super::local_uses::count_local_uses(reader, self.weights, self.scan_frames);
        Ok(())
    }

    /// Gives every local that is not a stack argument a home slot, now
    /// that the number of pushed registers is known. Returns the home-slot
    /// number of the first declared local.
    fn assign_home_slots(&mut self, nparams: usize, callee_saved: u32) -> u32 {
        self.frame.pushed = SAVED_REGS.len() as u32 + callee_saved;
        let mut homes = 0;
        let mut first_declared = 0;
        for i in 0..self.locals.len() {
            if i == nparams {
                first_declared = homes;
            }
            let disp = match self.layout.args.get(2 + i) {
                Some(AbiLoc::Stack(off)) if i < nparams => 16 + *off as i64,
                _ => {
                    homes += 1;
                    self.frame.local_disp(homes - 1)
                }
            };
            self.locals[i].disp = disp as i32;
        }
        if nparams == self.locals.len() {
            first_declared = homes;
        }
        self.frame.locals = homes;
        first_declared
    }

    /// Moves each parameter from where the caller put it to its local's
    /// register or home slot.
    fn place_params(&mut self, nparams: usize) -> Result<(), CompileError> {
        // Stores to home slots first: the register moves below may
        // overwrite argument registers.
        for i in 0..nparams {
            let slot = self.locals[i];
            let from = match self.layout.args[2 + i] {
                AbiLoc::Gpr(g) => Val::Reg(Reg::from_abi_gpr(g)),
                AbiLoc::Xmm(x) => Val::Reg(Reg::from_abi_xmm(x)),
                AbiLoc::Stack(_) => Val::Mem(slot.disp),
            };
            match (slot.reg, from) {
                (Some(r), _) => self.queue_move(r, slot.ty, from),
                (None, Val::Reg(r)) => {
                    let home = Address::base_disp(RBP, slot.disp);
                    self.store_reg(slot.ty, home, r);
                }
                (None, _) => {}
            }
        }
        self.resolve_moves();
        // An i32 from other code may carry garbage in the upper half.
        for i in 0..nparams {
            let slot = self.locals[i];
            if let (Some(r), Ty::I32, AbiLoc::Gpr(_)) = (slot.reg, slot.ty, self.layout.args[2 + i])
            {
                self.masm.asm.mov_rr(Size::S32, r, r);
            }
        }
        Ok(())
    }

    /// Zeroes the declared locals: registers directly, home slots with
    /// stores (or `rep stos` for many).
    fn zero_declared_locals(&mut self, first_declared: u32) {
        let declared = self.frame.locals - first_declared;
        if declared > 8 {
            let lowest = self.frame.local_disp(self.frame.locals - 1) as i32;
            let m = &mut *self.masm;
            m.lea(RDI, Address::base_disp(RBP, lowest));
            m.mov(Size::S32, RCX, Operand::Imm(declared as i32));
            m.mov(Size::S32, RAX, Operand::Imm(0));
            m.asm.bytes(&[0xf3, 0x48, 0xab]); // rep stosq
        }
        let nparams = self.locals.len() - declared as usize;
        for i in nparams..self.locals.len() {
            let l = self.locals[i];
            match l.reg {
                Some(r) if l.ty.is_float() => self.masm.fconst(FloatSize::F64, r, 0),
                Some(r) => self.masm.mov(Size::S32, r, Operand::Imm(0)),
                None if declared <= 8 => {
                    let home = Address::base_disp(RBP, l.disp);
                    self.masm.store(StoreSize::B64, home, Operand::Imm(0));
                }
                None => {}
            }
        }
    }

    /// The function epilogue.
    pub(super) fn epilogue(&mut self) {
        let m = &mut *self.masm;
        let pushed = self.frame.pushed as usize;
        m.lea(RSP, Address::base_disp(RBP, -(8 * pushed as i32)));
        let saved = SAVED_REGS
            .iter()
            .chain(&LOCAL_GPRS[..pushed - SAVED_REGS.len()]);
        for &r in saved.rev() {
            m.pop(r);
        }
        m.pop(RBP);
        m.ret(self.layout.stack_args_size as u16);
    }

    /// Stores the locals held in caller-saved registers to their home
    /// slots, before a call.
    pub(super) fn save_local_regs(&mut self) {
        for k in 0..self.caller_saved_locals.len() {
            let l = self.locals[self.caller_saved_locals[k] as usize];
            if let Some(r) = l.reg {
                self.store_reg(l.ty, Address::base_disp(RBP, l.disp), r);
            }
        }
    }

    /// Reloads the locals held in caller-saved registers, after a call.
    pub(super) fn restore_local_regs(&mut self) {
        for k in 0..self.caller_saved_locals.len() {
            let l = self.locals[self.caller_saved_locals[k] as usize];
            if let Some(r) = l.reg {
                self.load_val(l.ty, r, Val::Mem(l.disp));
            }
        }
    }
}
