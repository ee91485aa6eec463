//! [`translate()`]: one pass over the bytes that validates the module with
//! wasmparser and collects its [`ModuleInfo`] and function bodies.

use crate::error::{EnvironError, Result};
use crate::fixed_tables::UnwrittenTables;
use crate::module::*;
use crate::types::heap_type_from_wasmparser;
use crate::types::*;
use wasmparser::{
    CompositeInnerType, ElementItems, ElementKind, KnownCustom, Name, Parser, Payload, TableInit,
    TypeRef, ValidPayload, Validator, WasmFeatures,
};

/// A function body as wasmparser reads it (locals, then operators).
pub use wasmparser::FunctionBody;

/// A validated module: its info and every defined function's body.
pub struct Translation<'a> {
    /// Everything but the bodies.
    pub module: ModuleInfo,
    /// Bodies by [`DefinedFuncIndex`].
    pub bodies: Vec<FunctionBody<'a>>,
    /// The features the module was validated with; backends translate the
    /// same operators.
    pub features: WasmFeatures,
}

/// The features Tandem enables by default: WebAssembly 2.0 (with SIMD),
/// relaxed SIMD, and the Wasm 3.0 proposals both backends implement: tail
/// calls, typed function references and extended constant expressions.
pub fn default_features() -> WasmFeatures {
    WasmFeatures::WASM2
        | WasmFeatures::RELAXED_SIMD
        | WasmFeatures::TAIL_CALL
        | WasmFeatures::FUNCTION_REFERENCES
        | WasmFeatures::EXTENDED_CONST
}

/// Validates `wasm` and collects what the backends and the runtime need.
///
/// Malformed or invalid input is an [`EnvironError`] with the byte offset and
/// wasmparser's message; this never panics on any input.
pub fn translate(wasm: &[u8], features: WasmFeatures) -> Result<Translation<'_>> {
    let mut validator = Validator::new_with_features(features);
    let mut t = Translation {
        module: ModuleInfo::default(),
        bodies: Vec::new(),
        features,
    };
    let mut allocs = wasmparser::FuncValidatorAllocations::default();
    let mut unwritten_tables: Option<UnwrittenTables> = None;
    // The parser decodes some proposals' encodings (compact imports) only
    // when its own features allow them; the validator does not check again.
    let mut parser = Parser::new(0);
    parser.set_features(features);
    for payload in parser.parse_all(wasm) {
        let payload = payload?;
        if let Payload::MemorySection(reader) = &payload
            && !features.memory64()
        {
            check_memory_limits_encoding(wasm, reader.clone())?;
        }
        match validator.payload(&payload)? {
            ValidPayload::Ok | ValidPayload::End(_) => {}
            ValidPayload::Func(to_validate, body) => {
                let mut func = to_validate.into_validator(std::mem::take(&mut allocs));
                func.validate(&body)?;
                allocs = func.into_allocations();
                unwritten_tables
                    .get_or_insert_with(|| UnwrittenTables::new(&t.module))
                    .scan(&body)?;
                t.bodies.push(body);
                continue;
            }
            ValidPayload::Parser(_) => {
                return Err(EnvironError::unsupported(
                    0,
                    "nested modules are not supported",
                ));
            }
        }
        collect(&mut t.module, payload)?;
    }
    finish(&mut t.module);
    let unwritten_tables = unwritten_tables.unwrap_or_else(|| UnwrittenTables::new(&t.module));
    t.module.fixed_table_types = unwritten_tables.element_types(&t.module);
    Ok(t)
}

