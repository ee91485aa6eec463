(module
  ;; More results than return registers: the rest go through the caller's
  ;; return area.
  (func $many (param i64) (result i64 i64 i64 i64 i64 i64 i64 i64 i64 i64)
    (local.get 0) (local.get 0) (local.get 0) (local.get 0) (local.get 0)
    (local.get 0) (local.get 0) (local.get 0) (local.get 0) (local.get 0))
  (func $sum (result i64)
    (call $many (i64.const 3))
    i64.add i64.add i64.add i64.add i64.add i64.add i64.add i64.add i64.add)
  ;; A block with parameters and two results.
  (func $swap (param i32 i32) (result i32 i32)
    (local.get 0) (local.get 1)
    (block (param i32 i32) (result i32 i32)
      (local.set 0) (local.set 1)
      (local.get 0) (local.get 1))))
