//! The measurements of one `cargo xtask bench` run ([`Results`]): every
//! sample per subject, the checks that turn wrong results and failures into
//! failures or warnings, and the conversion to [`Section`]s (tables) and to
//! JSON.

use crate::bench::{BenchOptions, COMPILE_REPS, RUN_REPS};
use crate::bench_report::Json;
use crate::bench_runner::Time;
use crate::bench_stats::{Row, Section, Unit, median, pairs};
use std::collections::BTreeMap;

/// Which clock a figure is read from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Clock {
    /// Elapsed time: for work on all threads.
    Wall,
    /// Process CPU time: for single-threaded work, which on a busy machine
    /// it measures without the time spent waiting for a core.
    Cpu,
}

/// All samples of one subject in one measurement.
#[derive(Debug, Default)]
pub(crate) struct Series {
    pub(crate) wall: Vec<f64>,
    pub(crate) cpu: Vec<f64>,
    pub(crate) results: Vec<i64>,
    pub(crate) ready: Option<f64>,
    pub(crate) error: Option<String>,
    /// The results disagree with the expected value.
    pub(crate) wrong: bool,
}

impl Series {
    pub(crate) fn push(&mut self, time: Time) {
        self.wall.push(time.wall);
        self.cpu.push(time.cpu);
    }

    /// The median on `clock`, unless the subject failed or computed a
    /// wrong result.
    pub(crate) fn figure(&self, clock: Clock) -> Option<f64> {
        if self.error.is_some() || self.wrong {
            return None;
        }
        median(match clock {
            Clock::Wall => &self.wall,
            Clock::Cpu => &self.cpu,
        })
    }

    pub(crate) fn json(&self) -> Json {
        Json::obj([
            ("wall_s", Json::nums(self.wall.iter().copied())),
            ("cpu_s", Json::nums(self.cpu.iter().copied())),
            (
                "results",
                Json::Arr(self.results.iter().map(|&r| Json::Num(r as f64)).collect()),
            ),
            ("median_wall_s", Json::opt(median(&self.wall))),
            ("median_cpu_s", Json::opt(median(&self.cpu))),
            ("ready_s", Json::opt(self.ready)),
            ("error", self.error.clone().map_or(Json::Null, Json::Str)),
            ("wrong_result", Json::Bool(self.wrong)),
        ])
    }
}

pub(crate) type BySubject = BTreeMap<String, Series>;

pub(crate) fn subjects_json(map: &BySubject) -> Json {
    Json::obj(map.iter().map(|(k, v)| (k.clone(), v.json())))
}

/// A module measured with `run`.
#[derive(Debug)]
pub(crate) struct RunRecord {
    pub(crate) name: String,
    pub(crate) bytes: u64,
    pub(crate) expected: Option<i64>,
    pub(crate) subjects: BySubject,
}

/// A module measured by compiling it.
#[derive(Debug)]
pub(crate) struct CompileRecord {
    pub(crate) name: String,
    pub(crate) bytes: u64,
    pub(crate) validate: Series,
    pub(crate) serial: BySubject,
    pub(crate) parallel: BySubject,
}

/// A micro-benchmark: `count` operations per sample.
#[derive(Debug)]
pub(crate) struct KernelRecord {
    pub(crate) name: &'static str,
    pub(crate) count: u32,
    pub(crate) subjects: BySubject,
}

/// A module precompiled, then loaded and instantiated `count` times per
/// sample.
#[derive(Debug)]
pub(crate) struct DeserializeRecord {
    pub(crate) name: String,
    pub(crate) bytes: u64,
    pub(crate) count: u32,
    pub(crate) subjects: BySubject,
}

/// Peak resident memory while compiling one module.
#[derive(Debug)]
pub(crate) struct RssRecord {
    pub(crate) name: String,
    pub(crate) bytes: u64,
    pub(crate) subjects: BTreeMap<String, Result<(u64, u64), String>>,
}

/// Everything one `cargo xtask bench` measured.
#[derive(Debug, Default)]
pub(crate) struct Results {
    pub(crate) subjects: Vec<String>,
    pub(crate) runs: Vec<RunRecord>,
    pub(crate) compiles: Vec<CompileRecord>,
    pub(crate) kernels: Vec<KernelRecord>,
    pub(crate) deserializes: Vec<DeserializeRecord>,
    pub(crate) rss: Option<RssRecord>,
    /// WASI programs run in the runner (see `bench_wasi.rs`).
    pub(crate) wasi: Vec<RunRecord>,
    /// WASI start-up, whole processes.
    pub(crate) startup: Option<RunRecord>,
    pub(crate) failures: Vec<String>,
    pub(crate) warnings: Vec<String>,
}

