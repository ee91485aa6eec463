//! The calling conventions every compiled artifact follows. Both backends
//! implement these exactly, so code from either can call code from the other
//! and a function can be recompiled by the other backend and swapped in.
//!
//! # Wasm call ([`wasm_call_layout`])
//!
//! What Wasm functions use among themselves: Cranelift's `tail` convention on
//! x86-64 as cranelift-codegen 0.135 implements it (see
//! `shared/notes/cranelift-tail-abi.md`).
//!
//! - Parameters: `callee_vmctx`, `caller_vmctx`, then the Wasm parameters.
//!   Integer-class values (i32, i64, references) take [`INT_ARG_REGS`] in
//!   order, floats take [`FLOAT_ARG_REGS`]; each class counts on its own.
//!   When a class runs out, its later values go to the stack in parameter
//!   order, each in an 8-byte slot (16 for v128, 16-aligned), the area
//!   rounded up to 16. Slot 0 is `[rsp + 8]` at entry.
//! - The **callee pops** its stack arguments (`ret N`).
//! - Results: integer-class in [`INT_RET_REGS`], floats in [`FLOAT_RET_REGS`],
//!   each class counted on its own. Results that do not fit go to a return
//!   area the **caller** allocates; its address is a hidden first integer
//!   argument (`rdi`), shifting every integer argument by one register. The
//!   callee does not pop the return area.
//! - The upper 32 bits of an i32 in a register or slot are undefined; an f32
//!   uses the low lane of its xmm register. Writers store 4 bytes for i32/f32
//!   into 8-byte slots.
//! - Callee-saved: [`CALLEE_SAVED`] (rbx, rbp, r12-r15). All xmm registers
//!   are caller-saved.
//! - Every function keeps a frame pointer: `push rbp; mov rbp, rsp` first,
//!   so `[rbp]` is the caller's rbp and `[rbp + 8]` the return address.
//! - The prologue traps with `StackOverflow` when `rsp` minus the frame size
//!   is below `VMStoreContext::stack_limit`, reached through
//!   `callee_vmctx + VMCTX_STORE_CONTEXT`.
//!
//! # Tail calls
//!
//! `return_call*` jumps to the callee with the Wasm call, leaving the
//! caller's frame: the callee returns straight to the caller's caller. The
//! contract both backends keep, whatever the two functions' stack-argument
//! sizes `N0` (the caller's own, popped by its caller's expectation) and
//! `N1` (the callee's):
//!
//! - At the jump, `rsp` points at the return address into the caller's
//!   caller, the callee's stack arguments lie above it, and they end where
//!   the caller's own ended (`entry rsp + 8 + N0`). The callee's `ret N1`
//!   then leaves `rsp` exactly where the caller's caller expects it. When
//!   `N1 > N0` the arguments reach below the caller's frame top: the caller
//!   moves the return address down by `N1 - N0`.
//! - Callee-saved registers hold the caller's caller's values again, `rbp`
//!   is the caller's caller's frame pointer, and the VMContext arguments
//!   are the callee's (its own, and the tail-calling function's as
//!   `caller_vmctx`).
//! - Results are the caller's (validation makes them equal), so a return
//!   area is passed on: `rdi` is the pointer the caller received.
//!
//! Cranelift meets it with its `return_call` (its prologue grows a
//! function's incoming area to the largest tail callee's, see
//! `shared/notes/cranelift-tail-abi.md` section 5); the baseline moves its
//! frame top at each tail call instead (`backend-baseline`'s
//! `codegen/call`). A host function reached by a tail call goes through
//! its Wasm-to-array trampoline like any callee: the trampoline's `ret`
//! returns the host's results to the original caller.
//!
//! # Array call ([`ARRAY_CALL`])
//!
//! The one host-facing convention, System V:
//! `extern "C" fn(callee_vmctx, caller_vmctx, values: *mut ValRaw, len: usize) -> bool`.
//! Arguments are read from `values` (16-byte slots), results written back
//! from slot 0; `false` means a trap was recorded and must be raised.
//!
//! # Array-to-Wasm entry ([`ARRAY_TO_WASM`])
//!
//! An array-call function per escaping defined function: stores its own frame
//! pointer into `VMStoreContext::last_wasm_entry_fp`, loads the arguments,
//! calls the function directly with the Wasm call (callee and caller vmctx
//! both the callee's own), stores the results, returns `true`. It never sees a
//! trap: traps unwind past it to the host's landing pad.
//!
//! # Wasm-to-array trampoline ([`WASM_TO_ARRAY`])
//!
//! The `wasm_call` of a host function's func-ref: a Wasm-call function per
//! signature. `callee_vmctx` is a `VMHostFuncContext`. It records the exit
//! (`last_wasm_exit_fp` = its caller's rbp, `last_wasm_exit_pc` = its return
//! address, through `caller_vmctx`'s store context), spills the arguments into
//! a `ValRaw` buffer on its stack, calls the array-call pointer at
//! `callee_vmctx + HOST_CTX_ARRAY_CALL`, and on `false` calls the
//! [`Libcall::raise_trap`](tandem_environ::Libcall) libcall function directly
//! with code [`RAISE_PENDING`] (the host already recorded the trap). On `true`
//! it loads the results and returns them with the Wasm call.
//!
//! # Wasm-to-libcall trampoline ([`WASM_TO_LIBCALL`])
//!
//! Compiled code calls a libcall through a small trampoline of its own module
//! with the libcall's System V signature. The trampoline records the exit
//! (caller's rbp and its return address, through the `vmctx` argument's store
//! context), then calls the function at `builtins[libcall.index()]`. Libcalls
//! that trap never return (they unwind to the host's landing pad).

