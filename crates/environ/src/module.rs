//! [`ModuleInfo`]: everything about a module except its function bodies.

use crate::types::*;
use std::collections::BTreeMap;

/// One operator of a constant expression (global initialisers, segment
/// offsets, element items). Extended-const arithmetic is included so the
/// evaluator is ready for Wasm 3.0.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum ConstOp {
    /// `i32.const`
    I32Const(i32),
    /// `i64.const`
    I64Const(i64),
    /// `f32.const`, as bits
    F32Const(u32),
    /// `f64.const`, as bits
    F64Const(u64),
    /// `v128.const`
    V128Const(u128),
    /// `ref.null`
    RefNull(RefType),
    /// `ref.func`
    RefFunc(FuncIndex),
    /// `global.get` of an (immutable) global
    GlobalGet(GlobalIndex),
    /// `i32.add`
    I32Add,
    /// `i32.sub`
    I32Sub,
    /// `i32.mul`
    I32Mul,
    /// `i64.add`
    I64Add,
    /// `i64.sub`
    I64Sub,
    /// `i64.mul`
    I64Mul,
}

/// A constant expression: a short stack program producing one value.
#[derive(Clone, Debug, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct ConstExpr {
    /// The operators, in order.
    pub ops: Box<[ConstOp]>,
}

impl ConstExpr {
    /// A one-operator expression.
    pub fn single(op: ConstOp) -> Self {
        ConstExpr {
            ops: Box::new([op]),
        }
    }
}

/// What an import brings in.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum ImportKind {
    /// A function of this type.
    Func(TypeIndex),
    /// A table.
    Table(TableType),
    /// A memory.
    Memory(MemoryType),
    /// A global.
    Global(GlobalType),
}

/// One import.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Import {
    /// Module name.
    pub module: String,
    /// Field name.
    pub name: String,
    /// What is imported.
    pub kind: ImportKind,
    /// The index it occupies in its index space.
    pub index: EntityIndex,
}

/// The kind of an export, with its index.
pub type ExportKind = EntityIndex;

/// One export.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Export {
    /// The exported name.
    pub name: String,
    /// What is exported.
    pub index: EntityIndex,
}

/// How a data or element segment is applied.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum SegmentMode<I> {
    /// Copied at instantiation into memory/table `I` at the offset.
    Active {
        /// Target memory or table.
        target: I,
        /// Where it goes.
        offset: ConstExpr,
    },
    /// Applied only by `memory.init` / `table.init`.
    Passive,
    /// An element segment that declares functions for `ref.func`, never
    /// applied. As a data segment's mode (never from a Wasm module): an
    /// active segment whose bytes a precompiled module keeps in its memory
    /// images, without bytes of its own; it behaves as a dropped segment.
    Declared,
}

/// The items of an element segment.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum ElemItems {
    /// Plain function indices.
    Funcs(Box<[FuncIndex]>),
    /// Constant expressions, one per element.
    Exprs(Box<[ConstExpr]>),
}

impl ElemItems {
    /// Number of elements.
    pub fn len(&self) -> usize {
        match self {
            ElemItems::Funcs(f) => f.len(),
            ElemItems::Exprs(e) => e.len(),
        }
    }

    /// Whether the segment has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// An element segment.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ElemSegment {
    /// Active, passive or declared.
    pub mode: SegmentMode<TableIndex>,
    /// Element type.
    pub ty: RefType,
    /// The elements.
    pub items: ElemItems,
}

/// A data segment.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DataSegment {
    /// Active or passive.
    pub mode: SegmentMode<MemoryIndex>,
    /// The bytes.
    #[serde(with = "serde_bytes")]
    pub data: Box<[u8]>,
}

