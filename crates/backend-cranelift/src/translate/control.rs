//! Structured control flow: `block`, `loop`, `if`/`else`/`end`, the branches
//! (`br_on_null` and `br_on_non_null` too), `return`, `unreachable`, `drop`
//! and `select`.
//!
//! Every frame owns a continuation block (`next`) whose parameters are the
//! frame's results. Branches to a loop go to its header, whose parameters
//! are the loop's parameters. An `if` always gets an `else` block; without an
//! `else` arm it forwards the `if`'s parameters to `next`. Frames are only
//! pushed in reachable code; nesting inside unreachable code is counted by
//! the shared driver (`tandem_codegen_api::lower`).

use super::Translator;
use crate::env::{ir_type, wasm_ir_type};
use crate::isa::ir_trap;
use cranelift_codegen::ir::{Block, BlockArg, InstBuilder, JumpTableData};
use tandem_codegen_api::CompileError;
use tandem_codegen_api::lower::LowerControl;
use tandem_environ::TrapCode;
use tandem_environ::wasmparser::{BlockType, BrTable};

/// What kind of construct a frame is.
pub(crate) enum FrameKind {
    /// `block`, and the function body itself.
    Block,
    /// `loop`: branches go to `header`.
    Loop {
        /// The loop's first block.
        header: Block,
    },
    /// `if`.
    If {
        /// Where the condition jumps when false.
        else_block: Block,
        /// Where the `if`'s parameters are saved in `Buffers::if_params`.
        params_at: usize,
        /// Whether the `else` arm has started.
        has_else: bool,
    },
}

/// One open construct.
pub(crate) struct ControlFrame {
    /// What it is.
    pub kind: FrameKind,
    /// The continuation after `end`; its parameters are the results.
    pub next: Block,
    /// Operand stack height below the frame's parameters.
    pub height: usize,
    /// Number of parameters.
    pub params: usize,
    /// Number of results.
    pub results: usize,
    /// Whether anything jumps to `next`.
    pub exit_reached: bool,
}

impl Translator<'_, '_> {
    /// Opens a frame whose `params` operands are on the stack.
    pub(super) fn push_frame(
        &mut self,
        kind: FrameKind,
        next: Block,
        params: usize,
        results: usize,
    ) {
        let height = self.bufs.stack.len().saturating_sub(params);
        self.bufs.control.push(ControlFrame {
            kind,
            next,
            height,
            params,
            results,
            exit_reached: false,
        });
    }

    /// `(params, results)` counts of a block type.
    fn arity(&self, ty: BlockType) -> (usize, usize) {
        match ty {
            BlockType::Empty => (0, 0),
            BlockType::Type(_) => (0, 1),
            BlockType::FuncType(i) => {
                let f = &self.env.module.types[i as usize];
                (f.params.len(), f.results.len())
            }
        }
    }

    /// Appends parameters typed like `ty`'s results (or params) to `block`.
    fn append_types(
        &mut self,
        block: Block,
        ty: BlockType,
        results: bool,
    ) -> Result<(), CompileError> {
        let module = self.env.module;
        match ty {
            BlockType::Empty => {}
            BlockType::Type(t) => {
                if results {
                    let t = wasm_ir_type(t);
                    self.b.append_block_param(block, t);
                }
            }
            BlockType::FuncType(i) => {
                let f = &module.types[i as usize];
                let tys = if results { &f.results } else { &f.params };
                for &t in tys.iter() {
                    let t = ir_type(t);
                    self.b.append_block_param(block, t);
                }
            }
        }
        Ok(())
    }

    /// Jumps to `target` with the top `n` operands.
    fn jump_with_top(&mut self, target: Block, n: usize) -> Result<(), CompileError> {
        let at = self.top(n)?;
        self.bufs.args.clear();
        self.bufs
            .args
            .extend(self.bufs.stack[at..].iter().map(|&v| BlockArg::Value(v)));
        self.b.ins().jump(target, &self.bufs.args);
        Ok(())
    }

    /// Where a branch to relative depth `depth` goes and how many operands
    /// it carries; marks block exits as reached.
    fn branch_target(&mut self, depth: u32) -> Result<(Block, usize), CompileError> {
        let len = self.bufs.control.len();
        let frame = len
            .checked_sub(1 + depth as usize)
            .and_then(|i| self.bufs.control.get_mut(i))
            .ok_or_else(|| crate::codegen_error("branch depth out of range"))?;
        Ok(match frame.kind {
            FrameKind::Loop { header } => (header, frame.params),
            _ => {
                frame.exit_reached = true;
                (frame.next, frame.results)
            }
        })
    }
}

impl LowerControl for Translator<'_, '_> {
    /// `unreachable`.
    fn unreachable(&mut self) -> Result<(), CompileError> {
        self.b.ins().trap(ir_trap(TrapCode::UnreachableCodeReached));
        self.reachable = false;
        Ok(())
    }

