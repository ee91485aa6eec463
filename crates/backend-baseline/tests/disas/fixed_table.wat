(module
  (type $op (func (param i32) (result i32)))
  ;; A toolchain's function table: not exported, written only by its
  ;; segment, every element of one type. A `call_indirect` of that type
  ;; checks bounds and null (the func-ref load faults) but no signature.
  (table 3 3 funcref)
  (elem (i32.const 1) $inc $inc)
  (func $inc (type $op) (i32.add (local.get 0) (i32.const 1)))
  (func $dispatch (param i32) (result i32)
    (return_call_indirect (type $op) (local.get 0) (local.get 0))))
