//! Structured control flow: `block`, `loop`, `if`/`else`/`end`, `br`,
//! `br_if`, `br_table`, `return`, `unreachable`, `drop` and `select`.
//!
//! Every construct spills the operand stack on entry, so below its base
//! only constants and spilled values remain. Values carried by a branch
//! land in the target's canonical place: nothing for none, `rax`/`xmm0`
//! for one, the stack slots from the frame's base for several, and the
//! return registers and return area for the function itself. A branch that
//! needs moves is emitted as "skip unless taken; moves; jump" so the
//! fall-through path keeps its state.
//!
//! An `if` with parameters keeps them in their slots for the `else` arm
//! and hands each arm copies above them.

use super::CodeGen;
use crate::isa::x64::regs::{RAX, Reg, XMM0};
use crate::masm::{Cond, MacroAssembler, Operand, Size};
use crate::stack::{Loc, Ty, Val};
use dynasmrt::DynamicLabel;
use tandem_codegen_api::CompileError;
use tandem_codegen_api::lower::LowerControl;
use tandem_environ::TrapCode;
use wasmparser::{BlockType, BrTable};

/// The flags a comparison left, as a branch condition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Flags {
    /// One x86 condition.
    Int(Cond),
    /// Float equality: `ZF && !PF`.
    FloatEq,
    /// Float inequality: `!ZF || PF`.
    FloatNe,
}

impl Flags {
    /// The condition that holds exactly when this one does not (what
    /// `i32.eqz` makes of a comparison).
    pub(crate) fn negate(self) -> Flags {
        match self {
            Flags::Int(c) => Flags::Int(c.invert()),
            Flags::FloatEq => Flags::FloatNe,
            Flags::FloatNe => Flags::FloatEq,
        }
    }
}

/// What kind of construct a frame is.
#[derive(Clone, Copy, Debug)]
pub(crate) enum FrameKind {
    /// The function body: branches return.
    Func,
    /// `block`.
    Block,
    /// `loop`: branches go to the header.
    Loop,
    /// `if`.
    If {
        /// Where the condition jumps when false.
        else_label: DynamicLabel,
        /// Whether `else` was seen.
        has_else: bool,
    },
}

/// One open construct.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ControlFrame {
    /// What it is.
    pub kind: FrameKind,
    /// Branch target: the loop header, the end, or the epilogue.
    pub label: DynamicLabel,
    /// Stack height below the parameters at entry; results land here.
    pub base: usize,
    /// Stack height the arms start from (above an `if`'s saved parameters).
    pub height: usize,
    /// The block type (`Empty` for the function, whose types come from its
    /// signature).
    pub ty: BlockType,
    /// Parameter count.
    pub params: u32,
    /// Result count.
    pub results: u32,
    /// Whether a branch targets the end label.
    pub reached: bool,
}

impl ControlFrame {
    /// The function body's frame.
    pub fn function(epilogue: DynamicLabel, results: u32) -> Self {
        ControlFrame {
            kind: FrameKind::Func,
            label: epilogue,
            base: 0,
            height: 0,
            ty: BlockType::Empty,
            params: 0,
            results,
            reached: false,
        }
    }
}

/// Where a branch's values go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Canon {
    /// No values.
    None,
    /// One value, in this register.
    Reg(Reg),
    /// Several, in the slots from this position.
    Slots(usize),
    /// The function's return locations.
    Return,
}

impl CodeGen<'_, '_> {
    /// `(params, results)` of a block type.
    pub fn arity(&self, ty: BlockType) -> (u32, u32) {
        match ty {
            BlockType::Empty => (0, 0),
            BlockType::Type(_) => (0, 1),
            BlockType::FuncType(i) => {
                let f = &self.env.module.types[i as usize];
                (f.params.len() as u32, f.results.len() as u32)
            }
        }
    }

    /// Type of parameter (`params`) or result `i` of frame `f`.
    fn frame_ty(&self, f: &ControlFrame, params: bool, i: usize) -> Ty {
        let t = match (f.kind, f.ty) {
            (FrameKind::Func, _) => {
                let fty = &self.env.module.types[self.func_type.index()];
                Ty::of(fty.results[i])
            }
            (_, BlockType::Type(t)) => Ty::of_wasmparser(t),
            (_, BlockType::FuncType(idx)) => {
                let fty = &self.env.module.types[idx as usize];
                Ty::of(if params {
                    fty.params[i]
                } else {
                    fty.results[i]
                })
            }
            (_, BlockType::Empty) => None,
        };
        t.unwrap_or(Ty::I64)
    }

