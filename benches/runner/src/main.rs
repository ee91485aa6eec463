//! `bench-runner`: the release-mode half of `cargo xtask bench`. xtask (a
//! debug build) decides what to measure, starts this binary once per module
//! and kernel, reads its line protocol from stdout, and computes the
//! statistics, the table, the JSON and the chart.
//!
//! # Protocol
//!
//! Every line is space-separated; the last field may contain spaces.
//!
//! | command | lines printed |
//! |---|---|
//! | `subjects` | `subject NAME` per subject built in |
//! | `inspect FILE...` | `module RUN BYTES PATH` with `RUN` = `i32`, `i64` (`run` returns it), `-` (no `run`), `other` (a `run` of another type) or `bad` (unreadable) |
//! | `run FILE` | `ready SUBJECT SECONDS` (compile + instantiate), then `sample SUBJECT WALL CPU RESULT` per repetition |
//! | `compile FILE` | per repetition `validate WALL CPU`, then `compile SUBJECT serial\|parallel WALL CPU` |
//! | `hostcall` | `sample SUBJECT WALL CPU RESULT` per repetition (`--count` calls each) |
//! | `instantiate` | `sample SUBJECT WALL CPU RESULT` per repetition (`--count` stores + instances each) |
//! | `instantiate-pooled` | as `instantiate`, from an `InstancePre` on an engine with the pooling allocator |
//! | `deserialize FILE` | `ready SUBJECT SECONDS` (compile + precompile to a temporary file), then `sample SUBJECT WALL CPU RESULT` per repetition (`--count` loads of the precompiled file + instantiations each) |
//! | `peak-rss FILE` | `rss SUBJECT START_KIB PEAK_KIB` (compiles FILE once; one subject) |
//! | `wasi FILE` | as `run`, for a WASI command: each sample instantiates it in a new store and runs `_start` (stdout in memory); `RESULT` is a checksum of the exit status and stdout |
//!
//! `WALL` is elapsed seconds, `CPU` the seconds of CPU time the whole
//! process used meanwhile (all threads): on a busy machine the second is the
//! steadier measure of single-threaded work.
//!
//! A subject that fails prints `error SUBJECT MESSAGE` and takes no further
//! part in that command. Options: `--subjects A,B` (default: all),
//! `--reps N`, `--count N`; for `wasi`, `--arg A` (repeatable, `argv[0]`
//! first), `--dir HOST::GUEST` (repeatable) and `--stdin FILE`. Repetitions are interleaved: each one measures
//! every subject once, starting with a different subject each time.

mod clock;
mod kernels;
mod subject;
mod wasi;

use clock::Stopwatch;
use std::io::Write;
use std::time::Instant;
use subject::{Job, Subject};

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match dispatch(&args) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("bench-runner: {message}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Parsed options after the command word.
#[derive(Debug, Default)]
struct Options {
    files: Vec<String>,
    subjects: Vec<String>,
    reps: usize,
    count: u32,
    wasi: wasi::WasiProgram,
}

impl Options {
    fn parse(args: &[String]) -> Result<Options, String> {
        let mut options = Options {
            reps: 3,
            count: 1,
            ..Options::default()
        };
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            let mut value = || args.next().ok_or(format!("`{arg}` needs a value"));
            match arg.as_str() {
                "--subjects" => {
                    options.subjects = value()?.split(',').map(str::to_string).collect();
                }
                "--reps" => options.reps = number(value()?)?,
                "--count" => options.count = number(value()?)?,
                "--arg" => options.wasi.args.push(value()?.clone()),
                "--dir" => {
                    let dir = value()?;
                    let (host, guest) = dir.split_once("::").unwrap_or((dir, dir));
                    options
                        .wasi
                        .dirs
                        .push((host.to_string(), guest.to_string()));
                }
                "--stdin" => {
                    let file = value()?;
                    options.wasi.stdin =
                        std::fs::read(file).map_err(|e| format!("cannot read {file}: {e}"))?;
                }
                flag if flag.starts_with("--") => return Err(format!("unknown option `{flag}`")),
                file => options.files.push(file.to_string()),
            }
        }
        Ok(options)
    }

    fn one_file(&self) -> Result<Vec<u8>, String> {
        match self.files.as_slice() {
            [file] => std::fs::read(file).map_err(|e| format!("cannot read {file}: {e}")),
            _ => Err("expected exactly one module file".into()),
        }
    }
}

fn number<T: std::str::FromStr>(text: &str) -> Result<T, String> {
    text.parse()
        .map_err(|_| format!("`{text}` is not a number"))
}