/// Everything about a module except the function bodies.
///
/// Index spaces list imports first, then definitions; `num_imported_*` tell
/// where definitions start, and the `defined_*` / `*_index` helpers convert.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct ModuleInfo {
    /// The module's name from the name section.
    pub name: Option<String>,
    /// The type section (function types only in Wasm 2.0).
    pub types: Vec<FuncType>,
    /// Imports, in order.
    pub imports: Vec<Import>,
    /// Exports, in order.
    pub exports: Vec<Export>,
    /// The type of every function, imports first.
    pub functions: Vec<TypeIndex>,
    /// The type of every table, imports first.
    pub tables: Vec<TableType>,
    /// Initial element values of defined tables, by [`DefinedTableIndex`].
    pub table_inits: Vec<Option<ConstExpr>>,
    /// The type of every memory, imports first.
    pub memories: Vec<MemoryType>,
    /// The type of every global, imports first.
    pub globals: Vec<GlobalType>,
    /// Initialisers of defined globals, by [`DefinedGlobalIndex`].
    pub global_inits: Vec<ConstExpr>,
    /// Element segments.
    pub elems: Vec<ElemSegment>,
    /// Data segments.
    pub data: Vec<DataSegment>,
    /// The start function.
    pub start: Option<FuncIndex>,
    /// Imported functions.
    pub num_imported_funcs: u32,
    /// Imported tables.
    pub num_imported_tables: u32,
    /// Imported memories.
    pub num_imported_memories: u32,
    /// Imported globals.
    pub num_imported_globals: u32,
    /// Functions that can be referenced from outside their own code (exported,
    /// in an element segment, or named by `ref.func` in a constant), by
    /// [`FuncIndex`]: these need an array-to-Wasm entry.
    pub escaping: Vec<bool>,
    /// Function names from the name section (ordered, so a serialized
    /// module is the same bytes every time).
    pub func_names: BTreeMap<FuncIndex, String>,
}

impl ModuleInfo {
    /// Number of functions defined by the module.
    pub fn num_defined_funcs(&self) -> usize {
        self.functions.len() - self.num_imported_funcs as usize
    }

    /// Number of tables defined by the module.
    pub fn num_defined_tables(&self) -> usize {
        self.tables.len() - self.num_imported_tables as usize
    }

    /// Number of memories defined by the module.
    pub fn num_defined_memories(&self) -> usize {
        self.memories.len() - self.num_imported_memories as usize
    }

    /// Number of globals defined by the module.
    pub fn num_defined_globals(&self) -> usize {
        self.globals.len() - self.num_imported_globals as usize
    }

    /// The signature of function `func`.
    pub fn func_type(&self, func: FuncIndex) -> &FuncType {
        &self.types[self.functions[func.index()].index()]
    }

    /// The type index of function `func`'s signature, or `None` when there
    /// is no such function (a backend's internal error: validation checked
    /// every index in a body).
    pub fn func_type_index(&self, func: FuncIndex) -> Option<TypeIndex> {
        self.functions.get(func.index()).copied()
    }

    /// The type of global `global`, or `None` when there is no such global
    /// (as for [`ModuleInfo::func_type_index`]).
    pub fn global_type(&self, global: GlobalIndex) -> Option<GlobalType> {
        self.globals.get(global.index()).copied()
    }

    /// The defined index of `func`, or `None` for an import.
    pub fn defined_func_index(&self, func: FuncIndex) -> Option<DefinedFuncIndex> {
        func.as_u32()
            .checked_sub(self.num_imported_funcs)
            .map(DefinedFuncIndex::from_u32)
    }

    /// The function index of a defined function.
    pub fn func_index(&self, defined: DefinedFuncIndex) -> FuncIndex {
        FuncIndex::from_u32(defined.as_u32() + self.num_imported_funcs)
    }

    /// The defined index of `table`, or `None` for an import.
    pub fn defined_table_index(&self, table: TableIndex) -> Option<DefinedTableIndex> {
        table
            .as_u32()
            .checked_sub(self.num_imported_tables)
            .map(DefinedTableIndex::from_u32)
    }

    /// The table index of a defined table.
    pub fn table_index(&self, defined: DefinedTableIndex) -> TableIndex {
        TableIndex::from_u32(defined.as_u32() + self.num_imported_tables)
    }

    /// The defined index of `memory`, or `None` for an import.
    pub fn defined_memory_index(&self, memory: MemoryIndex) -> Option<DefinedMemoryIndex> {
        memory
            .as_u32()
            .checked_sub(self.num_imported_memories)
            .map(DefinedMemoryIndex::from_u32)
    }

    /// The memory index of a defined memory.
    pub fn memory_index(&self, defined: DefinedMemoryIndex) -> MemoryIndex {
        MemoryIndex::from_u32(defined.as_u32() + self.num_imported_memories)
    }

    /// The defined index of `global`, or `None` for an import.
    pub fn defined_global_index(&self, global: GlobalIndex) -> Option<DefinedGlobalIndex> {
        global
            .as_u32()
            .checked_sub(self.num_imported_globals)
            .map(DefinedGlobalIndex::from_u32)
    }

    /// The global index of a defined global.
    pub fn global_index(&self, defined: DefinedGlobalIndex) -> GlobalIndex {
        GlobalIndex::from_u32(defined.as_u32() + self.num_imported_globals)
    }