    /// `block`.
    fn block(&mut self, ty: BlockType) -> Result<(), CompileError> {
        let next = self.b.create_block();
        self.append_types(next, ty, true)?;
        let (params, results) = self.arity(ty);
        self.push_frame(FrameKind::Block, next, params, results);
        Ok(())
    }

    /// `loop`.
    fn loop_(&mut self, ty: BlockType) -> Result<(), CompileError> {
        let (params, results) = self.arity(ty);
        let header = self.b.create_block();
        self.append_types(header, ty, false)?;
        let next = self.b.create_block();
        self.append_types(next, ty, true)?;
        self.jump_with_top(header, params)?;
        let at = self.top(params)?;
        self.bufs.stack.truncate(at);
        self.b.switch_to_block(header);
        self.bufs
            .stack
            .extend_from_slice(self.b.block_params(header));
        self.push_frame(FrameKind::Loop { header }, next, params, results);
        Ok(())
    }

    /// `if`.
    fn if_(&mut self, ty: BlockType) -> Result<(), CompileError> {
        let cond = self.pop()?;
        let (params, results) = self.arity(ty);
        let then_block = self.b.create_block();
        let else_block = self.b.create_block();
        let next = self.b.create_block();
        self.append_types(next, ty, true)?;
        self.b.ins().brif(cond, then_block, &[], else_block, &[]);
        let params_at = self.bufs.if_params.len();
        let at = self.top(params)?;
        self.bufs
            .if_params
            .extend_from_slice(&self.bufs.stack[at..]);
        self.b.switch_to_block(then_block);
        self.b.seal_block(then_block);
        let kind = FrameKind::If {
            else_block,
            params_at,
            has_else: false,
        };
        self.push_frame(kind, next, params, results);
        Ok(())
    }

    /// `else`: ends the `then` arm and starts the `else` arm.
    fn else_(&mut self) -> Result<(), CompileError> {
        let frame = self
            .bufs
            .control
            .last()
            .ok_or_else(|| crate::codegen_error("else without if"))?;
        let (next, results, height, params) =
            (frame.next, frame.results, frame.height, frame.params);
        let FrameKind::If {
            else_block,
            params_at,
            ..
        } = frame.kind
        else {
            return Err(crate::codegen_error("else outside an if"));
        };
        if self.reachable {
            self.jump_with_top(next, results)?;
        }
        let reached = self.reachable;
        if let Some(frame) = self.bufs.control.last_mut() {
            frame.exit_reached |= reached;
            if let FrameKind::If { has_else, .. } = &mut frame.kind {
                *has_else = true;
            }
        }
        self.bufs.stack.truncate(height);
        let saved = &self.bufs.if_params[params_at..params_at + params];
        self.bufs.stack.extend_from_slice(saved);
        self.b.switch_to_block(else_block);
        self.b.seal_block(else_block);
        self.reachable = true;
        Ok(())
    }

    /// `end` of any frame, including the function body.
    fn end(&mut self) -> Result<(), CompileError> {
        let mut frame = self
            .bufs
            .control
            .pop()
            .ok_or_else(|| crate::codegen_error("end without a frame"))?;
        if self.reachable {
            self.jump_with_top(frame.next, frame.results)?;
            frame.exit_reached = true;
        }
        match frame.kind {
            FrameKind::If {
                else_block,
                params_at,
                has_else,
            } => {
                if !has_else {
                    // No `else` arm: the parameters pass through unchanged.
                    self.b.switch_to_block(else_block);
                    self.b.seal_block(else_block);
                    self.bufs.args.clear();
                    self.bufs.args.extend(
                        self.bufs.if_params[params_at..params_at + frame.params]
                            .iter()
                            .map(|&v| BlockArg::Value(v)),
                    );
                    self.b.ins().jump(frame.next, &self.bufs.args);
                    frame.exit_reached = true;
                }
                self.bufs.if_params.truncate(params_at);
            }
            FrameKind::Loop { header } => self.b.seal_block(header),
            FrameKind::Block => {}
        }
        self.bufs.stack.truncate(frame.height);
        if frame.exit_reached {
            self.b.switch_to_block(frame.next);
            self.b.seal_block(frame.next);
            self.bufs
                .stack
                .extend_from_slice(self.b.block_params(frame.next));
            self.reachable = true;
        } else {
            self.reachable = false;
        }
        Ok(())
    }

    /// `br`.
    fn br(&mut self, depth: u32) -> Result<(), CompileError> {
        let (target, n) = self.branch_target(depth)?;
        self.jump_with_top(target, n)?;
        self.reachable = false;
        Ok(())
    }

