//! Tests of the table and the driver with a recording backend: each
//! lowering logs the wasmparser name of the operator it was asked for,
//! spelled from its family arguments, so a row that maps an operator to
//! the wrong family member shows up as a name mismatch.

use super::*;
use crate::CompileError;
use tandem_environ::wasmparser::{
    BinaryReader, BlockType, BrTable, HeapType, MemArg, Operator, OperatorsReader, WasmFeatures,
};
use tandem_environ::{
    DataIndex, ElemIndex, FuncIndex, GlobalIndex, MemoryIndex, TableIndex, TypeIndex,
};

/// A backend that compiles nothing and logs what it was asked to lower.
struct Recorder<'a> {
    reader: OperatorsReader<'a>,
    reachable: bool,
    /// Names of the lowered operators, in order.
    lowered: Vec<String>,
    /// Every offset announced by `at_operator`.
    offsets: Vec<u64>,
    /// `before_operator` / `after_operator` calls.
    hooks: Vec<String>,
}

impl<'a> Recorder<'a> {
    fn new(body: &'a [u8], features: WasmFeatures) -> Self {
        let reader = BinaryReader::new_features(body, 0, features);
        Recorder {
            reader: OperatorsReader::new(reader),
            reachable: true,
            lowered: Vec::new(),
            offsets: Vec::new(),
            hooks: Vec::new(),
        }
    }

    fn log(&mut self, name: impl Into<String>) -> LowerResult {
        self.lowered.push(name.into());
        Ok(())
    }

    /// Logs `name` and ends the straight line.
    fn log_jump(&mut self, name: &str) -> LowerResult {
        self.reachable = false;
        self.log(name)
    }
}

/// The name wasmparser gives an operator: its variant, without immediates.
fn name_of(op: &Operator<'_>) -> String {
    let debug = format!("{op:?}");
    debug
        .split(|c: char| !c.is_ascii_alphanumeric())
        .next()
        .unwrap_or_default()
        .to_string()
}

/// `S` or `U`.
fn sign(signed: bool) -> &'static str {
    if signed { "S" } else { "U" }
}

impl LowerControl for Recorder<'_> {
    fn unreachable(&mut self) -> LowerResult {
        self.log_jump("Unreachable")
    }
    fn block(&mut self, _: BlockType) -> LowerResult {
        self.log("Block")
    }
    fn loop_(&mut self, _: BlockType) -> LowerResult {
        self.log("Loop")
    }
    fn if_(&mut self, _: BlockType) -> LowerResult {
        self.log("If")
    }
    fn else_(&mut self) -> LowerResult {
        self.reachable = true;
        self.log("Else")
    }
    fn end(&mut self) -> LowerResult {
        self.reachable = true;
        self.log("End")
    }
    fn br(&mut self, _: u32) -> LowerResult {
        self.log_jump("Br")
    }
    fn br_if(&mut self, _: u32) -> LowerResult {
        self.log("BrIf")
    }
    fn br_table(&mut self, _: &BrTable<'_>) -> LowerResult {
        self.log_jump("BrTable")
    }
    fn return_(&mut self) -> LowerResult {
        self.log_jump("Return")
    }
    fn drop_(&mut self) -> LowerResult {
        self.log("Drop")
    }
    fn select(&mut self) -> LowerResult {
        self.log("Select")
    }
    fn br_on_null(&mut self, _: u32) -> LowerResult {
        self.log("BrOnNull")
    }
    fn br_on_non_null(&mut self, _: u32) -> LowerResult {
        self.log("BrOnNonNull")
    }
}

impl LowerCall for Recorder<'_> {
    fn call(&mut self, _: FuncIndex) -> LowerResult {
        self.log("Call")
    }
    fn call_indirect(&mut self, _: TypeIndex, _: TableIndex) -> LowerResult {
        self.log("CallIndirect")
    }
    fn call_ref(&mut self, _: TypeIndex) -> LowerResult {
        self.log("CallRef")
    }
    fn return_call(&mut self, _: FuncIndex) -> LowerResult {
        self.log_jump("ReturnCall")
    }
    fn return_call_indirect(&mut self, _: TypeIndex, _: TableIndex) -> LowerResult {
        self.log_jump("ReturnCallIndirect")
    }
    fn return_call_ref(&mut self, _: TypeIndex) -> LowerResult {
        self.log_jump("ReturnCallRef")
    }
}

