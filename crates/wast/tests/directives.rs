//! The runner on small inline scripts: each directive the spec suite uses,
//! passing and failing, with the failure's line and message checked.

use tandem_store::Engine;
use tandem_wast::{ScriptReport, WastRunner};

fn run(text: &str) -> ScriptReport {
    WastRunner::new(Engine::default()).run_script("inline.wast", text)
}

/// Asserts that every one of `directives` directives passed.
fn assert_passes(text: &str, directives: usize) {
    let report = run(text);
    assert!(
        report.is_pass(),
        "unexpected failures: {:#?}",
        report.failures
    );
    assert_eq!(report.passed, directives, "directives counted");
}

#[test]
fn module_invoke_and_assert_return() {
    assert_passes(
        r#"
        (module
          (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add)
          (func (export "add64") (param i64 i64) (result i64) local.get 0 local.get 1 i64.add)
          (func (export "mulf") (param f32 f32) (result f32) local.get 0 local.get 1 f32.mul)
          (func (export "negd") (param f64) (result f64) local.get 0 f64.neg)
          (func (export "pair") (result i32 i64) i32.const 1 i64.const 2)
          (func (export "nop")))
        (invoke "nop")
        (assert_return (invoke "add" (i32.const 2) (i32.const -3)) (i32.const -1))
        (assert_return (invoke "add64" (i64.const 0x7fffffffffffffff) (i64.const 1))
                       (i64.const 0x8000000000000000))
        (assert_return (invoke "mulf" (f32.const 1.5) (f32.const 2)) (f32.const 3))
        (assert_return (invoke "negd" (f64.const 0)) (f64.const -0))
        (assert_return (invoke "pair") (i32.const 1) (i64.const 2))
        (assert_return (invoke "nop"))
        "#,
        8,
    );
}

#[test]
fn nan_patterns() {
    assert_passes(
        r#"
        (module
          (func (export "div") (param f32 f32) (result f32) local.get 0 local.get 1 f32.div)
          (func (export "add") (param f64 f64) (result f64) local.get 0 local.get 1 f64.add))
        (assert_return (invoke "div" (f32.const 0) (f32.const 0)) (f32.const nan:canonical))
        (assert_return (invoke "div" (f32.const 0) (f32.const 0)) (f32.const nan:arithmetic))
        (assert_return (invoke "add" (f64.const nan:0x4000000000001) (f64.const 1))
                       (f64.const nan:arithmetic))
        "#,
        4,
    );
}

#[test]
fn named_modules_register_and_get() {
    assert_passes(
        r#"
        (module $A
          (global (export "g") i32 (i32.const 42))
          (func (export "seven") (result i32) i32.const 7))
        (register "a" $A)
        (module $B
          (import "a" "seven" (func $seven (result i32)))
          (func (export "fourteen") (result i32) call $seven call $seven i32.add))
        (assert_return (invoke "fourteen") (i32.const 14))
        (assert_return (invoke $A "seven") (i32.const 7))
        (assert_return (get $A "g") (i32.const 42))
        (module (global (export "h") i64 (i64.const -1)))
        (assert_return (get "h") (i64.const -1))
        (assert_return (invoke $B "fourteen") (i32.const 14))
        "#,
        9,
    );
}

#[test]
fn module_definition_and_instance() {
    assert_passes(
        r#"
        (module definition $D (func (export "f") (result i32) i32.const 3))
        (module instance $I $D)
        (assert_return (invoke $I "f") (i32.const 3))
        "#,
        3,
    );
}

#[test]
fn binary_and_quoted_modules() {
    assert_passes(
        r#"
        (module binary "\00asm" "\01\00\00\00")
        (module quote "(func (export \"one\") (result i32)" "i32.const 1)")
        (assert_return (invoke "one") (i32.const 1))
        "#,
        3,
    );
}

