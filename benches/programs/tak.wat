;; Takeuchi's function tak(24, 16, 8), 40 times: deep direct recursion. A
;; mutable global counts the calls; the result is calls * 100 + the sum of
;; the 40 results.
(module
  (global $calls (mut i64) (i64.const 0))
  (func $tak (param $x i32) (param $y i32) (param $z i32) (result i32)
    (global.set $calls (i64.add (global.get $calls) (i64.const 1)))
    (if (result i32) (i32.lt_s (local.get $y) (local.get $x))
      (then
        (call $tak
          (call $tak (i32.sub (local.get $x) (i32.const 1)) (local.get $y) (local.get $z))
          (call $tak (i32.sub (local.get $y) (i32.const 1)) (local.get $z) (local.get $x))
          (call $tak (i32.sub (local.get $z) (i32.const 1)) (local.get $x) (local.get $y))))
      (else (local.get $z))))
  (func (export "run") (result i64)
    (local $r i32) (local $n i32)
    (global.set $calls (i64.const 0))
    (local.set $n (i32.const 40))
    (loop $again
      (local.set $r (i32.add (local.get $r)
        (call $tak (i32.const 24) (i32.const 16) (i32.const 8))))
      (local.tee $n (i32.sub (local.get $n) (i32.const 1)))
      (br_if $again))
    (i64.add (i64.mul (global.get $calls) (i64.const 100)) (i64.extend_i32_s (local.get $r)))))