impl LowerVariable for Recorder<'_> {
    fn local_get(&mut self, _: u32) -> LowerResult {
        self.log("LocalGet")
    }
    fn local_set(&mut self, _: u32) -> LowerResult {
        self.log("LocalSet")
    }
    fn local_tee(&mut self, _: u32) -> LowerResult {
        self.log("LocalTee")
    }
    fn global_get(&mut self, _: GlobalIndex) -> LowerResult {
        self.log("GlobalGet")
    }
    fn global_set(&mut self, _: GlobalIndex) -> LowerResult {
        self.log("GlobalSet")
    }
}

impl LowerMemory for Recorder<'_> {
    fn load(&mut self, load: Load, _: &MemArg) -> LowerResult {
        let narrow = if load.is_narrow() {
            format!("{}{}", load.width.bytes() * 8, sign(load.signed))
        } else {
            String::new()
        };
        self.log(format!("{:?}Load{narrow}", load.ty))
    }
    fn store(&mut self, store: Store, _: &MemArg) -> LowerResult {
        let narrow = if store.is_narrow() {
            (store.width.bytes() * 8).to_string()
        } else {
            String::new()
        };
        self.log(format!("{:?}Store{narrow}", store.ty))
    }
    fn memory_size(&mut self, _: MemoryIndex) -> LowerResult {
        self.log("MemorySize")
    }
    fn memory_grow(&mut self, _: MemoryIndex) -> LowerResult {
        self.log("MemoryGrow")
    }
    fn memory_fill(&mut self, _: MemoryIndex) -> LowerResult {
        self.log("MemoryFill")
    }
    fn memory_copy(&mut self, _: MemoryIndex, _: MemoryIndex) -> LowerResult {
        self.log("MemoryCopy")
    }
    fn memory_init(&mut self, _: MemoryIndex, _: DataIndex) -> LowerResult {
        self.log("MemoryInit")
    }
    fn data_drop(&mut self, _: DataIndex) -> LowerResult {
        self.log("DataDrop")
    }
}

impl LowerTable for Recorder<'_> {
    fn table_get(&mut self, _: TableIndex) -> LowerResult {
        self.log("TableGet")
    }
    fn table_set(&mut self, _: TableIndex) -> LowerResult {
        self.log("TableSet")
    }
    fn table_size(&mut self, _: TableIndex) -> LowerResult {
        self.log("TableSize")
    }
    fn table_grow(&mut self, _: TableIndex) -> LowerResult {
        self.log("TableGrow")
    }
    fn table_fill(&mut self, _: TableIndex) -> LowerResult {
        self.log("TableFill")
    }
    fn table_copy(&mut self, _: TableIndex, _: TableIndex) -> LowerResult {
        self.log("TableCopy")
    }
    fn table_init(&mut self, _: TableIndex, _: ElemIndex) -> LowerResult {
        self.log("TableInit")
    }
    fn elem_drop(&mut self, _: ElemIndex) -> LowerResult {
        self.log("ElemDrop")
    }
    fn ref_null(&mut self, _: HeapType) -> LowerResult {
        self.log("RefNull")
    }
    fn ref_is_null(&mut self) -> LowerResult {
        self.log("RefIsNull")
    }
    fn ref_func(&mut self, _: FuncIndex) -> LowerResult {
        self.log("RefFunc")
    }
    fn ref_as_non_null(&mut self) -> LowerResult {
        self.log("RefAsNonNull")
    }
}

