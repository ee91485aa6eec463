//! Running a case on one of Tandem's engines and recording its [`Trace`].
//!
//! Everything that depends on the shape of `tandem_store`'s error type is in
//! [`trap_kind`], so a change there touches one function.

use crate::rewrite::{BUDGET_EXPORT, COUNT_EXPORT};
use crate::smith::{BUDGET, Call, Setup};
use crate::trace::{ExportState, Outcome, Step, Trace, TrapKind, Value, hash_bytes, sorted};
use std::collections::HashMap;
use tandem_store::{
    BackendKind, Config, Engine, Error, Extern, ExternRef, Func, Instance, Module, Store, TrapCode,
    Val, ValType,
};

/// Fuel each store starts with: far more than any case uses.
const FUEL: u64 = 1 << 50;

/// Native stack Wasm may use: generous, so that a stack overflow is rare and
/// happens in every engine at about the same depth (the fuzzer's threads
/// have a larger stack still).
pub const MAX_WASM_STACK: usize = 4 << 20;

/// An engine for `backend` with `setup`.
pub fn engine(backend: BackendKind, setup: Setup) -> Result<Engine, String> {
    let mut config = Config::new();
    config
        .backend(backend)
        .consume_fuel(setup.fuel)
        .epoch_interruption(setup.epochs)
        .max_wasm_stack(MAX_WASM_STACK)
        .wasm_simd(false)
        .wasm_relaxed_simd(false)
        .parallel_compilation(false);
    Engine::new(&config).map_err(|e| e.to_string())
}

/// The trap kind of a failed call, or `None` when it is not a trap.
pub fn trap_kind(error: &Error) -> Option<TrapKind> {
    let code = *error.downcast_ref::<TrapCode>()?;
    Some(match code {
        TrapCode::StackOverflow => TrapKind::StackOverflow,
        TrapCode::MemoryOutOfBounds => TrapKind::MemoryOutOfBounds,
        TrapCode::TableOutOfBounds => TrapKind::TableOutOfBounds,
        TrapCode::IndirectCallOutOfBounds => TrapKind::IndirectCallOutOfBounds,
        TrapCode::IndirectCallToNull => TrapKind::IndirectCallToNull,
        TrapCode::BadSignature => TrapKind::BadSignature,
        TrapCode::IntegerOverflow => TrapKind::IntegerOverflow,
        TrapCode::IntegerDivisionByZero => TrapKind::IntegerDivisionByZero,
        TrapCode::BadConversionToInteger => TrapKind::BadConversionToInteger,
        TrapCode::UnreachableCodeReached => TrapKind::Unreachable,
        TrapCode::OutOfFuel => TrapKind::OutOfFuel,
        _ => TrapKind::Other,
    })
}

fn outcome_of_error(error: &Error) -> Outcome {
    match trap_kind(error) {
        Some(kind) => Outcome::Trapped(kind),
        None => Outcome::Failed(error.to_string()),
    }
}

/// Runs `wasm` and `plan` on `engine` (made by [`engine`] with `setup`),
/// compiling with its backend.
pub fn run(engine: &Engine, setup: Setup, wasm: &[u8], plan: &[Call]) -> Trace {
    let mut trace = Trace::default();
    let module = match Module::new(engine, wasm) {
        Ok(module) => module,
        Err(e) => {
            trace.steps.push(Step {
                outcome: Outcome::Failed(format!("compile: {e}")),
                exports: Vec::new(),
                fuel: None,
            });
            return trace;
        }
    };
    let mut run = Run {
        store: Store::new(engine, ()),
        instance: None,
        names: HashMap::new(),
        fuel: setup.fuel,
    };
    if run.fuel {
        run.store.set_fuel(FUEL).expect("fuel is on");
    }
    if setup.epochs {
        run.store.set_epoch_deadline(1 << 40);
    }
    let before = run.fuel_left();
    let instantiated = Instance::new(&mut run.store, &module, &[]);
    let outcome = match instantiated {
        Ok(instance) => {
            run.instance = Some(instance);
            run.index_funcs();
            Outcome::Returned(Vec::new())
        }
        Err(e) => outcome_of_error(&e),
    };
    let ok = matches!(outcome, Outcome::Returned(_));
    let fuel = run.fuel_used(before);
    trace.steps.push(Step {
        outcome,
        exports: run.snapshot(),
        fuel,
    });
    if !ok {
        return trace;
    }
    for call in plan {
        let before = run.fuel_left();
        let outcome = run.call(call);
        let fuel = run.fuel_used(before);
        trace.steps.push(Step {
            outcome,
            exports: run.snapshot(),
            fuel,
        });
    }
    trace
}

struct Run {
    store: Store<()>,
    instance: Option<Instance>,
    /// Func-ref address -> first export name.
    names: HashMap<usize, String>,
    fuel: bool,
}

