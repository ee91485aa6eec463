//! [`CompileError`]: why a backend could not compile a module.

use tandem_environ::EnvironError;

/// Why compilation failed.
#[derive(Debug, thiserror::Error)]
pub enum CompileError {
    /// The module is malformed or invalid.
    #[error(transparent)]
    Environ(#[from] EnvironError),
    /// The backend does not support something the module uses.
    #[error("{backend} backend does not support {what} (at offset {offset:#x})")]
    Unsupported {
        /// Which backend.
        backend: &'static str,
        /// What it does not support.
        what: String,
        /// Byte offset in the module.
        offset: u64,
    },
    /// The code generator failed (an internal error, worth a bug report).
    #[error("{backend} code generation failed: {message}")]
    Codegen {
        /// Which backend.
        backend: &'static str,
        /// The generator's message.
        message: Box<str>,
    },
}

impl CompileError {
    /// `backend` does not support `what`, found at byte `offset` of the module.
    pub fn unsupported(backend: &'static str, what: impl Into<String>, offset: u64) -> Self {
        CompileError::Unsupported {
            backend,
            what: what.into(),
            offset,
        }
    }

    /// `backend`'s code generator failed with `message`.
    pub fn codegen(backend: &'static str, message: impl Into<String>) -> Self {
        CompileError::Codegen {
            backend,
            message: message.into().into_boxed_str(),
        }
    }
}

impl From<tandem_environ::wasmparser::BinaryReaderError> for CompileError {
    fn from(e: tandem_environ::wasmparser::BinaryReaderError) -> Self {
        CompileError::Environ(e.into())
    }
}