#[test]
fn spectest_imports() {
    assert_passes(
        r#"
        (module
          (import "spectest" "print_i32" (func $print_i32 (param i32)))
          (import "spectest" "print_i64" (func (param i64)))
          (import "spectest" "print_f32" (func (param f32)))
          (import "spectest" "print_f64" (func (param f64)))
          (import "spectest" "print_i32_f32" (func (param i32 f32)))
          (import "spectest" "print_f64_f64" (func (param f64 f64)))
          (import "spectest" "print" (func $print))
          (import "spectest" "global_i32" (global $gi i32))
          (import "spectest" "global_i64" (global $gl i64))
          (import "spectest" "global_f32" (global $gf f32))
          (import "spectest" "global_f64" (global $gd f64))
          (import "spectest" "table" (table 10 20 funcref))
          (import "spectest" "memory" (memory 1 2))
          (func (export "gi") (result i32) i32.const 5 call $print_i32 call $print global.get $gi)
          (func (export "gl") (result i64) global.get $gl)
          (func (export "gf") (result f32) global.get $gf)
          (func (export "gd") (result f64) global.get $gd)
          (func (export "pages") (result i32) memory.size)
          (func (export "grow") (result i32) i32.const 1 memory.grow)
          (func (export "elems") (result i32) table.size))
        (assert_return (invoke "gi") (i32.const 666))
        (assert_return (invoke "gl") (i64.const 666))
        (assert_return (invoke "gf") (f32.const 666.6))
        (assert_return (invoke "gd") (f64.const 666.6))
        (assert_return (invoke "pages") (i32.const 1))
        (assert_return (invoke "grow") (i32.const 1))
        (assert_return (invoke "grow") (i32.const -1))
        (assert_return (invoke "elems") (i32.const 10))
        "#,
        9,
    );
}

#[test]
fn assert_trap_on_invoke_and_instantiation() {
    assert_passes(
        r#"
        (module
          (func (export "div") (param i32 i32) (result i32) local.get 0 local.get 1 i32.div_s)
          (func (export "boom") unreachable)
          (memory 1)
          (func (export "load") (param i32) (result i32) local.get 0 i32.load)
          (table 2 funcref)
          (func (export "call") (param i32) local.get 0 call_indirect))
        (assert_trap (invoke "div" (i32.const 1) (i32.const 0)) "integer divide by zero")
        (assert_trap (invoke "div" (i32.const 0x80000000) (i32.const -1)) "integer overflow")
        (assert_trap (invoke "boom") "unreachable")
        (assert_trap (invoke "load" (i32.const 65536)) "out of bounds memory access")
        (assert_trap (invoke "call" (i32.const 1)) "uninitialized element 2")
        (assert_trap (invoke "call" (i32.const 5)) "undefined element")
        (assert_trap (module (func $start unreachable) (start $start)) "unreachable")
        "#,
        8,
    );
}

#[test]
fn assert_exhaustion() {
    assert_passes(
        r#"
        (module (func $f (export "f") call $f))
        (assert_exhaustion (invoke "f") "call stack exhausted")
        "#,
        2,
    );
}

#[test]
fn assert_invalid_and_malformed() {
    assert_passes(
        r#"
        (assert_invalid (module (func (result i32) i64.const 1)) "type mismatch")
        (assert_invalid (module (func call 7)) "unknown function")
        (assert_malformed (module quote "(func i32.frobnicate)") "unknown operator")
        (assert_malformed (module binary "\00asm") "unexpected end")
        (assert_malformed (module binary "\00asm" "\02\00\00\00") "unknown binary version")
        "#,
        5,
    );
}

#[test]
fn assert_unlinkable() {
    assert_passes(
        r#"
        (assert_unlinkable (module (import "spectest" "nope" (func))) "unknown import")
        (assert_unlinkable
          (module (import "spectest" "print_i32" (func (param i64))))
          "incompatible import type")
        (assert_unlinkable
          (module (import "spectest" "global_i32" (global i64)))
          "incompatible import type")
        "#,
        3,
    );
}

