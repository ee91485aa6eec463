//! What a WebAssembly module *is* to Tandem, independent of any code generator
//! or runtime: parsing and validation, the module's types and layout, and the
//! lists that compiled code and the runtime must agree on.
//!
//! # Map
//!
//! | module | what it holds |
//! |---|---|
//! | [`translate`](mod@translate) | [`translate()`]: bytes -> validated [`Translation`] |
//! | [`module`] | [`ModuleInfo`]: types, imports, exports, segments, names |
//! | [`types`] | index newtypes ([`FuncIndex`], [`DefinedFuncIndex`], ...) and value types |
//! | [`vmoffsets`] | [`VMOffsets`]: the byte layout of every structure compiled code reads; [`foreach_vm_struct!`]: the one list of their fields |
//! | [`builtin`] | [`foreach_libcall!`]: the one list of runtime library calls |
//! | [`trap`] | [`TrapCode`]: why Wasm stopped |
//! | [`tunables`] | [`Tunables`]: knobs shared by backends and runtime |
//! | [`fuel`] | what each operator costs in fuel, for both backends |
//!
//! # Example
//!
//! ```
//! let wasm = wat_to_bytes();
//! let translation = tandem_environ::translate(&wasm, tandem_environ::default_features()).unwrap();
//! assert_eq!(translation.module.num_defined_funcs(), 1);
//! # fn wat_to_bytes() -> Vec<u8> {
//! #     // (module (func (export "f") (result i32) i32.const 7))
//! #     vec![0,97,115,109,1,0,0,0,1,5,1,96,0,1,127,3,2,1,0,7,5,1,1,102,0,0,10,6,1,4,0,65,7,11]
//! # }
//! ```
//!
//! `wasmparser` is the field's parser and validator; Tandem does not write its own.

pub mod builtin;
pub mod error;
pub mod fuel;
pub mod module;
pub mod translate;
pub mod trap;
pub mod tunables;
pub mod types;
pub mod vmoffsets;

pub use builtin::{Libcall, LibcallSignature, LibcallType};
pub use error::{EnvironError, Result};
pub use module::{
    ConstExpr, ConstOp, DataSegment, ElemItems, ElemSegment, Export, ExportKind, Import,
    ImportKind, ModuleInfo, SegmentMode,
};
pub use translate::{FunctionBody, Translation, default_features, translate};
pub use trap::TrapCode;
pub use tunables::{BoundsChecks, Tunables};
pub use types::{
    DataIndex, DefinedFuncIndex, DefinedGlobalIndex, DefinedMemoryIndex, DefinedTableIndex,
    ElemIndex, EntityIndex, FuncIndex, FuncType, GlobalIndex, GlobalType, MemoryIndex, MemoryType,
    Mutability, RefType, TableIndex, TableType, TypeIndex, ValType,
};
pub use vmoffsets::{PTR, VALRAW_SIZE, VMCONTEXT_MAGIC, VMHOST_MAGIC, VMOffsets};

pub use wasmparser::{self, WasmFeatures};
