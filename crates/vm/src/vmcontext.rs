//! The `#[repr(C)]` structures compiled code reads and writes, laid out as
//! [`tandem_environ::VMOffsets`] says (the tests check every field).

use std::cell::UnsafeCell;
use std::ptr;
use tandem_environ::VMOffsets;

/// The array-call convention: `(callee_vmctx, caller_vmctx, values, len) -> ok`.
/// See `tandem_codegen_api::abi`.
pub type ArrayCallFn = unsafe extern "C" fn(*mut u8, *mut u8, *mut ValRaw, usize) -> bool;

/// Per-store state every instance of the store points to.
#[repr(C)]
#[derive(Debug)]
pub struct VMStoreContext {
    /// Lowest stack address Wasm may use.
    pub stack_limit: UnsafeCell<usize>,
    /// Fuel consumed, as minus the fuel left.
    pub fuel_consumed: UnsafeCell<i64>,
    /// Epoch at which Wasm calls `new_epoch`.
    pub epoch_deadline: UnsafeCell<u64>,
    /// Frame pointer of the last Wasm frame that exited to the host.
    pub last_wasm_exit_fp: UnsafeCell<usize>,
    /// Return address into Wasm of that exit.
    pub last_wasm_exit_pc: UnsafeCell<usize>,
    /// Frame pointer of the last array-to-Wasm entry trampoline.
    pub last_wasm_entry_fp: UnsafeCell<usize>,
}

// SAFETY: the cells are only touched by the thread running the store, which
// `Store: Send` (not `Sync`) guarantees is one thread at a time.
unsafe impl Send for VMStoreContext {}
// SAFETY: as above; shared references never touch the cells concurrently.
unsafe impl Sync for VMStoreContext {}

impl Default for VMStoreContext {
    fn default() -> Self {
        VMStoreContext {
            stack_limit: UnsafeCell::new(usize::MAX),
            fuel_consumed: UnsafeCell::new(0),
            epoch_deadline: UnsafeCell::new(u64::MAX),
            last_wasm_exit_fp: UnsafeCell::new(0),
            last_wasm_exit_pc: UnsafeCell::new(0),
            last_wasm_entry_fp: UnsafeCell::new(0),
        }
    }
}

/// A function reference: everything needed to call a function either way.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct VMFuncRef {
    /// Array-call entry (null for functions that never escape).
    pub array_call: *const u8,
    /// Wasm-call entry; null is a hole to be filled from the module registry.
    pub wasm_call: *const u8,
    /// Engine-wide signature id, compared by `call_indirect`.
    pub type_index: u32,
    /// The callee's VMContext (or `VMHostFuncContext`).
    pub vmctx: *mut u8,
}

// SAFETY: a func-ref is plain data; what its pointers reach is kept alive and
// synchronised by the store that owns the func-ref.
unsafe impl Send for VMFuncRef {}
// SAFETY: as above.
unsafe impl Sync for VMFuncRef {}

impl VMFuncRef {
    /// A func-ref with every pointer null.
    pub const NULL: VMFuncRef = VMFuncRef {
        array_call: ptr::null(),
        wasm_call: ptr::null(),
        type_index: u32::MAX,
        vmctx: ptr::null_mut(),
    };
}

/// A table's storage as compiled code sees it.
#[repr(C)]
#[derive(Debug)]
pub struct VMTableDefinition {
    /// One pointer-sized element per slot (`*mut VMFuncRef` or externref).
    pub base: *mut *mut u8,
    /// Number of elements.
    pub current_elements: usize,
}

/// A linear memory as compiled code sees it.
#[repr(C)]
#[derive(Debug)]
pub struct VMMemoryDefinition {
    /// Start of the memory.
    pub base: *mut u8,
    /// Accessible bytes.
    pub current_length: usize,
}

/// A global's storage: 16 bytes, large enough for every value type.
#[repr(C, align(16))]
#[derive(Clone, Copy, Debug, Default)]
pub struct VMGlobalDefinition {
    /// The raw value, little-endian from byte 0.
    pub bytes: [u8; 16],
}