    /// `br_if`.
    fn br_if(&mut self, depth: u32) -> Result<(), CompileError> {
        let cond = self.pop()?;
        let (target, n) = self.branch_target(depth)?;
        let at = self.top(n)?;
        self.bufs.args.clear();
        self.bufs
            .args
            .extend(self.bufs.stack[at..].iter().map(|&v| BlockArg::Value(v)));
        let fallthrough = self.b.create_block();
        self.b
            .ins()
            .brif(cond, target, &self.bufs.args, fallthrough, &[]);
        self.b.switch_to_block(fallthrough);
        self.b.seal_block(fallthrough);
        Ok(())
    }

    /// `br_table`. Targets that need operands get a block of their own
    /// that forwards them (one per distinct depth).
    fn br_table(&mut self, table: &BrTable<'_>) -> Result<(), CompileError> {
        let index = self.pop()?;
        let mut depths = Vec::with_capacity(table.len() as usize);
        for depth in table.targets() {
            depths.push(depth?);
        }
        let default = table.default();
        let (_, n) = self.branch_target(default)?;
        let mut calls = Vec::with_capacity(depths.len());
        if n == 0 {
            for &depth in &depths {
                let (target, _) = self.branch_target(depth)?;
                calls.push(self.b.func.dfg.block_call(target, &[]));
            }
            let (target, _) = self.branch_target(default)?;
            let default = self.b.func.dfg.block_call(target, &[]);
            let jt = self
                .b
                .create_jump_table(JumpTableData::new(default, &calls));
            self.b.ins().br_table(index, jt);
        } else {
            // One forwarding block per distinct depth, found by binary
            // search: a linear scan per target made a table over many
            // depths quadratic (crates/store/tests/compile_cost.rs).
            let mut unique: Vec<u32> = depths.iter().copied().chain([default]).collect();
            unique.sort_unstable();
            unique.dedup();
            let forwarders: Vec<(u32, Block)> = unique
                .into_iter()
                .map(|depth| (depth, self.b.create_block()))
                .collect();
            let forwarder = |depth: u32| {
                let i = forwarders.binary_search_by_key(&depth, |&(d, _)| d);
                forwarders[i.expect("every depth has a forwarder")].1
            };
            for &depth in &depths {
                let block = forwarder(depth);
                calls.push(self.b.func.dfg.block_call(block, &[]));
            }
            let default_block = forwarder(default);
            let default_call = self.b.func.dfg.block_call(default_block, &[]);
            let jt = self
                .b
                .create_jump_table(JumpTableData::new(default_call, &calls));
            self.b.ins().br_table(index, jt);
            for (depth, block) in forwarders {
                self.b.switch_to_block(block);
                self.b.seal_block(block);
                let (target, n) = self.branch_target(depth)?;
                self.jump_with_top(target, n)?;
            }
        }
        self.reachable = false;
        Ok(())
    }

    /// `return`.
    fn return_(&mut self) -> Result<(), CompileError> {
        let n = self.bufs.control.first().map_or(0, |f| f.results);
        let at = self.top(n)?;
        self.b.ins().return_(&self.bufs.stack[at..]);
        self.reachable = false;
        Ok(())
    }

    /// `drop`.
    fn drop_(&mut self) -> Result<(), CompileError> {
        self.pop()?;
        Ok(())
    }

    /// `select` and typed `select`.
    fn select(&mut self) -> Result<(), CompileError> {
        let (x, y, cond) = self.pop3()?;
        let v = self.b.ins().select(cond, x, y);
        self.push(v);
        Ok(())
    }

    /// `br_on_null`: null branches (without the reference), anything else
    /// falls through with it.
    fn br_on_null(&mut self, depth: u32) -> Result<(), CompileError> {
        let reference = self.pop()?;
        let (target, n) = self.branch_target(depth)?;
        let at = self.top(n)?;
        self.bufs.args.clear();
        self.bufs
            .args
            .extend(self.bufs.stack[at..].iter().map(|&v| BlockArg::Value(v)));
        let fallthrough = self.b.create_block();
        self.b
            .ins()
            .brif(reference, fallthrough, &[], target, &self.bufs.args);
        self.b.switch_to_block(fallthrough);
        self.b.seal_block(fallthrough);
        self.push(reference);
        Ok(())
    }

    /// `br_on_non_null`: a non-null reference branches with it (the last
    /// of the target's values), null falls through without it.
    fn br_on_non_null(&mut self, depth: u32) -> Result<(), CompileError> {
        let reference = *self
            .bufs
            .stack
            .last()
            .ok_or_else(|| crate::codegen_error("operand stack underflow"))?;
        let (target, n) = self.branch_target(depth)?;
        let at = self.top(n)?;
        self.bufs.args.clear();
        self.bufs
            .args
            .extend(self.bufs.stack[at..].iter().map(|&v| BlockArg::Value(v)));
        let fallthrough = self.b.create_block();
        self.b
            .ins()
            .brif(reference, target, &self.bufs.args, fallthrough, &[]);
        self.b.switch_to_block(fallthrough);
        self.b.seal_block(fallthrough);
        self.pop()?;
        Ok(())
    }
}
