//! Running spec files one per child process, so that a crash (an abort, a
//! signal the runtime does not handle, a hang) fails only its own file.
//!
//! The child is this binary again, `xtask spec-worker BACKEND SET FILE`; it
//! runs the file with [`WastRunner`] and streams one line per event on
//! stdout (each `println!` reaches the pipe at once), so whatever ran before
//! a crash still counts:
//!
//! ```text
//! start LINE            a directive begins
//! pass                  it passed
//! fail LINE MESSAGE     a directive failed (tab-separated)
//! done                  the script finished
//! ```

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tandem_store::{BackendKind, Engine};
use tandem_wast::{Event, Failure, ScriptReport, SpecSet, SuiteReport, WastRunner, spec_suite};

/// A file still running after this long is killed and reported as a hang.
const FILE_TIMEOUT: Duration = Duration::from_secs(600);

/// The child side: runs `file` of `set` on `backend`, streaming events.
pub fn worker(args: &[String]) -> Result<(), String> {
    let [backend, set, file] = args else {
        return Err("usage: xtask spec-worker BACKEND SET FILE".to_string());
    };
    let backend: BackendKind = backend.parse()?;
    let set: SpecSet = set.parse()?;
    let (name, text) = spec_suite(set)
        .into_iter()
        .find(|(name, _)| name == file)
        .ok_or_else(|| format!("no file `{file}` in the {set} suite"))?;
    let engine = Engine::new(&set.config(backend)).map_err(|e| e.to_string())?;
    WastRunner::new(engine).run_script_observed(&name, text, &mut |event| match event {
        Event::Start { line } => println!("start\t{line}"),
        Event::Pass => println!("pass"),
        Event::Fail(failure) => println!("fail\t{}\t{}", failure.line, failure.message),
    });
    println!("done");
    Ok(())
}

/// Runs every file of `set` whose name contains `filter`, `jobs` children
/// at a time, and gathers their reports in file-name order.
pub fn run_set(
    backend: BackendKind,
    set: SpecSet,
    filter: &str,
    jobs: usize,
) -> Result<SuiteReport, String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find the xtask binary: {e}"))?;
    let names: Vec<String> = spec_suite(set)
        .into_iter()
        .map(|(name, _)| name)
        .filter(|name| name.contains(filter))
        .collect();
    let start = Instant::now();
    let next = AtomicUsize::new(0);
    let reports = Mutex::new(Vec::with_capacity(names.len()));
    std::thread::scope(|scope| {
        for _ in 0..jobs.clamp(1, names.len().max(1)) {
            scope.spawn(|| {
                while let Some(name) = names.get(next.fetch_add(1, Ordering::Relaxed)) {
                    let report = run_file(&exe, backend, set, name);
                    reports
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push(report);
                }
            });
        }
    });
    let mut scripts = reports.into_inner().unwrap_or_else(|e| e.into_inner());
    scripts.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(SuiteReport {
        backend,
        set,
        scripts,
        elapsed: start.elapsed(),
    })
}

/// Runs one file in a child and rebuilds its report from the event stream.
fn run_file(exe: &std::path::Path, backend: BackendKind, set: SpecSet, name: &str) -> ScriptReport {
    let start = Instant::now();
    let mut report = ScriptReport {
        name: name.to_string(),
        ..ScriptReport::default()
    };
    let child = Command::new(exe)
        .args(["spec-worker", &backend.to_string(), set.name(), name])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(child) => child,
        Err(e) => {
            report.failures.push(Failure {
                line: 0,
                message: format!("cannot start a spec worker: {e}"),
            });
            return report;
        }
    };
    let (stdout, stderr) = (child.stdout.take(), child.stderr.take());
    let (outcome, stdout, stderr) = std::thread::scope(|scope| {
        let out = scope.spawn(move || read_events(stdout));
        let err = scope.spawn(move || {
            let mut text = String::new();
            if let Some(mut pipe) = stderr {
                // A read error only loses the crash details.
                let _ = pipe.read_to_string(&mut text);
            }
            text
        });
        let outcome = wait_with_timeout(&mut child, FILE_TIMEOUT);
        (
            outcome,
            out.join().unwrap_or_default(),
            err.join().unwrap_or_default(),
        )
    });

    let mut line = 0;
    let mut done = false;
    for event in stdout {
        match event {
            Parsed::Start(l) => line = l,
            Parsed::Pass => report.passed += 1,
            Parsed::Fail(failure) => report.failures.push(failure),
            Parsed::Done => done = true,
        }
    }
    let problem = match outcome {
        Err(message) => Some(message),
        Ok(status) if !status.success() || !done => Some(format!(
            "worker crashed ({status}) during the directive on line {line}: {}",
            crash_reason(&stderr)
        )),
        Ok(_) => None,
    };
    if let Some(message) = problem {
        report.failures.push(Failure { line, message });
    }
    report.elapsed = start.elapsed();
    report
}

