//! The differential fuzzer's oracles: the wasmi interpreter, in two
//! versions.
//!
//! wasmi 2 is the oracle every case runs on. Oracles have bugs too (wasmi
//! 2.0.0 returns the wrong operand of a `select` whose condition is an
//! `i32.eqz` of a just-set local, and panics translating some valid
//! modules), so when it disagrees with both Tandem engines the case is run
//! on wasmi 0.31, an independent older design, before it counts as a
//! finding. A panic or a refusal of a valid module by an oracle only means
//! the oracle cannot judge that case.
//!
//! Each oracle runs the module rewritten by [`rewrite`](crate::rewrite) with
//! the operator count, so its trace also carries the independent fuel
//! figure.
//!
//! Known oracle bugs met so far (each makes the oracle unable to judge the
//! case, never a finding): wasmi 2.0.0's translator panics with "a register
//! operand already exists on the stack" on an `else` of some valid
//! functions (diff seed 100031721).

use crate::rewrite::{BUDGET_EXPORT, COUNT_EXPORT};
use crate::smith::{BUDGET, Call};
use crate::trace::{ExportState, Outcome, Step, Trace, TrapKind, Value, hash_bytes, sorted};
use std::collections::HashMap;

/// Which oracle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Oracle {
    /// wasmi 2.
    Wasmi2,
    /// wasmi 0.31.
    Wasmi031,
}

impl Oracle {
    /// Its name in reports.
    pub fn name(self) -> &'static str {
        match self {
            Oracle::Wasmi2 => "wasmi-2",
            Oracle::Wasmi031 => "wasmi-0.31",
        }
    }

    /// Runs `counted` (a module with the operator count) through `plan`;
    /// `Err` when the oracle cannot run it (refused it, or panicked).
    pub fn run(self, counted: &[u8], plan: &[Call]) -> Result<Trace, String> {
        let run = || match self {
            Oracle::Wasmi2 => wasmi2::run(counted, plan),
            Oracle::Wasmi031 => wasmi031::run(counted, plan),
        };
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(run)).map_err(|panic| {
            format!(
                "{} panicked: {}",
                self.name(),
                crate::panic_message(&*panic)
            )
        })?
    }
}

/// Debug text of a handle: wasmi's `Func` has no `PartialEq`, but its
/// `Debug` names the store slot, which identifies it.
fn key(handle: &impl std::fmt::Debug) -> String {
    format!("{handle:?}")
}

/// The trap an error without a trap code stands for: wasmi reports stack
/// exhaustion (2.0) and out-of-bounds segment initialisation at
/// instantiation as errors, not traps; their messages say which.
fn trap_from_message(message: &str) -> Option<TrapKind> {
    if message.contains("stack") && (message.contains("overflow") || message.contains("exhausted"))
    {
        Some(TrapKind::StackOverflow)
    } else if message.contains("out of bounds table access") {
        Some(TrapKind::TableOutOfBounds)
    } else if message.contains("out of bounds memory access") {
        Some(TrapKind::MemoryOutOfBounds)
    } else {
        None
    }
}

mod wasmi2 {
    use super::*;
    use wasmi::TrapCode;
    use wasmi::{
        Engine, Extern, ExternRef, Func, Instance, Linker, Module, Nullable, Ref, Store, Val,
    };