impl LowerNumeric for Recorder<'_> {
    fn constant(&mut self, value: Const) -> LowerResult {
        let ty = match value {
            Const::I32(_) => "I32",
            Const::I64(_) => "I64",
            Const::F32(_) => "F32",
            Const::F64(_) => "F64",
        };
        self.log(format!("{ty}Const"))
    }
    fn int_unary(&mut self, op: IntUnOp, ty: IntTy) -> LowerResult {
        self.log(format!("{ty:?}{op:?}"))
    }
    fn int_binary(&mut self, op: IntBinOp, ty: IntTy) -> LowerResult {
        self.log(format!("{ty:?}{op:?}"))
    }
    fn int_eqz(&mut self, ty: IntTy) -> LowerResult {
        self.log(format!("{ty:?}Eqz"))
    }
    fn int_compare(&mut self, op: IntCmpOp, ty: IntTy) -> LowerResult {
        self.log(format!("{ty:?}{op:?}"))
    }
    fn float_unary(&mut self, op: FloatUnOp, ty: FloatTy) -> LowerResult {
        self.log(format!("{ty:?}{op:?}"))
    }
    fn float_binary(&mut self, op: FloatBinOp, ty: FloatTy) -> LowerResult {
        self.log(format!("{ty:?}{op:?}"))
    }
    fn float_compare(&mut self, op: FloatCmpOp, ty: FloatTy) -> LowerResult {
        self.log(format!("{ty:?}{op:?}"))
    }
}

impl LowerConvert for Recorder<'_> {
    fn convert(&mut self, op: Convert) -> LowerResult {
        let name = match op {
            Convert::Wrap => "I32WrapI64".to_string(),
            Convert::ExtendI32 { signed } => format!("I64ExtendI32{}", sign(signed)),
            Convert::Trunc {
                from,
                to,
                signed,
                saturating,
            } => {
                let sat = if saturating { "Sat" } else { "" };
                format!("{to:?}Trunc{sat}{from:?}{}", sign(signed))
            }
            Convert::FromInt { from, to, signed } => {
                format!("{to:?}Convert{from:?}{}", sign(signed))
            }
            Convert::Demote => "F32DemoteF64".to_string(),
            Convert::Promote => "F64PromoteF32".to_string(),
            Convert::Reinterpret { to } => {
                let from = match to {
                    NumTy::I32 => "F32",
                    NumTy::I64 => "F64",
                    NumTy::F32 => "I32",
                    NumTy::F64 => "I64",
                };
                format!("{to:?}Reinterpret{from}")
            }
        };
        self.log(name)
    }
}

/// SIMD lowerings log their family arguments.
impl LowerSimd for Recorder<'_> {
    fn v128_const(&mut self, _: u128) -> LowerResult {
        self.log("V128Const")
    }
    fn v128_load(&mut self, load: V128Load, _: &MemArg) -> LowerResult {
        self.log(format!("v128_load {load:?}"))
    }
    fn v128_store(&mut self, _: &MemArg) -> LowerResult {
        self.log("V128Store")
    }
    fn v128_load_lane(&mut self, width: Width, _: &MemArg, lane: u8) -> LowerResult {
        self.log(format!("V128Load{}Lane {lane}", width.bytes() * 8))
    }
    fn v128_store_lane(&mut self, width: Width, _: &MemArg, lane: u8) -> LowerResult {
        self.log(format!("V128Store{}Lane {lane}", width.bytes() * 8))
    }
    fn shuffle(&mut self, lanes: &[u8; 16]) -> LowerResult {
        self.log(format!("I8x16Shuffle {lanes:?}"))
    }
    fn splat(&mut self, lanes: Lanes) -> LowerResult {
        self.log(format!("{lanes:?}Splat"))
    }
    fn extract_lane(&mut self, lanes: Lanes, lane: u8, signed: bool) -> LowerResult {
        self.log(format!("{lanes:?}ExtractLane{} {lane}", sign(signed)))
    }
    fn replace_lane(&mut self, lanes: Lanes, lane: u8) -> LowerResult {
        self.log(format!("{lanes:?}ReplaceLane {lane}"))
    }
    fn simd_unary(&mut self, op: SimdUnOp) -> LowerResult {
        self.log(format!("unary {op:?}"))
    }
    fn simd_binary(&mut self, op: SimdBinOp) -> LowerResult {
        self.log(format!("binary {op:?}"))
    }
    fn simd_ternary(&mut self, op: SimdTernOp) -> LowerResult {
        self.log(format!("ternary {op:?}"))
    }
    fn simd_shift(&mut self, op: SimdShiftOp, lanes: IntLanes) -> LowerResult {
        self.log(format!("{lanes:?}{op:?}"))
    }
    fn simd_int_compare(&mut self, op: IntCmpOp, lanes: IntLanes) -> LowerResult {
        self.log(format!("{lanes:?}{op:?}"))
    }
    fn simd_float_compare(&mut self, op: FloatCmpOp, lanes: FloatLanes) -> LowerResult {
        self.log(format!("{lanes:?}{op:?}"))
    }
    fn simd_test(&mut self, op: SimdTestOp) -> LowerResult {
        self.log(format!("test {op:?}"))
    }
}