/// One line of the worker protocol.
#[derive(Debug, PartialEq)]
enum Parsed {
    Start(usize),
    Pass,
    Fail(Failure),
    Done,
}

fn parse_event(line: &str) -> Option<Parsed> {
    let mut fields = line.splitn(3, '\t');
    match fields.next()? {
        "start" => Some(Parsed::Start(fields.next()?.parse().ok()?)),
        "pass" => Some(Parsed::Pass),
        "fail" => {
            let line = fields.next()?.parse().ok()?;
            let message = fields.next().unwrap_or("").to_string();
            Some(Parsed::Fail(Failure { line, message }))
        }
        "done" => Some(Parsed::Done),
        _ => None,
    }
}

/// Every protocol line of the child's stdout (other output is ignored:
/// `spectest` printing is off, but a backend may log).
fn read_events(stdout: Option<std::process::ChildStdout>) -> Vec<Parsed> {
    let Some(stdout) = stdout else {
        return Vec::new();
    };
    BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .filter_map(|line| parse_event(&line))
        .collect()
}

fn wait_with_timeout(
    child: &mut std::process::Child,
    timeout: Duration,
) -> Result<std::process::ExitStatus, String> {
    let start = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Ok(status),
            Ok(None) if start.elapsed() > timeout => {
                // Killing can only fail if the child already exited.
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "worker killed after {} s (hang?)",
                    timeout.as_secs()
                ));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => return Err(format!("cannot wait for the worker: {e}")),
        }
    }
}

/// The panic message from a crashed child's stderr if there is one (the
/// line after `panicked at`), else its last non-empty line.
fn crash_reason(stderr: &str) -> String {
    let lines: Vec<&str> = stderr
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    if let Some(i) = lines.iter().position(|l| l.contains("panicked at")) {
        let location = lines[i].split("panicked at").nth(1).unwrap_or("").trim();
        let message = lines.get(i + 1).copied().unwrap_or("");
        return format!("panic at {location} {message}");
    }
    lines
        .last()
        .map_or_else(|| "no output".to_string(), |l| l.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocol_lines() {
        assert_eq!(parse_event("start\t12"), Some(Parsed::Start(12)));
        assert_eq!(parse_event("pass"), Some(Parsed::Pass));
        assert_eq!(
            parse_event("fail\t3\texpected i32:1, got\ti32:2"),
            Some(Parsed::Fail(Failure {
                line: 3,
                message: "expected i32:1, got\ti32:2".to_string()
            }))
        );
        assert_eq!(parse_event("done"), Some(Parsed::Done));
        assert_eq!(parse_event("start\tx"), None);
        assert_eq!(parse_event("42 : i32"), None);
    }

    #[test]
    fn crash_reasons() {
        let stderr = "\nthread 'main' (1) panicked at crates/store/src/func.rs:275:25:\n\
                      misaligned pointer dereference\nstack backtrace:\n   0: x\n";
        assert_eq!(
            crash_reason(stderr),
            "panic at crates/store/src/func.rs:275:25: misaligned pointer dereference"
        );
        assert_eq!(
            crash_reason("a\nSegmentation fault\n"),
            "Segmentation fault"
        );
        assert_eq!(crash_reason(""), "no output");
    }
}
