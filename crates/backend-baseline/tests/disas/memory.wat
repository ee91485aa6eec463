(module
  (memory 1)
  ;; Guarded accesses: no checks, each access a trap site.
  (func $copy_word (param i32 i32)
    (i32.store offset=8 (local.get 0) (i32.load offset=4 (local.get 1))))
  (func $narrow (param i32) (result i64)
    (i64.add
      (i64.load8_s (local.get 0))
      (i64.load32_u offset=16 (local.get 0))))
  (func $store_const (param i32)
    (i64.store16 (local.get 0) (i64.const 0x1234))
    (f64.store offset=24 (local.get 0) (f64.const 1.5)))
  ;; `memory.size` inline, `memory.grow` through its libcall.
  (func $grow (result i32)
    (i32.add (memory.size) (memory.grow (i32.const 1)))))