fn dispatch(args: &[String]) -> Result<(), String> {
    let Some(command) = args.first() else {
        return Err("usage: bench-runner COMMAND [OPTIONS] (see the crate docs)".into());
    };
    let options = Options::parse(&args[1..])?;
    match command.as_str() {
        "subjects" => {
            for subject in subject::all()? {
                emit(format_args!("subject {}", subject.name()));
            }
            Ok(())
        }
        "inspect" => {
            for file in &options.files {
                let bytes = std::fs::read(file).map_err(|e| format!("cannot read {file}: {e}"))?;
                let run = run_type(&bytes);
                emit(format_args!("module {run} {} {file}", bytes.len()));
            }
            Ok(())
        }
        "run" => {
            let wasm = options.one_file()?;
            measure_jobs(&options, |s| s.prepare_run(&wasm))
        }
        "hostcall" => {
            let wasm = kernels::binary(kernels::HOST_CALL)?;
            let calls = i32::try_from(options.count).map_err(|_| "too many calls")?;
            measure_jobs(&options, |s| s.prepare_host_calls(&wasm, calls))
        }
        "instantiate" => {
            let wasm = kernels::binary(kernels::INSTANTIATE)?;
            measure_jobs(&options, |s| s.prepare_instantiate(&wasm, options.count))
        }
        "instantiate-pooled" => {
            let wasm = kernels::binary(kernels::INSTANTIATE)?;
            measure_jobs(&options, |s| {
                s.prepare_instantiate_pooled(&wasm, options.count)
            })
        }
        "deserialize" => {
            let wasm = options.one_file()?;
            let dir = std::env::temp_dir();
            let artifact = |name: &str| {
                dir.join(format!(
                    "bench-runner-{}-{name}.precompiled",
                    std::process::id()
                ))
            };
            let result = measure_jobs(&options, |s| {
                s.prepare_deserialize(&wasm, &artifact(s.name()), options.count)
            });
            for subject in subject::all()? {
                let _ = std::fs::remove_file(artifact(subject.name()));
            }
            result
        }
        "wasi" => {
            let wasm = options.one_file()?;
            measure_jobs(&options, |s| s.prepare_wasi(&wasm, &options.wasi))
        }
        "compile" => compile(&options),
        "peak-rss" => peak_rss(&options),
        other => Err(format!("unknown command `{other}`")),
    }
}

/// Prints one protocol line and flushes it so xtask sees progress at once.
fn emit(line: std::fmt::Arguments<'_>) {
    let mut out = std::io::stdout().lock();
    // A closed pipe means xtask is gone; nothing useful is left to do.
    let _ = writeln!(out, "{line}").and_then(|()| out.flush());
}

fn emit_error(subject: &str, message: &str) {
    emit(format_args!(
        "error {subject} {}",
        message.replace(['\n', '\r'], " | ")
    ));
}

/// The order of `n` subjects in repetition `rep`: rotated by one each time.
fn rotation(n: usize, rep: usize) -> impl Iterator<Item = usize> {
    (0..n).map(move |i| (i + rep) % n.max(1))
}

/// Prepares one job per subject (printing `ready`), then runs the jobs in
/// interleaved repetitions (printing `sample`).
fn measure_jobs(
    options: &Options,
    prepare: impl Fn(&dyn Subject) -> Result<Job, String>,
) -> Result<(), String> {
    let subjects = subject::select(&options.subjects)?;
    let mut jobs: Vec<Option<Job>> = Vec::new();
    for subject in &subjects {
        let start = Instant::now();
        match prepare(&**subject) {
            Ok(job) => {
                emit(format_args!(
                    "ready {} {:.9}",
                    subject.name(),
                    start.elapsed().as_secs_f64()
                ));
                jobs.push(Some(job));
            }
            Err(e) => {
                emit_error(subject.name(), &e);
                jobs.push(None);
            }
        }
    }
    for rep in 0..options.reps {
        for i in rotation(subjects.len(), rep) {
            let Some(job) = &mut jobs[i] else { continue };
            let watch = Stopwatch::start();
            let outcome = job();
            let (wall, cpu) = watch.stop();
            let name = subjects[i].name();
            match outcome {
                Ok(result) => emit(format_args!("sample {name} {wall:.9} {cpu:.9} {result}")),
                Err(e) => {
                    emit_error(name, &e);
                    jobs[i] = None;
                }
            }
        }
    }
    Ok(())
}

