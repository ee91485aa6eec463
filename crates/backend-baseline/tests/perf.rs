//! Release-mode checks, ignored by default (`cargo test --release -p
//! tandem-backend-baseline --test perf -- --ignored --nocapture`):
//! compile speed on a large real-world module, and the bench kernels'
//! results and run times on both backends.

use std::time::Instant;
use tandem_codegen_api::Backend;
use tandem_store::{BackendKind, Config, Engine, Instance, Module, Store, Val};

const ESBUILD: &str = "/work/shared/realworld/esbuild-wasm-0.28.2.esbuild.wasm";
const BENCH: &str = "/work/shared/bench";

#[test]
#[ignore = "needs /work/shared and a release build"]
fn compile_speed_single_thread() {
    let bytes = std::fs::read(ESBUILD).expect("esbuild module");
    let translation =
        tandem_environ::translate(&bytes, tandem_environ::default_features()).expect("valid");
    let backend = tandem_backend_baseline::BaselineBackend::new().expect("backend");
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("pool");
    let (mut best, mut best_cpu) = (f64::MAX, f64::MAX);
    for _ in 0..5 {
        let start = Instant::now();
        let (module, cpu) = pool.install(|| {
            let cpu = thread_cpu_seconds();
            let m = backend.compile_module(&translation, &Default::default());
            (m, thread_cpu_seconds() - cpu)
        });
        let module = module.expect("compiles");
        let secs = start.elapsed().as_secs_f64();
        best = best.min(secs);
        best_cpu = best_cpu.min(cpu);
        let code: usize = module.funcs.iter().map(|f| f.code.len()).sum();
        eprintln!(
            "compiled {} functions, {} bytes of code in {secs:.3} s ({cpu:.3} s of CPU)",
            module.funcs.len(),
            code
        );
    }
    let mb = bytes.len() as f64 / (1 << 20) as f64;
    eprintln!(
        "baseline: {:.1} MB/s wall-clock, {:.1} MB/s of thread CPU time, single-threaded ({mb:.1} MB)",
        mb / best,
        mb / best_cpu
    );
}

/// CPU time consumed by the calling thread (the machine is shared, so
/// wall-clock time includes waiting for a core).
fn thread_cpu_seconds() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime");
    ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
}

/// Runs `run` of a bench module with `backend`, returning (result, seconds).
fn run_bench(engine: &Engine, bytes: &[u8], backend: BackendKind) -> (String, f64) {
    let module = Module::with_backend(engine, bytes, backend).expect("compiles");
    let mut store = Store::new(engine, ());
    let instance = Instance::new(&mut store, &module, &[]).expect("instantiates");
    let run = instance.get_func(&mut store, "run").expect("run export");
    let mut out = vec![Val::I32(0)];
    let start = Instant::now();
    run.call(&mut store, &[], &mut out).expect("runs");
    let secs = start.elapsed().as_secs_f64();
    let r = match out[0] {
        Val::I32(v) => v.to_string(),
        Val::I64(v) => v.to_string(),
        ref other => format!("{other:?}"),
    };
    (r, secs)
}

#[test]
#[ignore = "needs /work/shared and a release build"]
fn bench_results_match_expected() {
    let expected = std::fs::read_to_string(format!("{BENCH}/expected.txt")).expect("expected.txt");
    let engine = Engine::new(Config::new().max_wasm_stack(8 << 20)).expect("engine");
    let mut failures = Vec::new();
    for line in expected
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let mut parts = line.split_whitespace();
        let (Some(name), Some(want)) = (parts.next(), parts.next()) else {
            continue;
        };
        let bytes = std::fs::read(format!("{BENCH}/{name}.wasm")).expect("bench module");
        let (got, base_secs) = run_bench(&engine, &bytes, BackendKind::Baseline);
        let (_, cl_secs) = run_bench(&engine, &bytes, BackendKind::Cranelift);
        eprintln!(
            "{name:12} baseline {got:>22} {base_secs:7.3} s   cranelift {cl_secs:7.3} s   ratio {:.2}",
            base_secs / cl_secs
        );
        if got != want {
            failures.push(format!("{name}: expected {want}, got {got}"));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}
