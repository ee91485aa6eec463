//! Index newtypes, one per index space, and the value and entity types of a
//! module. Index spaces never mix: converting between e.g. a [`FuncIndex`] and
//! a [`DefinedFuncIndex`] goes through [`crate::ModuleInfo`].

macro_rules! index_types {
    ($($(#[$doc:meta])* $name:ident;)*) => {$(
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
        #[derive(serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        #[repr(transparent)]
        pub struct $name(u32);

        impl $name {
            /// Wraps a raw index.
            #[inline]
            pub const fn from_u32(index: u32) -> Self { Self(index) }
            /// The raw index.
            #[inline]
            pub const fn as_u32(self) -> u32 { self.0 }
            /// The raw index as a `usize`, for indexing slices.
            #[inline]
            pub const fn index(self) -> usize { self.0 as usize }
            /// Wraps a `usize` position; panics past `u32::MAX`, which
            /// validation rules out for every index space.
            #[inline]
            pub fn new(index: usize) -> Self {
                Self(u32::try_from(index).expect("index exceeds u32"))
            }
        }
    )*};
}

index_types! {
    /// A function in the module's function index space (imports first).
    FuncIndex;
    /// A function defined (not imported) by the module.
    DefinedFuncIndex;
    /// An entry in the module's type section.
    TypeIndex;
    /// A table in the module's table index space (imports first).
    TableIndex;
    /// A table defined by the module.
    DefinedTableIndex;
    /// A memory in the module's memory index space (imports first).
    MemoryIndex;
    /// A memory defined by the module.
    DefinedMemoryIndex;
    /// A global in the module's global index space (imports first).
    GlobalIndex;
    /// A global defined by the module.
    DefinedGlobalIndex;
    /// An element segment.
    ElemIndex;
    /// A data segment.
    DataIndex;
}

/// A reference type (Wasm 2.0: nullable funcref and externref).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum RefType {
    /// `funcref`: a pointer to a `VMFuncRef`, or null.
    Func,
    /// `externref`: a pointer to a host value, or null.
    Extern,
}

/// A WebAssembly value type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum ValType {
    /// 32-bit integer.
    I32,
    /// 64-bit integer.
    I64,
    /// 32-bit float.
    F32,
    /// 64-bit float.
    F64,
    /// 128-bit vector.
    V128,
    /// A reference, pointer-sized in compiled code.
    Ref(RefType),
}

impl ValType {
    /// `funcref`, as wasmtime spells it.
    ///
    /// ```
    /// use tandem_environ::{RefType, ValType};
    /// assert_eq!(ValType::FUNCREF, ValType::Ref(RefType::Func));
    /// assert_eq!(ValType::EXTERNREF.to_string(), "externref");
    /// ```
    pub const FUNCREF: ValType = ValType::Ref(RefType::Func);
    /// `externref`, as wasmtime spells it (see [`ValType::FUNCREF`]).
    pub const EXTERNREF: ValType = ValType::Ref(RefType::Extern);

    /// Whether this is a reference type.
    ///
    /// ```
    /// use tandem_environ::ValType;
    /// assert!(ValType::FUNCREF.is_ref() && !ValType::I32.is_ref());
    /// ```
    pub fn is_ref(self) -> bool {
        matches!(self, ValType::Ref(_))
    }

    /// Size in bytes of the value in compiled code (references are pointers).
    pub fn byte_size(self) -> u32 {
        match self {
            ValType::I32 | ValType::F32 => 4,
            ValType::I64 | ValType::F64 | ValType::Ref(_) => 8,
            ValType::V128 => 16,
        }
    }

    /// Whether the value lives in an integer register.
    pub fn is_int_class(self) -> bool {
        matches!(self, ValType::I32 | ValType::I64 | ValType::Ref(_))
    }

    pub(crate) fn from_wasmparser(ty: wasmparser::ValType, offset: u64) -> crate::Result<Self> {
        Ok(match ty {
            wasmparser::ValType::I32 => ValType::I32,
            wasmparser::ValType::I64 => ValType::I64,
            wasmparser::ValType::F32 => ValType::F32,
            wasmparser::ValType::F64 => ValType::F64,
            wasmparser::ValType::V128 => ValType::V128,
            wasmparser::ValType::Ref(r) => ValType::Ref(RefType::from_wasmparser(r, offset)?),
        })
    }
}

impl RefType {
    /// `funcref`, as wasmtime spells it.
    ///
    /// ```
    /// use tandem_environ::RefType;
    /// assert_eq!(RefType::FUNCREF, RefType::Func);
    /// assert_eq!(RefType::EXTERNREF, RefType::Extern);
    /// ```
    pub const FUNCREF: RefType = RefType::Func;
    /// `externref`, as wasmtime spells it (see [`RefType::FUNCREF`]).
    pub const EXTERNREF: RefType = RefType::Extern;

    pub(crate) fn from_wasmparser(ty: wasmparser::RefType, offset: u64) -> crate::Result<Self> {
        if ty == wasmparser::RefType::FUNCREF {
            Ok(RefType::Func)
        } else if ty == wasmparser::RefType::EXTERNREF {
            Ok(RefType::Extern)
        } else {
            Err(crate::EnvironError::unsupported(
                offset,
                format!("reference type {ty} is not supported yet"),
            ))
        }
    }
}

impl std::fmt::Display for ValType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ValType::I32 => "i32",
            ValType::I64 => "i64",
            ValType::F32 => "f32",
            ValType::F64 => "f64",
            ValType::V128 => "v128",
            ValType::Ref(RefType::Func) => "funcref",
            ValType::Ref(RefType::Extern) => "externref",
        })
    }
}

