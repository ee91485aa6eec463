//! Operator dispatch: one line per operator, forwarding to the generic of
//! its family in `codegen/`. Operators outside Wasm 2.0 without SIMD are a
//! typed [`CompileError::Unsupported`], never a panic.

use crate::codegen::CodeGen;
use crate::codegen::kinds::*;
use crate::masm::{BitCount, Cond, Extend, RoundMode};
use crate::stack::Ty::{F32, F64, I32, I64};
use tandem_codegen_api::CompileError;
use tandem_environ::{DataIndex, ElemIndex, FuncIndex, GlobalIndex, TableIndex, TypeIndex};
use wasmparser::Operator;

impl CodeGen<'_, '_> {
    /// Compiles one reachable operator.
    pub(crate) fn visit(&mut self, op: &Operator<'_>) -> Result<(), CompileError> {
        use IntBin as B;
        use Operator as O;
        // By reference: moving the large `Operator` costs more than
        // reading its fields in place.
        match *op {
            // Control (codegen/control.rs).
            O::Nop => Ok(()),
            O::Unreachable => self.unreachable(),
            O::Block { blockty } => self.block(blockty),
            O::Loop { blockty } => self.loop_(blockty),
            O::If { blockty } => self.if_(blockty, None),
            O::Else => self.else_(),
            O::End => self.end(),
            O::Br { relative_depth } => self.br(relative_depth),
            O::BrIf { relative_depth } => self.br_if(relative_depth, None),
            O::BrTable { ref targets } => self.br_table(targets),
            O::Return => self.return_(),
            O::Drop => self.drop_(),
            O::Select | O::TypedSelect { .. } => self.select(None),

            // Calls (codegen/call.rs).
            O::Call { function_index } => self.call(FuncIndex::from_u32(function_index)),
            O::CallIndirect {
                type_index,
                table_index,
            } => self.call_indirect(
                TypeIndex::from_u32(type_index),
                TableIndex::from_u32(table_index),
            ),

            // Variables (codegen/variable.rs).
            O::LocalGet { local_index } => self.local_get(local_index),
            O::LocalSet { local_index } => self.local_set(local_index),
            O::LocalTee { local_index } => self.local_tee(local_index),
            O::GlobalGet { global_index } => self.global_get(GlobalIndex::from_u32(global_index)),
            O::GlobalSet { global_index } => self.global_set(GlobalIndex::from_u32(global_index)),

            // Memory (codegen/memory.rs).
            O::I32Load { memarg } => self.load(&memarg, I32, LoadKind::Full),
            O::I64Load { memarg } => self.load(&memarg, I64, LoadKind::Full),
            O::F32Load { memarg } => self.load(&memarg, F32, LoadKind::Full),
            O::F64Load { memarg } => self.load(&memarg, F64, LoadKind::Full),
            O::I32Load8S { memarg } => self.load(&memarg, I32, LoadKind::Ext(Extend::S8)),
            O::I32Load8U { memarg } => self.load(&memarg, I32, LoadKind::Ext(Extend::U8)),
            O::I32Load16S { memarg } => self.load(&memarg, I32, LoadKind::Ext(Extend::S16)),
            O::I32Load16U { memarg } => self.load(&memarg, I32, LoadKind::Ext(Extend::U16)),
            O::I64Load8S { memarg } => self.load(&memarg, I64, LoadKind::Ext(Extend::S8)),
            O::I64Load8U { memarg } => self.load(&memarg, I64, LoadKind::Ext(Extend::U8)),
            O::I64Load16S { memarg } => self.load(&memarg, I64, LoadKind::Ext(Extend::S16)),
            O::I64Load16U { memarg } => self.load(&memarg, I64, LoadKind::Ext(Extend::U16)),
            O::I64Load32S { memarg } => self.load(&memarg, I64, LoadKind::Ext(Extend::S32)),
            O::I64Load32U { memarg } => self.load(&memarg, I64, LoadKind::Ext(Extend::U32)),
            O::I32Store { memarg } | O::F32Store { memarg } => self.store(&memarg, 4),
            O::I64Store { memarg } | O::F64Store { memarg } => self.store(&memarg, 8),
            O::I32Store8 { memarg } | O::I64Store8 { memarg } => self.store(&memarg, 1),
            O::I32Store16 { memarg } | O::I64Store16 { memarg } => self.store(&memarg, 2),
            O::I64Store32 { memarg } => self.store(&memarg, 4),
            O::MemorySize { mem } => self.memory_size(mem),
            O::MemoryGrow { mem } => self.memory_grow(mem),
            O::MemoryFill { mem } => self.memory_fill(mem),
            O::MemoryCopy { dst_mem, src_mem } => self.memory_copy(dst_mem, src_mem),
            O::MemoryInit { data_index, mem } => {
                self.memory_init(mem, DataIndex::from_u32(data_index))
            }
            O::DataDrop { data_index } => self.data_drop(DataIndex::from_u32(data_index)),

            // Tables and references (codegen/table.rs).
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
            O::RefIsNull => self.eqz(I64),
            O::RefFunc { function_index } => self.ref_func(FuncIndex::from_u32(function_index)),

            // Constants and comparisons (codegen/numeric.rs).
            O::I32Const { value } => self.iconst(I32, i64::from(value)),
            O::I64Const { value } => self.iconst(I64, value),
            O::F32Const { value } => self.fconst(F32, u64::from(value.bits())),
            O::F64Const { value } => self.fconst(F64, value.bits()),
            O::I32Eqz => self.eqz(I32),
            O::I64Eqz => self.eqz(I64),
            O::I32Eq => self.int_compare(Cond::Eq, I32),
            O::I32Ne => self.int_compare(Cond::Ne, I32),
            O::I32LtS => self.int_compare(Cond::Lt, I32),
            O::I32LtU => self.int_compare(Cond::Below, I32),
            O::I32GtS => self.int_compare(Cond::Gt, I32),
            O::I32GtU => self.int_compare(Cond::Above, I32),
            O::I32LeS => self.int_compare(Cond::Le, I32),
            O::I32LeU => self.int_compare(Cond::BelowEq, I32),
            O::I32GeS => self.int_compare(Cond::Ge, I32),
            O::I32GeU => self.int_compare(Cond::AboveEq, I32),
            O::I64Eq => self.int_compare(Cond::Eq, I64),
            O::I64Ne => self.int_compare(Cond::Ne, I64),
            O::I64LtS => self.int_compare(Cond::Lt, I64),
            O::I64LtU => self.int_compare(Cond::Below, I64),
            O::I64GtS => self.int_compare(Cond::Gt, I64),
            O::I64GtU => self.int_compare(Cond::Above, I64),
            O::I64LeS => self.int_compare(Cond::Le, I64),
            O::I64LeU => self.int_compare(Cond::BelowEq, I64),
            O::I64GeS => self.int_compare(Cond::Ge, I64),
            O::I64GeU => self.int_compare(Cond::AboveEq, I64),
            O::F32Eq => self.float_compare(FloatCmp::Eq, F32),
            O::F32Ne => self.float_compare(FloatCmp::Ne, F32),
            O::F32Lt => self.float_compare(FloatCmp::Lt, F32),
            O::F32Gt => self.float_compare(FloatCmp::Gt, F32),
            O::F32Le => self.float_compare(FloatCmp::Le, F32),
            O::F32Ge => self.float_compare(FloatCmp::Ge, F32),
            O::F64Eq => self.float_compare(FloatCmp::Eq, F64),
            O::F64Ne => self.float_compare(FloatCmp::Ne, F64),
            O::F64Lt => self.float_compare(FloatCmp::Lt, F64),
            O::F64Gt => self.float_compare(FloatCmp::Gt, F64),
            O::F64Le => self.float_compare(FloatCmp::Le, F64),
            O::F64Ge => self.float_compare(FloatCmp::Ge, F64),

            // Integer arithmetic.
            O::I32Clz => self.bit_count(BitCount::Clz, I32),
            O::I32Ctz => self.bit_count(BitCount::Ctz, I32),
            O::I32Popcnt => self.bit_count(BitCount::Popcnt, I32),
            O::I64Clz => self.bit_count(BitCount::Clz, I64),
            O::I64Ctz => self.bit_count(BitCount::Ctz, I64),
            O::I64Popcnt => self.bit_count(BitCount::Popcnt, I64),
            O::I32Add => self.int_binary(B::Add, I32),
            O::I32Sub => self.int_binary(B::Sub, I32),
            O::I32Mul => self.int_binary(B::Mul, I32),
            O::I32DivS => self.int_binary(B::DivS, I32),
            O::I32DivU => self.int_binary(B::DivU, I32),
            O::I32RemS => self.int_binary(B::RemS, I32),
            O::I32RemU => self.int_binary(B::RemU, I32),
            O::I32And => self.int_binary(B::And, I32),
            O::I32Or => self.int_binary(B::Or, I32),
            O::I32Xor => self.int_binary(B::Xor, I32),
            O::I32Shl => self.int_binary(B::Shl, I32),
            O::I32ShrS => self.int_binary(B::ShrS, I32),
            O::I32ShrU => self.int_binary(B::ShrU, I32),
            O::I32Rotl => self.int_binary(B::Rotl, I32),
            O::I32Rotr => self.int_binary(B::Rotr, I32),
            O::I64Add => self.int_binary(B::Add, I64),
            O::I64Sub => self.int_binary(B::Sub, I64),
            O::I64Mul => self.int_binary(B::Mul, I64),
            O::I64DivS => self.int_binary(B::DivS, I64),
            O::I64DivU => self.int_binary(B::DivU, I64),
            O::I64RemS => self.int_binary(B::RemS, I64),
            O::I64RemU => self.int_binary(B::RemU, I64),
            O::I64And => self.int_binary(B::And, I64),
            O::I64Or => self.int_binary(B::Or, I64),
            O::I64Xor => self.int_binary(B::Xor, I64),
            O::I64Shl => self.int_binary(B::Shl, I64),
            O::I64ShrS => self.int_binary(B::ShrS, I64),
            O::I64ShrU => self.int_binary(B::ShrU, I64),
            O::I64Rotl => self.int_binary(B::Rotl, I64),
            O::I64Rotr => self.int_binary(B::Rotr, I64),

            // Float arithmetic.
            O::F32Abs => self.float_unary(FloatUn::Abs, F32),
            O::F32Neg => self.float_unary(FloatUn::Neg, F32),
            O::F32Ceil => self.float_unary(FloatUn::Round(RoundMode::Ceil), F32),
            O::F32Floor => self.float_unary(FloatUn::Round(RoundMode::Floor), F32),
            O::F32Trunc => self.float_unary(FloatUn::Round(RoundMode::Trunc), F32),
            O::F32Nearest => self.float_unary(FloatUn::Round(RoundMode::Nearest), F32),
            O::F32Sqrt => self.float_unary(FloatUn::Sqrt, F32),
            O::F64Abs => self.float_unary(FloatUn::Abs, F64),
            O::F64Neg => self.float_unary(FloatUn::Neg, F64),
            O::F64Ceil => self.float_unary(FloatUn::Round(RoundMode::Ceil), F64),
            O::F64Floor => self.float_unary(FloatUn::Round(RoundMode::Floor), F64),
            O::F64Trunc => self.float_unary(FloatUn::Round(RoundMode::Trunc), F64),
            O::F64Nearest => self.float_unary(FloatUn::Round(RoundMode::Nearest), F64),
            O::F64Sqrt => self.float_unary(FloatUn::Sqrt, F64),
            O::F32Add => self.float_binary(FloatBin::Add, F32),
            O::F32Sub => self.float_binary(FloatBin::Sub, F32),
            O::F32Mul => self.float_binary(FloatBin::Mul, F32),
            O::F32Div => self.float_binary(FloatBin::Div, F32),
            O::F32Min => self.float_binary(FloatBin::Min, F32),
            O::F32Max => self.float_binary(FloatBin::Max, F32),
            O::F32Copysign => self.float_binary(FloatBin::Copysign, F32),
            O::F64Add => self.float_binary(FloatBin::Add, F64),
            O::F64Sub => self.float_binary(FloatBin::Sub, F64),
            O::F64Mul => self.float_binary(FloatBin::Mul, F64),
            O::F64Div => self.float_binary(FloatBin::Div, F64),
            O::F64Min => self.float_binary(FloatBin::Min, F64),
            O::F64Max => self.float_binary(FloatBin::Max, F64),
            O::F64Copysign => self.float_binary(FloatBin::Copysign, F64),

            // Conversions (codegen/conversion.rs).
            O::I32WrapI64 => self.wrap(),
            O::I64ExtendI32S => self.extend_i32(true),
            O::I64ExtendI32U => self.extend_i32(false),
            O::I32TruncF32S | O::I32TruncF64S => self.float_to_int(I32, true),
            O::I32TruncF32U | O::I32TruncF64U => self.float_to_int(I32, false),
            O::I64TruncF32S | O::I64TruncF64S => self.float_to_int(I64, true),
            O::I64TruncF32U | O::I64TruncF64U => self.float_to_int(I64, false),
            O::I32TruncSatF32S | O::I32TruncSatF64S => self.float_to_int_sat(I32, true),
            O::I32TruncSatF32U | O::I32TruncSatF64U => self.float_to_int_sat(I32, false),
            O::I64TruncSatF32S | O::I64TruncSatF64S => self.float_to_int_sat(I64, true),
            O::I64TruncSatF32U | O::I64TruncSatF64U => self.float_to_int_sat(I64, false),
            O::F32ConvertI32S | O::F32ConvertI64S => self.int_to_float(F32, true),
            O::F32ConvertI32U | O::F32ConvertI64U => self.int_to_float(F32, false),
            O::F64ConvertI32S | O::F64ConvertI64S => self.int_to_float(F64, true),
            O::F64ConvertI32U | O::F64ConvertI64U => self.int_to_float(F64, false),
            O::F32DemoteF64 => self.float_convert(F32),
            O::F64PromoteF32 => self.float_convert(F64),
            O::I32ReinterpretF32 => self.reinterpret(I32),
            O::I64ReinterpretF64 => self.reinterpret(I64),
            O::F32ReinterpretI32 => self.reinterpret(F32),
            O::F64ReinterpretI64 => self.reinterpret(F64),
            O::I32Extend8S => self.extend_in_place(I32, 8),
            O::I32Extend16S => self.extend_in_place(I32, 16),
            O::I64Extend8S => self.extend_in_place(I64, 8),
            O::I64Extend16S => self.extend_in_place(I64, 16),
            O::I64Extend32S => self.extend_in_place(I64, 32),

            ref other => Err(self.unsupported(format!("operator {other:?}"))),
        }
    }

    /// Handles an operator in unreachable code: only nesting matters.
    pub(crate) fn visit_unreachable(&mut self, op: &Operator<'_>) -> Result<(), CompileError> {
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
