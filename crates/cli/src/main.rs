//! `tandem`: the command line of the Tandem WebAssembly runtime.
//!
//! ```text
//! tandem run FILE [--invoke NAME] [ARG...] [--backend cranelift|baseline]
//!     [--fuel UNITS] [--timeout SECONDS]
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
//! `error: ...` on stderr; a trap adds its Wasm backtrace below that line.
//!
//! | module | what it holds |
//! |---|---|
//! | [`error`] | [`CliError`]: every way a command can fail |
//! | [`load`] | reading a `.wasm` or `.wat` file and compiling it |
//! | [`run`] | `tandem run`: argument parsing, the call, result printing |
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
    /// Instantiate a module and call one of its functions.
    Run {
        /// A `.wasm` binary or `.wat` text module, or a module precompiled
        /// by `tandem compile -o` (trusted: its machine code runs as is).
        file: PathBuf,
        /// The exported function to call (default: `_start`, else the only
        /// exported function).
        #[arg(long, value_name = "NAME")]
        invoke: Option<String>,
        /// Arguments, parsed by the parameter types (integers in decimal or
        /// 0x-hex, floats in decimal).
        #[arg(allow_negative_numbers = true, value_name = "ARG")]
        args: Vec<String>,
        /// The compiler to use (default: cranelift; a precompiled module
        /// keeps the one it was compiled with).
        #[arg(long)]
        backend: Option<BackendKind>,
        /// Trap with "out of fuel" once the module has run this many
        /// operators (one unit each; see `Config::consume_fuel`).
        #[arg(long, value_name = "UNITS")]
        fuel: Option<u64>,
        /// Trap with "interrupt" once the module has run this long
        /// (wall-clock seconds, fractions allowed), start function included.
        #[arg(long, value_name = "SECONDS")]
        timeout: Option<f64>,
    },
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
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err(e)) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
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

fn dispatch(cli: Cli) -> Result<(), CliError> {
    match cli.command {
        Command::Run {
            file,
            invoke,
            args,
            backend,
            fuel,
            timeout,
        } => {
            let limits = run::Limits::new(fuel, timeout)?;
            run::run(&file, invoke.as_deref(), &args, backend, limits)
        }
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
            Ok(())
        }
        Command::Wast { files, backend } => script::run_wast(&files, backend),
    }
}
