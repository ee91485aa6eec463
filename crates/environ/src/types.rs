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
    /// A type's engine-wide canonical id: equal (iso-recursively
    /// equivalent) types of any modules of one engine share it. Func-refs
    /// carry it, and `call_indirect` compares it.
    SharedTypeIndex;
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

/// What a reference points to.
///
/// Module code names concrete types by their [`TypeIndex`]; outside any
/// module (the embedding API, the engine's type registry) they are named by
/// their engine-wide [`SharedTypeIndex`]. Until Wasm GC, every concrete type
/// is a function type, so a concrete heap type sits below [`HeapType::Func`]
/// and above [`HeapType::NoFunc`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum HeapType {
    /// `func`: any function.
    Func,
    /// `extern`: any host value.
    Extern,
    /// `nofunc`: no function (only null has this type).
    NoFunc,
    /// `noextern`: no host value (only null has this type).
    NoExtern,
    /// A type of the module's type section: `(ref $t)`.
    Concrete(TypeIndex),
    /// A type registered in an engine, by its engine-wide id. Never in a
    /// `ModuleInfo`, so never serialized with one (reading it back is an
    /// error).
    #[serde(skip)]
    Registered(SharedTypeIndex),
}

impl HeapType {
    /// Whether this heap type belongs to the function hierarchy (`func`,
    /// `nofunc` and every concrete type); else it is the extern hierarchy.
    pub fn is_func(self) -> bool {
        !matches!(self, HeapType::Extern | HeapType::NoExtern)
    }

    /// Whether a reference of type `self` is also of type `other` (both in
    /// the same index space). Pairs with a concrete type are decided by
    /// `concrete`, which knows what each concrete type is (a function type
    /// sits between `nofunc` and `func`, a struct or array type elsewhere).
    ///
    /// ```
    /// use tandem_environ::{HeapType, TypeIndex};
    /// let t = HeapType::Concrete(TypeIndex::from_u32(0));
    /// // Type 0 is a function type with no declared supertype.
    /// let functions = |a: HeapType, b: HeapType| {
    ///     a == b || a == HeapType::NoFunc || b == HeapType::Func
    /// };
    /// assert!(t.is_subtype_of(HeapType::Func, functions));
    /// assert!(HeapType::NoFunc.is_subtype_of(t, functions));
    /// assert!(!HeapType::Func.is_subtype_of(t, functions));
    /// assert!(!HeapType::Extern.is_subtype_of(HeapType::Func, functions));
    /// assert!(HeapType::NoExtern.is_subtype_of(HeapType::Extern, functions));
    /// ```
    pub fn is_subtype_of(
        self,
        other: HeapType,
        concrete: impl Fn(HeapType, HeapType) -> bool,
    ) -> bool {
        use HeapType::*;
        match (self, other) {
            (a, b) if a == b => true,
            (Concrete(_) | Registered(_), _) | (_, Concrete(_) | Registered(_)) => {
                concrete(self, other)
            }
            (NoFunc, Func) | (NoExtern, Extern) => true,
            _ => false,
        }
    }

    /// The same heap type with every concrete index replaced by `f`'s.
    pub fn map_concrete(self, f: &mut impl FnMut(TypeIndex) -> HeapType) -> HeapType {
        match self {
            HeapType::Concrete(t) => f(t),
            other => other,
        }
    }
}

