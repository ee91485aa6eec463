//! The single-pass code generator: [`compile_function`] reads a body once
//! and emits machine code through the [`MacroAssembler`] while keeping a
//! [`ValueStack`] of constants, registers, locals and spill slots.
//!
//! This module holds the driver (operator loop, trap stubs, patching the
//! frame size) and the helpers every operator family uses:
//! popping operands into registers or operands, allocating registers and
//! spilling when they run out. The families live in the submodules.
//!
//! Invariants the families rely on:
//! - an `i32` in a register has its upper 32 bits zero (values entering
//!   from other code are zero-extended on arrival);
//! - a local that lives in a register (`codegen/frame`) is popped as
//!   [`Val::LocalReg`]: read it in place, never write or free it; to store
//!   a result into such a local directly, use `fuse_local_store`;
//! - at every control-flow merge and call, the stack below the merged or
//!   passed values holds only constants and spilled values, so the register
//!   state after a label is exactly "the canonical results, nothing else";
//! - moves, loads and constant materialisation never change the flags, so
//!   a comparison can be emitted before the operands of its user are ready.
//!   Fuel charges do change them, so they are emitted before a
//!   region-ending operator's code, or before the comparison feeding a
//!   `br_if`/`if` (`codegen/interrupt`).

mod call;
mod control;
mod conversion;
mod frame;
mod interrupt;
mod local_uses;
mod memory;
mod moves;
mod numeric;
mod simd;
mod table;
mod variable;

pub(crate) use control::ControlFrame;
pub(crate) use interrupt::CheckStub;

use crate::isa::x64::abi::Frame;
use crate::isa::x64::masm::X64Masm;
use crate::isa::x64::regs::{RBP, Reg, SCRATCH};
use crate::masm::{Address, FloatOp, MacroAssembler, Operand, Size, StoreSize};
use crate::regalloc::RegAlloc;
use crate::stack::{Loc, Ty, Val, ValueStack};
use crate::{codegen_error, unsupported};
use dynasmrt::DynamicLabel;
use tandem_codegen_api::abi::{CallLayout, wasm_call_layout};
use tandem_codegen_api::lower::{LowerFunction, lower_body};
use tandem_codegen_api::{CompileError, CompileInputs, CompiledFunction, Relocation, TrapSite};
use tandem_environ::{
    DefinedFuncIndex, FuncType, ModuleInfo, TrapCode, Tunables, TypeIndex, VMOffsets,
};
use wasmparser::{FunctionBody, Operator, OperatorsReader};

/// A local variable: its type, its home slot, and the register it lives
/// in when it has one (see `codegen/frame`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct LocalSlot {
    /// `rbp`-relative address of its home slot.
    pub disp: i32,
    /// Its type.
    pub ty: Ty,
    /// The register holding it for the whole function, if any.
    pub reg: Option<Reg>,
}

/// An out-of-line `ud2` that explicit checks jump to.
#[derive(Clone, Copy, Debug)]
pub(crate) struct TrapStub {
    /// Where the check jumps.
    pub label: DynamicLabel,
    /// Why it traps.
    pub code: TrapCode,
    /// The Wasm offset of the checking operator.
    pub wasm_offset: u32,
}

/// Buffers reused from one function to the next (STYLE.md 7).
#[derive(Default)]
pub(crate) struct Buffers {
    /// The macro assembler and its code buffer.
    pub masm: X64Masm,
    /// The operand stack.
    pub stack: ValueStack,
    /// The control stack.
    pub control: Vec<ControlFrame>,
    /// Locals, parameters first.
    pub locals: Vec<LocalSlot>,
    /// Locals held in caller-saved registers (saved around calls).
    pub caller_saved_locals: Vec<u32>,
    /// Locals in the order they get registers.
    pub order: Vec<u32>,
    /// Weighted use counts of the locals.
    pub weights: Vec<u32>,
    /// Open constructs while counting uses.
    pub scan_frames: Vec<wasmparser::FrameKind>,
    /// Popped call arguments.
    pub args: Vec<(Ty, Val)>,
    /// Register moves being resolved.
    pub reg_moves: Vec<(Reg, Reg)>,
    /// Loads into registers that follow the register moves.
    pub loads: Vec<(Reg, Ty, Val)>,
    /// `br_table` targets.
    pub targets: Vec<u32>,
    /// `br_table` stubs: (depth, label).
    pub stubs: Vec<(u32, DynamicLabel)>,
    /// Trap stubs to emit after the body.
    pub trap_stubs: Vec<TrapStub>,
    /// Fuel and epoch check stubs to emit after the body.
    pub check_stubs: Vec<CheckStub>,
    /// Trap sites.
    pub traps: Vec<TrapSite>,
    /// Relocations.
    pub relocs: Vec<Relocation>,
    /// Address map.
    pub address_map: Vec<(u32, u32)>,
    /// Call layouts by type index with the signature they belong to,
    /// computed on first use and kept across functions.
    pub layouts: Vec<Option<(FuncType, Option<CallLayout>)>>,
    /// The code, before it is copied out.
    pub code: Vec<u8>,
}

