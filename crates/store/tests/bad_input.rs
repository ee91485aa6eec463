//! Bad input never crashes: malformed, truncated, random and mutated
//! modules are errors, never panics. Every module is compiled by every
//! backend this build has.

use proptest::prelude::*;
use tandem_store::{BackendKind, Config, Engine, Module};

/// One engine per backend this build has, with its kind for messages.
fn engines() -> Vec<(BackendKind, Engine)> {
    BackendKind::available()
        .iter()
        .map(|&kind| (kind, Engine::new(Config::new().backend(kind)).unwrap()))
        .collect()
}

const VALID: &str = r#"
(module
  (memory 1)
  (global $g (mut i32) (i32.const 3))
  (table 4 funcref)
  (elem (i32.const 0) $f $g2)
  (func $f (export "f") (param i32 i64) (result i64)
    local.get 1
    local.get 0
    i64.extend_i32_s
    i64.add
    global.get $g
    i64.extend_i32_u
    i64.mul)
  (func $g2 (param f32) (result f32)
    local.get 0
    f32.sqrt
    block (result f32)
      local.get 0
      i32.const 0
      br_if 0
      drop
      f32.const 1
    end
    f32.add)
  (data (i32.const 8) "hello"))
"#;

fn valid() -> Vec<u8> {
    wat::parse_str(VALID).unwrap()
}

#[test]
fn valid_module_compiles() {
    for (kind, engine) in engines() {
        Module::new(&engine, valid()).unwrap_or_else(|e| panic!("{kind}: {e}"));
    }
}

#[test]
fn truncations_are_errors_with_offsets() {
    let wasm = valid();
    for (kind, engine) in engines() {
        let mut errors = 0;
        for len in 0..wasm.len() {
            // A cut at a section boundary leaves a valid (smaller) module.
            if let Err(err) = Module::new(&engine, &wasm[..len]) {
                errors += 1;
                let msg = err.to_string();
                if len >= 8 {
                    assert!(msg.contains("offset"), "{kind}: cut at {len}: {msg}");
                }
            }
        }
        assert!(
            errors > wasm.len() * 9 / 10,
            "{kind}: only {errors} of {} cuts rejected",
            wasm.len()
        );
    }
}

/// Compiles `wasm`, which may be rejected, and says whether that returned
/// (with a module or an error) rather than panicking.
fn compiles_without_panic(engine: &Engine, wasm: &[u8]) -> bool {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _ = Module::new(engine, wasm);
    }))
    .is_ok()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn mutated_modules_never_panic(flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..6)) {
        let mut wasm = valid();
        for (at, byte) in flips {
            let i = at % wasm.len();
            wasm[i] = byte;
        }
        for (kind, engine) in engines() {
            prop_assert!(compiles_without_panic(&engine, &wasm), "{kind}: compiling panicked");
        }
    }

    #[test]
    fn random_bytes_are_rejected(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        let mut wasm = b"\0asm\x01\0\0\0".to_vec();
        wasm.extend(bytes);
        for (kind, engine) in engines() {
            prop_assert!(compiles_without_panic(&engine, &wasm), "{kind}: compiling panicked");
        }
    }
}
