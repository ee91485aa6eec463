//! Differential property test: random programs (expression trees over
//! i32/i64/f32/f64 with arithmetic, conversions, memory, control flow,
//! locals, loops, direct, indirect and typed-reference calls
//! (`call_ref`, `br_on_null`, `br_on_non_null`, `ref.as_non_null`), tail
//! calls of every kind, and traps) run on both backends must give
//! identical results or identical traps; with fuel on, they must also use
//! exactly the same fuel and run out at the same check points.
//! `differential_smith.rs` adds wasm-smith's modules.
//!
//! proptest draws the program seed and the arguments; the seed drives a
//! small generator that emits WAT.

mod common;

use common::{Outcome, both, call, instantiate};
use proptest::prelude::*;
use tandem_store::{BackendKind, Config, Engine, TrapCode, Val};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum T {
    I32,
    I64,
    F32,
    F64,
}

const TYPES: [T; 4] = [T::I32, T::I64, T::F32, T::F64];

impl T {
    fn name(self) -> &'static str {
        match self {
            T::I32 => "i32",
            T::I64 => "i64",
            T::F32 => "f32",
            T::F64 => "f64",
        }
    }
    fn is_int(self) -> bool {
        matches!(self, T::I32 | T::I64)
    }
}

/// A xorshift generator.
struct Gen {
    state: u64,
    /// Number of helper functions after the current one (callable).
    funcs: usize,
    /// Index of the function being generated.
    current: usize,
}