    pub fn run(counted: &[u8], plan: &[Call]) -> Result<Trace, String> {
        let mut config = wasmi::Config::default();
        config.set_max_recursion_depth(100_000);
        // Translate every function up front: a translator panic (a known
        // wasmi 2.0 bug) then unwinds out of `Module::new`, where it is
        // caught; translated lazily it happens inside the executor, whose
        // frames cannot unwind, and aborts the process.
        config.compilation_mode(wasmi::CompilationMode::Eager);
        let engine = Engine::new(&config);
        let module = Module::new(&engine, counted)
            .map_err(|e| format!("wasmi-2 refused the module: {e}"))?;
        let mut store = Store::new(&engine, ());
        let mut trace = Trace::default();
        let instance = match Linker::<()>::new(&engine).instantiate_and_start(&mut store, &module) {
            Ok(instance) => instance,
            Err(e) => {
                trace.steps.push(Step {
                    outcome: outcome(&e),
                    exports: Vec::new(),
                    fuel: None,
                });
                return Ok(trace);
            }
        };
        let mut run = Run {
            store,
            instance,
            names: HashMap::new(),
            count: 0,
        };
        run.index_funcs();
        let fuel = Some(run.count_delta());
        trace.steps.push(Step {
            outcome: Outcome::Returned(Vec::new()),
            exports: run.snapshot(),
            fuel,
        });
        for call in plan {
            let outcome = run.call(call);
            let fuel = Some(run.count_delta());
            trace.steps.push(Step {
                outcome,
                exports: run.snapshot(),
                fuel,
            });
        }
        Ok(trace)
    }

    fn outcome(error: &wasmi::Error) -> Outcome {
        let kind = match error.as_trap_code() {
            Some(code) => match code {
                TrapCode::UnreachableCodeReached => TrapKind::Unreachable,
                TrapCode::MemoryOutOfBounds => TrapKind::MemoryOutOfBounds,
                TrapCode::TableOutOfBounds => TrapKind::TableOutOfBounds,
                TrapCode::IndirectCallToNull => TrapKind::IndirectCallToNull,
                TrapCode::IntegerDivisionByZero => TrapKind::IntegerDivisionByZero,
                TrapCode::IntegerOverflow => TrapKind::IntegerOverflow,
                TrapCode::BadConversionToInteger => TrapKind::BadConversionToInteger,
                TrapCode::StackOverflow => TrapKind::StackOverflow,
                TrapCode::BadSignature => TrapKind::BadSignature,
                TrapCode::OutOfFuel => TrapKind::OutOfFuel,
                _ => TrapKind::Other,
            },
            None => match trap_from_message(&error.to_string()) {
                Some(kind) => kind,
                None => return Outcome::Failed(error.to_string()),
            },
        };
        Outcome::Trapped(kind)
    }

    struct Run {
        store: Store<()>,
        instance: Instance,
        names: HashMap<String, String>,
        count: i64,
    }

    impl Run {
        fn exports(&self) -> Vec<(String, Extern)> {
            sorted(
                self.instance
                    .exports(&self.store)
                    .map(|e| (e.name().to_string(), e.into_extern()))
                    .collect(),
            )
        }

        fn index_funcs(&mut self) {
            for (name, export) in self.exports() {
                if let Extern::Func(func) = export {
                    self.names.entry(key(&func)).or_insert(name);
                }
            }
        }

        fn count_delta(&mut self) -> u64 {
            let now = self
                .instance
                .get_global(&self.store, COUNT_EXPORT)
                .and_then(|g| g.get(&self.store).i64())
                .unwrap_or(0);
            let delta = now.wrapping_sub(self.count);
            self.count = now;
            delta as u64
        }

        fn value(&self, val: &Val) -> Value {
            match val {
                Val::I32(v) => Value::I32(*v),
                Val::I64(v) => Value::I64(*v),
                Val::F32(v) => Value::F32(v.to_bits()),
                Val::F64(v) => Value::F64(v.to_bits()),
                Val::V128(v) => Value::V128(v.as_u128()),
                Val::FuncRef(f) => Value::FuncRef(f.val().map(|f| self.func_name(f))),
                Val::ExternRef(e) => Value::ExternRef(e.val().map(|e| self.extern_tag(e))),
            }
        }

        fn func_name(&self, func: &Func) -> String {
            self.names
                .get(&key(func))
                .cloned()
                .unwrap_or_else(|| "?".into())
        }

        fn extern_tag(&self, e: &ExternRef) -> u32 {
            e.data(&self.store)
                .downcast_ref::<u32>()
                .copied()
                .unwrap_or(u32::MAX)
        }

