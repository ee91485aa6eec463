//! Tandem's embedding API: compile modules, instantiate them in stores, call
//! their functions, and give them host functions. It follows wasmtime's API,
//! so a wasmtime embedder can port by renaming the crate.
//!
//! # Map
//!
//! | type | what it is |
//! |---|---|
//! | [`Config`], [`Strategy`], [`Engine`] | settings, and what the stores of one configuration share (`config.rs`, `engine.rs`; the engine-wide type registry that gives equal types one [`SharedTypeIndex`]: `type_registry.rs`) |
//! | [`Module`], [`Cache`] | compiled code, cheap to clone, `Send + Sync`; a compilation cache engines can share |
//! | [`Precompiled`], [`PrecompiledError`] | the ahead-of-time path: [`Module::serialize`], [`Module::deserialize_file`], [`Engine::precompile_module`] (`serialize.rs` describes the artifact) |
//! | [`InstanceAllocationStrategy`], [`PoolingAllocationConfig`] | on-demand or pooled instances, memories and tables (`pooling.rs`) |
//! | [`Store`], [`StoreContext`], [`StoreContextMut`], [`AsContext`], [`AsContextMut`] | owns instances, host functions, func-refs and externrefs; anything that gives access to one |
//! | [`Instance`], [`Linker`], [`InstancePre`] | instantiation, by position or by name |
//! | [`Func`], [`TypedFunc`], [`Caller`] | calling Wasm and being called from it |
//! | [`Memory`], [`Table`], [`Global`], [`Extern`] | other exports |
//! | [`Val`], [`Ref`], [`ValRaw`] | values crossing the boundary |
//! | [`ExternRef`], [`Rooted`], [`OwnedRooted`], [`RootScope`] | host values Wasm can hold, and how the host keeps them alive (`externref.rs`, `rooting.rs`) |
//! | [`FuncType`], [`ExternType`], [`ImportType`], [`ExportType`] | types (the others come from `tandem_environ`; concrete reference types are named by engine-wide id, [`HeapType::Registered`]) |
//! | [`Error`], [`Result`], [`Trap`], [`WasmBacktrace`], [`LinkError`] | what can go wrong (`error.rs` lists what an `Error` downcasts to) |
//! | [`ResourceLimiter`], [`StoreLimits`] | caps on memory, tables and instances |
//! | [`UpdateDeadline`] | what an epoch-deadline callback tells Wasm (fuel and epochs: `interrupt.rs`) |
//!
//! # Example
//!
//! ```
//! use tandem_store::{Caller, Engine, Func, Instance, Module, Result, Store, Trap};
//!
//! fn main() -> Result<()> {
//!     let engine = Engine::default();
//!     let module = Module::new(&engine, r#"(module
//!         (import "host" "log" (func $log (param i32)))
//!         (func (export "div") (param i32 i32) (result i32)
//!           local.get 0 call $log
//!           local.get 0 local.get 1 i32.div_s))"#)?;
//!     let mut store = Store::new(&engine, Vec::new());
//!     let log = Func::wrap(&mut store, |mut caller: Caller<'_, Vec<i32>>, x: i32| {
//!         caller.data_mut().push(x);
//!     });
//!     let instance = Instance::new(&mut store, &module, &[log.into()])?;
//!     let div = instance.get_typed_func::<(i32, i32), i32>(&mut store, "div")?;
//!     assert_eq!(div.call(&mut store, (7, 2))?, 3);
//!     let err = div.call(&mut store, (1, 0)).unwrap_err();
//!     assert_eq!(err.downcast::<Trap>()?, Trap::IntegerDivisionByZero);
//!     assert_eq!(*store.data(), [7, 1]);
//!     Ok(())
//! }
//! ```
//!
//! # Features
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `cranelift` | yes | the optimizing backend ([`BackendKind::Cranelift`], [`Strategy::Cranelift`]) |
//! | `baseline` | yes | the single-pass baseline backend ([`BackendKind::Baseline`], [`Strategy::Winch`]) |
//!
//! # Dependencies
//!
//! `anyhow` is the error type, as in wasmtime (the internal crates keep
//! their `thiserror` enums, which stay downcastable inside it); `thiserror`
//! defines [`LinkError`]; `bumpalo` backs the per-store func-ref arena
//! (addresses never move); `rayon` compiles functions in parallel; `wat`
//! lets every API that takes module bytes also take text.

#![deny(unsafe_op_in_unsafe_fn)]

mod cache;
mod config;
mod context;
mod engine;
pub mod error;
mod externals;
mod externref;
mod func;
mod func_refs;
mod instance;
mod interrupt;
mod limits;
mod linker;
mod module;
mod pooling;
mod rooting;
mod serialize;
mod store;
mod trap;
mod type_registry;
mod types;
mod values;

pub use anyhow;
pub use cache::{Cache, CacheConfig};
pub use config::{BackendKind, Config, OptLevel, Strategy};
pub use context::{AsContext, AsContextMut, StoreContext, StoreContextMut};
pub use engine::Engine;
pub use error::{
    CompileError, Context, Error, LinkError, Result, VmError, bail, ensure, format_err,
};
pub use externals::{Extern, Global, Memory, MemoryAccessError, Table};
pub use externref::{ExternRef, GcHeapOutOfMemory};
pub use func::{Caller, Func, IntoFunc, TypedFunc, WasmParams, WasmResults, WasmTy};
pub use instance::{Export, Instance};
pub use interrupt::UpdateDeadline;
pub use limits::{
    DEFAULT_INSTANCE_LIMIT, DEFAULT_MEMORY_LIMIT, DEFAULT_TABLE_LIMIT, ResourceLimiter,
    StoreLimits, StoreLimitsBuilder,
};
pub use linker::{InstancePre, Linker};
pub use module::Module;
pub use pooling::{InstanceAllocationStrategy, PoolingAllocationConfig};
pub use rooting::{GcRef, OwnedRooted, RootScope, Rooted, RootedGcRef};
pub use serialize::{Precompiled, PrecompiledError};
pub use store::Store;
/// The same type as [`Trap`], under the name the internal crates use.
pub use tandem_environ::TrapCode;
pub use tandem_environ::WasmFeatures;
pub use tandem_environ::{
    GlobalType, HeapType, MemoryType, Mutability, RefType, SharedTypeIndex, TableType, ValType,
};
pub use tandem_vm::ValRaw;
pub use trap::{FrameInfo, Trap, WasmBacktrace};
pub use types::{ExportType, ExternType, FuncType, ImportType};
pub use values::{Ref, V128, Val};

#[cfg(test)]
mod tests {
    use super::*;

    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>() {}

    #[test]
    fn thread_safety_contract() {
        send_sync::<Engine>();
        send_sync::<Module>();
        send_sync::<Linker<()>>();
        send_sync::<Func>();
        send_sync::<Val>();
        send_sync::<Error>();
        send::<Store<()>>();
    }
}
