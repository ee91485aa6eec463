//! Semantics of compiled code through the embedding API, on every backend
//! this build has: integer and float edge cases (INT_MIN rem -1, NaN and ±0
//! in min/max, rounding), saturating and trapping conversions, control flow
//! with and without values, 20-result multi-value, memory, globals,
//! libcalls, tables, `call_indirect` and host imports through trampolines.

use tandem_store::{
    BackendKind, Config, Engine, Error, Extern, Func, Instance, Module, Store, Trap as TrapCode,
    Val,
};

/// A number compared bit for bit, so `-0.0 != 0.0` and NaN payloads count.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Num {
    I32(i32),
    I64(i64),
    F32(u32),
    F64(u64),
}

use Num::{I32, I64};

/// An `f32` number.
fn f32(x: f32) -> Num {
    Num::F32(x.to_bits())
}

/// An `f64` number.
fn f64(x: f64) -> Num {
    Num::F64(x.to_bits())
}

impl From<Num> for Val {
    fn from(n: Num) -> Val {
        match n {
            I32(v) => Val::I32(v),
            I64(v) => Val::I64(v),
            Num::F32(v) => Val::F32(v),
            Num::F64(v) => Val::F64(v),
        }
    }
}

impl Num {
    /// The number in `val`; references and vectors are not numbers here.
    fn from_val(val: &Val) -> Num {
        match *val {
            Val::I32(v) => I32(v),
            Val::I64(v) => I64(v),
            Val::F32(v) => Num::F32(v),
            Val::F64(v) => Num::F64(v),
            ref other => panic!("not a number: {other:?}"),
        }
    }
}

/// Runs `test` with an engine for each backend built in. The backend's name
/// is printed first, so a failure's captured output says which one failed.
fn each_backend(mut test: impl FnMut(&Engine)) {
    assert!(
        !BackendKind::available().is_empty(),
        "built without a backend"
    );
    for &kind in BackendKind::available() {
        println!("backend: {kind}");
        test(&Engine::new(Config::new().backend(kind)).unwrap());
    }
}

/// An instance and the store it lives in.
struct Wasm {
    store: Store<()>,
    instance: Instance,
}

impl Wasm {
    /// Instantiates `wat`, which has no imports.
    fn new(engine: &Engine, wat: &str) -> Wasm {
        Wasm::with_imports(engine, wat, |_| Vec::new())
    }

    /// Instantiates `wat` with the imports `imports` makes in the store.
    fn with_imports(
        engine: &Engine,
        wat: &str,
        imports: impl FnOnce(&mut Store<()>) -> Vec<Extern>,
    ) -> Wasm {
        let module = Module::new(engine, wat).unwrap_or_else(|e| panic!("{e}\n{wat}"));
        let mut store = Store::new(engine, ());
        let imports = imports(&mut store);
        let instance = Instance::new(&mut store, &module, &imports).unwrap();
        Wasm { store, instance }
    }

    /// Calls export `name` through `Func::call`; panics if it fails.
    fn call(&mut self, name: &str, args: &[Num]) -> Vec<Num> {
        self.try_call(name, args)
            .unwrap_or_else(|e| panic!("{name}{args:?}: {e}"))
    }

    /// Calls export `name` through `Func::call`.
    fn try_call(&mut self, name: &str, args: &[Num]) -> Result<Vec<Num>, Error> {
        let func = self
            .instance
            .get_func(&mut self.store, name)
            .unwrap_or_else(|| panic!("no function export {name}"));
        let params: Vec<Val> = args.iter().map(|&a| a.into()).collect();
        let mut results = vec![Val::I32(0); func.ty(&self.store).results().len()];
        func.call(&mut self.store, &params, &mut results)?;
        Ok(results.iter().map(Num::from_val).collect())
    }
}

/// The trap code of a failed call.
fn trap_code<R: std::fmt::Debug>(result: Result<R, Error>) -> TrapCode {
    let err = result.expect_err("the call traps");
    *err.downcast_ref::<TrapCode>()
        .unwrap_or_else(|| panic!("expected a trap, got {err:?}"))
}