/// One value in an array-call buffer: 16 bytes, read at the width of the
/// value's type from offset 0. References are pointers.
#[repr(C, align(16))]
#[derive(Clone, Copy)]
pub union ValRaw {
    /// i32
    pub i32: i32,
    /// i64
    pub i64: i64,
    /// f32 bits
    pub f32: u32,
    /// f64 bits
    pub f64: u64,
    /// v128
    pub v128: [u8; 16],
    /// funcref (`*mut VMFuncRef`) or externref pointer
    pub ptr: *mut u8,
}

impl ValRaw {
    /// The slot's 16 bytes.
    pub fn to_bytes(self) -> [u8; 16] {
        // SAFETY: every constructor initialises all 16 bytes (`Default` and
        // `from_bytes` do; writers start from `Default`), and every bit
        // pattern is a valid byte array.
        unsafe { self.v128 }
    }

    /// A slot holding `bytes`.
    pub fn from_bytes(bytes: [u8; 16]) -> ValRaw {
        ValRaw { v128: bytes }
    }

    /// A slot holding the low `bits` zero-extended to 16 bytes, as every
    /// numeric value is written.
    fn from_u128(bits: u128) -> ValRaw {
        ValRaw::from_bytes(bits.to_le_bytes())
    }

    /// The slot's 16 bytes as one little-endian number.
    fn bits(self) -> u128 {
        u128::from_le_bytes(self.to_bytes())
    }

    /// A slot holding an `i32`.
    ///
    /// ```
    /// use tandem_vm::ValRaw;
    /// assert_eq!(ValRaw::i32(-2).get_i32(), -2);
    /// assert_eq!(ValRaw::i32(-2).get_u32(), u32::MAX - 1);
    /// assert_eq!(ValRaw::i64(-3).get_i64(), -3);
    /// assert_eq!(ValRaw::f32(1.5f32.to_bits()).get_f32(), 1.5f32.to_bits());
    /// assert_eq!(ValRaw::f64(2.5f64.to_bits()).get_f64(), 2.5f64.to_bits());
    /// assert_eq!(ValRaw::v128(u128::MAX).get_v128(), u128::MAX);
    /// ```
    pub fn i32(value: i32) -> ValRaw {
        ValRaw::from_u128(u128::from(value as u32))
    }

    /// A slot holding an `i64`.
    pub fn i64(value: i64) -> ValRaw {
        ValRaw::from_u128(u128::from(value as u64))
    }

    /// A slot holding an `f32`, given as its bits.
    pub fn f32(bits: u32) -> ValRaw {
        ValRaw::from_u128(u128::from(bits))
    }

    /// A slot holding an `f64`, given as its bits.
    pub fn f64(bits: u64) -> ValRaw {
        ValRaw::from_u128(u128::from(bits))
    }

    /// A slot holding a `v128`.
    pub fn v128(bits: u128) -> ValRaw {
        ValRaw::from_u128(bits)
    }

    /// A slot holding a `funcref` (a `*mut VMFuncRef`, null for null).
    ///
    /// ```
    /// use tandem_vm::ValRaw;
    /// assert!(ValRaw::funcref(std::ptr::null_mut()).get_funcref().is_null());
    /// ```
    pub fn funcref(ptr: *mut std::ffi::c_void) -> ValRaw {
        let mut raw = ValRaw::default();
        raw.ptr = ptr.cast();
        raw
    }

    /// The `i32` in the slot.
    pub fn get_i32(self) -> i32 {
        self.bits() as u32 as i32
    }

    /// The `i32` in the slot, unsigned.
    pub fn get_u32(self) -> u32 {
        self.bits() as u32
    }

    /// The `i64` in the slot.
    pub fn get_i64(self) -> i64 {
        self.bits() as u64 as i64
    }

    /// The `i64` in the slot, unsigned.
    pub fn get_u64(self) -> u64 {
        self.bits() as u64
    }

    /// The bits of the `f32` in the slot.
    pub fn get_f32(self) -> u32 {
        self.bits() as u32
    }

    /// The bits of the `f64` in the slot.
    pub fn get_f64(self) -> u64 {
        self.bits() as u64
    }

    /// The `v128` in the slot.
    pub fn get_v128(self) -> u128 {
        self.bits()
    }

