//! A fuzz campaign: seeds run in child processes for a time budget, so that
//! a crash (a signal Tandem does not handle, an abort) or a hang fails one
//! case, is reported with its seed, and the campaign goes on.
//!
//! The child is the embedding binary again (`cargo xtask fuzz-worker ...`,
//! see [`worker`]); it runs seeds `first`, `first + stride`, ... and streams
//! one tab-separated line per event on stdout:
//!
//! ```text
//! case SEED                     a case begins
//! ok SEED NAME=N,NAME=N         it passed, adding these counts
//! finding SEED PATH SUMMARY     it found something, written to PATH
//! done                          the time is up
//! ```

use crate::{Counters, Finding, Target, Worker, repro};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A case silent for this long is a hang (cases take milliseconds;
/// minimising a finding takes seconds).
pub const HANG_TIMEOUT: Duration = Duration::from_secs(120);

/// Stack of the thread that runs cases: Wasm may use
/// [`tandem::MAX_WASM_STACK`](crate::tandem::MAX_WASM_STACK) of it.
const CASE_STACK: usize = 64 << 20;

/// Findings a summary lists (all are written to files).
const SHOWN_FINDINGS: usize = 20;

/// What to run.
#[derive(Clone, Debug)]
pub struct Options {
    /// The target.
    pub target: Target,
    /// How long.
    pub time: Duration,
    /// The first seed; case `i` of the campaign has seed `seed + i`.
    pub seed: u64,
    /// Child processes at once.
    pub jobs: usize,
    /// Where findings are written.
    pub findings: PathBuf,
}

/// What a campaign did.
#[derive(Debug)]
pub struct Summary {
    /// The target.
    pub target: Target,
    /// Cases run to the end.
    pub cases: u64,
    /// Their counts added up.
    pub counters: Counters,
    /// Wall-clock time.
    pub elapsed: Duration,
    /// `(seed, repro path, summary)` of every finding.
    pub findings: Vec<(u64, PathBuf, String)>,
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let secs = self.elapsed.as_secs_f64().max(1e-9);
        write!(
            f,
            "fuzz {}: {} cases in {:.1} s ({:.1} execs/s)",
            self.target,
            self.cases,
            secs,
            self.cases as f64 / secs
        )?;
        for (name, n) in &self.counters.0 {
            write!(f, ", {name} {n}")?;
        }
        write!(f, "; {} finding(s)", self.findings.len())?;
        for (seed, path, summary) in self.findings.iter().take(SHOWN_FINDINGS) {
            write!(
                f,
                "\n  seed {seed}: {summary}\n    repro: {}",
                path.display()
            )?;
        }
        if self.findings.len() > SHOWN_FINDINGS {
            write!(
                f,
                "\n  ... and {} more",
                self.findings.len() - SHOWN_FINDINGS
            )?;
        }
        Ok(())
    }
}

/// The child side: `TARGET FIRST STRIDE SECONDS FINDINGS_DIR`.
pub fn worker(args: &[String]) -> Result<(), String> {
    let [target, first, stride, seconds, dir] = args else {
        return Err("usage: fuzz-worker TARGET FIRST STRIDE SECONDS FINDINGS_DIR".into());
    };
    let target: Target = target.parse()?;
    let parse = |s: &String| s.parse::<u64>().map_err(|e| format!("`{s}`: {e}"));
    let (first, stride) = (parse(first)?, parse(stride)?.max(1));
    let seconds: f64 = seconds.parse().map_err(|e| format!("`{seconds}`: {e}"))?;
    let dir = PathBuf::from(dir);
    let deadline = Instant::now() + Duration::from_secs_f64(seconds.max(0.0));
    quiet_panics();
    on_big_stack(move || {
        let mut worker = Worker::default();
        let mut seed = first;
        while Instant::now() < deadline {
            println!("case\t{seed}");
            match worker.run(target, seed) {
                Ok(counters) => {
                    let counts: Vec<String> =
                        counters.0.iter().map(|(k, v)| format!("{k}={v}")).collect();
                    println!("ok\t{seed}\t{}", counts.join(","));
                }
                Err(finding) => report(&dir, &finding),
            }
            seed = seed.wrapping_add(stride);
        }
        println!("done");
    })
}

fn report(dir: &Path, finding: &Finding) {
    match repro::write(dir, finding) {
        Ok(path) => println!(
            "finding\t{}\t{}\t{}",
            finding.seed,
            path.display(),
            one_line(&finding.summary)
        ),
        Err(e) => println!(
            "finding\t{}\t(not written: {e})\t{}",
            finding.seed,
            one_line(&finding.summary)
        ),
    }
}

fn one_line(s: &str) -> String {
    s.replace(['\n', '\t'], " ")
}

/// Runs `f` on a thread with a large stack and waits for it.
pub fn on_big_stack<R: Send + 'static>(
    f: impl FnOnce() -> R + Send + 'static,
) -> Result<R, String> {
    std::thread::Builder::new()
        .stack_size(CASE_STACK)
        .spawn(f)
        .map_err(|e| format!("cannot start the case thread: {e}"))?
        .join()
        .map_err(|panic| {
            format!(
                "the case thread panicked: {}",
                crate::panic_message(&*panic)
            )
        })
}

