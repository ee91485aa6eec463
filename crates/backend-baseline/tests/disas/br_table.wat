(module
  ;; A jump table clamped to its default, and a constant index resolved
  ;; at compile time.
  (func $classify (param i32) (result i32)
    (block $default
      (block $two
        (block $one
          (block $zero
            (br_table $zero $one $two $default (local.get 0)))
          (return (i32.const 100)))
        (return (i32.const 101)))
      (return (i32.const 102)))
    (block $b (br_table $b $b (i32.const 5)))
    (i32.const -1)))