/// Is a failure of `subject` a failure of the benchmark (Tandem) or only a
/// missing comparison figure (wasmtime)?
fn is_tandem(subject: &str) -> bool {
    subject.starts_with("tandem-")
}

impl Results {
    /// Marks wrong results and records failures: a wrong result or a
    /// Tandem error fails the run; a wasmtime error is a warning.
    pub(crate) fn check(&mut self) {
        let mut problems: Vec<(String, String)> = Vec::new();
        let all_runs = self
            .runs
            .iter_mut()
            .chain(self.wasi.iter_mut())
            .chain(self.startup.iter_mut());
        for run in all_runs {
            // Without an expected value the subjects must agree with the
            // first one that produced a result.
            let reference = run.expected.or_else(|| {
                run.subjects
                    .values()
                    .find_map(|s| s.results.first().copied())
            });
            for (subject, series) in &mut run.subjects {
                if let Some(bad) = series.results.iter().find(|&&r| Some(r) != reference) {
                    series.wrong = true;
                    let what = if run.expected.is_some() {
                        "expected"
                    } else {
                        "another subject returned"
                    };
                    problems.push((
                        String::new(),
                        format!(
                            "{}: {subject} returned {bad}, {what} {}",
                            run.name,
                            reference.unwrap_or_default()
                        ),
                    ));
                }
            }
        }
        for kernel in &mut self.kernels {
            for (subject, series) in &mut kernel.subjects {
                if let Some(bad) = series
                    .results
                    .iter()
                    .find(|&&r| r != i64::from(kernel.count))
                {
                    series.wrong = true;
                    problems.push((
                        String::new(),
                        format!(
                            "{}: {subject} returned {bad}, expected {}",
                            kernel.name, kernel.count
                        ),
                    ));
                }
            }
        }
        for record in &mut self.deserializes {
            for (subject, series) in &mut record.subjects {
                if let Some(bad) = series
                    .results
                    .iter()
                    .find(|&&r| r != i64::from(record.count))
                {
                    series.wrong = true;
                    problems.push((
                        String::new(),
                        format!(
                            "deserialize {}: {subject} returned {bad}, expected {}",
                            record.name, record.count
                        ),
                    ));
                }
            }
        }
        let all_runs = self.runs.iter().chain(&self.wasi).chain(&self.startup);
        let errors = all_runs.flat_map(|r| {
            r.subjects
                .iter()
                .map(move |(s, x)| (r.name.as_str(), s, &x.error))
        });
        let errors = errors
            .chain(self.compiles.iter().flat_map(|c| {
                c.serial
                    .iter()
                    .map(move |(s, x)| (c.name.as_str(), s, &x.error))
            }))
            .chain(
                self.kernels
                    .iter()
                    .flat_map(|k| k.subjects.iter().map(move |(s, x)| (k.name, s, &x.error))),
            )
            .chain(self.deserializes.iter().flat_map(|d| {
                d.subjects
                    .iter()
                    .map(move |(s, x)| (d.name.as_str(), s, &x.error))
            }));
        let mut errors: Vec<(String, String)> = errors
            .filter_map(|(name, subject, error)| {
                let error = error.as_ref()?;
                Some((
                    subject.clone(),
                    format!("{name}: {subject} failed: {error}"),
                ))
            })
            .collect();
        if let Some(rss) = &self.rss {
            for (subject, outcome) in &rss.subjects {
                if let Err(e) = outcome {
                    errors.push((
                        subject.clone(),
                        format!("peak memory, {}: {subject} failed: {e}", rss.name),
                    ));
                }
            }
        }
        problems.extend(errors);
        for (subject, problem) in problems {
            if subject.is_empty() || is_tandem(&subject) {
                self.failures.push(problem);
            } else {
                self.warnings.push(problem);
            }
        }
    }

