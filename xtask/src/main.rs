//! `cargo xtask`: the project's one test command, the spec-suite driver and
//! the benchmarks ([`bench`](mod@bench)) and the fuzz campaigns ([`fuzz`]);
//! [`USAGE`] lists the commands.
//!
//! The suite runs in this binary (built with the workspace's dev profile),
//! one child process per file so a crash fails only its file (see
//! [`isolate`]), one file per core at a time. Expected failures are listed in
//! `tests/spec-expected-failures.txt` (see [`expected`]).

mod bench;
mod bench_chart;
mod bench_report;
mod bench_results;
mod bench_runner;
mod bench_stats;
mod bench_wasi;
mod expected;
mod fuzz;
mod isolate;
mod report;
mod wasi_programs;

use expected::ExpectedFailures;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use tandem_store::BackendKind;
use tandem_wast::{SpecSet, SuiteReport, spec_suite};

/// Every backend the spec suite runs on: those built into `tandem-store`
/// (its Cargo features decide), so a new backend is tested as soon as it
/// exists.
fn backends() -> &'static [BackendKind] {
    BackendKind::available()
}

/// The checks `cargo xtask test` runs before the spec suite, in order.
const CARGO_STEPS: &[&[&str]] = &[
    &["fmt", "--all", "--", "--check"],
    &[
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ],
    // Each backend alone must build (Cargo features of tandem-store).
    &[
        "check",
        "-q",
        "-p",
        "tandem-store",
        "--no-default-features",
        "--features",
        "cranelift",
    ],
    &[
        "check",
        "-q",
        "-p",
        "tandem-store",
        "--no-default-features",
        "--features",
        "baseline",
    ],
    &["test", "--workspace"],
    // Docs must build without warnings (RUSTDOCFLAGS is set for this step).
    &["doc", "--workspace", "--no-deps"],
    // The embedding examples in `examples/` must run to the end.
    &[
        "run",
        "-q",
        "-p",
        "tandem-store",
        "--example",
        "host_function",
    ],
    &["run", "-q", "-p", "tandem-store", "--example", "linking"],
    &["run", "-q", "-p", "tandem-store", "--example", "epochs"],
    &["run", "-q", "-p", "tandem-store", "--example", "metering"],
    &["run", "-q", "-p", "tandem-store", "--example", "externref"],
    &["run", "-q", "-p", "tandem-store", "--example", "precompile"],
    &["run", "-q", "-p", "tandem-store", "--example", "pooling"],
    &["run", "-q", "-p", "tandem-wasi", "--example", "wasi"],
];

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("test") if args.len() == 1 => test(),
        Some("test") => Err(format!(
            "`test` takes no options, got `{}`",
            args[1..].join(" ")
        )),
        Some("spec") => SpecOptions::parse(&args[1..]).and_then(|options| spec(&options)),
        Some("bless-failures") if args.len() == 1 => spec(&SpecOptions {
            bless: true,
            ..SpecOptions::default()
        }),
        Some("bless-failures") => Err("`bless-failures` takes no options".to_string()),
        Some("spec-worker") => isolate::worker(&args[1..]),
        Some("fuzz") => fuzz::fuzz(&args[1..]),
        Some("fuzz-worker") => tandem_fuzz::campaign::worker(&args[1..]),
        Some("bench") => bench::bench(&args[1..]),
        Some("bench-programs") => bench::build_programs(),
        Some("wasi-programs") => wasi_programs::build(),
        None | Some("help" | "--help" | "-h") => {
            print!("{USAGE}");
            Ok(())
        }
        Some(other) => Err(format!("unknown command `{other}`\n{USAGE}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: error: {message}");
            ExitCode::FAILURE
        }
    }
}

/// The commands and options.
const USAGE: &str = "\
usage:
cargo xtask test             fmt check, clippy, cargo test, a short seeded fuzz campaign of each
                             target, then the spec suite on every backend
cargo xtask spec [OPTIONS]   the spec suite alone
    --backend B    only backend B (repeatable; default: every backend that exists)
    --set S        only set S (repeatable; default: every set: v2, v3, tail-call,
                   function-references, extended-const, simd, relaxed-simd)
    --filter TEXT  only files whose name contains TEXT
    --json         print one JSON object of counts instead of the table
    --verbose      print every failure of every failing file
    --bless        rewrite tests/spec-expected-failures.txt from this run
cargo xtask bless-failures   the whole suite, then rewrite tests/spec-expected-failures.txt
cargo xtask fuzz [OPTIONS]   fuzz campaigns (tandem-fuzz); findings in target/fuzz/findings/
    --target T     diff, malformed or api (repeatable; default: all three)
    --time S       seconds per target (default 60)
    --seed N       first seed (default: from the clock, printed)
    --jobs N       worker processes (default: one per core)
    --repro SEED   run the one case SEED of the target and write its repro
cargo xtask bench [OPTIONS]  benchmarks in a release build (benches/; results in target/bench/)
    --dir DIR      modules to measure (default: benches/programs); those exporting `run`
                   are timed (checked against DIR/expected.txt), the others compiled
    --filter TEXT  only modules (and the hostcall/instantiate kernels) whose name contains TEXT
    --backend B    only Tandem backend B (and its wasmtime counterpart)
    --compare      also measure wasmtime (Cranelift and Winch) in the same run
    --quick        one repetition, smaller counts: a smoke run
