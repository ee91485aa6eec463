;; Collatz: total number of steps for every start value 1..=1_000_000.
;; i64 arithmetic, data-dependent branches, a tight loop.
(module
  (func (export "run") (result i64)
    (local $n i64) (local $x i64) (local $steps i64)
    (local.set $n (i64.const 1))
    (loop $outer
      (local.set $x (local.get $n))
      (block $done
        (loop $inner
          (br_if $done (i64.eq (local.get $x) (i64.const 1)))
          (if (i64.eqz (i64.and (local.get $x) (i64.const 1)))
            (then (local.set $x (i64.shr_u (local.get $x) (i64.const 1))))
            (else (local.set $x
              (i64.add (i64.mul (local.get $x) (i64.const 3)) (i64.const 1)))))
          (local.set $steps (i64.add (local.get $steps) (i64.const 1)))
          (br $inner)))
      (local.set $n (i64.add (local.get $n) (i64.const 1)))
      (br_if $outer (i64.le_u (local.get $n) (i64.const 1000000))))
    (local.get $steps)))
