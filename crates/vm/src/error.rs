//! [`VmError`]: failures of the runtime layer that are not Wasm traps.

/// A runtime-layer failure (resources, not Wasm semantics).
#[derive(Debug, thiserror::Error)]
pub enum VmError {
    /// The operating system refused a memory mapping or protection change.
    #[error("memory mapping of {size} bytes failed: {source}")]
    Mmap {
        /// Bytes requested.
        size: usize,
        /// The OS error.
        source: std::io::Error,
    },
    /// A resource limit was exceeded.
    #[error("{0}")]
    Limit(String),
    /// A precompiled module's code does not fit its own description (see
    /// [`CodeLayout`](crate::code_memory::CodeLayout)).
    #[error("malformed precompiled code: {0}")]
    Artifact(String),
    /// Compiled code could not be linked.
    #[error("linking compiled code failed: {0}")]
    Link(#[from] crate::code_memory::LinkError),
    /// A signal-handling resource (alternate signal stack) could not be set up.
    #[error("signal handling setup failed: {0}")]
    Signals(std::io::Error),
}
