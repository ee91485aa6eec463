//! The function translator: keeps the operand and control stacks while the
//! shared operator loop (`tandem_codegen_api::lower`) reads the body once
//! and hands each reachable operator to the lowering of its family (the
//! submodules, one lowering trait each).

mod call;
mod control;
mod interrupt;
mod memory;
mod numeric;
mod simd;
mod table;
mod variable;

use crate::env::{FuncEnv, ir_type, wasm_ir_type, wasm_signature};
use crate::isa::{self, FUNC_NAMESPACE};
use crate::{codegen_error, unsupported};
use control::ControlFrame;
use cranelift_codegen::ir::{
    self, BlockArg, GlobalValueData, InstBuilder, SourceLoc, UserFuncName, Value, types,
};
use cranelift_codegen::isa::TargetIsa;
use cranelift_frontend::{FunctionBuilder, Variable};
use tandem_codegen_api::lower::{LowerFunction, lower_body};
use tandem_codegen_api::{CompileError, CompileInputs, CompiledFunction};
use tandem_environ::wasmparser::{FunctionBody, Operator, OperatorsReader};
use tandem_environ::{DefinedFuncIndex, VMOffsets};

/// Buffers the translator reuses between functions (STYLE.md 7).
#[derive(Default)]
pub(crate) struct Buffers {
    /// The operand stack.
    stack: Vec<Value>,
    /// The control stack.
    control: Vec<ControlFrame>,
    /// Saved parameters of open `if`s, for their `else` arms.
    if_params: Vec<Value>,
    /// The function's locals.
    locals: Vec<Variable>,
    /// Scratch for branch arguments.
    args: Vec<BlockArg>,
    /// Scratch for call arguments.
    values: Vec<Value>,
}

impl Buffers {
    /// Empties every buffer, keeping the allocations.
    pub fn clear(&mut self) {
        let Buffers {
            stack,
            control,
            if_params,
            locals,
            args,
            values,
        } = self;
        stack.clear();
        control.clear();
        if_params.clear();
        locals.clear();
        args.clear();
        values.clear();
    }
}

/// Compiles defined function `index` with the Wasm call.
pub(crate) fn compile_function(
    isa: &dyn TargetIsa,
    inputs: &CompileInputs<'_>,
    index: DefinedFuncIndex,
    body: &FunctionBody<'_>,
) -> Result<CompiledFunction, CompileError> {
    let ty = inputs.module.func_type(inputs.module.func_index(index));
    let signature = wasm_signature(ty)?;
    isa::with_scratch(|s| {
        s.ctx.func.signature = signature;
        s.ctx.func.name = UserFuncName::user(FUNC_NAMESPACE, index.as_u32());
        let b = FunctionBuilder::new(&mut s.ctx.func, &mut s.fctx);
        Translator::run(
            b,
            inputs,
            index,
            body,
            &mut s.translator,
            isa.frontend_config(),
        )?;
        isa::finish(&mut s.ctx, isa)
    })
}

/// Translation state of one function.
pub(crate) struct Translator<'a, 'f> {
    /// The Cranelift function being built.
    b: FunctionBuilder<'f>,
    /// How to reach the runtime's structures.
    env: FuncEnv<'a>,
    /// Stacks and scratch.
    bufs: &'f mut Buffers,
    /// The body's operators.
    reader: OperatorsReader<'a>,
    /// Whether the current position can execute.
    reachable: bool,
    /// Byte offset of the operator being translated.
    offset: u64,
    /// The fuel variable (`-fuel left`), when fuel is consumed.
    fuel: Option<Variable>,
    /// Fuel cost of the current straight-line region, not yet charged.
    fuel_pending: i64,
}

