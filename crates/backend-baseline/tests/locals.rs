//! Locals kept in registers (`codegen/frame`): their values survive calls,
//! libcalls and multi-value returns that use the same registers, stack
//! references to a local keep the old value when it is stored to, and
//! results computed straight into a local (a fused `local.set`/`tee`)
//! are right. Each module runs on both backends and must agree with a
//! value computed here.

mod common;
use common::{Outcome, agree};
use tandem_store::Val;

fn vals(v: &[&str]) -> Outcome {
    Outcome::Values(v.iter().map(|s| s.to_string()).collect())
}

/// Nine i32 and nine f64 locals (more than there are registers of either
/// class) live across a call whose callee uses every register, a
/// `call_indirect`, and `memory.grow` (a libcall).
#[test]
fn many_locals_survive_calls_and_libcalls() {
    let mut body = String::new();
    for i in 0..9 {
        body += &format!("i32.const {} local.set {}\n", i + 1, i);
        body += &format!("f64.const {}.5 local.set {}\n", i + 1, 9 + i);
    }
    body += "i32.const 5 call $clobber drop\n";
    body += "i32.const 6 i32.const 0 call_indirect (type $t) drop\n";
    body += "i32.const 1 memory.grow drop\n";
    // sum = Σ i32 locals * 1000 + trunc(Σ f64 locals)
    body += "i32.const 0\n";
    for i in 0..9 {
        body += &format!("local.get {i} i32.add\n");
    }
    body += "i32.const 1000 i32.mul\n f64.const 0\n";
    for i in 0..9 {
        body += &format!("local.get {} f64.add\n", 9 + i);
    }
    body += "i32.trunc_f64_s i32.add\n";
    let wat = format!(
        r#"(module
          (type $t (func (param i32) (result i32)))
          (memory 1)
          (table 1 funcref)
          (elem (i32.const 0) $clobber)
          (func $clobber (type $t) (local i32 i32 i32 i32 i32 i32 i32 i32 f64 f64 f64 f64 f64 f64 f64 f64 f64)
            (local.set 1 (i32.const -1)) (local.set 2 (i32.const -1)) (local.set 3 (i32.const -1))
            (local.set 4 (i32.const -1)) (local.set 5 (i32.const -1)) (local.set 6 (i32.const -1))
            (local.set 7 (i32.const -1)) (local.set 8 (i32.const -1))
            (local.set 9 (f64.const -1)) (local.set 10 (f64.const -1)) (local.set 11 (f64.const -1))
            (local.set 12 (f64.const -1)) (local.set 13 (f64.const -1)) (local.set 14 (f64.const -1))
            (local.set 15 (f64.const -1)) (local.set 16 (f64.const -1)) (local.set 17 (f64.const -1))
            (i32.add (local.get 0) (i32.add (local.get 1) (local.get 8))))
          (func (export "f") (result i32)
            (local i32 i32 i32 i32 i32 i32 i32 i32 i32 f64 f64 f64 f64 f64 f64 f64 f64 f64)
            {body}))"#
    );
    let ints: i32 = (1..=9).sum();
    let floats: f64 = (1..=9).map(|i| f64::from(i) + 0.5).sum();
    let want = ints * 1000 + floats as i32;
    assert_eq!(agree(&wat, "f", &[]), vals(&[&format!("i32:{want}")]));
}

/// A callee returning ten i32s puts some in r8-r10, which hold the
/// caller's locals; both the results and the locals must come out right.
#[test]
fn multi_value_results_in_local_registers() {
    let results = "i32 ".repeat(10);
    let consts: String = (1..=10).map(|i| format!("i32.const {i} ")).collect();
    let mut wat = format!(
        r#"(module
          (func $ten (result {results}) {consts})
          (func (export "f") (result i32) (local i32 i32 i32 i32 i32 i32)
            (local.set 0 (i32.const 100)) (local.set 1 (i32.const 200))
            (local.set 2 (i32.const 300)) (local.set 3 (i32.const 400))
            (local.set 4 (i32.const 500)) (local.set 5 (i32.const 600))
            call $ten
        "#
    );
    // Weighted: result k (1-based, popped last first) times k.
    for k in (1..=10).rev() {
        wat += &format!("i32.const {k} i32.mul local.get 5 i32.add local.set 5\n");
    }
    wat += "local.get 0 local.get 1 i32.add local.get 2 i32.add local.get 3 i32.add
            local.get 4 i32.add local.get 5 i32.add))";
    let squares: i32 = (1..=10).map(|k| k * k).sum();
    let want = 100 + 200 + 300 + 400 + 500 + 600 + squares;
    assert_eq!(agree(&wat, "f", &[]), vals(&[&format!("i32:{want}")]));
}

