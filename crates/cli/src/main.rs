//! `tandem`: the command line of the Tandem WebAssembly runtime.
//!
//! ```text
//! tandem run [--invoke NAME] [--dir HOST[::GUEST]] [--env NAME[=VALUE]] [--argv0 NAME]
//!     [--tcplisten ADDRESS] [--backend cranelift|baseline] [--fuel UNITS]
//!     [--timeout SECONDS] FILE [ARG...]
//! tandem compile FILE [--backend cranelift|baseline] [--output|-o FILE.twasm]
//!     [--consume-fuel] [--epoch-interruption]
//! tandem wast FILE... [--backend cranelift|baseline]
//! ```
//!
//! `tandem compile FILE -o FILE.twasm` writes the module precompiled
//! (`Module::serialize`); `tandem run FILE.twasm` loads such a file instead
//! of compiling (it is recognised by its first bytes, whatever its name).
//! A precompiled file is machine code that runs as it is: run only those
//! you made or trust, as you would an executable.
//!
//! Every failure ends the process with status 1 after one line
//! `error: ...` on stderr; a trap adds its Wasm backtrace below that line
//! and ends it with status 134 (`wasmtime run`'s: 128 + SIGABRT). A WASI
//! program's `proc_exit` status is the process's.
//!
//! | module | what it holds |
//! |---|---|
//! | [`error`] | [`CliError`]: every way a command can fail |
//! | [`load`] | reading a `.wasm` or `.wat` file and compiling it |
//! | [`run`] | `tandem run`: options, WASI, the call, result printing, the exit status |
//! | [`script`] | `tandem wast`: running scripts and the summary |

mod error;
mod load;
mod run;
mod script;

use clap::{Parser, Subcommand};
use error::CliError;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;
use tandem_store::BackendKind;

/// The Tandem WebAssembly runtime.
#[derive(Parser, Debug)]
#[command(name = "tandem", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run a WebAssembly program or call a module's function.
    ///
    /// A module that imports WASI (`wasi_snapshot_preview1`) runs as a
    /// command-line program, as under `wasmtime run`: everything after FILE
    /// is its arguments (`argv[0]` is FILE's base name), it gets this process's
    /// stdio, only the `--env` variables and only the `--dir` directories, and
    /// its exit status is this command's. A trap prints the trap and its Wasm
    /// backtrace and exits with status 134, as `wasmtime run` does.
    ///
    /// A module that does not import WASI may also take the options after
    /// FILE (`tandem run fib.wat --invoke fib 20`).
    #[command(override_usage = "tandem run [OPTIONS] FILE [ARGS]...")]
    Run(run::RunOptions),
    /// Validate and compile a module; print its function count and the time
    /// taken, and with `-o` write it precompiled for `tandem run`.
    Compile {
        /// A `.wasm` binary or `.wat` text module.
        file: PathBuf,
        /// The compiler to use.
        #[arg(long, default_value = "cranelift")]
        backend: BackendKind,
        /// Write the precompiled module to this file (conventionally
        /// `.twasm`).
        #[arg(short, long, value_name = "OUTPUT")]
        output: Option<PathBuf>,
        /// Compile with fuel metering (needed to run it with a fuel limit).
        #[arg(long)]
        consume_fuel: bool,
        /// Compile with epoch checks (needed to run it with a timeout).
        #[arg(long)]
        epoch_interruption: bool,
    },
    /// Run `.wast` scripts and print a pass/fail summary.
    Wast {
        /// The scripts.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// The compiler to use.
        #[arg(long, default_value = "cranelift")]
        backend: BackendKind,
    },
}

fn main() -> ExitCode {
    std::panic::set_hook(Box::new(|info| {
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default();
        let location = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let message = message.lines().next().unwrap_or("");
        eprintln!("error: internal error (a bug in Tandem): {message}{location}");
    }));
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return clap_exit(e),
    };
    // The panic hook has already printed the one line; just fail.
    match std::panic::catch_unwind(|| dispatch(cli)) {
        Ok(Ok(code)) => code,
        Ok(Err(e)) => {
            eprintln!("error: {e}");
            match e {
                CliError::Trap(_) => ExitCode::from(TRAP_STATUS),
                _ => ExitCode::FAILURE,
            }
        }
        Err(_) => ExitCode::FAILURE,
    }
}

/// Help and version go to stdout with status 0; a usage error becomes the
/// usual one `error:` line and status 1.
fn clap_exit(e: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
        print!("{}", e.render());
        return ExitCode::SUCCESS;
    }
    if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
        eprintln!("error: no command given; expected run, compile or wast (try `tandem --help`)");
        return ExitCode::FAILURE;
    }
    // The first paragraph of clap's message, joined onto one line.
    let rendered = e.render().to_string();
    let paragraph: Vec<&str> = rendered
        .lines()
        .take_while(|line| !line.trim().is_empty())
        .map(str::trim)
        .collect();
    let text = paragraph.join(" ");
    let text = text.strip_prefix("error: ").unwrap_or(&text);
    eprintln!("error: {text} (try `tandem --help`)");
    ExitCode::FAILURE
}

/// The exit status of a trap: 128 + SIGABRT, as `wasmtime run` (and a C
/// program that aborts) ends.
pub(crate) const TRAP_STATUS: u8 = 134;

fn dispatch(cli: Cli) -> Result<ExitCode, CliError> {
    match cli.command {
        Command::Run(options) => run::run(options),
        Command::Compile {
            file,
            backend,
            output,
            consume_fuel,
            epoch_interruption,
        } => {
            let engine = load::engine_with(backend, |config| {
                config
                    .consume_fuel(consume_fuel)
                    .epoch_interruption(epoch_interruption);
            })?;
            let bytes = load::read_module_bytes(&file)?;
            let start = Instant::now();
            let module = load::compile(&engine, &file, &bytes)?;
            let elapsed = start.elapsed();
            println!(
                "compiled {} function(s) from `{}` with {backend} in {:.3} ms",
                module.num_defined_funcs(),
                file.display(),
                elapsed.as_secs_f64() * 1e3
            );
            if let Some(output) = output {
                let artifact = module.serialize().map_err(|e| {
                    CliError::store(format!("cannot precompile `{}`", file.display()), e)
                })?;
                std::fs::write(&output, &artifact).map_err(|source| CliError::Write {
                    path: output.clone(),
                    source,
                })?;
                println!(
                    "wrote the precompiled module to `{}` ({} bytes)",
                    output.display(),
                    artifact.len()
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Wast { files, backend } => {
            script::run_wast(&files, backend).map(|()| ExitCode::SUCCESS)
        }
    }
}