use tandem_environ::{FuncType, ValType};

/// Named marker for the array-call convention described in the module docs.
pub const ARRAY_CALL: &str = "array-call";
/// Named marker for the array-to-Wasm entry described in the module docs.
pub const ARRAY_TO_WASM: &str = "array-to-wasm";
/// Named marker for the Wasm-to-array trampoline described in the module docs.
pub const WASM_TO_ARRAY: &str = "wasm-to-array";
/// Named marker for the Wasm-to-libcall trampoline described in the module docs.
pub const WASM_TO_LIBCALL: &str = "wasm-to-libcall";

/// `raise_trap` code meaning "the trap is already recorded in the store".
pub const RAISE_PENDING: i32 = -1;

/// An x86-64 general-purpose register, by hardware encoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
#[allow(missing_docs)]
pub enum Gpr {
    Rax = 0,
    Rcx = 1,
    Rdx = 2,
    Rbx = 3,
    Rsp = 4,
    Rbp = 5,
    Rsi = 6,
    Rdi = 7,
    R8 = 8,
    R9 = 9,
    R10 = 10,
    R11 = 11,
    R12 = 12,
    R13 = 13,
    R14 = 14,
    R15 = 15,
}

/// An xmm register number (0-15).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Xmm(pub u8);

/// Integer argument registers of the Wasm call, in order.
pub const INT_ARG_REGS: [Gpr; 6] = [Gpr::Rdi, Gpr::Rsi, Gpr::Rdx, Gpr::Rcx, Gpr::R8, Gpr::R9];
/// Float argument registers of the Wasm call: xmm0-xmm7.
pub const FLOAT_ARG_REGS: [Xmm; 8] = [
    Xmm(0),
    Xmm(1),
    Xmm(2),
    Xmm(3),
    Xmm(4),
    Xmm(5),
    Xmm(6),
    Xmm(7),
];
/// Integer result registers of the Wasm call, in order.
pub const INT_RET_REGS: [Gpr; 8] = [
    Gpr::Rax,
    Gpr::Rcx,
    Gpr::Rdx,
    Gpr::Rsi,
    Gpr::Rdi,
    Gpr::R8,
    Gpr::R9,
    Gpr::R10,
];
/// Float result registers of the Wasm call: xmm0-xmm7.
pub const FLOAT_RET_REGS: [Xmm; 8] = FLOAT_ARG_REGS;
/// Registers a Wasm-call callee must preserve.
pub const CALLEE_SAVED: [Gpr; 6] = [Gpr::Rbx, Gpr::Rbp, Gpr::R12, Gpr::R13, Gpr::R14, Gpr::R15];

/// Where one argument or result lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Loc {
    /// An integer register.
    Gpr(Gpr),
    /// A float register.
    Xmm(Xmm),
    /// For arguments: byte offset in the stack-argument area (0 = `[rsp+8]`
    /// at entry = `[rbp+16]` after the prologue). For results: byte offset
    /// in the caller-allocated return area.
    Stack(u32),
}

