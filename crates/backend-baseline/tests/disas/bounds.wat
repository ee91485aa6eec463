;; tunables: explicit_bounds_checks
(module
  (memory 1)
  ;; Every access compares index + offset + size with the current length.
  (func $load_store (param i32) (result i32)
    (i32.store8 offset=3 (local.get 0) (i32.const 7))
    (i32.load offset=100 (local.get 0))))