#[test]
fn reference_results() {
    assert_passes(
        r#"
        (module
          (func $f (export "f"))
          (func (export "id") (param externref) (result externref) local.get 0)
          (func (export "null_func") (result funcref) ref.null func)
          (func (export "func") (result funcref) ref.func $f)
          (func (export "is_null") (param externref) (result i32) local.get 0 ref.is_null))
        (assert_return (invoke "id" (ref.extern 1)) (ref.extern 1))
        (assert_return (invoke "id" (ref.extern 2)) (ref.extern))
        (assert_return (invoke "id" (ref.null extern)) (ref.null extern))
        (assert_return (invoke "null_func") (ref.null func))
        (assert_return (invoke "func") (ref.func))
        (assert_return (invoke "is_null" (ref.null extern)) (i32.const 1))
        (assert_return (invoke "is_null" (ref.extern 7)) (i32.const 0))
        "#,
        8,
    );
}

#[test]
fn failures_carry_line_and_message() {
    let text = "(module (func (export \"f\") (result i32) i32.const 5))\n\
                (assert_return (invoke \"f\") (i32.const 5))\n\
                (assert_return (invoke \"f\") (i32.const 6))\n\
                (assert_trap (invoke \"f\") \"unreachable\")\n\
                (invoke \"missing\")\n\
                (assert_invalid (module (func (result i32) i32.const 1)) \"type mismatch\")\n\
                (assert_return (invoke $Nobody \"f\") (i32.const 5))\n";
    let report = run(text);
    assert_eq!(report.passed, 2);
    let lines: Vec<_> = report.failures.iter().map(|f| f.line).collect();
    assert_eq!(lines, [3, 4, 5, 6, 7]);
    let message = |i: usize| report.failures[i].message.as_str();
    assert!(
        message(0).contains("expected i32:6, got i32:5"),
        "{}",
        message(0)
    );
    assert!(
        message(1).contains("expected trap `unreachable`"),
        "{}",
        message(1)
    );
    assert!(message(2).contains("missing"), "{}", message(2));
    assert!(message(3).contains("but it compiled"), "{}", message(3));
    assert!(
        message(4).contains("unknown module `Nobody`"),
        "{}",
        message(4)
    );
    assert!(!report.is_pass());
    assert_eq!(report.total(), 7);
}

#[test]
fn parse_errors_are_one_failure_with_a_line() {
    let report = run("(module)\n\n(assert_return (invoke \"f\")\n");
    assert_eq!(report.passed, 0);
    assert_eq!(report.failures.len(), 1, "{:?}", report.failures);
    assert_eq!(report.failures[0].line, 4);
    assert!(report.failures[0].message.starts_with("parse error"));
}

#[test]
fn wrong_trap_and_wrong_link_error_are_reported() {
    let report = run(r#"
        (module (func (export "boom") unreachable))
        (assert_trap (invoke "boom") "integer divide by zero")
        (assert_unlinkable (module (func)) "unknown import")
        "#);
    assert_eq!(report.passed, 1);
    assert_eq!(report.failures.len(), 2, "{:?}", report.failures);
    assert!(
        report.failures[0]
            .message
            .contains("got trap `unreachable`")
    );
    assert!(
        report.failures[1]
            .message
            .contains("but the module instantiated")
    );
}

#[test]
fn a_failed_module_leaves_no_current_module() {
    let report = run(r#"
        (module (func (export "f") (result i32) i32.const 1))
        (module (import "spectest" "nope" (func)))
        (assert_return (invoke "f") (i32.const 1))
        "#);
    assert_eq!(report.passed, 1);
    assert_eq!(report.failures.len(), 2);
    assert!(report.failures[1].message.contains("no current module"));
}

#[test]
fn observer_sees_every_directive() {
    let mut events = Vec::new();
    let text = "(module (func (export \"f\") (result i32) i32.const 1))\n\
                (assert_return (invoke \"f\") (i32.const 2))\n";
    let report = WastRunner::new(Engine::default()).run_script_observed("o.wast", text, &mut |e| {
        events.push(match e {
            tandem_wast::Event::Start { line } => format!("start {line}"),
            tandem_wast::Event::Pass => "pass".to_string(),
            tandem_wast::Event::Fail(f) => format!("fail {}", f.line),
        })
    });
    assert_eq!(events, ["start 1", "pass", "start 2", "fail 2"]);
    assert_eq!((report.passed, report.failures.len()), (1, 1));
}
