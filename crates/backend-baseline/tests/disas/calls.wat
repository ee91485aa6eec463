(module
  (import "host" "log" (func $log (param i32)))
  (type $binary (func (param i32 i32) (result i32)))
  (table 2 funcref)
  (elem (i32.const 0) $add $add)
  (func $add (type $binary) (i32.add (local.get 0) (local.get 1)))
  ;; A direct call, a call through the import's func-ref, and a
  ;; `call_indirect` with its bounds, null and signature checks.
  (func $caller (param i32) (result i32)
    (call $log (local.get 0))
    (call_indirect (type $binary)
      (call $add (local.get 0) (i32.const 1))
      (i32.const 2)
      (local.get 0))))