    /// Frame at relative `depth`, as an index into the control stack.
    fn frame_index(&self, depth: u32) -> Result<usize, CompileError> {
        self.control
            .len()
            .checked_sub(1 + depth as usize)
            .ok_or_else(|| self.bug("branch depth out of range"))
    }

    /// How many values a branch to frame `fi` carries, and where they go.
    fn canon(&self, fi: usize) -> (usize, Canon) {
        let f = &self.control[fi];
        let (n, params) = match f.kind {
            FrameKind::Func => return (f.results as usize, Canon::Return),
            FrameKind::Loop => (f.params as usize, true),
            _ => (f.results as usize, false),
        };
        let canon = match n {
            0 => Canon::None,
            1 => {
                if self.frame_ty(f, params, 0).is_float() {
                    Canon::Reg(XMM0)
                } else {
                    Canon::Reg(RAX)
                }
            }
            _ => Canon::Slots(f.base),
        };
        (n, canon)
    }

    /// Whether a branch to frame `fi` must move values first.
    fn needs_moves(&self, fi: usize) -> bool {
        let (n, canon) = self.canon(fi);
        let len = self.stack.len();
        match canon {
            Canon::None => false,
            Canon::Return => n > 0,
            Canon::Reg(r) => self.stack.entries[len - 1].loc != Loc::Reg(r),
            Canon::Slots(base) => (0..n).any(|i| {
                let pos = len - n + i;
                pos != base + i || self.stack.entries[pos].loc != Loc::Mem
            }),
        }
    }

    /// Moves the top values to frame `fi`'s canonical place without popping
    /// them or allocating registers.
    fn branch_moves(&mut self, fi: usize) -> Result<(), CompileError> {
        let (n, canon) = self.canon(fi);
        let len = self.stack.len();
        if len < n {
            return Err(self.bug("operand stack underflow at a branch"));
        }
        match canon {
            Canon::None => {}
            Canon::Return => self.return_moves()?,
            Canon::Reg(r) => {
                let (ty, v) = self.val_at(len - 1);
                self.load_val(ty, r, v);
            }
            Canon::Slots(base) => {
                for i in 0..n {
                    let pos = len - n + i;
                    if pos == base + i && self.stack.entries[pos].loc == Loc::Mem {
                        continue;
                    }
                    let (ty, v) = self.val_at(pos);
                    let to = self.slot(base + i);
                    self.store_val(ty, to, v);
                }
            }
        }
        Ok(())
    }

    /// Marks frame `fi`'s end as a branch target and returns its label.
    fn target(&mut self, fi: usize) -> DynamicLabel {
        let f = &mut self.control[fi];
        if !matches!(f.kind, FrameKind::Loop) {
            f.reached = true;
        }
        f.label
    }

    /// Jumps to `label` when `flags` hold.
    pub fn jump_if(&mut self, flags: Flags, label: DynamicLabel) {
        match flags {
            Flags::Int(c) => self.masm.jcc(c, label),
            Flags::FloatEq => {
                let skip = self.masm.new_label();
                self.masm.jcc(Cond::Parity, skip);
                self.masm.jcc(Cond::Eq, label);
                self.masm.bind(skip);
            }
            Flags::FloatNe => {
                self.masm.jcc(Cond::Parity, label);
                self.masm.jcc(Cond::Ne, label);
            }
        }
    }

    /// Jumps to `label` unless `flags` hold.
    pub fn jump_unless(&mut self, flags: Flags, label: DynamicLabel) {
        match flags {
            Flags::Int(c) => self.masm.jcc(c.invert(), label),
            Flags::FloatEq => self.jump_if(Flags::FloatNe, label),
            Flags::FloatNe => self.jump_if(Flags::FloatEq, label),
        }
    }

    /// Pops an i32 condition and sets the flags to "non-zero"; `Err(value)`
    /// for a constant condition.
    fn condition(&mut self) -> Result<Result<Flags, bool>, CompileError> {
        let (_, v) = self.pop()?;
        Ok(match v {
            Val::Const(c) => Err(c as i32 != 0),
            Val::Reg(r) | Val::LocalReg(r) => {
                self.masm.test(Size::S32, r, r);
                self.free(v);
                Ok(Flags::Int(Cond::Ne))
            }
            Val::Mem(_) => {
                let op = self.int_operand(Ty::I32, v);
                self.masm.cmp(Size::S32, op, Operand::Imm(0));
                Ok(Flags::Int(Cond::Ne))
            }
        })
    }

