//! [`Error`]: everything that can fail in the embedding API.

use crate::Trap;

/// An embedding-API failure.
///
/// ```
/// use tandem_store::{Engine, Error, Linker, Module, Store};
/// let engine = Engine::default();
/// let module = Module::new(&engine, r#"(module (import "env" "missing" (func)))"#).unwrap();
/// let mut store = Store::new(&engine, ());
/// let err = Linker::<()>::new(&engine).instantiate(&mut store, &module).unwrap_err();
/// assert!(matches!(err, Error::Link(_)));
/// assert!(matches!(Module::new(&engine, "(module"), Err(Error::Wat(_))));
/// ```
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The module is malformed, invalid, or uses something unsupported.
    #[error(transparent)]
    Compile(#[from] tandem_codegen_api::CompileError),
    /// The module text could not be parsed.
    #[error("{0}")]
    Wat(String),
    /// Imports do not match what the module needs (`assert_unlinkable`).
    #[error("{0}")]
    Link(String),
    /// Wasm trapped (including during instantiation's start function).
    #[error(transparent)]
    Trap(#[from] Box<Trap>),
    /// A resource could not be allocated.
    #[error(transparent)]
    Vm(#[from] tandem_vm::VmError),
    /// Wrong use of the API: type mismatch, wrong store, unknown export.
    #[error("{0}")]
    Usage(String),
    /// An error returned by a host function.
    #[error("{0}")]
    Host(Box<dyn std::error::Error + Send + Sync>),
}

impl Error {
    /// The trap, if this error is one.
    pub fn as_trap(&self) -> Option<&Trap> {
        match self {
            Error::Trap(t) => Some(t),
            _ => None,
        }
    }
}
