//! The `tandem` binary end to end: results on stdout, and for every kind of
//! bad input one `error:` line on stderr, status 1 and no panic; a trap
//! ends with status 134, as under `wasmtime run`.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The exit status of a trap: 128 + SIGABRT.
const TRAP: i32 = 134;

struct Output {
    status: Option<i32>,
    stdout: String,
    stderr: String,
}

fn tandem(args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_tandem"))
        .args(args)
        .output()
        .expect("the tandem binary runs");
    Output {
        status: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn example(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples")
        .join(name)
        .display()
        .to_string()
}

/// Writes `bytes` to a file private to this test process.
fn temp_file(name: &str, bytes: &[u8]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tandem-cli-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("temp file");
    path
}

fn fib_wasm() -> Vec<u8> {
    wat::parse_file(example("fib.wat")).expect("fib.wat parses")
}

/// Status 1, exactly one stderr line `error: ...` containing every needle.
#[track_caller]
fn assert_error(out: &Output, needles: &[&str]) {
    assert_eq!(out.status, Some(1), "stderr: {}", out.stderr);
    let lines: Vec<_> = out.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line expected, got: {:?}", out.stderr);
    assert!(lines[0].starts_with("error: "), "{}", lines[0]);
    assert!(!lines[0].contains("internal error"), "{}", lines[0]);
    for needle in needles {
        assert!(
            lines[0].contains(needle),
            "`{needle}` missing from: {}",
            lines[0]
        );
    }
}

#[test]
fn fib_example_prints_6765() {
    let out = tandem(&["run", &example("fib.wat"), "--invoke", "fib", "20"]);
    assert_eq!(out.status, Some(0), "stderr: {}", out.stderr);
    assert_eq!(out.stdout, "6765\n");
}

#[test]
fn binary_modules_hex_and_negative_arguments() {
    let wasm = temp_file("fib.wasm", &fib_wasm());
    let wasm = wasm.to_str().expect("utf-8 temp path");
    let out = tandem(&["run", wasm, "0xa"]);
    assert_eq!(
        (out.status, out.stdout.as_str()),
        (Some(0), "55\n"),
        "{}",
        out.stderr
    );
    let out = tandem(&["run", wasm, "-1"]);
    assert_eq!(
        (out.status, out.stdout.as_str()),
        (Some(0), "-1\n"),
        "{}",
        out.stderr
    );
}

#[test]
fn start_export_and_spectest_imports() {
    let out = tandem(&["run", &example("factorial.wat")]);
    assert_eq!(out.status, Some(0), "stderr: {}", out.stderr);
    assert_eq!(out.stdout, "3628800 : i64\n");
    let out = tandem(&["run", &example("factorial.wat"), "--invoke", "fac", "20"]);
    assert_eq!(
        out.stdout, "2432902008176640000\n",
        "stderr: {}",
        out.stderr
    );
}

#[test]
fn float_results_print_like_rust() {
    let path = temp_file(
        "floats.wat",
        br#"(module (func (export "f") (param f32 f64) (result f32 f64 i64)
              local.get 0 local.get 1 f64.const 0.5 f64.mul i64.const -3))"#,
    );
    let out = tandem(&["run", path.to_str().expect("utf-8"), "2.5", "-7"]);
    assert_eq!(out.status, Some(0), "stderr: {}", out.stderr);
    assert_eq!(out.stdout, "2.5\n-3.5\n-3\n");
}