impl Buffers {
    /// Empties every buffer, keeping the allocations.
    pub fn clear(&mut self) {
        let Buffers {
            masm: _,
            stack,
            control,
            locals,
            caller_saved_locals,
            order,
            weights,
            scan_frames,
            args,
            reg_moves,
            loads,
            targets,
            stubs,
            trap_stubs,
            check_stubs,
            traps,
            relocs,
            address_map,
            layouts,
            code,
        } = self;
        // The assembler empties itself when its code is taken; a failed
        // compilation leaves it dirty, so it is replaced then (see
        // `with_buffers`).
        stack.clear();
        control.clear();
        locals.clear();
        caller_saved_locals.clear();
        order.clear();
        weights.clear();
        scan_frames.clear();
        args.clear();
        reg_moves.clear();
        loads.clear();
        targets.clear();
        stubs.clear();
        trap_stubs.clear();
        check_stubs.clear();
        traps.clear();
        relocs.clear();
        address_map.clear();
        // Layouts stay: each remembers its signature.
        let _ = layouts;
        code.clear();
    }
}

thread_local! {
    static BUFFERS: std::cell::RefCell<Buffers> = std::cell::RefCell::new(Buffers::default());
}

/// Runs `f` with this thread's buffers, cleared.
pub(crate) fn with_buffers<T>(
    f: impl FnOnce(&mut Buffers) -> Result<T, CompileError>,
) -> Result<T, CompileError> {
    BUFFERS.with(|cell| {
        let mut bufs = cell.borrow_mut();
        bufs.clear();
        let result = f(&mut bufs);
        if result.is_err() {
            bufs.masm = X64Masm::default();
        }
        result
    })
}

/// What one function's compilation reads.
pub(crate) struct Env<'a> {
    /// The module.
    pub module: &'a ModuleInfo,
    /// Its VMContext layout.
    pub offsets: &'a VMOffsets,
    /// Shared settings.
    pub tunables: &'a Tunables,
}

/// The state of one function's compilation.
pub(crate) struct CodeGen<'a, 'b> {
    pub env: Env<'a>,
    pub masm: &'b mut X64Masm,
    pub stack: &'b mut ValueStack,
    pub regs: RegAlloc,
    pub control: &'b mut Vec<ControlFrame>,
    pub locals: &'b mut Vec<LocalSlot>,
    pub caller_saved_locals: &'b mut Vec<u32>,
    pub order: &'b mut Vec<u32>,
    pub weights: &'b mut Vec<u32>,
    pub scan_frames: &'b mut Vec<wasmparser::FrameKind>,
    pub args: &'b mut Vec<(Ty, Val)>,
    pub reg_moves: &'b mut Vec<(Reg, Reg)>,
    pub loads: &'b mut Vec<(Reg, Ty, Val)>,
    pub targets: &'b mut Vec<u32>,
    pub stubs: &'b mut Vec<(u32, DynamicLabel)>,
    pub trap_stubs: &'b mut Vec<TrapStub>,
    pub check_stubs: &'b mut Vec<CheckStub>,
    pub traps: &'b mut Vec<TrapSite>,
    pub relocs: &'b mut Vec<Relocation>,
    pub address_map: &'b mut Vec<(u32, u32)>,
    pub layouts: &'b mut Vec<Option<(FuncType, Option<CallLayout>)>>,
    /// The operator stream (peeked to fuse comparisons).
    pub reader: OperatorsReader<'a>,
    /// Whether the current position can execute.
    pub reachable: bool,
    /// Wasm offset of the current operator.
    pub offset: u32,
    /// The frame's shape (pushed registers, home slots).
    pub frame: Frame,
    /// This function's own call layout.
    pub layout: CallLayout,
    /// Where every return jumps.
    pub epilogue: DynamicLabel,
    /// Largest outgoing call area.
    pub max_call_area: u32,
    /// The function's signature.
    pub func_type: TypeIndex,
    /// Fuel cost of the current straight-line region, not charged yet.
    pub fuel_pending: i64,
    /// Whether the store fused by `fuse_local_store` was a `local.tee`.
    pub fused_tee: bool,
    /// Whether the next operator's fuel was charged already (with the
    /// comparison before it, see `codegen/interrupt`).
    pub fuel_prepaid: bool,
}

