//! The operator table: one row per operator Tandem compiles, naming the
//! family method that lowers it. Both backends compile through this one
//! `match`; an operator without a row is a [`CompileError::Unsupported`]
//! naming it and its offset.
//!
//! The match reads the operator in place (it is large; moving it costs more
//! than reading its fields) and is instantiated in each backend, so every
//! row is a direct, inlinable call into that backend.

use super::families::{
    Const, Convert, FloatBinOp, FloatCmpOp, FloatTy, FloatUnOp, IntBinOp, IntCmpOp, IntTy, IntUnOp,
    Load, NumTy, Store, Width,
};
use super::traits::{LowerFunction, LowerResult};
use tandem_environ::wasmparser::Operator;
use tandem_environ::{
    DataIndex, ElemIndex, FuncIndex, GlobalIndex, MemoryIndex, TableIndex, TypeIndex,
};

/// Signed (`true`) or unsigned, in the rows below.
const S: bool = true;
/// Unsigned, in the rows below.
const U: bool = false;

/// Lowers reachable operator `op`, found at byte `offset`.
#[inline]
pub(super) fn lower_one<'a, L: LowerFunction<'a>>(
    l: &mut L,
    offset: u64,
    op: &Operator<'a>,
) -> LowerResult {
    use FloatTy::{F32, F64};
    use IntTy::{I32, I64};
    use Operator as O;
    use Width::{W8, W16, W32};
    let (i32_, i64_, f32_, f64_) = (NumTy::I32, NumTy::I64, NumTy::F32, NumTy::F64);
    match *op {
        // Control.
        O::Nop => Ok(()),
        O::Unreachable => l.unreachable(),
        O::Block { blockty } => l.block(blockty),
        O::Loop { blockty } => l.loop_(blockty),
        O::If { blockty } => l.if_(blockty),
        O::Else => l.else_(),
        O::End => l.end(),
        O::Br { relative_depth } => l.br(relative_depth),
        O::BrIf { relative_depth } => l.br_if(relative_depth),
        O::BrTable { ref targets } => l.br_table(targets),
        O::Return => l.return_(),
        O::Drop => l.drop_(),
        O::Select | O::TypedSelect { .. } => l.select(),
        O::BrOnNull { relative_depth } => l.br_on_null(relative_depth),
        O::BrOnNonNull { relative_depth } => l.br_on_non_null(relative_depth),

        // Calls.
        O::Call { function_index } => l.call(FuncIndex::from_u32(function_index)),
        O::CallIndirect {
            type_index,
            table_index,
        } => l.call_indirect(
            TypeIndex::from_u32(type_index),
            TableIndex::from_u32(table_index),
        ),
        O::CallRef { type_index } => l.call_ref(TypeIndex::from_u32(type_index)),
        O::ReturnCall { function_index } => l.return_call(FuncIndex::from_u32(function_index)),
        O::ReturnCallIndirect {
            type_index,
            table_index,
        } => l.return_call_indirect(
            TypeIndex::from_u32(type_index),
            TableIndex::from_u32(table_index),
        ),
        O::ReturnCallRef { type_index } => l.return_call_ref(TypeIndex::from_u32(type_index)),

        // Variables.
        O::LocalGet { local_index } => l.local_get(local_index),
        O::LocalSet { local_index } => l.local_set(local_index),
        O::LocalTee { local_index } => l.local_tee(local_index),
        O::GlobalGet { global_index } => l.global_get(GlobalIndex::from_u32(global_index)),
        O::GlobalSet { global_index } => l.global_set(GlobalIndex::from_u32(global_index)),

        // Memory.
        O::I32Load { ref memarg } => l.load(Load::full(i32_), memarg),
        O::I64Load { ref memarg } => l.load(Load::full(i64_), memarg),
        O::F32Load { ref memarg } => l.load(Load::full(f32_), memarg),
        O::F64Load { ref memarg } => l.load(Load::full(f64_), memarg),
        O::I32Load8S { ref memarg } => l.load(Load::narrow(I32, W8, S), memarg),
        O::I32Load8U { ref memarg } => l.load(Load::narrow(I32, W8, U), memarg),
        O::I32Load16S { ref memarg } => l.load(Load::narrow(I32, W16, S), memarg),
        O::I32Load16U { ref memarg } => l.load(Load::narrow(I32, W16, U), memarg),
        O::I64Load8S { ref memarg } => l.load(Load::narrow(I64, W8, S), memarg),
        O::I64Load8U { ref memarg } => l.load(Load::narrow(I64, W8, U), memarg),
        O::I64Load16S { ref memarg } => l.load(Load::narrow(I64, W16, S), memarg),
        O::I64Load16U { ref memarg } => l.load(Load::narrow(I64, W16, U), memarg),
        O::I64Load32S { ref memarg } => l.load(Load::narrow(I64, W32, S), memarg),
        O::I64Load32U { ref memarg } => l.load(Load::narrow(I64, W32, U), memarg),
        O::I32Store { ref memarg } => l.store(Store::full(i32_), memarg),
        O::I64Store { ref memarg } => l.store(Store::full(i64_), memarg),
        O::F32Store { ref memarg } => l.store(Store::full(f32_), memarg),
        O::F64Store { ref memarg } => l.store(Store::full(f64_), memarg),
        O::I32Store8 { ref memarg } => l.store(Store::narrow(I32, W8), memarg),
        O::I32Store16 { ref memarg } => l.store(Store::narrow(I32, W16), memarg),
        O::I64Store8 { ref memarg } => l.store(Store::narrow(I64, W8), memarg),
        O::I64Store16 { ref memarg } => l.store(Store::narrow(I64, W16), memarg),
        O::I64Store32 { ref memarg } => l.store(Store::narrow(I64, W32), memarg),
        O::MemorySize { mem } => l.memory_size(MemoryIndex::from_u32(mem)),
        O::MemoryGrow { mem } => l.memory_grow(MemoryIndex::from_u32(mem)),
        O::MemoryFill { mem } => l.memory_fill(MemoryIndex::from_u32(mem)),
        O::MemoryCopy { dst_mem, src_mem } => l.memory_copy(
            MemoryIndex::from_u32(dst_mem),
            MemoryIndex::from_u32(src_mem),
        ),
        O::MemoryInit { data_index, mem } => {
            l.memory_init(MemoryIndex::from_u32(mem), DataIndex::from_u32(data_index))
        }
        O::DataDrop { data_index } => l.data_drop(DataIndex::from_u32(data_index)),

        // Tables and references.
        O::TableGet { table } => l.table_get(TableIndex::from_u32(table)),
        O::TableSet { table } => l.table_set(TableIndex::from_u32(table)),
        O::TableSize { table } => l.table_size(TableIndex::from_u32(table)),
        O::TableGrow { table } => l.table_grow(TableIndex::from_u32(table)),
        O::TableFill { table } => l.table_fill(TableIndex::from_u32(table)),
        O::TableCopy {
            dst_table,
            src_table,
        } => l.table_copy(
            TableIndex::from_u32(dst_table),
            TableIndex::from_u32(src_table),
        ),
        O::TableInit { elem_index, table } => {
            l.table_init(TableIndex::from_u32(table), ElemIndex::from_u32(elem_index))
        }
        O::ElemDrop { elem_index } => l.elem_drop(ElemIndex::from_u32(elem_index)),
        O::RefNull { hty } => l.ref_null(hty),
        O::RefIsNull => l.ref_is_null(),
        O::RefFunc { function_index } => l.ref_func(FuncIndex::from_u32(function_index)),
        O::RefAsNonNull => l.ref_as_non_null(),

        // Constants.
        O::I32Const { value } => l.constant(Const::I32(value)),
        O::I64Const { value } => l.constant(Const::I64(value)),
        O::F32Const { value } => l.constant(Const::F32(value.bits())),
        O::F64Const { value } => l.constant(Const::F64(value.bits())),

        // Integer comparisons.
        O::I32Eqz => l.int_eqz(I32),
        O::I64Eqz => l.int_eqz(I64),
        O::I32Eq => l.int_compare(IntCmpOp::Eq, I32),
        O::I32Ne => l.int_compare(IntCmpOp::Ne, I32),
        O::I32LtS => l.int_compare(IntCmpOp::LtS, I32),
        O::I32LtU => l.int_compare(IntCmpOp::LtU, I32),
        O::I32GtS => l.int_compare(IntCmpOp::GtS, I32),
        O::I32GtU => l.int_compare(IntCmpOp::GtU, I32),
        O::I32LeS => l.int_compare(IntCmpOp::LeS, I32),
        O::I32LeU => l.int_compare(IntCmpOp::LeU, I32),
        O::I32GeS => l.int_compare(IntCmpOp::GeS, I32),
        O::I32GeU => l.int_compare(IntCmpOp::GeU, I32),
        O::I64Eq => l.int_compare(IntCmpOp::Eq, I64),
        O::I64Ne => l.int_compare(IntCmpOp::Ne, I64),
        O::I64LtS => l.int_compare(IntCmpOp::LtS, I64),
        O::I64LtU => l.int_compare(IntCmpOp::LtU, I64),
        O::I64GtS => l.int_compare(IntCmpOp::GtS, I64),
        O::I64GtU => l.int_compare(IntCmpOp::GtU, I64),
        O::I64LeS => l.int_compare(IntCmpOp::LeS, I64),
        O::I64LeU => l.int_compare(IntCmpOp::LeU, I64),
        O::I64GeS => l.int_compare(IntCmpOp::GeS, I64),
        O::I64GeU => l.int_compare(IntCmpOp::GeU, I64),

        // Float comparisons.
        O::F32Eq => l.float_compare(FloatCmpOp::Eq, F32),
        O::F32Ne => l.float_compare(FloatCmpOp::Ne, F32),
        O::F32Lt => l.float_compare(FloatCmpOp::Lt, F32),
        O::F32Gt => l.float_compare(FloatCmpOp::Gt, F32),
        O::F32Le => l.float_compare(FloatCmpOp::Le, F32),
        O::F32Ge => l.float_compare(FloatCmpOp::Ge, F32),
        O::F64Eq => l.float_compare(FloatCmpOp::Eq, F64),
        O::F64Ne => l.float_compare(FloatCmpOp::Ne, F64),
        O::F64Lt => l.float_compare(FloatCmpOp::Lt, F64),
        O::F64Gt => l.float_compare(FloatCmpOp::Gt, F64),
        O::F64Le => l.float_compare(FloatCmpOp::Le, F64),
        O::F64Ge => l.float_compare(FloatCmpOp::Ge, F64),

        // Integer arithmetic.
        O::I32Clz => l.int_unary(IntUnOp::Clz, I32),
        O::I32Ctz => l.int_unary(IntUnOp::Ctz, I32),
        O::I32Popcnt => l.int_unary(IntUnOp::Popcnt, I32),
        O::I64Clz => l.int_unary(IntUnOp::Clz, I64),
        O::I64Ctz => l.int_unary(IntUnOp::Ctz, I64),
        O::I64Popcnt => l.int_unary(IntUnOp::Popcnt, I64),
        O::I32Extend8S => l.int_unary(IntUnOp::Extend8S, I32),
        O::I32Extend16S => l.int_unary(IntUnOp::Extend16S, I32),
        O::I64Extend8S => l.int_unary(IntUnOp::Extend8S, I64),
        O::I64Extend16S => l.int_unary(IntUnOp::Extend16S, I64),
        O::I64Extend32S => l.int_unary(IntUnOp::Extend32S, I64),
        O::I32Add => l.int_binary(IntBinOp::Add, I32),
        O::I32Sub => l.int_binary(IntBinOp::Sub, I32),
        O::I32Mul => l.int_binary(IntBinOp::Mul, I32),
        O::I32DivS => l.int_binary(IntBinOp::DivS, I32),
        O::I32DivU => l.int_binary(IntBinOp::DivU, I32),
        O::I32RemS => l.int_binary(IntBinOp::RemS, I32),
        O::I32RemU => l.int_binary(IntBinOp::RemU, I32),
        O::I32And => l.int_binary(IntBinOp::And, I32),
        O::I32Or => l.int_binary(IntBinOp::Or, I32),
        O::I32Xor => l.int_binary(IntBinOp::Xor, I32),
        O::I32Shl => l.int_binary(IntBinOp::Shl, I32),
        O::I32ShrS => l.int_binary(IntBinOp::ShrS, I32),
        O::I32ShrU => l.int_binary(IntBinOp::ShrU, I32),
        O::I32Rotl => l.int_binary(IntBinOp::Rotl, I32),
        O::I32Rotr => l.int_binary(IntBinOp::Rotr, I32),
        O::I64Add => l.int_binary(IntBinOp::Add, I64),
        O::I64Sub => l.int_binary(IntBinOp::Sub, I64),
        O::I64Mul => l.int_binary(IntBinOp::Mul, I64),
        O::I64DivS => l.int_binary(IntBinOp::DivS, I64),
        O::I64DivU => l.int_binary(IntBinOp::DivU, I64),
        O::I64RemS => l.int_binary(IntBinOp::RemS, I64),
        O::I64RemU => l.int_binary(IntBinOp::RemU, I64),
        O::I64And => l.int_binary(IntBinOp::And, I64),
        O::I64Or => l.int_binary(IntBinOp::Or, I64),
        O::I64Xor => l.int_binary(IntBinOp::Xor, I64),
        O::I64Shl => l.int_binary(IntBinOp::Shl, I64),
        O::I64ShrS => l.int_binary(IntBinOp::ShrS, I64),
        O::I64ShrU => l.int_binary(IntBinOp::ShrU, I64),
        O::I64Rotl => l.int_binary(IntBinOp::Rotl, I64),
        O::I64Rotr => l.int_binary(IntBinOp::Rotr, I64),

        // Float arithmetic.
        O::F32Abs => l.float_unary(FloatUnOp::Abs, F32),
        O::F32Neg => l.float_unary(FloatUnOp::Neg, F32),
        O::F32Ceil => l.float_unary(FloatUnOp::Ceil, F32),
        O::F32Floor => l.float_unary(FloatUnOp::Floor, F32),
        O::F32Trunc => l.float_unary(FloatUnOp::Trunc, F32),
        O::F32Nearest => l.float_unary(FloatUnOp::Nearest, F32),
        O::F32Sqrt => l.float_unary(FloatUnOp::Sqrt, F32),
        O::F64Abs => l.float_unary(FloatUnOp::Abs, F64),
        O::F64Neg => l.float_unary(FloatUnOp::Neg, F64),
        O::F64Ceil => l.float_unary(FloatUnOp::Ceil, F64),
        O::F64Floor => l.float_unary(FloatUnOp::Floor, F64),
        O::F64Trunc => l.float_unary(FloatUnOp::Trunc, F64),
        O::F64Nearest => l.float_unary(FloatUnOp::Nearest, F64),
        O::F64Sqrt => l.float_unary(FloatUnOp::Sqrt, F64),
        O::F32Add => l.float_binary(FloatBinOp::Add, F32),
        O::F32Sub => l.float_binary(FloatBinOp::Sub, F32),
        O::F32Mul => l.float_binary(FloatBinOp::Mul, F32),
        O::F32Div => l.float_binary(FloatBinOp::Div, F32),
        O::F32Min => l.float_binary(FloatBinOp::Min, F32),
        O::F32Max => l.float_binary(FloatBinOp::Max, F32),
        O::F32Copysign => l.float_binary(FloatBinOp::Copysign, F32),
        O::F64Add => l.float_binary(FloatBinOp::Add, F64),
        O::F64Sub => l.float_binary(FloatBinOp::Sub, F64),
        O::F64Mul => l.float_binary(FloatBinOp::Mul, F64),
        O::F64Div => l.float_binary(FloatBinOp::Div, F64),
        O::F64Min => l.float_binary(FloatBinOp::Min, F64),
        O::F64Max => l.float_binary(FloatBinOp::Max, F64),
        O::F64Copysign => l.float_binary(FloatBinOp::Copysign, F64),

        // Conversions.
        O::I32WrapI64 => l.convert(Convert::Wrap),
        O::I64ExtendI32S => l.convert(Convert::ExtendI32 { signed: S }),
        O::I64ExtendI32U => l.convert(Convert::ExtendI32 { signed: U }),
        O::I32TruncF32S => l.convert(Convert::trunc(F32, I32, S)),
        O::I32TruncF32U => l.convert(Convert::trunc(F32, I32, U)),
        O::I32TruncF64S => l.convert(Convert::trunc(F64, I32, S)),
        O::I32TruncF64U => l.convert(Convert::trunc(F64, I32, U)),
        O::I64TruncF32S => l.convert(Convert::trunc(F32, I64, S)),
        O::I64TruncF32U => l.convert(Convert::trunc(F32, I64, U)),
        O::I64TruncF64S => l.convert(Convert::trunc(F64, I64, S)),
        O::I64TruncF64U => l.convert(Convert::trunc(F64, I64, U)),
        O::I32TruncSatF32S => l.convert(Convert::trunc_sat(F32, I32, S)),
        O::I32TruncSatF32U => l.convert(Convert::trunc_sat(F32, I32, U)),
        O::I32TruncSatF64S => l.convert(Convert::trunc_sat(F64, I32, S)),
        O::I32TruncSatF64U => l.convert(Convert::trunc_sat(F64, I32, U)),
        O::I64TruncSatF32S => l.convert(Convert::trunc_sat(F32, I64, S)),
        O::I64TruncSatF32U => l.convert(Convert::trunc_sat(F32, I64, U)),
        O::I64TruncSatF64S => l.convert(Convert::trunc_sat(F64, I64, S)),
        O::I64TruncSatF64U => l.convert(Convert::trunc_sat(F64, I64, U)),
        O::F32ConvertI32S => l.convert(Convert::from_int(I32, F32, S)),
        O::F32ConvertI32U => l.convert(Convert::from_int(I32, F32, U)),
        O::F32ConvertI64S => l.convert(Convert::from_int(I64, F32, S)),
        O::F32ConvertI64U => l.convert(Convert::from_int(I64, F32, U)),
        O::F64ConvertI32S => l.convert(Convert::from_int(I32, F64, S)),
        O::F64ConvertI32U => l.convert(Convert::from_int(I32, F64, U)),
        O::F64ConvertI64S => l.convert(Convert::from_int(I64, F64, S)),
        O::F64ConvertI64U => l.convert(Convert::from_int(I64, F64, U)),
        O::F32DemoteF64 => l.convert(Convert::Demote),
        O::F64PromoteF32 => l.convert(Convert::Promote),
        O::I32ReinterpretF32 => l.convert(Convert::Reinterpret { to: i32_ }),
        O::I64ReinterpretF64 => l.convert(Convert::Reinterpret { to: i64_ }),
        O::F32ReinterpretI32 => l.convert(Convert::Reinterpret { to: f32_ }),
        O::F64ReinterpretI64 => l.convert(Convert::Reinterpret { to: f64_ }),

        _ => super::table_simd::lower_simd(l, offset, op),
    }
}