/// Wasm 2.0 encodes memory limits as u32 LEBs of at most 5 bytes;
/// wasmparser reads them as u64 (the memory64 encoding) and so accepts longer
/// ones. Without memory64 enabled, reject them as the 2.0 spec does.
fn check_memory_limits_encoding(
    wasm: &[u8],
    reader: wasmparser::MemorySectionReader<'_>,
) -> Result<()> {
    for entry in reader.into_iter_with_offsets() {
        let (offset, _) = entry?;
        let start = usize::try_from(offset).unwrap_or(usize::MAX);
        let Some(&flags) = wasm.get(start) else {
            continue;
        };
        let mut at = start + 1;
        let fields = if flags & 1 != 0 { 2 } else { 1 };
        for _ in 0..fields {
            let len = wasm[at.min(wasm.len())..]
                .iter()
                .position(|b| b & 0x80 == 0)
                .map_or(usize::MAX, |i| i + 1);
            if len > 5 {
                return Err(EnvironError::Invalid {
                    offset: at as u64,
                    message: "integer representation too long".into(),
                });
            }
            at += len;
        }
    }
    Ok(())
}

fn collect(m: &mut ModuleInfo, payload: Payload<'_>) -> Result<()> {
    match payload {
        Payload::TypeSection(reader) => {
            for group in reader.into_iter_with_offsets() {
                let (offset, group) = group?;
                let start = TypeIndex::new(m.types.len());
                for sub in group.into_types() {
                    let (def, signature) = type_def(sub, offset)?;
                    m.type_defs.push(def);
                    m.types.push(signature);
                }
                let len = (m.types.len() - start.index()) as u32;
                m.rec_groups.push(RecGroup { start, len });
            }
        }
        Payload::ImportSection(reader) => {
            for import in reader.into_imports_with_offsets() {
                let (offset, import) = import?;
                import_one(m, import, offset)?;
            }
        }
        Payload::FunctionSection(reader) => {
            for ty in reader {
                m.functions.push(TypeIndex::from_u32(ty?));
            }
        }
        Payload::TableSection(reader) => {
            for table in reader.into_iter_with_offsets() {
                let (offset, table) = table?;
                m.tables.push(table_type(table.ty, offset)?);
                m.table_inits.push(match table.init {
                    TableInit::RefNull => None,
                    TableInit::Expr(e) => Some(const_expr(&e)?),
                });
            }
        }
        Payload::MemorySection(reader) => {
            for memory in reader {
                m.memories.push(memory_type(memory?));
            }
        }
        Payload::GlobalSection(reader) => {
            for global in reader.into_iter_with_offsets() {
                let (offset, global) = global?;
                m.globals.push(global_type(global.ty, offset)?);
                m.global_inits.push(const_expr(&global.init_expr)?);
            }
        }
        Payload::ExportSection(reader) => {
            for export in reader {
                let export = export?;
                let index = match export.kind {
                    wasmparser::ExternalKind::Func => {
                        EntityIndex::Func(FuncIndex::from_u32(export.index))
                    }
                    wasmparser::ExternalKind::Table => {
                        EntityIndex::Table(TableIndex::from_u32(export.index))
                    }
                    wasmparser::ExternalKind::Memory => {
                        EntityIndex::Memory(MemoryIndex::from_u32(export.index))
                    }
                    wasmparser::ExternalKind::Global => {
                        EntityIndex::Global(GlobalIndex::from_u32(export.index))
                    }
                    other => {
                        return Err(EnvironError::unsupported(0, format!("export of {other:?}")));
                    }
                };
                m.exports.push(Export {
                    name: export.name.to_string(),
                    index,
                });
            }
        }
        Payload::StartSection { func, .. } => m.start = Some(FuncIndex::from_u32(func)),
        Payload::ElementSection(reader) => {
            for elem in reader {
                m.elems.push(elem_segment(elem?)?);
            }
        }
        Payload::DataSection(reader) => {
            for data in reader {
                let data = data?;
                let mode = match data.kind {
                    wasmparser::DataKind::Passive => SegmentMode::Passive,
                    wasmparser::DataKind::Active {
                        memory_index,
                        offset_expr,
                    } => SegmentMode::Active {
                        target: MemoryIndex::from_u32(memory_index),
                        offset: const_expr(&offset_expr)?,
                    },
                };
                m.data.push(DataSegment {
                    mode,
                    data: data.data.into(),
                });
            }
        }
        Payload::CustomSection(reader) => {
            if let KnownCustom::Name(names) = reader.as_known() {
                // A broken name section must not reject a valid module: keep
                // what reads cleanly and ignore the rest.
                for name in names.into_iter().flatten() {
                    match name {
                        Name::Module { name, .. } => m.name = Some(name.to_string()),
                        Name::Function(map) => {
                            for naming in map.into_iter().flatten() {
                                m.func_names
                                    .insert(FuncIndex::from_u32(naming.index), naming.name.into());
                            }
                        }
                        _ => {}
                    }
                }
            }
        }
        _ => {}
    }
    Ok(())
}

