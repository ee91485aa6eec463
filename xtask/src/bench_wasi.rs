//! The WASI part of `cargo xtask bench`: real WASI programs timed in the
//! runner (each sample instantiates the program in a new store with a fresh
//! context and runs `_start`; compiled once), and the start-up of a
//! hello-world program as a whole process: `tandem run hello.wasm` beside
//! `wasmtime-run hello.wasm`, a minimal embedding of wasmtime and its
//! `wasmtime-wasi` (`benches/wasmtime/src/bin/wasmtime_run.rs`).

use crate::bench::BenchOptions;
use crate::bench_results::{BySubject, RunRecord};
use crate::bench_runner::{Line, Runner, Time, target_dir};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

/// Repetitions of each WASI run (interleaved across subjects).
pub(crate) const WASI_REPS: usize = 5;
/// Processes started per subject for the start-up figure.
const STARTUP_REPS: usize = 21;

/// One WASI program run.
struct WasiRun {
    /// The row's name.
    name: &'static str,
    /// The module, relative to the workspace root.
    wasm: &'static str,
    /// Its arguments, `argv[0]` first.
    args: &'static [&'static str],
    /// A file (relative to the root) to give as stdin.
    stdin: Option<&'static str>,
    /// Whether it gets `crates/wasi/tests/realworld` as `/in` and a scratch
    /// directory as `/out`.
    dirs: bool,
}

const REALWORLD: &str = "crates/wasi/tests/realworld";

/// The WASI runs: many small `fd_write`s (the cost of a WASI call), the
/// Boolector SMT solver factoring a 44-bit number, and resvg rendering a
/// 600x600 scene to PNG (files read and written in preopened directories).
const RUNS: &[WasiRun] = &[
    WasiRun {
        name: "wasi-writes",
        wasm: "crates/wasi/tests/programs/writes.wasm",
        args: &["writes", "200000"],
        stdin: None,
        dirs: false,
    },
    WasiRun {
        name: "wasi-boolector",
        wasm: "crates/wasi/tests/realworld/boolector.wasm",
        args: &["boolector"],
        stdin: Some("crates/wasi/tests/realworld/factor.smt2"),
        dirs: false,
    },
    WasiRun {
        name: "wasi-resvg",
        wasm: "crates/wasi/tests/realworld/resvg.wasm",
        args: &["resvg", "/in/scene.svg", "/out/scene.png"],
        stdin: None,
        dirs: true,
    },
];

/// The hello-world program whose start-up is measured.
const HELLO: &str = "crates/wasi/tests/programs/hello.wasm";

/// The name of the start-up row.
pub(crate) const STARTUP: &str = "wasi-startup";

/// The names of the WASI rows `--filter` can pick.
pub(crate) fn names(filter: &str) -> (Vec<&'static str>, bool) {
    let runs = RUNS
        .iter()
        .map(|r| r.name)
        .filter(|n| n.contains(filter))
        .collect();
    (runs, STARTUP.contains(filter))
}

/// Times the WASI runs named in `names` in the runner, on every subject.
pub(crate) fn run_programs(
    root: &Path,
    runner: &Runner,
    options: &BenchOptions,
    subjects: &[String],
    names: &[&str],
    mut progress: impl FnMut(&str),
) -> Result<Vec<RunRecord>, String> {
    let scratch = target_dir(root).join("bench").join("wasi-out");
    std::fs::create_dir_all(&scratch)
        .map_err(|e| format!("cannot create {}: {e}", scratch.display()))?;
    let reps = options.reps(WASI_REPS);
    let mut records = Vec::new();
    for run in RUNS.iter().filter(|r| names.contains(&r.name)) {
        progress(run.name);
        let wasm = root.join(run.wasm);
        let mut args = vec![
            "wasi".to_string(),
            "--subjects".to_string(),
            subjects.join(","),
            "--reps".to_string(),
            reps.to_string(),
        ];
        for arg in run.args {
            args.extend(["--arg".to_string(), arg.to_string()]);
        }
        if let Some(stdin) = run.stdin {
            args.extend(["--stdin".to_string(), path_arg(&root.join(stdin))]);
        }
        if run.dirs {
            let input = root.join(REALWORLD);
            args.extend(["--dir".to_string(), format!("{}::/in", path_arg(&input))]);
            args.extend(["--dir".to_string(), format!("{}::/out", path_arg(&scratch))]);
        }
        args.push(path_arg(&wasm));
        let mut map = BySubject::new();
        runner.run(&args, |line| {
            crate::bench::collect(&mut map, line, reps, "s", 1.0);
            Ok(())
        })?;
        records.push(RunRecord {
            name: run.name.to_string(),
            bytes: file_size(&wasm)?,
            expected: None,
            subjects: map,
        });
    }
    Ok(records)
}

