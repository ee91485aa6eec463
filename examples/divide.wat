;; A trap with a backtrace: `tandem run examples/divide.wat --invoke average 10 0`
;; divides by zero two calls deep and exits with status 1, printing the trap
;; and the Wasm frames to stderr. `... --invoke average 10 4` prints 2.
(module
  (func $divide (param $a i32) (param $b i32) (result i32)
    (i32.div_s (local.get $a) (local.get $b)))
  (func $mean (param $sum i32) (param $count i32) (result i32)
    (call $divide (local.get $sum) (local.get $count)))
  (func (export "average") (param $sum i32) (param $count i32) (result i32)
    (call $mean (local.get $sum) (local.get $count))))