/// The Wasm frames attached to a failed call's error, innermost first.
fn frames(err: &Error) -> &[tandem_store::FrameInfo] {
    err.downcast_ref::<tandem_store::WasmBacktrace>()
        .map_or(&[], tandem_store::WasmBacktrace::frames)
}

/// A one-function module `(func (export "f") (param ..) (result r) body)`
/// called with `args`.
fn try_eval(
    engine: &Engine,
    params: &str,
    result: &str,
    body: &str,
    args: &[Num],
) -> Result<Num, Error> {
    let wat = format!(r#"(module (func (export "f") (param {params}) (result {result}) {body}))"#);
    let results = Wasm::new(engine, &wat).try_call("f", args)?;
    assert_eq!(results.len(), 1);
    Ok(results[0])
}

/// [`try_eval`] of a call that returns.
fn eval(engine: &Engine, params: &str, result: &str, body: &str, args: &[Num]) -> Num {
    try_eval(engine, params, result, body, args).unwrap_or_else(|e| panic!("{body}: {e}"))
}

/// `op` applied to two parameters of type `ty`.
fn binop(engine: &Engine, ty: &str, result: &str, op: &str, a: Num, b: Num) -> Num {
    let body = format!("({op} (local.get 0) (local.get 1))");
    eval(engine, &format!("{ty} {ty}"), result, &body, &[a, b])
}

/// `op` applied to one parameter of type `ty`.
fn unop(engine: &Engine, ty: &str, result: &str, op: &str, a: Num) -> Num {
    eval(engine, ty, result, &format!("({op} (local.get 0))"), &[a])
}

/// The trap `op` raises on one parameter of type `ty`.
fn unop_trap(engine: &Engine, ty: &str, result: &str, op: &str, a: Num) -> TrapCode {
    trap_code(try_eval(
        engine,
        ty,
        result,
        &format!("({op} (local.get 0))"),
        &[a],
    ))
}

#[test]
fn recursion_and_loops() {
    each_backend(|engine| {
        let mut i = Wasm::new(
            engine,
            r#"(module
              (func $fac (export "fac") (param i64) (result i64)
                (if (result i64) (i64.eqz (local.get 0))
                  (then (i64.const 1))
                  (else (i64.mul (local.get 0) (call $fac (i64.sub (local.get 0) (i64.const 1)))))))
              (func (export "fib") (param i32) (result i32) (local i32 i32 i32)
                (local.set 2 (i32.const 1))
                (block (loop
                  (br_if 1 (i32.eqz (local.get 0)))
                  (local.set 3 (i32.add (local.get 1) (local.get 2)))
                  (local.set 1 (local.get 2))
                  (local.set 2 (local.get 3))
                  (local.set 0 (i32.sub (local.get 0) (i32.const 1)))
                  (br 0)))
                (local.get 1)))"#,
        );
        assert_eq!(i.call("fac", &[I64(20)]), [I64(2432902008176640000)]);
        assert_eq!(i.call("fib", &[I32(30)]), [I32(832040)]);
        // The typed API sees the same functions.
        let fac = i
            .instance
            .get_typed_func::<i64, i64>(&mut i.store, "fac")
            .unwrap();
        assert_eq!(fac.call(&mut i.store, 5).unwrap(), 120);
    });
}

