//! `cargo xtask bench`: run-time, compile-throughput, deserialization,
//! host-call, instantiation (on demand and pooled), peak-memory and WASI
//! figures for Tandem (every backend built in) and, with `--compare`,
//! wasmtime (Cranelift and Winch) in the same run.
//!
//! Measuring happens in `bench-runner`, a release binary built from the
//! `benches/` workspace ([`crate::bench_runner`]); this module decides what
//! to measure and collects the samples into [`Results`]
//! ([`crate::bench_results`]: checks against `expected.txt`, tables), which
//! it prints ([`crate::bench_report`]) and writes as a JSON file and an SVG
//! chart ([`crate::bench_chart`]) under `target/bench/`.

use crate::bench_report::{Json, section_json, significant, table};
use crate::bench_results::{
    BySubject, CompileRecord, DeserializeRecord, KernelRecord, Results, RssRecord, RunRecord,
    Series,
};
use crate::bench_runner::{Line, RunExport, Runner, target_dir};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use tandem_store::BackendKind;

/// Options of `cargo xtask bench`.
#[derive(Debug, Default, PartialEq)]
pub struct BenchOptions {
    /// Directory of modules (default: `benches/programs`).
    pub dir: Option<PathBuf>,
    /// Only modules and kernels whose name contains this.
    pub filter: String,
    /// Only this Tandem backend (and its wasmtime counterpart).
    pub backend: Option<BackendKind>,
    /// Add wasmtime.
    pub compare: bool,
    /// Fewer repetitions and smaller counts.
    pub quick: bool,
}

impl BenchOptions {
    /// Parses the arguments after `bench`.
    pub fn parse(args: &[String]) -> Result<Self, String> {
        let mut options = BenchOptions::default();
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            let mut value = || {
                args.next()
                    .cloned()
                    .ok_or_else(|| format!("`{arg}` needs a value"))
            };
            match arg.as_str() {
                "--dir" => options.dir = Some(PathBuf::from(value()?)),
                "--filter" => options.filter = value()?,
                "--backend" => options.backend = Some(value()?.parse()?),
                "--compare" => options.compare = true,
                "--quick" => options.quick = true,
                other => return Err(format!("unknown option `{other}` for `bench`")),
            }
        }
        Ok(options)
    }

    /// `normal` repetitions, or one with `--quick`.
    pub(crate) fn reps(&self, normal: usize) -> usize {
        if self.quick { 1 } else { normal }
    }
}

/// Repetitions of each `run` (interleaved across subjects).
pub(crate) const RUN_REPS: usize = 5;
/// Repetitions of each compilation.
pub(crate) const COMPILE_REPS: usize = 3;
/// Repetitions of each micro-benchmark.
const KERNEL_REPS: usize = 7;

/// A module file and what `bench-runner inspect` said about it.
struct ModuleFile {
    path: PathBuf,
    name: String,
    bytes: u64,
    run: RunExport,
}