    /// The figures as tables.
    pub(crate) fn sections(&self, options: &BenchOptions) -> Vec<Section> {
        let subjects = &self.subjects;
        let mut sections = Vec::new();
        let cells = |map: &BySubject, clock: Clock, scale: f64| -> Vec<Option<f64>> {
            subjects
                .iter()
                .map(|s| map.get(s).and_then(|x| x.figure(clock)).map(|v| v * scale))
                .collect()
        };
        if !self.runs.is_empty() {
            sections.push(Section {
                key: "run",
                title: format!(
                    "Run time of `run`, CPU seconds: median of {} (wrong results and failures show as -)",
                    options.reps(RUN_REPS)
                ),
                unit: Unit::Seconds,
                columns: subjects.clone(),
                rows: self
                    .runs
                    .iter()
                    .map(|r| Row {
                        name: r.name.clone(),
                        bytes: Some(r.bytes),
                        cells: cells(&r.subjects, Clock::Cpu, 1.0),
                    })
                    .collect(),
                pairs: pairs(subjects),
            });
        }
        if !self.compiles.is_empty() {
            for (key, parallel) in [("compile-1", false), ("compile-n", true)] {
                let mut columns = subjects.clone();
                if !parallel {
                    columns.insert(0, "validate".to_string());
                }
                let rows = self
                    .compiles
                    .iter()
                    .map(|c| {
                        let mut row = if parallel {
                            cells(&c.parallel, Clock::Wall, 1.0)
                        } else {
                            cells(&c.serial, Clock::Cpu, 1.0)
                        };
                        if !parallel {
                            row.insert(0, c.validate.figure(Clock::Cpu));
                        }
                        Row {
                            name: c.name.clone(),
                            bytes: Some(c.bytes),
                            cells: row,
                        }
                    })
                    .collect();
                sections.push(Section {
                    key,
                    title: format!(
                        "Compile time, {}: median of {} (validate: wasmparser validation alone)",
                        if parallel {
                            "all threads, elapsed seconds"
                        } else {
                            "one thread, CPU seconds"
                        },
                        options.reps(COMPILE_REPS)
                    ),
                    unit: Unit::SecondsThroughput,
                    columns,
                    rows,
                    pairs: pairs(subjects),
                });
            }
        }
        if !self.deserializes.is_empty() {
            sections.push(Section {
                key: "deserialize",
                title: "Deserialize + instantiate a precompiled module (the file mapped, a new store, function imports as traps): CPU µs per load".into(),
                unit: Unit::Micros,
                columns: subjects.clone(),
                rows: self
                    .deserializes
                    .iter()
                    .map(|d| Row {
                        name: d.name.clone(),
                        bytes: Some(d.bytes),
                        cells: cells(&d.subjects, Clock::Cpu, 1e6 / f64::from(d.count)),
                    })
                    .collect(),
                pairs: pairs(subjects),
            });
        }
        for kernel in &self.kernels {
            let (unit, per, title) = match kernel.name {
                "hostcall" => (
                    Unit::Nanos,
                    1e9,
                    "Host call: CPU ns per Wasm -> host -> Wasm round trip",
                ),
                "instantiate-pooled" => (
                    Unit::Micros,
                    1e6,
                    "Pooled instantiation: CPU µs per store + instance from an InstancePre, pooling allocator, dropped",
                ),
                _ => (
                    Unit::Micros,
                    1e6,
                    "Instantiation: CPU µs per store + instance (one memory, one table), dropped",
                ),
            };
            sections.push(Section {
                key: kernel.name,
                title: title.to_string(),
                unit,
                columns: subjects.clone(),
                rows: vec![Row {
                    name: kernel.name.to_string(),
                    bytes: None,
                    cells: cells(&kernel.subjects, Clock::Cpu, per / f64::from(kernel.count)),
                }],
                pairs: pairs(subjects),
            });
        }
        let run_rows = |runs: &[&RunRecord], clock: Clock, scale: f64| -> Vec<Row> {
            runs.iter()
                .map(|r| Row {
                    name: r.name.clone(),
                    bytes: Some(r.bytes),
                    cells: cells(&r.subjects, clock, scale),
                })
                .collect()
        };
        if !self.wasi.is_empty() {
            sections.push(Section {
                key: "wasi",
                title: format!(
                    "WASI programs: instantiate + `_start` in a new store (compiled once), \
                     CPU seconds: median of {}",
                    options.reps(crate::bench_wasi::WASI_REPS)
                ),
                unit: Unit::Seconds,
                columns: subjects.clone(),
                rows: run_rows(&self.wasi.iter().collect::<Vec<_>>(), Clock::Cpu, 1.0),
                pairs: pairs(subjects),
            });
        }
        if let Some(startup) = &self.startup {
            sections.push(Section {
                key: "wasi-startup",
                title: "WASI start-up: a hello-world process (`tandem run` vs wasmtime's \
                        embedding), elapsed ms: median"
                    .to_string(),
                unit: Unit::Millis,
                columns: subjects.clone(),
                rows: run_rows(&[startup], Clock::Wall, 1e3),
                pairs: pairs(subjects),
            });
        }
        if let Some(rss) = &self.rss {
            sections.push(Section {
                key: "peak-rss",
                title: "Peak resident memory compiling the largest module (all threads), MiB"
                    .into(),
                unit: Unit::MiB,
                columns: subjects.clone(),
                rows: vec![Row {
                    name: rss.name.clone(),
                    bytes: Some(rss.bytes),
                    cells: subjects
                        .iter()
                        .map(|s| match rss.subjects.get(s) {
                            Some(Ok((_, peak))) => Some(*peak as f64 / 1024.0),
                            _ => None,
                        })
                        .collect(),
                }],
                pairs: pairs(subjects),
            });
        }
        sections
    }