impl<'a> LowerFunction<'a> for Recorder<'a> {
    const BACKEND: &'static str = "recorder";

    fn operators(&mut self) -> &mut OperatorsReader<'a> {
        &mut self.reader
    }
    fn reachable(&self) -> bool {
        self.reachable
    }
    fn at_operator(&mut self, offset: u64) {
        self.offsets.push(offset);
    }
    fn before_operator(&mut self, op: &Operator<'a>) {
        self.hooks.push(format!("before {}", name_of(op)));
    }
    fn after_operator(&mut self, op: &Operator<'a>) -> LowerResult {
        self.hooks.push(format!("after {}", name_of(op)));
        Ok(())
    }
}

/// The operator bytes of the first function body in `wat` (which need not
/// type-check: the recorder has no operand stack).
fn body_of(wat: &str) -> Vec<u8> {
    let wasm = wat::parse_str(wat).expect("wat parses");
    for payload in tandem_environ::wasmparser::Parser::new(0).parse_all(&wasm) {
        if let tandem_environ::wasmparser::Payload::CodeSectionEntry(body) =
            payload.expect("parses")
        {
            let reader = body.get_binary_reader_for_operators().expect("operators");
            let start = reader.original_position() as usize;
            let len = reader.bytes_remaining();
            return wasm[start..start + len].to_vec();
        }
    }
    panic!("no function body in {wat}")
}

/// The names of every operator in `body`.
fn names_in(body: &[u8], features: WasmFeatures) -> Vec<String> {
    let mut reader = OperatorsReader::new(BinaryReader::new_features(body, 0, features));
    let mut names = Vec::new();
    while !reader.eof() {
        names.push(name_of(&reader.read().expect("operator")));
    }
    names
}

