//! Bad input never crashes: malformed, truncated, random and mutated
//! modules are errors, never panics.

use proptest::prelude::*;
use tandem_store::{Engine, Module};

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
    Module::new(&Engine::default(), valid()).unwrap();
}

#[test]
fn truncations_are_errors_with_offsets() {
    let engine = Engine::default();
    let wasm = valid();
    let mut errors = 0;
    for len in 0..wasm.len() {
        // A cut at a section boundary leaves a valid (smaller) module.
        if let Err(err) = Module::new(&engine, &wasm[..len]) {
            errors += 1;
            let msg = err.to_string();
            if len >= 8 {
                assert!(msg.contains("offset"), "{msg}");
            }
        }
    }
    assert!(
        errors > wasm.len() * 9 / 10,
        "only {errors} of {} cuts rejected",
        wasm.len()
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn mutated_modules_never_panic(flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..6)) {
        let engine = Engine::default();
        let mut wasm = valid();
        for (at, byte) in flips {
            let i = at % wasm.len();
            wasm[i] = byte;
        }
        let _ = Module::new(&engine, &wasm);
    }

    #[test]
    fn random_bytes_are_rejected(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        let engine = Engine::default();
        let mut wasm = b"\0asm\x01\0\0\0".to_vec();
        wasm.extend(bytes);
        let _ = Module::new(&engine, &wasm);
    }
}