    /// Every sample, as JSON.
    pub(crate) fn raw_json(&self) -> Json {
        let runs = self.runs.iter().map(|r| {
            Json::obj([
                ("module", Json::str(&r.name)),
                ("bytes", Json::Num(r.bytes as f64)),
                ("expected", Json::opt(r.expected.map(|e| e as f64))),
                ("subjects", subjects_json(&r.subjects)),
            ])
        });
        let compiles = self.compiles.iter().map(|c| {
            Json::obj([
                ("module", Json::str(&c.name)),
                ("bytes", Json::Num(c.bytes as f64)),
                ("validate", c.validate.json()),
                ("serial", subjects_json(&c.serial)),
                ("parallel", subjects_json(&c.parallel)),
            ])
        });
        let kernels = self.kernels.iter().map(|k| {
            Json::obj([
                ("kernel", Json::str(k.name)),
                ("count", Json::Num(f64::from(k.count))),
                ("subjects", subjects_json(&k.subjects)),
            ])
        });
        let deserializes = self.deserializes.iter().map(|d| {
            Json::obj([
                ("module", Json::str(&d.name)),
                ("bytes", Json::Num(d.bytes as f64)),
                ("count", Json::Num(f64::from(d.count))),
                ("subjects", subjects_json(&d.subjects)),
            ])
        });
        let rss = self.rss.as_ref().map_or(Json::Null, |r| {
            let subjects = r.subjects.iter().map(|(s, outcome)| {
                let value = match outcome {
                    Ok((start, peak)) => Json::obj([
                        ("start_kib", Json::Num(*start as f64)),
                        ("peak_kib", Json::Num(*peak as f64)),
                    ]),
                    Err(e) => Json::obj([("error", Json::str(e))]),
                };
                (s.clone(), value)
            });
            Json::obj([
                ("module", Json::str(&r.name)),
                ("bytes", Json::Num(r.bytes as f64)),
                ("subjects", Json::obj(subjects)),
            ])
        });
        let wasi = self.wasi.iter().chain(&self.startup).map(|r| {
            Json::obj([
                ("program", Json::str(&r.name)),
                ("bytes", Json::Num(r.bytes as f64)),
                ("subjects", subjects_json(&r.subjects)),
            ])
        });
        Json::obj([
            ("run", Json::Arr(runs.collect())),
            ("wasi", Json::Arr(wasi.collect())),
            ("compile", Json::Arr(compiles.collect())),
            ("kernels", Json::Arr(kernels.collect())),
            ("deserialize", Json::Arr(deserializes.collect())),
            ("peak_rss", rss),
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrong_results_fail_and_lose_their_figure() {
        let series = |results: &[i64]| Series {
            cpu: vec![1.0; results.len()],
            results: results.to_vec(),
            ..Series::default()
        };
        let mut results = Results {
            subjects: vec!["tandem-cranelift".into(), "wasmtime-cranelift".into()],
            runs: vec![RunRecord {
                name: "k".into(),
                bytes: 1,
                expected: Some(7),
                subjects: BTreeMap::from([
                    ("tandem-cranelift".to_string(), series(&[7, 8])),
                    ("wasmtime-cranelift".to_string(), series(&[7, 7])),
                ]),
            }],
            ..Results::default()
        };
        results.check();
        assert_eq!(results.failures.len(), 1);
        assert!(results.failures[0].contains("returned 8, expected 7"));
        let sections = results.sections(&BenchOptions::default());
        assert_eq!(sections[0].rows[0].cells, [None, Some(1.0)]);
    }
}