/// Every Wasm 2.0 operator but SIMD, and those of tail calls and typed
/// function references, each once, in an order the recorder
/// keeps reachable (each jump is followed by the `end` it leaves through).
const EVERY_OPERATOR: &str = r#"
(module
  (type (func))
  (memory 1) (table 1 funcref) (global (mut i32) (i32.const 0))
  (data "x") (elem func 0)
  (func (local i32)
    nop
    (block unreachable)
    (block br 0)
    (loop)
    (if (then) (else))
    br_if 0
    (block (br_table 0 0))
    (block return)
    drop select (select (result i32))
    (block br_on_null 0) (block (result funcref) br_on_non_null 0)
    call 0 (call_indirect (type 0)) (call_ref 0)
    (block return_call 0) (block (return_call_indirect (type 0))) (block (return_call_ref 0))
    local.get 0 local.set 0 local.tee 0 global.get 0 global.set 0
    i32.load i64.load f32.load f64.load
    i32.load8_s i32.load8_u i32.load16_s i32.load16_u
    i64.load8_s i64.load8_u i64.load16_s i64.load16_u i64.load32_s i64.load32_u
    i32.store i64.store f32.store f64.store
    i32.store8 i32.store16 i64.store8 i64.store16 i64.store32
    memory.size memory.grow memory.fill memory.copy (memory.init 0) (data.drop 0)
    table.get 0 table.set 0 table.size 0 table.grow 0 table.fill 0
    (table.copy 0 0) (table.init 0 0) (elem.drop 0)
    ref.null func ref.is_null ref.func 0 ref.as_non_null
    i32.const 1 i64.const 1 f32.const 1 f64.const 1
    i32.eqz i32.eq i32.ne i32.lt_s i32.lt_u i32.gt_s i32.gt_u
    i32.le_s i32.le_u i32.ge_s i32.ge_u
    i64.eqz i64.eq i64.ne i64.lt_s i64.lt_u i64.gt_s i64.gt_u
    i64.le_s i64.le_u i64.ge_s i64.ge_u
    f32.eq f32.ne f32.lt f32.gt f32.le f32.ge
    f64.eq f64.ne f64.lt f64.gt f64.le f64.ge
    i32.clz i32.ctz i32.popcnt
    i32.add i32.sub i32.mul i32.div_s i32.div_u i32.rem_s i32.rem_u
    i32.and i32.or i32.xor i32.shl i32.shr_s i32.shr_u i32.rotl i32.rotr
    i64.clz i64.ctz i64.popcnt
    i64.add i64.sub i64.mul i64.div_s i64.div_u i64.rem_s i64.rem_u
    i64.and i64.or i64.xor i64.shl i64.shr_s i64.shr_u i64.rotl i64.rotr
    f32.abs f32.neg f32.ceil f32.floor f32.trunc f32.nearest f32.sqrt
    f32.add f32.sub f32.mul f32.div f32.min f32.max f32.copysign
    f64.abs f64.neg f64.ceil f64.floor f64.trunc f64.nearest f64.sqrt
    f64.add f64.sub f64.mul f64.div f64.min f64.max f64.copysign
    i32.wrap_i64
    i32.trunc_f32_s i32.trunc_f32_u i32.trunc_f64_s i32.trunc_f64_u
    i64.extend_i32_s i64.extend_i32_u
    i64.trunc_f32_s i64.trunc_f32_u i64.trunc_f64_s i64.trunc_f64_u
    f32.convert_i32_s f32.convert_i32_u f32.convert_i64_s f32.convert_i64_u
    f32.demote_f64
    f64.convert_i32_s f64.convert_i32_u f64.convert_i64_s f64.convert_i64_u
    f64.promote_f32
    i32.reinterpret_f32 i64.reinterpret_f64 f32.reinterpret_i32 f64.reinterpret_i64
    i32.extend8_s i32.extend16_s i64.extend8_s i64.extend16_s i64.extend32_s
    i32.trunc_sat_f32_s i32.trunc_sat_f32_u i32.trunc_sat_f64_s i32.trunc_sat_f64_u
    i64.trunc_sat_f32_s i64.trunc_sat_f32_u i64.trunc_sat_f64_s i64.trunc_sat_f64_u))
"#;

#[test]
fn every_row_lowers_the_family_member_its_operator_names() {
    let body = body_of(EVERY_OPERATOR);
    let features = tandem_environ::default_features();
    let mut r = Recorder::new(&body, features);
    lower_body(&mut r).expect("every operator has a row");
    let names = names_in(&body, features);
    // `nop` needs no lowering, and `TypedSelect` is lowered as `select`.
    let expected: Vec<String> = names
        .iter()
        .filter(|n| *n != "Nop")
        .map(|n| n.replace("TypedSelect", "Select"))
        .collect();
    assert_eq!(r.lowered, expected);
    assert!(r.lowered.len() > 180, "{} operators", r.lowered.len());
}

