//! The embedding API's types: [`FuncType`] (wasmtime's constructor, over
//! `tandem_environ`'s signature), [`ExternType`], and the [`ImportType`] and
//! [`ExportType`] a [`Module`](crate::Module) lists.

use crate::Engine;
use tandem_environ::{GlobalType, MemoryType, TableType, ValType};

/// A function's signature.
///
/// ```
/// use tandem_store::{Engine, FuncType, ValType};
/// let engine = Engine::default();
/// let ty = FuncType::new(&engine, [ValType::I32, ValType::F64], [ValType::I64]);
/// assert_eq!(ty.params().collect::<Vec<_>>(), [ValType::I32, ValType::F64]);
/// assert_eq!(ty.results().len(), 1);
/// assert_eq!(ty.to_string(), "(func (param i32 f64) (result i64))");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct FuncType {
    pub(crate) ty: tandem_environ::FuncType,
}

impl FuncType {
    /// A signature, registered in `engine` (which numbers signatures for
    /// `call_indirect`).
    pub fn new(
        engine: &Engine,
        params: impl IntoIterator<Item = ValType>,
        results: impl IntoIterator<Item = ValType>,
    ) -> FuncType {
        let ty = tandem_environ::FuncType::new(params, results);
        engine.inner.signature_id(&ty);
        FuncType { ty }
    }

    pub(crate) fn from_environ(ty: tandem_environ::FuncType) -> FuncType {
        FuncType { ty }
    }

    /// The parameter types.
    pub fn params(&self) -> impl ExactSizeIterator<Item = ValType> + '_ {
        self.ty.params.iter().copied()
    }

    /// The result types.
    pub fn results(&self) -> impl ExactSizeIterator<Item = ValType> + '_ {
        self.ty.results.iter().copied()
    }

    /// Parameter `i`, if there is one.
    ///
    /// ```
    /// use tandem_store::{Engine, FuncType, ValType};
    /// let ty = FuncType::new(&Engine::default(), [ValType::I32], []);
    /// assert_eq!((ty.param(0), ty.param(1), ty.result(0)), (Some(ValType::I32), None, None));
    /// ```
    pub fn param(&self, i: usize) -> Option<ValType> {
        self.ty.params.get(i).copied()
    }

    /// Result `i`, if there is one.
    pub fn result(&self, i: usize) -> Option<ValType> {
        self.ty.results.get(i).copied()
    }

    /// The signature as `tandem_environ` (and the backends) know it.
    pub(crate) fn as_environ(&self) -> &tandem_environ::FuncType {
        &self.ty
    }
}

impl std::fmt::Display for FuncType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.ty.fmt(f)
    }
}

/// The type of an import or export.
///
/// ```
/// use tandem_store::{Engine, ExternType, Module, ValType};
/// let module = Module::new(&Engine::default(), r#"(module (global (export "g") i64 (i64.const 1)))"#).unwrap();
/// let export = module.exports().next().unwrap();
/// assert_eq!(export.name(), "g");
/// assert_eq!(*export.ty().unwrap_global().content(), ValType::I64);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub enum ExternType {
    /// A function.
    Func(FuncType),
    /// A global.
    Global(GlobalType),
    /// A table.
    Table(TableType),
    /// A memory.
    Memory(MemoryType),
}

impl ExternType {
    /// The function type, if this is one.
    ///
    /// ```
    /// use tandem_store::{Engine, Module};
    /// let module = Module::new(&Engine::default(), r#"(module (func (export "f")))"#).unwrap();
    /// let ty = module.exports().next().unwrap().ty();
    /// assert!(ty.func().is_some() && ty.memory().is_none());
    /// ```
    pub fn func(&self) -> Option<&FuncType> {
        if let ExternType::Func(ty) = self {
            Some(ty)
        } else {
            None
        }
    }

    /// The global type, if this is one.
    pub fn global(&self) -> Option<&GlobalType> {
        if let ExternType::Global(ty) = self {
            Some(ty)
        } else {
            None
        }
    }

    /// The table type, if this is one.
    pub fn table(&self) -> Option<&TableType> {
        if let ExternType::Table(ty) = self {
            Some(ty)
        } else {
            None
        }
    }

    /// The memory type, if this is one.
    pub fn memory(&self) -> Option<&MemoryType> {
        if let ExternType::Memory(ty) = self {
            Some(ty)
        } else {
            None
        }
    }

    /// The function type; panics if this is another kind.
    pub fn unwrap_func(&self) -> &FuncType {
        self.func()
            .expect("ExternType::unwrap_func on a non-function")
    }

    /// The global type; panics if this is another kind.
    pub fn unwrap_global(&self) -> &GlobalType {
        self.global()
            .expect("ExternType::unwrap_global on a non-global")
    }

    /// The table type; panics if this is another kind.
    pub fn unwrap_table(&self) -> &TableType {
        self.table()
            .expect("ExternType::unwrap_table on a non-table")
    }

    /// The memory type; panics if this is another kind.
    pub fn unwrap_memory(&self) -> &MemoryType {
        self.memory()
            .expect("ExternType::unwrap_memory on a non-memory")
    }
}

impl From<FuncType> for ExternType {
    fn from(ty: FuncType) -> ExternType {
        ExternType::Func(ty)
    }
}

impl From<GlobalType> for ExternType {
    fn from(ty: GlobalType) -> ExternType {
        ExternType::Global(ty)
    }
}

impl From<TableType> for ExternType {
    fn from(ty: TableType) -> ExternType {
        ExternType::Table(ty)
    }
}

impl From<MemoryType> for ExternType {
    fn from(ty: MemoryType) -> ExternType {
        ExternType::Memory(ty)
    }
}

/// One import of a [`Module`](crate::Module): where it comes from and its
/// type.
///
/// ```
/// use tandem_store::{Engine, Module};
/// let module = Module::new(&Engine::default(), r#"(module (import "env" "mem" (memory 1)))"#).unwrap();
/// let import = module.imports().next().unwrap();
/// assert_eq!((import.module(), import.name()), ("env", "mem"));
/// assert_eq!(import.ty().unwrap_memory().minimum(), 1);
/// ```
#[derive(Clone, Debug)]
pub struct ImportType<'module> {
    pub(crate) module: &'module str,
    pub(crate) name: &'module str,
    pub(crate) ty: ExternType,
}

impl<'module> ImportType<'module> {
    /// The module name the import is looked up in.
    pub fn module(&self) -> &'module str {
        self.module
    }

    /// The import's field name.
    pub fn name(&self) -> &'module str {
        self.name
    }

    /// The type the module expects.
    pub fn ty(&self) -> ExternType {
        self.ty.clone()
    }
}

/// One export of a [`Module`](crate::Module): its name and type (see
/// [`ExternType`] for an example).
#[derive(Clone, Debug)]
pub struct ExportType<'module> {
    pub(crate) name: &'module str,
    pub(crate) ty: ExternType,
}

impl<'module> ExportType<'module> {
    /// The export's name.
    pub fn name(&self) -> &'module str {
        self.name
    }

    /// Its type.
    pub fn ty(&self) -> ExternType {
        self.ty.clone()
    }
}
