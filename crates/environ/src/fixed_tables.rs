//! Tables whose contents are fixed once the module is instantiated, and the
//! one function type their elements have: `call_indirect` of that type
//! through such a table needs a bounds and a null check but no signature
//! check ([`ModuleInfo::fixed_table_type`]).
//!
//! A table is fixed when nothing but its own module's active segments ever
//! writes it: it is defined (not imported) and not exported, so no other
//! module and no host sees it, and no function body writes it (`table.set`,
//! `table.fill`, `table.grow`, `table.init` or `table.copy` into it).
//! Toolchains' function tables (clang's `__indirect_function_table` when
//! not exported) are like this.

use crate::module::{ConstExpr, ConstOp, ElemItems, ModuleInfo, SegmentMode};
use crate::types::{FuncIndex, TableIndex, TypeIndex};
use wasmparser::{FunctionBody, Operator, OperatorsReaderAllocations};

/// Which tables no instruction has written so far, by [`TableIndex`],
/// starting from those no import or export exposes.
pub(crate) struct UnwrittenTables {
    unwritten: Vec<bool>,
    any: bool,
    allocs: OperatorsReaderAllocations,
}

impl UnwrittenTables {
    /// The candidates of `m` as far as read (imports and exports come
    /// before the code section, so they are complete when bodies arrive).
    pub(crate) fn new(m: &ModuleInfo) -> Self {
        let mut unwritten: Vec<bool> = (0..m.tables.len())
            .map(|i| i >= m.num_imported_tables as usize)
            .collect();
        for export in &m.exports {
            if let crate::types::EntityIndex::Table(t) = export.index
                && let Some(slot) = unwritten.get_mut(t.index())
            {
                *slot = false;
            }
        }
        let any = unwritten.contains(&true);
        UnwrittenTables {
            unwritten,
            any,
            allocs: OperatorsReaderAllocations::default(),
        }
    }

    /// Drops the tables `body` (already validated) writes. Bodies are read
    /// only while some candidate is left, so modules without one pay
    /// nothing.
    pub(crate) fn scan(&mut self, body: &FunctionBody<'_>) -> wasmparser::Result<()> {
        if !self.any {
            return Ok(());
        }
        let reader = body.get_binary_reader_for_operators()?;
        let mut ops =
            wasmparser::OperatorsReader::new_with_allocs(reader, std::mem::take(&mut self.allocs));
        while !ops.eof() {
            // Validation rejected the shared-everything table atomics
            // (their proposal is never enabled), so these are all writes.
            let written = match ops.read()? {
                Operator::TableSet { table }
                | Operator::TableFill { table }
                | Operator::TableGrow { table }
                | Operator::TableInit { table, .. }
                | Operator::TableCopy {
                    dst_table: table, ..
                } => table,
                _ => continue,
            };
            if let Some(slot) = self.unwritten.get_mut(written as usize) {
                *slot = false;
            }
        }
        self.allocs = ops.into_allocations();
        self.any = self.unwritten.contains(&true);
        Ok(())
    }

    /// For each table of the finished module `m`: the function type of
    /// every non-null element when the table is fixed and all its elements
    /// (its initial value and its active segments' items) are `ref.null`
    /// or `ref.func` of functions of one type.
    pub(crate) fn element_types(self, m: &ModuleInfo) -> Vec<Option<TypeIndex>> {
        let mut tables: Vec<Elements> = self
            .unwritten
            .iter()
            .map(|&fixed| {
                if fixed {
                    Elements::None
                } else {
                    Elements::Unknown
                }
            })
            .collect();
        let mut add = |table: TableIndex, element: Element| {
            if let Some(elements) = tables.get_mut(table.index()) {
                elements.add(element);
            }
        };
        for (defined, init) in m.table_inits.iter().enumerate() {
            if let Some(init) = init {
                let table = TableIndex::from_u32(defined as u32 + m.num_imported_tables);
                add(table, Element::of_const(m, init));
            }
        }
        for elem in &m.elems {
            let SegmentMode::Active { target, .. } = &elem.mode else {
                continue;
            };
            match &elem.items {
                ElemItems::Funcs(funcs) => {
                    for &f in funcs.iter() {
                        add(*target, Element::of_func(m, f));
                    }
                }
                ElemItems::Exprs(exprs) => {
                    for expr in exprs.iter() {
                        add(*target, Element::of_const(m, expr));
                    }
                }
            }
        }
        tables
            .into_iter()
            .map(|elements| match elements {
                Elements::One(ty) => Some(ty),
                Elements::None | Elements::Unknown => None,
            })
            .collect()
    }
}

/// One element put into a table, as far as the analysis can tell.
#[derive(Clone, Copy)]
enum Element {
    Null,
    Func(TypeIndex),
    Unknown,
}

impl Element {
    fn of_func(m: &ModuleInfo, func: FuncIndex) -> Self {
        m.func_type_index(func)
            .map_or(Element::Unknown, Element::Func)
    }