#[test]
fn trap_prints_message_and_backtrace() {
    let out = tandem(&[
        "run",
        &example("divide.wat"),
        "--invoke",
        "average",
        "10",
        "0",
    ]);
    assert_eq!(out.status, Some(TRAP));
    assert!(out.stderr.starts_with("error: "), "{}", out.stderr);
    assert!(
        out.stderr.contains("integer divide by zero"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.lines().count() >= 2,
        "a backtrace follows: {}",
        out.stderr
    );
    let out = tandem(&[
        "run",
        &example("divide.wat"),
        "--invoke",
        "average",
        "10",
        "4",
    ]);
    assert_eq!(out.stdout, "2\n", "stderr: {}", out.stderr);
}

#[test]
fn compile_reports_function_count() {
    let out = tandem(&["compile", &example("divide.wat")]);
    assert_eq!(out.status, Some(0), "stderr: {}", out.stderr);
    assert!(
        out.stdout.starts_with("compiled 3 function(s)"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains(" ms"), "{}", out.stdout);
}

#[test]
fn precompiled_modules_run_without_compiling() {
    let artifact = temp_file("fib.twasm", b"");
    let artifact = artifact.to_str().expect("utf-8 temp path");
    for backend in ["cranelift", "baseline"] {
        let out = tandem(&[
            "compile",
            &example("fib.wat"),
            "--backend",
            backend,
            "-o",
            artifact,
        ]);
        assert_eq!(out.status, Some(0), "stderr: {}", out.stderr);
        assert!(
            out.stdout.contains("wrote the precompiled module"),
            "{}",
            out.stdout
        );
        let run = tandem(&["run", artifact, "--invoke", "fib", "20"]);
        assert_eq!(
            (run.status, run.stdout.as_str()),
            (Some(0), "6765\n"),
            "{}",
            run.stderr
        );
        let same = tandem(&[
            "run",
            artifact,
            "--backend",
            backend,
            "--invoke",
            "fib",
            "20",
        ]);
        assert_eq!(same.stdout, "6765\n", "{}", same.stderr);
    }
    assert_error(
        &tandem(&[
            "run",
            artifact,
            "--backend",
            "cranelift",
            "--invoke",
            "fib",
            "1",
        ]),
        &["precompiled with the baseline backend, not cranelift"],
    );
    // Fuel metering is compiled in: a precompiled module must have it to
    // run with --fuel.
    assert_error(
        &tandem(&["run", artifact, "--fuel", "100", "--invoke", "fib", "30"]),
        &["cannot load", "fuel metering", "Config::consume_fuel"],
    );
    let out = tandem(&[
        "compile",
        &example("fib.wat"),
        "--consume-fuel",
        "-o",
        artifact,
    ]);
    assert_eq!(out.status, Some(0), "stderr: {}", out.stderr);
    let out = tandem(&["run", artifact, "--fuel", "100", "--invoke", "fib", "30"]);
    assert_eq!(out.status, Some(134));
    assert!(out.stderr.contains("all fuel consumed"), "{}", out.stderr);

    let bytes = std::fs::read(artifact).expect("artifact");
    let truncated = temp_file("truncated.twasm", &bytes[..bytes.len() / 2]);
    assert_error(
        &tandem(&["run", truncated.to_str().expect("utf-8"), "--fuel", "1"]),
        &["truncated precompiled module"],
    );
    let mut flipped = bytes.clone();
    flipped[bytes.len() - 100] ^= 4;
    let flipped = temp_file("flipped.twasm", &flipped);
    assert_error(
        &tandem(&["run", flipped.to_str().expect("utf-8"), "--fuel", "1"]),
        &["corrupted precompiled module"],
    );
}

#[test]
fn missing_file() {
    let out = tandem(&["run", "/nonexistent/tandem/x.wasm"]);
    assert_error(&out, &["cannot read", "/nonexistent/tandem/x.wasm"]);
    assert_error(
        &tandem(&["compile", "/nonexistent/y.wat"]),
        &["cannot read"],
    );
    assert_error(&tandem(&["wast", "/nonexistent/z.wast"]), &["cannot read"]);
}

#[test]
fn truncated_binary() {
    let wasm = fib_wasm();
    // Eight bytes (magic and version) alone are a valid empty module.
    for len in [4, 6, 9, 12, wasm.len() - 1] {
        let path = temp_file(&format!("truncated-{len}.wasm"), &wasm[..len]);
        let out = tandem(&["run", path.to_str().expect("utf-8")]);
        assert_error(&out, &["offset"]);
    }
}

#[test]
fn random_bytes() {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    for round in 0..8 {
        let bytes: Vec<u8> = (0..64 + round * 16)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (state >> 24) as u8
            })
            .collect();
        let path = temp_file(&format!("random-{round}.wasm"), &bytes);
        assert_error(
            &tandem(&["run", path.to_str().expect("utf-8")]),
            &["offset"],
        );
        // The same bytes behind the magic number and version.
        let mut framed = b"\0asm\x01\0\0\0".to_vec();
        framed.extend_from_slice(&bytes);
        let path = temp_file(&format!("framed-{round}.wasm"), &framed);
        assert_error(
            &tandem(&["compile", path.to_str().expect("utf-8")]),
            &["offset"],
        );
    }
}

