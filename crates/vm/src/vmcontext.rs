//! The `#[repr(C)]` structures compiled code reads and writes, laid out as
//! [`tandem_environ::VMOffsets`] says (checked at compile time, every field,
//! from [`tandem_environ::foreach_vm_struct!`]).

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
///
/// The fields are private so that every `ValRaw` starts with all 16 bytes
/// initialised (each constructor zero-fills what its value does not cover)
/// and every getter may read any of them: compiled code and host functions
/// then overwrite values in place through raw pointers, which never
/// de-initialises a byte.
///
/// ```compile_fail
/// // A bare union literal would leave bytes 8..16 uninitialised.
/// let raw = tandem_vm::ValRaw { ptr: std::ptr::null_mut() };
/// ```
#[repr(C, align(16))]
#[derive(Clone, Copy)]
pub union ValRaw {
    i32: i32,
    i64: i64,
    f32: u32,
    f64: u64,
    v128: [u8; 16],
    ptr: *mut u8,
}

impl ValRaw {
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

    /// A reference (func-ref or externref pointer, null for null), its
    /// upper bytes zero.
    pub fn ptr(p: *mut u8) -> ValRaw {
        let mut raw = ValRaw::default();
        raw.ptr = p;
        raw
    }

    /// The slot's 16 bytes.
    pub fn to_bytes(self) -> [u8; 16] {
        // SAFETY: all 16 bytes are initialised (see the type's docs), and
        // every bit pattern is a valid byte array.
        unsafe { self.v128 }
    }

    /// The low 8 bytes as a reference pointer (whether it points anywhere
    /// is for the caller to know).
    pub fn get_ptr(self) -> *mut u8 {
        // SAFETY: initialised bytes; any address is a valid raw pointer.
        unsafe { self.ptr }
    }
}

impl Default for ValRaw {
    fn default() -> Self {
        ValRaw { v128: [0; 16] }
    }
}

impl std::fmt::Debug for ValRaw {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ValRaw({:02x?})", self.to_bytes())
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

/// Checks, at compile time, every structure of
/// [`tandem_environ::foreach_vm_struct!`] against the Rust definition here:
/// each field's offset and each size. A mismatch fails the build with a
/// message naming `Struct::field`.
macro_rules! check_layouts {
    ($(
        $(#[$sdoc:meta])*
        $name:ident $(size $size:ident = $bytes:literal)? {
            $( $(#[$fdoc:meta])* $field:ident : $konst:ident = $offset:literal, )*
        }
    )*) => {
        const _: () = {
            $(
                $(
                    assert!(
                        std::mem::offset_of!($name, $field) == VMOffsets::$konst as usize,
                        concat!(
                            "`", stringify!($name), "::", stringify!($field),
                            "` is not where `VMOffsets::", stringify!($konst), "` says",
                        ),
                    );
                )*
                $(
                    assert!(
                        size_of::<$name>() == VMOffsets::$size as usize,
                        concat!(
                            "the size of `", stringify!($name),
                            "` is not `VMOffsets::", stringify!($size), "`",
                        ),
                    );
                )?
            )*
        };
    };
}

tandem_environ::foreach_vm_struct!(check_layouts);

const _: () = assert!(size_of::<ValRaw>() == tandem_environ::VALRAW_SIZE as usize);

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Every constructor writes all 16 bytes (the value zero-extended),
        /// and its getter reads the value back.
        #[test]
        fn val_raw_constructors_fill_the_slot(v: i64) {
            let low = |bits: u64| {
                let mut b = [0u8; 16];
                b[..8].copy_from_slice(&bits.to_le_bytes());
                b
            };
            let (v32, v64) = (v as i32, v as u64);
            prop_assert_eq!(ValRaw::i32(v32).to_bytes(), low(u64::from(v32 as u32)));
            prop_assert_eq!(ValRaw::i64(v).to_bytes(), low(v64));
            prop_assert_eq!(ValRaw::f32(v32 as u32).to_bytes(), low(u64::from(v32 as u32)));
            prop_assert_eq!(ValRaw::f64(v64).to_bytes(), low(v64));
            let p = v64 as usize as *mut u8;
            prop_assert_eq!(ValRaw::ptr(p).to_bytes(), low(v64));
            prop_assert_eq!(ValRaw::i32(v32).get_i32(), v32);
            prop_assert_eq!(ValRaw::i64(v).get_i64(), v);
            prop_assert_eq!(ValRaw::f32(v32 as u32).get_f32(), v32 as u32);
            prop_assert_eq!(ValRaw::f64(v64).get_f64(), v64);
            prop_assert_eq!(ValRaw::ptr(p).get_ptr(), p);
            let bytes = u128::from(v64).wrapping_mul(0x9e37_79b9_7f4a_7c15).to_le_bytes();
            prop_assert_eq!(ValRaw::from_bytes(bytes).to_bytes(), bytes);
        }
    }
}
