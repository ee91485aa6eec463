//! Tables and references. Every element is one pointer (a `*mut VMFuncRef`
//! for funcref, a host pointer for externref, 0 for null). `table.get`,
//! `table.set` and `table.size` are inline; the others call libcalls.

use super::Translator;
use crate::env::{POINTER, mutable_field};
use crate::isa::ir_trap;
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{InstBuilder, Value, types};
use tandem_codegen_api::CompileError;
use tandem_codegen_api::lower::LowerTable;
use tandem_environ::wasmparser::HeapType;
use tandem_environ::{ElemIndex, FuncIndex, Libcall, TableIndex, TrapCode, VMOffsets};

impl Translator<'_, '_> {
    /// The address of element `index` (an i32) of `table`, trapping with
    /// `trap` when it is out of bounds.
    pub(super) fn table_elem_addr(
        &mut self,
        table: TableIndex,
        index: Value,
        trap: TrapCode,
    ) -> Value {
        let (base, len) = self.env.table_bounds(&mut self.b, table);
        let index64 = self.b.ins().uextend(types::I64, index);
        let oob = self
            .b
            .ins()
            .icmp(IntCC::UnsignedGreaterThanOrEqual, index64, len);
        self.b.ins().trapnz(oob, ir_trap(trap));
        let scaled = self.b.ins().ishl_imm_u(
            index64,
            i64::from(VMOffsets::TABLE_ELEMENT_SIZE.trailing_zeros()),
        );
        self.b.ins().iadd(base, scaled)
    }
}

impl LowerTable for Translator<'_, '_> {
    /// `table.get`.
    fn table_get(&mut self, table: TableIndex) -> Result<(), CompileError> {
        let index = self.pop()?;
        let addr = self.table_elem_addr(table, index, TrapCode::TableOutOfBounds);
        let v = self.b.ins().load(POINTER, mutable_field(), addr, 0);
        self.push(v);
        Ok(())
    }

    /// `table.set`.
    fn table_set(&mut self, table: TableIndex) -> Result<(), CompileError> {
        let (index, value) = self.pop2()?;
        let addr = self.table_elem_addr(table, index, TrapCode::TableOutOfBounds);
        self.b.ins().store(mutable_field(), value, addr, 0);
        Ok(())
    }

    /// `table.size`.
    fn table_size(&mut self, table: TableIndex) -> Result<(), CompileError> {
        let (_, len) = self.env.table_bounds(&mut self.b, table);
        let v = self.b.ins().ireduce(types::I32, len);
        self.push(v);
        Ok(())
    }

    /// `table.grow`: the old size, or -1.
    fn table_grow(&mut self, table: TableIndex) -> Result<(), CompileError> {
        let (init, delta) = self.pop2()?;
        let t = self.index_const(table.as_u32());
        let old = self
            .libcall(Libcall::table_grow, &[t, delta, init])
            .ok_or_else(|| crate::codegen_error("table_grow returns nothing"))?;
        self.push(old);
        Ok(())
    }

    /// `table.fill`.
    fn table_fill(&mut self, table: TableIndex) -> Result<(), CompileError> {
        let (dst, value, len) = self.pop3()?;
        let t = self.index_const(table.as_u32());
        self.libcall(Libcall::table_fill, &[t, dst, value, len]);
        Ok(())
    }

    /// `table.copy`.
    fn table_copy(&mut self, dst: TableIndex, src: TableIndex) -> Result<(), CompileError> {
        let (d, s, n) = self.pop3()?;
        let dt = self.index_const(dst.as_u32());
        let st = self.index_const(src.as_u32());
        self.libcall(Libcall::table_copy, &[dt, st, d, s, n]);
        Ok(())
    }

    /// `table.init`.
    fn table_init(&mut self, table: TableIndex, elem: ElemIndex) -> Result<(), CompileError> {
        let (d, s, n) = self.pop3()?;
        let t = self.index_const(table.as_u32());
        let e = self.index_const(elem.as_u32());
        self.libcall(Libcall::table_init, &[t, e, d, s, n]);
        Ok(())
    }

    /// `elem.drop`.
    fn elem_drop(&mut self, elem: ElemIndex) -> Result<(), CompileError> {
        let e = self.index_const(elem.as_u32());
        self.libcall(Libcall::elem_drop, &[e]);
        Ok(())
    }

    /// `ref.null`: the null pointer, whatever the type.
    fn ref_null(&mut self, _ty: HeapType) -> Result<(), CompileError> {
        let v = self.b.ins().iconst(POINTER, 0);
        self.push(v);
        Ok(())
    }

    /// `ref.is_null`.
    fn ref_is_null(&mut self) -> Result<(), CompileError> {
        let r = self.pop()?;
        let c = self.b.ins().icmp_imm_u(IntCC::Equal, r, 0);
        let v = self.b.ins().uextend(types::I32, c);
        self.push(v);
        Ok(())
    }

    /// `ref.func`: the address of the function's `VMFuncRef`.
    fn ref_func(&mut self, func: FuncIndex) -> Result<(), CompileError> {
        let v = self.env.func_ref_addr(&mut self.b, func);
        self.push(v);
        Ok(())
    }
}