impl<'a, 'f> Translator<'a, 'f> {
    /// Translates the whole body into `b` and finalizes it.
    fn run(
        mut b: FunctionBuilder<'f>,
        inputs: &CompileInputs<'a>,
        index: DefinedFuncIndex,
        body: &FunctionBody<'a>,
        bufs: &'f mut Buffers,
        frontend_config: cranelift_codegen::isa::TargetFrontendConfig,
    ) -> Result<(), CompileError> {
        let ty = inputs.module.func_type(inputs.module.func_index(index));
        let entry = b.create_block();
        b.append_block_params_for_function_params(entry);
        b.switch_to_block(entry);
        b.seal_block(entry);
        let params = b.block_params(entry).to_vec();
        let vmctx = params[0];

        // Stack limit: vmctx -> store context -> stack_limit.
        let vmctx_gv = b.create_global_value(GlobalValueData::VMContext);
        let constant = b
            .func
            .dfg
            .mem_flags
            .insert(crate::env::constant_field())
            .map_err(|_| codegen_error("too many memory flags"))?;
        let mutable = b
            .func
            .dfg
            .mem_flags
            .insert(crate::env::mutable_field())
            .map_err(|_| codegen_error("too many memory flags"))?;
        let store = b.create_global_value(GlobalValueData::Load {
            base: vmctx_gv,
            offset: (VMOffsets::VMCTX_STORE_CONTEXT as i32).into(),
            global_type: types::I64,
            flags: constant,
        });
        let limit = b.create_global_value(GlobalValueData::Load {
            base: store,
            offset: (VMOffsets::STORE_STACK_LIMIT as i32).into(),
            global_type: types::I64,
            flags: mutable,
        });
        b.func.stack_limit = Some(limit);

        let mut t = Translator {
            b,
            env: FuncEnv::new(inputs, vmctx),
            bufs,
            reader: body.get_operators_reader()?,
            reachable: true,
            offset: 0,
            fuel: None,
            fuel_pending: 0,
        };
        t.declare_locals(&params[2..], ty.params.iter().copied(), body)?;

        let start = t.reader.original_position();
        t.b.set_srcloc(SourceLoc::new(u32::try_from(start).unwrap_or(u32::MAX - 1)));
        t.entry_checks();
        let ret = t.b.create_block();
        for &r in ty.results.iter() {
            let ty = ir_type(r);
            t.b.append_block_param(ret, ty);
        }
        t.push_frame(control::FrameKind::Block, ret, 0, ty.results.len());

        lower_body(&mut t)?;
        if t.reachable {
            t.before_return();
            t.b.ins().return_(&t.bufs.stack);
        }
        t.b.seal_all_blocks();
        t.b.finalize(frontend_config);
        Ok(())
    }

    /// Declares the locals: parameters from `params`, the rest zeroed.
    fn declare_locals(
        &mut self,
        params: &[Value],
        param_types: impl Iterator<Item = tandem_environ::ValType>,
        body: &FunctionBody<'_>,
    ) -> Result<(), CompileError> {
        for (&value, ty) in params.iter().zip(param_types) {
            let var = self.b.declare_var(ir_type(ty));
            self.b.def_var(var, value);
            self.bufs.locals.push(var);
        }
        let mut reader = body.get_locals_reader()?;
        for _ in 0..reader.get_count() {
            let (count, ty) = reader.read()?;
            let ir_ty = wasm_ir_type(ty);
            let zero = self.zero(ir_ty);
            for _ in 0..count {
                let var = self.b.declare_var(ir_ty);
                self.b.def_var(var, zero);
                self.bufs.locals.push(var);
            }
        }
        Ok(())
    }

    /// The zero value of `ty` (also the null reference).
    fn zero(&mut self, ty: ir::Type) -> Value {
        match ty {
            types::F32 => self.b.ins().f32const(0.0),
            types::F64 => self.b.ins().f64const(0.0),
            ty if ty.is_vector() => {
                let zero = self.b.func.dfg.constants.insert(vec![0u8; 16].into());
                self.b.ins().vconst(ty, zero)
            }
            _ => self.b.ins().iconst(ty, 0),
        }
    }

    /// Pops one operand.
    fn pop(&mut self) -> Result<Value, CompileError> {
        self.bufs
            .stack
            .pop()
            .ok_or_else(|| codegen_error("operand stack underflow"))
    }

    /// Pops two operands (`(below, top)`).
    fn pop2(&mut self) -> Result<(Value, Value), CompileError> {
        let y = self.pop()?;
        let x = self.pop()?;
        Ok((x, y))
    }

    /// Pops three operands, deepest first.
    fn pop3(&mut self) -> Result<(Value, Value, Value), CompileError> {
        let z = self.pop()?;
        let (x, y) = self.pop2()?;
        Ok((x, y, z))
    }

    /// Pushes one operand.
    fn push(&mut self, v: Value) {
        self.bufs.stack.push(v);
    }

    /// Where the top `n` operands start.
    fn top(&self, n: usize) -> Result<usize, CompileError> {
        self.bufs
            .stack
            .len()
            .checked_sub(n)
            .ok_or_else(|| codegen_error("operand stack underflow"))
    }

    /// An `unsupported` error at the current operator.
    fn unsupported(&self, what: impl Into<String>) -> CompileError {
        unsupported(what, self.offset)
    }
}

impl<'a> LowerFunction<'a> for Translator<'a, '_> {
    const BACKEND: &'static str = crate::NAME;

    fn operators(&mut self) -> &mut OperatorsReader<'a> {
        &mut self.reader
    }

    fn reachable(&self) -> bool {
        self.reachable
    }

    fn at_operator(&mut self, offset: u64) {
        self.offset = offset;
        self.b.set_srcloc(SourceLoc::new(
            u32::try_from(offset).unwrap_or(u32::MAX - 1),
        ));
    }

    fn before_operator(&mut self, op: &Operator<'a>) {
        self.charge_fuel(op);
    }

    fn after_operator(&mut self, op: &Operator<'a>) -> Result<(), CompileError> {
        self.finish_operator(op);
        Ok(())
    }
}