        fn val(&mut self, value: &Value) -> Val {
            match value {
                Value::I32(v) => Val::I32(*v),
                Value::I64(v) => Val::I64(*v),
                Value::F32(v) => Val::F32(wasmi::F32::from_bits(*v)),
                Value::F64(v) => Val::F64(wasmi::F64::from_bits(*v)),
                Value::V128(v) => Val::V128((*v).into()),
                Value::FuncRef(name) => {
                    let func = name
                        .as_ref()
                        .and_then(|n| self.instance.get_func(&self.store, n));
                    Val::FuncRef(func.map_or(Nullable::Null, Nullable::Val))
                }
                Value::ExternRef(tag) => Val::ExternRef(match tag {
                    Some(tag) => Nullable::Val(ExternRef::new(&mut self.store, *tag)),
                    None => Nullable::Null,
                }),
            }
        }

        fn call(&mut self, call: &Call) -> Outcome {
            if let Some(budget) = self.instance.get_global(&self.store, BUDGET_EXPORT)
                && let Err(e) = budget.set(&mut self.store, Val::I32(BUDGET))
            {
                return Outcome::Failed(format!("cannot reset the budget: {e}"));
            }
            let Some(func) = self.instance.get_func(&self.store, &call.export) else {
                return Outcome::Failed(format!("no function export {:?}", call.export));
            };
            let args: Vec<Val> = call.args.iter().map(|a| self.val(a)).collect();
            let ty = func.ty(&self.store);
            let mut results: Vec<Val> = ty
                .results()
                .iter()
                .map(|&t| Val::default_for_ty(t))
                .collect();
            match func.call(&mut self.store, &args, &mut results) {
                Ok(()) => Outcome::Returned(results.iter().map(|v| self.value(v)).collect()),
                Err(e) => outcome(&e),
            }
        }

        fn snapshot(&self) -> Vec<(String, ExportState)> {
            let mut states = Vec::new();
            for (name, export) in self.exports() {
                if name == COUNT_EXPORT {
                    continue;
                }
                let state = match export {
                    Extern::Func(_) => continue,
                    Extern::Global(g) => ExportState::Global(self.value(&g.get(&self.store))),
                    Extern::Memory(m) => ExportState::Memory {
                        pages: m.size(&self.store),
                        hash: hash_bytes(m.data(&self.store)),
                    },
                    Extern::Table(t) => ExportState::Table(
                        (0..t.size(&self.store))
                            .map(|i| match t.get(&self.store, i) {
                                Some(Ref::Func(f)) => {
                                    Value::FuncRef(f.val().map(|f| self.func_name(f)))
                                }
                                Some(Ref::Extern(e)) => {
                                    Value::ExternRef(e.val().map(|e| self.extern_tag(e)))
                                }
                                None => Value::I32(-1),
                            })
                            .collect(),
                    ),
                };
                states.push((name, state));
            }
            states
        }
    }
}

mod wasmi031 {
    use super::*;
    use wasmi_old::core::{F32, F64, TrapCode};
    use wasmi_old::{
        Engine, Extern, ExternRef, Func, FuncRef, Instance, Linker, Module, Store, Value as Val,
    };

    pub fn run(counted: &[u8], plan: &[Call]) -> Result<Trace, String> {
        let mut config = wasmi_old::Config::default();
        config.set_stack_limits(
            wasmi_old::StackLimits::new(1 << 10, 1 << 24, 100_000).map_err(|e| e.to_string())?,
        );
        let engine = Engine::new(&config);
        let module = Module::new(&engine, counted)
            .map_err(|e| format!("wasmi-0.31 refused the module: {e}"))?;
        let mut store = Store::new(&engine, ());
        let mut trace = Trace::default();
        let instance = match Linker::<()>::new(&engine)
            .instantiate(&mut store, &module)
            .and_then(|pre| pre.start(&mut store))
        {
            Ok(instance) => instance,
            Err(e) => {
                trace.steps.push(Step {
                    outcome: outcome(&e),
                    exports: Vec::new(),
                    fuel: None,
                });
                return Ok(trace);
            }
        };
        let mut run = Run {
            store,
            instance,
            names: HashMap::new(),
            count: 0,
        };
        run.index_funcs();
        let fuel = Some(run.count_delta());
        trace.steps.push(Step {
            outcome: Outcome::Returned(Vec::new()),
            exports: run.snapshot(),
            fuel,
        });
        for call in plan {
            let outcome = run.call(call);
            let fuel = Some(run.count_delta());
            trace.steps.push(Step {
                outcome,
                exports: run.snapshot(),
                fuel,
            });
        }
        Ok(trace)
    }

