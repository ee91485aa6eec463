//! Traps surface as `Trap` values with the right code and a Wasm backtrace
//! naming the functions, and the store stays usable afterwards.

use tandem_store::{Engine, Error, Instance, Module, Store, TrapCode, Val};

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
  (func $recurse (export "recurse") (param i32) (result i32)
    local.get 0
    i32.const 1
    i32.add
    call $recurse)
)
"#;

fn setup() -> (Store<()>, Instance) {
    let engine = Engine::default();
    let module = Module::new(&engine, WAT).expect("module compiles");
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
    let func = instance.get_func(store, name).expect("export exists");
    let mut out = vec![Val::I32(0); results];
    func.call(store, args, &mut out)?;
    Ok(out)
}

fn expect_trap(
    store: &mut Store<()>,
    instance: Instance,
    name: &str,
    args: &[Val],
    results: usize,
    code: TrapCode,
    frames: &[&str],
) {
    let err = call(store, instance, name, args, results).expect_err("call traps");
    let trap = err
        .as_trap()
        .unwrap_or_else(|| panic!("expected a trap, got {err}"));
    assert_eq!(trap.code(), code, "{trap}");
    let names: Vec<&str> = trap
        .trace()
        .iter()
        .map(|f| f.func_name.as_deref().unwrap_or("?"))
        .collect();
    assert!(
        names.len() >= frames.len(),
        "backtrace {names:?} shorter than {frames:?}\n{trap}"
    );
    assert_eq!(&names[..frames.len()], frames, "{trap}");
    assert!(trap.to_string().contains(code.message()));
    // The same store runs another call correctly.
    let ok = call(store, instance, "div", &[Val::I32(5)], 1).expect("store still usable");
    assert_eq!(ok[0].i32(), Some(20));
}

#[test]
fn division_by_zero_traps_with_backtrace() {
    let (mut store, instance) = setup();
    expect_trap(
        &mut store,
        instance,
        "outer",
        &[Val::I32(0)],
        1,
        TrapCode::IntegerDivisionByZero,
        &["div", "outer"],
    );
}

#[test]
fn out_of_bounds_load_traps() {
    let (mut store, instance) = setup();
    expect_trap(
        &mut store,
        instance,
        "load",
        &[Val::I32(65534)],
        1,
        TrapCode::MemoryOutOfBounds,
        &["load"],
    );
    expect_trap(
        &mut store,
        instance,
        "load",
        &[Val::I32(-1)],
        1,
        TrapCode::MemoryOutOfBounds,
        &["load"],
    );
}

#[test]
fn unreachable_traps() {
    let (mut store, instance) = setup();
    expect_trap(
        &mut store,
        instance,
        "unreachable",
        &[],
        0,
        TrapCode::UnreachableCodeReached,
        &["unreachable"],
    );
}

#[test]
fn call_indirect_checks_signature_and_null() {
    let (mut store, instance) = setup();
    expect_trap(
        &mut store,
        instance,
        "bad_sig",
        &[],
        1,
        TrapCode::BadSignature,
        &["bad_sig"],
    );
    expect_trap(
        &mut store,
        instance,
        "null",
        &[],
        1,
        TrapCode::IndirectCallToNull,
        &["null"],
    );
}

#[test]
fn unbounded_recursion_is_a_stack_overflow() {
    let (mut store, instance) = setup();
    expect_trap(
        &mut store,
        instance,
        "recurse",
        &[Val::I32(0)],
        1,
        TrapCode::StackOverflow,
        &["recurse", "recurse"],
    );
    // And again: the stack limit is restored after the first overflow.
    expect_trap(
        &mut store,
        instance,
        "recurse",
        &[Val::I32(0)],
        1,
        TrapCode::StackOverflow,
        &["recurse"],
    );
}

#[test]
fn many_traps_in_a_row_leave_the_store_working() {
    let (mut store, instance) = setup();
    for _ in 0..1000 {
        let err = call(&mut store, instance, "div", &[Val::I32(0)], 1).unwrap_err();
        assert_eq!(
            err.as_trap().map(|t| t.code()),
            Some(TrapCode::IntegerDivisionByZero)
        );
    }
    assert_eq!(
        call(&mut store, instance, "div", &[Val::I32(4)], 1).unwrap()[0].i32(),
        Some(25)
    );
}
