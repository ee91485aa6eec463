//! The one list of runtime library calls ("libcalls"): functions compiled
//! code calls into the runtime for work too large or too rare to inline.
//!
//! [`foreach_libcall!`](crate::foreach_libcall) is the single source of truth. Its consumers:
//! [`Libcall`] and its signatures here, the `extern "C"` shims and the
//! address table in `tandem-vm`, the Wasm-to-libcall trampolines in each
//! backend. Adding a row without implementing it in `vm` fails to compile.
//!
//! Grammar: `name(param: type, ...) -> type;` with types from
//! `vmctx` (the caller's `*mut VMContext`), `ptr`, `i32`, `i64`, `f32`, `f64`.
//! A libcall either returns normally or raises a trap (it never returns then).
//! Memory addresses and lengths are `i64` so memory64 needs no new rows.

/// Invokes `$mac!` with the list of libcalls. See the module docs.
#[macro_export]
macro_rules! foreach_libcall {
    ($mac:ident) => {
        $mac! {
            /// `memory.grow`: returns the old size in pages, or -1.
            memory_grow(vmctx: vmctx, memory: i32, delta: i64) -> i64;
            /// `memory.fill`.
            memory_fill(vmctx: vmctx, memory: i32, dst: i64, value: i32, len: i64);
            /// `memory.copy`.
            memory_copy(vmctx: vmctx, dst_memory: i32, dst: i64, src_memory: i32, src: i64, len: i64);
            /// `memory.init`.
            memory_init(vmctx: vmctx, memory: i32, data: i32, dst: i64, src: i32, len: i32);
            /// `data.drop`.
            data_drop(vmctx: vmctx, data: i32);
            /// `table.grow`: returns the old size, or -1.
            table_grow(vmctx: vmctx, table: i32, delta: i32, init: ptr) -> i32;
            /// `table.fill`.
            table_fill(vmctx: vmctx, table: i32, dst: i32, value: ptr, len: i32);
            /// `table.copy`.
            table_copy(vmctx: vmctx, dst_table: i32, src_table: i32, dst: i32, src: i32, len: i32);
            /// `table.init`.
            table_init(vmctx: vmctx, table: i32, elem: i32, dst: i32, src: i32, len: i32);
            /// `elem.drop`.
            elem_drop(vmctx: vmctx, elem: i32);
            /// Fuel ran out: refuel from the store or trap with `OutOfFuel`.
            out_of_fuel(vmctx: vmctx);
            /// The epoch deadline passed: returns the new deadline or traps.
            new_epoch(vmctx: vmctx) -> i64;
            /// Raises the given trap code. Used by code that detects a trap
            /// condition without a faulting instruction.
            raise_trap(vmctx: vmctx, code: i32);
        }
    };
}

/// The type of a libcall parameter or result.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LibcallType {
    /// The calling function's `*mut VMContext`.
    VMContext,
    /// A pointer.
    Pointer,
    /// 32-bit integer.
    I32,
    /// 64-bit integer.
    I64,
    /// 32-bit float.
    F32,
    /// 64-bit float.
    F64,
}

/// A libcall's signature.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LibcallSignature {
    /// Parameter types, `VMContext` first.
    pub params: &'static [LibcallType],
    /// Result type, if any.
    pub result: Option<LibcallType>,
}

#[doc(hidden)]
#[macro_export]
macro_rules! __libcall_type {
    (vmctx) => {
        $crate::LibcallType::VMContext
    };
    (ptr) => {
        $crate::LibcallType::Pointer
    };
    (i32) => {
        $crate::LibcallType::I32
    };
    (i64) => {
        $crate::LibcallType::I64
    };
    (f32) => {
        $crate::LibcallType::F32
    };
    (f64) => {
        $crate::LibcallType::F64
    };
}

macro_rules! define_libcall_enum {
    ($($(#[$doc:meta])* $name:ident($($pname:ident: $pty:ident),*) $(-> $rty:ident)?;)*) => {
        /// A runtime library call; its number is its slot in the address
        /// table every VMContext points to.
        #[allow(non_camel_case_types)]
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        #[repr(u32)]
        pub enum Libcall {
            $($(#[$doc])* $name,)*
        }

        impl Libcall {
            /// Every libcall, in table order.
            pub const ALL: &'static [Libcall] = &[$(Libcall::$name,)*];

            /// The libcall's name.
            pub fn name(self) -> &'static str {
                match self {
                    $(Libcall::$name => stringify!($name),)*
                }
            }

            /// The libcall's signature.
            pub fn signature(self) -> LibcallSignature {
                match self {
                    $(Libcall::$name => LibcallSignature {
                        params: &[$($crate::__libcall_type!($pty)),*],
                        result: define_libcall_enum!(@result $($rty)?),
                    },)*
                }
            }
        }
    };
    (@result) => { None };
    (@result $rty:ident) => { Some($crate::__libcall_type!($rty)) };
}

foreach_libcall!(define_libcall_enum);

impl Libcall {
    /// Number of libcalls (size of the address table).
    pub const COUNT: usize = Libcall::ALL.len();

    /// The slot of this libcall in the address table.
    pub fn index(self) -> usize {
        self as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_libcall_takes_vmctx_first() {
        for &l in Libcall::ALL {
            assert_eq!(
                l.signature().params[0],
                LibcallType::VMContext,
                "{}",
                l.name()
            );
            assert_eq!(Libcall::ALL[l.index()], l);
        }
    }
}
