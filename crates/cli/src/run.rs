//! `tandem run`, in `wasmtime run`'s conventions: options, then the file,
//! then everything else for the program. A module that imports WASI gets
//! it (see `run/wasi.rs`) and its exit status becomes the process's; any
//! module gets the `spectest` imports. The call is `--invoke NAME` (after
//! `_initialize`, if exported), else `_start`, else the only exported
//! function, optionally within a fuel budget or a wall-clock timeout.

mod values;
mod wasi;

use crate::error::CliError;
use crate::load;
use clap::Parser;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tandem_store::{BackendKind, Engine, ExternType, Linker, Store, Val, ValType};
use tandem_wasi::{I32Exit, WasiCtx, WasiCtxBuilder};

/// `tandem run`'s command line.
#[derive(clap::Args, Debug)]
pub struct RunOptions {
    /// Call this exported function (after `_initialize`, if exported) with
    /// the ARGS parsed by its parameter types, and print its results;
    /// default: `_start`, else the only exported function.
    #[arg(long, value_name = "NAME")]
    invoke: Option<String>,
    /// Give a WASI program the host directory HOST, named GUEST inside
    /// (default: HOST as written). Repeatable; preopened from descriptor 3.
    #[arg(long = "dir", value_name = "HOST[::GUEST]")]
    dirs: Vec<String>,
    /// Set a WASI program's environment variable, or with a bare NAME copy
    /// this process's value. Repeatable; nothing else is inherited.
    #[arg(long = "env", value_name = "NAME[=VALUE]")]
    envs: Vec<String>,
    /// The program's `argv[0]` (default: FILE's base name).
    #[arg(long, value_name = "NAME")]
    argv0: Option<String>,
    /// Listen on this TCP address and give the socket to a WASI program for
    /// `sock_accept`, from descriptor 3 (before the `--dir`s). Repeatable.
    #[arg(long = "tcplisten", value_name = "ADDRESS")]
    listens: Vec<String>,
    /// The compiler to use (default: cranelift; a module precompiled by
    /// `tandem compile -o` keeps the one it was compiled with, and naming
    /// another is an error).
    #[arg(long)]
    backend: Option<BackendKind>,
    /// Trap with "all fuel consumed" once the module has run this many
    /// operators (one unit each; see `Config::consume_fuel`).
    #[arg(long, value_name = "UNITS")]
    fuel: Option<u64>,
    /// Trap with "interrupt" once the module has run this long
    /// (wall-clock seconds, fractions allowed), start function included.
    #[arg(long, value_name = "SECONDS")]
    timeout: Option<f64>,
    /// A `.wasm` binary, a `.wat` text module or a module precompiled by
    /// `tandem compile -o` (trusted: its machine code runs as is), then the program's
    /// arguments: everything after FILE is passed on as written.
    #[arg(
        value_name = "FILE [ARGS]",
        required = true,
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    module_and_args: Vec<String>,
}

/// Options written after the file, as `tandem run` took them before it
/// followed `wasmtime run`; still read for modules that do not import WASI,
/// whose arguments are never the program's own.
#[derive(Parser, Debug)]
#[command(no_binary_name = true, disable_help_flag = true)]
struct TrailingOptions {
    #[arg(long)]
    invoke: Option<String>,
    #[arg(long)]
    backend: Option<BackendKind>,
    #[arg(long)]
    fuel: Option<u64>,
    #[arg(long)]
    timeout: Option<f64>,
    #[arg(allow_negative_numbers = true)]
    args: Vec<String>,
}

/// How far a run may go before it is stopped with a trap.
#[derive(Clone, Copy, Debug, Default)]
struct Limits {
    fuel: Option<u64>,
    timeout: Option<Duration>,
}

impl Limits {
    /// Checks the `--fuel` and `--timeout` values.
    fn new(fuel: Option<u64>, timeout_secs: Option<f64>) -> Result<Limits, CliError> {
        let timeout = timeout_secs
            .map(|secs| match Duration::try_from_secs_f64(secs) {
                Ok(d) if !d.is_zero() => Ok(d),
                _ => Err(CliError::Usage(format!(
                    "--timeout takes a positive number of seconds, not `{secs}`"
                ))),
            })
            .transpose()?;
        Ok(Limits { fuel, timeout })
    }

    /// Gives `store` its fuel and, for a timeout, sets the epoch deadline
    /// and starts the thread that ticks the epoch when time is up. Wasm
    /// stops at its next check; a program blocked in a host call (sleeping,
    /// reading a stdin that never ends) cannot reach one, so if `running`
    /// is still set a moment later the thread ends the process itself, as
    /// the trap would have.
    fn apply<T: 'static>(
        &self,
        engine: &Engine,
        store: &mut Store<T>,
        running: Arc<AtomicBool>,
    ) -> Result<(), CliError> {
        if let Some(fuel) = self.fuel {
            store
                .set_fuel(fuel)
                .map_err(|e| CliError::store("cannot set the fuel", e))?;
        }
        if let Some(timeout) = self.timeout {
            store.set_epoch_deadline(1);
            let engine = engine.clone();
            // Detached: the process exits when the call returns.
            std::thread::spawn(move || {
                std::thread::sleep(timeout);
                engine.increment_epoch();
                std::thread::sleep(BLOCKED_GRACE);
                if running.load(Ordering::SeqCst) {
                    eprintln!("error: wasm trap: interrupt (while blocked in a host call)");
                    std::process::exit(crate::TRAP_STATUS.into());
                }
            });
        }
        Ok(())
    }
}