/// `cargo xtask bench`.
pub fn bench(args: &[String]) -> Result<(), String> {
    let options = BenchOptions::parse(args)?;
    let root = crate::root();
    let dir = options
        .dir
        .clone()
        .unwrap_or_else(|| root.join("benches").join("programs"));
    let paths = module_paths(&dir, &options.filter)?;
    let expected = read_expected(&dir)?;
    let runner = Runner::build(&root, options.compare)?;

    let mut results = Results {
        subjects: subjects(&runner, options.backend)?,
        ..Results::default()
    };
    let modules = inspect(&runner, &paths)?;
    let kernels: Vec<&'static str> = ["hostcall", "instantiate", "instantiate-pooled"]
        .into_iter()
        .filter(|k| k.contains(&options.filter))
        .collect();
    let readable = modules
        .iter()
        .filter(|m| m.run != RunExport::Unreadable)
        .count();
    // The WASI programs belong to the default set only.
    let (wasi_runs, wasi_startup) = match options.dir {
        None => crate::bench_wasi::names(&options.filter),
        Some(_) => (Vec::new(), false),
    };
    let steps = modules.len()
        + readable
        + kernels.len()
        + usize::from(!modules.is_empty())
        + wasi_runs.len()
        + usize::from(wasi_startup);
    if steps == 0 {
        return Err(format!(
            "nothing matches `{}` in {}",
            options.filter,
            dir.display()
        ));
    }
    let mut step = 0;
    let mut progress = |what: &str| {
        step += 1;
        eprintln!("xtask: [{step}/{steps}] {what}");
    };
    for module in &modules {
        match module.run {
            RunExport::Usable => {
                progress(&format!("run {}", module.name));
                let expected = expected.get(&module.name).copied();
                results.runs.push(run_module(
                    &runner,
                    &options,
                    &results.subjects,
                    module,
                    expected,
                )?);
            }
            RunExport::None => {
                progress(&format!("compile {}", module.name));
                results.compiles.push(compile_module(
                    &runner,
                    &options,
                    &results.subjects,
                    module,
                )?);
            }
            RunExport::Unreadable => results
                .failures
                .push(format!("{}: not a readable module", module.name)),
        }
    }
    for module in modules.iter().filter(|m| m.run != RunExport::Unreadable) {
        progress(&format!("deserialize {}", module.name));
        results.deserializes.push(deserialize_module(
            &runner,
            &options,
            &results.subjects,
            module,
        )?);
    }
    for kernel in kernels {
        progress(kernel);
        results
            .kernels
            .push(run_kernel(&runner, &options, &results.subjects, kernel)?);
    }
    if let Some(largest) = modules.iter().max_by_key(|m| m.bytes) {
        progress(&format!("peak memory compiling {}", largest.name));
        results.rss = Some(peak_rss(&runner, &results.subjects, largest)?);
    }
    results.wasi = crate::bench_wasi::run_programs(
        &root,
        &runner,
        &options,
        &results.subjects,
        &wasi_runs,
        &mut progress,
    )?;
    if wasi_startup {
        progress("wasi start-up (whole processes)");
        results.startup = Some(crate::bench_wasi::startup(
            &root,
            &options,
            &results.subjects,
        )?);
    }
    results.check();
    report(&root, &dir, &options, &results)
}

/// The `.wasm` files in `dir` whose name contains `filter`, sorted.
fn module_paths(dir: &Path, filter: &str) -> Result<Vec<PathBuf>, String> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "wasm"))
        .filter(|p| module_name(p).contains(filter))
        .collect();
    paths.sort();
    Ok(paths)
}

fn module_name(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// `expected.txt` beside the modules: `name result [anything else]` per
/// line, `#` comments. A missing file means no expected results.
fn read_expected(dir: &Path) -> Result<BTreeMap<String, i64>, String> {
    let path = dir.join("expected.txt");
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    };
    parse_expected(&text).map_err(|e| format!("{}: {e}", path.display()))
}

fn parse_expected(text: &str) -> Result<BTreeMap<String, i64>, String> {
    let mut expected = BTreeMap::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut fields = line.split_whitespace();
        let (Some(name), Some(value)) = (fields.next(), fields.next()) else {
            return Err(format!("line {}: expected `name result`", n + 1));
        };
        let value: i64 = value
            .parse()
            .map_err(|_| format!("line {}: `{value}` is not an integer", n + 1))?;
        expected.insert(name.to_string(), value);
    }
    Ok(expected)
}

/// The runner's subjects, narrowed to one Tandem backend and its wasmtime
/// counterpart by `--backend`.
fn subjects(runner: &Runner, backend: Option<BackendKind>) -> Result<Vec<String>, String> {
    let mut all = Vec::new();
    runner.run(&["subjects".to_string()], |line| {
        if let Line::Subject(name) = line {
            all.push(name);
        }
        Ok(())
    })?;
    let Some(backend) = backend else {
        return Ok(all);
    };
    let tandem = format!("tandem-{backend}");
    if !all.contains(&tandem) {
        return Err(format!("the {backend} backend is not built into Tandem"));
    }
    let counterpart = match backend {
        BackendKind::Cranelift => "wasmtime-cranelift",
        BackendKind::Baseline => "wasmtime-winch",
    };
    all.retain(|s| *s == tandem || s == counterpart);
    Ok(all)
}

