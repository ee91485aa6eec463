(module
  ;; A comparison feeding `br_if`, `if` or `select` leaves its result in the
  ;; flags; `i32.eqz` of a comparison negates the condition instead.
  (func $max (param i32 i32) (result i32)
    (select (local.get 0) (local.get 1) (i32.gt_s (local.get 0) (local.get 1))))
  (func $branches (param i64 f64) (result i32)
    (block $out
      (br_if $out (i32.eqz (i64.lt_u (local.get 0) (i64.const 10))))
      (if (f64.ne (local.get 1) (local.get 1))
        (then (return (i32.const 1)))))
    (i32.const 0))
  ;; A comparison nothing consumes is materialised.
  (func $materialised (param i32) (result i32)
    (i32.le_u (local.get 0) (i32.const 9))))
