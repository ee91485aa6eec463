;; Mandelbrot set: escape iterations (at most 500) over an 800x600 grid of
;; [-2, 1] x [-1.2, 1.2], summed. f64 multiply-add chains, a compare loop.
(module
  (func (export "run") (result i32)
    (local $px i32) (local $py i32) (local $i i32) (local $total i32)
    (local $cx f64) (local $cy f64) (local $x f64) (local $y f64) (local $t f64)
    (local $dx f64) (local $dy f64)
    (local.set $dx (f64.div (f64.const 3) (f64.const 800)))
    (local.set $dy (f64.div (f64.const 2.4) (f64.const 600)))
    (loop $rows
      (local.set $cy (f64.add (f64.const -1.2)
        (f64.mul (f64.convert_i32_s (local.get $py)) (local.get $dy))))
      (local.set $px (i32.const 0))
      (loop $columns
        (local.set $cx (f64.add (f64.const -2)
          (f64.mul (f64.convert_i32_s (local.get $px)) (local.get $dx))))
        (local.set $x (f64.const 0))
        (local.set $y (f64.const 0))
        (local.set $i (i32.const 0))
        (block $escaped
          (loop $iterate
            (br_if $escaped (i32.ge_u (local.get $i) (i32.const 500)))
            (br_if $escaped (f64.gt
              (f64.add (f64.mul (local.get $x) (local.get $x)) (f64.mul (local.get $y) (local.get $y)))
              (f64.const 4)))
            (local.set $t (f64.add
              (f64.sub (f64.mul (local.get $x) (local.get $x)) (f64.mul (local.get $y) (local.get $y)))
              (local.get $cx)))
            (local.set $y (f64.add
              (f64.mul (f64.mul (f64.const 2) (local.get $x)) (local.get $y))
              (local.get $cy)))
            (local.set $x (local.get $t))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $iterate)))
        (local.set $total (i32.add (local.get $total) (local.get $i)))
        (local.tee $px (i32.add (local.get $px) (i32.const 1)))
        (br_if $columns (i32.lt_u (i32.const 800))))
      (local.tee $py (i32.add (local.get $py) (i32.const 1)))
      (br_if $rows (i32.lt_u (i32.const 600))))
    (local.get $total)))