/// A reference type: nullable or not, to a [`HeapType`].
///
/// ```
/// use tandem_environ::{HeapType, RefType, TypeIndex, ValType};
/// assert_eq!(ValType::FUNCREF.to_string(), "funcref");
/// let t = RefType::new(false, HeapType::Concrete(TypeIndex::from_u32(3)));
/// assert_eq!(ValType::Ref(t).to_string(), "(ref 3)");
/// assert!(!t.is_nullable() && t.heap_type() == HeapType::Concrete(TypeIndex::from_u32(3)));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct RefType {
    /// Whether null is a value of this type.
    pub nullable: bool,
    /// What a non-null value points to.
    pub heap: HeapType,
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
    /// assert_eq!(ValType::FUNCREF, ValType::Ref(RefType::FUNCREF));
    /// assert_eq!(ValType::EXTERNREF.to_string(), "externref");
    /// ```
    pub const FUNCREF: ValType = ValType::Ref(RefType::FUNCREF);
    /// `externref`, as wasmtime spells it (see [`ValType::FUNCREF`]).
    pub const EXTERNREF: ValType = ValType::Ref(RefType::EXTERNREF);

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

    /// Whether a value of type `self` is also of type `other` (both in the
    /// same index space), deciding concrete heap-type pairs with `concrete`.
    ///
    /// ```
    /// use tandem_environ::{HeapType, RefType, ValType};
    /// let nofunc = ValType::Ref(RefType::new(true, HeapType::NoFunc));
    /// assert!(nofunc.is_subtype_of(ValType::FUNCREF, |a, b| a == b));
    /// assert!(!ValType::FUNCREF.is_subtype_of(nofunc, |a, b| a == b));
    /// assert!(!ValType::I32.is_subtype_of(ValType::I64, |a, b| a == b));
    /// ```
    pub fn is_subtype_of(
        self,
        other: ValType,
        concrete: impl Fn(HeapType, HeapType) -> bool,
    ) -> bool {
        match (self, other) {
            (ValType::Ref(a), ValType::Ref(b)) => a.is_subtype_of(b, concrete),
            (a, b) => a == b,
        }
    }

    /// The same type with every concrete index replaced by `f`'s.
    pub fn map_concrete(self, f: &mut impl FnMut(TypeIndex) -> HeapType) -> ValType {
        match self {
            ValType::Ref(r) => ValType::Ref(RefType {
                nullable: r.nullable,
                heap: r.heap.map_concrete(f),
            }),
            other => other,
        }
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
    /// `funcref`: a nullable reference to any function.
    ///
    /// ```
    /// use tandem_environ::{HeapType, RefType};
    /// assert_eq!(RefType::FUNCREF, RefType::new(true, HeapType::Func));
    /// assert_eq!(RefType::EXTERNREF.heap_type(), HeapType::Extern);
    /// ```
    pub const FUNCREF: RefType = RefType {
        nullable: true,
        heap: HeapType::Func,
    };
    /// `externref`: a nullable reference to any host value.
    pub const EXTERNREF: RefType = RefType {
        nullable: true,
        heap: HeapType::Extern,
    };

    /// A reference to `heap`, nullable or not (wasmtime's constructor).
    pub const fn new(nullable: bool, heap: HeapType) -> RefType {
        RefType { nullable, heap }
    }

    /// Whether null is a value of this type.
    pub fn is_nullable(&self) -> bool {
        self.nullable
    }

    /// What a non-null value points to.
    pub fn heap_type(&self) -> HeapType {
        self.heap
    }

    /// Whether a reference of type `self` is also of type `other` (see
    /// [`ValType::is_subtype_of`]).
    pub fn is_subtype_of(
        self,
        other: RefType,
        concrete: impl Fn(HeapType, HeapType) -> bool,
    ) -> bool {
        (other.nullable || !self.nullable) && self.heap.is_subtype_of(other.heap, concrete)
    }

    pub(crate) fn from_wasmparser(ty: wasmparser::RefType, offset: u64) -> crate::Result<Self> {
        Ok(RefType {
            nullable: ty.is_nullable(),
            heap: heap_type_from_wasmparser(ty.heap_type(), offset)?,
        })
    }
}

/// Tandem's [`HeapType`] for wasmparser's, as read from a module (concrete
/// types by module index); GC and exception heap types are not supported.
pub(crate) fn heap_type_from_wasmparser(
    ty: wasmparser::HeapType,
    offset: u64,
) -> crate::Result<HeapType> {
    use wasmparser::AbstractHeapType as A;
    Ok(match ty {
        wasmparser::HeapType::Abstract { shared: false, ty } => match ty {
            A::Func => HeapType::Func,
            A::Extern => HeapType::Extern,
            A::NoFunc => HeapType::NoFunc,
            A::NoExtern => HeapType::NoExtern,
            other => {
                return Err(crate::EnvironError::unsupported(
                    offset,
                    format!("heap type {other:?} (Wasm GC or exceptions) is not supported yet"),
                ));
            }
        },
        wasmparser::HeapType::Concrete(wasmparser::UnpackedIndex::Module(i)) => {
            HeapType::Concrete(TypeIndex::from_u32(i))
        }
        other => {
            return Err(crate::EnvironError::unsupported(
                offset,
                format!("heap type {other:?} is not supported yet"),
            ));
        }
    })
}

impl std::fmt::Display for HeapType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HeapType::Func => f.write_str("func"),
            HeapType::Extern => f.write_str("extern"),
            HeapType::NoFunc => f.write_str("nofunc"),
            HeapType::NoExtern => f.write_str("noextern"),
            HeapType::Concrete(t) => write!(f, "{}", t.as_u32()),
            HeapType::Registered(t) => write!(f, "<type #{}>", t.as_u32()),
        }
    }
}