    /// The name of a function for backtraces: the name section's, else `None`.
    pub fn func_name(&self, func: FuncIndex) -> Option<&str> {
        self.func_names.get(&func).map(String::as_str)
    }

    /// Looks up an export by name.
    pub fn export(&self, name: &str) -> Option<EntityIndex> {
        self.exports
            .iter()
            .find(|e| e.name == name)
            .map(|e| e.index)
    }

    /// Checks that every index the module holds names something it has,
    /// and that the per-definition lists have one entry per definition.
    /// [`translate`](crate::translate()) guarantees this for modules it
    /// builds; a `ModuleInfo` read back from elsewhere (a precompiled
    /// module) is checked with this before use, so a damaged one is an
    /// error instead of an out-of-bounds panic later.
    ///
    /// ```
    /// use tandem_environ::{ModuleInfo, TypeIndex};
    /// let mut module = ModuleInfo::default();
    /// assert!(module.check_indices().is_ok());
    /// module.functions.push(TypeIndex::from_u32(3));
    /// module.escaping.push(false);
    /// assert_eq!(module.check_indices().unwrap_err(), "function 0 has type 3 of 0");
    /// ```
    pub fn check_indices(&self) -> Result<(), String> {
        let within = |what: &str, index: u32, len: usize| {
            if (index as usize) < len {
                Ok(())
            } else {
                Err(format!("{what} {index} of {len}"))
            }
        };
        let counts = [
            ("functions", self.num_imported_funcs, self.functions.len()),
            ("tables", self.num_imported_tables, self.tables.len()),
            ("memories", self.num_imported_memories, self.memories.len()),
            ("globals", self.num_imported_globals, self.globals.len()),
        ];
        for (what, imported, total) in counts {
            if imported as usize > total {
                return Err(format!("{imported} imported {what} of {total}"));
            }
        }
        let lists = [
            ("escape flags", self.escaping.len(), self.functions.len()),
            (
                "table initialisers",
                self.table_inits.len(),
                self.num_defined_tables(),
            ),
            (
                "global initialisers",
                self.global_inits.len(),
                self.num_defined_globals(),
            ),
        ];
        for (what, found, expected) in lists {
            if found != expected {
                return Err(format!("{found} {what} for {expected} definitions"));
            }
        }
        if let Some(i) = self
            .functions
            .iter()
            .position(|ty| ty.index() >= self.types.len())
        {
            let what = format!("function {i} has type");
            within(&what, self.functions[i].as_u32(), self.types.len())?;
        }
        let entity = |index: EntityIndex| match index {
            EntityIndex::Func(f) => within("function", f.as_u32(), self.functions.len()),
            EntityIndex::Table(t) => within("table", t.as_u32(), self.tables.len()),
            EntityIndex::Memory(m) => within("memory", m.as_u32(), self.memories.len()),
            EntityIndex::Global(g) => within("global", g.as_u32(), self.globals.len()),
        };
        let expr = |expr: &ConstExpr| {
            expr.ops.iter().try_for_each(|op| match *op {
                ConstOp::RefFunc(f) => entity(EntityIndex::Func(f)),
                ConstOp::GlobalGet(g) => entity(EntityIndex::Global(g)),
                _ => Ok(()),
            })
        };
        for import in &self.imports {
            entity(import.index)?;
            if let ImportKind::Func(ty) = import.kind {
                within(
                    "an imported function has type",
                    ty.as_u32(),
                    self.types.len(),
                )?;
            }
        }
        for export in &self.exports {
            entity(export.index)?;
        }
        self.start.map(EntityIndex::Func).map_or(Ok(()), entity)?;
        self.global_inits.iter().try_for_each(expr)?;
        self.table_inits.iter().flatten().try_for_each(expr)?;
        for elem in &self.elems {
            if let SegmentMode::Active { target, offset } = &elem.mode {
                entity(EntityIndex::Table(*target))?;
                expr(offset)?;
            }
            match &elem.items {
                ElemItems::Funcs(funcs) => {
                    for &f in funcs.iter() {
                        entity(EntityIndex::Func(f))?;
                    }
                }
                ElemItems::Exprs(exprs) => exprs.iter().try_for_each(expr)?,
            }
        }
        for data in &self.data {
            if let SegmentMode::Active { target, offset } = &data.mode {
                entity(EntityIndex::Memory(*target))?;
                expr(offset)?;
            }
        }
        Ok(())
    }
}
