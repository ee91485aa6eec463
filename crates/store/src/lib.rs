//! Tandem's embedding API: compile modules, instantiate them in stores, call
//! their functions, and give them host functions.
//!
//! # Map
//!
//! | type | what it is |
//! |---|---|
//! | [`Config`], [`Engine`] | settings and the compiled-code cache shared by stores |
//! | [`Module`] | compiled code, cheap to clone, `Send + Sync` |
//! | [`Store`] | owns instances, host functions, func-refs and externrefs |
//! | [`Instance`], [`Linker`] | instantiation, by position or by name |
//! | [`Func`], [`TypedFunc`], [`Caller`] | calling Wasm and being called from it |
//! | [`Memory`], [`Table`], [`Global`] | other exports |
//! | [`Val`], [`ExternRef`] | values crossing the boundary |
//! | [`Trap`], [`Error`] | what can go wrong |
//! | [`ResourceLimiter`], [`StoreLimits`] | caps on memory, tables and instances |
//! | [`UpdateDeadline`] | what an epoch-deadline callback tells Wasm (fuel and epochs: `interrupt.rs`) |
//!
//! # Example
//!
//! ```
//! use tandem_store::{Engine, Module, Store, Instance};
//! let engine = Engine::default();
//! let module = Module::new(&engine, r#"(module (func (export "add") (param i32 i32) (result i32)
//!     local.get 0 local.get 1 i32.add))"#).unwrap();
//! let mut store = Store::new(&engine, ());
//! let instance = Instance::new(&mut store, &module, &[]).unwrap();
//! let add = instance.get_typed_func::<(i32, i32), i32>(&mut store, "add").unwrap();
//! assert_eq!(add.call(&mut store, (2, 3)).unwrap(), 5);
//! ```
//!
//! # Features
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `cranelift` | yes | the optimizing backend |
//!
//! `bumpalo` backs the per-store func-ref arena (addresses never move);
//! `wat` lets every API that takes module bytes also take text.

#![deny(unsafe_op_in_unsafe_fn)]

mod config;
mod context;
mod error;
mod externals;
mod externref;
mod func;
mod func_refs;
mod instance;
mod interrupt;
mod limits;
mod linker;
mod module;
mod store;
mod trap;
mod values;

pub use config::{BackendKind, Config, Engine};
pub use context::{AsContext, AsContextMut};
pub use error::Error;
pub use externals::{Extern, Global, Memory, Table};
pub use externref::ExternRef;
pub use func::{Caller, Func, IntoFunc, TypedFunc, WasmParams, WasmResults, WasmTy};
pub use instance::Instance;
pub use interrupt::UpdateDeadline;
pub use limits::{
    DEFAULT_INSTANCE_LIMIT, DEFAULT_MEMORY_LIMIT, DEFAULT_TABLE_LIMIT, ResourceLimiter,
    StoreLimits, StoreLimitsBuilder,
};
pub use linker::{InstancePre, Linker};
pub use module::{ExternType, Module};
pub use store::Store;
pub use tandem_environ::{FuncType, GlobalType, MemoryType, RefType, TableType, TrapCode, ValType};
pub use trap::{FrameInfo, Trap};
pub use values::Val;

/// Result with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

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
        send::<Store<()>>();
    }
}