fn import_one(m: &mut ModuleInfo, import: wasmparser::Import<'_>, offset: u64) -> Result<()> {
    let (kind, index) = match import.ty {
        TypeRef::Func(ty) => {
            m.num_imported_funcs += 1;
            m.functions.push(TypeIndex::from_u32(ty));
            let index = FuncIndex::new(m.functions.len() - 1);
            (
                ImportKind::Func(TypeIndex::from_u32(ty)),
                EntityIndex::Func(index),
            )
        }
        TypeRef::Table(ty) => {
            let ty = table_type(ty, offset)?;
            m.num_imported_tables += 1;
            m.tables.push(ty);
            let index = TableIndex::new(m.tables.len() - 1);
            (ImportKind::Table(ty), EntityIndex::Table(index))
        }
        TypeRef::Memory(ty) => {
            let ty = memory_type(ty);
            m.num_imported_memories += 1;
            m.memories.push(ty);
            let index = MemoryIndex::new(m.memories.len() - 1);
            (ImportKind::Memory(ty), EntityIndex::Memory(index))
        }
        TypeRef::Global(ty) => {
            let ty = global_type(ty, offset)?;
            m.num_imported_globals += 1;
            m.globals.push(ty);
            let index = GlobalIndex::new(m.globals.len() - 1);
            (ImportKind::Global(ty), EntityIndex::Global(index))
        }
        _ => return Err(EnvironError::unsupported(offset, "import of a tag")),
    };
    m.imports.push(Import {
        module: import.module.to_string(),
        name: import.name.to_string(),
        kind,
        index,
    });
    Ok(())
}

fn elem_segment(elem: wasmparser::Element<'_>) -> Result<ElemSegment> {
    let offset = elem.range.start;
    let mode = match elem.kind {
        ElementKind::Passive => SegmentMode::Passive,
        ElementKind::Declared => SegmentMode::Declared,
        ElementKind::Active {
            table_index,
            offset_expr,
        } => SegmentMode::Active {
            target: TableIndex::from_u32(table_index.unwrap_or(0)),
            offset: const_expr(&offset_expr)?,
        },
    };
    let (ty, items) = match elem.items {
        ElementItems::Functions(funcs) => {
            let funcs = funcs
                .into_iter()
                .map(|f| f.map(FuncIndex::from_u32))
                .collect::<Result<_, _>>()?;
            (RefType::new(false, HeapType::Func), ElemItems::Funcs(funcs))
        }
        ElementItems::Expressions(ty, exprs) => {
            let exprs = exprs.into_iter().collect::<Result<Vec<_>, _>>()?;
            // A segment of plain `ref.func`s (how toolchains write most
            // expression-form segments) is the same as a list of indices.
            let items = match exprs.iter().map(as_ref_func).collect() {
                Some(funcs) => ElemItems::Funcs(funcs),
                None => ElemItems::Exprs(exprs.iter().map(const_expr).collect::<Result<_>>()?),
            };
            (RefType::from_wasmparser(ty, offset)?, items)
        }
    };
    Ok(ElemSegment { mode, ty, items })
}

/// The function of a constant expression that is exactly `ref.func f`.
fn as_ref_func(expr: &wasmparser::ConstExpr<'_>) -> Option<FuncIndex> {
    match single_op(expr)? {
        ConstOp::RefFunc(func) => Some(func),
        _ => None,
    }
}

