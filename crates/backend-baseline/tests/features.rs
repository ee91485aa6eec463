//! The crate docs' feature table, checked: what validation rejects, and
//! what this backend rejects with `CompileError::Unsupported`.

use tandem_codegen_api::{Backend, CompileError};
use tandem_environ::{WasmFeatures, default_features, translate};

/// Compiles `wat` with `features`: `None` when validation rejects it.
fn compile(wat: &str, features: WasmFeatures) -> Option<Result<(), CompileError>> {
    let wasm = wat::parse_str(wat).expect("wat parses");
    let translation = translate(&wasm, features).ok()?;
    let backend = tandem_backend_baseline::BaselineBackend::new().expect("backend");
    Some(
        backend
            .compile_module(&translation, &Default::default())
            .map(drop),
    )
}

#[test]
fn multi_memory_is_a_validation_error_and_else_unsupported_beyond_memory_0() {
    let wat = r#"(module (memory 1) (memory 1)
        (func (result i32) (i32.load 1 (i32.const 0))))"#;
    assert!(compile(wat, default_features()).is_none());
    let enabled = default_features() | WasmFeatures::MULTI_MEMORY;
    match compile(wat, enabled) {
        Some(Err(CompileError::Unsupported { what, .. })) => {
            assert!(what.contains("multiple memories"), "{what}")
        }
        other => panic!("{other:?}"),
    }
    // Memory 0 of a module with two compiles.
    let first = r#"(module (memory 1) (memory 1)
        (func (result i32) (i32.load (i32.const 0))))"#;
    assert!(matches!(compile(first, enabled), Some(Ok(()))));
}

#[test]
fn simd_validates_by_default_and_is_unsupported_here() {
    let wat = "(module (func (result i32) (v128.const i64x2 0 0) (i32x4.extract_lane 0)))";
    let disabled = default_features() & !WasmFeatures::SIMD & !WasmFeatures::RELAXED_SIMD;
    assert!(compile(wat, disabled).is_none());
    match compile(wat, default_features()) {
        Some(Err(CompileError::Unsupported { what, .. })) => {
            assert!(what.contains("v128") || what.contains("SIMD"), "{what}")
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn tail_calls_typed_references_and_extended_constants_compile_by_default() {
    let wat = r#"(module
        (type $t (func (param i32) (result i32)))
        (import "m" "base" (global $base i32))
        (global i32 (i32.add (global.get $base) (i32.mul (i32.const 2) (i32.const 3))))
        (table 1 (ref null $t))
        (func $f (type $t) (return_call $f (local.get 0)))
        (func (param (ref null $t)) (result i32)
          (block $null (br_on_null $null (local.get 0)) (drop))
          (call_ref $t (i32.const 1) (ref.as_non_null (local.get 0)))))"#;
    assert!(matches!(compile(wat, default_features()), Some(Ok(()))));
}

#[test]
fn gc_types_are_types_but_gc_instructions_are_unsupported() {
    let types = r#"(module (rec (type $s (struct (field (ref null $f)))) (type $f (func))))"#;
    assert!(
        compile(types, default_features()).is_none(),
        "needs the GC switch"
    );
    let gc = default_features() | WasmFeatures::GC;
    assert!(matches!(compile(types, gc), Some(Ok(()))));
    let instruction = r#"(module (type $s (struct)) (func (drop (struct.new $s))))"#;
    assert!(matches!(
        compile(instruction, gc),
        Some(Err(CompileError::Unsupported { .. }))
    ));
    // Environ refuses what call_indirect could not check.
    let subtype = r#"(module (type $a (sub (func))) (type $b (sub $a (func))))"#;
    let wasm = wat::parse_str(subtype).unwrap();
    match translate(&wasm, gc).err() {
        Some(tandem_environ::EnvironError::Unsupported { message, .. }) => {
            assert!(message.contains("supertypes"), "{message}")
        }
        other => panic!("{other:?}"),
    }
}