    /// Stores constant entries among the top `n` into their slots.
    fn materialize_top(&mut self, n: usize) {
        let len = self.stack.len();
        for pos in len - n..len {
            let e = self.stack.entries[pos];
            if let Loc::Const(c) = e.loc {
                let to = self.slot(pos);
                self.store_val(e.ty, to, Val::Const(c));
                self.stack.entries[pos].loc = Loc::Mem;
            }
        }
    }

    /// Pushes copies of the `n` values at `from..from+n` (an `if`'s saved
    /// parameters) for an arm.
    fn push_param_copies(&mut self, from: usize, n: usize) -> Result<(), CompileError> {
        for i in 0..n {
            let (ty, v) = self.val_at(from + i);
            let r = self.alloc_for(ty)?;
            self.load_val(ty, r, v);
            self.push_reg(ty, r);
        }
        Ok(())
    }

    /// Resets the register and stack state to frame `f`'s start plus its
    /// canonical results.
    fn enter_after(&mut self, fi: usize) -> Result<(), CompileError> {
        let f = self.control[fi];
        self.regs.reset();
        self.stack.truncate(f.base);
        self.stack.clean = self.stack.clean.min(f.base);
        let (n, canon) = self.canon(fi);
        for i in 0..n {
            let ty = self.frame_ty(&f, matches!(f.kind, FrameKind::Loop), i);
            match canon {
                Canon::Reg(r) => {
                    self.regs.take(r);
                    self.push_reg(ty, r);
                }
                _ => self.stack.push(ty, Loc::Mem),
            }
        }
        Ok(())
    }

    /// `if`, with the condition already in the flags when `flags` is set.
    pub fn if_on(&mut self, ty: BlockType, flags: Option<Flags>) -> Result<(), CompileError> {
        let cond = match flags {
            Some(f) => Ok(f),
            None => self.condition()?,
        };
        self.spill_all();
        let (params, results) = self.arity(ty);
        let base = self.stack.len() - params as usize;
        self.materialize_top(params as usize);
        let else_label = self.masm.new_label();
        match cond {
            Ok(f) => self.jump_unless(f, else_label),
            Err(true) => {}
            Err(false) => self.masm.jmp(else_label),
        }
        self.control.push(ControlFrame {
            kind: FrameKind::If {
                else_label,
                has_else: false,
            },
            label: self.masm.new_label(),
            base,
            height: base + params as usize,
            ty,
            params,
            results,
            reached: false,
        });
        self.push_param_copies(base, params as usize)
    }

    /// `br_if`, with the condition already in the flags when `flags` is set.
    pub fn br_if_on(&mut self, depth: u32, flags: Option<Flags>) -> Result<(), CompileError> {
        let cond = match flags {
            Some(f) => Ok(f),
            None => self.condition()?,
        };
        let fi = self.frame_index(depth)?;
        let flags = match cond {
            Ok(f) => f,
            Err(false) => return Ok(()),
            Err(true) => {
                // Taken always; the code after it is still validated, so
                // compile it as if it ran.
                Flags::Int(Cond::Eq)
            }
        };
        if matches!(cond, Err(true)) {
            // `cmp rsp, rsp` sets ZF: a cheap "always" for the jump below.
            self.masm.cmp(
                Size::S64,
                Operand::Reg(crate::isa::x64::regs::RSP),
                Operand::Reg(crate::isa::x64::regs::RSP),
            );
        }
        if self.needs_moves(fi) {
            let skip = self.masm.new_label();
            self.jump_unless(flags, skip);
            self.branch_moves(fi)?;
            let l = self.target(fi);
            self.masm.jmp(l);
            self.masm.bind(skip);
        } else {
            let l = self.target(fi);
            self.jump_if(flags, l);
        }
        Ok(())
    }