/// Where a Wasm-call's arguments and results go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallLayout {
    /// The two vmctx arguments, then one entry per Wasm parameter.
    pub args: Vec<Loc>,
    /// One entry per Wasm result.
    pub results: Vec<Loc>,
    /// Bytes of stack arguments (a multiple of 16), popped by the callee.
    pub stack_args_size: u32,
    /// Bytes of the return area (a multiple of 16; 0 when every result
    /// fits in registers). When non-zero, its address goes in `rdi`.
    pub ret_area_size: u32,
}

impl CallLayout {
    /// Whether a hidden return-area pointer is passed in `rdi`.
    pub fn has_ret_area(&self) -> bool {
        self.ret_area_size > 0
    }
}

/// Assigns `tys` to registers of their class, then to 8/16-byte slots.
fn assign(tys: impl Iterator<Item = ValType>, ints: &[Gpr], floats: &[Xmm]) -> (Vec<Loc>, u32) {
    let (mut next_int, mut next_float, mut stack) = (0, 0, 0u32);
    let locs = tys
        .map(|ty| {
            if ty.is_int_class() && next_int < ints.len() {
                next_int += 1;
                Loc::Gpr(ints[next_int - 1])
            } else if !ty.is_int_class() && next_float < floats.len() {
                next_float += 1;
                Loc::Xmm(floats[next_float - 1])
            } else {
                let size = ty.byte_size().max(8);
                stack = stack.next_multiple_of(size);
                let at = stack;
                stack += size;
                Loc::Stack(at)
            }
        })
        .collect();
    (locs, stack.next_multiple_of(16))
}

/// Computes the Wasm-call layout of signature `ty` (see the module docs).
pub fn wasm_call_layout(ty: &FuncType) -> CallLayout {
    let (results, ret_area_size) =
        assign(ty.results.iter().copied(), &INT_RET_REGS, &FLOAT_RET_REGS);
    let int_regs = if ret_area_size > 0 {
        &INT_ARG_REGS[1..]
    } else {
        &INT_ARG_REGS[..]
    };
    let vmctx = [ValType::I64, ValType::I64];
    let (args, stack_args_size) = assign(
        vmctx.into_iter().chain(ty.params.iter().copied()),
        int_regs,
        &FLOAT_ARG_REGS,
    );
    CallLayout {
        args,
        results,
        stack_args_size,
        ret_area_size,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ValType::*;

    #[test]
    fn small_signature_uses_registers() {
        let l = wasm_call_layout(&FuncType::new([I32, F64, I64], [I32]));
        assert_eq!(
            l.args,
            [
                Loc::Gpr(Gpr::Rdi),
                Loc::Gpr(Gpr::Rsi),
                Loc::Gpr(Gpr::Rdx),
                Loc::Xmm(Xmm(0)),
                Loc::Gpr(Gpr::Rcx)
            ]
        );
        assert_eq!(l.results, [Loc::Gpr(Gpr::Rax)]);
        assert_eq!((l.stack_args_size, l.ret_area_size), (0, 0));
    }

    #[test]
    fn overflow_goes_to_stack_in_order() {
        // 2 vmctx + 6 i32 params: rdi..r9 take vmctx + 4, two go to the stack.
        let l = wasm_call_layout(&FuncType::new([I32; 6], []));
        assert_eq!(l.args[6], Loc::Stack(0));
        assert_eq!(l.args[7], Loc::Stack(8));
        assert_eq!(l.stack_args_size, 16);
    }

    #[test]
    fn many_results_use_a_return_area_and_shift_args() {
        // Matches the verified probe in cranelift-tail-abi.md: (vmctx, p) ->
        // 10 x i64 + 10 x f64: ptr = rdi, vmctx = rsi, p = rdx; i64 #9-10 at
        // [rdi], [rdi+8]; f64 #9-10 at [rdi+0x10], [rdi+0x18].
        let mut results = vec![I64; 10];
        results.extend([F64; 10]);
        let l = wasm_call_layout(&FuncType::new([I64], results));
        assert_eq!(l.args[0], Loc::Gpr(Gpr::Rsi));
        assert_eq!(l.args[1], Loc::Gpr(Gpr::Rdx));
        assert_eq!(l.results[8], Loc::Stack(0));
        assert_eq!(l.results[9], Loc::Stack(8));
        assert_eq!(l.results[18], Loc::Stack(16));
        assert_eq!(l.results[19], Loc::Stack(24));
        assert_eq!(l.ret_area_size, 32);
    }
}