/// The operator of a constant expression made of one common operator,
/// read straight from its bytes. Going through an operators reader costs
/// about a thousand instructions an expression (the reader allocates), and
/// large modules have a hundred thousand data segments or element items.
fn single_op(expr: &wasmparser::ConstExpr<'_>) -> Option<ConstOp> {
    const I32_CONST: u8 = 0x41;
    const I64_CONST: u8 = 0x42;
    const GLOBAL_GET: u8 = 0x23;
    const REF_FUNC: u8 = 0xd2;
    const END: u8 = 0x0b;
    let mut reader = expr.get_binary_reader();
    let op = match reader.read_u8().ok()? {
        I32_CONST => ConstOp::I32Const(reader.read_var_i32().ok()?),
        I64_CONST => ConstOp::I64Const(reader.read_var_i64().ok()?),
        GLOBAL_GET => ConstOp::GlobalGet(GlobalIndex::from_u32(reader.read_var_u32().ok()?)),
        REF_FUNC => ConstOp::RefFunc(FuncIndex::from_u32(reader.read_var_u32().ok()?)),
        _ => return None,
    };
    (reader.read_u8().ok()? == END && reader.eof()).then_some(op)
}

fn const_expr(expr: &wasmparser::ConstExpr<'_>) -> Result<ConstExpr> {
    use wasmparser::Operator as O;
    if let Some(op) = single_op(expr) {
        return Ok(ConstExpr {
            ops: Box::new([op]),
        });
    }
    let mut ops = Vec::new();
    let mut reader = expr.get_operators_reader();
    while !reader.eof() {
        let offset = reader.original_position();
        let op = match reader.read()? {
            O::I32Const { value } => ConstOp::I32Const(value),
            O::I64Const { value } => ConstOp::I64Const(value),
            O::F32Const { value } => ConstOp::F32Const(value.bits()),
            O::F64Const { value } => ConstOp::F64Const(value.bits()),
            O::V128Const { value } => ConstOp::V128Const(value.i128() as u128),
            O::RefNull { hty } => ConstOp::RefNull(heap_type_from_wasmparser(hty, offset)?),
            O::RefFunc { function_index } => ConstOp::RefFunc(FuncIndex::from_u32(function_index)),
            O::GlobalGet { global_index } => {
                ConstOp::GlobalGet(GlobalIndex::from_u32(global_index))
            }
            O::I32Add => ConstOp::I32Add,
            O::I32Sub => ConstOp::I32Sub,
            O::I32Mul => ConstOp::I32Mul,
            O::I64Add => ConstOp::I64Add,
            O::I64Sub => ConstOp::I64Sub,
            O::I64Mul => ConstOp::I64Mul,
            O::End => continue,
            other => {
                return Err(EnvironError::unsupported(
                    offset,
                    format!("constant operator {other:?}"),
                ));
            }
        };
        ops.push(op);
    }
    Ok(ConstExpr { ops: ops.into() })
}

/// A type of the type section: its definition and its signature (empty for
/// a struct or array type).
fn type_def(sub: wasmparser::SubType, offset: u64) -> Result<(TypeDef, FuncType)> {
    // A declared supertype would make `call_indirect` and imports match
    // subtypes, which they do not yet (both compare type ids).
    if !sub.supertype_idxs.is_empty() {
        return Err(EnvironError::unsupported(
            offset,
            "declared supertypes (Wasm GC subtyping)",
        ));
    }
    let composite = sub.composite_type;
    if composite.shared || composite.descriptor_idx.is_some() || composite.describes_idx.is_some() {
        return Err(EnvironError::unsupported(
            offset,
            "shared or described composite types",
        ));
    }
    let field = |f: wasmparser::FieldType| -> Result<FieldType> {
        Ok(FieldType {
            storage: match f.element_type {
                wasmparser::StorageType::I8 => StorageType::I8,
                wasmparser::StorageType::I16 => StorageType::I16,
                wasmparser::StorageType::Val(v) => {
                    StorageType::Val(ValType::from_wasmparser(v, offset)?)
                }
            },
            mutable: f.mutable,
        })
    };
    let (kind, signature) = match composite.inner {
        CompositeInnerType::Func(f) => (CompositeKind::Func, func_type(&f, offset)?),
        CompositeInnerType::Struct(s) => {
            let fields = s.fields.iter().map(|&f| field(f)).collect::<Result<_>>()?;
            (CompositeKind::Struct(fields), FuncType::default())
        }
        CompositeInnerType::Array(a) => (CompositeKind::Array(field(a.0)?), FuncType::default()),
        CompositeInnerType::Cont(_) => {
            return Err(EnvironError::unsupported(offset, "continuation types"));
        }
    };
    Ok((
        TypeDef {
            is_final: sub.is_final,
            kind,
        },
        signature,
    ))
}