#[test]
fn branches_with_and_without_values() {
    each_backend(|engine| {
        let mut i = Wasm::new(
            engine,
            r#"(module
              (func (export "bt") (param i32) (result i32)
                (block $a (result i32)
                  (block $b (result i32)
                    (block $c (result i32)
                      (br_table $a $b $c (i32.const 100) (local.get 0)))
                    (i32.add (i32.const 1)))
                  (i32.add (i32.const 10))))
              (func (export "bt0") (param i32) (result i32)
                (block (block (block (br_table 0 1 2 (local.get 0)))
                  (return (i32.const 7))) (return (i32.const 8)))
                (i32.const 9))
              (func (export "ifp") (param i32) (result i32)
                (i32.const 5)
                (if (param i32) (result i32) (local.get 0)
                  (then (i32.const 2) (i32.mul))
                  (else (i32.const 3) (i32.add))))
              (func (export "ifnoelse") (param i32) (result i32)
                (i32.const 5)
                (if (param i32) (result i32) (local.get 0) (then (i32.const 2) (i32.mul))))
              (func (export "loopp") (param i32) (result i32)
                ;; Sums 1..=n with the accumulator as a loop parameter.
                (i32.const 0)
                (loop $l (param i32) (result i32)
                  (i32.add (local.get 0))
                  (local.set 0 (i32.sub (local.get 0) (i32.const 1)))
                  (br_if $l (local.get 0) (i32.ne (i32.const 0)))))
              (func (export "brif") (param i32) (result i32)
                (block (result i32)
                  (drop (br_if 0 (i32.const 11) (local.get 0)))
                  (i32.const 22)))
              (func (export "swap") (param i32 i64) (result i64 i32)
                (local.get 1) (local.get 0))
              (func (export "sel") (param i32 f64 f64) (result f64)
                (select (result f64) (local.get 1) (local.get 2) (local.get 0))))"#,
        );
        assert_eq!(i.call("bt", &[I32(0)]), [I32(100)]);
        assert_eq!(i.call("bt", &[I32(1)]), [I32(110)]);
        assert_eq!(i.call("bt", &[I32(2)]), [I32(111)]);
        assert_eq!(i.call("bt", &[I32(-1)]), [I32(111)]);
        assert_eq!(i.call("bt0", &[I32(0)]), [I32(7)]);
        assert_eq!(i.call("bt0", &[I32(1)]), [I32(8)]);
        assert_eq!(i.call("bt0", &[I32(5)]), [I32(9)]);
        assert_eq!(i.call("ifp", &[I32(1)]), [I32(10)]);
        assert_eq!(i.call("ifp", &[I32(0)]), [I32(8)]);
        assert_eq!(i.call("ifnoelse", &[I32(1)]), [I32(10)]);
        assert_eq!(i.call("ifnoelse", &[I32(0)]), [I32(5)]);
        assert_eq!(i.call("loopp", &[I32(10)]), [I32(55)]);
        assert_eq!(i.call("brif", &[I32(1)]), [I32(11)]);
        assert_eq!(i.call("brif", &[I32(0)]), [I32(22)]);
        assert_eq!(i.call("swap", &[I32(1), I64(-2)]), [I64(-2), I32(1)]);
        assert_eq!(i.call("sel", &[I32(1), f64(1.0), f64(2.0)]), [f64(1.0)]);
        assert_eq!(i.call("sel", &[I32(0), f64(1.0), f64(2.0)]), [f64(2.0)]);
    });
}

#[test]
fn many_parameters_and_results() {
    // 12 parameters of all four types and 20 results: more than the
    // argument registers, returned through the array-call buffer.
    let params = "i32 i64 f32 f64 ".repeat(3);
    let results = "i64 f64 ".repeat(10);
    let body: String = (0..10)
        .map(|k| {
            format!(
                "(i64.add (i64.extend_i32_s (local.get 8)) (i64.const {k})) \
                 (f64.add (local.get 11) (f64.const {k}))"
            )
        })
        .collect();
    let args: String = (0..3)
        .map(|k| format!("(i32.const {k}) (i64.const {k}) (f32.const {k}) (f64.const {k}.5) "))
        .collect();
    let wat = format!(
        r#"(module
          (func $many (export "many") (param {params}) (result {results}) {body})
          (func (export "caller") (result {results}) (call $many {args})))"#
    );
    let expected: Vec<Num> = (0..10)
        .flat_map(|k| [I64(2 + k), f64(2.5 + k as f64)])
        .collect();
    let direct: Vec<Num> = (0..3)
        .flat_map(|k| [I32(k), I64(k.into()), f32(k as f32), f64(k as f64 + 0.5)])
        .collect();
    each_backend(|engine| {
        let mut i = Wasm::new(engine, &wat);
        assert_eq!(i.call("caller", &[]), expected);
        assert_eq!(i.call("many", &direct), expected);
    });
}

