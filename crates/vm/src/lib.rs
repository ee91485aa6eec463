//! What compiled Wasm touches at run time: VMContext and the structures it
//! points to, linear memories and tables, executable code, libcalls, traps,
//! and stack walking. Shared by both backends; knows nothing of the
//! embedding API (`tandem-store` builds on it).
//!
//! # Map
//!
//! | module | what it holds |
//! |---|---|
//! | `vmcontext` | `#[repr(C)]` structs laid out by `VMOffsets` (re-exported: [`VMFuncRef`], [`ValRaw`], ...) |
//! | `mmap` | reserved and protected address-space regions |
//! | [`code_memory`] | linking a `CompiledModule` into executable memory; the global code registry |
//! | [`traphandlers`] | entering Wasm with a landing pad, signal handlers, raising traps |
//! | [`backtrace`] | walking Wasm frames through the frame-pointer chain |
//! | [`memory`] | linear memories with guard regions |
//! | [`memory_image`] | copy-on-write images of a module's initial memory contents |
//! | [`pool`] | the pooling allocator: preallocated slots for instances, memories and tables |
//! | [`table`] | tables of func-refs and externrefs |
//! | [`instance`] | an instance's VMContext and its initialisation |
//! | [`libcalls`] | the runtime functions compiled code calls |
//! | [`limits`] | the hook consulted before memories and tables grow |
//! | [`interrupt`] | the hook consulted when fuel runs out or an epoch deadline passes |
//!
//! Only what `tandem-store` builds on is public: the modules without a link
//! above are private, and `unreachable_pub` keeps their items crate-local.
//!
//! `rustix` provides mmap/mprotect; `libc` provides what rustix lacks
//! (`sigaction`, `sigaltstack`, `ucontext_t`).

#![deny(unsafe_op_in_unsafe_fn)]
#![warn(unreachable_pub)]

pub mod backtrace;
pub mod code_memory;
mod error;
pub mod instance;
pub mod interrupt;
pub mod libcalls;
pub mod limits;
pub mod memory;
pub mod memory_image;
mod mmap;
pub mod pool;
pub mod table;
pub mod traphandlers;
mod vmcontext;

pub use error::VmError;
pub use vmcontext::{
    ArrayCallFn, VMFuncRef, VMGlobalDefinition, VMHostFuncContext, VMMemoryDefinition,
    VMStoreContext, VMTableDefinition, ValRaw,
};