/// Compiles defined function `index`.
pub(crate) fn compile_function(
    inputs: &CompileInputs<'_>,
    index: DefinedFuncIndex,
    body: &FunctionBody<'_>,
) -> Result<CompiledFunction, CompileError> {
    let module = inputs.module;
    let ty_index = module.functions[module.func_index(index).index()];
    let ty = &module.types[ty_index.index()];
    for &t in ty.params.iter().chain(ty.results.iter()) {
        if Ty::of(t).is_none() {
            return Err(unsupported("the v128 type", 0));
        }
    }
    let layout = wasm_call_layout(ty);
    with_buffers(|b| {
        let epilogue = b.masm.new_label();
        let reader = body.get_operators_reader()?;
        let mut cg = CodeGen {
            env: Env {
                module,
                offsets: inputs.offsets,
                tunables: inputs.tunables,
            },
            masm: &mut b.masm,
            stack: &mut b.stack,
            regs: RegAlloc::default(),
            control: &mut b.control,
            locals: &mut b.locals,
            caller_saved_locals: &mut b.caller_saved_locals,
            order: &mut b.order,
            weights: &mut b.weights,
            scan_frames: &mut b.scan_frames,
            args: &mut b.args,
            reg_moves: &mut b.reg_moves,
            loads: &mut b.loads,
            targets: &mut b.targets,
            stubs: &mut b.stubs,
            trap_stubs: &mut b.trap_stubs,
            check_stubs: &mut b.check_stubs,
            traps: &mut b.traps,
            relocs: &mut b.relocs,
            address_map: &mut b.address_map,
            layouts: &mut b.layouts,
            reader,
            reachable: true,
            offset: 0,
            frame: Frame::default(),
            layout,
            epilogue,
            max_call_area: 0,
            func_type: ty_index,
            fuel_pending: 0,
            fused_tee: false,
            fuel_prepaid: false,
        };
        let patches = cg.prologue(ty_index, body)?;
        cg.offset = cg.reader.original_position() as u32;
        cg.entry_checks()?;
        let nresults = cg.env.module.types[ty_index.index()].results.len() as u32;
        cg.control
            .push(ControlFrame::function(cg.epilogue, nresults));
        cg.body()?;
        let (stack_check, frame_sub) = patches;
        cg.finish(stack_check, frame_sub, &mut b.code)
    })
}

impl<'a, 'b> CodeGen<'a, 'b> {
    /// An internal error.
    pub fn bug(&self, what: &str) -> CompileError {
        codegen_error(format!("{what} (at offset {:#x})", self.offset))
    }

    /// An unsupported-feature error at the current operator.
    pub fn unsupported(&self, what: impl Into<String>) -> CompileError {
        unsupported(what, u64::from(self.offset))
    }

    /// The operator loop (shared with the other backend).
    fn body(&mut self) -> Result<(), CompileError> {
        lower_body(self)?;
        if !self.control.is_empty() {
            return Err(self.bug("body ended with open blocks"));
        }
        Ok(())
    }

    /// Records that code from here on belongs to the current operator.
    #[inline]
    fn mark_address(&mut self) {
        let at = self.masm.offset();
        match self.address_map.last_mut() {
            Some(last) if last.0 == at => last.1 = self.offset,
            _ => self.address_map.push((at, self.offset)),
        }
    }

