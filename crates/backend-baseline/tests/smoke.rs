//! Small hand-written modules run on both backends.

mod common;
use common::{Outcome, agree};
use tandem_store::Val;

fn vals(v: &[&str]) -> Outcome {
    Outcome::Values(v.iter().map(|s| s.to_string()).collect())
}

#[test]
fn constant() {
    let wat = r#"(module (func (export "f") (result i32) i32.const 7))"#;
    assert_eq!(agree(wat, "f", &[]), vals(&["i32:7"]));
}

#[test]
fn arithmetic_and_locals() {
    let wat = r#"(module
      (func (export "f") (param i32 i32) (result i32) (local i32)
        local.get 0 local.get 1 i32.add local.set 2
        local.get 2 local.get 0 i32.mul local.get 1 i32.sub))"#;
    assert_eq!(
        agree(wat, "f", &[Val::I32(3), Val::I32(4)]),
        vals(&["i32:17"])
    );
}

#[test]
fn loop_sum() {
    let wat = r#"(module
      (func (export "f") (param i32) (result i64) (local i64)
        block
          loop
            local.get 0 i32.eqz br_if 1
            local.get 1 local.get 0 i64.extend_i32_u i64.add local.set 1
            local.get 0 i32.const 1 i32.sub local.set 0
            br 0
          end
        end
        local.get 1))"#;
    assert_eq!(agree(wat, "f", &[Val::I32(100)]), vals(&["i64:5050"]));
}

#[test]
fn recursion() {
    let wat = r#"(module
      (func $fib (export "fib") (param i32) (result i32)
        local.get 0 i32.const 2 i32.lt_s
        if (result i32) local.get 0
        else local.get 0 i32.const 1 i32.sub call $fib local.get 0 i32.const 2 i32.sub call $fib i32.add end))"#;
    assert_eq!(agree(wat, "fib", &[Val::I32(20)]), vals(&["i32:6765"]));
}

#[test]
fn traps() {
    let wat = r#"(module (memory 1)
      (func (export "div") (param i32 i32) (result i32) local.get 0 local.get 1 i32.div_s)
      (func (export "load") (param i32) (result i32) local.get 0 i32.load)
      (func (export "unreachable") unreachable))"#;
    agree(wat, "div", &[Val::I32(1), Val::I32(0)]);
    agree(wat, "div", &[Val::I32(i32::MIN), Val::I32(-1)]);
    agree(wat, "div", &[Val::I32(-7), Val::I32(2)]);
    agree(wat, "load", &[Val::I32(65536)]);
    agree(wat, "load", &[Val::I32(65532)]);
    agree(wat, "unreachable", &[]);
}

/// `i32.eqz` of a comparison feeding `if`, `br_if` and `select` (fused as
/// the negated condition), twice negated, and kept as a value; NaN and
/// signed zeros for the float comparisons.
#[test]
fn negated_comparisons() {
    let cases: [(&str, &str, Vec<[Val; 2]>); 3] = [
        (
            "i32",
            "eq ne lt_s lt_u gt_s gt_u le_s le_u ge_s ge_u",
            vec![
                [Val::I32(1), Val::I32(2)],
                [Val::I32(-1), Val::I32(2)],
                [Val::I32(5), Val::I32(5)],
            ],
        ),
        (
            "i64",
            "eq ne lt_s lt_u gt_s gt_u le_s le_u ge_s ge_u",
            vec![
                [Val::I64(-3), Val::I64(3)],
                [Val::I64(7), Val::I64(7)],
                [Val::I64(9), Val::I64(1)],
            ],
        ),
        (
            "f64",
            "eq ne lt gt le ge",
            vec![
                [Val::F64(1.0f64.to_bits()), Val::F64(2.0f64.to_bits())],
                [Val::F64(f64::NAN.to_bits()), Val::F64(2.0f64.to_bits())],
                [Val::F64(0.0f64.to_bits()), Val::F64((-0.0f64).to_bits())],
                [Val::F64(3.0f64.to_bits()), Val::F64(3.0f64.to_bits())],
            ],
        ),
    ];
    for (ty, ops, args) in cases {
        for op in ops.split(' ') {
            let cmp = format!("({ty}.{op} (local.get 0) (local.get 1))");
            let wat = format!(
                r#"(module
                  (func (export "if") (param {ty} {ty}) (result i32)
                    (if (result i32) (i32.eqz {cmp}) (then (i32.const 10)) (else (i32.const 20))))
                  (func (export "br_if") (param {ty} {ty}) (result i32)
                    (block (br_if 0 (i32.eqz {cmp})) (return (i32.const 30))) (i32.const 40))
                  (func (export "select") (param {ty} {ty}) (result i32)
                    (select (i32.const 50) (i32.const 60) (i32.eqz {cmp})))
                  (func (export "twice") (param {ty} {ty}) (result i32)
                    (if (result i32) (i32.eqz (i32.eqz {cmp})) (then (i32.const 70)) (else (i32.const 80))))
                  (func (export "value") (param {ty} {ty}) (result i32)
                    (i32.eqz {cmp})))"#
            );
            for pair in &args {
                for f in ["if", "br_if", "select", "twice", "value"] {
                    agree(&wat, f, pair);
                }
            }
        }
    }
}
