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
    /// The file could not be written.
    #[error("cannot write `{}`: {source}", path.display())]
    Write {
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
    /// Wasm trapped; the text is the trap's line and its backtrace.
    #[error("{0}")]
    Trap(String),
    /// A host function (a WASI call) failed and ended the call; the text is
    /// its message and the Wasm backtrace. Not a trap of the program's
    /// making, so it ends the process as other errors do (`wasmtime run`
    /// tells them apart the same way).
    #[error("{0}")]
    HostError(String),
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
        let frames = err
            .downcast_ref::<tandem_store::WasmBacktrace>()
            .map_or(&[][..], |bt| bt.frames());
        if let Some(trap) = err.downcast_ref::<tandem_store::Trap>() {
            return CliError::Trap(format_trap(&trap.to_string(), frames));
        }
        if !frames.is_empty() {
            // A host function's own error, raised through Wasm frames.
            let message = err.root_cause().to_string();
            return CliError::HostError(format_trap(&message, frames));
        }
        let text = err.to_string();
        CliError::Store {
            context: context.into(),
            message: text.lines().next().unwrap_or("").to_string(),
        }
    }
}

/// Most backtrace lines printed; the rest are counted, not shown.
const MAX_FRAME_LINES: usize = 40;

/// The failure's line (`wasm trap: ...`, or a host function's message),
/// then its backtrace (`frames`, innermost first) with runs of identical
/// frames (deep recursion) folded into one line each.
pub fn format_trap(line: &str, frames: &[tandem_store::FrameInfo]) -> String {
    let mut out = line.lines().next().unwrap_or("wasm trap").to_string();
    let frames: Vec<String> = frames.iter().map(|f| f.to_string()).collect();
    if frames.is_empty() {
        return out;
    }
    out.push_str("\nwasm backtrace:");
    let (mut index, mut lines) = (0, 0);
    while index < frames.len() {
        let run = frames[index..]
            .iter()
            .take_while(|f| **f == frames[index])
            .count();
        if lines == MAX_FRAME_LINES {
            out.push_str(&format!("\n  ... {} more frame(s)", frames.len() - index));
            break;
        }
        out.push_str(&format!("\n  {index:>3}: {}", frames[index]));
        if run > 1 {
            out.push_str(&format!(" (and {} more identical frame(s))", run - 1));
        }
        index += run;
        lines += 1;
    }
    out
}
