//! Tandem's fuzzers: `cargo xtask fuzz [--target diff|malformed|api]
//! [--time SECONDS] [--seed N] [--jobs N]`, on stable Rust.
//!
//! Every case is a pure function of its seed, so a seed reproduces a
//! finding (`cargo xtask fuzz --target T --repro SEED`), and a finding is
//! written as a `.wat` file ([`repro`]) whose first line says what went
//! wrong. It is minimised first: a `diff` finding keeps only the calls (and
//! engine settings) it needs, a `malformed` one only the bytes; an `api`
//! finding lists the steps that led to it.
//!
//! # Targets
//!
//! | target | what a case is | a finding |
//! |---|---|---|
//! | [`diff`] | a wasm-smith module with every feature Tandem enables, terminating by construction ([`smith`]), and a plan of calls; run on every Tandem backend and on wasmi ([`oracle`]) | results (NaNs aside), trap kinds, exported globals, memories or tables after any step, or fuel differ: between backends, or from the oracle when a second oracle agrees with it; fuel must also equal an independent count of executed operators ([`rewrite`]) |
//! | [`malformed`] | a valid module mutated: bytes flipped, inserted, deleted, sections spliced, LEBs lengthened | a panic, a crash, a hang, or a module Tandem accepts or refuses against wasmparser's validator with the same features |
//! | [`api`] | a random sequence of embedding calls against a model | a result, trap, funcref identity or drop count the model does not predict, or a crash |
//!
//! # Map
//!
//! | module | what it holds |
//! |---|---|
//! | [`campaign`] | running seeds in child processes for a time budget, catching crashes and hangs, the summary |
//! | [`trace`] | engine-neutral values, outcomes, exported state, and comparing two runs |
//! | [`tandem`] | running a case on a Tandem engine |
//! | [`oracle`] | running a case on wasmi 2 and wasmi 0.31 |
//! | [`api`] | the embedding-call sequences and their model |
//! | [`smith`] | generating a diff case from a seed |
//! | [`rewrite`] | exporting the termination budget, counting operators |
//! | [`repro`] | writing a finding as a `.wat` file |
//!
//! # Dependencies
//!
//! `wasm-smith` generates modules, `wasm-encoder` rewrites them and
//! `wasmprinter` prints repros (the field's tools for each); `wasmi` 2 and
//! 0.31 are the oracles (this crate only); `arbitrary` feeds wasm-smith,
//! `rand` draws everything else from the seed.

#![deny(unsafe_op_in_unsafe_fn)]

pub mod api;
pub mod campaign;
pub mod diff;
pub mod malformed;
pub mod oracle;
pub mod repro;
pub mod rewrite;
pub mod smith;
pub mod tandem;
pub mod trace;

use std::collections::BTreeMap;
use std::fmt;

/// A fuzz target.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Target {
    /// Differential execution against an oracle.
    Diff,
    /// Mutated modules against the validator.
    Malformed,
    /// Embedding-call sequences against a model.
    Api,
}

impl Target {
    /// Every target, in the order `cargo xtask test` runs them.
    pub const ALL: [Target; 3] = [Target::Diff, Target::Malformed, Target::Api];

    /// Its name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Target::Diff => "diff",
            Target::Malformed => "malformed",
            Target::Api => "api",
        }
    }
}

impl std::str::FromStr for Target {
    type Err = String;
    fn from_str(s: &str) -> Result<Target, String> {
        Target::ALL
            .into_iter()
            .find(|t| t.name() == s)
            .ok_or_else(|| format!("unknown fuzz target `{s}` (expected diff, malformed or api)"))
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Named counts a case adds to the campaign's summary (modules, calls...).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counters(pub BTreeMap<String, u64>);

impl Counters {
    /// One count of `name`.
    pub fn one(name: &str) -> Counters {
        let mut c = Counters::default();
        c.add(name, 1);
        c
    }

    /// Adds `n` to `name`.
    pub fn add(&mut self, name: &str, n: u64) {
        *self.0.entry(name.to_string()).or_default() += n;
    }

    /// Adds every count of `other`.
    pub fn merge(&mut self, other: &Counters) {
        for (name, n) in &other.0 {
            self.add(name, *n);
        }
    }

    /// The count of `name`.
    pub fn get(&self, name: &str) -> u64 {
        self.0.get(name).copied().unwrap_or(0)
    }
}

/// Something a fuzzer found.
#[derive(Clone, Debug)]
pub struct Finding {
    /// The target that found it.
    pub target: Target,
    /// The case's seed: `cargo xtask fuzz --target T --repro SEED`.
    pub seed: u64,
    /// One line: what went wrong.
    pub summary: String,
    /// More lines: the calls or mutations involved.
    pub details: String,
    /// The (minimised) module, when there is one.
    pub module: Option<Vec<u8>>,
}

/// One case of `target`: the state a worker keeps between cases.
#[derive(Default)]
pub struct Worker {
    diff: diff::Diff,
    malformed: malformed::Malformed,
    api: api::Api,
}

impl Worker {
    /// Runs case `seed` of `target`.
    pub fn run(&mut self, target: Target, seed: u64) -> Result<Counters, Finding> {
        match target {
            Target::Diff => self.diff.run(seed),
            Target::Malformed => self.malformed.run(seed),
            Target::Api => self.api.run(seed),
        }
    }
}

/// The Wasm features the campaigns generate, validate and compile with:
/// Tandem's defaults without SIMD until the baseline lowers `v128` (today
/// every SIMD case would be a baseline compile error, not a finding).
pub fn features() -> tandem_environ::WasmFeatures {
    tandem_environ::default_features()
        & !tandem_environ::WasmFeatures::SIMD
        & !tandem_environ::WasmFeatures::RELAXED_SIMD
}

/// The module case `seed` of `target` runs (for the repro of a crash or a
/// hang, which the child could not write).
pub fn module_of(target: Target, seed: u64) -> Option<Vec<u8>> {
    let make = || match target {
        Target::Diff => smith::generate(seed, features()).ok().map(|case| case.wasm),
        Target::Malformed => Some(malformed::mutant(seed).wasm),
        Target::Api => wat::parse_str(api::WAT).ok(),
    };
    // The crash may have been in making the module.
    std::panic::catch_unwind(make).ok().flatten()
}

/// The text of a panic payload.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "(non-string panic payload)".to_string()
    }
}