    /// Emits the trap stubs, patches the frame size and packages the code.
    fn finish(
        mut self,
        stack_check: u32,
        frame_sub: u32,
        code: &mut Vec<u8>,
    ) -> Result<CompiledFunction, CompileError> {
        self.emit_check_stubs();
        for i in 0..self.trap_stubs.len() {
            let stub = self.trap_stubs[i];
            self.masm.bind(stub.label);
            let at = self.masm.ud2();
            match self.address_map.last_mut() {
                Some(last) if last.0 == at => last.1 = stub.wasm_offset,
                _ => self.address_map.push((at, stub.wasm_offset)),
            }
            self.traps.push(TrapSite {
                code_offset: at,
                code: stub.code,
            });
        }
        let fixed = self.frame.fixed_size(self.stack.max_depth);
        let sub = self.frame.sub_size(self.stack.max_depth);
        let total = sub + u64::from(self.max_call_area);
        let (Ok(sub), Ok(total)) = (i32::try_from(sub), i32::try_from(total)) else {
            return Err(self.unsupported("a stack frame over 2 GiB"));
        };
        if fixed > (1 << 30) {
            return Err(self.unsupported("a stack frame over 1 GiB"));
        }
        self.masm.finish(code).map_err(|e| self.bug(&e))?;
        let patch = |code: &mut Vec<u8>, at: u32, v: i32| {
            code[at as usize..at as usize + 4].copy_from_slice(&v.to_le_bytes());
        };
        patch(code, stack_check, -total);
        patch(code, frame_sub, sub);
        self.traps.sort_by_key(|t| t.code_offset);
        Ok(CompiledFunction {
            // Moved, not cloned: `code` was just filled with exactly this
            // function's bytes, and refilling it costs one allocation.
            code: std::mem::take(code),
            alignment: 16,
            relocs: self.relocs.clone(),
            traps: self.traps.clone(),
            address_map: self.address_map.clone(),
        })
    }

    // ---- trap helpers ----

    /// A label that traps with `code` (out of line, after the body).
    pub fn trap_label(&mut self, code: TrapCode) -> DynamicLabel {
        let label = self.masm.new_label();
        self.trap_stubs.push(TrapStub {
            label,
            code,
            wasm_offset: self.offset,
        });
        label
    }

    /// Records the instruction at `at` as a trap site.
    pub fn trap_site(&mut self, at: u32, code: TrapCode) {
        self.traps.push(TrapSite {
            code_offset: at,
            code,
        });
    }

    // ---- the value stack ----

    /// `rbp`-relative address of stack slot `pos`.
    #[inline]
    pub fn slot(&self, pos: usize) -> Address {
        Address::base_disp(RBP, self.frame.value_slot_disp(pos) as i32)
    }

    /// Pushes a register value.
    #[inline]
    pub fn push_reg(&mut self, ty: Ty, r: Reg) {
        self.stack.push(ty, Loc::Reg(r));
    }

    /// Pushes a constant.
    #[inline]
    pub fn push_const(&mut self, ty: Ty, bits: i64) {
        self.stack.push(ty, Loc::Const(bits));
    }

    /// The value at position `pos` as a [`Val`], without popping it.
    pub fn val_at(&self, pos: usize) -> (Ty, Val) {
        let e = self.stack.entries[pos];
        let v = match e.loc {
            Loc::Reg(r) => Val::Reg(r),
            Loc::Mem => Val::Mem(self.slot(pos).disp),
            Loc::Local(i) => {
                let l = self.locals[i as usize];
                match l.reg {
                    Some(r) => Val::LocalReg(r),
                    None => Val::Mem(l.disp),
                }
            }
            Loc::Const(c) => Val::Const(c),
        };
        (e.ty, v)
    }

    /// Pops one operand; its register (if any) now belongs to the caller.
    #[inline]
    pub fn pop(&mut self) -> Result<(Ty, Val), CompileError> {
        let pos = self
            .stack
            .len()
            .checked_sub(1)
            .ok_or_else(|| self.bug("operand stack underflow"))?;
        let tv = self.val_at(pos);
        self.stack.pop();
        Ok(tv)
    }