#[test]
fn integer_semantics() {
    each_backend(|e| {
        let i32s = |op, a, b| binop(e, "i32", "i32", op, I32(a), I32(b));
        let i64s = |op, a, b| binop(e, "i64", "i64", op, I64(a), I64(b));
        assert_eq!(i32s("i32.rem_s", i32::MIN, -1), I32(0));
        assert_eq!(i64s("i64.rem_s", i64::MIN, -1), I64(0));
        assert_eq!(i32s("i32.div_s", -7, 2), I32(-3));
        assert_eq!(i32s("i32.rem_s", -7, 2), I32(-1));
        assert_eq!(i32s("i32.div_u", -7, 2), I32(0x7fff_fffc));
        assert_eq!(i32s("i32.rem_u", -7, 2), I32(1));
        assert_eq!(i32s("i32.shl", 1, 33), I32(2));
        assert_eq!(i32s("i32.shr_s", -8, 1), I32(-4));
        assert_eq!(i32s("i32.shr_u", -8, 29), I32(7));
        assert_eq!(i64s("i64.shl", 1, 65), I64(2));
        assert_eq!(i32s("i32.rotl", 0x8000_0001u32 as i32, 1), I32(3));
        assert_eq!(i64s("i64.rotr", 1, 1), I64(i64::MIN));
        assert_eq!(i32s("i32.lt_u", -1, 1), I32(0));
        assert_eq!(i32s("i32.lt_s", -1, 1), I32(1));
        assert_eq!(binop(e, "i64", "i32", "i64.ge_u", I64(-1), I64(5)), I32(1));
        assert_eq!(unop(e, "i32", "i32", "i32.clz", I32(1)), I32(31));
        assert_eq!(unop(e, "i32", "i32", "i32.clz", I32(0)), I32(32));
        assert_eq!(unop(e, "i64", "i64", "i64.ctz", I64(0)), I64(64));
        assert_eq!(unop(e, "i64", "i64", "i64.popcnt", I64(-1)), I64(64));
        assert_eq!(unop(e, "i32", "i32", "i32.eqz", I32(0)), I32(1));
        assert_eq!(unop(e, "i32", "i32", "i32.extend8_s", I32(0x80)), I32(-128));
        assert_eq!(
            unop(e, "i32", "i32", "i32.extend16_s", I32(0x18000)),
            I32(-32768)
        );
        assert_eq!(
            unop(e, "i64", "i64", "i64.extend32_s", I64(0x8000_0000)),
            I64(-0x8000_0000)
        );
        assert_eq!(
            unop(e, "i32", "i64", "i64.extend_i32_u", I32(-1)),
            I64(0xffff_ffff)
        );
        assert_eq!(unop(e, "i32", "i64", "i64.extend_i32_s", I32(-1)), I64(-1));
        assert_eq!(
            unop(e, "i64", "i32", "i32.wrap_i64", I64(0x1_0000_0005)),
            I32(5)
        );
        assert_eq!(eval(e, "", "i32", "(i32.const -1)", &[]), I32(-1));

        // The neighbours of INT_MIN rem -1 that do trap.
        let div = |ty: &str, op: &str, a, b| {
            let body = format!("({ty}.{op} (local.get 0) (local.get 1))");
            trap_code(try_eval(e, &format!("{ty} {ty}"), ty, &body, &[a, b]))
        };
        assert_eq!(
            div("i32", "div_s", I32(i32::MIN), I32(-1)),
            TrapCode::IntegerOverflow
        );
        assert_eq!(
            div("i64", "div_s", I64(i64::MIN), I64(-1)),
            TrapCode::IntegerOverflow
        );
        assert_eq!(
            div("i32", "rem_s", I32(1), I32(0)),
            TrapCode::IntegerDivisionByZero
        );
        assert_eq!(
            div("i64", "div_u", I64(1), I64(0)),
            TrapCode::IntegerDivisionByZero
        );
    });
}

