//! The two fixed micro-benchmarks every subject runs: host-call round trips
//! and instantiation. Their modules are written here in text form.

/// Calls the imported `env.inc` `n` times, threading an accumulator through
/// it, so `loop(n)` returns `n` when `inc` adds one.
pub const HOST_CALL: &str = r#"(module
  (import "env" "inc" (func $inc (param i32) (result i32)))
  (func (export "loop") (param $n i32) (result i32)
    (local $acc i32)
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $n)))
        (local.set $acc (call $inc (local.get $acc)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $next)))
    (local.get $acc)))"#;

/// A small module with one memory (with a data segment) and one table (with
/// an element segment), a global and a few functions: what a typical small
/// instance costs to set up.
pub const INSTANTIATE: &str = r#"(module
  (memory (export "memory") 1)
  (table (export "table") 8 funcref)
  (global $counter (mut i32) (i32.const 0))
  (data (i32.const 16) "tandem instantiation benchmark")
  (elem (i32.const 0) $a $b $c)
  (func $a (result i32) (i32.const 1))
  (func $b (result i32) (i32.const 2))
  (func $c (result i32)
    (global.set $counter (i32.add (global.get $counter) (i32.const 1)))
    (global.get $counter))
  (func (export "pick") (param i32) (result i32)
    (call_indirect (result i32) (local.get 0))))"#;

/// The binary form of `text`.
pub fn binary(text: &str) -> Result<Vec<u8>, String> {
    wat::parse_str(text).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernels_parse() {
        assert!(binary(HOST_CALL).unwrap().starts_with(b"\0asm"));
        assert!(binary(INSTANTIATE).unwrap().starts_with(b"\0asm"));
    }
}
