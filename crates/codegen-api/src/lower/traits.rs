//! One trait per operator family group. A backend implements every one of
//! them (a missing method is a compile error), plus [`LowerFunction`], the
//! driver's view of a function being compiled.
//!
//! Every method lowers one reachable operator whose immediates it receives;
//! operands come from the backend's own value stack. Each returns `Ok` or
//! the [`CompileError`] that stops the function.

use super::families::{
    Const, Convert, FloatBinOp, FloatCmpOp, FloatTy, FloatUnOp, IntBinOp, IntCmpOp, IntTy, IntUnOp,
    Load, Store, Width,
};
use super::simd::{
    FloatLanes, IntLanes, Lanes, SimdBinOp, SimdShiftOp, SimdTernOp, SimdTestOp, SimdUnOp, V128Load,
};
use crate::CompileError;
use tandem_environ::wasmparser::{BlockType, BrTable, HeapType, MemArg, Operator, OperatorsReader};
use tandem_environ::{
    DataIndex, ElemIndex, FuncIndex, GlobalIndex, MemoryIndex, TableIndex, TypeIndex,
};

/// What lowering one operator returns.
pub type LowerResult = Result<(), CompileError>;

/// Structured control flow, `drop` and `select`.
pub trait LowerControl {
    /// `unreachable`: traps; what follows is unreachable.
    fn unreachable(&mut self) -> LowerResult;
    /// `block`.
    fn block(&mut self, ty: BlockType) -> LowerResult;
    /// `loop`.
    fn loop_(&mut self, ty: BlockType) -> LowerResult;
    /// `if`.
    fn if_(&mut self, ty: BlockType) -> LowerResult;
    /// `else`, also when the `then` arm ended unreachable.
    fn else_(&mut self) -> LowerResult;
    /// `end` of a block, loop, if or the function, also when its body ended
    /// unreachable.
    fn end(&mut self) -> LowerResult;
    /// `br`.
    fn br(&mut self, depth: u32) -> LowerResult;
    /// `br_if`.
    fn br_if(&mut self, depth: u32) -> LowerResult;
    /// `br_table`.
    fn br_table(&mut self, targets: &BrTable<'_>) -> LowerResult;
    /// `return`.
    fn return_(&mut self) -> LowerResult;
    /// `drop`.
    fn drop_(&mut self) -> LowerResult;
    /// `select`, typed or not.
    fn select(&mut self) -> LowerResult;
    /// `br_on_null`: branches when the reference on top is null (dropping
    /// it), else leaves it, now known non-null.
    fn br_on_null(&mut self, depth: u32) -> LowerResult;
    /// `br_on_non_null`: branches with the reference when it is not null,
    /// else drops it.
    fn br_on_non_null(&mut self, depth: u32) -> LowerResult;
}

/// Calls: direct, through a table, through a typed function reference,
/// and their tail-call forms.
///
/// A tail call (`return_call*`) leaves the function: the callee returns
/// straight to this function's caller, and the callee's stack arguments may
/// need more room than this function's own (see
/// `tandem_codegen_api::abi`, "Tail calls"). What follows it is
/// unreachable.
pub trait LowerCall {
    /// `call`.
    fn call(&mut self, func: FuncIndex) -> LowerResult;
    /// `call_indirect`.
    fn call_indirect(&mut self, ty: TypeIndex, table: TableIndex) -> LowerResult;
    /// `call_ref` of a function of type `ty` (traps on null).
    fn call_ref(&mut self, ty: TypeIndex) -> LowerResult;
    /// `return_call`.
    fn return_call(&mut self, func: FuncIndex) -> LowerResult;
    /// `return_call_indirect`.
    fn return_call_indirect(&mut self, ty: TypeIndex, table: TableIndex) -> LowerResult;
    /// `return_call_ref` of a function of type `ty` (traps on null).
    fn return_call_ref(&mut self, ty: TypeIndex) -> LowerResult;
}

/// Locals and globals.
pub trait LowerVariable {
    /// `local.get`.
    fn local_get(&mut self, index: u32) -> LowerResult;
    /// `local.set`.
    fn local_set(&mut self, index: u32) -> LowerResult;
    /// `local.tee`.
    fn local_tee(&mut self, index: u32) -> LowerResult;
    /// `global.get`.
    fn global_get(&mut self, index: GlobalIndex) -> LowerResult;
    /// `global.set`.
    fn global_set(&mut self, index: GlobalIndex) -> LowerResult;
}

/// Linear memory: scalar loads and stores, size, growth and bulk memory.
pub trait LowerMemory {
    /// A scalar load.
    fn load(&mut self, load: Load, memarg: &MemArg) -> LowerResult;
    /// A scalar store.
    fn store(&mut self, store: Store, memarg: &MemArg) -> LowerResult;
    /// `memory.size`.
    fn memory_size(&mut self, memory: MemoryIndex) -> LowerResult;
    /// `memory.grow`.
    fn memory_grow(&mut self, memory: MemoryIndex) -> LowerResult;
    /// `memory.fill`.
    fn memory_fill(&mut self, memory: MemoryIndex) -> LowerResult;
    /// `memory.copy` from `src` to `dst` (which may be the same memory).
    fn memory_copy(&mut self, dst: MemoryIndex, src: MemoryIndex) -> LowerResult;
    /// `memory.init`.
    fn memory_init(&mut self, memory: MemoryIndex, data: DataIndex) -> LowerResult;
    /// `data.drop`.
    fn data_drop(&mut self, data: DataIndex) -> LowerResult;
}

/// Tables and references.
pub trait LowerTable {
    /// `table.get`.
    fn table_get(&mut self, table: TableIndex) -> LowerResult;
    /// `table.set`.
    fn table_set(&mut self, table: TableIndex) -> LowerResult;
    /// `table.size`.
    fn table_size(&mut self, table: TableIndex) -> LowerResult;
    /// `table.grow`.
    fn table_grow(&mut self, table: TableIndex) -> LowerResult;
    /// `table.fill`.
    fn table_fill(&mut self, table: TableIndex) -> LowerResult;
    /// `table.copy` from `src` to `dst` (which may be the same table).
    fn table_copy(&mut self, dst: TableIndex, src: TableIndex) -> LowerResult;
    /// `table.init`.
    fn table_init(&mut self, table: TableIndex, elem: ElemIndex) -> LowerResult;
    /// `elem.drop`.
    fn elem_drop(&mut self, elem: ElemIndex) -> LowerResult;
    /// `ref.null`.
    fn ref_null(&mut self, ty: HeapType) -> LowerResult;
    /// `ref.is_null`.
    fn ref_is_null(&mut self) -> LowerResult;
    /// `ref.func`.
    fn ref_func(&mut self, func: FuncIndex) -> LowerResult;
    /// `ref.as_non_null`: traps with `NullReference` on null.
    fn ref_as_non_null(&mut self) -> LowerResult;
}

/// Constants, arithmetic and comparisons of scalar numbers.
pub trait LowerNumeric {
    /// `*.const`.
    fn constant(&mut self, value: Const) -> LowerResult;
    /// [`IntUnOp`]s.
    fn int_unary(&mut self, op: IntUnOp, ty: IntTy) -> LowerResult;
    /// [`IntBinOp`]s.
    fn int_binary(&mut self, op: IntBinOp, ty: IntTy) -> LowerResult;
    /// `i32.eqz` / `i64.eqz`.
    fn int_eqz(&mut self, ty: IntTy) -> LowerResult;
    /// [`IntCmpOp`]s.
    fn int_compare(&mut self, op: IntCmpOp, ty: IntTy) -> LowerResult;
    /// [`FloatUnOp`]s.
    fn float_unary(&mut self, op: FloatUnOp, ty: FloatTy) -> LowerResult;
    /// [`FloatBinOp`]s.
    fn float_binary(&mut self, op: FloatBinOp, ty: FloatTy) -> LowerResult;
    /// [`FloatCmpOp`]s.
    fn float_compare(&mut self, op: FloatCmpOp, ty: FloatTy) -> LowerResult;
}

/// Conversions between scalar number types.
pub trait LowerConvert {
    /// [`Convert`]s.
    fn convert(&mut self, op: Convert) -> LowerResult;
}

/// `v128` operators: fixed-width SIMD and relaxed SIMD (the latter mapped
/// to one deterministic lowering each, see `lower::simd`).
pub trait LowerSimd {
    /// `v128.const`, its bytes little-endian.
    fn v128_const(&mut self, bits: u128) -> LowerResult;
    /// [`V128Load`]s.
    fn v128_load(&mut self, load: V128Load, memarg: &MemArg) -> LowerResult;
    /// `v128.store`.
    fn v128_store(&mut self, memarg: &MemArg) -> LowerResult;
    /// `v128.loadN_lane`: replaces lane `lane` of `width` with memory.
    fn v128_load_lane(&mut self, width: Width, memarg: &MemArg, lane: u8) -> LowerResult;
    /// `v128.storeN_lane`: stores lane `lane` of `width`.
    fn v128_store_lane(&mut self, width: Width, memarg: &MemArg, lane: u8) -> LowerResult;
    /// `i8x16.shuffle`: result byte `i` is byte `lanes[i]` of `a ++ b`.
    fn shuffle(&mut self, lanes: &[u8; 16]) -> LowerResult;
    /// `*.splat`: a scalar copied to every lane.
    fn splat(&mut self, lanes: Lanes) -> LowerResult;
    /// `*.extract_lane[_s/_u]`; `signed` matters for 8- and 16-bit lanes
    /// only.
    fn extract_lane(&mut self, lanes: Lanes, lane: u8, signed: bool) -> LowerResult;
    /// `*.replace_lane`.
    fn replace_lane(&mut self, lanes: Lanes, lane: u8) -> LowerResult;
    /// [`SimdUnOp`]s.
    fn simd_unary(&mut self, op: SimdUnOp) -> LowerResult;
    /// [`SimdBinOp`]s.
    fn simd_binary(&mut self, op: SimdBinOp) -> LowerResult;
    /// [`SimdTernOp`]s.
    fn simd_ternary(&mut self, op: SimdTernOp) -> LowerResult;
    /// [`SimdShiftOp`]s.
    fn simd_shift(&mut self, op: SimdShiftOp, lanes: IntLanes) -> LowerResult;
    /// Integer lane comparisons: all ones in a lane for true.
    fn simd_int_compare(&mut self, op: IntCmpOp, lanes: IntLanes) -> LowerResult;
    /// Float lane comparisons: all ones in a lane for true.
    fn simd_float_compare(&mut self, op: FloatCmpOp, lanes: FloatLanes) -> LowerResult;
    /// [`SimdTestOp`]s.
    fn simd_test(&mut self, op: SimdTestOp) -> LowerResult;
}

/// A function being compiled, as the shared driver
/// ([`lower_body`](super::lower_body)) sees it: every operator family, the
/// operator stream, and the hooks around each operator.
///
/// The backend owns the operator reader so that a lowering may peek past
/// its own operator and consume what follows (fusing a comparison with the
/// branch after it, or an arithmetic result with the `local.set` after it).
pub trait LowerFunction<'a>:
    LowerControl
    + LowerCall
    + LowerVariable
    + LowerMemory
    + LowerTable
    + LowerNumeric
    + LowerConvert
    + LowerSimd
{
    /// The backend's name, for [`CompileError::Unsupported`].
    const BACKEND: &'static str;

    /// The body's operators, positioned after the last one read.
    fn operators(&mut self) -> &mut OperatorsReader<'a>;

    /// Whether the code being emitted can execute. Lowerings that end a
    /// straight line (`br`, `return`, `unreachable`...) clear it; `else`
    /// and `end` of the construct that contains them set it again.
    fn reachable(&self) -> bool;

    /// Every operator, reachable or not, is announced with its byte offset
    /// in the module before anything else happens to it.
    fn at_operator(&mut self, offset: u64);

    /// Called before a reachable operator is lowered (fuel accounting,
    /// address maps).
    fn before_operator(&mut self, op: &Operator<'a>);

    /// Called after a reachable operator was lowered (fuel, loop-header
    /// checks).
    fn after_operator(&mut self, op: &Operator<'a>) -> LowerResult;
}