#[test]
fn invalid_module() {
    let path = temp_file("invalid.wat", b"(module (func (result i32) i64.const 1))");
    assert_error(
        &tandem(&["run", path.to_str().expect("utf-8")]),
        &["type mismatch", "offset"],
    );
}

#[test]
fn text_that_does_not_parse() {
    let path = temp_file("bad.wat", b"(module\n  (func i32.frobnicate))");
    assert_error(
        &tandem(&["run", path.to_str().expect("utf-8")]),
        &["cannot parse", ":2:"],
    );
}

#[test]
fn unknown_export() {
    let out = tandem(&["run", &example("fib.wat"), "--invoke", "fob"]);
    assert_error(&out, &["fob", "fib"]);
}

#[test]
fn bad_arguments() {
    let fib = example("fib.wat");
    assert_error(
        &tandem(&["run", &fib, "--invoke", "fib"]),
        &["1 argument", "got 0"],
    );
    assert_error(&tandem(&["run", &fib, "1", "2"]), &["got 2"]);
    assert_error(&tandem(&["run", &fib, "twenty"]), &["twenty", "i32"]);
    assert_error(&tandem(&["run", &fib, "4294967296"]), &["does not fit"]);
    assert_error(&tandem(&["run", &fib, "--backend", "llvm"]), &["llvm"]);
    assert_error(&tandem(&["run"]), &[]);
    assert_error(&tandem(&["frobnicate"]), &["frobnicate"]);
    assert_error(&tandem(&[]), &[]);
}

#[test]
fn help_succeeds() {
    let out = tandem(&["--help"]);
    assert_eq!(out.status, Some(0));
    assert!(out.stdout.contains("run"), "{}", out.stdout);
}

/// The usage block that opens `main.rs`'s docs lists every option each
/// subcommand's `--help` does, so the two cannot drift apart.
#[test]
fn crate_docs_usage_names_every_option() {
    let docs: Vec<&str> = include_str!("../src/main.rs")
        .lines()
        .take_while(|l| l.starts_with("//!"))
        .collect();
    for sub in ["run", "compile", "wast"] {
        // The subcommand's line and its indented continuation lines.
        let start = docs
            .iter()
            .position(|l| l.starts_with(&format!("//! tandem {sub} ")))
            .unwrap_or_else(|| panic!("no usage line for `{sub}`"));
        let usage: String = docs[start..]
            .iter()
            .enumerate()
            .take_while(|(i, l)| *i == 0 || l.starts_with("//!     "))
            .map(|(_, l)| *l)
            .collect();
        let help = tandem(&[sub, "--help"]);
        assert_eq!(help.status, Some(0));
        let options: Vec<&str> = help
            .stdout
            .split(|c: char| c.is_whitespace() || c == ',')
            .filter(|w| w.starts_with("--") && *w != "--help")
            .collect();
        assert!(!options.is_empty() || sub == "wast", "{}", help.stdout);
        for option in options {
            assert!(
                usage.contains(option),
                "`{option}` of `tandem {sub}` is missing from the usage in main.rs: {usage}"
            );
        }
    }
}

#[test]
fn wast_scripts() {
    let good = temp_file(
        "good.wast",
        br#"(module (func (export "f") (result i32) i32.const 1))
            (assert_return (invoke "f") (i32.const 1))"#,
    );
    let out = tandem(&["wast", good.to_str().expect("utf-8")]);
    assert_eq!(
        out.status,
        Some(0),
        "stdout: {} stderr: {}",
        out.stdout,
        out.stderr
    );
    assert!(
        out.stdout.contains("1 of 1 script(s) passed, 2/2"),
        "{}",
        out.stdout
    );

    let bad = temp_file(
        "bad.wast",
        b"(module (func (export \"f\") (result i32) i32.const 1))\n\
          (assert_return (invoke \"f\") (i32.const 2))\n",
    );
    let bad = bad.to_str().expect("utf-8");
    let out = tandem(&["wast", good.to_str().expect("utf-8"), bad]);
    assert_eq!(out.status, Some(1));
    assert!(out.stdout.contains(&format!("{bad}:2: ")), "{}", out.stdout);
    assert_error(&out, &["1 of 2 script(s) failed"]);
}