impl Run {
    fn fuel_left(&self) -> u64 {
        if self.fuel {
            self.store.get_fuel().unwrap_or(0)
        } else {
            0
        }
    }

    fn fuel_used(&self, before: u64) -> Option<u64> {
        self.fuel.then(|| before.saturating_sub(self.fuel_left()))
    }

    fn exports(&mut self) -> Vec<(String, Extern)> {
        match self.instance {
            Some(instance) => sorted(
                instance
                    .exports(&mut self.store)
                    .map(|e| (e.name().to_string(), e.into_extern()))
                    .collect(),
            ),
            None => Vec::new(),
        }
    }

    fn index_funcs(&mut self) {
        for (name, export) in self.exports() {
            if let Extern::Func(func) = export
                && let Ok(address) = func.func_ref_address(&self.store)
            {
                self.names.entry(address).or_insert(name);
            }
        }
    }

    fn value(&mut self, val: Val) -> Value {
        match val {
            Val::I32(v) => Value::I32(v),
            Val::I64(v) => Value::I64(v),
            Val::F32(v) => Value::F32(v),
            Val::F64(v) => Value::F64(v),
            Val::V128(v) => Value::V128(v),
            Val::FuncRef(f) => Value::FuncRef(f.map(|f| self.func_name(f))),
            Val::ExternRef(e) => Value::ExternRef(e.map(|e| {
                e.data(&self.store)
                    .ok()
                    .flatten()
                    .and_then(|data| data.downcast_ref::<u32>().copied())
                    .unwrap_or(u32::MAX)
            })),
        }
    }

    fn func_name(&self, func: Func) -> String {
        func.func_ref_address(&self.store)
            .ok()
            .and_then(|address| self.names.get(&address).cloned())
            .unwrap_or_else(|| "?".to_string())
    }

    fn val(&mut self, value: &Value) -> Val {
        match value {
            Value::I32(v) => Val::I32(*v),
            Value::I64(v) => Val::I64(*v),
            Value::F32(v) => Val::F32(*v),
            Value::F64(v) => Val::F64(*v),
            Value::V128(v) => Val::V128(*v),
            Value::FuncRef(name) => Val::FuncRef(
                name.as_ref()
                    .and_then(|name| self.instance?.get_func(&mut self.store, name)),
            ),
            Value::ExternRef(tag) => {
                // Creating one fails only when the store's lists cannot
                // grow: a harness failure, not a finding about Tandem.
                Val::ExternRef(tag.map(|tag| {
                    ExternRef::new(&mut self.store, tag).expect("the fuzz store holds externrefs")
                }))
            }
        }
    }

    fn call(&mut self, call: &Call) -> Outcome {
        let Some(instance) = self.instance else {
            return Outcome::Failed("not instantiated".into());
        };
        if let Some(budget) = instance.get_global(&mut self.store, BUDGET_EXPORT)
            && let Err(e) = budget.set(&mut self.store, Val::I32(BUDGET))
        {
            return Outcome::Failed(format!("cannot reset the budget: {e}"));
        }
        let Some(func) = instance.get_func(&mut self.store, &call.export) else {
            return Outcome::Failed(format!("no function export {:?}", call.export));
        };
        let args: Vec<Val> = call.args.iter().map(|a| self.val(a)).collect();
        let ty = func.ty(&self.store);
        let mut results: Vec<Val> = ty.results().map(default).collect();
        match func.call(&mut self.store, &args, &mut results) {
            Ok(()) => Outcome::Returned(results.into_iter().map(|v| self.value(v)).collect()),
            Err(e) => outcome_of_error(&e),
        }
    }

    fn snapshot(&mut self) -> Vec<(String, ExportState)> {
        let mut states = Vec::new();
        for (name, export) in self.exports() {
            if name == COUNT_EXPORT {
                continue;
            }
            let state = match export {
                Extern::Func(_) => continue,
                Extern::Global(global) => {
                    let v = global.get(&mut self.store);
                    ExportState::Global(self.value(v))
                }
                Extern::Memory(memory) => ExportState::Memory {
                    pages: memory.size(&self.store),
                    hash: hash_bytes(memory.data(&self.store)),
                },
                Extern::Table(table) => {
                    let size = table.size(&self.store);
                    let mut elements = Vec::with_capacity(size as usize);
                    for i in 0..size {
                        let v = table
                            .get(&mut self.store, i)
                            .map_or(Val::I32(-1), Val::from);
                        elements.push(self.value(v));
                    }
                    ExportState::Table(elements)
                }
            };
            states.push((name, state));
        }
        states
    }
}

fn default(ty: ValType) -> Val {
    Val::default_for(ty)
}