#[test]
fn float_semantics() {
    each_backend(|e| {
        let f32s = |op, a: f32, b: f32| binop(e, "f32", "f32", op, f32(a), f32(b));
        let f64s = |op, a: f64, b: f64| binop(e, "f64", "f64", op, f64(a), f64(b));
        assert_eq!(f32s("f32.min", -0.0, 0.0), f32(-0.0));
        assert_eq!(f32s("f32.min", 0.0, -0.0), f32(-0.0));
        assert_eq!(f64s("f64.max", -0.0, 0.0), f64(0.0));
        assert_eq!(f64s("f64.max", 0.0, -0.0), f64(0.0));
        let Num::F64(nan) = f64s("f64.min", f64::NAN, 1.0) else {
            panic!("f64.min returns an f64")
        };
        assert!(f64::from_bits(nan).is_nan());
        let Num::F32(nan) = f32s("f32.max", 1.0, f32::NAN) else {
            panic!("f32.max returns an f32")
        };
        assert!(f32::from_bits(nan).is_nan());
        assert_eq!(f64s("f64.copysign", 3.0, -0.0), f64(-3.0));
        assert_eq!(f32s("f32.div", 1.0, 0.0), f32(f32::INFINITY));
        let un64 = |op, a: f64| unop(e, "f64", "f64", op, f64(a));
        assert_eq!(un64("f64.nearest", 2.5), f64(2.0));
        assert_eq!(un64("f64.nearest", -3.5), f64(-4.0));
        assert_eq!(un64("f64.nearest", -0.4), f64(-0.0));
        assert_eq!(un64("f64.floor", -1.5), f64(-2.0));
        assert_eq!(un64("f64.ceil", -1.5), f64(-1.0));
        assert_eq!(un64("f64.trunc", -1.5), f64(-1.0));
        assert_eq!(un64("f64.sqrt", 9.0), f64(3.0));
        assert_eq!(un64("f64.neg", 0.0), f64(-0.0));
        assert_eq!(un64("f64.abs", -2.0), f64(2.0));
        assert_eq!(unop(e, "f32", "f32", "f32.nearest", f32(0.5)), f32(0.0));
        let cmp64 = |op, a: f64, b: f64| binop(e, "f64", "i32", op, f64(a), f64(b));
        assert_eq!(cmp64("f64.eq", f64::NAN, f64::NAN), I32(0));
        assert_eq!(cmp64("f64.ne", f64::NAN, f64::NAN), I32(1));
        let cmp32 = |op, a: f32, b: f32| binop(e, "f32", "i32", op, f32(a), f32(b));
        assert_eq!(cmp32("f32.lt", -0.0, 0.0), I32(0));
        assert_eq!(cmp32("f32.le", 1.0, 2.0), I32(1));
    });
}

#[test]
fn conversions() {
    each_backend(|e| {
        let c = |from, to, op, a| unop(e, from, to, op, a);
        assert_eq!(
            c("f32", "i32", "i32.trunc_sat_f32_s", f32(f32::NAN)),
            I32(0)
        );
        assert_eq!(
            c("f32", "i32", "i32.trunc_sat_f32_s", f32(1e10)),
            I32(i32::MAX)
        );
        assert_eq!(c("f32", "i32", "i32.trunc_sat_f32_u", f32(-5.0)), I32(0));
        assert_eq!(c("f64", "i64", "i64.trunc_sat_f64_u", f64(1e30)), I64(-1));
        assert_eq!(
            c("f64", "i64", "i64.trunc_f64_u", f64(1e19)),
            I64(10_000_000_000_000_000_000u64 as i64)
        );
        assert_eq!(c("f64", "i32", "i32.trunc_f64_s", f64(-2.9)), I32(-2));
        assert_eq!(
            c("f32", "i32", "i32.trunc_f32_u", f32(3e9)),
            I32(3_000_000_000u32 as i32)
        );
        assert_eq!(
            c("i64", "f32", "f32.convert_i64_u", I64(-1)),
            f32(1.8446744e19)
        );
        assert_eq!(
            c("i64", "f64", "f64.convert_i64_u", I64(i64::MIN)),
            f64(2f64.powi(63))
        );
        assert_eq!(
            c("i32", "f64", "f64.convert_i32_u", I32(-1)),
            f64(4294967295.0)
        );
        assert_eq!(c("i32", "f32", "f32.convert_i32_s", I32(-3)), f32(-3.0));
        assert_eq!(c("f64", "f32", "f32.demote_f64", f64(1.5)), f32(1.5));
        assert_eq!(c("f32", "f64", "f64.promote_f32", f32(-0.25)), f64(-0.25));
        assert_eq!(
            c("f32", "i32", "i32.reinterpret_f32", f32(-0.0)),
            I32(i32::MIN)
        );
        assert_eq!(
            c(
                "i64",
                "f64",
                "f64.reinterpret_i64",
                I64(0x3ff0_0000_0000_0000)
            ),
            f64(1.0)
        );

        // What the saturating forms saturate, the trapping forms trap on.
        let t = |from, to, op, a| unop_trap(e, from, to, op, a);
        assert_eq!(
            t("f32", "i32", "i32.trunc_f32_s", f32(f32::NAN)),
            TrapCode::BadConversionToInteger
        );
        assert_eq!(
            t("f32", "i32", "i32.trunc_f32_s", f32(1e10)),
            TrapCode::IntegerOverflow
        );
        assert_eq!(
            t("f32", "i32", "i32.trunc_f32_u", f32(-5.0)),
            TrapCode::IntegerOverflow
        );
        assert_eq!(
            t("f64", "i64", "i64.trunc_f64_u", f64(1e30)),
            TrapCode::IntegerOverflow
        );
    });
}

