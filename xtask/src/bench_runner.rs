//! Driving `bench-runner`, the release-mode measuring binary in `benches/`:
//! building it (with wasmtime only for `--compare`), starting one command,
//! and parsing its line protocol (documented in `benches/runner/src/main.rs`)
//! into [`Line`]s as they arrive.

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A module's `run` export, as `bench-runner inspect` reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunExport {
    /// `run: () -> i32` or `() -> i64`: a run-time benchmark.
    Usable,
    /// No `run`, or one of another type: a compile-only module.
    None,
    /// The module cannot be read.
    Unreadable,
}

/// How long one measurement took.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Time {
    /// Elapsed seconds.
    pub wall: f64,
    /// CPU seconds of the runner process (all threads).
    pub cpu: f64,
}

/// One line of the runner's output.
#[derive(Clone, Debug, PartialEq)]
pub enum Line {
    /// A subject built into the runner.
    Subject(String),
    /// A module and what its `run` export is.
    Module {
        /// `run`'s result type.
        run: RunExport,
        /// Size in bytes.
        bytes: u64,
        /// The path as given.
        path: String,
    },
    /// A subject finished preparing (compile and instantiate).
    Ready {
        /// Subject name.
        subject: String,
        /// Seconds spent.
        seconds: f64,
    },
    /// One timed repetition.
    Sample {
        /// Subject name.
        subject: String,
        /// The time it took.
        time: Time,
        /// What the job returned.
        result: i64,
    },
    /// One validation-only pass.
    Validate(Time),
    /// One compilation.
    Compile {
        /// Subject name.
        subject: String,
        /// All threads (`true`) or one.
        parallel: bool,
        /// The time it took.
        time: Time,
    },
    /// Resident-memory high-water marks around one compilation.
    Rss {
        /// Subject name.
        subject: String,
        /// KiB before compiling.
        start_kib: u64,
        /// KiB after.
        peak_kib: u64,
    },
    /// A subject failed and takes no further part in the command.
    Error {
        /// Subject name.
        subject: String,
        /// Why.
        message: String,
    },
}

fn field<T: std::str::FromStr>(fields: &[&str], i: usize, line: &str) -> Result<T, String> {
    fields
        .get(i)
        .and_then(|f| f.parse().ok())
        .ok_or_else(|| format!("bench-runner printed a malformed line: `{line}`"))
}

impl Line {
    /// Parses one line of runner output.
    pub fn parse(line: &str) -> Result<Line, String> {
        let fields: Vec<&str> = line.split(' ').collect();
        let rest = |n: usize| fields.get(n..).map(|f| f.join(" ")).unwrap_or_default();
        let text = |i: usize| field::<String>(&fields, i, line);
        let time = |i: usize| -> Result<Time, String> {
            Ok(Time {
                wall: field(&fields, i, line)?,
                cpu: field(&fields, i + 1, line)?,
            })
        };
        Ok(match fields[0] {
            "subject" => Line::Subject(text(1)?),
            "module" => Line::Module {
                run: match fields.get(1).copied() {
                    Some("i32" | "i64") => RunExport::Usable,
                    Some("-" | "other") => RunExport::None,
                    _ => RunExport::Unreadable,
                },
                bytes: field(&fields, 2, line)?,
                path: rest(3),
            },
            "ready" => Line::Ready {
                subject: text(1)?,
                seconds: field(&fields, 2, line)?,
            },
            "sample" => Line::Sample {
                subject: text(1)?,
                time: time(2)?,
                result: field(&fields, 4, line)?,
            },
            "validate" => Line::Validate(time(1)?),
            "compile" => Line::Compile {
                subject: text(1)?,
                parallel: match fields.get(2).copied() {
                    Some("parallel") => true,
                    Some("serial") => false,
                    _ => return Err(format!("bench-runner printed a malformed line: `{line}`")),
                },
                time: time(3)?,
            },
            "rss" => Line::Rss {
                subject: text(1)?,
                start_kib: field(&fields, 2, line)?,
                peak_kib: field(&fields, 3, line)?,
            },
            "error" => Line::Error {
                subject: text(1)?,
                message: rest(2),
            },
            _ => return Err(format!("bench-runner printed an unknown line: `{line}`")),
        })
    }
}

