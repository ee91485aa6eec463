//! [`VMOffsets`]: the byte layout of every run-time structure compiled code
//! touches. Backends compute addresses from it; `tandem-vm` defines
//! `#[repr(C)]` structs and checks them at compile time, field by field,
//! against the list the constants are generated from ([`foreach_vm_struct!`](crate::foreach_vm_struct)).
//!
//! ```text
//! VMContext (one per instance; the pointer compiled code receives)
//!   +0   magic: u32 (VMCONTEXT_MAGIC)
//!   +8   store_context: *mut VMStoreContext
//!   +16  builtins: *const [fn; Libcall::COUNT]
//!   +24  type_ids: *const u32               engine-wide id of each TypeIndex
//!   +32  epoch_counter: *const u64          the engine's epoch
//!   +40  instance: *mut ()                  the runtime's back pointer
//!   +48  imported tables:   *mut VMTableDefinition     x num_imported_tables
//!        imported memories: *mut VMMemoryDefinition    x num_imported_memories
//!        imported globals:  *mut VMGlobalDefinition    x num_imported_globals
//!        defined tables:    VMTableDefinition          x num_defined_tables
//!        defined memories:  VMMemoryDefinition         x num_defined_memories
//!        defined globals:   VMGlobalDefinition (16 B)  x num_defined_globals (16-aligned)
//!        func refs:         VMFuncRef (32 B)           x num_funcs (imports first)
//! ```
//!
//! Calls to any function, imported or defined, can go through its func-ref:
//! an import's func-ref is a copy of the one it was given, with `wasm_call`
//! filled in.

use crate::module::ModuleInfo;
use crate::types::*;

/// Size of one `ValRaw` slot in the array-call value buffer.
pub const VALRAW_SIZE: u32 = 16;

/// Pointer size on every target Tandem supports (x86-64).
pub const PTR: u32 = 8;

/// Magic number in the first word of a VMContext.
pub const VMCONTEXT_MAGIC: u32 = u32::from_le_bytes(*b"core");
/// Magic number in the first word of a host function's context.
pub const VMHOST_MAGIC: u32 = u32::from_le_bytes(*b"host");

/// The one list of the `#[repr(C)]` structures compiled code reads and
/// writes outside the VMContext: each field with the [`VMOffsets`] constant
/// naming its byte offset, and each structure's size constant (omitted where
/// the runtime owns a tail compiled code never sees).
///
/// Consumers: the constants of [`VMOffsets`] are generated from it, and
/// `tandem-vm` generates a compile-time check of its structs from it (every
/// field's offset and every size), so a row without its Rust field, or a
/// Rust field that moves another, fails to compile with a message naming
/// `Struct::field`.
///
/// Grammar, per structure: doc comments, then
/// `Name [size SIZE_CONST = bytes] { field: OFFSET_CONST = offset, ... }`,
/// each field with its doc comments.
#[macro_export]
macro_rules! foreach_vm_struct {
    ($m:ident) => {
        $m! {
            /// Per-store state shared by all its instances.
            VMStoreContext size STORE_SIZE = 48 {
                /// Lowest stack address Wasm may use; prologues trap below it.
                stack_limit: STORE_STACK_LIMIT = 0,
                /// Fuel consumed, as a negative count of what is left (trap at > 0).
                fuel_consumed: STORE_FUEL_CONSUMED = 8,
                /// Epoch value at which Wasm must call `new_epoch`.
                epoch_deadline: STORE_EPOCH_DEADLINE = 16,
                /// Frame pointer of the last Wasm frame that called out to the host.
                last_wasm_exit_fp: STORE_LAST_WASM_EXIT_FP = 24,
                /// Return address into Wasm of that exit.
                last_wasm_exit_pc: STORE_LAST_WASM_EXIT_PC = 32,
                /// Frame pointer of the array-to-Wasm trampoline that entered Wasm last.
                last_wasm_entry_fp: STORE_LAST_WASM_ENTRY_FP = 40,
            }
            /// A function reference.
            VMFuncRef size FUNC_REF_SIZE = 32 {
                /// `VMFuncRef::array_call`
                array_call: FUNC_REF_ARRAY_CALL = 0,
                /// `VMFuncRef::wasm_call` (null: a hole)
                wasm_call: FUNC_REF_WASM_CALL = 8,
                /// `VMFuncRef::type_index` (u32, engine-wide signature id)
                type_index: FUNC_REF_TYPE_INDEX = 16,
                /// `VMFuncRef::vmctx`
                vmctx: FUNC_REF_VMCTX = 24,
            }
            /// The `vmctx` of a host function's func-ref (its tail belongs to
            /// the runtime).
            VMHostFuncContext {
                /// `VMHostFuncContext::magic`
                magic: HOST_CTX_MAGIC = 0,
                /// `VMHostFuncContext::array_call`: what the Wasm-to-array trampoline calls.
                array_call: HOST_CTX_ARRAY_CALL = 8,
            }
            /// A table's storage.
            VMTableDefinition size TABLE_SIZE = 16 {
                /// `VMTableDefinition::base`: `*mut *mut u8`, one pointer per element.
                base: TABLE_BASE = 0,
                /// `VMTableDefinition::current_elements` (usize).
                current_elements: TABLE_CURRENT_ELEMENTS = 8,
            }
            /// A linear memory.
            VMMemoryDefinition size MEMORY_SIZE = 16 {
                /// `VMMemoryDefinition::base`
                base: MEMORY_BASE = 0,
                /// `VMMemoryDefinition::current_length` in bytes (usize).
                current_length: MEMORY_CURRENT_LENGTH = 8,
            }
            /// A global's 16-byte value.
            VMGlobalDefinition size GLOBAL_SIZE = 16 {}
        }
    };
}

