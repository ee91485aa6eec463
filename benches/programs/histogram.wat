;; Byte histogram: a 4 MiB pseudo-random buffer (written a word at a time),
;; counted byte by byte 48 times into 256 counters, with `memory.copy` and
;; `memory.fill` between passes. Returns a weighted checksum of the counters.
(module
  (memory 66)
  ;; Counters at 0 (256 x i32), the buffer at 64 KiB.
  (func (export "run") (result i32)
    (local $i i32) (local $x i32) (local $pass i32) (local $p i32) (local $sum i32)
    (local.set $x (i32.const 99))
    (loop $fill
      (local.set $x (i32.add (i32.mul (local.get $x) (i32.const 1664525)) (i32.const 1013904223)))
      (i32.store (i32.add (i32.const 65536) (local.get $i)) (local.get $x))
      (local.tee $i (i32.add (local.get $i) (i32.const 4)))
      (br_if $fill (i32.lt_u (i32.const 4194304))))
    (memory.fill (i32.const 0) (i32.const 0) (i32.const 1024))
    (loop $passes
      (local.set $p (i32.const 65536))
      (loop $bytes
        (local.set $i (i32.shl (i32.load8_u (local.get $p)) (i32.const 2)))
        (i32.store (local.get $i) (i32.add (i32.load (local.get $i)) (i32.const 1)))
        (local.tee $p (i32.add (local.get $p) (i32.const 1)))
        (br_if $bytes (i32.lt_u (i32.const 4259840))))
      ;; Shift the buffer by 4097 bytes and clear 1000 bytes at a moving spot.
      (memory.copy (i32.const 65536) (i32.const 69633) (i32.const 4190207))
      (memory.fill
        (i32.add (i32.const 65536)
          (i32.rem_u (i32.mul (local.get $pass) (i32.const 300000)) (i32.const 4000000)))
        (i32.add (local.get $pass) (i32.const 1))
        (i32.const 1000))
      (local.tee $pass (i32.add (local.get $pass) (i32.const 1)))
      (br_if $passes (i32.lt_u (i32.const 48))))
    (local.set $i (i32.const 0))
    (loop $checksum
      (local.set $sum (i32.add
        (i32.mul (local.get $sum) (i32.const 31))
        (i32.mul (i32.load (i32.shl (local.get $i) (i32.const 2))) (i32.add (local.get $i) (i32.const 1)))))
      (local.tee $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $checksum (i32.lt_u (i32.const 256))))
    (local.get $sum)))
