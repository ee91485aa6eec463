//! [`WastError`]: why one directive of a script did not do what it asserts.

/// The failure of one directive. The runner records it, with the directive's
/// line, in the script's report and goes on with the next directive.
#[derive(Debug, thiserror::Error)]
pub enum WastError {
    /// The script, or a module inside it, is not valid text.
    #[error("parse error: {0}")]
    Parse(String),
    /// The store refused something that should have worked.
    #[error("{}", short_store_error(.0))]
    Store(#[from] tandem_store::Error),
    /// A directive names a module no earlier directive defined.
    #[error("unknown module `{0}`")]
    UnknownModule(String),
    /// A directive needs a current module but none was instantiated yet.
    #[error("no current module (none instantiated yet, or the last one failed)")]
    NoModule,
    /// The module has no export of that name and kind.
    #[error("no exported {kind} named `{name}`")]
    UnknownExport {
        /// `function` or `global`.
        kind: &'static str,
        /// The export name.
        name: String,
    },
    /// The directive ran but the outcome differs from the assertion.
    #[error("{0}")]
    Mismatch(String),
    /// The directive or value is outside what this runner supports.
    #[error("unsupported: {0}")]
    Unsupported(String),
}

/// Result with [`WastError`].
pub type Result<T, E = WastError> = std::result::Result<T, E>;

/// A store error on one line: a trap as its message alone (its backtrace
/// goes), anything else as the first line of its text.
pub fn short_store_error(err: &tandem_store::Error) -> String {
    match err.downcast_ref::<tandem_store::Trap>() {
        Some(trap) => format!("trap: {}", trap.message()),
        None => err.to_string().lines().next().unwrap_or("").to_string(),
    }
}
