//! WASI preview 1 (`wasi_snapshot_preview1`) for Tandem: the 46 host
//! functions a program built for `wasm32-wasip1` imports, on a sandbox in
//! which nothing outside the directories and sockets the embedder hands in
//! can be reached.
//!
//! # Map
//!
//! | item | what it is |
//! |---|---|
//! | [`WasiCtxBuilder`], [`WasiCtx`] | what the program sees: args, env, stdio, directories, sockets, clocks, randomness |
//! | [`add_to_linker`] | defines every `wasi_snapshot_preview1` function on a linker |
//! | [`I32Exit`] | how `proc_exit` ends the Wasm call: the error, with the exit status |
//! | [`MemoryInputPipe`], [`MemoryOutputPipe`] | stdio from and to memory |
//! | [`host_file`] | stdio from and to a host file |
//! | [`preview1`] | the same names the way `wasmtime_wasi::preview1` spells them |
//!
//! Modules: `ctx.rs` (the context and its builder), `functions.rs` (the
//! list of functions and how each is defined), `fds.rs` (descriptor
//! numbering), `arrays.rs` (the calls that take arrays), `pipe.rs`
//! (in-memory stdio), `sched.rs` (`poll_oneoff`'s waiting).
//!
//! # Example
//!
//! ```
//! use tandem_store::{Engine, Linker, Module, Store};
//! use tandem_wasi::{I32Exit, MemoryOutputPipe, WasiCtx, WasiCtxBuilder};
//!
//! struct Host { wasi: WasiCtx }
//!
//! let engine = Engine::default();
//! let module = Module::new(&engine, r#"(module
//!     (import "wasi_snapshot_preview1" "fd_write"
//!         (func $write (param i32 i32 i32 i32) (result i32)))
//!     (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
//!     (memory (export "memory") 1)
//!     (data (i32.const 16) "hi\n")
//!     (func (export "_start")
//!       ;; one iovec at 0: 3 bytes at 16; the count written goes to 8
//!       (i32.store (i32.const 0) (i32.const 16))
//!       (i32.store (i32.const 4) (i32.const 3))
//!       (drop (call $write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
//!       (call $exit (i32.const 7))))"#).unwrap();
//!
//! let stdout = MemoryOutputPipe::new(1024);
//! let wasi = WasiCtxBuilder::new().arg("hello").stdout(stdout.clone()).build().unwrap();
//! let mut linker = Linker::new(&engine);
//! tandem_wasi::add_to_linker(&mut linker, |host: &mut Host| &mut host.wasi).unwrap();
//! let mut store = Store::new(&engine, Host { wasi });
//! let instance = linker.instantiate(&mut store, &module).unwrap();
//! let start = instance.get_typed_func::<(), ()>(&mut store, "_start").unwrap();
//! let err = start.call(&mut store, ()).unwrap_err();
//! assert_eq!(err.downcast_ref::<I32Exit>(), Some(&I32Exit(7)));
//! assert_eq!(stdout.contents(), b"hi\n");
//! ```
//!
//! # Why wasi-common
//!
//! Every call is wasi-common's (46.0.3, the implementation wasmtime shipped
//! for years and still uses for wasi-threads), built without its `wasmtime`
//! feature, with `sync`: its wiggle-generated functions take the guest
//! memory as a plain `&mut [u8]`, check every pointer and length against it
//! before touching it, and map every failure to the witx's errno. Its file
//! system is `cap-std`'s, so `..`, absolute paths and symlinks cannot leave
//! a preopened directory, by construction. Writing the 46 functions again
//! would repeat that audited work; this crate adds only what connects them
//! to Tandem — borrowing guest memory and the context at once
//! ([`Memory::data_and_store_mut`](tandem_store::Memory::data_and_store_mut)),
//! running the (never pending) futures in place, [`I32Exit`] — and a few
//! decisions of its own:
//!
//! - A bad pointer or argument value is the program's errno (`EFAULT` out
//!   of bounds, `EINVAL` misaligned or not a value of its type, `EILSEQ` a
//!   path that is not UTF-8), where the WASI docs, wasi-common and wasmtime
//!   trap: whatever a program passes, it gets an errno.
//! - An array argument is checked whole before any of it is read, and at
//!   most 1024 iovecs of one call are used (a short read or write), so no
//!   claimed length makes the host allocate (`arrays.rs`).
//! - Where `wasmtime run` behaves differently from wasi-common and programs
//!   can tell, it behaves as `wasmtime run`: descriptor numbers are reused
//!   as wasmtime reuses them, `proc_raise` is `ENOTSUP` rather than a trap,
//!   and `poll_oneoff` reports in-memory pipes ready instead of failing.
//!
//! Dependencies: `wasi-common` and `wiggle` (above), `cap-std` (directories,
//! files and sockets the builder opens), `async-trait` (the in-memory pipes
//! and the scheduler implement wasi-common's traits), `rand_core` (the
//! random-source trait the builder takes), `rustix` (`poll(2)`).

#![deny(unsafe_op_in_unsafe_fn)]

mod arrays;
mod ctx;
mod fds;
mod functions;
mod pipe;
mod sched;

pub use ctx::{WasiCtx, WasiCtxBuilder, host_file};
pub use functions::{PREVIEW1_FUNCTIONS, add_to_linker};
pub use pipe::{MemoryInputPipe, MemoryOutputPipe};
pub use wasi_common::{TryRng, WasiFile, WasiMonotonicClock, WasiSystemClock};

/// The names of `wasmtime_wasi::preview1`, for code written against it.
pub mod preview1 {
    pub use crate::add_to_linker as add_to_linker_sync;
    pub use crate::ctx::WasiCtx as WasiP1Ctx;
}

/// The module name every preview-1 import uses.
pub const MODULE: &str = "wasi_snapshot_preview1";

/// How a program ended a Wasm call with `proc_exit`: the error the call
/// returns, carrying the exit status; find it with
/// `err.downcast_ref::<I32Exit>()`. It is not a trap, and the store stays
/// usable after it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct I32Exit(pub i32);

impl std::fmt::Display for I32Exit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "exited with i32 exit status {}", self.0)
    }
}

impl std::error::Error for I32Exit {}

/// Whether `module` imports anything from `wasi_snapshot_preview1`.
pub fn imports_wasi(module: &tandem_store::Module) -> bool {
    module.imports().any(|import| import.module() == MODULE)
}