fn inspect(runner: &Runner, paths: &[PathBuf]) -> Result<Vec<ModuleFile>, String> {
    if paths.is_empty() {
        return Ok(Vec::new());
    }
    let mut args = vec!["inspect".to_string()];
    args.extend(paths.iter().map(|p| p.to_string_lossy().into_owned()));
    let mut modules = Vec::new();
    runner.run(&args, |line| {
        if let Line::Module { run, bytes, path } = line {
            let path = PathBuf::from(path);
            modules.push(ModuleFile {
                name: module_name(&path),
                path,
                bytes,
                run,
            });
        }
        Ok(())
    })?;
    Ok(modules)
}

fn common_args(command: &str, subjects: &[String], reps: usize) -> Vec<String> {
    vec![
        command.to_string(),
        "--subjects".to_string(),
        subjects.join(","),
        "--reps".to_string(),
        reps.to_string(),
    ]
}

/// Collects `ready`, `sample` and `error` lines into `map`, printing
/// progress.
pub(crate) fn collect(map: &mut BySubject, line: Line, reps: usize, unit: &str, scale: f64) {
    match line {
        Line::Ready { subject, seconds } => map.entry(subject).or_default().ready = Some(seconds),
        Line::Sample {
            subject,
            time,
            result,
        } => {
            let series = map.entry(subject.clone()).or_default();
            series.push(time);
            series.results.push(result);
            eprintln!(
                "xtask:     {subject:<20} {:>2}/{reps}  {} {unit} CPU ({} wall)",
                series.cpu.len(),
                significant(time.cpu * scale),
                significant(time.wall * scale)
            );
        }
        Line::Error { subject, message } => {
            eprintln!("xtask:     {subject:<20} error: {message}");
            map.entry(subject).or_default().error = Some(message);
        }
        _ => {}
    }
}

fn run_module(
    runner: &Runner,
    options: &BenchOptions,
    subjects: &[String],
    module: &ModuleFile,
    expected: Option<i64>,
) -> Result<RunRecord, String> {
    let reps = options.reps(RUN_REPS);
    let mut args = common_args("run", subjects, reps);
    args.push(module.path.to_string_lossy().into_owned());
    let mut map = BySubject::new();
    runner.run(&args, |line| {
        collect(&mut map, line, reps, "s", 1.0);
        Ok(())
    })?;
    Ok(RunRecord {
        name: module.name.clone(),
        bytes: module.bytes,
        expected,
        subjects: map,
    })
}

fn compile_module(
    runner: &Runner,
    options: &BenchOptions,
    subjects: &[String],
    module: &ModuleFile,
) -> Result<CompileRecord, String> {
    let reps = options.reps(COMPILE_REPS);
    let mut args = common_args("compile", subjects, reps);
    args.push(module.path.to_string_lossy().into_owned());
    let mut record = CompileRecord {
        name: module.name.clone(),
        bytes: module.bytes,
        validate: Series::default(),
        serial: BySubject::new(),
        parallel: BySubject::new(),
    };
    runner.run(&args, |line| {
        match line {
            Line::Validate(time) => record.validate.push(time),
            Line::Compile {
                subject,
                parallel,
                time,
            } => {
                let map = if parallel {
                    &mut record.parallel
                } else {
                    &mut record.serial
                };
                let series = map.entry(subject.clone()).or_default();
                series.push(time);
                eprintln!(
                    "xtask:     {subject:<20} {:>2}/{reps}  {}  {} s wall, {} s CPU",
                    series.wall.len(),
                    if parallel {
                        "all threads"
                    } else {
                        "one thread "
                    },
                    significant(time.wall),
                    significant(time.cpu)
                );
            }
            Line::Error { subject, message } => {
                eprintln!("xtask:     {subject:<20} error: {message}");
                record.serial.entry(subject.clone()).or_default().error = Some(message.clone());
                record.parallel.entry(subject).or_default().error = Some(message);
            }
            _ => {}
        }
        Ok(())
    })?;
    Ok(record)
}