    fn outcome(error: &wasmi_old::Error) -> Outcome {
        let code = match error {
            wasmi_old::Error::Trap(trap) => trap.trap_code(),
            _ => None,
        };
        let kind = match code {
            Some(code) => match code {
                TrapCode::UnreachableCodeReached => TrapKind::Unreachable,
                TrapCode::MemoryOutOfBounds => TrapKind::MemoryOutOfBounds,
                TrapCode::TableOutOfBounds => TrapKind::TableOutOfBounds,
                TrapCode::IndirectCallToNull => TrapKind::IndirectCallToNull,
                TrapCode::IntegerDivisionByZero => TrapKind::IntegerDivisionByZero,
                TrapCode::IntegerOverflow => TrapKind::IntegerOverflow,
                TrapCode::BadConversionToInteger => TrapKind::BadConversionToInteger,
                TrapCode::StackOverflow => TrapKind::StackOverflow,
                TrapCode::BadSignature => TrapKind::BadSignature,
                TrapCode::OutOfFuel => TrapKind::OutOfFuel,
                _ => TrapKind::Other,
            },
            None => match trap_from_message(&error.to_string()) {
                Some(kind) => kind,
                None => return Outcome::Failed(error.to_string()),
            },
        };
        Outcome::Trapped(kind)
    }

    struct Run {
        store: Store<()>,
        instance: Instance,
        names: HashMap<String, String>,
        count: i64,
    }

    impl Run {
        fn exports(&self) -> Vec<(String, Extern)> {
            sorted(
                self.instance
                    .exports(&self.store)
                    .map(|e| (e.name().to_string(), e.into_extern()))
                    .collect(),
            )
        }

        fn index_funcs(&mut self) {
            for (name, export) in self.exports() {
                if let Extern::Func(func) = export {
                    self.names.entry(key(&func)).or_insert(name);
                }
            }
        }

        fn count_delta(&mut self) -> u64 {
            let now = self
                .instance
                .get_global(&self.store, COUNT_EXPORT)
                .and_then(|g| g.get(&self.store).i64())
                .unwrap_or(0);
            let delta = now.wrapping_sub(self.count);
            self.count = now;
            delta as u64
        }

        fn value(&self, val: &Val) -> Value {
            match val {
                Val::I32(v) => Value::I32(*v),
                Val::I64(v) => Value::I64(*v),
                Val::F32(v) => Value::F32(v.to_bits()),
                Val::F64(v) => Value::F64(v.to_bits()),
                Val::FuncRef(f) => Value::FuncRef(f.func().map(|f| self.func_name(f))),
                Val::ExternRef(e) => Value::ExternRef(
                    e.data(&self.store)
                        .map(|data| data.downcast_ref::<u32>().copied().unwrap_or(u32::MAX)),
                ),
            }
        }

        fn func_name(&self, func: &Func) -> String {
            self.names
                .get(&key(func))
                .cloned()
                .unwrap_or_else(|| "?".into())
        }

        fn val(&mut self, value: &Value) -> Val {
            match value {
                Value::I32(v) => Val::I32(*v),
                Value::I64(v) => Val::I64(*v),
                Value::F32(v) => Val::F32(F32::from_bits(*v)),
                Value::F64(v) => Val::F64(F64::from_bits(*v)),
                // wasmi 0.31 has no SIMD; never generated while Tandem has none.
                Value::V128(_) => Val::I64(0),
                Value::FuncRef(name) => {
                    let func = name
                        .as_ref()
                        .and_then(|n| self.instance.get_func(&self.store, n));
                    Val::FuncRef(FuncRef::new(func))
                }
                Value::ExternRef(tag) => Val::ExternRef(match tag {
                    Some(tag) => ExternRef::new(&mut self.store, *tag),
                    None => ExternRef::null(),
                }),
            }
        }