    /// Releases a popped value's register.
    #[inline]
    pub fn free(&mut self, v: Val) {
        if let Val::Reg(r) = v {
            self.regs.free(r);
        }
    }

    /// A free register of the class, spilling the oldest register value on
    /// the stack when none is free.
    pub fn alloc(&mut self, float: bool) -> Result<Reg, CompileError> {
        if let Some(r) = self.regs.try_alloc(float) {
            return Ok(r);
        }
        for pos in self.stack.clean..self.stack.len() {
            if let Loc::Reg(r) = self.stack.entries[pos].loc
                && r.is_xmm() == float
            {
                self.spill_entry(pos);
                self.regs.take(r);
                return Ok(r);
            }
        }
        Err(self.bug("out of registers"))
    }

    /// Allocates a register for a value of type `ty`.
    #[inline]
    pub fn alloc_for(&mut self, ty: Ty) -> Result<Reg, CompileError> {
        self.alloc(ty.is_float())
    }

    /// Moves entry `pos` to its stack slot (registers and locals only).
    pub fn spill_entry(&mut self, pos: usize) {
        let e = self.stack.entries[pos];
        let slot = self.slot(pos);
        match e.loc {
            Loc::Reg(r) => {
                self.store_reg(e.ty, slot, r);
                self.regs.free(r);
            }
            Loc::Local(i) => {
                let l = self.locals[i as usize];
                match l.reg {
                    Some(r) => self.store_reg(e.ty, slot, r),
                    None => self.copy_mem(e.ty, slot, Address::base_disp(RBP, l.disp)),
                }
                self.stack.local_refs -= 1;
            }
            Loc::Mem | Loc::Const(_) => return,
        }
        self.stack.entries[pos].loc = Loc::Mem;
    }

    /// Spills every register and local reference on the stack.
    pub fn spill_all(&mut self) {
        for pos in self.stack.clean..self.stack.len() {
            self.spill_entry(pos);
        }
        self.stack.clean = self.stack.len();
    }

    /// Frees `r` for a fixed use: a stack entry holding it is spilled.
    pub fn evict(&mut self, r: Reg) {
        if self.regs.is_free(r) {
            return;
        }
        for pos in self.stack.clean..self.stack.len() {
            if self.stack.entries[pos].loc == Loc::Reg(r) {
                self.spill_entry(pos);
                return;
            }
        }
    }

    // ---- moving values ----

    /// Stores register `r` holding a `ty` to `addr`.
    pub fn store_reg(&mut self, ty: Ty, addr: Address, r: Reg) {
        match ty {
            Ty::I32 => self.masm.store(StoreSize::B32, addr, Operand::Reg(r)),
            Ty::I64 => self.masm.store(StoreSize::B64, addr, Operand::Reg(r)),
            Ty::F32 | Ty::F64 => self.masm.fstore(ty.fsize(), addr, r),
        }
    }

    /// Copies a `ty` from `from` to `to` through a scratch register.
    pub fn copy_mem(&mut self, ty: Ty, to: Address, from: Address) {
        let size = if matches!(ty, Ty::I32 | Ty::F32) {
            Size::S32
        } else {
            Size::S64
        };
        self.masm.mov(size, SCRATCH, Operand::Mem(from));
        let bytes = if size == Size::S32 {
            StoreSize::B32
        } else {
            StoreSize::B64
        };
        self.masm.store(bytes, to, Operand::Reg(SCRATCH));
    }

    /// Loads `v` into `dst` (any register, allocatable or not).
    pub fn load_val(&mut self, ty: Ty, dst: Reg, v: Val) {
        match (ty.is_float(), v) {
            (false, Val::Reg(r) | Val::LocalReg(r)) => {
                self.masm.mov(Size::S64, dst, Operand::Reg(r))
            }
            (false, Val::Mem(d)) => {
                self.masm
                    .mov(ty.size(), dst, Operand::Mem(Address::base_disp(RBP, d)))
            }
            (false, Val::Const(c)) => {
                if ty == Ty::I32 {
                    self.masm.mov(Size::S32, dst, Operand::Imm(c as i32));
                } else {
                    self.masm.mov_imm64(dst, c);
                }
            }
            (true, Val::Reg(r) | Val::LocalReg(r)) => self.masm.fmov(dst, r),
            (true, Val::Mem(d)) => self.masm.fload(ty.fsize(), dst, Address::base_disp(RBP, d)),
            (true, Val::Const(c)) => self.masm.fconst(ty.fsize(), dst, c as u64),
        }
    }

