//! `tandem run` with WASI programs, in `wasmtime run`'s conventions: the
//! C test programs of `tandem-wasi` (built with plain `clang
//! --target=wasm32-wasi`) get their args, env, stdio, directories and exit
//! status as they would under `wasmtime run`, on both backends.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

struct Output {
    status: Option<i32>,
    stdout: String,
    stderr: String,
}

/// The exit status of a trap: 128 + SIGABRT.
const TRAP: i32 = 134;

fn program(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../wasi/tests/programs")
        .join(format!("{name}.wasm"));
    assert!(
        path.exists(),
        "{} is missing; build it with `cargo xtask wasi-programs`",
        path.display()
    );
    path.display().to_string()
}

/// Runs `tandem` with `args`, stdin `input`, in `dir`, with a clean
/// environment plus `env`.
fn tandem_in(dir: &Path, args: &[&str], input: &[u8], env: &[(&str, &str)]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tandem"))
        .args(args)
        .current_dir(dir)
        .env_clear()
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the tandem binary runs");
    child.stdin.take().unwrap().write_all(input).unwrap();
    let out = child.wait_with_output().unwrap();
    Output {
        status: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn tandem(args: &[&str]) -> Output {
    tandem_in(Path::new("."), args, b"", &[])
}

const BACKENDS: [&str; 2] = ["cranelift", "baseline"];

#[test]
fn everything_after_the_file_is_the_programs() {
    let args_env = program("args_env");
    for backend in BACKENDS {
        let out = tandem(&[
            "run",
            "--backend",
            backend,
            &args_env,
            "--flag=1",
            "-",
            "--invoke",
            "x",
            "",
        ]);
        assert_eq!(out.status, Some(0), "{}", out.stderr);
        assert_eq!(
            out.stdout,
            "argc=6\nargv[0]=args_env.wasm\nargv[1]=--flag=1\nargv[2]=-\nargv[3]=--invoke\n\
             argv[4]=x\nargv[5]=\nPATH=(unset)\n"
        );
        let out = tandem(&["run", "--backend", backend, "--argv0", "prog", &args_env]);
        assert_eq!(out.stdout, "argc=1\nargv[0]=prog\nPATH=(unset)\n");
    }
}

#[test]
fn env_is_only_what_env_options_give() {
    let dir = tempfile::tempdir().unwrap();
    let args_env = program("args_env");
    let host_env = [
        ("HOST_ONLY", "secret"),
        ("COPIED", "from host"),
        ("PATH", "/bin"),
    ];
    let out = tandem_in(
        dir.path(),
        &[
            "run",
            "--env",
            "A=1",
            "--env",
            "B=x=y",
            "--env",
            "COPIED",
            "--env",
            "UNSET_HERE",
            &args_env,
        ],
        b"",
        &host_env,
    );
    assert_eq!(out.status, Some(0), "{}", out.stderr);
    assert_eq!(
        out.stdout,
        "argc=1\nargv[0]=args_env.wasm\nenv A=1\nenv B=x=y\nenv COPIED=from host\nPATH=(unset)\n"
    );
}

#[test]
fn exit_statuses_and_traps() {
    let stdio_exit = program("stdio_exit");
    for backend in BACKENDS {
        let run = |args: &[&str]| {
            let mut all = vec!["run", "--backend", backend, &stdio_exit];
            all.extend_from_slice(args);
            tandem(&all)
        };
        let out = run(&[]);
        assert_eq!(out.status, Some(0), "{}", out.stderr);
        assert_eq!(
            (out.stdout.as_str(), out.stderr.as_str()),
            ("to stdout\n", "to stderr\n")
        );
        assert_eq!(run(&["exit", "5"]).status, Some(5));
        assert_eq!(run(&["return", "6"]).status, Some(6));
        assert_eq!(run(&["raw", "125"]).status, Some(125));
        let out = run(&["abort"]);
        assert_eq!(out.status, Some(TRAP), "{}", out.stderr);
        assert!(
            out.stderr
                .contains("error: wasm trap: unreachable\nwasm backtrace:\n    0: abort"),
            "{}",
            out.stderr
        );
        let out = run(&["exit", "200"]);
        assert_eq!(out.status, Some(1), "{}", out.stderr);
        assert!(
            out.stderr.contains(
                "error: exit with invalid exit status outside of [0..126)\nwasm backtrace:"
            ),
            "{}",
            out.stderr
        );
    }
}

#[test]
fn stdin_to_stdout() {
    let filter = program("filter");
    let text = "a line\nanother one\n".repeat(5000);
    for backend in BACKENDS {
        let out = tandem_in(
            Path::new("."),
            &["run", "--backend", backend, &filter, "upper"],
            text.as_bytes(),
            &[],
        );
        assert_eq!(out.status, Some(0), "{}", out.stderr);
        assert_eq!(out.stdout, text.to_uppercase());
    }
}

#[test]
fn directories_with_and_without_guest_names() {
    let files = program("files");
    for backend in BACKENDS {
        let root = tempfile::tempdir().unwrap();
        for name in ["mapped", "bare", "dot"] {
            std::fs::create_dir(root.path().join(name)).unwrap();
        }
        for (dir_arg, guest) in [
            ("mapped::/sandbox", "/sandbox"),
            ("bare", "bare"),
            ("dot::.", "."),
        ] {
            let out = tandem_in(
                root.path(),
                &["run", "--backend", backend, "--dir", dir_arg, &files, guest],
                b"",
                &[],
            );
            assert_eq!(
                out.status,
                Some(0),
                "--dir {dir_arg}: {}{}",
                out.stdout,
                out.stderr
            );
            assert!(out.stdout.ends_with("ok rights\n"), "{}", out.stdout);
        }
        for name in ["mapped", "bare", "dot"] {
            assert!(root.path().join(name).join("many/f299").exists(), "{name}");
        }
        // Without --dir the program has no file system at all.
        let out = tandem_in(root.path(), &["run", &files, "/sandbox"], b"", &[]);
        assert_eq!(out.status, Some(1));
        assert!(out.stdout.starts_with("FAILED"), "{}", out.stdout);
    }
    let out = tandem(&["run", "--dir", "/surely/not/here", &files, "x"]);
    assert_eq!(out.status, Some(1));
    assert!(
        out.stderr
            .starts_with("error: --dir /surely/not/here: cannot open directory"),
        "{}",
        out.stderr
    );
}

#[test]
fn fuel_and_timeout_stop_wasi_programs() {
    let writes = program("writes");
    let filter = program("filter");
    for backend in BACKENDS {
        let out = tandem(&[
            "run",
            "--backend",
            backend,
            "--fuel",
            "100000",
            &writes,
            "1000000000",
        ]);
        assert_eq!(out.status, Some(TRAP), "{}", out.stderr);
        assert!(
            out.stderr
                .starts_with("error: wasm trap: all fuel consumed"),
            "{}",
            out.stderr
        );
        // Writing to a pipe nobody reads fast: stopped at a Wasm check.
        let out = tandem(&[
            "run",
            "--backend",
            backend,
            "--timeout",
            "0.3",
            &writes,
            "1000000000",
        ]);
        assert_eq!(out.status, Some(TRAP), "{}", out.stderr);
        assert!(
            out.stderr.contains("error: wasm trap: interrupt"),
            "{}",
            out.stderr
        );
    }
    // Blocked reading a stdin that never ends: stopped from outside.
    let mut child = Command::new(env!("CARGO_BIN_EXE_tandem"))
        .args(["run", "--timeout", "0.3", &filter])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdin = child.stdin.take();
    let started = std::time::Instant::now();
    let out = child.wait_with_output().unwrap();
    drop(stdin);
    assert_eq!(out.status.code(), Some(TRAP));
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("error: wasm trap: interrupt (while blocked in a host call)"),
        "{stderr}"
    );
}

#[test]
fn help_shows_the_wasi_options() {
    let out = tandem(&["run", "--help"]);
    assert_eq!(out.status, Some(0));
    for option in [
        "tandem run [OPTIONS] FILE [ARGS]...",
        "--dir <HOST[::GUEST]>",
        "--env <NAME[=VALUE]>",
        "--argv0 <NAME>",
        "--invoke <NAME>",
        "--tcplisten <ADDRESS>",
        "--fuel <UNITS>",
        "--timeout <SECONDS>",
        "--backend <BACKEND>",
    ] {
        assert!(
            out.stdout.contains(option),
            "`{option}` missing:\n{}",
            out.stdout
        );
    }
}

#[test]
fn invoke_a_wasi_modules_function() {
    // A reactor: `_initialize` runs first, then the function, whose
    // arguments are its parameters.
    let dir = tempfile::tempdir().unwrap();
    let path: PathBuf = dir.path().join("reactor.wat");
    std::fs::write(
        &path,
        r#"(module
            (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
            (memory (export "memory") 1)
            (global $base (mut i32) (i32.const 0))
            (func (export "_initialize") (global.set $base (i32.const 100)))
            (func (export "add") (param i32) (result i32)
              (i32.add (global.get $base) (local.get 0)))
            (func (export "quit") (param i32) (call $exit (local.get 0))))"#,
    )
    .unwrap();
    let path = path.display().to_string();
    let out = tandem(&["run", "--invoke", "add", &path, "5"]);
    assert_eq!(
        (out.status, out.stdout.as_str()),
        (Some(0), "105\n"),
        "{}",
        out.stderr
    );
    let out = tandem(&["run", "--invoke", "quit", &path, "3"]);
    assert_eq!(out.status, Some(3), "{}", out.stderr);
}

#[test]
fn a_socket_from_tcplisten() {
    let sockets = program("sockets");
    // A free port (a race with other processes is possible, not likely).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let address = format!("127.0.0.1:{port}");
    let child = Command::new(env!("CARGO_BIN_EXE_tandem"))
        .args(["run", "--tcplisten", &address, &sockets])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stream = (0..200)
        .find_map(|_| {
            std::net::TcpStream::connect(&address)
                .map_err(|_| std::thread::sleep(std::time::Duration::from_millis(25)))
                .ok()
        })
        .expect("tandem listens");
    stream.write_all(b"over tcp\n").unwrap();
    let mut reply = String::new();
    std::io::Read::read_to_string(&mut stream, &mut reply).unwrap();
    assert_eq!(reply, "OVER TCP\n");
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "served 9 bytes on descriptor 4\n"
    );
}

#[test]
fn precompiled_wasi_programs_take_everything_after_the_file() {
    let args_env = program("args_env");
    let dir = std::env::temp_dir().join(format!("tandem-wasi-twasm-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let artifact = dir.join("args_env.twasm");
    let artifact = artifact.to_str().expect("utf-8 temp path");
    for backend in BACKENDS {
        let out = tandem(&["compile", "--backend", backend, &args_env, "-o", artifact]);
        assert_eq!(out.status, Some(0), "{}", out.stderr);
        // Found to import WASI only once loaded, so `--invoke x` is the
        // program's argument, not an option.
        let out = tandem(&["run", artifact, "--invoke", "x"]);
        assert_eq!(out.status, Some(0), "{}", out.stderr);
        assert_eq!(
            out.stdout,
            "argc=3\nargv[0]=args_env.twasm\nargv[1]=--invoke\nargv[2]=x\nPATH=(unset)\n"
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
