//! `v128` operators. The baseline does not lower SIMD yet: every `v128`
//! operator is a [`CompileError::Unsupported`] naming it, so a SIMD module
//! compiled with this backend fails cleanly (the Cranelift backend
//! compiles it).

use super::CodeGen;
use tandem_codegen_api::CompileError;
use tandem_codegen_api::lower::{
    FloatCmpOp, FloatLanes, IntCmpOp, IntLanes, Lanes, LowerResult, LowerSimd, SimdBinOp,
    SimdShiftOp, SimdTernOp, SimdTestOp, SimdUnOp, V128Load, Width,
};
use tandem_environ::wasmparser::MemArg;

impl CodeGen<'_, '_> {
    /// The error for SIMD operator `what`.
    fn no_simd(&self, what: impl std::fmt::Debug) -> CompileError {
        self.unsupported(format!("SIMD operator {what:?}"))
    }
}

impl LowerSimd for CodeGen<'_, '_> {
    fn v128_const(&mut self, _: u128) -> LowerResult {
        Err(self.no_simd("v128.const"))
    }
    fn v128_load(&mut self, load: V128Load, _: &MemArg) -> LowerResult {
        Err(self.no_simd(load))
    }
    fn v128_store(&mut self, _: &MemArg) -> LowerResult {
        Err(self.no_simd("v128.store"))
    }
    fn v128_load_lane(&mut self, width: Width, _: &MemArg, _: u8) -> LowerResult {
        Err(self.no_simd(("load_lane", width)))
    }
    fn v128_store_lane(&mut self, width: Width, _: &MemArg, _: u8) -> LowerResult {
        Err(self.no_simd(("store_lane", width)))
    }
    fn shuffle(&mut self, _: &[u8; 16]) -> LowerResult {
        Err(self.no_simd("i8x16.shuffle"))
    }
    fn splat(&mut self, lanes: Lanes) -> LowerResult {
        Err(self.no_simd(("splat", lanes)))
    }
    fn extract_lane(&mut self, lanes: Lanes, _: u8, _: bool) -> LowerResult {
        Err(self.no_simd(("extract_lane", lanes)))
    }
    fn replace_lane(&mut self, lanes: Lanes, _: u8) -> LowerResult {
        Err(self.no_simd(("replace_lane", lanes)))
    }
    fn simd_unary(&mut self, op: SimdUnOp) -> LowerResult {
        Err(self.no_simd(op))
    }
    fn simd_binary(&mut self, op: SimdBinOp) -> LowerResult {
        Err(self.no_simd(op))
    }
    fn simd_ternary(&mut self, op: SimdTernOp) -> LowerResult {
        Err(self.no_simd(op))
    }
    fn simd_shift(&mut self, op: SimdShiftOp, lanes: IntLanes) -> LowerResult {
        Err(self.no_simd((op, lanes)))
    }
    fn simd_int_compare(&mut self, op: IntCmpOp, lanes: IntLanes) -> LowerResult {
        Err(self.no_simd((op, lanes)))
    }
    fn simd_float_compare(&mut self, op: FloatCmpOp, lanes: FloatLanes) -> LowerResult {
        Err(self.no_simd((op, lanes)))
    }
    fn simd_test(&mut self, op: SimdTestOp) -> LowerResult {
        Err(self.no_simd(op))
    }
}