/// `local.get x` left on the stack keeps the old value when `x` is set,
/// teed, or computed into by a fused store, in both register classes.
#[test]
fn stack_references_keep_the_old_value() {
    let wat = r#"(module
      (func (export "f") (param i32 f64) (result i32 f64 i32 f64 i32)
        local.get 0                                      ;; old x = 7
        local.get 1                                      ;; old y = 1.5
        (local.set 0 (i32.add (local.get 0) (i32.const 10)))   ;; fused: x = 17
        (local.set 1 (f64.mul (local.get 1) (f64.const 4)))    ;; fused: y = 6
        local.get 0
        local.get 1
        (local.tee 0 (i32.mul (local.get 0) (local.get 0))))   ;; tee: x = 289
    )"#;
    assert_eq!(
        agree(wat, "f", &[Val::I32(7), Val::F64(1.5f64.to_bits())]),
        vals(&[
            "i32:7",
            &format!("f64:{:#x}", 1.5f64.to_bits()),
            "i32:17",
            &format!("f64:{:#x}", 6.0f64.to_bits()),
            "i32:289",
        ])
    );
}

/// Fused stores where the local is the second operand: commutative
/// operations swap, `sub` does not fuse, and loads land in the local.
#[test]
fn fused_stores_with_the_local_on_either_side() {
    let wat = r#"(module
      (memory 1)
      (data (i32.const 8) "\2a\00\00\00")
      (func (export "f") (param i32 i32) (result i32 i32 i32 i32)
        (local.set 0 (i32.add (i32.const 5) (local.get 0)))    ;; x = 5 + x = 8
        (local.set 1 (i32.sub (i32.const 100) (local.get 1)))  ;; y = 100 - y = 96
        (local.set 0 (i32.xor (local.get 1) (local.get 0)))    ;; x = y ^ x = 104
        (local.set 1 (i32.load (local.get 0)))                  ;; y = mem[104] = 0
        (local.set 1 (i32.load offset=4 (i32.const 4)))         ;; y = mem[8] = 42
        local.get 0
        local.get 1
        (local.tee 0 (i32.load (i32.const 8)))
        local.get 0))"#;
    assert_eq!(
        agree(wat, "f", &[Val::I32(3), Val::I32(4)]),
        vals(&["i32:104", "i32:42", "i32:42", "i32:42"])
    );
}

/// A loop whose counter and accumulators are register locals, with a
/// call in the body: the classic shape the registers are for.
#[test]
fn loop_with_a_call_keeps_its_counters() {
    let wat = r#"(module
      (func $sq (param i64) (result i64) (i64.mul (local.get 0) (local.get 0)))
      (func (export "f") (param i32) (result i64) (local i64 f64)
        (block (loop
          (br_if 1 (i32.eqz (local.get 0)))
          (local.set 1 (i64.add (local.get 1) (call $sq (i64.extend_i32_u (local.get 0)))))
          (local.set 2 (f64.add (local.get 2) (f64.const 0.5)))
          (local.set 0 (i32.sub (local.get 0) (i32.const 1)))
          (br 0)))
        (i64.add (local.get 1) (i64.trunc_f64_s (local.get 2)))))"#;
    let n = 1000i64;
    let want = (1..=n).map(|i| i * i).sum::<i64>() + n / 2;
    assert_eq!(
        agree(wat, "f", &[Val::I32(n as i32)]),
        vals(&[&format!("i64:{want}")])
    );
}
