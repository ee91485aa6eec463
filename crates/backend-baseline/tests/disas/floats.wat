(module
  ;; Float constants come from the function's constant pool.
  (func $poly (param f64) (result f64)
    (f64.add (f64.mul (local.get 0) (f64.const 2.5)) (f64.const -0.75)))
  ;; min (NaN and signed-zero cases), copysign, nearest.
  (func $misc (param f32 f32) (result f32)
    (f32.nearest (f32.copysign (f32.min (local.get 0) (local.get 1)) (f32.const -1))))
  ;; Trapping and saturating float-to-int conversions.
  (func $convert (param f64) (result i32)
    (i32.add
      (i32.trunc_f64_s (local.get 0))
      (i32.trunc_sat_f64_u (local.get 0)))))