/// Every fixed-width and relaxed SIMD operator, each once.
const EVERY_SIMD_OPERATOR: &str = r#"
(module
  (memory 1)
  (func
    v128.load v128.load8x8_s v128.load8x8_u v128.load16x4_s v128.load16x4_u v128.load32x2_s
    v128.load32x2_u v128.load8_splat v128.load16_splat v128.load32_splat v128.load64_splat
    v128.load32_zero v128.load64_zero v128.store v128.load8_lane 0 v128.load16_lane 0
    v128.load32_lane 0 v128.load64_lane 0 v128.store8_lane 0 v128.store16_lane 0
    v128.store32_lane 0 v128.store64_lane 0 v128.const i64x2 0 0
    i8x16.shuffle 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 i8x16.swizzle i8x16.relaxed_swizzle
    i8x16.splat i16x8.splat i32x4.splat i64x2.splat f32x4.splat f64x2.splat
    i8x16.extract_lane_s 0 i8x16.extract_lane_u 0 i16x8.extract_lane_s 0 i16x8.extract_lane_u 0
    i32x4.extract_lane 0 i64x2.extract_lane 0 f32x4.extract_lane 0 f64x2.extract_lane 0
    i8x16.replace_lane 0 i16x8.replace_lane 0 i32x4.replace_lane 0 i64x2.replace_lane 0
    f32x4.replace_lane 0 f64x2.replace_lane 0 i8x16.eq i8x16.ne i8x16.lt_s i8x16.lt_u i8x16.gt_s
    i8x16.gt_u i8x16.le_s i8x16.le_u i8x16.ge_s i8x16.ge_u i16x8.eq i16x8.ne i16x8.lt_s
    i16x8.lt_u i16x8.gt_s i16x8.gt_u i16x8.le_s i16x8.le_u i16x8.ge_s i16x8.ge_u i32x4.eq
    i32x4.ne i32x4.lt_s i32x4.lt_u i32x4.gt_s i32x4.gt_u i32x4.le_s i32x4.le_u i32x4.ge_s
    i32x4.ge_u i64x2.eq i64x2.ne i64x2.lt_s i64x2.gt_s i64x2.le_s i64x2.ge_s f32x4.eq f32x4.ne
    f32x4.lt f32x4.gt f32x4.le f32x4.ge f64x2.eq f64x2.ne f64x2.lt f64x2.gt f64x2.le f64x2.ge
    v128.not v128.and v128.andnot v128.or v128.xor v128.bitselect i8x16.relaxed_laneselect
    i16x8.relaxed_laneselect i32x4.relaxed_laneselect i64x2.relaxed_laneselect v128.any_true
    i8x16.all_true i16x8.all_true i32x4.all_true i64x2.all_true i8x16.bitmask i16x8.bitmask
    i32x4.bitmask i64x2.bitmask i8x16.shl i8x16.shr_s i8x16.shr_u i16x8.shl i16x8.shr_s
    i16x8.shr_u i32x4.shl i32x4.shr_s i32x4.shr_u i64x2.shl i64x2.shr_s i64x2.shr_u i8x16.abs
    i16x8.abs i32x4.abs i64x2.abs i8x16.neg i16x8.neg i32x4.neg i64x2.neg i8x16.popcnt
    i16x8.extend_low_i8x16_s i16x8.extend_high_i8x16_s i16x8.extend_low_i8x16_u
    i16x8.extend_high_i8x16_u i32x4.extend_low_i16x8_s i32x4.extend_high_i16x8_s
    i32x4.extend_low_i16x8_u i32x4.extend_high_i16x8_u i64x2.extend_low_i32x4_s
    i64x2.extend_high_i32x4_s i64x2.extend_low_i32x4_u i64x2.extend_high_i32x4_u
    i16x8.extadd_pairwise_i8x16_s i16x8.extadd_pairwise_i8x16_u i32x4.extadd_pairwise_i16x8_s
    i32x4.extadd_pairwise_i16x8_u i8x16.add i16x8.add i32x4.add i64x2.add i8x16.sub i16x8.sub
    i32x4.sub i64x2.sub i16x8.mul i32x4.mul i64x2.mul i8x16.add_sat_s i8x16.add_sat_u
    i16x8.add_sat_s i16x8.add_sat_u i8x16.sub_sat_s i8x16.sub_sat_u i16x8.sub_sat_s
    i16x8.sub_sat_u i8x16.min_s i8x16.min_u i8x16.max_s i8x16.max_u i16x8.min_s i16x8.min_u
    i16x8.max_s i16x8.max_u i32x4.min_s i32x4.min_u i32x4.max_s i32x4.max_u i8x16.avgr_u
    i16x8.avgr_u i16x8.q15mulr_sat_s i16x8.relaxed_q15mulr_s i8x16.narrow_i16x8_s
    i8x16.narrow_i16x8_u i16x8.narrow_i32x4_s i16x8.narrow_i32x4_u i16x8.extmul_low_i8x16_s
    i16x8.extmul_high_i8x16_s i16x8.extmul_low_i8x16_u i16x8.extmul_high_i8x16_u
    i32x4.extmul_low_i16x8_s i32x4.extmul_high_i16x8_s i32x4.extmul_low_i16x8_u
    i32x4.extmul_high_i16x8_u i64x2.extmul_low_i32x4_s i64x2.extmul_high_i32x4_s
    i64x2.extmul_low_i32x4_u i64x2.extmul_high_i32x4_u i32x4.dot_i16x8_s
    i16x8.relaxed_dot_i8x16_i7x16_s i32x4.relaxed_dot_i8x16_i7x16_add_s f32x4.abs f32x4.neg
    f32x4.sqrt f32x4.ceil f32x4.floor f32x4.trunc f32x4.nearest f64x2.abs f64x2.neg f64x2.sqrt
    f64x2.ceil f64x2.floor f64x2.trunc f64x2.nearest f32x4.add f32x4.sub f32x4.mul f32x4.div
    f32x4.min f32x4.relaxed_min f32x4.max f32x4.relaxed_max f32x4.pmin f32x4.pmax f64x2.add
    f64x2.sub f64x2.mul f64x2.div f64x2.min f64x2.relaxed_min f64x2.max f64x2.relaxed_max
    f64x2.pmin f64x2.pmax f32x4.relaxed_madd f32x4.relaxed_nmadd f64x2.relaxed_madd
    f64x2.relaxed_nmadd i32x4.trunc_sat_f32x4_s i32x4.relaxed_trunc_f32x4_s
    i32x4.trunc_sat_f32x4_u i32x4.relaxed_trunc_f32x4_u i32x4.trunc_sat_f64x2_s_zero
    i32x4.relaxed_trunc_f64x2_s_zero i32x4.trunc_sat_f64x2_u_zero
    i32x4.relaxed_trunc_f64x2_u_zero f32x4.convert_i32x4_s f32x4.convert_i32x4_u
    f64x2.convert_low_i32x4_s f64x2.convert_low_i32x4_u f32x4.demote_f64x2_zero
    f64x2.promote_low_f32x4))
