//! The one error type of this crate: a module that is malformed or invalid.

/// Why a module could not be translated. Every variant names the byte offset
/// in the input where the problem was found.
#[derive(Debug, thiserror::Error)]
pub enum EnvironError {
    /// The bytes are not a well-formed or valid WebAssembly module.
    #[error("invalid module at offset {offset:#x}: {message}")]
    Invalid {
        /// Byte offset into the module where the problem is.
        offset: u64,
        /// What is wrong, as wasmparser words it.
        message: String,
    },
    /// The module is valid but uses something Tandem does not support yet.
    #[error("unsupported at offset {offset:#x}: {message}")]
    Unsupported {
        /// Byte offset into the module of the unsupported construct.
        offset: u64,
        /// What is unsupported.
        message: String,
    },
}

impl EnvironError {
    /// The byte offset the error refers to.
    pub fn offset(&self) -> u64 {
        match self {
            EnvironError::Invalid { offset, .. } | EnvironError::Unsupported { offset, .. } => {
                *offset
            }
        }
    }

    /// The message without the offset prefix (as the spec tests compare it).
    pub fn message(&self) -> &str {
        match self {
            EnvironError::Invalid { message, .. } | EnvironError::Unsupported { message, .. } => {
                message
            }
        }
    }

    pub(crate) fn unsupported(offset: u64, message: impl Into<String>) -> Self {
        EnvironError::Unsupported {
            offset,
            message: message.into(),
        }
    }
}

impl From<wasmparser::BinaryReaderError> for EnvironError {
    fn from(e: wasmparser::BinaryReaderError) -> Self {
        EnvironError::Invalid {
            offset: e.offset(),
            message: e.message().to_string(),
        }
    }
}

/// Result with [`EnvironError`].
pub type Result<T, E = EnvironError> = std::result::Result<T, E>;