/// Loads of a precompiled module per sample.
pub(crate) const DESERIALIZE_COUNT: u32 = 10;

fn deserialize_module(
    runner: &Runner,
    options: &BenchOptions,
    subjects: &[String],
    module: &ModuleFile,
) -> Result<DeserializeRecord, String> {
    let reps = options.reps(KERNEL_REPS).max(2);
    let count = if options.quick { 2 } else { DESERIALIZE_COUNT };
    let mut args = common_args("deserialize", subjects, reps);
    args.extend(["--count".to_string(), count.to_string()]);
    args.push(module.path.to_string_lossy().into_owned());
    let mut map = BySubject::new();
    runner.run(&args, |line| {
        collect(&mut map, line, reps, "ms/load", 1e3 / f64::from(count));
        Ok(())
    })?;
    Ok(DeserializeRecord {
        name: module.name.clone(),
        bytes: module.bytes,
        count,
        subjects: map,
    })
}

fn run_kernel(
    runner: &Runner,
    options: &BenchOptions,
    subjects: &[String],
    name: &'static str,
) -> Result<KernelRecord, String> {
    let reps = options.reps(KERNEL_REPS).max(2);
    let (count, unit, scale): (u32, &str, f64) = match (name, options.quick) {
        ("hostcall", false) => (2_000_000, "ns/call", 1e9 / 2e6),
        ("hostcall", true) => (200_000, "ns/call", 1e9 / 2e5),
        (_, false) => (5_000, "µs/instance", 1e6 / 5e3),
        (_, true) => (500, "µs/instance", 1e6 / 5e2),
    };
    let mut args = common_args(name, subjects, reps);
    args.extend(["--count".to_string(), count.to_string()]);
    let mut map = BySubject::new();
    runner.run(&args, |line| {
        collect(&mut map, line, reps, unit, scale);
        Ok(())
    })?;
    Ok(KernelRecord {
        name,
        count,
        subjects: map,
    })
}

/// One child process per subject, each compiling `module` once.
fn peak_rss(
    runner: &Runner,
    subjects: &[String],
    module: &ModuleFile,
) -> Result<RssRecord, String> {
    let mut record = RssRecord {
        name: module.name.clone(),
        bytes: module.bytes,
        subjects: BTreeMap::new(),
    };
    for subject in subjects {
        let args = vec![
            "peak-rss".to_string(),
            "--subjects".to_string(),
            subject.clone(),
            module.path.to_string_lossy().into_owned(),
        ];
        runner.run(&args, |line| {
            match line {
                Line::Rss {
                    subject,
                    start_kib,
                    peak_kib,
                } => {
                    eprintln!(
                        "xtask:     {subject:<20} peak {} MiB",
                        significant(peak_kib as f64 / 1024.0)
                    );
                    record.subjects.insert(subject, Ok((start_kib, peak_kib)));
                }
                Line::Error { subject, message } => {
                    record.subjects.insert(subject, Err(message));
                }
                _ => {}
            }
            Ok(())
        })?;
    }
    Ok(record)
}