"#;

#[test]
fn every_simd_operator_has_a_row() {
    let body = body_of(EVERY_SIMD_OPERATOR);
    let features = tandem_environ::default_features();
    let mut r = Recorder::new(&body, features);
    lower_body(&mut r).expect("every SIMD operator has a row");
    let names = names_in(&body, features);
    assert_eq!(r.lowered.len(), names.len());
    assert_eq!(names.len(), 257, "256 operators and `end`");
}

/// What the recorder logs for the one operator in `wat_op`.
fn lowered_as(wat_op: &str) -> String {
    let body = body_of(&format!("(module (memory 1) (func {wat_op}))"));
    let mut r = Recorder::new(&body, tandem_environ::default_features());
    lower_body(&mut r).expect(wat_op);
    r.lowered.swap_remove(0)
}

#[test]
fn relaxed_simd_operators_lower_as_their_deterministic_choice() {
    // The choices `lower::simd` documents.
    for (relaxed, strict) in [
        ("i8x16.relaxed_swizzle", "i8x16.swizzle"),
        ("i32x4.relaxed_trunc_f32x4_s", "i32x4.trunc_sat_f32x4_s"),
        ("i32x4.relaxed_trunc_f32x4_u", "i32x4.trunc_sat_f32x4_u"),
        (
            "i32x4.relaxed_trunc_f64x2_s_zero",
            "i32x4.trunc_sat_f64x2_s_zero",
        ),
        (
            "i32x4.relaxed_trunc_f64x2_u_zero",
            "i32x4.trunc_sat_f64x2_u_zero",
        ),
        ("i8x16.relaxed_laneselect", "v128.bitselect"),
        ("i16x8.relaxed_laneselect", "v128.bitselect"),
        ("i32x4.relaxed_laneselect", "v128.bitselect"),
        ("i64x2.relaxed_laneselect", "v128.bitselect"),
        ("f32x4.relaxed_min", "f32x4.min"),
        ("f32x4.relaxed_max", "f32x4.max"),
        ("f64x2.relaxed_min", "f64x2.min"),
        ("f64x2.relaxed_max", "f64x2.max"),
        ("i16x8.relaxed_q15mulr_s", "i16x8.q15mulr_sat_s"),
    ] {
        assert_eq!(lowered_as(relaxed), lowered_as(strict), "{relaxed}");
    }
    assert_eq!(lowered_as("f32x4.relaxed_madd"), "ternary Madd(F32x4)");
    assert_eq!(lowered_as("f64x2.relaxed_nmadd"), "ternary Nmadd(F64x2)");
    assert_eq!(
        lowered_as("i16x8.relaxed_dot_i8x16_i7x16_s"),
        "binary DotI8x16I7x16S"
    );
    assert_eq!(
        lowered_as("i32x4.relaxed_dot_i8x16_i7x16_add_s"),
        "ternary DotI8x16I7x16AddS"
    );
}

