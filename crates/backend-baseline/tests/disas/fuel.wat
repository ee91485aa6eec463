;; tunables: consume_fuel
(module
  ;; Fuel: one charge per straight-line region, checks at entry and at the
  ;; loop header, the branch's cost prepaid before the comparison.
  (func $count (param i32) (result i32) (local i32)
    (loop $again
      (local.set 1 (i32.add (local.get 1) (i32.const 1)))
      (br_if $again (i32.lt_u (local.get 1) (local.get 0))))
    (local.get 1)))
