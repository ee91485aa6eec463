(module
  ;; Register operands, an immediate, and constants folded at compile time.
  (func $mix (param i32 i32) (result i32)
    local.get 0
    local.get 1
    i32.add
    i32.const 3
    i32.mul
    i32.const 10
    i32.const 20
    i32.add
    i32.sub)
  ;; 64-bit shifts and rotates: a constant amount and one in cl.
  (func $shifts (param i64 i64) (result i64)
    (i64.rotl (i64.shl (local.get 0) (i64.const 5)) (local.get 1))))