/// Validation alone, then compilation on one thread and on all threads, in
/// interleaved repetitions.
fn compile(options: &Options) -> Result<(), String> {
    let wasm = options.one_file()?;
    let subjects = subject::select(&options.subjects)?;
    let mut failed = vec![false; subjects.len()];
    for rep in 0..options.reps {
        let watch = Stopwatch::start();
        let valid = tandem_environ::wasmparser::Validator::new_with_features(
            tandem_environ::default_features(),
        )
        .validate_all(&wasm);
        let (wall, cpu) = watch.stop();
        match valid {
            Ok(_) => emit(format_args!("validate {wall:.9} {cpu:.9}")),
            Err(e) => return Err(format!("invalid module: {e}")),
        }
        for i in rotation(subjects.len(), rep) {
            for (mode, parallel) in [("serial", false), ("parallel", true)] {
                if failed[i] {
                    continue;
                }
                let watch = Stopwatch::start();
                let outcome = subjects[i].compile(&wasm, parallel);
                let (wall, cpu) = watch.stop();
                let name = subjects[i].name();
                match outcome {
                    Ok(()) => emit(format_args!("compile {name} {mode} {wall:.9} {cpu:.9}")),
                    Err(e) => {
                        emit_error(name, &e);
                        failed[i] = true;
                    }
                }
            }
        }
    }
    Ok(())
}

/// Compiles the module once with one subject and reports the process's
/// resident-memory high-water mark before and after.
fn peak_rss(options: &Options) -> Result<(), String> {
    let wasm = options.one_file()?;
    let subjects = subject::select(&options.subjects)?;
    let [subject] = subjects.as_slice() else {
        return Err("`peak-rss` measures exactly one subject".into());
    };
    let start = high_water_kib()?;
    match subject.compile(&wasm, true) {
        Ok(()) => emit(format_args!(
            "rss {} {start} {}",
            subject.name(),
            high_water_kib()?
        )),
        Err(e) => emit_error(subject.name(), &e),
    }
    Ok(())
}

/// `VmHWM` of this process in KiB.
fn high_water_kib() -> Result<u64, String> {
    let status = std::fs::read_to_string("/proc/self/status")
        .map_err(|e| format!("cannot read /proc/self/status: {e}"))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kib| kib.parse().ok())
        .ok_or_else(|| "no VmHWM in /proc/self/status".into())
}

/// The result type of a parameterless `run` export: `i32`, `i64`, `-` when
/// there is no `run`, `other` when it has another signature, `bad` when
/// the module cannot be read.
fn run_type(wasm: &[u8]) -> &'static str {
    use tandem_environ::wasmparser::{ExternalKind, Parser, Payload, TypeRef, ValType};
    let mut types = Vec::new();
    let mut funcs = Vec::new();
    let mut run = None;
    for payload in Parser::new(0).parse_all(wasm) {
        let Ok(payload) = payload else { return "bad" };
        match payload {
            Payload::TypeSection(reader) => {
                for ty in reader.into_iter_err_on_gc_types() {
                    let Ok(ty) = ty else { return "bad" };
                    types.push((ty.params().to_vec(), ty.results().to_vec()));
                }
            }
            Payload::ImportSection(reader) => {
                for import in reader.into_imports() {
                    let Ok(import) = import else { return "bad" };
                    if let TypeRef::Func(ty) = import.ty {
                        funcs.push(ty);
                    }
                }
            }
            Payload::FunctionSection(reader) => {
                for ty in reader {
                    let Ok(ty) = ty else { return "bad" };
                    funcs.push(ty);
                }
            }
            Payload::ExportSection(reader) => {
                for export in reader {
                    let Ok(export) = export else { return "bad" };
                    if export.name == "run" && export.kind == ExternalKind::Func {
                        run = Some(export.index);
                    }
                }
            }
            Payload::CodeSectionStart { .. } => break,
            _ => {}
        }
    }
    let Some(run) = run else { return "-" };
    let ty = funcs.get(run as usize).and_then(|&t| types.get(t as usize));
    match ty {
        Some((params, results)) if params.is_empty() => match results.as_slice() {
            [ValType::I32] => "i32",
            [ValType::I64] => "i64",
            _ => "other",
        },
        Some(_) => "other",
        None => "bad",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_types() {
        let wat = |t: &str| wat::parse_str(t).unwrap();
        assert_eq!(
            run_type(&wat(
                "(module (func (export \"run\") (result i64) i64.const 1))"
            )),
            "i64"
        );
        assert_eq!(
            run_type(&wat(
                "(module (import \"a\" \"b\" (func)) (func (export \"run\") (result i32) i32.const 1))"
            )),
            "i32"
        );
        assert_eq!(run_type(&wat("(module (func (export \"go\")))")), "-");
        assert_eq!(run_type(&wat("(module (func (export \"run\")))")), "other");
        assert_eq!(
            run_type(&wat("(module (func (export \"run\") (param i32)))")),
            "other"
        );
        assert_eq!(run_type(b"\0asm"), "bad");
    }

    #[test]
    fn rotation_visits_everyone() {
        let mut order: Vec<usize> = rotation(3, 1).collect();
        assert_eq!(order, [1, 2, 0]);
        order.sort();
        assert_eq!(order, [0, 1, 2]);
        assert_eq!(rotation(0, 5).count(), 0);
    }
}