/// Panics are caught and reported as findings (or as an oracle's failure);
/// the default hook would print each one.
pub fn quiet_panics() {
    std::panic::set_hook(Box::new(|_| {}));
}

/// Runs one case in this process and returns its finding, if any (for
/// `--repro`).
pub fn run_one(target: Target, seed: u64) -> Result<Result<Counters, Finding>, String> {
    on_big_stack(move || Worker::default().run(target, seed))
}

/// The parent side: `jobs` children of `exe worker_args...`, restarted past
/// a crash or hang, until `options.time` is up.
pub fn run(exe: &Path, worker_args: &[&str], options: &Options) -> Result<Summary, String> {
    let start = Instant::now();
    let deadline = start + options.time;
    let jobs = options.jobs.max(1);
    let results: Vec<Result<Partial, String>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..jobs)
            .map(|j| {
                scope.spawn(move || {
                    let mut partial = Partial::default();
                    let mut next = options.seed.wrapping_add(j as u64);
                    while Instant::now() < deadline {
                        let remaining = deadline.saturating_duration_since(Instant::now());
                        match run_child(
                            exe,
                            worker_args,
                            options,
                            next,
                            jobs as u64,
                            remaining,
                            &mut partial,
                        )? {
                            ChildEnd::Done => break,
                            ChildEnd::Died { seed, reason } => {
                                let finding = Finding {
                                    target: options.target,
                                    seed,
                                    summary: reason,
                                    details: String::new(),
                                    module: crate::module_of(options.target, seed),
                                };
                                let path = repro::write(&options.findings, &finding)
                                    .map_err(|e| format!("cannot write a repro: {e}"))?;
                                partial.findings.push((seed, path, finding.summary));
                                next = seed.wrapping_add(jobs as u64);
                            }
                        }
                    }
                    Ok(partial)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err("a campaign thread panicked".into()))
            })
            .collect()
    });
    let mut summary = Summary {
        target: options.target,
        cases: 0,
        counters: Counters::default(),
        elapsed: Duration::ZERO,
        findings: Vec::new(),
    };
    for result in results {
        let partial = result?;
        summary.cases += partial.cases;
        summary.counters.merge(&partial.counters);
        summary.findings.extend(partial.findings);
    }
    summary.findings.sort();
    summary.elapsed = start.elapsed();
    Ok(summary)
}

#[derive(Default)]
struct Partial {
    cases: u64,
    counters: Counters,
    findings: Vec<(u64, PathBuf, String)>,
}

enum ChildEnd {
    Done,
    Died { seed: u64, reason: String },
}

#[allow(clippy::too_many_arguments)]
fn run_child(
    exe: &Path,
    worker_args: &[&str],
    options: &Options,
    first: u64,
    stride: u64,
    time: Duration,
    partial: &mut Partial,
) -> Result<ChildEnd, String> {
    let mut child = Command::new(exe)
        .args(worker_args)
        .args([
            options.target.name().to_string(),
            first.to_string(),
            stride.to_string(),
            format!("{:.3}", time.as_secs_f64()),
            options.findings.display().to_string(),
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start a fuzz worker: {e}"))?;
    let stdout = child.stdout.take().ok_or("no worker stdout")?;
    let mut stderr = child.stderr.take().ok_or("no worker stderr")?;
    let (lines_tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    let errors = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let mut current = first;
    let mut done = false;
    let end = loop {
        match lines.recv_timeout(HANG_TIMEOUT) {
            Ok(line) => {
                let fields: Vec<&str> = line.splitn(4, '\t').collect();
                match fields[..] {
                    ["case", seed] => current = seed.parse().unwrap_or(current),
                    ["ok", _, counts] | ["ok", _, counts, ..] => {
                        partial.cases += 1;
                        for pair in counts.split(',').filter(|p| !p.is_empty()) {
                            if let Some((name, n)) = pair.split_once('=') {
                                partial.counters.add(name, n.parse().unwrap_or(0));
                            }
                        }
                    }
                    ["ok", _] => partial.cases += 1,
                    ["finding", seed, path, summary] => {
                        partial.cases += 1;
                        partial.findings.push((
                            seed.parse().unwrap_or(current),
                            PathBuf::from(path),
                            summary.to_string(),
                        ));
                    }
                    ["done"] => done = true,
                    _ => {}
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                kill(&mut child);
                break ChildEnd::Died {
                    seed: current,
                    reason: format!("hang: no progress for {} s", HANG_TIMEOUT.as_secs()),
                };
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                let status = child
                    .wait()
                    .map_err(|e| format!("cannot wait for a worker: {e}"))?;
                if done && status.success() {
                    break ChildEnd::Done;
                }
                let stderr = errors.join().unwrap_or_default();
                let tail: Vec<&str> = stderr.lines().rev().take(3).collect();
                let tail: Vec<&str> = tail.into_iter().rev().collect();
                break ChildEnd::Died {
                    seed: current,
                    reason: format!("crash ({status}): {}", one_line(&tail.join(" | "))),
                };
            }
        }
    };
    Ok(end)
}

fn kill(child: &mut Child) {
    // The child may have exited meanwhile; either way it is gone after.
    let _ = child.kill();
    let _ = child.wait();
}
