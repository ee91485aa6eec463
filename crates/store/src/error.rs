//! The embedding API's errors: wasmtime's shape (an `anyhow`-compatible
//! [`Error`], `Result<T, E = Error>`, a [`Trap`](crate::Trap) code found by
//! downcasting) over the internal crates' `thiserror` enums, which stay
//! intact inside it so every message and byte offset survives.
//!
//! What an [`Error`] can be downcast to:
//!
//! | type | when |
//! |---|---|
//! | [`Trap`](crate::Trap) | Wasm trapped (also in a start function or instantiation) |
//! | [`WasmBacktrace`](crate::WasmBacktrace) | Wasm frames were live when it failed (attached as context) |
//! | [`CompileError`] | the module is malformed, invalid or uses something unsupported; names the byte offset |
//! | [`wat::Error`] | the module text does not parse |
//! | [`LinkError`] | the imports do not match the module's |
//! | [`VmError`] | a memory or table could not be allocated, or a resource limit refused it |
//! | the host's own error | a host function or store callback returned it |
//!
//! Misuse of the API (a wrong value type, an unknown export, an object of
//! another store) is a plain message, as in wasmtime.

pub use anyhow::{Context, Error, Ok, bail, ensure, format_err};
pub use tandem_codegen_api::CompileError;
pub use tandem_vm::VmError;

/// Result with [`Error`].
///
/// ```
/// fn parse(text: &str) -> tandem_store::Result<i32> {
///     Ok(text.parse::<i32>()?) // any std error converts with `?`
/// }
/// assert_eq!(parse("7").unwrap(), 7);
/// assert!(parse("x").unwrap_err().downcast_ref::<std::num::ParseIntError>().is_some());
/// ```
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Imports that do not fit a module (the spec's "unlinkable").
///
/// ```
/// use tandem_store::{Engine, Linker, LinkError, Module, Store};
/// let engine = Engine::default();
/// let module = Module::new(&engine, r#"(module (import "env" "missing" (func)))"#).unwrap();
/// let mut store = Store::new(&engine, ());
/// let err = Linker::<()>::new(&engine).instantiate(&mut store, &module).unwrap_err();
/// assert!(matches!(err.downcast_ref::<LinkError>(), Some(LinkError::UnknownImport { .. })));
/// assert_eq!(err.to_string(), "unknown import: `env::missing` has not been defined");
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LinkError {
    /// No definition of that name.
    #[error("unknown import: `{module}::{name}` has not been defined")]
    UnknownImport {
        /// The import's module name.
        module: String,
        /// The import's field name.
        name: String,
    },
    /// A definition of the wrong kind or type.
    #[error("incompatible import type for `{module}::{name}`: expected {expected}, found {found}")]
    IncompatibleImport {
        /// The import's module name.
        module: String,
        /// The import's field name.
        name: String,
        /// The type the module declares.
        expected: String,
        /// The type of what was given.
        found: String,
    },
    /// [`Instance::new`](crate::Instance::new) got a list of another length.
    #[error("expected {expected} imports, got {got}")]
    ImportCount {
        /// The module's import count.
        expected: usize,
        /// The number given.
        got: usize,
    },
}

/// A host's error on its way through Wasm frames: `anyhow::Error` is not a
/// `std::error::Error`, which the unwinder carries, so it rides in this.
#[derive(Debug)]
pub(crate) struct HostUnwind(pub(crate) Error);

impl std::fmt::Display for HostUnwind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(&self.0, f)
    }
}

impl std::error::Error for HostUnwind {}

impl HostUnwind {
    /// The error the unwinder carried, back as an [`Error`].
    pub(crate) fn recover(boxed: Box<dyn std::error::Error + Send + Sync>) -> Error {
        match boxed.downcast::<HostUnwind>() {
            std::result::Result::Ok(host) => host.0,
            std::result::Result::Err(other) => Error::from_boxed(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_errors_survive_the_unwinder() {
        #[derive(Debug, thiserror::Error)]
        #[error("mine")]
        struct Mine;
        let boxed: Box<dyn std::error::Error + Send + Sync> =
            Box::new(HostUnwind(Error::new(Mine).context("while testing")));
        let back = HostUnwind::recover(boxed);
        assert!(back.downcast_ref::<Mine>().is_some());
        assert_eq!(format!("{back:#}"), "while testing: mine");
        let foreign = HostUnwind::recover(Box::new(Mine));
        assert_eq!(foreign.to_string(), "mine");
    }
}
