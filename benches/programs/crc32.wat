;; CRC-32 (the zlib polynomial, table-driven) of a 1 MiB pseudo-random
;; buffer, chained 96 times. Byte loads, table loads, shifts and xors.
(module
  (memory 20)
  ;; The 256-entry table at 0, the buffer at 64 KiB.
  (global $buf i32 (i32.const 65536))
  (global $len i32 (i32.const 1048576))

  (func $init
    (local $i i32) (local $c i32) (local $k i32) (local $x i32)
    (loop $entries
      (local.set $c (local.get $i))
      (local.set $k (i32.const 8))
      (loop $bits
        (local.set $c
          (if (result i32) (i32.and (local.get $c) (i32.const 1))
            (then (i32.xor (i32.const 0xEDB88320) (i32.shr_u (local.get $c) (i32.const 1))))
            (else (i32.shr_u (local.get $c) (i32.const 1)))))
        (local.tee $k (i32.sub (local.get $k) (i32.const 1)))
        (br_if $bits))
      (i32.store (i32.shl (local.get $i) (i32.const 2)) (local.get $c))
      (local.tee $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $entries (i32.lt_u (i32.const 256))))
    (local.set $x (i32.const 12345))
    (local.set $i (i32.const 0))
    (loop $fill
      (local.set $x (i32.add (i32.mul (local.get $x) (i32.const 1103515245)) (i32.const 12345)))
      (i32.store8 (i32.add (global.get $buf) (local.get $i))
        (i32.shr_u (local.get $x) (i32.const 16)))
      (local.tee $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $fill (i32.lt_u (global.get $len)))))

  (func $crc (param $seed i32) (result i32)
    (local $c i32) (local $p i32) (local $end i32)
    (local.set $c (i32.xor (local.get $seed) (i32.const -1)))
    (local.set $p (global.get $buf))
    (local.set $end (i32.add (global.get $buf) (global.get $len)))
    (loop $bytes
      (local.set $c
        (i32.xor
          (i32.load (i32.shl
            (i32.and (i32.xor (local.get $c) (i32.load8_u (local.get $p))) (i32.const 255))
            (i32.const 2)))
          (i32.shr_u (local.get $c) (i32.const 8))))
      (local.tee $p (i32.add (local.get $p) (i32.const 1)))
      (br_if $bytes (i32.lt_u (local.get $end))))
    (i32.xor (local.get $c) (i32.const -1)))

  (func (export "run") (result i32)
    (local $c i32) (local $round i32)
    (call $init)
    (loop $rounds
      (local.set $c (call $crc (local.get $c)))
      (local.tee $round (i32.add (local.get $round) (i32.const 1)))
      (br_if $rounds (i32.lt_u (i32.const 96))))
    (local.get $c)))