/// How long after `--timeout` a program still inside a host call is ended
/// from outside.
const BLOCKED_GRACE: Duration = Duration::from_millis(250);

/// The store's data: the WASI context (an empty one for a module that
/// does not import WASI).
struct Host {
    wasi: WasiCtx,
}

/// Runs the command; the exit status is the WASI program's, else success.
pub fn run(options: RunOptions) -> Result<ExitCode, CliError> {
    let RunOptions {
        mut invoke,
        dirs,
        envs,
        argv0,
        listens,
        mut backend,
        mut fuel,
        mut timeout,
        module_and_args,
    } = options;
    let (file, mut args) = match module_and_args.split_first() {
        Some((file, args)) => (Path::new(file), args.to_vec()),
        None => return Err(CliError::Usage("no module given".into())),
    };
    let source = load::Source::read(file)?;
    let has_options = args.iter().any(|arg| arg.starts_with("--"));
    // A precompiled module says whether it imports WASI once loaded: load
    // it with the options before FILE (if that fails, options after FILE
    // may be what it needs, so it is loaded again with those).
    let mut loaded = None;
    let wasi = match &source {
        load::Source::Wasm(bytes) => imports_wasi(bytes),
        load::Source::Precompiled => {
            let limits = Limits::new(fuel, timeout)?;
            match run_engine(backend, limits)
                .and_then(|engine| Ok((load::precompiled(&engine, file, backend)?, engine)))
            {
                Ok((module, engine)) => {
                    let wasi = module
                        .imports()
                        .any(|import| import.module() == tandem_wasi::MODULE);
                    loaded = Some((engine, module, limits));
                    wasi
                }
                Err(_) if has_options => false,
                Err(e) => return Err(e),
            }
        }
    };
    if !wasi && has_options {
        let trailing = TrailingOptions::try_parse_from(&args).map_err(clap_usage)?;
        invoke = trailing.invoke.or(invoke);
        backend = trailing.backend.or(backend);
        fuel = trailing.fuel.or(fuel);
        timeout = trailing.timeout.or(timeout);
        args = trailing.args;
        loaded = None;
    }
    let (engine, module, limits) = match loaded {
        Some(loaded) => loaded,
        None => {
            let limits = Limits::new(fuel, timeout)?;
            let engine = run_engine(backend, limits)?;
            let module = match &source {
                load::Source::Wasm(bytes) => load::compile(&engine, file, bytes)?,
                load::Source::Precompiled => load::precompiled(&engine, file, backend)?,
            };
            (engine, module, limits)
        }
    };
    let mut exported: Vec<String> = module
        .exports()
        .filter(|export| matches!(export.ty(), ExternType::Func(_)))
        .map(|export| export.name().to_string())
        .collect();
    let initialize = exported.iter().any(|name| name == "_initialize")
        && invoke.as_deref() != Some("_initialize");
    if initialize {
        exported.retain(|name| name != "_initialize");
    }
    let target = values::pick_function(file, invoke.as_deref(), &exported)?;
    let args_are_params = !(wasi && target.as_deref() == Some("_start"));
    if target.is_none() && !args.is_empty() && !wasi {
        return Err(CliError::Usage(format!(
            "`{}` exports no function to pass the arguments to",
            file.display()
        )));
    }

    let wasi_ctx = if wasi {
        wasi::WasiOptions {
            file,
            argv0: argv0.as_deref(),
            args: &args,
            envs: &envs,
            dirs: &dirs,
            listens: &listens,
        }
        .build()?
    } else {
        WasiCtxBuilder::new()
            .build()
            .map_err(|e| CliError::store("cannot set up the store", e))?
    };
    let mut store = Store::new(&engine, Host { wasi: wasi_ctx });
    let running = Arc::new(AtomicBool::new(true));
    limits.apply(&engine, &mut store, running.clone())?;
    let plan = Plan {
        wasi,
        initialize,
        target,
        args: if args_are_params { args } else { Vec::new() },
    };
    let outcome = execute(&mut store, &engine, &module, file, plan);
    running.store(false, Ordering::SeqCst);
    let results = match outcome? {
        Ended::Returned(results) => results,
        Ended::Exited(status) => return Ok(status),
    };
    for result in &results {
        println!("{}", values::format_val(result));
    }
    Ok(ExitCode::SUCCESS)
}

/// An engine for `tandem run`: the backend (default Cranelift) with fuel
/// metering and epoch checks as `limits` need them.
fn run_engine(backend: Option<BackendKind>, limits: Limits) -> Result<Engine, CliError> {
    load::engine_with(backend.unwrap_or(BackendKind::Cranelift), |config| {
        config
            .consume_fuel(limits.fuel.is_some())
            .epoch_interruption(limits.timeout.is_some());
    })
}

