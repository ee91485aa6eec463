(module
  (type (;0;) (func (param i32 i32 i32 i32) (result i32)))
  (type (;1;) (func (result i32)))
  (type (;2;) (func (param i32) (result i32)))
  (func $run (type 1) (result i32)
    (local i32 i32 i32 i32 i32 i32)
    global.get $__stack_pointer
    i32.const 32
    i32.sub
    local.tee 0
    global.set $__stack_pointer
    i32.const 0
    local.set 1
    i32.const 0
    i64.const 12884901890
    i64.store offset=1476 align=4
    i32.const 0
    i64.const 77309411328
    i64.store offset=1464
    i32.const 0
    i64.const 103079215107
    i64.store offset=1456
    i32.const 0
    i64.const 12884901899
    i64.store offset=1448
    i32.const 0
    i64.const 34359738399
    i64.store offset=1440
    i32.const 0
    i64.const 4294967296
    i64.store offset=1432
    i32.const 0
    i64.const 8589934596
    i64.store offset=1424
    i32.const 0
    i64.const 8589934594
    i64.store offset=1416
    i32.const 0
    i64.const 12884901890
    i64.store offset=1408
    i32.const 0
    i64.const 77309411330
    i64.store offset=1396 align=4
    i32.const 0
    i64.const 103079215105
    i64.store offset=1388 align=4
    i32.const 0
    i64.const 12884901901
    i64.store offset=1380 align=4
    i32.const 0
    i64.const 4294967297
    i64.store offset=1372 align=4
    i32.const 0
    i64.const 4294967298
    i64.store offset=1364 align=4
    i32.const 0
    i32.const 18
    i32.store offset=1356
    i32.const 0
    i64.const 4294967299
    i64.store offset=1348 align=4
    i32.const 0
    i64.const 4294967324
    i64.store offset=1340 align=4
    i32.const 0
    i64.const 17179869188
    i64.store offset=1332 align=4
    i32.const 0
    i64.const 90194313237
    i64.store offset=1324 align=4
    i32.const 0
    i64.const 4294967298
    i64.store offset=1316 align=4
    i32.const 0
    i64.const 81604378633
    i64.store offset=1304
    i32.const 0
    i64.const 4294967297
    i64.store offset=1296
    i32.const 0
    i64.const 4294967298
    i64.store offset=1288
    i32.const 0
    i64.const 85899345936
    i64.store offset=1276 align=4
    i32.const 0
    i64.const 4294967297
    i64.store offset=1268 align=4
    i32.const 0
    i64.const 4294967298
    i64.store offset=1260 align=4
    i32.const 0
    i64.const 8589934595
    i64.store offset=1252 align=4
    i32.const 0
    i64.const 1
    i64.store offset=1244 align=4
    i32.const 0
    i64.const 4294967299
    i64.store offset=1236 align=4
    i32.const 0
    i64.const 2
    i64.store offset=1228 align=4
    i32.const 0
    i64.const 85899345935
    i64.store offset=1216
    i32.const 0
    i64.const 17179869186
    i64.store offset=1208
    i32.const 0
    i64.const 2
    i64.store offset=1200
    i32.const 0
    i64.const 12884901891
    i64.store offset=1192
    i32.const 0
    i64.const 1
    i64.store offset=1184
    i32.const 0
    i64.const 3
    i64.store offset=1176
    i32.const 0
    i64.const 4294967297
    i64.store offset=1168
    i32.const 0
    i32.const 0
    i32.store offset=1484
    i32.const 0
    i32.const 8
    i32.store offset=1472
    i32.const 0
    i32.const 23
    i32.store offset=1404
    i32.const 0
    i32.const 56
    i32.store offset=1360
    i32.const 0
    i32.const 49
    i32.store offset=1312
    i32.const 0
    i32.const 60
    i32.store offset=1284
    i32.const 0
    i32.const 77
    i32.store offset=1224
    block  ;; label = @1
      i32.const 0
      i32.load offset=1152
      local.tee 2
      i32.const 1
      i32.lt_s
      br_if 0 (;@1;)
      local.get 0
      i32.const 16
      i32.add
      local.set 3
      local.get 0
      i32.const 24
      i32.add
      local.set 4
      i32.const 0
      local.set 5
      i32.const 0
      local.set 1
      loop  ;; label = @2
        local.get 3
        i64.const 0
        i64.store
        local.get 4
        i64.const 0
        i64.store
        local.get 3
        local.get 5
        i32.const 0
        i32.load offset=1156
        i32.add
        i32.store
        local.get 0
        i64.const 0
        i64.store offset=8
        local.get 0
        i64.const 0
        i64.store
        local.get 0
        call $exec
        local.get 1
        i32.xor
        i32.const 16777619
        i32.mul
        local.tee 1
        i32.const 15
        i32.shr_u
        local.get 1
        i32.xor
        local.set 1
        local.get 2
        local.get 5
        i32.const 1
        i32.add
        local.tee 5
        i32.ne
        br_if 0 (;@2;)
      end
    end
    local.get 0
    i32.const 32
    i32.add
    global.set $__stack_pointer
    local.get 1)
  (func $exec (type 2) (param i32) (result i32)
    (local i32)
    global.get $__stack_pointer
    i32.const 256
    i32.sub
    local.tee 1
    global.set $__stack_pointer
    i32.const 1172
    local.get 1
    i32.const 0
    local.get 0
    i32.const 0
    i32.load offset=1168
    i32.const 2
    i32.shl
    i32.const 1024
    i32.add
    i32.load
    call_indirect (type 0)
    local.set 0
    local.get 1
    i32.const 256
    i32.add
    global.set $__stack_pointer
    local.get 0)
  (func $op_halt (type 0) (param i32 i32 i32 i32) (result i32)
    local.get 2)
  (func $op_push (type 0) (param i32 i32 i32 i32) (result i32)
    local.get 1
    local.get 2
    i32.store
    local.get 0
    i32.const 8
    i32.add
    local.get 1
    i32.const 4
    i32.add
    local.get 0
    i32.load
    local.get 3
    local.get 0
    i32.load offset=4
    i32.const 2
    i32.shl
    i32.const 1024
    i32.add
    i32.load
    return_call_indirect (type 0))
  (func $op_load (type 0) (param i32 i32 i32 i32) (result i32)
    local.get 1
    local.get 2
    i32.store
    local.get 0
    i32.const 8
    i32.add
    local.get 1
    i32.const 4
    i32.add
    local.get 3
    local.get 0
    i32.load
    i32.const 2
    i32.shl
    i32.add
    i32.load
    local.get 3
    local.get 0
    i32.load offset=4
    i32.const 2
    i32.shl
    i32.const 1024
    i32.add
    i32.load
    return_call_indirect (type 0))
  (func $op_store (type 0) (param i32 i32 i32 i32) (result i32)
    local.get 3
    local.get 0
    i32.load
    i32.const 2
    i32.shl
    i32.add
    local.get 2
    i32.store
    local.get 0
    i32.const 8
    i32.add
    local.get 1
    i32.const -4
    i32.add
    local.tee 1
    local.get 1
    i32.load
    local.get 3
    local.get 0
    i32.load offset=4
    i32.const 2
    i32.shl
    i32.const 1024
    i32.add
    i32.load
    return_call_indirect (type 0))
  (func $op_add (type 0) (param i32 i32 i32 i32) (result i32)
    local.get 0
    i32.const 4
    i32.add
    local.get 1
    i32.const -4
    i32.add
    local.tee 1
    local.get 1
    i32.load
    local.get 2
    i32.add
    local.get 3
    local.get 0
    i32.load
    i32.const 2
    i32.shl
    i32.const 1024
    i32.add
    i32.load
    return_call_indirect (type 0))
  (func $op_sub (type 0) (param i32 i32 i32 i32) (result i32)
    local.get 0
    i32.const 4
    i32.add
    local.get 1
    i32.const -4
    i32.add
    local.tee 1
    local.get 1
    i32.load
    local.get 2
    i32.sub
    local.get 3
    local.get 0
    i32.load
    i32.const 2
    i32.shl
    i32.const 1024
    i32.add
    i32.load
    return_call_indirect (type 0))
  (func $op_mul (type 0) (param i32 i32 i32 i32) (result i32)
    local.get 0
    i32.const 4
    i32.add
    local.get 1
    i32.const -4
    i32.add
    local.tee 1
    local.get 1
    i32.load
    local.get 2
    i32.mul
    local.get 3
    local.get 0
    i32.load
    i32.const 2
    i32.shl
    i32.const 1024
    i32.add
    i32.load
    return_call_indirect (type 0))
  (func $op_divu (type 0) (param i32 i32 i32 i32) (result i32)
    local.get 1
    i32.const -4
    i32.add
    local.set 1
    block  ;; label = @1
      block  ;; label = @2
        local.get 2
        br_if 0 (;@2;)
        i32.const 0
        local.set 2
        br 1 (;@1;)
      end
      local.get 1
      i32.load
      local.get 2
      i32.div_u
      local.set 2
    end
    local.get 0
    i32.const 4
    i32.add
    local.get 1
    local.get 2
    local.get 3
    local.get 0
    i32.load
    i32.const 2
    i32.shl
    i32.const 1024
    i32.add
    i32.load
    return_call_indirect (type 0))
  (func $op_remu (type 0) (param i32 i32 i32 i32) (result i32)
    local.get 1
    i32.const -4
    i32.add
    local.set 1
    block  ;; label = @1
      block  ;; label = @2
        local.get 2
        br_if 0 (;@2;)
        i32.const 0
        local.set 2
        br 1 (;@1;)
      end
      local.get 1
      i32.load
      local.get 2
      i32.rem_u
      local.set 2
    end
    local.get 0
    i32.const 4
    i32.add
    local.get 1
    local.get 2
    local.get 3
    local.get 0
    i32.load
    i32.const 2
    i32.shl
    i32.const 1024
    i32.add
    i32.load
    return_call_indirect (type 0))
  (func $op_and (type 0) (param i32 i32 i32 i32) (result i32)
    local.get 0
    i32.const 4
    i32.add
    local.get 1
    i32.const -4
    i32.add
    local.tee 1
    local.get 1
    i32.load
    local.get 2
    i32.and
    local.get 3
    local.get 0
    i32.load
    i32.const 2
    i32.shl
    i32.const 1024
    i32.add
    i32.load
    return_call_indirect (type 0))
  (func $op_or (type 0) (param i32 i32 i32 i32) (result i32)
    local.get 0
    i32.const 4
    i32.add
    local.get 1
    i32.const -4
    i32.add
    local.tee 1
    local.get 1
    i32.load
    local.get 2
    i32.or
    local.get 3
    local.get 0
    i32.load
    i32.const 2
    i32.shl
    i32.const 1024
    i32.add
    i32.load
    return_call_indirect (type 0))
  (func $op_xor (type 0) (param i32 i32 i32 i32) (result i32)
    local.get 0
    i32.const 4
    i32.add
    local.get 1
    i32.const -4
    i32.add
    local.tee 1
    local.get 1
    i32.load
    local.get 2
    i32.xor
    local.get 3
    local.get 0
    i32.load
    i32.const 2
    i32.shl
    i32.const 1024
    i32.add
    i32.load
    return_call_indirect (type 0))
  (func $op_shl (type 0) (param i32 i32 i32 i32) (result i32)
    local.get 0
    i32.const 4
    i32.add
    local.get 1
    i32.const -4
    i32.add
    local.tee 1
    local.get 1
    i32.load
    local.get 2
    i32.shl
    local.get 3
    local.get 0
    i32.load
    i32.const 2
    i32.shl
    i32.const 1024
    i32.add
    i32.load
    return_call_indirect (type 0))
  (func $op_shru (type 0) (param i32 i32 i32 i32) (result i32)
    local.get 0
    i32.const 4
    i32.add
    local.get 1
    i32.const -4
    i32.add
    local.tee 1
    local.get 1
    i32.load
    local.get 2
    i32.shr_u
    local.get 3
    local.get 0
    i32.load
    i32.const 2
    i32.shl
    i32.const 1024
    i32.add
    i32.load
    return_call_indirect (type 0))
  (func $op_ltu (type 0) (param i32 i32 i32 i32) (result i32)
    local.get 0
    i32.const 4
    i32.add
    local.get 1
    i32.const -4
    i32.add
    local.tee 1
    local.get 1
    i32.load
    local.get 2
    i32.lt_u
    local.get 3
    local.get 0
    i32.load
    i32.const 2
    i32.shl
    i32.const 1024
    i32.add
    i32.load
    return_call_indirect (type 0))
  (func $op_gtu (type 0) (param i32 i32 i32 i32) (result i32)
    local.get 0
    i32.const 4
    i32.add
    local.get 1
    i32.const -4
    i32.add
    local.tee 1
    local.get 1
    i32.load
    local.get 2
    i32.gt_u
    local.get 3
    local.get 0
    i32.load
    i32.const 2
    i32.shl
    i32.const 1024
    i32.add
    i32.load
    return_call_indirect (type 0))
  (func $op_eq (type 0) (param i32 i32 i32 i32) (result i32)
    local.get 0
    i32.const 4
    i32.add
    local.get 1
    i32.const -4
    i32.add
    local.tee 1
    local.get 1
    i32.load
    local.get 2
    i32.eq
    local.get 3
    local.get 0
    i32.load
    i32.const 2
    i32.shl
    i32.const 1024
    i32.add
    i32.load
    return_call_indirect (type 0))
  (func $op_ne (type 0) (param i32 i32 i32 i32) (result i32)
    local.get 0
    i32.const 4
    i32.add
    local.get 1
    i32.const -4
    i32.add
    local.tee 1
    local.get 1
    i32.load
    local.get 2
    i32.ne
    local.get 3
    local.get 0
    i32.load
    i32.const 2
    i32.shl
    i32.const 1024
    i32.add
    i32.load
    return_call_indirect (type 0))
  (func $op_jmp (type 0) (param i32 i32 i32 i32) (result i32)
    local.get 0
    i32.load
    i32.const 2
    i32.shl
    local.tee 0
    i32.const 1172
    i32.add
    local.get 1
    local.get 2
    local.get 3
    local.get 0
    i32.const 1168
    i32.add
    i32.load
    i32.const 2
    i32.shl
    i32.const 1024
    i32.add
    i32.load
    return_call_indirect (type 0))
  (func $op_jz (type 0) (param i32 i32 i32 i32) (result i32)
    (local i32)
    local.get 1
    i32.const -4
    i32.add
    local.tee 1
    i32.load
    local.set 4
    block  ;; label = @1
      block  ;; label = @2
        local.get 2
        br_if 0 (;@2;)
        local.get 0
        i32.load
        i32.const 2
        i32.shl
        i32.const 1168
        i32.add
        local.set 2
        br 1 (;@1;)
      end
      local.get 0
      i32.const 4
      i32.add
      local.set 2
    end
    local.get 2
    i32.const 4
    i32.add
    local.get 1
    local.get 4
    local.get 3
    local.get 2
    i32.load
    i32.const 2
    i32.shl
    i32.const 1024
    i32.add
    i32.load
    return_call_indirect (type 0))
  (func $op_jnz (type 0) (param i32 i32 i32 i32) (result i32)
    (local i32)
    local.get 1
    i32.const -4
    i32.add
    local.tee 1
    i32.load
    local.set 4
    block  ;; label = @1
      block  ;; label = @2
        local.get 2
        i32.eqz
        br_if 0 (;@2;)
        local.get 0
        i32.load
        i32.const 2
        i32.shl
        i32.const 1168
        i32.add
        local.set 2
        br 1 (;@1;)
      end
      local.get 0
      i32.const 4
      i32.add
      local.set 2
    end
    local.get 2
    i32.const 4
    i32.add
    local.get 1
    local.get 4
    local.get 3
    local.get 2
    i32.load
    i32.const 2
    i32.shl
    i32.const 1024
    i32.add
    i32.load
    return_call_indirect (type 0))
  (func $op_dup (type 0) (param i32 i32 i32 i32) (result i32)
    local.get 1
    local.get 2
    i32.store
    local.get 0
    i32.const 4
    i32.add
    local.get 1
    i32.const 4
    i32.add
    local.get 2
    local.get 3
    local.get 0
    i32.load
    i32.const 2
    i32.shl
    i32.const 1024
    i32.add
    i32.load
    return_call_indirect (type 0))
  (func $op_drop (type 0) (param i32 i32 i32 i32) (result i32)
    local.get 0
    i32.const 4
    i32.add
    local.get 1
    i32.const -4
    i32.add
    local.tee 1
    local.get 1
    i32.load
    local.get 3
    local.get 0
    i32.load
    i32.const 2
    i32.shl
    i32.const 1024
    i32.add
    i32.load
    return_call_indirect (type 0))
  (func $op_swap (type 0) (param i32 i32 i32 i32) (result i32)
    (local i32 i32)
    local.get 1
    i32.const -4
    i32.add
    local.tee 4
    i32.load
    local.set 5
    local.get 4
    local.get 2
    i32.store
    local.get 0
    i32.const 4
    i32.add
    local.get 1
    local.get 5
    local.get 3
    local.get 0
    i32.load
    i32.const 2
    i32.shl
    i32.const 1024
    i32.add
    i32.load
    return_call_indirect (type 0))
  (func $op_inc (type 0) (param i32 i32 i32 i32) (result i32)
    (local i32)
    local.get 3
    local.get 0
    i32.load
    i32.const 2
    i32.shl
    i32.add
    local.tee 4
    local.get 4
    i32.load
    i32.const 1
    i32.add
    i32.store
    local.get 0
    i32.const 8
    i32.add
    local.get 1
    local.get 2
    local.get 3
    local.get 0
    i32.load offset=4
    i32.const 2
    i32.shl
    i32.const 1024
    i32.add
    i32.load
    return_call_indirect (type 0))
  (func $op_dec (type 0) (param i32 i32 i32 i32) (result i32)
    (local i32)
    local.get 3
    local.get 0
    i32.load
    i32.const 2
    i32.shl
    i32.add
    local.tee 4
    local.get 4
    i32.load
    i32.const -1
    i32.add
    i32.store
    local.get 0
    i32.const 8
    i32.add
    local.get 1
    local.get 2
    local.get 3
    local.get 0
    i32.load offset=4
    i32.const 2
    i32.shl
    i32.const 1024
    i32.add
    i32.load
    return_call_indirect (type 0))
  (func $op_neg (type 0) (param i32 i32 i32 i32) (result i32)
    local.get 0
    i32.const 4
    i32.add
    local.get 1
    i32.const 0
    local.get 2
    i32.sub
    local.get 3
    local.get 0
    i32.load
    i32.const 2
    i32.shl
    i32.const 1024
    i32.add
    i32.load
    return_call_indirect (type 0))
  (func $op_not (type 0) (param i32 i32 i32 i32) (result i32)
    local.get 0
    i32.const 4
    i32.add
    local.get 1
    local.get 2
    i32.const -1
    i32.xor
    local.get 3
    local.get 0
    i32.load
    i32.const 2
    i32.shl
    i32.const 1024
    i32.add
    i32.load
    return_call_indirect (type 0))
  (func $op_addi (type 0) (param i32 i32 i32 i32) (result i32)
    local.get 0
    i32.const 8
    i32.add
    local.get 1
    local.get 0
    i32.load
    local.get 2
    i32.add
    local.get 3
    local.get 0
    i32.load offset=4
    i32.const 2
    i32.shl
    i32.const 1024
    i32.add
    i32.load
    return_call_indirect (type 0))
  (func $op_muli (type 0) (param i32 i32 i32 i32) (result i32)
    local.get 0
    i32.const 8
    i32.add
    local.get 1
    local.get 0
    i32.load
    local.get 2
    i32.mul
    local.get 3
    local.get 0
    i32.load offset=4
    i32.const 2
    i32.shl
    i32.const 1024
    i32.add
    i32.load
    return_call_indirect (type 0))
  (func $op_nop (type 0) (param i32 i32 i32 i32) (result i32)
    local.get 0
    i32.const 4
    i32.add
    local.get 1
    local.get 2
    local.get 3
    local.get 0
    i32.load
    i32.const 2
    i32.shl
    i32.const 1024
    i32.add
    i32.load
    return_call_indirect (type 0))
  (func $op_rotl (type 0) (param i32 i32 i32 i32) (result i32)
    local.get 0
    i32.const 4
    i32.add
    local.get 1
    i32.const -4
    i32.add
    local.tee 1
    local.get 1
    i32.load
    local.get 2
    i32.rotl
    local.get 3
    local.get 0
    i32.load
    i32.const 2
    i32.shl
    i32.const 1024
    i32.add
    i32.load
    return_call_indirect (type 0))
  (table (;0;) 33 33 funcref)
  (memory (;0;) 2)
  (global $__stack_pointer (mut i32) (i32.const 67728))
  (export "memory" (memory 0))
  (export "run" (func $run))
  (elem (;0;) (i32.const 1) func $op_halt $op_push $op_load $op_store $op_add $op_sub $op_mul $op_divu $op_remu $op_and $op_or $op_xor $op_shl $op_shru $op_ltu $op_gtu $op_eq $op_ne $op_jmp $op_jz $op_jnz $op_dup $op_drop $op_swap $op_inc $op_dec $op_neg $op_not $op_addi $op_muli $op_nop $op_rotl)
  (data $.rodata (i32.const 1024) "\01\00\00\00\02\00\00\00\03\00\00\00\04\00\00\00\05\00\00\00\06\00\00\00\07\00\00\00\08\00\00\00\09\00\00\00\0a\00\00\00\0b\00\00\00\0c\00\00\00\0d\00\00\00\0e\00\00\00\0f\00\00\00\10\00\00\00\11\00\00\00\12\00\00\00\13\00\00\00\14\00\00\00\15\00\00\00\16\00\00\00\17\00\00\00\18\00\00\00\19\00\00\00\1a\00\00\00\1b\00\00\00\1c\00\00\00\1d\00\00\00\1e\00\00\00\1f\00\00\00 \00\00\00")
  (data $.data (i32.const 1152) "\03\00\00\00`\ea\00\00"))