    /// `select`, with the condition already in the flags when `flags` is
    /// set (integer conditions only).
    pub fn select_on(&mut self, flags: Option<Cond>) -> Result<(), CompileError> {
        let cond = match flags {
            Some(c) => Ok(c),
            None => {
                let (_, c) = self.pop()?;
                match c {
                    Val::Const(c) => Err(c as i32 != 0),
                    other => {
                        // Test after the operands are ready: loading them
                        // does not touch the flags, but the register the
                        // condition is in may be reused.
                        self.args.push((Ty::I32, other));
                        Ok(Cond::Ne)
                    }
                }
            }
        };
        let (ty, b) = self.pop()?;
        let (_, a) = self.pop()?;
        let cond = match cond {
            Ok(c) => c,
            Err(pick_a) => {
                let (keep, drop) = if pick_a { (a, b) } else { (b, a) };
                self.free(drop);
                match keep {
                    Val::Reg(r) => self.push_reg(ty, r),
                    Val::Const(c) => self.push_const(ty, c),
                    Val::Mem(_) | Val::LocalReg(_) => {
                        let r = self.owned_reg(ty, keep)?;
                        self.push_reg(ty, r);
                    }
                }
                return Ok(());
            }
        };
        let dst = self.owned_reg(ty, a)?;
        let pending = if flags.is_none() {
            self.args.pop()
        } else {
            None
        };
        if ty.is_float() {
            let src = self.owned_reg(ty, b)?;
            if let Some((_, c)) = pending {
                let op = self.int_operand(Ty::I32, c);
                self.masm.cmp(Size::S32, op, Operand::Imm(0));
                self.free(c);
            }
            let skip = self.masm.new_label();
            self.masm.jcc(cond, skip);
            self.masm.fmov(dst, src);
            self.masm.bind(skip);
            self.regs.free(src);
        } else {
            let src = match b {
                Val::Const(_) => Operand::Reg(self.owned_reg(ty, b)?),
                _ => self.int_operand(ty, b),
            };
            if let Some((_, c)) = pending {
                let op = self.int_operand(Ty::I32, c);
                self.masm.cmp(Size::S32, op, Operand::Imm(0));
                self.free(c);
            }
            self.masm.cmov(cond.invert(), ty.size(), dst, src);
            if let Operand::Reg(r) = src {
                self.regs.free(r);
            }
        }
        self.push_reg(ty, dst);
        Ok(())
    }
}

impl LowerControl for CodeGen<'_, '_> {
    /// `block`.
    fn block(&mut self, ty: BlockType) -> Result<(), CompileError> {
        self.spill_all();
        let (params, results) = self.arity(ty);
        let base = self.stack.len() - params as usize;
        let label = self.masm.new_label();
        self.control.push(ControlFrame {
            kind: FrameKind::Block,
            label,
            base,
            height: base,
            ty,
            params,
            results,
            reached: false,
        });
        Ok(())
    }

    /// `loop`.
    fn loop_(&mut self, ty: BlockType) -> Result<(), CompileError> {
        self.spill_all();
        let (params, results) = self.arity(ty);
        let base = self.stack.len() - params as usize;
        let frame = ControlFrame {
            kind: FrameKind::Loop,
            label: self.masm.new_label(),
            base,
            height: base,
            ty,
            params,
            results,
            reached: false,
        };
        self.control.push(frame);
        let fi = self.control.len() - 1;
        match self.canon(fi).1 {
            Canon::Reg(r) => {
                let (t, v) = self.pop()?;
                self.load_val(t, r, v);
                self.regs.take(r);
                self.push_reg(t, r);
            }
            Canon::Slots(_) => self.materialize_top(params as usize),
            _ => {}
        }
        self.masm.bind(frame.label);
        Ok(())
    }

    /// `if`.
    fn if_(&mut self, ty: BlockType) -> Result<(), CompileError> {
        self.if_on(ty, None)
    }

    /// `else`.
    fn else_(&mut self) -> Result<(), CompileError> {
        let fi = self.frame_index(0)?;
        let f = self.control[fi];
        let FrameKind::If { else_label, .. } = f.kind else {
            return Err(self.bug("else outside an if"));
        };
        if self.reachable {
            self.branch_moves(fi)?;
            let end = self.target(fi);
            self.masm.jmp(end);
        }
        self.masm.bind(else_label);
        self.control[fi].kind = FrameKind::If {
            else_label,
            has_else: true,
        };
        self.regs.reset();
        self.stack.truncate(f.height);
        self.stack.clean = self.stack.clean.min(f.height);
        self.reachable = true;
        self.push_param_copies(f.base, f.params as usize)
    }