/// What to do once the module is compiled.
struct Plan {
    /// Whether to link WASI.
    wasi: bool,
    /// Whether to call `_initialize` first.
    initialize: bool,
    /// The function to call, if any.
    target: Option<String>,
    /// Its parameters, as written.
    args: Vec<String>,
}

/// How the calls ended.
enum Ended {
    /// The function returned these results.
    Returned(Vec<Val>),
    /// The program called `proc_exit` with this status.
    Exited(ExitCode),
}

/// Instantiates `module` and makes the calls of `plan`.
fn execute(
    store: &mut Store<Host>,
    engine: &Engine,
    module: &tandem_store::Module,
    file: &Path,
    plan: Plan,
) -> Result<Ended, CliError> {
    let mut linker = Linker::new(engine);
    tandem_wast::define_spectest(&mut linker, &mut *store, true)
        .map_err(|e| CliError::store("cannot define the spectest imports", e))?;
    if plan.wasi {
        tandem_wasi::add_to_linker(&mut linker, |host: &mut Host| &mut host.wasi)
            .map_err(|e| CliError::store("cannot define the WASI imports", e))?;
    }
    let instance = match linker.instantiate(&mut *store, module) {
        Ok(instance) => instance,
        Err(e) => return exited(e, format!("cannot instantiate `{}`", file.display())),
    };
    if plan.initialize {
        let init = instance
            .get_func(&mut *store, "_initialize")
            .ok_or_else(|| CliError::Usage("`_initialize` vanished".into()))?;
        if let Err(e) = init.call(&mut *store, &[], &mut []) {
            return exited(e, "calling `_initialize` failed".to_string());
        }
    }
    let Some(name) = plan.target else {
        return Ok(Ended::Returned(Vec::new()));
    };
    let func = instance.get_func(&mut *store, &name).ok_or_else(|| {
        CliError::Usage(format!(
            "`{}` has no exported function `{name}`",
            file.display()
        ))
    })?;
    let ty = func.ty(&*store);
    let types: Vec<ValType> = ty.params().collect();
    let params = parse_params(&name, &types, &plan.args)?;
    let mut results: Vec<Val> = ty.results().map(tandem_wast::values::default_val).collect();
    match func.call(store, &params, &mut results) {
        Ok(()) => Ok(Ended::Returned(results)),
        Err(e) => exited(e, format!("calling `{name}` failed")),
    }
}

/// A failed call: the program's exit status if it called `proc_exit`,
/// else the error.
fn exited(err: tandem_store::Error, context: String) -> Result<Ended, CliError> {
    match err.downcast_ref::<I32Exit>() {
        // `proc_exit` accepts statuses 0..126 only, so the byte is exact.
        Some(exit) => Ok(Ended::Exited(ExitCode::from(exit.0 as u8))),
        None => Err(CliError::store(context, err)),
    }
}

/// The command-line arguments as the parameters of `name`.
fn parse_params(name: &str, types: &[ValType], args: &[String]) -> Result<Vec<Val>, CliError> {
    if types.len() != args.len() {
        let params: Vec<_> = types.iter().map(|t| t.to_string()).collect();
        return Err(CliError::Usage(format!(
            "`{name}` takes {} argument(s) ({}), got {}",
            types.len(),
            params.join(", "),
            args.len()
        )));
    }
    args.iter()
        .zip(types)
        .enumerate()
        .map(|(i, (text, &ty))| {
            values::parse_arg(text, ty).map_err(|why| {
                CliError::Usage(format!("argument {} `{text}` of `{name}`: {why}", i + 1))
            })
        })
        .collect()
}

/// Whether the binary module imports from `wasi_snapshot_preview1`, read
/// from its import section alone (a malformed module is not; compiling it
/// reports why).
fn imports_wasi(bytes: &[u8]) -> bool {
    for payload in wasmparser::Parser::new(0).parse_all(bytes) {
        match payload {
            Ok(wasmparser::Payload::ImportSection(imports)) => {
                return imports
                    .into_imports()
                    .any(|import| import.is_ok_and(|import| import.module == tandem_wasi::MODULE));
            }
            Ok(wasmparser::Payload::CodeSectionStart { .. }) | Err(_) => return false,
            Ok(_) => {}
        }
    }
    false
}

/// A parse error of the trailing options as one usage line.
fn clap_usage(e: clap::Error) -> CliError {
    let rendered = e.render().to_string();
    let line = rendered.lines().next().unwrap_or("").trim();
    CliError::Usage(line.strip_prefix("error: ").unwrap_or(line).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wasi_is_found_in_the_import_section() {
        let wasi = wat::parse_str(
            r#"(module (import "wasi_snapshot_preview1" "proc_exit" (func (param i32))))"#,
        )
        .unwrap();
        let other = wat::parse_str(r#"(module (import "env" "f" (func)))"#).unwrap();
        assert!(imports_wasi(&wasi));
        assert!(!imports_wasi(&other));
        assert!(!imports_wasi(b"\0asm garbage"));
    }
}
