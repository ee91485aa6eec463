(module
  (import "host" "log" (func $log (param i32) (result i32)))
  (type $binary (func (param i32 i32) (result i32)))
  (type $wide (func (param i64 i64 i64 i64 i64 i64) (result i64)))
  (table 2 funcref)
  (elem (i32.const 0) $add $add)
  (func $add (type $binary) (i32.add (local.get 0) (local.get 1)))
  ;; Register arguments only: restore the saved registers, pop the frame
  ;; and jump (direct, through the import's func-ref, through the table,
  ;; through a typed reference).
  (func $direct (param i32) (result i32)
    (return_call $add (local.get 0) (i32.const 1)))
  (func $import (param i32) (result i32)
    (return_call $log (local.get 0)))
  (func $indirect (param i32) (result i32)
    (return_call_indirect (type $binary) (local.get 0) (i32.const 2) (local.get 0)))
  (func $by_ref (param i32 (ref $binary)) (result i32)
    (return_call_ref $binary (local.get 0) (i32.const 3) (local.get 1)))
  ;; No stack arguments of its own, two for the callee: the outgoing area
  ;; with the saved rbp and return address is copied up to end where this
  ;; function's caller expects its callee's arguments to end.
  (func $grow (param i64) (result i64)
    (return_call $wide (local.get 0) (i64.const 1) (i64.const 2) (i64.const 3)
      (i64.const 4) (i64.const 5)))
  (func $wide (type $wide)
    (i64.add (local.get 0) (local.get 5))))