/// A function signature.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize)]
pub struct FuncType {
    /// Parameter types.
    pub params: Box<[ValType]>,
    /// Result types.
    pub results: Box<[ValType]>,
}

impl FuncType {
    /// Builds a signature.
    pub fn new(
        params: impl IntoIterator<Item = ValType>,
        results: impl IntoIterator<Item = ValType>,
    ) -> Self {
        FuncType {
            params: params.into_iter().collect(),
            results: results.into_iter().collect(),
        }
    }
}

impl std::fmt::Display for FuncType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let list = |tys: &[ValType]| {
            tys.iter()
                .map(|t| t.to_string())
                .collect::<Vec<_>>()
                .join(" ")
        };
        write!(
            f,
            "(func (param {}) (result {}))",
            list(&self.params),
            list(&self.results)
        )
    }
}

/// A table's type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TableType {
    /// Element type.
    pub element: RefType,
    /// Initial number of elements.
    pub minimum: u64,
    /// Maximum number of elements, if bounded.
    pub maximum: Option<u64>,
}

/// A linear memory's type, in 64 KiB pages.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MemoryType {
    /// Initial size in pages.
    pub minimum: u64,
    /// Maximum size in pages, if bounded.
    pub maximum: Option<u64>,
    /// Indexed with i64 (memory64).
    pub memory64: bool,
    /// Shared between threads.
    pub shared: bool,
}

impl TableType {
    /// A table of `element`s with at least `minimum` and at most `maximum`
    /// elements (wasmtime's constructor).
    ///
    /// ```
    /// use tandem_environ::{RefType, TableType};
    /// let ty = TableType::new(RefType::FUNCREF, 1, Some(10));
    /// assert_eq!((*ty.element(), ty.minimum(), ty.maximum()), (RefType::Func, 1, Some(10)));
    /// ```
    pub fn new(element: RefType, minimum: u32, maximum: Option<u32>) -> TableType {
        TableType {
            element,
            minimum: minimum.into(),
            maximum: maximum.map(u64::from),
        }
    }

    /// The element type.
    pub fn element(&self) -> &RefType {
        &self.element
    }

    /// The minimum (for a live table: current) number of elements.
    pub fn minimum(&self) -> u64 {
        self.minimum
    }

    /// The maximum number of elements, if bounded.
    pub fn maximum(&self) -> Option<u64> {
        self.maximum
    }
}

impl MemoryType {
    /// A 32-bit, unshared memory of at least `minimum` and at most `maximum`
    /// 64 KiB pages (wasmtime's constructor).
    ///
    /// ```
    /// use tandem_environ::MemoryType;
    /// let ty = MemoryType::new(1, Some(2));
    /// assert_eq!((ty.minimum(), ty.maximum(), ty.is_64(), ty.is_shared()), (1, Some(2), false, false));
    /// ```
    pub fn new(minimum: u32, maximum: Option<u32>) -> MemoryType {
        MemoryType {
            minimum: minimum.into(),
            maximum: maximum.map(u64::from),
            memory64: false,
            shared: false,
        }
    }

    /// A memory64 memory (indexed with i64) of at least `minimum` and at
    /// most `maximum` pages.
    ///
    /// ```
    /// use tandem_environ::MemoryType;
    /// assert!(MemoryType::new64(1, None).is_64());
    /// ```
    pub fn new64(minimum: u64, maximum: Option<u64>) -> MemoryType {
        MemoryType {
            minimum,
            maximum,
            memory64: true,
            shared: false,
        }
    }

    /// The minimum (for a live memory: current) size in pages.
    pub fn minimum(&self) -> u64 {
        self.minimum
    }

    /// The maximum size in pages, if bounded.
    pub fn maximum(&self) -> Option<u64> {
        self.maximum
    }

    /// Whether the memory is indexed with i64 (memory64).
    pub fn is_64(&self) -> bool {
        self.memory64
    }

    /// Whether the memory is shared between threads.
    pub fn is_shared(&self) -> bool {
        self.shared
    }
}

/// Whether a global can change.
///
/// ```
/// use tandem_environ::{GlobalType, Mutability, ValType};
/// let ty = GlobalType::new(ValType::I32, Mutability::Var);
/// assert!(ty.mutable && ty.mutability() == Mutability::Var);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Mutability {
    /// Immutable.
    Const,
    /// `global.set` may change it.
    Var,
}

/// A global's type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct GlobalType {
    /// The value type.
    pub content: ValType,
    /// Whether `global.set` may change it.
    pub mutable: bool,
}

impl GlobalType {
    /// A global holding `content` (wasmtime's constructor).
    ///
    /// ```
    /// use tandem_environ::{GlobalType, Mutability, ValType};
    /// let ty = GlobalType::new(ValType::F64, Mutability::Const);
    /// assert_eq!((*ty.content(), ty.mutability()), (ValType::F64, Mutability::Const));
    /// ```
    pub fn new(content: ValType, mutability: Mutability) -> GlobalType {
        GlobalType {
            content,
            mutable: mutability == Mutability::Var,
        }
    }

    /// The value type.
    pub fn content(&self) -> &ValType {
        &self.content
    }

    /// Whether the global can change.
    pub fn mutability(&self) -> Mutability {
        if self.mutable {
            Mutability::Var
        } else {
            Mutability::Const
        }
    }
}

/// An entity of any index space, as named by imports and exports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum EntityIndex {
    /// A function.
    Func(FuncIndex),
    /// A table.
    Table(TableIndex),
    /// A memory.
    Memory(MemoryIndex),
    /// A global.
    Global(GlobalIndex),
}