    /// `ref.null` or `ref.func` alone; anything else (`global.get`) is
    /// unknown.
    fn of_const(m: &ModuleInfo, expr: &ConstExpr) -> Self {
        match *expr.ops {
            [ConstOp::RefNull(_)] => Element::Null,
            [ConstOp::RefFunc(f)] => Element::of_func(m, f),
            _ => Element::Unknown,
        }
    }
}

/// What is known of a table's non-null elements.
#[derive(Clone, Copy)]
enum Elements {
    /// None seen yet.
    None,
    /// All are functions of this type.
    One(TypeIndex),
    /// They may be anything.
    Unknown,
}

impl Elements {
    fn add(&mut self, element: Element) {
        *self = match (*self, element) {
            (Elements::Unknown, _) | (_, Element::Unknown) => Elements::Unknown,
            (known, Element::Null) => known,
            (Elements::None, Element::Func(ty)) => Elements::One(ty),
            (Elements::One(a), Element::Func(b)) if a == b => Elements::One(a),
            (Elements::One(_), Element::Func(_)) => Elements::Unknown,
        };
    }
}

#[cfg(test)]
mod tests {
    use crate::translate::{default_features, translate};
    use crate::types::{TableIndex, TypeIndex};

    /// `fixed_table_type` of table 0 of the module `wat`.
    fn table0(wat: &str) -> Option<TypeIndex> {
        let wasm = wat::parse_str(wat).unwrap();
        let t = translate(&wasm, default_features()).unwrap();
        t.module.fixed_table_type(TableIndex::from_u32(0))
    }

    const FUNCS: &str = r#"
        (type $op (func (param i32) (result i32)))
        (type $other (func (result i32)))
        (func $a (type $op) local.get 0)
        (func $b (type $op) local.get 0)
        (func $c (type $other) i32.const 0)"#;

    fn module(rest: &str) -> String {
        format!("(module {rest} {FUNCS})")
    }

    #[test]
    fn a_private_table_of_one_type_is_fixed() {
        let op = Some(TypeIndex::from_u32(0));
        assert_eq!(
            table0(&module("(table 4 4 funcref) (elem (i32.const 1) $a $b)")),
            op
        );
        // Null items, an initial value and two segments of the same type.
        assert_eq!(
            table0(&module(
                "(table 4 funcref (ref.func $b))
                 (elem (table 0) (i32.const 0) funcref (ref.null func) (ref.func $a))
                 (elem (i32.const 3) $b)
                 (func (param i32) (result i32) local.get 0 i32.const 0
                   call_indirect (type $op) table.size drop)"
            )),
            op
        );
        // Passive and declared segments are never written by themselves.
        assert_eq!(
            table0(&module(
                "(table 2 funcref) (elem (i32.const 0) $a) (elem func $c) (elem declare func $c)"
            )),
            op
        );
    }

    #[test]
    fn what_makes_a_table_not_fixed() {
        let cases = [
            // Two types, or an element that is not a constant function.
            "(table 4 funcref) (elem (i32.const 0) $a $c)",
            "(import \"m\" \"g\" (global $g funcref))
             (table 4 funcref) (elem (i32.const 0) funcref (global.get $g))",
            "(import \"m\" \"g\" (global $g funcref))
             (table 4 funcref (global.get $g)) (elem (i32.const 0) $a)",
            // Seen from outside.
            "(import \"m\" \"t\" (table 4 funcref)) (elem (i32.const 0) $a)",
            "(table (export \"t\") 4 funcref) (elem (i32.const 0) $a)",
            // Written by an instruction.
            "(table 4 funcref) (elem (i32.const 0) $a)
             (func i32.const 0 ref.func $c table.set 0) (elem declare func $c)",
            "(table 4 funcref) (elem (i32.const 0) $a)
             (func ref.null func i32.const 1 table.grow 0 drop)",
            "(table 4 funcref) (elem (i32.const 0) $a)
             (func i32.const 0 ref.null func i32.const 1 table.fill 0)",
            "(table 4 funcref) (elem (i32.const 0) $a) (elem $p func $c)
             (func i32.const 0 i32.const 0 i32.const 1 table.init 0 $p)",
            "(table 4 funcref) (table $u 4 funcref) (elem (i32.const 0) $a)
             (func i32.const 0 i32.const 0 i32.const 1 table.copy 0 $u)",
            // Empty: no element type to rely on.
            "(table 4 funcref)",
        ];
        for case in cases {
            assert_eq!(table0(&module(case)), None, "{case}");
        }
        // Copying out of the table does not write it.
        assert!(
            table0(&module(
                "(table 4 funcref) (table $u 4 funcref) (elem (i32.const 0) $a)
                 (func i32.const 0 i32.const 0 i32.const 1 table.copy $u 0)"
            ))
            .is_some()
        );
    }
}
