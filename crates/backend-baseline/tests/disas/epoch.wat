;; tunables: epoch_interruption
(module
  ;; Epoch checks at entry and at the loop header, calling `new_epoch`
  ;; out of line.
  (func $spin (param i32)
    (loop $again
      (br_if $again (local.tee 0 (i32.sub (local.get 0) (i32.const 1)))))))
