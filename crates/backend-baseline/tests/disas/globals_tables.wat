(module
  (import "host" "g" (global $imported (mut i64)))
  (global $counter (mut i32) (i32.const 0))
  (table $t 4 funcref)
  (elem declare func $f)
  (func $f)
  ;; Defined and imported globals.
  (func $bump (result i64)
    (global.set $counter (i32.add (global.get $counter) (i32.const 1)))
    (global.set $imported (i64.extend_i32_u (global.get $counter)))
    (global.get $imported))
  ;; Inline table.get/table.set/table.size, ref.func, ref.is_null.
  (func $tables (param i32) (result i32)
    (table.set $t (local.get 0) (ref.func $f))
    (i32.add
      (table.size $t)
      (ref.is_null (table.get $t (local.get 0))))))