#[test]
fn hooks_surround_each_reachable_operator() {
    let body = body_of("(module (func i32.const 1 drop))");
    let mut r = Recorder::new(&body, tandem_environ::default_features());
    lower_body(&mut r).unwrap();
    assert_eq!(
        r.hooks,
        [
            "before I32Const",
            "after I32Const",
            "before Drop",
            "after Drop",
            "before End",
            "after End"
        ]
    );
    assert_eq!(r.offsets, [0, 2, 3]);
}

#[test]
fn unreachable_code_is_skipped_but_its_nesting_kept() {
    let body = body_of(
        "(module (func
            (block
              br 0
              i32.const 1
              (block (loop (if (then i32.add) (else i32.sub))))
              drop)
            (if (then unreachable i32.const 2) (else i32.const 3))
            nop))",
    );
    let mut r = Recorder::new(&body, tandem_environ::default_features());
    lower_body(&mut r).unwrap();
    assert_eq!(
        r.lowered,
        [
            "Block",
            "Br",
            // The skipped constructs' `end`s are not lowered; the block's is.
            "End",
            "If",
            "Unreachable",
            // `else` after an unreachable `then` makes code reachable again.
            "Else",
            "I32Const",
            "End",
            "End",
        ]
    );
    // Every operator is announced, skipped or not.
    assert_eq!(
        r.offsets.len(),
        names_in(&body, tandem_environ::default_features()).len()
    );
    // Skipped operators get no hooks.
    assert!(!r.hooks.iter().any(|h| h.contains("I32Add")));
}

#[test]
fn an_operator_without_a_row_is_unsupported_at_its_offset() {
    let body = body_of("(module (memory 1 1 shared) (func i32.const 0 atomic.fence drop))");
    let mut r = Recorder::new(&body, WasmFeatures::all());
    match lower_body(&mut r).unwrap_err() {
        CompileError::Unsupported {
            backend,
            what,
            offset,
        } => {
            assert_eq!(backend, "recorder");
            assert!(what.contains("AtomicFence"), "{what}");
            assert_eq!(offset, 2);
        }
        other => panic!("{other}"),
    }
}
