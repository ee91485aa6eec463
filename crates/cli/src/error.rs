//! [`CliError`]: every way a `tandem` command can fail. Each displays as one
//! line, except a trap, which carries its Wasm backtrace.

use std::path::PathBuf;

/// A failed command.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The file could not be read.
    #[error("cannot read `{}`: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The text module does not parse.
    #[error("cannot parse `{}`: {message}", path.display())]
    Wat {
        /// The file.
        path: PathBuf,
        /// The parser's message with its line and column.
        message: String,
    },
    /// The engine refused the module, the instantiation or the call.
    #[error("{context}: {message}")]
    Store {
        /// What was being done.
        context: String,
        /// The store's message, on one line.
        message: String,
    },
    /// Wasm trapped; the text includes the backtrace.
    #[error("wasm trap: {0}")]
    Trap(String),
    /// The command line asks for something the module cannot give.
    #[error("{0}")]
    Usage(String),
    /// Some scripts failed (their failures are already printed).
    #[error("{failed} of {total} script(s) failed")]
    ScriptsFailed {
        /// Scripts with at least one failed directive.
        failed: usize,
        /// Scripts run.
        total: usize,
    },
}

impl CliError {
    /// Wraps a store error: traps keep their backtrace, anything else is cut
    /// to its first line and prefixed with `context`.
    pub fn store(context: impl Into<String>, err: tandem_store::Error) -> CliError {
        if err.as_trap().is_some() {
            return CliError::Trap(err.to_string());
        }
        let text = err.to_string();
        CliError::Store {
            context: context.into(),
            message: text.lines().next().unwrap_or("").to_string(),
        }
    }
}