/// Cargo's target directory for this workspace.
pub fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|dir| {
            if dir.is_absolute() {
                dir
            } else {
                root.join(dir)
            }
        })
        .unwrap_or_else(|| root.join("target"))
}

/// A built runner binary.
pub struct Runner {
    binary: PathBuf,
}

impl Runner {
    /// Builds `bench-runner` in release mode in its own workspace
    /// (`benches/`) and target directory (`<target>/bench-build`), with
    /// wasmtime when `compare` is set.
    pub fn build(root: &Path, compare: bool) -> Result<Runner, String> {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let target = target_dir(root).join("bench-build");
        let manifest = root.join("benches").join("Cargo.toml");
        let mut command = Command::new(cargo);
        command
            .args(["build", "--release", "--manifest-path"])
            .arg(&manifest)
            .args(["--package", "tandem-bench-runner"])
            .env("CARGO_TARGET_DIR", &target);
        if compare {
            command.args(["--features", "wasmtime"]);
        }
        eprintln!(
            "xtask: building bench-runner (release{})",
            if compare { ", with wasmtime" } else { "" }
        );
        let status = command
            .status()
            .map_err(|e| format!("cannot start cargo: {e}"))?;
        if !status.success() {
            return Err(format!("building bench-runner failed ({status})"));
        }
        Ok(Runner {
            binary: target.join("release").join("bench-runner"),
        })
    }

    /// Runs one runner command, handing each parsed line to `on_line` as
    /// it arrives. Fails when the runner cannot start, prints a malformed
    /// line, or exits unsuccessfully.
    pub fn run(
        &self,
        args: &[String],
        mut on_line: impl FnMut(Line) -> Result<(), String>,
    ) -> Result<(), String> {
        let shown = format!("bench-runner {}", args.join(" "));
        let mut child = Command::new(&self.binary)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", self.binary.display()))?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| format!("no output from `{shown}`"))?;
        let mut outcome = Ok(());
        for line in std::io::BufReader::new(stdout).lines() {
            let handled = line
                .map_err(|e| format!("reading `{shown}`: {e}"))
                .and_then(|line| on_line(Line::parse(&line)?));
            if let Err(e) = handled {
                outcome = Err(e);
                // Stop the runner; its remaining output no longer matters.
                let _ = child.kill();
                break;
            }
        }
        let status = child
            .wait()
            .map_err(|e| format!("waiting for `{shown}`: {e}"))?;
        outcome?;
        if status.success() {
            Ok(())
        } else {
            Err(format!("`{shown}` failed ({status})"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_protocol() {
        assert_eq!(
            Line::parse("module i64 123 /a b/c.wasm").unwrap(),
            Line::Module {
                run: RunExport::Usable,
                bytes: 123,
                path: "/a b/c.wasm".into()
            }
        );
        assert_eq!(
            Line::parse("sample tandem-cranelift 0.5 0.25 -7").unwrap(),
            Line::Sample {
                subject: "tandem-cranelift".into(),
                time: Time {
                    wall: 0.5,
                    cpu: 0.25
                },
                result: -7
            }
        );
        assert_eq!(
            Line::parse("compile w serial 2 1.5").unwrap(),
            Line::Compile {
                subject: "w".into(),
                parallel: false,
                time: Time {
                    wall: 2.0,
                    cpu: 1.5
                }
            }
        );
        assert_eq!(
            Line::parse("error w no good | at all").unwrap(),
            Line::Error {
                subject: "w".into(),
                message: "no good | at all".into()
            }
        );
        assert!(Line::parse("sample w x 1 1").is_err());
        assert!(Line::parse("sample w 1 1").is_err());
        assert!(Line::parse("compile w sideways 1 1").is_err());
        assert!(Line::parse("bogus").is_err());
    }
}
