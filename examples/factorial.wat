;; Factorial in i64 with a loop, and a `_start` that prints 10! through the
;; `spectest` host module: `tandem run examples/factorial.wat` prints
;; `3628800 : i64`; `tandem run examples/factorial.wat --invoke fac 20`
;; prints 2432902008176640000.
(module
  (import "spectest" "print_i64" (func $print_i64 (param i64)))
  (func $fac (export "fac") (param $n i64) (result i64)
    (local $acc i64)
    (local.set $acc (i64.const 1))
    (block $done
      (loop $next
        (br_if $done (i64.le_u (local.get $n) (i64.const 1)))
        (local.set $acc (i64.mul (local.get $acc) (local.get $n)))
        (local.set $n (i64.sub (local.get $n) (i64.const 1)))
        (br $next)))
    (local.get $acc))
  (func (export "_start")
    (call $print_i64 (call $fac (i64.const 10)))))