    /// `end` of any construct.
    fn end(&mut self) -> Result<(), CompileError> {
        let fi = self.frame_index(0)?;
        let f = self.control[fi];
        match f.kind {
            FrameKind::Loop => {}
            FrameKind::Func => {
                if self.reachable {
                    self.return_moves()?;
                }
                self.masm.bind(f.label);
                self.epilogue();
            }
            FrameKind::Block | FrameKind::If { .. } => {
                let (n, canon) = self.canon(fi);
                let mut reached = f.reached;
                if self.reachable {
                    self.branch_moves(fi)?;
                    reached = true;
                }
                if let FrameKind::If {
                    else_label,
                    has_else: false,
                } = f.kind
                {
                    // The implicit else passes the saved parameters on.
                    if let Canon::Reg(r) = canon {
                        if self.reachable {
                            self.masm.jmp(f.label);
                        }
                        self.masm.bind(else_label);
                        let ty = self.frame_ty(&f, true, 0);
                        let (_, v) = self.val_at(f.base);
                        self.load_val(ty, r, v);
                    } else {
                        self.masm.bind(else_label);
                    }
                    let _ = n;
                    reached = true;
                }
                self.masm.bind(f.label);
                self.reachable = reached;
                self.enter_after(fi)?;
            }
        }
        self.control.pop();
        Ok(())
    }

    /// `br`.
    fn br(&mut self, depth: u32) -> Result<(), CompileError> {
        let fi = self.frame_index(depth)?;
        self.branch_moves(fi)?;
        let l = self.target(fi);
        self.masm.jmp(l);
        self.reachable = false;
        Ok(())
    }

    /// `br_if`.
    fn br_if(&mut self, depth: u32) -> Result<(), CompileError> {
        self.br_if_on(depth, None)
    }

    /// `br_table`: a table of 5-byte jumps, with stubs for targets that
    /// need values moved.
    fn br_table(&mut self, table: &BrTable<'_>) -> Result<(), CompileError> {
        self.targets.clear();
        for t in table.targets() {
            self.targets.push(t?);
        }
        let default = table.default();
        let (_, idx) = self.pop()?;
        if let Val::Const(c) = idx {
            let depth = self
                .targets
                .get(c as u32 as usize)
                .copied()
                .unwrap_or(default);
            return self.br(depth);
        }
        let idx = self.owned_reg(Ty::I32, idx)?;
        let count = self.targets.len() as u32;
        let at_limit = Operand::Imm(count as i32);
        self.masm.cmp(Size::S32, Operand::Reg(idx), at_limit);
        self.masm.cmov(Cond::AboveEq, Size::S32, idx, at_limit);
        let table_label = self.masm.new_label();
        self.masm.jmp_table(idx, table_label);
        self.regs.free(idx);
        self.masm.bind(table_label);
        // One stub per distinct depth that needs moves, found by binary
        // search: a linear scan per target made a table over many depths
        // quadratic (crates/store/tests/compile_cost.rs).
        self.stubs.clear();
        for i in 0..=count as usize {
            let depth = self.targets.get(i).copied().unwrap_or(default);
            if self.needs_moves(self.frame_index(depth)?) {
                self.stubs.push((depth, table_label));
            }
        }
        self.stubs.sort_unstable_by_key(|&(d, _)| d);
        self.stubs.dedup_by_key(|&mut (d, _)| d);
        for i in 0..self.stubs.len() {
            self.stubs[i].1 = self.masm.new_label();
        }
        for i in 0..=count as usize {
            let depth = self.targets.get(i).copied().unwrap_or(default);
            let fi = self.frame_index(depth)?;
            let label = match self.stubs.binary_search_by_key(&depth, |&(d, _)| d) {
                Ok(stub) => self.stubs[stub].1,
                Err(_) => self.target(fi),
            };
            self.masm.jmp(label);
        }
        for i in 0..self.stubs.len() {
            let (depth, label) = self.stubs[i];
            self.masm.bind(label);
            let fi = self.frame_index(depth)?;
            self.branch_moves(fi)?;
            let l = self.target(fi);
            self.masm.jmp(l);
        }
        self.reachable = false;
        Ok(())
    }

    /// `return`.
    fn return_(&mut self) -> Result<(), CompileError> {
        self.br(self.control.len() as u32 - 1)
    }

    /// `unreachable`.
    fn unreachable(&mut self) -> Result<(), CompileError> {
        let at = self.masm.ud2();
        self.trap_site(at, TrapCode::UnreachableCodeReached);
        self.reachable = false;
        Ok(())
    }

    /// `drop`.
    fn drop_(&mut self) -> Result<(), CompileError> {
        let (_, v) = self.pop()?;
        self.free(v);
        Ok(())
    }

    /// `select`.
    fn select(&mut self) -> Result<(), CompileError> {
        self.select_on(None)
    }
}