impl Gen {
    fn next(&mut self) -> u64 {
        let mut x = self.state;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.state = x;
        x
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<X: Copy>(&mut self, xs: &[X]) -> X {
        xs[self.below(xs.len() as u64) as usize]
    }

    fn constant(&mut self, t: T) -> String {
        let interesting_i = [
            0i64,
            1,
            -1,
            2,
            7,
            31,
            32,
            63,
            64,
            i32::MIN as i64,
            i32::MAX as i64,
            i64::MIN,
            i64::MAX,
            0x8000,
            0xffff,
        ];
        match t {
            T::I32 => {
                let v = if self.below(2) == 0 {
                    self.pick(&interesting_i) as i32
                } else {
                    self.next() as i32
                };
                format!("(i32.const {v})")
            }
            T::I64 => {
                let v = if self.below(2) == 0 {
                    self.pick(&interesting_i)
                } else {
                    self.next() as i64
                };
                format!("(i64.const {v})")
            }
            T::F32 => {
                let f = [
                    0.0f32,
                    -0.0,
                    1.0,
                    -1.5,
                    0.5,
                    2.5,
                    3.5,
                    -2.5,
                    1e10,
                    -1e10,
                    2147483648.0,
                    -2147483904.0,
                    4294967296.0,
                    f32::INFINITY,
                    f32::NEG_INFINITY,
                    f32::NAN,
                    1e-40,
                ];
                let v = if self.below(3) == 0 {
                    (self.next() as i32 as f32) / 3.0
                } else {
                    self.pick(&f)
                };
                format!("(f32.const {})", fmt_f32(v))
            }
            T::F64 => {
                let f = [
                    0.0f64,
                    -0.0,
                    1.0,
                    -1.5,
                    0.5,
                    2.5,
                    -3.5,
                    1e300,
                    -1e18,
                    9.3e18,
                    1.8e19,
                    4294967295.9,
                    -2147483648.9,
                    f64::INFINITY,
                    f64::NAN,
                    5e-324,
                ];
                let v = if self.below(3) == 0 {
                    (self.next() as i64 as f64) / 7.0
                } else {
                    self.pick(&f)
                };
                format!("(f64.const {})", fmt_f64(v))
            }
        }
    }

    /// An expression of type `t` with at most `depth` more levels.
    fn expr(&mut self, t: T, depth: u32) -> String {
        if depth == 0 {
            return match self.below(3) {
                0 => self.constant(t),
                _ => format!("(local.get {})", param_of(t)),
            };
        }
        let d = depth - 1;
        let n = t.name();
        match self.below(16) {
            0 => self.constant(t),
            1 => format!("(local.get {})", param_of(t)),
            2..=4 => {
                let ops: &[&str] = if t.is_int() {
                    &[
                        "add", "sub", "mul", "and", "or", "xor", "shl", "shr_s", "shr_u", "rotl",
                        "rotr", "div_s", "div_u", "rem_s", "rem_u",
                    ]
                } else {
                    &["add", "sub", "mul", "div", "min", "max", "copysign"]
                };
                let op = self.pick(ops);
                format!("({n}.{op} {} {})", self.expr(t, d), self.expr(t, d))
            }
            5 => {
                let ops: &[&str] = if t.is_int() {
                    &["clz", "ctz", "popcnt", "extend8_s", "extend16_s"]
                } else {
                    &["abs", "neg", "sqrt", "ceil", "floor", "trunc", "nearest"]
                };
                let op = self.pick(ops);
                format!("({n}.{op} {})", self.expr(t, d))
            }
            6 => self.convert(t, d),
            7 => {
                // Comparison as a value or as a select/if condition.
                let c = self.cond(d);
                if t == T::I32 {
                    c
                } else {
                    format!("(select {} {} {c})", self.expr(t, d), self.expr(t, d))
                }
            }
            8 => format!(
                "(if (result {n}) {} (then {}) (else {}))",
                self.cond(d),
                self.expr(t, d),
                self.expr(t, d)
            ),
            9 => format!(
                "(block (result {n}) (drop (br_if 0 {} {})) {})",
                self.expr(t, d),
                self.cond(d),
                self.expr(t, d)
            ),
            10 => self.load(t, d),
            11 => self.call(t, d),
            12 => {
                // A counting loop accumulating into local 5 + type.
                let acc = 5 + type_index(t);
                let count = self.below(4);
                let op = if t.is_int() {
                    self.pick(&["add", "xor", "mul"])
                } else {
                    self.pick(&["add", "mul", "max"])
                };
                format!(
                    "(block (result {n}) (local.set 4 (i32.const {count})) (local.set {acc} {}) \
                     (block (loop (br_if 1 (i32.le_s (local.get 4) (i32.const 0))) \
                       (local.set {acc} ({n}.{op} (local.get {acc}) {})) \
                       (local.set 4 (i32.sub (local.get 4) (i32.const 1))) (br 0))) (local.get {acc}))",
                    self.expr(t, d),
                    self.expr(t, d)
                )
            }
            13 => {
                // Store an integer, then load it back through another path.
                let addr = self.addr(d);
                if t.is_int() {
                    format!(
                        "(block (result {n}) ({n}.store offset=8 {addr} {}) ({n}.load offset=8 {}))",
                        self.expr(t, d),
                        self.addr(d)
                    )
                } else {
                    self.expr(t, d)
                }
            }
            14 => {
                if self.below(8) == 0 {
                    format!(
                        "(block (result {n}) (if {} (then unreachable)) {})",
                        self.cond(d),
                        self.expr(t, d)
                    )
                } else {
                    self.expr(t, d)
                }
            }
            _ => format!("(local.tee {} {})", param_of(t), self.expr(t, d)),
        }
    }

    fn cond(&mut self, d: u32) -> String {
        let t = self.pick(&TYPES);
        let n = t.name();
        if self.below(5) == 0 && t.is_int() {
            return format!("({n}.eqz {})", self.expr(t, d));
        }
        let op = if t.is_int() {
            self.pick(&[
                "eq", "ne", "lt_s", "lt_u", "gt_s", "gt_u", "le_s", "le_u", "ge_s", "ge_u",
            ])
        } else {
            self.pick(&["eq", "ne", "lt", "gt", "le", "ge"])
        };
        format!("({n}.{op} {} {})", self.expr(t, d), self.expr(t, d))
    }

    fn addr(&mut self, d: u32) -> String {
        if self.below(12) == 0 {
            self.expr(T::I32, d)
        } else {
            format!("(i32.and {} (i32.const 0x7ff8))", self.expr(T::I32, d))
        }
    }

    fn load(&mut self, t: T, d: u32) -> String {
        let n = t.name();
        let addr = self.addr(d);
        let op = match t {
            T::I32 => self.pick(&["load", "load8_s", "load8_u", "load16_s", "load16_u"]),
            T::I64 => self.pick(&["load", "load8_s", "load16_u", "load32_s", "load32_u"]),
            _ => "load",
        };
        let offset = self.pick(&[0u32, 0, 1, 4, 100, 100, 1000, 65535]);
        format!("({n}.{op} offset={offset} {addr})")
    }

    fn convert(&mut self, t: T, d: u32) -> String {
        match t {
            T::I32 => match self.below(6) {
                0 => format!("(i32.wrap_i64 {})", self.expr(T::I64, d)),
                1 => {
                    let f = self.pick(&[T::F32, T::F64]);
                    let op = self.pick(&["trunc_sat_", "trunc_"]);
                    let s = self.pick(&["s", "u"]);
                    format!("(i32.{op}{}_{s} {})", f.name(), self.expr(f, d))
                }
                2 => format!(
                    "(select (i32.const 0x7fc00000) (i32.reinterpret_f32 (local.tee 2 {})) (f32.ne (local.get 2) (local.get 2)))",
                    self.expr(T::F32, d)
                ),
                _ => format!("(i32.extend8_s {})", self.expr(T::I32, d)),
            },
            T::I64 => match self.below(4) {
                0 => format!(
                    "(i64.extend_i32_{} {})",
                    self.pick(&["s", "u"]),
                    self.expr(T::I32, d)
                ),
                1 => {
                    let f = self.pick(&[T::F32, T::F64]);
                    let op = self.pick(&["trunc_sat_", "trunc_"]);
                    let s = self.pick(&["s", "u"]);
                    format!("(i64.{op}{}_{s} {})", f.name(), self.expr(f, d))
                }
                2 => format!("(i64.extend32_s {})", self.expr(T::I64, d)),
                _ => format!(
                    "(select (i64.const 0x7ff8000000000000) (i64.reinterpret_f64 (local.tee 3 {})) (f64.ne (local.get 3) (local.get 3)))",
                    self.expr(T::F64, d)
                ),
            },
            T::F32 | T::F64 => match self.below(4) {
                0 => {
                    let i = self.pick(&[T::I32, T::I64]);
                    format!(
                        "({}.convert_{}_{} {})",
                        t.name(),
                        i.name(),
                        self.pick(&["s", "u"]),
                        self.expr(i, d)
                    )
                }
                1 if t == T::F32 => format!("(f32.demote_f64 {})", self.expr(T::F64, d)),
                1 => format!("(f64.promote_f32 {})", self.expr(T::F32, d)),
                2 if t == T::F32 => format!("(f32.reinterpret_i32 {})", self.expr(T::I32, d)),
                2 => format!("(f64.reinterpret_i64 {})", self.expr(T::I64, d)),
                _ => self.expr(t, d),
            },
        }
    }

    fn call(&mut self, t: T, d: u32) -> String {
        if self.current + 1 >= self.funcs {
            return self.expr(t, d);
        }
        let callee = self.current + 1 + self.below((self.funcs - self.current - 1) as u64) as usize;
        let args = format!(
            "{} {} {} {}",
            self.expr(T::I32, d),
            self.expr(T::I64, d),
            self.expr(T::F32, d),
            self.expr(T::F64, d)
        );
        // Helpers return (i32 i64 f32 f64); keep the wanted one in a local.
        let tmp = match t {
            T::I32 => "(local.set 8) (local.set 7) (local.set 6)",
            T::I64 => "(local.set 8) (local.set 7) (local.set 6) (drop) (local.get 6)",
            T::F32 => "(local.set 8) (local.set 7) (drop) (drop) (local.get 7)",
            T::F64 => "(local.set 8) (drop) (drop) (drop) (local.get 8)",
        };
        let n = t.name();
        let how = match self.below(8) {
            0..=2 => format!("(call {callee} {args})"),
            3 | 4 => format!("(call_indirect (type $h) {args} (i32.const {callee}))"),
            5 => format!("(call_ref $h {args} (table.get $typed (i32.const {callee})))"),
            6 => {
                // A reference that may be null: called when it is not.
                let cond = self.cond(d);
                let other = self.expr(t, d);
                let call = format!("(call_ref $h {args} (ref.as_non_null (local.get 9)))");
                return format!(
                    "(block (result {n}) \
                       (local.set 9 (select (result (ref null $h)) (ref.func {callee}) (ref.null $h) {cond})) \
                       (block $null (br_on_null $null (local.get 9)) (drop) \
                         (br 1 (block (result {n}) {call} {tmp}))) \
                       {other})"
                );
            }
            _ => {
                // The same through `br_on_non_null`.
                let cond = self.cond(d);
                let other = self.expr(t, d);
                return format!(
                    "(block (result {n}) \
                       (block $some (result (ref $h)) \
                         (br_on_non_null $some (select (result (ref null $h)) (ref.func {callee}) (ref.null $h) {cond})) \
                         (br 1 {other})) \
                       (local.set 9) \
                       (block (result {n}) (call_ref $h {args} (ref.as_non_null (local.get 9))) {tmp}))"
                );
            }
        };
        if self.below(4) == 0 {
            // A tail call when a condition holds: this function returns
            // what the callee returns.
            let tail = match self.below(3) {
                0 => format!("(return_call {callee} {args})"),
                1 => format!("(return_call_indirect (type $h) {args} (i32.const {callee}))"),
                _ => format!("(return_call_ref $h {args} (ref.func {callee}))"),
            };
            let cond = self.cond(d);
            return format!("(block (result {n}) (if {cond} (then {tail})) {how} {tmp})");
        }
        format!("(block (result {n}) {how} {tmp})")
    }
}

fn type_index(t: T) -> u32 {
    match t {
        T::I32 => 0,
        T::I64 => 1,
        T::F32 => 2,
        T::F64 => 3,
    }
}

/// Parameter index of type `t` (every function has params i32 i64 f32 f64).
fn param_of(t: T) -> u32 {
    type_index(t)
}

fn fmt_f32(v: f32) -> String {
    if v.is_nan() {
        "nan".into()
    } else if v.is_infinite() {
        if v > 0.0 { "inf".into() } else { "-inf".into() }
    } else {
        format!("{v:e}")
    }
}

fn fmt_f64(v: f64) -> String {
    if v.is_nan() {
        "nan".into()
    } else if v.is_infinite() {
        if v > 0.0 { "inf".into() } else { "-inf".into() }
    } else {
        format!("{v:e}")
    }
}

/// A module of `funcs` functions `(param i32 i64 f32 f64) (result i32 i64
/// f32 f64)`; function 0 is exported as `f`. Locals: 4 = loop counter,
/// 5..8 = one accumulator per type, 9 = a `(ref null $h)`. Every function
/// is in the funcref table and in the typed table `$typed`.
fn module(seed: u64) -> String {
    let funcs = 1 + (seed % 3) as usize;
    let mut g = Gen {
        state: seed | 1,
        funcs,
        current: 0,
    };
    let mut out = String::from(
        "(module (type $h (func (param i32 i64 f32 f64) (result i32 i64 f32 f64)))\n(memory 1)\n(data (i32.const 0) \"\\01\\02\\03\\04\\fe\\ff\\80\\7f\\00\\10\\20\\30\")\n",
    );
    let all = (0..funcs)
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(" ");
    out += &format!("(table {funcs} funcref) (elem (i32.const 0) {all})\n");
    out += &format!(
        "(table $typed {funcs} (ref null $h)) (elem (table $typed) (i32.const 0) (ref null $h) {})\n",
        (0..funcs)
            .map(|i| format!("(ref.func {i})"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    for f in 0..funcs {
        g.current = f;
        let depth = 2 + g.below(3) as u32;
        let body: Vec<String> = TYPES.iter().map(|&t| g.expr(t, depth)).collect();
        out += &format!(
            "(func (type $h) (local i32 i32 i64 f32 f64 (ref null $h))\n {}\n {}\n {}\n {})\n",
            body[0], body[1], body[2], body[3]
        );
    }
    out += "(export \"f\" (func 0)))";
    out
}

fn values(a: i32, b: i64, c: f32, d: f64) -> Vec<Val> {
    vec![
        Val::I32(a),
        Val::I64(b),
        Val::F32(c.to_bits()),
        Val::F64(d.to_bits()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    #[test]
    fn backends_agree(seed in any::<u64>(), a in any::<i32>(), b in any::<i64>(), c in prop::num::f32::ANY, d in prop::num::f64::ANY) {
        let wat = module(seed);
        let (cl, bl) = both(&wat, "f", &values(a, b, c, d));
        prop_assert_eq!(cl, bl, "program:\n{}", wat);
    }
}

/// Fuel given to a run that is not meant to run out.
const PLENTY: u64 = 1 << 40;

/// Runs `f(args)` on `backend` with `fuel`: the outcome and the fuel left.
/// The fuel left after a trap other than running out is not compared
/// (`None`): the count may be kept in a register between check points, so
/// how much of it reached the store then is up to the backend.
fn fueled(
    engine: &Engine,
    wat: &str,
    backend: BackendKind,
    fuel: u64,
    args: &[Val],
) -> (Outcome, Option<u64>) {
    let (mut store, instance) = instantiate(engine, wat, backend);
    store.set_fuel(fuel).unwrap();
    let outcome = call(&mut store, instance, "f", args);
    let left = match &outcome {
        Outcome::Trap(message) if message != TrapCode::OutOfFuel.message() => None,
        _ => Some(store.get_fuel().unwrap()),
    };
    (outcome, left)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn backends_agree_on_fuel(seed in any::<u64>(), a in any::<i32>(), b in any::<i64>(), c in prop::num::f32::ANY, d in prop::num::f64::ANY) {
        let wat = module(seed);
        let args = values(a, b, c, d);
        let mut config = Config::new();
        config.consume_fuel(true);
        let engine = Engine::new(&config).unwrap();
        let run = |fuel| {
            (
                fueled(&engine, &wat, BackendKind::Cranelift, fuel, &args),
                fueled(&engine, &wat, BackendKind::Baseline, fuel, &args),
            )
        };
        let (cl, bl) = run(PLENTY);
        prop_assert_eq!(&cl, &bl, "program:\n{}", wat);
        if let (Outcome::Values(_), Some(left)) = cl {
            // Exactly enough, one unit short, and half: the same check
            // points pass or fire on both.
            let used = PLENTY - left;
            for fuel in [used, used - 1, used / 2] {
                let (cl, bl) = run(fuel);
                prop_assert_eq!(cl, bl, "fuel {}, program:\n{}", fuel, wat);
            }
        }
    }
}
