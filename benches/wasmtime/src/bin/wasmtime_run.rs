//! `wasmtime-run [--winch] FILE [ARGS...]`: a WASI command under wasmtime's
//! embedding (Cranelift, or Winch, and `wasmtime-wasi` preview 1, stdio
//! inherited), exiting with the program's status. The start-up benchmark
//! times this process beside `tandem run FILE`.

use tandem_bench_wasmtime::Compiler;

fn main() -> std::process::ExitCode {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let compiler = if args.first().is_some_and(|a| a == "--winch") {
        args.remove(0);
        Compiler::Winch
    } else {
        Compiler::Cranelift
    };
    let Some((file, rest)) = args.split_first() else {
        eprintln!("usage: wasmtime-run [--winch] FILE [ARGS...]");
        return std::process::ExitCode::FAILURE;
    };
    match tandem_bench_wasmtime::wasi::run_command(compiler, file, rest) {
        Ok(status) => std::process::ExitCode::from(status as u8),
        Err(e) => {
            eprintln!("wasmtime-run: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