#[test]
fn memory_globals_and_libcalls() {
    each_backend(|engine| {
        let mut i = Wasm::new(
            engine,
            r#"(module (memory 1)
              (global $g (mut i64) (i64.const 5))
              (global $k f64 (f64.const 2.5))
              (func (export "mem") (param i32) (result i32 i32 i64 i32)
                (i32.store offset=8 (local.get 0) (i32.const 0x12345680))
                (i64.store16 offset=100 (local.get 0) (i64.const -1))
                (i32.load8_s offset=8 (local.get 0))
                (i32.load8_u offset=8 (local.get 0))
                (i64.load16_s offset=100 (local.get 0))
                (i32.load offset=4 (i32.add (local.get 0) (i32.const 4))))
              (func (export "floats") (param i32) (result f64)
                (f64.store (local.get 0) (f64.const 6.25))
                (f32.store offset=16 (local.get 0) (f32.const 0.5))
                (f64.add (f64.load (local.get 0)) (f64.promote_f32 (f32.load offset=16 (local.get 0)))))
              (func (export "glob") (result i64 f64)
                (global.set $g (i64.add (global.get $g) (i64.const 1)))
                (global.get $g) (global.get $k))
              (func (export "size") (result i32) (memory.size))
              (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
              (func $fill (export "fill") (param i32 i32)
                (memory.fill (local.get 0) (i32.const 0xab) (local.get 1)))
              (func (export "load8") (param i32) (result i32) (i32.load8_u (local.get 0))))"#,
        );
        assert_eq!(
            i.call("mem", &[I32(1000)]),
            [I32(-128), I32(0x80), I64(-1), I32(0x12345680)]
        );
        assert_eq!(i.call("floats", &[I32(64)]), [f64(6.75)]);
        assert_eq!(i.call("glob", &[]), [I64(6), f64(2.5)]);
        assert_eq!(i.call("glob", &[]), [I64(7), f64(2.5)]);
        assert_eq!(i.call("size", &[]), [I32(1)]);
        assert_eq!(i.call("grow", &[I32(3)]), [I32(1)]);
        assert_eq!(i.call("size", &[]), [I32(4)]);
        // Growing past 4 GiB fails without changing the memory.
        assert_eq!(i.call("grow", &[I32(0x1_0000)]), [I32(-1)]);
        assert_eq!(i.call("size", &[]), [I32(4)]);
        // The grown pages are usable, by compiled code and by libcalls.
        i.call("fill", &[I32(0x3_fffe), I32(2)]);
        assert_eq!(i.call("load8", &[I32(0x3_ffff)]), [I32(0xab)]);
        // A trap raised inside a libcall: its trampoline recorded the exit
        // from Wasm, so the backtrace starts at the calling function.
        let err = i.try_call("fill", &[I32(0x3_ffff), I32(2)]).unwrap_err();
        assert_eq!(err.downcast_ref(), Some(&TrapCode::MemoryOutOfBounds));
        assert_eq!(frames(&err).len(), 1, "{err:?}");
        assert_eq!(
            frames(&err)[0].func_name.as_deref(),
            Some("fill"),
            "{err:?}"
        );
        // Nothing was written.
        assert_eq!(i.call("load8", &[I32(0x3_ffff)]), [I32(0xab)]);
    });
}

