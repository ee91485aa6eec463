//! The one operator table both backends compile through.
//!
//! Every Wasm operator Tandem compiles has one row in `table` (`lower/table.rs`)
//! mapping it to a method of its *family* with the family's small enum
//! (`int_binary(IntBinOp::Add, IntTy::I32)`, `load(Load::narrow(..), memarg)`,
//! `convert(Convert::Demote)`...). The families are grouped into one trait
//! per kind of operator, which each backend implements; [`lower_body`] runs
//! the operator loop and skips unreachable code for both.
//!
//! | module | what it holds |
//! |---|---|
//! | `families` | the family enums: [`IntBinOp`], [`FloatUnOp`], [`Load`], [`Convert`], ... |
//! | `simd` | the `v128` family enums ([`Lanes`], [`SimdBinOp`], [`V128Load`], ...) and the deterministic lowering chosen for each relaxed-SIMD operator |
//! | `traits` | [`LowerControl`], [`LowerCall`], [`LowerVariable`], [`LowerMemory`], [`LowerTable`], [`LowerNumeric`], [`LowerConvert`], [`LowerSimd`], and [`LowerFunction`] that ties them to the driver |
//! | `table` | the rows: `Operator` -> family method |
//! | `table_simd` | the `v128` rows, relaxed operators onto their chosen lowering |
//! | `driver` | [`lower_body`], [`lower_operator`]: the loop, hooks and dead-code skipping |
//!
//! # Adding an operator
//!
//! - In a family that exists (`i64.add128` as an [`IntBinOp`], a SIMD lane
//!   operator as a SIMD family's variant): add the variant and the row.
//!   Every backend's exhaustive `match` over that family then fails to
//!   compile until it lowers the variant.
//! - In a new family (`return_call`, `v128` arithmetic): add the method to
//!   the trait of its kind (or a new trait to [`LowerFunction`]'s
//!   supertraits), with the family's enum here, and its rows. Every backend
//!   then fails to compile with "not all trait items implemented" until it
//!   provides the lowering.
//!
//! An operator without a row is a [`CompileError::Unsupported`] naming it
//! and its byte offset; the validator has accepted it, so this is the only
//! way an enabled-but-uncompiled feature can surface.
//!
//! [`CompileError::Unsupported`]: crate::CompileError::Unsupported

mod driver;
mod families;
mod simd;
mod table;
mod table_simd;
#[cfg(test)]
mod tests;
mod traits;

pub use driver::{lower_body, lower_operator};
pub use families::{
    Const, Convert, FloatBinOp, FloatCmpOp, FloatTy, FloatUnOp, IntBinOp, IntCmpOp, IntTy, IntUnOp,
    Load, NumTy, Store, Width,
};
pub use simd::{
    FloatLanes, IntLanes, Lanes, SimdBinOp, SimdFloatBinOp, SimdIntBinOp, SimdShiftOp, SimdTernOp,
    SimdTestOp, SimdUnOp, V128Load,
};
pub use traits::{
    LowerCall, LowerControl, LowerConvert, LowerFunction, LowerMemory, LowerNumeric, LowerResult,
    LowerSimd, LowerTable, LowerVariable,
};
