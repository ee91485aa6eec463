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
}