#[test]
fn indirect_calls_tables_and_host_imports() {
    each_backend(|engine| {
        let mut i = Wasm::with_imports(
            engine,
            r#"(module
              (import "h" "sum" (func $sum (param i32 i64 f64) (result f64 i32)))
              (import "h" "fail" (func $fail (param i32)))
              (type $un (func (param i32) (result i32)))
              (table $t 4 funcref)
              (table $u 2 funcref)
              (elem (table $t) (i32.const 0) func $double $square $sum)
              (func $double (param i32) (result i32) (i32.mul (local.get 0) (i32.const 2)))
              (func $square (param i32) (result i32) (i32.mul (local.get 0) (local.get 0)))
              (func (export "ci") (param i32 i32) (result i32)
                (call_indirect $t (type $un) (local.get 1) (local.get 0)))
              (func (export "host") (param i32 i64 f64) (result f64 i32)
                (call $sum (local.get 0) (local.get 1) (local.get 2)))
              (func (export "hostind") (result f64 i32)
                (call_indirect $t (param i32 i64 f64) (result f64 i32)
                  (i32.const 1) (i64.const 2) (f64.const 0.5) (i32.const 2)))
              (func (export "tables") (result i32 i32 i32)
                (table.set $u (i32.const 1) (table.get $t (i32.const 1)))
                (table.size $t)
                (ref.is_null (table.get $u (i32.const 0)))
                (call_indirect $u (type $un) (i32.const 9) (i32.const 1)))
              (func (export "reffunc") (result i32)
                (table.set $u (i32.const 0) (ref.func $double))
                (call_indirect $u (type $un) (i32.const 21) (i32.const 0)))
              (func $outer (export "fails") (param i32)
                (call $inner (local.get 0)))
              (func $inner (param i32)
                (call $fail (local.get 0))))"#,
            |store| {
                let sum = Func::wrap(&mut *store, |a: i32, b: i64, c: f64| -> (f64, i32) {
                    (f64::from(a) + b as f64 + c, 2 * a)
                });
                let fail = Func::wrap(store, |code: i32| -> tandem_store::Result<()> {
                    Err(tandem_store::format_err!("host failure {code}"))
                });
                vec![sum.into(), fail.into()]
            },
        );
        assert_eq!(i.call("ci", &[I32(0), I32(5)]), [I32(10)]);
        assert_eq!(i.call("ci", &[I32(1), I32(5)]), [I32(25)]);
        assert_eq!(
            i.call("host", &[I32(1), I64(2), f64(0.25)]),
            [f64(3.25), I32(2)]
        );
        assert_eq!(i.call("hostind", &[]), [f64(3.5), I32(2)]);
        assert_eq!(i.call("tables", &[]), [I32(4), I32(1), I32(81)]);
        assert_eq!(i.call("reffunc", &[]), [I32(42)]);
        // The Wasm-to-array trampoline recorded the exit from Wasm: a host
        // error's backtrace lists the Wasm frames that called it.
        let err = i.try_call("fails", &[I32(7)]).unwrap_err();
        assert!(err.downcast_ref::<TrapCode>().is_none(), "{err:?}");
        let names: Vec<_> = frames(&err)
            .iter()
            .map(|f| f.func_name.as_deref())
            .collect();
        assert_eq!(names, [Some("inner"), Some("outer")], "{err:?}");
        assert_eq!(err.root_cause().to_string(), "host failure 7");
        // The instance still works.
        assert_eq!(i.call("ci", &[I32(1), I32(6)]), [I32(36)]);
    });
}