fn func_type(f: &wasmparser::FuncType, offset: u64) -> Result<FuncType> {
    let convert = |tys: &[wasmparser::ValType]| {
        tys.iter()
            .map(|&t| ValType::from_wasmparser(t, offset))
            .collect::<Result<Box<[_]>>>()
    };
    Ok(FuncType {
        params: convert(f.params())?,
        results: convert(f.results())?,
    })
}

fn table_type(t: wasmparser::TableType, offset: u64) -> Result<TableType> {
    if t.table64 {
        return Err(EnvironError::unsupported(offset, "64-bit tables"));
    }
    Ok(TableType {
        element: RefType::from_wasmparser(t.element_type, offset)?,
        minimum: t.initial,
        maximum: t.maximum,
    })
}

fn memory_type(t: wasmparser::MemoryType) -> MemoryType {
    MemoryType {
        minimum: t.initial,
        maximum: t.maximum,
        memory64: t.memory64,
        shared: t.shared,
    }
}

fn global_type(t: wasmparser::GlobalType, offset: u64) -> Result<GlobalType> {
    Ok(GlobalType {
        content: ValType::from_wasmparser(t.content_type, offset)?,
        mutable: t.mutable,
    })
}

/// Marks the functions that can be reached from outside their module's code
/// (or are called by the runtime, like the start function).
fn finish(m: &mut ModuleInfo) {
    let mut escaping = vec![false; m.functions.len()];
    let mut mark = |f: FuncIndex| {
        if let Some(slot) = escaping.get_mut(f.index()) {
            *slot = true;
        }
    };
    for export in &m.exports {
        if let EntityIndex::Func(f) = export.index {
            mark(f);
        }
    }
    // The runtime calls the start function through its array-call entry.
    if let Some(start) = m.start {
        mark(start);
    }
    let exprs = m
        .global_inits
        .iter()
        .chain(m.table_inits.iter().flatten())
        .chain(m.elems.iter().flat_map(|e| match &e.items {
            ElemItems::Exprs(exprs) => exprs.iter(),
            ElemItems::Funcs(_) => [].iter(),
        }));
    for expr in exprs {
        for op in expr.ops.iter() {
            if let ConstOp::RefFunc(f) = op {
                mark(*f);
            }
        }
    }
    for elem in &m.elems {
        if let ElemItems::Funcs(funcs) = &elem.items {
            funcs.iter().copied().for_each(&mut mark);
        }
    }
    m.escaping = escaping;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_is_an_error_with_offset() {
        let err = translate(b"\0asm\x01\0\0\0\x01\xff", default_features())
            .err()
            .unwrap();
        assert!(matches!(err, EnvironError::Invalid { .. }), "{err}");
        assert!(translate(b"hello", default_features()).is_err());
        assert!(translate(b"", default_features()).is_err());
    }

    #[test]
    fn encodings_of_disabled_proposals_are_rejected() {
        // An import section in the compact-imports encoding (module "",
        // then 0x7e: one name and one type for the group), found by
        // `cargo xtask fuzz --target malformed`: the parser accepted it
        // unless told the features.
        let wasm = b"\0asm\x01\0\0\0\x02\x0a\x01\x00\x00\x7e\x03\x7d\x01\x01\x01\x2b";
        assert!(wasmparser::Validator::new().validate_all(wasm).is_ok());
        let err = translate(wasm, default_features()).err().unwrap();
        assert!(err.to_string().contains("compact imports"), "{err}");
        assert_eq!(err.offset(), 13);
    }

    #[test]
    fn memory_limits_longer_than_five_bytes_are_malformed() {
        let module = |limits: &[u8]| {
            let mut wasm = b"\0asm\x01\0\0\0\x05".to_vec();
            wasm.push(limits.len() as u8 + 1);
            wasm.push(1);
            wasm.extend(limits);
            wasm
        };
        let err = translate(
            &module(&[0, 0x82, 0x80, 0x80, 0x80, 0x80, 0]),
            default_features(),
        )
        .err()
        .unwrap();
        assert!(
            err.to_string().contains("integer representation too long"),
            "{err}"
        );
        translate(&module(&[0, 0x82, 0x80, 0x80, 0x80, 0]), default_features()).unwrap();
        translate(
            &module(&[1, 0x82, 0, 0x82, 0x80, 0x80, 0x80, 0]),
            default_features(),
        )
        .unwrap();
    }

    #[test]
    fn expression_segments_of_ref_funcs_become_index_lists() {
        let wasm = wat::parse_str(
            r#"(module (func $a) (func $b) (table 4 funcref)
                (elem (i32.const 0) funcref (ref.func $b) (ref.func $a))
                (elem funcref (ref.func $a) (ref.null func))
                (elem declare funcref (ref.func $b)))"#,
        )
        .unwrap();
        let t = translate(&wasm, default_features()).unwrap();
        let (a, b) = (FuncIndex::from_u32(0), FuncIndex::from_u32(1));
        let items = |i: usize| &t.module.elems[i].items;
        assert!(matches!(items(0), ElemItems::Funcs(f) if **f == [b, a]));
        assert!(matches!(items(1), ElemItems::Exprs(e) if e.len() == 2));
        assert!(matches!(items(2), ElemItems::Funcs(f) if **f == [b]));
        assert!(t.module.escaping.iter().all(|&e| e), "both forms escape");
    }

    #[test]
    fn one_operator_constant_expressions_read_as_the_general_path_does() {
        let wasm = wat::parse_str(
            r#"(module (import "m" "g" (global i32)) (func $f) (memory 1)
                (global i32 (i32.const -2147483648))
                (global i64 (i64.const -9223372036854775808))
                (global i64 (i64.const 0x7fffffffffffffff))
                (global funcref (ref.func $f))
                (global funcref (ref.null func))
                (global f64 (f64.const 1.5))
                (data (i32.const 65535) "x")
                (data (global.get 0) "y"))"#,
        )
        .unwrap();
        let m = translate(&wasm, default_features()).unwrap().module;
        let ops = |e: &ConstExpr| e.ops.to_vec();
        let globals: Vec<_> = m.global_inits.iter().map(ops).collect();
        assert_eq!(
            globals,
            [
                vec![ConstOp::I32Const(i32::MIN)],
                vec![ConstOp::I64Const(i64::MIN)],
                vec![ConstOp::I64Const(i64::MAX)],
                vec![ConstOp::RefFunc(FuncIndex::from_u32(0))],
                vec![ConstOp::RefNull(HeapType::Func)],
                vec![ConstOp::F64Const(1.5f64.to_bits())],
            ]
        );
        let offsets: Vec<_> = m
            .data
            .iter()
            .map(|d| match &d.mode {
                SegmentMode::Active { offset, .. } => ops(offset),
                _ => unreachable!("both segments are active"),
            })
            .collect();
        assert_eq!(
            offsets,
            [
                vec![ConstOp::I32Const(65535)],
                vec![ConstOp::GlobalGet(GlobalIndex::from_u32(0))],
            ]
        );
    }

    #[test]
    fn simd_is_rejected_when_switched_off() {
        // (module (func (result v128) v128.const i64x2 0 0))
        let mut wasm = vec![
            0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0,
        ];
        wasm.extend([10, 22, 1, 20, 0, 0xfd, 12]);
        wasm.extend([0u8; 16]);
        wasm.push(11);
        assert!(translate(&wasm, default_features()).is_ok());
        let no_simd = default_features() & !WasmFeatures::SIMD & !WasmFeatures::RELAXED_SIMD;
        let err = translate(&wasm, no_simd).err().unwrap();
        assert!(err.to_string().contains("SIMD"), "{err}");
    }
}