        fn call(&mut self, call: &Call) -> Outcome {
            if let Some(budget) = self.instance.get_global(&self.store, BUDGET_EXPORT)
                && let Err(e) = budget.set(&mut self.store, Val::I32(BUDGET))
            {
                return Outcome::Failed(format!("cannot reset the budget: {e}"));
            }
            let Some(func) = self.instance.get_func(&self.store, &call.export) else {
                return Outcome::Failed(format!("no function export {:?}", call.export));
            };
            let args: Vec<Val> = call.args.iter().map(|a| self.val(a)).collect();
            let ty = func.ty(&self.store);
            let mut results: Vec<Val> = ty.results().iter().map(|&t| Val::default(t)).collect();
            match func.call(&mut self.store, &args, &mut results) {
                Ok(()) => Outcome::Returned(results.iter().map(|v| self.value(v)).collect()),
                Err(e) => outcome(&e),
            }
        }

        fn snapshot(&self) -> Vec<(String, ExportState)> {
            let mut states = Vec::new();
            for (name, export) in self.exports() {
                if name == COUNT_EXPORT {
                    continue;
                }
                let state = match export {
                    Extern::Func(_) => continue,
                    Extern::Global(g) => ExportState::Global(self.value(&g.get(&self.store))),
                    Extern::Memory(m) => {
                        let data = m.data(&self.store);
                        ExportState::Memory {
                            pages: (data.len() >> 16) as u64,
                            hash: hash_bytes(data),
                        }
                    }
                    Extern::Table(t) => ExportState::Table(
                        (0..t.size(&self.store))
                            .map(|i| {
                                t.get(&self.store, i)
                                    .map_or(Value::I32(-1), |v| self.value(&v))
                            })
                            .collect(),
                    ),
                };
                states.push((name, state));
            }
            states
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{rewrite, smith};

    #[test]
    fn an_oracle_that_panics_translating_cannot_judge_and_does_not_abort() {
        // Diff seed 100031721: wasmi 2.0.0 panics translating a function;
        // translated lazily, inside its executor, that aborted the worker.
        // The seed was found with Wasm 2.0 without SIMD: pin those features,
        // so Tandem's growing defaults do not change the module it makes.
        let features = tandem_environ::WasmFeatures::WASM2
            & !tandem_environ::WasmFeatures::SIMD
            & !tandem_environ::WasmFeatures::RELAXED_SIMD;
        let case = smith::generate(100031721, features).unwrap();
        let counted = rewrite::rewrite(&case.wasm, None, true).unwrap();
        let err = Oracle::Wasmi2.run(&counted, &case.plan).unwrap_err();
        assert!(err.contains("panicked"), "{err}");
        let other = Oracle::Wasmi031.run(&counted, &case.plan).unwrap();
        assert!(!other.steps.is_empty());
    }

    #[test]
    fn both_oracles_agree_on_a_simple_run() {
        let wasm = wat::parse_str(
            r#"(module (global (export "g") (mut i32) (i32.const 0))
                (func (export "f") (param i32) (result i32)
                  local.get 0 global.set 0 local.get 0 i32.const 1 i32.div_s))"#,
        )
        .unwrap();
        let counted = rewrite::rewrite(&wasm, None, true).unwrap();
        let plan = [
            Call {
                export: "f".into(),
                args: vec![Value::I32(6)],
            },
            Call {
                export: "f".into(),
                args: vec![Value::I32(0)],
            },
        ];
        let a = Oracle::Wasmi2.run(&counted, &plan).unwrap();
        let b = Oracle::Wasmi031.run(&counted, &plan).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.steps[1].outcome, Outcome::Returned(vec![Value::I32(6)]));
        assert_eq!(a.steps[1].fuel, Some(6));
    }
}
