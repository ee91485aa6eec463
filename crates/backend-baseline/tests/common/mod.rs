//! Shared helpers: run a module's export on both backends and describe the
//! outcome (results or trap code) in a comparable form.

#![allow(dead_code)]

use tandem_store::{BackendKind, Engine, Instance, Module, Store, Val};

/// A call's outcome in comparable form.
#[derive(Debug, PartialEq, Eq, Clone)]
pub enum Outcome {
    /// Results, as raw bits (NaNs compared by bits, canonicalised by the
    /// caller if needed).
    Values(Vec<String>),
    /// A trap, by message.
    Trap(String),
    /// Another error.
    Error(String),
}

/// One value's bits.
pub fn show(v: &Val) -> String {
    match v {
        Val::I32(x) => format!("i32:{x}"),
        Val::I64(x) => format!("i64:{x}"),
        Val::F32(b) => {
            if f32::from_bits(*b).is_nan() {
                "f32:nan".into()
            } else {
                format!("f32:{b:#x}")
            }
        }
        Val::F64(b) => {
            if f64::from_bits(*b).is_nan() {
                "f64:nan".into()
            } else {
                format!("f64:{b:#x}")
            }
        }
        Val::FuncRef(f) => format!("funcref:{}", f.is_some()),
        Val::ExternRef(e) => format!("externref:{}", e.is_some()),
        Val::V128(x) => format!("v128:{x}"),
    }
}

/// An engine with both backends.
pub fn engine() -> Engine {
    Engine::default()
}

/// Instantiates `wat` with `backend` in a fresh store.
pub fn instantiate(engine: &Engine, wat: &str, backend: BackendKind) -> (Store<()>, Instance) {
    let module = Module::with_backend(engine, wat, backend).expect("module compiles");
    let mut store = Store::new(engine, ());
    let instance = Instance::new(&mut store, &module, &[]).expect("instantiates");
    (store, instance)
}

/// Calls export `name` with `args`.
pub fn call(store: &mut Store<()>, instance: Instance, name: &str, args: &[Val]) -> Outcome {
    let func = instance.get_func(&mut *store, name).expect("export exists");
    let n = func.ty(&*store).results().len();
    let mut out = vec![Val::I32(0); n];
    match func.call(store, args, &mut out) {
        Ok(()) => Outcome::Values(out.iter().map(show).collect()),
        Err(e) => match e.downcast_ref::<tandem_store::Trap>() {
            Some(t) => Outcome::Trap(t.message().to_string()),
            None => Outcome::Error(e.to_string()),
        },
    }
}

/// Runs `name(args)` on both backends (fresh instances) and returns both
/// outcomes: (cranelift, baseline).
pub fn both(wat: &str, name: &str, args: &[Val]) -> (Outcome, Outcome) {
    let engine = engine();
    let (mut s1, i1) = instantiate(&engine, wat, BackendKind::Cranelift);
    let (mut s2, i2) = instantiate(&engine, wat, BackendKind::Baseline);
    (call(&mut s1, i1, name, args), call(&mut s2, i2, name, args))
}

/// Asserts both backends agree on `name(args)` and returns the outcome.
pub fn agree(wat: &str, name: &str, args: &[Val]) -> Outcome {
    let (c, b) = both(wat, name, args);
    assert_eq!(c, b, "cranelift vs baseline for {name}({args:?})");
    c
}
