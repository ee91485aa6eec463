//! The function translator: reads a Wasm body once, keeps the operand and
//! control stacks, and dispatches each operator to the helper of its family
//! (the submodules). Code after `br`, `return` or `unreachable` is skipped
//! until the `else` or `end` that makes it reachable again.

mod call;
mod control;
mod interrupt;
mod memory;
mod numeric;
mod table;
mod variable;

use crate::env::{FuncEnv, ir_type_at, wasm_ir_type, wasm_signature};
use crate::isa::{self, FUNC_NAMESPACE};
use crate::{codegen_error, unsupported};
use control::ControlFrame;
use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::{
    self, BlockArg, GlobalValueData, InstBuilder, Opcode, SourceLoc, UserFuncName, Value, types,
};
use cranelift_codegen::isa::TargetIsa;
use cranelift_frontend::{FunctionBuilder, Variable};
use tandem_codegen_api::{CompileError, CompileInputs, CompiledFunction};
use tandem_environ::wasmparser::{FunctionBody, Operator};
use tandem_environ::{
    DataIndex, DefinedFuncIndex, ElemIndex, FuncIndex, GlobalIndex, MemoryIndex, TableIndex,
    TypeIndex, VMOffsets,
};

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
    /// Whether the current position can execute.
    reachable: bool,
    /// Blocks opened inside unreachable code, still to be closed.
    unreachable_depth: u32,
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
        body: &FunctionBody<'_>,
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
            reachable: true,
            unreachable_depth: 0,
            offset: 0,
            fuel: None,
            fuel_pending: 0,
        };
        t.declare_locals(&params[2..], ty.params.iter().copied(), body)?;

        let mut reader = body.get_operators_reader()?;
        t.b.set_srcloc(SourceLoc::new(
            u32::try_from(reader.original_position()).unwrap_or(u32::MAX - 1),
        ));
        t.entry_checks();
        let ret = t.b.create_block();
        for &r in ty.results.iter() {
            let ty = ir_type_at(r, 0)?;
            t.b.append_block_param(ret, ty);
        }
        t.push_frame(control::FrameKind::Block, ret, 0, ty.results.len());

        while !reader.eof() {
            let (op, offset) = reader.read_with_offset()?;
            t.offset = offset;
            t.b.set_srcloc(SourceLoc::new(
                u32::try_from(offset).unwrap_or(u32::MAX - 1),
            ));
            if t.reachable {
                let class = t.before_operator(&op);
                t.operator(op)?;
                t.after_operator(class);
            } else {
                t.unreachable_operator(&op)?;
            }
        }
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
            let var = self.b.declare_var(ir_type_at(ty, 0)?);
            self.b.def_var(var, value);
            self.bufs.locals.push(var);
        }
        let mut reader = body.get_locals_reader()?;
        for _ in 0..reader.get_count() {
            let offset = reader.original_position();
            let (count, ty) = reader.read()?;
            let ir_ty = wasm_ir_type(ty, offset)?;
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

    /// Translates one reachable operator: every arm forwards to a family
    /// helper.
    fn operator(&mut self, op: Operator<'_>) -> Result<(), CompileError> {
        use Operator as O;
        use ir::types::{F32, F64, I8, I16, I32, I64};
        match op {
            // Control (translate/control.rs).
            O::Unreachable => self.unreachable(),
            O::Nop => Ok(()),
            O::Block { blockty } => self.block(blockty),
            O::Loop { blockty } => self.loop_(blockty),
            O::If { blockty } => self.if_(blockty),
            O::Else => self.else_(),
            O::End => self.end(),
            O::Br { relative_depth } => self.br(relative_depth),
            O::BrIf { relative_depth } => self.br_if(relative_depth),
            O::BrTable { targets } => self.br_table(&targets),
            O::Return => self.return_(),
            O::Drop => self.drop_(),
            O::Select | O::TypedSelect { .. } => self.select(),

            // Calls (translate/call.rs).
            O::Call { function_index } => self.call(FuncIndex::from_u32(function_index)),
            O::CallIndirect {
                type_index,
                table_index,
            } => self.call_indirect(
                TypeIndex::from_u32(type_index),
                TableIndex::from_u32(table_index),
            ),

            // Variables (translate/variable.rs).
            O::LocalGet { local_index } => self.local_get(local_index),
            O::LocalSet { local_index } => self.local_set(local_index),
            O::LocalTee { local_index } => self.local_tee(local_index),
            O::GlobalGet { global_index } => self.global_get(GlobalIndex::from_u32(global_index)),
            O::GlobalSet { global_index } => self.global_set(GlobalIndex::from_u32(global_index)),

            // Memory (translate/memory.rs).
            O::I32Load { memarg } => self.load(&memarg, I32, I32, false),
            O::I64Load { memarg } => self.load(&memarg, I64, I64, false),
            O::F32Load { memarg } => self.load(&memarg, F32, F32, false),
            O::F64Load { memarg } => self.load(&memarg, F64, F64, false),
            O::I32Load8S { memarg } => self.load(&memarg, I8, I32, true),
            O::I32Load8U { memarg } => self.load(&memarg, I8, I32, false),
            O::I32Load16S { memarg } => self.load(&memarg, I16, I32, true),
            O::I32Load16U { memarg } => self.load(&memarg, I16, I32, false),
            O::I64Load8S { memarg } => self.load(&memarg, I8, I64, true),
            O::I64Load8U { memarg } => self.load(&memarg, I8, I64, false),
            O::I64Load16S { memarg } => self.load(&memarg, I16, I64, true),
            O::I64Load16U { memarg } => self.load(&memarg, I16, I64, false),
            O::I64Load32S { memarg } => self.load(&memarg, I32, I64, true),
            O::I64Load32U { memarg } => self.load(&memarg, I32, I64, false),
            O::I32Store { memarg }
            | O::F32Store { memarg }
            | O::I64Store { memarg }
            | O::F64Store { memarg } => self.store(&memarg, None),
            O::I32Store8 { memarg } | O::I64Store8 { memarg } => self.store(&memarg, Some(I8)),
            O::I32Store16 { memarg } | O::I64Store16 { memarg } => self.store(&memarg, Some(I16)),
            O::I64Store32 { memarg } => self.store(&memarg, Some(I32)),
            O::MemorySize { mem } => self.memory_size(MemoryIndex::from_u32(mem)),
            O::MemoryGrow { mem } => self.memory_grow(MemoryIndex::from_u32(mem)),
            O::MemoryFill { mem } => self.memory_fill(MemoryIndex::from_u32(mem)),
            O::MemoryCopy { dst_mem, src_mem } => self.memory_copy(
                MemoryIndex::from_u32(dst_mem),
                MemoryIndex::from_u32(src_mem),
            ),
            O::MemoryInit { data_index, mem } => {
                self.memory_init(MemoryIndex::from_u32(mem), DataIndex::from_u32(data_index))
            }
            O::DataDrop { data_index } => self.data_drop(DataIndex::from_u32(data_index)),

            // Tables and references (translate/table.rs).
            O::TableGet { table } => self.table_get(TableIndex::from_u32(table)),
            O::TableSet { table } => self.table_set(TableIndex::from_u32(table)),
            O::TableSize { table } => self.table_size(TableIndex::from_u32(table)),
            O::TableGrow { table } => self.table_grow(TableIndex::from_u32(table)),
            O::TableFill { table } => self.table_fill(TableIndex::from_u32(table)),
            O::TableCopy {
                dst_table,
                src_table,
            } => self.table_copy(
                TableIndex::from_u32(dst_table),
                TableIndex::from_u32(src_table),
            ),
            O::TableInit { elem_index, table } => {
                self.table_init(TableIndex::from_u32(table), ElemIndex::from_u32(elem_index))
            }
            O::ElemDrop { elem_index } => self.elem_drop(ElemIndex::from_u32(elem_index)),
            O::RefNull { .. } => self.ref_null(),
            O::RefIsNull => self.ref_is_null(),
            O::RefFunc { function_index } => self.ref_func(FuncIndex::from_u32(function_index)),

            // Constants (translate/numeric.rs).
            O::I32Const { value } => self.iconst(I32, value.into()),
            O::I64Const { value } => self.iconst(I64, value),
            O::F32Const { value } => self.f32const(value.bits()),
            O::F64Const { value } => self.f64const(value.bits()),

            // Comparisons.
            O::I32Eqz | O::I64Eqz => self.eqz(),
            O::I32Eq | O::I64Eq => self.icmp(IntCC::Equal),
            O::I32Ne | O::I64Ne => self.icmp(IntCC::NotEqual),
            O::I32LtS | O::I64LtS => self.icmp(IntCC::SignedLessThan),
            O::I32LtU | O::I64LtU => self.icmp(IntCC::UnsignedLessThan),
            O::I32GtS | O::I64GtS => self.icmp(IntCC::SignedGreaterThan),
            O::I32GtU | O::I64GtU => self.icmp(IntCC::UnsignedGreaterThan),
            O::I32LeS | O::I64LeS => self.icmp(IntCC::SignedLessThanOrEqual),
            O::I32LeU | O::I64LeU => self.icmp(IntCC::UnsignedLessThanOrEqual),
            O::I32GeS | O::I64GeS => self.icmp(IntCC::SignedGreaterThanOrEqual),
            O::I32GeU | O::I64GeU => self.icmp(IntCC::UnsignedGreaterThanOrEqual),
            O::F32Eq | O::F64Eq => self.fcmp(FloatCC::Equal),
            O::F32Ne | O::F64Ne => self.fcmp(FloatCC::NotEqual),
            O::F32Lt | O::F64Lt => self.fcmp(FloatCC::LessThan),
            O::F32Gt | O::F64Gt => self.fcmp(FloatCC::GreaterThan),
            O::F32Le | O::F64Le => self.fcmp(FloatCC::LessThanOrEqual),
            O::F32Ge | O::F64Ge => self.fcmp(FloatCC::GreaterThanOrEqual),

            // Integer arithmetic.
            O::I32Clz | O::I64Clz => self.unary(Opcode::Clz),
            O::I32Ctz | O::I64Ctz => self.unary(Opcode::Ctz),
            O::I32Popcnt | O::I64Popcnt => self.unary(Opcode::Popcnt),
            O::I32Add | O::I64Add => self.binary(Opcode::Iadd),
            O::I32Sub | O::I64Sub => self.binary(Opcode::Isub),
            O::I32Mul | O::I64Mul => self.binary(Opcode::Imul),
            O::I32DivS | O::I64DivS => self.binary(Opcode::Sdiv),
            O::I32DivU | O::I64DivU => self.binary(Opcode::Udiv),
            O::I32RemS | O::I64RemS => self.binary(Opcode::Srem),
            O::I32RemU | O::I64RemU => self.binary(Opcode::Urem),
            O::I32And | O::I64And => self.binary(Opcode::Band),
            O::I32Or | O::I64Or => self.binary(Opcode::Bor),
            O::I32Xor | O::I64Xor => self.binary(Opcode::Bxor),
            O::I32Shl | O::I64Shl => self.binary(Opcode::Ishl),
            O::I32ShrS | O::I64ShrS => self.binary(Opcode::Sshr),
            O::I32ShrU | O::I64ShrU => self.binary(Opcode::Ushr),
            O::I32Rotl | O::I64Rotl => self.binary(Opcode::Rotl),
            O::I32Rotr | O::I64Rotr => self.binary(Opcode::Rotr),

            // Float arithmetic.
            O::F32Abs | O::F64Abs => self.unary(Opcode::Fabs),
            O::F32Neg | O::F64Neg => self.unary(Opcode::Fneg),
            O::F32Ceil | O::F64Ceil => self.unary(Opcode::Ceil),
            O::F32Floor | O::F64Floor => self.unary(Opcode::Floor),
            O::F32Trunc | O::F64Trunc => self.unary(Opcode::Trunc),
            O::F32Nearest | O::F64Nearest => self.unary(Opcode::Nearest),
            O::F32Sqrt | O::F64Sqrt => self.unary(Opcode::Sqrt),
            O::F32Add | O::F64Add => self.binary(Opcode::Fadd),
            O::F32Sub | O::F64Sub => self.binary(Opcode::Fsub),
            O::F32Mul | O::F64Mul => self.binary(Opcode::Fmul),
            O::F32Div | O::F64Div => self.binary(Opcode::Fdiv),
            O::F32Min | O::F64Min => self.binary(Opcode::Fmin),
            O::F32Max | O::F64Max => self.binary(Opcode::Fmax),
            O::F32Copysign | O::F64Copysign => self.binary(Opcode::Fcopysign),

            // Conversions.
            O::I32WrapI64 => self.convert(Opcode::Ireduce, I32),
            O::I64ExtendI32S => self.convert(Opcode::Sextend, I64),
            O::I64ExtendI32U => self.convert(Opcode::Uextend, I64),
            O::I32TruncF32S | O::I32TruncF64S => self.convert(Opcode::FcvtToSint, I32),
            O::I32TruncF32U | O::I32TruncF64U => self.convert(Opcode::FcvtToUint, I32),
            O::I64TruncF32S | O::I64TruncF64S => self.convert(Opcode::FcvtToSint, I64),
            O::I64TruncF32U | O::I64TruncF64U => self.convert(Opcode::FcvtToUint, I64),
            O::I32TruncSatF32S | O::I32TruncSatF64S => self.convert(Opcode::FcvtToSintSat, I32),
            O::I32TruncSatF32U | O::I32TruncSatF64U => self.convert(Opcode::FcvtToUintSat, I32),
            O::I64TruncSatF32S | O::I64TruncSatF64S => self.convert(Opcode::FcvtToSintSat, I64),
            O::I64TruncSatF32U | O::I64TruncSatF64U => self.convert(Opcode::FcvtToUintSat, I64),
            O::F32ConvertI32S | O::F32ConvertI64S => self.convert(Opcode::FcvtFromSint, F32),
            O::F32ConvertI32U | O::F32ConvertI64U => self.convert(Opcode::FcvtFromUint, F32),
            O::F64ConvertI32S | O::F64ConvertI64S => self.convert(Opcode::FcvtFromSint, F64),
            O::F64ConvertI32U | O::F64ConvertI64U => self.convert(Opcode::FcvtFromUint, F64),
            O::F32DemoteF64 => self.convert(Opcode::Fdemote, F32),
            O::F64PromoteF32 => self.convert(Opcode::Fpromote, F64),
            O::I32ReinterpretF32 => self.reinterpret(I32),
            O::I64ReinterpretF64 => self.reinterpret(I64),
            O::F32ReinterpretI32 => self.reinterpret(F32),
            O::F64ReinterpretI64 => self.reinterpret(F64),
            O::I32Extend8S | O::I64Extend8S => self.extend_signed(I8),
            O::I32Extend16S | O::I64Extend16S => self.extend_signed(I16),
            O::I64Extend32S => self.extend_signed(I32),

            other => Err(self.unsupported(format!("operator {other:?}"))),
        }
    }

    /// Handles an operator in unreachable code: only the nesting matters.
    fn unreachable_operator(&mut self, op: &Operator<'_>) -> Result<(), CompileError> {
        match op {
            Operator::Block { .. } | Operator::Loop { .. } | Operator::If { .. } => {
                self.unreachable_depth += 1;
                Ok(())
            }
            Operator::Else if self.unreachable_depth == 0 => self.else_(),
            Operator::End if self.unreachable_depth == 0 => self.end(),
            Operator::End => {
                self.unreachable_depth -= 1;
                Ok(())
            }
            _ => Ok(()),
        }
    }
}