/// Prints the tables, writes the JSON and the chart, and fails when a
/// result was wrong or Tandem failed.
fn report(
    root: &Path,
    dir: &Path,
    options: &BenchOptions,
    results: &Results,
) -> Result<(), String> {
    let sections = results.sections(options);
    println!();
    for section in &sections {
        println!("{}", table(section));
    }
    let mut summary = Vec::new();
    for section in &sections {
        for pair in &section.pairs {
            if let Some((g, n)) = section.geomean(pair) {
                summary.push(format!(
                    "  {:<10} {:<20} {g:.3} over {n}",
                    section.key, pair.label
                ));
            }
        }
    }
    if !summary.is_empty() {
        println!("Ratios (geometric mean; below 1: Tandem faster or smaller)");
        println!("{}\n", summary.join("\n"));
    }

    let out_dir = target_dir(root).join("bench");
    std::fs::create_dir_all(&out_dir)
        .map_err(|e| format!("cannot create {}: {e}", out_dir.display()))?;
    let stem = dir
        .canonicalize()
        .ok()
        .and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "bench".to_string());
    let json = Json::obj([
        ("dir", Json::str(dir.to_string_lossy())),
        ("quick", Json::Bool(options.quick)),
        ("filter", Json::str(&options.filter)),
        (
            "subjects",
            Json::Arr(results.subjects.iter().map(Json::str).collect()),
        ),
        (
            "sections",
            Json::Arr(sections.iter().map(section_json).collect()),
        ),
        ("raw", results.raw_json()),
        (
            "failures",
            Json::Arr(results.failures.iter().map(Json::str).collect()),
        ),
        (
            "warnings",
            Json::Arr(results.warnings.iter().map(Json::str).collect()),
        ),
    ]);
    let json_path = out_dir.join(format!("{stem}.json"));
    std::fs::write(&json_path, format!("{json}\n"))
        .map_err(|e| format!("cannot write {}: {e}", json_path.display()))?;
    println!("JSON:  {}", json_path.display());
    let svg_path = out_dir.join(format!("{stem}.svg"));
    let bars = crate::bench_chart::bars(&sections);
    let title = format!("Tandem ratios: {stem}");
    if crate::bench_chart::render(&svg_path, &title, &bars)? {
        println!("Chart: {}", svg_path.display());
    } else {
        println!("Chart: none (no ratios without --compare or a second backend)");
    }
    for warning in &results.warnings {
        eprintln!("xtask: warning: {warning}");
    }
    for failure in &results.failures {
        eprintln!("xtask: FAILED: {failure}");
    }
    if results.failures.is_empty() {
        Ok(())
    } else {
        Err(format!("{} benchmark failure(s)", results.failures.len()))
    }
}

/// `cargo xtask bench-programs`: rebuilds `benches/programs/*.wasm` from
/// the `.wat` sources beside them.
pub fn build_programs() -> Result<(), String> {
    let dir = crate::root().join("benches").join("programs");
    for source in wat_sources(&dir)? {
        let binary = wat::parse_file(&source).map_err(|e| format!("{}: {e}", source.display()))?;
        let target = source.with_extension("wasm");
        std::fs::write(&target, binary)
            .map_err(|e| format!("cannot write {}: {e}", target.display()))?;
        eprintln!("xtask: wrote {}", target.display());
    }
    Ok(())
}

fn wat_sources(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    let mut sources: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "wat"))
        .collect();
    sources.sort();
    Ok(sources)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn options() {
        let o = BenchOptions::parse(&args(&[
            "--dir",
            "x",
            "--filter",
            "f",
            "--backend",
            "cranelift",
            "--compare",
            "--quick",
        ]))
        .unwrap();
        assert_eq!(o.dir, Some(PathBuf::from("x")));
        assert_eq!(o.filter, "f");
        assert_eq!(o.backend, Some(BackendKind::Cranelift));
        assert!(o.compare && o.quick);
        assert_eq!(o.reps(5), 1);
        assert!(BenchOptions::parse(&args(&["--dir"])).is_err());
        assert!(BenchOptions::parse(&args(&["--backend", "llvm"])).is_err());
        assert!(BenchOptions::parse(&args(&["--fast"])).is_err());
    }

    #[test]
    fn expected_files() {
        let parsed = parse_expected("# c\n\nfib 102334155 0.5 0.6\nneg -3\n").unwrap();
        assert_eq!(parsed["fib"], 102334155);
        assert_eq!(parsed["neg"], -3);
        assert!(parse_expected("lonely\n").is_err());
        assert!(parse_expected("x 1.5\n").is_err());
    }

    #[test]
    fn committed_programs_match_their_sources() {
        let dir = crate::root().join("benches").join("programs");
        let sources = wat_sources(&dir).unwrap();
        assert!(sources.len() >= 5, "{} programs", sources.len());
        let expected = read_expected(&dir).unwrap();
        for source in sources {
            let built = wat::parse_file(&source).unwrap();
            let committed = std::fs::read(source.with_extension("wasm")).unwrap();
            assert!(
                built == committed,
                "{} is stale: run `cargo xtask bench-programs`",
                source.display()
            );
            assert!(expected.contains_key(&module_name(&source)));
        }
    }
}
