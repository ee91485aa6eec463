(module
  ;; Division and remainder: out-of-line trap stubs for zero and overflow.
  (func $div_s (param i32 i32) (result i32)
    (i32.div_s (local.get 0) (local.get 1)))
  (func $rem_u (param i64 i64) (result i64)
    (i64.rem_u (local.get 0) (local.get 1)))
  ;; A constant zero divisor traps unconditionally.
  (func $by_zero (param i32) (result i32)
    (i32.div_u (local.get 0) (i32.const 0))))