impl std::fmt::Display for RefType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.nullable, self.heap) {
            (true, HeapType::Func) => f.write_str("funcref"),
            (true, HeapType::Extern) => f.write_str("externref"),
            (true, HeapType::NoFunc) => f.write_str("nullfuncref"),
            (true, HeapType::NoExtern) => f.write_str("nullexternref"),
            (true, heap) => write!(f, "(ref null {heap})"),
            (false, heap) => write!(f, "(ref {heap})"),
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
            ValType::Ref(r) => return r.fmt(f),
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

    /// The same signature with every concrete type index replaced by `f`'s
    /// (how a module's signature is named outside the module).
    pub fn map_concrete(&self, mut f: impl FnMut(TypeIndex) -> HeapType) -> FuncType {
        FuncType {
            params: self.params.iter().map(|t| t.map_concrete(&mut f)).collect(),
            results: self
                .results
                .iter()
                .map(|t| t.map_concrete(&mut f))
                .collect(),
        }
    }

    /// Whether any parameter or result names a concrete type.
    pub fn has_concrete_refs(&self) -> bool {
        self.params.iter().chain(self.results.iter()).any(|t| {
            matches!(
                t,
                ValType::Ref(RefType {
                    heap: HeapType::Concrete(_) | HeapType::Registered(_),
                    ..
                })
            )
        })
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

/// What a type of the type section is beyond a function's signature:
/// whether it may have subtypes, and its kind. Wasm GC adds struct and
/// array types; Tandem knows them as types (they take part in type
/// identity) but compiles none of their instructions yet.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct TypeDef {
    /// `false` for a type declared `sub` without `final` (it may have
    /// declared subtypes).
    pub is_final: bool,
    /// Function, struct or array.
    pub kind: CompositeKind,
}

impl TypeDef {
    /// A final function type (every type without Wasm GC).
    pub const FUNC: TypeDef = TypeDef {
        is_final: true,
        kind: CompositeKind::Func,
    };

    /// The same definition with every concrete index replaced by `f`'s.
    pub fn map_concrete(&self, mut f: impl FnMut(TypeIndex) -> HeapType) -> TypeDef {
        let mut field = |t: FieldType| FieldType {
            storage: match t.storage {
                StorageType::Val(v) => StorageType::Val(v.map_concrete(&mut f)),
                packed => packed,
            },
            mutable: t.mutable,
        };
        TypeDef {
            is_final: self.is_final,
            kind: match &self.kind {
                CompositeKind::Func => CompositeKind::Func,
                CompositeKind::Struct(fields) => {
                    CompositeKind::Struct(fields.iter().map(|&t| field(t)).collect())
                }
                CompositeKind::Array(t) => CompositeKind::Array(field(*t)),
            },
        }
    }
}

/// The kind of a type of the type section.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum CompositeKind {
    /// A function type; its signature is in `ModuleInfo::types`.
    Func,
    /// A struct type (Wasm GC) with these fields.
    Struct(Box<[FieldType]>),
    /// An array type (Wasm GC) of this element.
    Array(FieldType),
}

/// A struct field or array element type (Wasm GC).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct FieldType {
    /// What it stores.
    pub storage: StorageType,
    /// Whether it can be written after allocation.
    pub mutable: bool,
}

/// What a struct field or array element stores (Wasm GC).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum StorageType {
    /// A packed 8-bit integer.
    I8,
    /// A packed 16-bit integer.
    I16,
    /// A value.
    Val(ValType),
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

impl TableType {
    /// The same type with a concrete element type's index replaced by `f`'s.
    pub fn map_concrete(self, mut f: impl FnMut(TypeIndex) -> HeapType) -> TableType {
        TableType {
            element: match ValType::Ref(self.element).map_concrete(&mut f) {
                ValType::Ref(r) => r,
                _ => unreachable!("a reference maps to a reference"),
            },
            ..self
        }
    }
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
    /// assert_eq!((*ty.element(), ty.minimum(), ty.maximum()), (RefType::FUNCREF, 1, Some(10)));
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

impl GlobalType {
    /// The same type with a concrete content type's index replaced by `f`'s.
    pub fn map_concrete(self, mut f: impl FnMut(TypeIndex) -> HeapType) -> GlobalType {
        GlobalType {
            content: self.content.map_concrete(&mut f),
            ..self
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