#[test]
fn deep_recursion_backtrace_is_folded() {
    let path = temp_file(
        "recurse.wat",
        br#"(module (func $f (export "f") (param i32) (result i32) local.get 0 call $f))"#,
    );
    let out = tandem(&["run", path.to_str().expect("utf-8"), "1"]);
    assert_eq!(out.status, Some(TRAP));
    assert!(
        out.stderr
            .starts_with("error: wasm trap: call stack exhausted"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("more identical frame(s)"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.lines().count() < 50, "{}", out.stderr);
}

#[test]
fn fuel_and_timeout_stop_a_runaway_loop() {
    let spin = temp_file(
        "spin.wat",
        br#"(module (func (export "spin") (loop $l (br $l))))"#,
    );
    let spin = spin.to_str().expect("utf-8");
    for backend in ["cranelift", "baseline"] {
        let out = tandem(&["run", spin, "--fuel", "1000", "--backend", backend]);
        assert_eq!(out.status, Some(TRAP), "{}", out.stderr);
        assert!(
            out.stderr
                .starts_with("error: wasm trap: all fuel consumed"),
            "{}",
            out.stderr
        );
        let out = tandem(&["run", spin, "--timeout", "0.05", "--backend", backend]);
        assert_eq!(out.status, Some(TRAP), "{}", out.stderr);
        assert!(
            out.stderr.starts_with("error: wasm trap: interrupt"),
            "{}",
            out.stderr
        );
    }
    // Enough of both: the call completes as without them.
    let fib = example("fib.wat");
    let out = tandem(&[
        "run",
        &fib,
        "--invoke",
        "fib",
        "20",
        "--fuel",
        "10000000",
        "--timeout",
        "600",
    ]);
    assert_eq!(out.stdout, "6765\n", "stderr: {}", out.stderr);
    let out = tandem(&["run", &fib, "--invoke", "fib", "20", "--fuel", "100"]);
    assert!(out.stderr.contains("all fuel consumed"), "{}", out.stderr);
    for bad in ["0", "-1", "nan", "inf"] {
        let out = tandem(&["run", spin, &format!("--timeout={bad}")]);
        assert_error(&out, &["--timeout takes a positive number of seconds"]);
    }
}

#[test]
fn wasm_3_modules_run_on_both_backends() {
    // A recursion group, a typed function reference called with
    // `call_ref`, and a tail-recursive loop of 10^6 calls.
    let path = temp_file(
        "wasm3.wat",
        br#"(module
              (rec (type $step (func (param i64 i64) (result i64)))
                   (type $unused (func (param (ref $step)))))
              (global $base i64 (i64.const 1))
              (global $start i64 (i64.add (global.get $base) (i64.const 2)))
              (func $sum (type $step)
                (if (result i64) (i64.eqz (local.get 0))
                  (then (local.get 1))
                  (else (return_call $sum (i64.sub (local.get 0) (i64.const 1))
                                          (i64.add (local.get 1) (local.get 0))))))
              (elem declare func $sum)
              (func (export "run") (param i64) (result i64)
                (call_ref $step (local.get 0) (global.get $start) (ref.func $sum))))"#,
    );
    for backend in ["cranelift", "baseline"] {
        let out = tandem(&[
            "run",
            path.to_str().expect("utf-8"),
            "--invoke",
            "run",
            "1000000",
            "--backend",
            backend,
        ]);
        assert_eq!(out.status, Some(0), "{backend}: {}", out.stderr);
        assert_eq!(out.stdout, "500000500003\n", "{backend}");
    }
}

#[test]
fn v128_arguments_and_results_are_128_bit_integers() {
    let wat = br#"(module (func (export "add") (param v128 v128) (result v128)
        (i32x4.add (local.get 0) (local.get 1))))"#;
    let path = temp_file("v128.wat", wat);
    let out = tandem(&[
        "run",
        path.to_str().unwrap(),
        "--backend",
        "cranelift",
        "--invoke",
        "add",
        "0x00000004000000030000000200000001",
        "0x000000010000000100000001ffffffff",
    ]);
    assert_eq!(out.status, Some(0), "stderr: {}", out.stderr);
    assert_eq!(out.stdout, "0x00000005000000040000000300000000\n");
}