/// Starts `hello.wasm` as a whole process per subject, interleaved: `tandem
/// run --backend B` for Tandem's, `wasmtime-run [--winch]` for wasmtime's
/// (only with `--compare`). Both binaries are release builds, made here.
pub(crate) fn startup(
    root: &Path,
    options: &BenchOptions,
    subjects: &[String],
) -> Result<RunRecord, String> {
    let binaries = build_binaries(root, options.compare)?;
    let hello = path_arg(&root.join(HELLO));
    let commands: Vec<(String, Vec<String>)> = subjects
        .iter()
        .filter_map(|subject| {
            let (binary, mut args) = match subject.as_str() {
                "tandem-cranelift" => (&binaries.tandem, vec!["run", "--backend", "cranelift"]),
                "tandem-baseline" => (&binaries.tandem, vec!["run", "--backend", "baseline"]),
                "wasmtime-cranelift" => (binaries.wasmtime.as_ref()?, vec![]),
                "wasmtime-winch" => (binaries.wasmtime.as_ref()?, vec!["--winch"]),
                _ => return None,
            };
            args.push(&hello);
            let mut all = vec![path_arg(binary)];
            all.extend(args.into_iter().map(String::from));
            Some((subject.clone(), all))
        })
        .collect();
    let reps = if options.quick { 3 } else { STARTUP_REPS };
    let mut map = BySubject::new();
    for rep in 0..reps {
        for i in (0..commands.len()).map(|i| (i + rep) % commands.len()) {
            let (subject, command) = &commands[i];
            let started = Instant::now();
            let status = Command::new(&command[0])
                .args(&command[1..])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .map_err(|e| format!("cannot start {}: {e}", command[0]))?;
            let seconds = started.elapsed().as_secs_f64();
            let line = match status.code() {
                Some(code) => Line::Sample {
                    subject: subject.clone(),
                    // A whole process: elapsed time is the figure (the
                    // children's CPU time is not visible from here).
                    time: Time {
                        wall: seconds,
                        cpu: seconds,
                    },
                    result: i64::from(code),
                },
                None => Line::Error {
                    subject: subject.clone(),
                    message: format!("{} was killed by a signal", command.join(" ")),
                },
            };
            crate::bench::collect(&mut map, line, reps, "s", 1.0);
        }
    }
    Ok(RunRecord {
        name: STARTUP.to_string(),
        bytes: file_size(&root.join(HELLO))?,
        expected: Some(0),
        subjects: map,
    })
}

/// The binaries the start-up figure starts.
struct Binaries {
    tandem: PathBuf,
    wasmtime: Option<PathBuf>,
}

/// Builds `tandem` (the root workspace's CLI) and, with `compare`,
/// `wasmtime-run` (the bench workspace's), in release mode, in the bench
/// target directory.
fn build_binaries(root: &Path, compare: bool) -> Result<Binaries, String> {
    let target = target_dir(root).join("bench-build");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let build = |manifest: PathBuf, package: &str, binary: &str| -> Result<PathBuf, String> {
        eprintln!("xtask: building {binary} (release)");
        let status = Command::new(&cargo)
            .args(["build", "--release", "--manifest-path"])
            .arg(&manifest)
            .args(["--package", package, "--bin", binary])
            .env("CARGO_TARGET_DIR", &target)
            .status()
            .map_err(|e| format!("cannot start cargo: {e}"))?;
        if !status.success() {
            return Err(format!("building {binary} failed ({status})"));
        }
        Ok(target.join("release").join(binary))
    };
    Ok(Binaries {
        tandem: build(root.join("Cargo.toml"), "tandem-cli", "tandem")?,
        wasmtime: if compare {
            Some(build(
                root.join("benches").join("Cargo.toml"),
                "tandem-bench-wasmtime",
                "wasmtime-run",
            )?)
        } else {
            None
        },
    })
}

fn path_arg(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

fn file_size(path: &Path) -> Result<u64, String> {
    std::fs::metadata(path)
        .map(|m| m.len())
        .map_err(|e| format!("cannot read {}: {e}", path.display()))
}