    /// The `funcref` in the slot (see [`ValRaw::funcref`]).
    pub fn get_funcref(self) -> *mut std::ffi::c_void {
        // SAFETY: every slot has all 16 bytes initialised (see `to_bytes`),
        // and every bit pattern is a valid pointer value.
        unsafe { self.ptr.cast() }
    }
}

impl Default for ValRaw {
    fn default() -> Self {
        ValRaw { v128: [0; 16] }
    }
}

impl std::fmt::Debug for ValRaw {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // SAFETY: every bit pattern is a valid [u8; 16].
        write!(f, "ValRaw({:02x?})", unsafe { self.v128 })
    }
}

/// The `vmctx` of a host function's func-ref. Compiled code reads only
/// `magic` and `array_call`; the rest belongs to the runtime.
#[repr(C)]
pub struct VMHostFuncContext {
    /// [`tandem_environ::VMHOST_MAGIC`].
    pub magic: u32,
    /// The array-call entry the Wasm-to-array trampoline calls.
    pub array_call: ArrayCallFn,
    /// The func-ref describing this host function (`wasm_call` null).
    pub func_ref: VMFuncRef,
    /// The host's closure and its state.
    pub host_state: Box<dyn std::any::Any + Send + Sync>,
}

const _: () = {
    assert!(size_of::<VMStoreContext>() == VMOffsets::STORE_SIZE as usize);
    assert!(size_of::<VMFuncRef>() == VMOffsets::FUNC_REF_SIZE as usize);
    assert!(size_of::<VMTableDefinition>() == VMOffsets::TABLE_SIZE as usize);
    assert!(size_of::<VMMemoryDefinition>() == VMOffsets::MEMORY_SIZE as usize);
    assert!(size_of::<VMGlobalDefinition>() == VMOffsets::GLOBAL_SIZE as usize);
    assert!(size_of::<ValRaw>() == tandem_environ::VALRAW_SIZE as usize);
};

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::offset_of;

    #[test]
    fn layouts_match_vmoffsets() {
        type O = VMOffsets;
        let checks = [
            (
                offset_of!(VMStoreContext, stack_limit),
                O::STORE_STACK_LIMIT,
            ),
            (
                offset_of!(VMStoreContext, fuel_consumed),
                O::STORE_FUEL_CONSUMED,
            ),
            (
                offset_of!(VMStoreContext, epoch_deadline),
                O::STORE_EPOCH_DEADLINE,
            ),
            (
                offset_of!(VMStoreContext, last_wasm_exit_fp),
                O::STORE_LAST_WASM_EXIT_FP,
            ),
            (
                offset_of!(VMStoreContext, last_wasm_exit_pc),
                O::STORE_LAST_WASM_EXIT_PC,
            ),
            (
                offset_of!(VMStoreContext, last_wasm_entry_fp),
                O::STORE_LAST_WASM_ENTRY_FP,
            ),
            (offset_of!(VMFuncRef, array_call), O::FUNC_REF_ARRAY_CALL),
            (offset_of!(VMFuncRef, wasm_call), O::FUNC_REF_WASM_CALL),
            (offset_of!(VMFuncRef, type_index), O::FUNC_REF_TYPE_INDEX),
            (offset_of!(VMFuncRef, vmctx), O::FUNC_REF_VMCTX),
            (offset_of!(VMTableDefinition, base), O::TABLE_BASE),
            (
                offset_of!(VMTableDefinition, current_elements),
                O::TABLE_CURRENT_ELEMENTS,
            ),
            (offset_of!(VMMemoryDefinition, base), O::MEMORY_BASE),
            (
                offset_of!(VMMemoryDefinition, current_length),
                O::MEMORY_CURRENT_LENGTH,
            ),
            (offset_of!(VMHostFuncContext, magic), O::HOST_CTX_MAGIC),
            (
                offset_of!(VMHostFuncContext, array_call),
                O::HOST_CTX_ARRAY_CALL,
            ),
        ];
        for (i, (actual, expected)) in checks.into_iter().enumerate() {
            assert_eq!(actual, expected as usize, "field #{i}");
        }
    }
}
