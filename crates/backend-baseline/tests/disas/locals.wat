(module
  ;; More locals than registers: the most used live in registers, the rest
  ;; in their home slots; `local.tee` stores straight into a register local.
  (func $many (param i32 i32) (result i32)
    (local i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i64 f64)
    (local.set 2 (i32.add (local.get 0) (local.get 1)))
    (local.set 3 (i32.mul (local.get 2) (local.get 2)))
    (local.set 4 (i32.sub (local.get 3) (local.get 0)))
    (local.set 5 (i32.xor (local.get 4) (local.get 1)))
    (local.set 6 (i32.and (local.get 5) (local.get 2)))
    (local.set 7 (i32.or (local.get 6) (local.get 3)))
    (local.set 8 (i32.add (local.get 7) (local.get 4)))
    (local.set 9 (i32.add (local.get 8) (local.get 5)))
    (local.set 10 (i32.add (local.get 9) (local.get 6)))
    (local.set 11 (i32.add (local.tee 10 (local.get 10)) (local.get 7)))
    (local.set 12 (i64.extend_i32_u (local.get 11)))
    (local.set 13 (f64.convert_i64_u (local.get 12)))
    (i32.add (local.get 11) (i32.trunc_f64_u (local.get 13)))))
