//! Executes compiled code (through [`super::exec::Instance`]) and checks the
//! results against the WebAssembly specification's semantics.

use super::exec::{Instance, Val};
use Val::*;

/// Compiles a one-function module `(func (export "f") (param ..) (result r) body)`
/// and calls it.
fn eval(params: &str, result: &str, body: &str, args: &[Val]) -> Val {
    let wat = format!(r#"(module (func (export "f") (param {params}) (result {result}) {body}))"#);
    let mut instance = Instance::new(&wat);
    instance.call("f", args)[0]
}

/// `op` applied to two parameters of type `ty`.
fn binop(ty: &str, result: &str, op: &str, a: Val, b: Val) -> Val {
    eval(
        &format!("{ty} {ty}"),
        result,
        &format!("({op} (local.get 0) (local.get 1))"),
        &[a, b],
    )
}

/// `op` applied to one parameter of type `ty`.
fn unop(ty: &str, result: &str, op: &str, a: Val) -> Val {
    eval(ty, result, &format!("({op} (local.get 0))"), &[a])
}

#[test]
fn recursion_and_loops() {
    let mut i = Instance::new(
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
}

#[test]
fn branches_with_and_without_values() {
    let mut i = Instance::new(
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
    assert_eq!(
        i.call("sel", &[I32(1), Val::f64(1.0), Val::f64(2.0)]),
        [Val::f64(1.0)]
    );
    assert_eq!(
        i.call("sel", &[I32(0), Val::f64(1.0), Val::f64(2.0)]),
        [Val::f64(2.0)]
    );
}

#[test]
fn many_parameters_and_results() {
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
    let mut i = Instance::new(&format!(
        r#"(module
          (func $many (export "many") (param {params}) (result {results}) {body})
          (func (export "caller") (result {results}) (call $many {args})))"#
    ));
    let expected: Vec<Val> = (0..10)
        .flat_map(|k| [I64(2 + k), Val::f64(2.5 + k as f64)])
        .collect();
    assert_eq!(i.call("caller", &[]), expected);
    let direct: Vec<Val> = (0..3)
        .flat_map(|k| {
            [
                I32(k),
                I64(k.into()),
                Val::f32(k as f32),
                Val::f64(k as f64 + 0.5),
            ]
        })
        .collect();
    assert_eq!(i.call("many", &direct), expected);
}

#[test]
fn integer_semantics() {
    let i32s = |op, a, b| binop("i32", "i32", op, I32(a), I32(b));
    let i64s = |op, a, b| binop("i64", "i64", op, I64(a), I64(b));
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
    assert_eq!(binop("i64", "i32", "i64.ge_u", I64(-1), I64(5)), I32(1));
    assert_eq!(unop("i32", "i32", "i32.clz", I32(1)), I32(31));
    assert_eq!(unop("i32", "i32", "i32.clz", I32(0)), I32(32));
    assert_eq!(unop("i64", "i64", "i64.ctz", I64(0)), I64(64));
    assert_eq!(unop("i64", "i64", "i64.popcnt", I64(-1)), I64(64));
    assert_eq!(unop("i32", "i32", "i32.eqz", I32(0)), I32(1));
    assert_eq!(unop("i32", "i32", "i32.extend8_s", I32(0x80)), I32(-128));
    assert_eq!(
        unop("i32", "i32", "i32.extend16_s", I32(0x18000)),
        I32(-32768)
    );
    assert_eq!(
        unop("i64", "i64", "i64.extend32_s", I64(0x8000_0000)),
        I64(-0x8000_0000)
    );
    assert_eq!(
        unop("i32", "i64", "i64.extend_i32_u", I32(-1)),
        I64(0xffff_ffff)
    );
    assert_eq!(unop("i32", "i64", "i64.extend_i32_s", I32(-1)), I64(-1));
    assert_eq!(
        unop("i64", "i32", "i32.wrap_i64", I64(0x1_0000_0005)),
        I32(5)
    );
    assert_eq!(eval("", "i32", "(i32.const -1)", &[]), I32(-1));
}

#[test]
fn float_semantics() {
    let f32s = |op, a: f32, b: f32| binop("f32", "f32", op, Val::f32(a), Val::f32(b));
    let f64s = |op, a: f64, b: f64| binop("f64", "f64", op, Val::f64(a), Val::f64(b));
    assert_eq!(f32s("f32.min", -0.0, 0.0), Val::f32(-0.0));
    assert_eq!(f32s("f32.min", 0.0, -0.0), Val::f32(-0.0));
    assert_eq!(f64s("f64.max", -0.0, 0.0), Val::f64(0.0));
    assert_eq!(f64s("f64.max", 0.0, -0.0), Val::f64(0.0));
    let Val::F64(nan) = f64s("f64.min", f64::NAN, 1.0) else {
        panic!()
    };
    assert!(f64::from_bits(nan).is_nan());
    let Val::F32(nan) = f32s("f32.max", 1.0, f32::NAN) else {
        panic!()
    };
    assert!(f32::from_bits(nan).is_nan());
    assert_eq!(f64s("f64.copysign", 3.0, -0.0), Val::f64(-3.0));
    assert_eq!(f32s("f32.div", 1.0, 0.0), Val::f32(f32::INFINITY));
    let un64 = |op, a: f64| unop("f64", "f64", op, Val::f64(a));
    assert_eq!(un64("f64.nearest", 2.5), Val::f64(2.0));
    assert_eq!(un64("f64.nearest", -3.5), Val::f64(-4.0));
    assert_eq!(un64("f64.nearest", -0.4), Val::f64(-0.0));
    assert_eq!(un64("f64.floor", -1.5), Val::f64(-2.0));
    assert_eq!(un64("f64.ceil", -1.5), Val::f64(-1.0));
    assert_eq!(un64("f64.trunc", -1.5), Val::f64(-1.0));
    assert_eq!(un64("f64.sqrt", 9.0), Val::f64(3.0));
    assert_eq!(un64("f64.neg", 0.0), Val::f64(-0.0));
    assert_eq!(un64("f64.abs", -2.0), Val::f64(2.0));
    assert_eq!(
        unop("f32", "f32", "f32.nearest", Val::f32(0.5)),
        Val::f32(0.0)
    );
    assert_eq!(
        binop(
            "f64",
            "i32",
            "f64.eq",
            Val::f64(f64::NAN),
            Val::f64(f64::NAN)
        ),
        I32(0)
    );
    assert_eq!(
        binop(
            "f64",
            "i32",
            "f64.ne",
            Val::f64(f64::NAN),
            Val::f64(f64::NAN)
        ),
        I32(1)
    );
    assert_eq!(
        binop("f32", "i32", "f32.lt", Val::f32(-0.0), Val::f32(0.0)),
        I32(0)
    );
    assert_eq!(
        binop("f32", "i32", "f32.le", Val::f32(1.0), Val::f32(2.0)),
        I32(1)
    );
}

#[test]
fn conversions() {
    let c = |from, to, op, a| unop(from, to, op, a);
    assert_eq!(
        c("f32", "i32", "i32.trunc_sat_f32_s", Val::f32(f32::NAN)),
        I32(0)
    );
    assert_eq!(
        c("f32", "i32", "i32.trunc_sat_f32_s", Val::f32(1e10)),
        I32(i32::MAX)
    );
    assert_eq!(
        c("f32", "i32", "i32.trunc_sat_f32_u", Val::f32(-5.0)),
        I32(0)
    );
    assert_eq!(
        c("f64", "i64", "i64.trunc_sat_f64_u", Val::f64(1e30)),
        I64(-1)
    );
    assert_eq!(
        c("f64", "i64", "i64.trunc_f64_u", Val::f64(1e19)),
        I64(10_000_000_000_000_000_000u64 as i64)
    );
    assert_eq!(c("f64", "i32", "i32.trunc_f64_s", Val::f64(-2.9)), I32(-2));
    assert_eq!(
        c("f32", "i32", "i32.trunc_f32_u", Val::f32(3e9)),
        I32(3_000_000_000u32 as i32)
    );
    assert_eq!(
        c("i64", "f32", "f32.convert_i64_u", I64(-1)),
        Val::f32(1.8446744e19)
    );
    assert_eq!(
        c("i64", "f64", "f64.convert_i64_u", I64(i64::MIN)),
        Val::f64(2f64.powi(63))
    );
    assert_eq!(
        c("i32", "f64", "f64.convert_i32_u", I32(-1)),
        Val::f64(4294967295.0)
    );
    assert_eq!(
        c("i32", "f32", "f32.convert_i32_s", I32(-3)),
        Val::f32(-3.0)
    );
    assert_eq!(
        c("f64", "f32", "f32.demote_f64", Val::f64(1.5)),
        Val::f32(1.5)
    );
    assert_eq!(
        c("f32", "f64", "f64.promote_f32", Val::f32(-0.25)),
        Val::f64(-0.25)
    );
    assert_eq!(
        c("f32", "i32", "i32.reinterpret_f32", Val::f32(-0.0)),
        I32(i32::MIN)
    );
    assert_eq!(
        c(
            "i64",
            "f64",
            "f64.reinterpret_i64",
            I64(0x3ff0_0000_0000_0000)
        ),
        Val::f64(1.0)
    );
}

#[test]
fn memory_globals_and_libcalls() {
    let mut i = Instance::new(
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
          (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))"#,
    );
    assert_eq!(
        i.call("mem", &[I32(1000)]),
        [I32(-128), I32(0x80), I64(-1), I32(0x12345680)]
    );
    assert_eq!(i.call("floats", &[I32(64)]), [Val::f64(6.75)]);
    assert_eq!(i.call("glob", &[]), [I64(6), Val::f64(2.5)]);
    assert_eq!(i.call("glob", &[]), [I64(7), Val::f64(2.5)]);
    assert_eq!(i.call("size", &[]), [I32(1)]);
    assert_eq!(i.store[3], 0, "no exit recorded yet");
    assert_eq!(i.call("grow", &[I32(3)]), [I32(1)]);
    assert_eq!(i.call("size", &[]), [I32(4)]);
    assert_eq!(i.call("grow", &[I32(5000)]), [I32(-1)]);
    // The libcall trampoline recorded the exit and the entry recorded its fp.
    assert_ne!(i.store[3], 0);
    assert_ne!(i.store[4], 0);
    assert_ne!(i.store[5], 0);
}

#[test]
fn indirect_calls_tables_and_host_imports() {
    let mut i = Instance::new(
        r#"(module
          (import "h" "sum" (func $sum (param i32 i64 f64) (result f64 i32)))
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
            (call_indirect $u (type $un) (i32.const 21) (i32.const 0))))"#,
    );
    assert_eq!(i.call("ci", &[I32(0), I32(5)]), [I32(10)]);
    assert_eq!(i.call("ci", &[I32(1), I32(5)]), [I32(25)]);
    assert_eq!(
        i.call("host", &[I32(1), I64(2), Val::f64(0.25)]),
        [Val::f64(3.25), I32(2)]
    );
    assert_ne!(
        i.store[3], 0,
        "the Wasm-to-array trampoline records the exit"
    );
    assert_eq!(i.call("hostind", &[]), [Val::f64(3.5), I32(2)]);
    assert_eq!(i.call("tables", &[]), [I32(4), I32(1), I32(81)]);
    assert_eq!(i.call("reffunc", &[]), [I32(42)]);
}