    /// Stores `v` (a `ty`) to `addr`; may use the scratch registers.
    pub fn store_val(&mut self, ty: Ty, addr: Address, v: Val) {
        let wide = matches!(ty, Ty::I64 | Ty::F64);
        match v {
            Val::Reg(r) | Val::LocalReg(r) => self.store_reg(ty, addr, r),
            Val::Mem(d) => self.copy_mem(ty, addr, Address::base_disp(RBP, d)),
            Val::Const(c) => {
                if !wide {
                    self.masm
                        .store(StoreSize::B32, addr, Operand::Imm(c as i32));
                } else if let Ok(i) = i32::try_from(c) {
                    self.masm.store(StoreSize::B64, addr, Operand::Imm(i));
                } else {
                    self.masm
                        .store(StoreSize::B32, addr, Operand::Imm(c as i32));
                    self.masm.store(
                        StoreSize::B32,
                        addr.offset(4),
                        Operand::Imm((c >> 32) as i32),
                    );
                }
            }
        }
    }

    /// `v` in a register the caller owns (allocating and loading if needed).
    pub fn owned_reg(&mut self, ty: Ty, v: Val) -> Result<Reg, CompileError> {
        if let Val::Reg(r) = v {
            return Ok(r);
        }
        let r = self.alloc_for(ty)?;
        self.load_val(ty, r, v);
        Ok(r)
    }

    /// `v` as a source operand of an integer instruction. A 64-bit constant
    /// that does not fit 32 bits is loaded into the scratch register.
    pub fn int_operand(&mut self, ty: Ty, v: Val) -> Operand {
        match v {
            Val::Reg(r) | Val::LocalReg(r) => Operand::Reg(r),
            Val::Mem(d) => Operand::Mem(Address::base_disp(RBP, d)),
            Val::Const(c) if ty == Ty::I32 => Operand::Imm(c as i32),
            Val::Const(c) => self.masm.imm64_operand(c),
        }
    }

    /// `dst = dst op v` for a float value `v` (a constant is read from the
    /// function's constant pool).
    pub fn float_op(&mut self, op: FloatOp, ty: Ty, dst: Reg, v: Val) {
        match Self::float_source(v) {
            Ok(src) => self.masm.fop(op, ty.fsize(), dst, src),
            Err(bits) => self.masm.fop_const(op, ty.fsize(), dst, bits),
        }
    }

    /// Compares `lhs` with the float value `v`, setting the flags.
    pub fn float_cmp(&mut self, ty: Ty, lhs: Reg, v: Val) {
        match Self::float_source(v) {
            Ok(src) => self.masm.fcmp(ty.fsize(), lhs, src),
            Err(bits) => self.masm.fcmp_const(ty.fsize(), lhs, bits),
        }
    }

    /// A float value as a source operand, or a constant's bits (which the
    /// masm reads from the constant pool).
    fn float_source(v: Val) -> Result<Operand, u64> {
        match v {
            Val::Reg(r) | Val::LocalReg(r) => Ok(Operand::Reg(r)),
            Val::Mem(d) => Ok(Operand::Mem(Address::base_disp(RBP, d))),
            Val::Const(c) => Err(c as u64),
        }
    }
}

impl<'a> LowerFunction<'a> for CodeGen<'a, '_> {
    const BACKEND: &'static str = crate::NAME;

    #[inline]
    fn operators(&mut self) -> &mut OperatorsReader<'a> {
        &mut self.reader
    }

    #[inline]
    fn reachable(&self) -> bool {
        self.reachable
    }

    #[inline]
    fn at_operator(&mut self, offset: u64) {
        self.offset = offset as u32;
    }

    #[inline]
    fn before_operator(&mut self, op: &Operator<'a>) {
        self.mark_address();
        self.charge_fuel(op);
    }

    #[inline]
    fn after_operator(&mut self, op: &Operator<'a>) -> Result<(), CompileError> {
        self.finish_operator(matches!(op, Operator::Loop { .. }))
    }
}