/// Generates the [`VMOffsets`] constants of [`foreach_vm_struct!`].
macro_rules! define_struct_offsets {
    ($(
        $(#[$sdoc:meta])*
        $name:ident $(size $size:ident = $bytes:literal)? {
            $( $(#[$fdoc:meta])* $field:ident : $konst:ident = $offset:literal, )*
        }
    )*) => {
        impl VMOffsets {
            $(
                $( $(#[$fdoc])* pub const $konst: u32 = $offset; )*
                $(
                    #[doc = concat!("Size of `", stringify!($name), "`.")]
                    pub const $size: u32 = $bytes;
                )?
            )*
        }
    };
}

foreach_vm_struct!(define_struct_offsets);

/// Byte offsets of run-time structures for one module. The static parts are
/// associated constants; the module-dependent parts are methods.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VMOffsets {
    num_imported_tables: u32,
    num_imported_memories: u32,
    num_imported_globals: u32,
    num_defined_tables: u32,
    num_defined_memories: u32,
    num_defined_globals: u32,
    num_funcs: u32,
    imported_tables: u32,
    imported_memories: u32,
    imported_globals: u32,
    defined_tables: u32,
    defined_memories: u32,
    defined_globals: u32,
    func_refs: u32,
    size: u32,
}

impl VMOffsets {
    // VMContext header.
    /// `VMContext::magic`
    pub const VMCTX_MAGIC: u32 = 0;
    /// `VMContext::store_context`
    pub const VMCTX_STORE_CONTEXT: u32 = 8;
    /// `VMContext::builtins`
    pub const VMCTX_BUILTINS: u32 = 16;
    /// `VMContext::type_ids`
    pub const VMCTX_TYPE_IDS: u32 = 24;
    /// `VMContext::epoch_counter`
    pub const VMCTX_EPOCH_COUNTER: u32 = 32;
    /// `VMContext::instance`
    pub const VMCTX_INSTANCE: u32 = 40;
    /// Size of the fixed header.
    pub const VMCTX_HEADER_SIZE: u32 = 48;

    /// Size of one table element (a pointer, for funcref and externref).
    pub const TABLE_ELEMENT_SIZE: u32 = PTR;

    /// Computes the layout for `module`.
    pub fn new(module: &ModuleInfo) -> Self {
        let n = |x: usize| u32::try_from(x).expect("count fits u32 after validation");
        let mut o = VMOffsets {
            num_imported_tables: module.num_imported_tables,
            num_imported_memories: module.num_imported_memories,
            num_imported_globals: module.num_imported_globals,
            num_defined_tables: n(module.num_defined_tables()),
            num_defined_memories: n(module.num_defined_memories()),
            num_defined_globals: n(module.num_defined_globals()),
            num_funcs: n(module.functions.len()),
            imported_tables: 0,
            imported_memories: 0,
            imported_globals: 0,
            defined_tables: 0,
            defined_memories: 0,
            defined_globals: 0,
            func_refs: 0,
            size: 0,
        };
        let mut at = Self::VMCTX_HEADER_SIZE;
        let mut field = |count: u32, size: u32, align: u32| {
            at = at.next_multiple_of(align);
            let start = at;
            at += count * size;
            start
        };
        o.imported_tables = field(o.num_imported_tables, PTR, PTR);
        o.imported_memories = field(o.num_imported_memories, PTR, PTR);
        o.imported_globals = field(o.num_imported_globals, PTR, PTR);
        o.defined_tables = field(o.num_defined_tables, Self::TABLE_SIZE, PTR);
        o.defined_memories = field(o.num_defined_memories, Self::MEMORY_SIZE, PTR);
        o.defined_globals = field(o.num_defined_globals, Self::GLOBAL_SIZE, 16);
        o.func_refs = field(o.num_funcs, Self::FUNC_REF_SIZE, 16);
        o.size = field(0, 0, 16);
        o
    }

    /// Total size of the VMContext in bytes.
    pub fn size(&self) -> u32 {
        self.size
    }

    /// Offset of the pointer to imported table `index`'s definition.
    pub fn imported_table(&self, index: TableIndex) -> u32 {
        debug_assert!(index.as_u32() < self.num_imported_tables);
        self.imported_tables + index.as_u32() * PTR
    }

    /// Offset of imported memory `index`'s definition pointer.
    pub fn imported_memory(&self, index: MemoryIndex) -> u32 {
        debug_assert!(index.as_u32() < self.num_imported_memories);
        self.imported_memories + index.as_u32() * PTR
    }

    /// Offset of imported global `index`'s definition pointer.
    pub fn imported_global(&self, index: GlobalIndex) -> u32 {
        debug_assert!(index.as_u32() < self.num_imported_globals);
        self.imported_globals + index.as_u32() * PTR
    }

    /// Offset of defined table `index`'s `VMTableDefinition`.
    pub fn defined_table(&self, index: DefinedTableIndex) -> u32 {
        debug_assert!(index.as_u32() < self.num_defined_tables);
        self.defined_tables + index.as_u32() * Self::TABLE_SIZE
    }

    /// Offset of defined memory `index`'s `VMMemoryDefinition`.
    pub fn defined_memory(&self, index: DefinedMemoryIndex) -> u32 {
        debug_assert!(index.as_u32() < self.num_defined_memories);
        self.defined_memories + index.as_u32() * Self::MEMORY_SIZE
    }

    /// Offset of defined global `index`'s value.
    pub fn defined_global(&self, index: DefinedGlobalIndex) -> u32 {
        debug_assert!(index.as_u32() < self.num_defined_globals);
        self.defined_globals + index.as_u32() * Self::GLOBAL_SIZE
    }

    /// Offset of function `index`'s `VMFuncRef`.
    pub fn func_ref(&self, index: FuncIndex) -> u32 {
        debug_assert!(index.as_u32() < self.num_funcs);
        self.func_refs + index.as_u32() * Self::FUNC_REF_SIZE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_do_not_overlap() {
        let mut m = ModuleInfo::default();
        m.tables.push(TableType {
            element: RefType::Func,
            minimum: 0,
            maximum: None,
        });
        m.num_imported_tables = 1;
        m.memories.push(MemoryType {
            minimum: 1,
            maximum: None,
            memory64: false,
            shared: false,
        });
        m.globals.push(GlobalType {
            content: ValType::I32,
            mutable: true,
        });
        m.functions = vec![TypeIndex::from_u32(0); 3];
        let o = VMOffsets::new(&m);
        assert_eq!(o.imported_table(TableIndex::from_u32(0)), 48);
        assert_eq!(o.defined_memory(DefinedMemoryIndex::from_u32(0)), 56);
        assert_eq!(o.defined_global(DefinedGlobalIndex::from_u32(0)), 80);
        assert_eq!(o.func_ref(FuncIndex::from_u32(0)), 96);
        assert_eq!(o.size(), 96 + 3 * 32);
    }
}
