//! Reading a module from disk and compiling it: `.wasm` binaries go straight
//! to the engine, text is parsed first so errors name the line and column,
//! and precompiled modules (`tandem compile -o`) are loaded without
//! compiling.

use crate::error::CliError;
use std::path::Path;
use tandem_store::{BackendKind, Config, Engine, Module};

/// The binary module magic number.
const WASM_MAGIC: &[u8] = b"\0asm";

/// An engine compiling with `backend`, with more settings from `configure`.
pub fn engine_with(
    backend: BackendKind,
    configure: impl FnOnce(&mut Config),
) -> Result<Engine, CliError> {
    let mut config = Config::new();
    config.backend(backend);
    configure(&mut config);
    Engine::new(&config)
        .map_err(|e| CliError::store(format!("cannot use the {backend} backend"), e))
}

/// The file as a binary module: binaries (by magic number or a `.wasm` name)
/// as they are, anything else parsed as text.
pub fn read_module_bytes(path: &Path) -> Result<Vec<u8>, CliError> {
    let bytes = std::fs::read(path).map_err(|source| CliError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let is_binary =
        bytes.starts_with(WASM_MAGIC) || path.extension().is_some_and(|ext| ext == "wasm");
    if is_binary {
        return Ok(bytes);
    }
    wat::Parser::new()
        .parse_bytes(Some(path), &bytes)
        .map(|wasm| wasm.into_owned())
        .map_err(|e| CliError::Wat {
            path: path.to_path_buf(),
            message: wat_one_line(&e.to_string()),
        })
}

/// A module file as `tandem run` finds it.
pub enum Source {
    /// A binary module (text already parsed).
    Wasm(Vec<u8>),
    /// A module precompiled by `tandem compile -o`, loaded by
    /// [`precompiled`].
    Precompiled,
}

impl Source {
    /// Reads `path`: precompiled if its first bytes say so, else a binary or
    /// text module as [`read_module_bytes`] reads it.
    pub fn read(path: &Path) -> Result<Source, CliError> {
        // Any engine recognises the magic; `precompiled` checks the rest.
        let precompiled = Engine::default().detect_precompiled_file(path);
        match precompiled {
            Ok(Some(_)) => Ok(Source::Precompiled),
            // A file that cannot be read is reported by `read_module_bytes`.
            Ok(None) | Err(_) => read_module_bytes(path).map(Source::Wasm),
        }
    }
}

/// Loads the precompiled module at `path`; `backend`, if given, must be the
/// one it was compiled with.
pub fn precompiled(
    engine: &Engine,
    path: &Path,
    backend: Option<BackendKind>,
) -> Result<Module, CliError> {
    // SAFETY: running a precompiled file means trusting it, as the command
    // documents; the file is left alone while the process runs it.
    let module = unsafe { Module::deserialize_file(engine, path) }
        .map_err(|e| CliError::store(format!("cannot load `{}`", path.display()), e))?;
    match backend {
        Some(backend) if backend != module.backend() => Err(CliError::Usage(format!(
            "`{}` was precompiled with the {} backend, not {backend}",
            path.display(),
            module.backend()
        ))),
        _ => Ok(module),
    }
}

/// Validates and compiles the binary `bytes` read from `path`.
pub fn compile(engine: &Engine, path: &Path, bytes: &[u8]) -> Result<Module, CliError> {
    Module::from_binary(engine, bytes)
        .map_err(|e| CliError::store(format!("cannot compile `{}`", path.display()), e))
}

/// A `wat` error on one line: `LOCATION: MESSAGE` (its snippet dropped).
fn wat_one_line(text: &str) -> String {
    let mut lines = text.lines();
    let message = lines.next().unwrap_or("").trim();
    match lines.find_map(|l| l.trim_start().strip_prefix("--> ")) {
        Some(location) => format!("{message} (at {})", location.trim()),
        None => message.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wat_errors_keep_message_and_location() {
        let text = "unknown operator\n     --> a.wat:3:5\n      |\n    3 | foo\n      |     ^";
        assert_eq!(wat_one_line(text), "unknown operator (at a.wat:3:5)");
        assert_eq!(
            wat_one_line("bad byte at byte offset 4"),
            "bad byte at byte offset 4"
        );
    }
}