cargo xtask bench-programs   rebuild benches/programs/*.wasm from their .wat sources
cargo xtask wasi-programs    rebuild crates/wasi/tests/programs/*.wasm from their C sources (needs clang)
";

/// The workspace root (this crate sits one level below it).
fn root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_path_buf()
}

/// `cargo xtask test`: every check, failing fast.
fn test() -> Result<(), String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    for step in CARGO_STEPS {
        let shown = format!("cargo {}", step.join(" "));
        eprintln!("xtask: running `{shown}`");
        let status = Command::new(&cargo)
            .args(*step)
            .env("RUSTDOCFLAGS", "-D warnings")
            .current_dir(root())
            .status()
            .map_err(|e| format!("cannot start `{shown}`: {e}"))?;
        if !status.success() {
            return Err(format!("`{shown}` failed ({status})"));
        }
    }
    fuzz::test_campaigns()?;
    spec(&SpecOptions::default())
}

/// Options of `cargo xtask spec`.
#[derive(Debug, Default, PartialEq)]
struct SpecOptions {
    backends: Vec<BackendKind>,
    sets: Vec<SpecSet>,
    filter: String,
    json: bool,
    verbose: bool,
    bless: bool,
}

impl SpecOptions {
    fn parse(args: &[String]) -> Result<Self, String> {
        let mut options = SpecOptions::default();
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            let mut value = |name: &str| {
                args.next()
                    .cloned()
                    .ok_or_else(|| format!("`{name}` needs a value"))
            };
            match arg.as_str() {
                "--backend" => {
                    let backend: BackendKind = value("--backend")?.parse()?;
                    if !backends().contains(&backend) {
                        return Err(format!("the {backend} backend does not exist yet"));
                    }
                    options.backends.push(backend);
                }
                "--set" => options.sets.push(value("--set")?.parse()?),
                "--filter" => options.filter = value("--filter")?,
                "--json" => options.json = true,
                "--verbose" | "-v" => options.verbose = true,
                "--bless" => options.bless = true,
                other => return Err(format!("unknown option `{other}` for `spec`")),
            }
        }
        Ok(options)
    }
}

/// Files run at once: one per core.
fn jobs() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn suite_files(set: SpecSet) -> BTreeSet<String> {
    spec_suite(set).into_iter().map(|(name, _)| name).collect()
}

/// `cargo xtask spec`: runs the suite, compares it with the expected
/// failures (rewriting them first with `--bless`), prints the results.
fn spec(options: &SpecOptions) -> Result<(), String> {
    let path = root().join(expected::PATH);
    let mut expected = match std::fs::read_to_string(&path) {
        Ok(text) => ExpectedFailures::parse(&text)?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => ExpectedFailures::default(),
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    };
    let backends = if options.backends.is_empty() {
        backends()
    } else {
        &options.backends
    };
    let sets = if options.sets.is_empty() {
        SpecSet::ALL
    } else {
        &options.sets
    };

    let mut reports: Vec<SuiteReport> = Vec::new();
    for &backend in backends {
        for &set in sets {
            eprintln!("xtask: spec suite {set} on {backend}");
            let report = isolate::run_set(backend, set, &options.filter, jobs())?;
            if report.scripts.is_empty() {
                return Err(format!(
                    "no file of the {set} suite matches `{}`",
                    options.filter
                ));
            }
            reports.push(report);
        }
    }

    if options.bless {
        expected.bless(&reports, suite_files);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        }
        std::fs::write(&path, expected.render())
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        eprintln!(
            "xtask: wrote {} ({} entries)",
            path.display(),
            expected.len()
        );
    }
    if options.verbose {
        print_failures(&reports);
    }
    let problems = expected.check(&reports, suite_files);
    if options.json {
        println!("{}", report::json(&reports));
    } else {
        print!("{}", report::table(&reports));
    }
    if problems.is_empty() {
        return Ok(());
    }
    for problem in &problems {
        eprintln!("xtask: {problem}");
    }
    Err(format!(
        "{} disagreement(s) with {} (fix them, or run `cargo xtask bless-failures` and review the diff)",
        problems.len(),
        expected::PATH
    ))
}

fn print_failures(reports: &[SuiteReport]) {
    for report in reports {
        for script in report.scripts.iter().filter(|s| !s.is_pass()) {
            println!(
                "{} {} {}: {}/{} passed",
                report.backend,
                report.set,
                script.name,
                script.passed,
                script.total()
            );
            for failure in &script.failures {
                println!("    {failure}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn spec_options() {
        let parsed = SpecOptions::parse(&args(&[
            "--backend",
            "cranelift",
            "--set",
            "v2",
            "--json",
            "--filter",
            "i32",
        ]))
        .expect("valid");
        assert_eq!(parsed.backends, [BackendKind::Cranelift]);
        assert_eq!(parsed.sets, [SpecSet::V2]);
        assert_eq!(parsed.filter, "i32");
        assert!(parsed.json && !parsed.bless && !parsed.verbose);
        assert!(SpecOptions::parse(&args(&["--backend"])).is_err());
        assert!(SpecOptions::parse(&args(&["--backend", "llvm"])).is_err());
        assert!(SpecOptions::parse(&args(&["--set", "v7"])).is_err());
        assert!(SpecOptions::parse(&args(&["--frob"])).is_err());
    }

    #[test]
    fn backends_are_unique() {
        let unique: BTreeSet<String> = backends().iter().map(|b| b.to_string()).collect();
        assert_eq!(unique.len(), backends().len());
        assert!(backends().contains(&BackendKind::Cranelift));
    }
}
