//! Traps surface as `Trap` values with the right code and a Wasm backtrace
//! naming the functions, and the store stays usable afterwards. Every test
//! runs on every backend this build has.

use tandem_store::{
    BackendKind, Config, Engine, Error, Instance, Module, Store, Trap, Val, WasmBacktrace,
};

const WAT: &str = r#"
(module $traps
  (type $i2i (func (param i32) (result i32)))
  (table 2 funcref)
  (elem (i32.const 0) $div)
  (memory 1)
  (func $div (export "div") (param i32) (result i32)
    i32.const 100
    local.get 0
    i32.div_s)
  (func $outer (export "outer") (param i32) (result i32)
    local.get 0
    call $div)
  (func $load (export "load") (param i32) (result i32)
    local.get 0
    i32.load)
  (func $unreachable (export "unreachable")
    unreachable)
  (func $bad_sig (export "bad_sig") (result i64)
    i32.const 0
    call_indirect (result i64))
  (func $null (export "null") (result i32)
    i32.const 7
    i32.const 1
    call_indirect (type $i2i))
  (func $past_end (export "past_end") (result i32)
    i32.const 7
    i32.const 2
    call_indirect (type $i2i))
  (func $via_table (export "via_table") (param i32) (result i32)
    local.get 0
    i32.const 0
    call_indirect (type $i2i))
  (func $recurse (export "recurse") (param i32) (result i32)
    local.get 0
    i32.const 1
    i32.add
    call $recurse)
)
"#;

fn setup(kind: BackendKind) -> (Store<()>, Instance) {
    let engine = Engine::new(Config::new().backend(kind)).expect("engine");
    let module = Module::new(&engine, WAT).unwrap_or_else(|e| panic!("{kind}: compiles: {e}"));
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).expect("instantiates");
    (store, instance)
}

fn call(
    store: &mut Store<()>,
    instance: Instance,
    name: &str,
    args: &[Val],
    results: usize,
) -> Result<Vec<Val>, Error> {
    let func = instance.get_func(&mut *store, name).expect("export exists");
    let mut out = vec![Val::I32(0); results];
    func.call(store, args, &mut out)?;
    Ok(out)
}

#[allow(clippy::too_many_arguments)]
fn expect_trap(
    kind: BackendKind,
    store: &mut Store<()>,
    instance: Instance,
    name: &str,
    args: &[Val],
    results: usize,
    code: Trap,
    frames: &[&str],
) {
    let err = match call(store, instance, name, args, results) {
        Ok(out) => panic!("{kind}: `{name}` returned {out:?} instead of trapping"),
        Err(err) => err,
    };
    assert_eq!(err.downcast_ref::<Trap>(), Some(&code), "{kind}: {err:?}");
    let names: Vec<&str> = err
        .downcast_ref::<WasmBacktrace>()
        .expect("a Wasm backtrace")
        .frames()
        .iter()
        .map(|f| f.func_name.as_deref().unwrap_or("?"))
        .collect();
    assert!(
        names.len() >= frames.len(),
        "{kind}: backtrace {names:?} shorter than {frames:?}\n{err:?}"
    );
    assert_eq!(&names[..frames.len()], frames, "{kind}: {err:?}");
    assert!(format!("{err:?}").contains(code.message()), "{kind}");
    // The same store runs another call correctly.
    let ok = call(store, instance, "div", &[Val::I32(5)], 1)
        .unwrap_or_else(|e| panic!("{kind}: store unusable after a trap: {e}"));
    assert_eq!(ok[0].i32(), Some(20), "{kind}");
}

#[test]
fn division_by_zero_traps_with_backtrace() {
    for &kind in BackendKind::available() {
        let (mut store, instance) = setup(kind);
        expect_trap(
            kind,
            &mut store,
            instance,
            "outer",
            &[Val::I32(0)],
            1,
            Trap::IntegerDivisionByZero,
            &["div", "outer"],
        );
    }
}

#[test]
fn out_of_bounds_load_traps() {
    for &kind in BackendKind::available() {
        let (mut store, instance) = setup(kind);
        expect_trap(
            kind,
            &mut store,
            instance,
            "load",
            &[Val::I32(65534)],
            1,
            Trap::MemoryOutOfBounds,
            &["load"],
        );
        expect_trap(
            kind,
            &mut store,
            instance,
            "load",
            &[Val::I32(-1)],
            1,
            Trap::MemoryOutOfBounds,
            &["load"],
        );
    }
}

#[test]
fn unreachable_traps() {
    for &kind in BackendKind::available() {
        let (mut store, instance) = setup(kind);
        expect_trap(
            kind,
            &mut store,
            instance,
            "unreachable",
            &[],
            0,
            Trap::UnreachableCodeReached,
            &["unreachable"],
        );
    }
}

/// The table holds only `$div` and nulls and nothing writes it, so a
/// `call_indirect (type $i2i)` skips the signature check
/// (`ModuleInfo::fixed_table_type`): the null and bounds checks remain.
#[test]
fn call_indirect_checks_signature_and_null() {
    for &kind in BackendKind::available() {
        let (mut store, instance) = setup(kind);
        let out = call(&mut store, instance, "via_table", &[Val::I32(4)], 1).unwrap();
        assert_eq!(out[0].i32(), Some(25), "{kind}");
        expect_trap(
            kind,
            &mut store,
            instance,
            "past_end",
            &[],
            1,
            Trap::IndirectCallOutOfBounds,
            &["past_end"],
        );
        expect_trap(
            kind,
            &mut store,
            instance,
            "bad_sig",
            &[],
            1,
            Trap::BadSignature,
            &["bad_sig"],
        );
        expect_trap(
            kind,
            &mut store,
            instance,
            "null",
            &[],
            1,
            Trap::IndirectCallToNull,
            &["null"],
        );
    }
}

#[test]
fn unbounded_recursion_is_a_stack_overflow() {
    for &kind in BackendKind::available() {
        let (mut store, instance) = setup(kind);
        expect_trap(
            kind,
            &mut store,
            instance,
            "recurse",
            &[Val::I32(0)],
            1,
            Trap::StackOverflow,
            &["recurse", "recurse"],
        );
        // And again: the stack limit is restored after the first overflow.
        expect_trap(
            kind,
            &mut store,
            instance,
            "recurse",
            &[Val::I32(0)],
            1,
            Trap::StackOverflow,
            &["recurse"],
        );
    }
}

#[test]
fn many_traps_in_a_row_leave_the_store_working() {
    for &kind in BackendKind::available() {
        let (mut store, instance) = setup(kind);
        for _ in 0..1000 {
            let err = call(&mut store, instance, "div", &[Val::I32(0)], 1).unwrap_err();
            assert_eq!(
                err.downcast_ref::<Trap>(),
                Some(&Trap::IntegerDivisionByZero),
                "{kind}: {err}"
            );
        }
        assert_eq!(
            call(&mut store, instance, "div", &[Val::I32(4)], 1).unwrap()[0].i32(),
            Some(25),
            "{kind}"
        );
    }
}
