//! What `tandem run` gives a WASI program, from `wasmtime run`'s options:
//! its arguments (`argv[0]` is the file's base name unless `--argv0`), only
//! the environment variables named by `--env`, the directories of `--dir`
//! and the sockets of `--tcplisten`, and this process's stdio.

use crate::error::CliError;
use std::path::Path;
use tandem_wasi::{WasiCtx, WasiCtxBuilder};

/// The command-line pieces a [`WasiCtx`] is built from.
pub struct WasiOptions<'a> {
    /// The module file (its base name is `argv[0]` by default).
    pub file: &'a Path,
    /// `--argv0`.
    pub argv0: Option<&'a str>,
    /// Everything after the file.
    pub args: &'a [String],
    /// `--env NAME=VALUE` or `--env NAME`.
    pub envs: &'a [String],
    /// `--dir HOST[::GUEST]`.
    pub dirs: &'a [String],
    /// `--tcplisten ADDRESS`.
    pub listens: &'a [String],
}

impl WasiOptions<'_> {
    /// The context, with stdio inherited.
    pub fn build(&self) -> Result<WasiCtx, CliError> {
        let mut builder = WasiCtxBuilder::new();
        builder.inherit_stdio();
        let argv0 = match self.argv0 {
            Some(name) => name.to_string(),
            None => self.file.file_name().map_or_else(
                || self.file.display().to_string(),
                |name| name.to_string_lossy().into_owned(),
            ),
        };
        builder.arg(argv0).args(self.args);
        for var in self.envs {
            if let Some((name, value)) = env_var(var)? {
                builder.env(name, value);
            }
        }
        // Sockets first, from descriptor 3, then the directories, as
        // `wasmtime run` numbers them.
        for (i, address) in self.listens.iter().enumerate() {
            let listener = std::net::TcpListener::bind(address).map_err(|e| {
                CliError::Usage(format!("--tcplisten {address}: cannot listen there: {e}"))
            })?;
            builder.preopened_socket(3 + i as u32, listener);
        }
        for dir in self.dirs {
            let (host, guest) = dir_mapping(dir);
            builder
                .preopened_dir(host, guest)
                .map_err(|e| CliError::Usage(format!("--dir {dir}: {e}")))?;
        }
        builder
            .build()
            .map_err(|e| CliError::store("cannot set up WASI", e))
    }
}

/// `HOST::GUEST`, or a bare `HOST` that keeps its name.
fn dir_mapping(arg: &str) -> (&str, &str) {
    arg.split_once("::").unwrap_or((arg, arg))
}

/// `NAME=VALUE`, or `NAME` with this process's value (`None` when it has
/// none: the program sees it unset, as under `wasmtime run`).
fn env_var(arg: &str) -> Result<Option<(String, String)>, CliError> {
    let (name, value) = match arg.split_once('=') {
        Some((name, value)) => (name, Some(value.to_string())),
        None => (arg, None),
    };
    if name.is_empty() {
        return Err(CliError::Usage(format!(
            "--env {arg}: expected NAME=VALUE or NAME"
        )));
    }
    let value = match value {
        Some(value) => value,
        None => match std::env::var_os(name) {
            None => return Ok(None),
            Some(value) => value.into_string().map_err(|_| {
                CliError::Usage(format!("--env {name}: the host's value is not UTF-8"))
            })?,
        },
    };
    Ok(Some((name.to_string(), value)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dir_mappings() {
        assert_eq!(dir_mapping("data"), ("data", "data"));
        assert_eq!(dir_mapping("/tmp/x::/sandbox"), ("/tmp/x", "/sandbox"));
        assert_eq!(dir_mapping("out::."), ("out", "."));
    }

    #[test]
    fn env_vars_set_or_copied() {
        assert_eq!(
            env_var("A=b=c").ok().flatten(),
            Some(("A".into(), "b=c".into()))
        );
        assert_eq!(
            env_var("EMPTY=").ok().flatten(),
            Some(("EMPTY".into(), "".into()))
        );
        let path = std::env::var("PATH").expect("PATH is set");
        assert_eq!(env_var("PATH").ok().flatten(), Some(("PATH".into(), path)));
        assert_eq!(env_var("TANDEM_SURELY_UNSET_VARIABLE").ok().flatten(), None);
        assert!(env_var("=x").is_err());
    }
}
