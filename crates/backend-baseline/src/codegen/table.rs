//! Tables and references. Every element is one pointer (a `*mut VMFuncRef`
//! for funcref, a host pointer for externref, 0 for null). `table.get`,
//! `table.set` and `table.size` are inline; the others call libcalls.

use super::CodeGen;
use crate::isa::x64::regs::{Reg, SCRATCH, VMCTX};
use crate::masm::{Address, Cond, MacroAssembler, Operand, Size};
use crate::stack::{Ty, Val};
use tandem_codegen_api::CompileError;
use tandem_codegen_api::lower::LowerTable;
use tandem_environ::{ElemIndex, FuncIndex, Libcall, TableIndex, TrapCode, VMOffsets};
use wasmparser::HeapType;

impl CodeGen<'_, '_> {
    /// Where table `index`'s `VMTableDefinition` is (the import's pointer
    /// loaded into `tmp` if needed).
    fn table_def_addr(&mut self, index: TableIndex, tmp: Reg) -> Result<Address, CompileError> {
        if index.index() >= self.env.module.tables.len() {
            return Err(self.bug("table index out of range"));
        }
        Ok(match self.env.module.defined_table_index(index) {
            Some(d) => Address::base_disp(VMCTX, self.env.offsets.defined_table(d) as i32),
            None => {
                let at = self.env.offsets.imported_table(index) as i32;
                self.masm
                    .mov(Size::S64, tmp, Operand::Mem(Address::base_disp(VMCTX, at)));
                Address::base_disp(tmp, 0)
            }
        })
    }

    /// Loads element `index` of `table` into a register (reusing the
    /// index's), trapping with `trap` when out of bounds. With `store`, the
    /// element is not loaded and the register holds its address.
    fn table_access(
        &mut self,
        table: TableIndex,
        index: Val,
        trap: TrapCode,
        address_only: bool,
    ) -> Result<Reg, CompileError> {
        let idx = self.owned_reg(Ty::I32, index)?;
        let def = self.table_def_addr(table, SCRATCH)?;
        self.masm.cmp(
            Size::S64,
            Operand::Reg(idx),
            Operand::Mem(def.offset(VMOffsets::TABLE_CURRENT_ELEMENTS as i32)),
        );
        let oob = self.trap_label(trap);
        self.masm.jcc(Cond::AboveEq, oob);
        self.masm.mov(
            Size::S64,
            SCRATCH,
            Operand::Mem(def.offset(VMOffsets::TABLE_BASE as i32)),
        );
        let elem = Address::indexed(SCRATCH, idx, 8, 0);
        if address_only {
            self.masm.lea(idx, elem);
        } else {
            self.masm.mov(Size::S64, idx, Operand::Mem(elem));
        }
        Ok(idx)
    }

    /// Element `index` of `table`, bounds-checked with `trap`.
    pub fn table_element(
        &mut self,
        table: TableIndex,
        index: Val,
        trap: TrapCode,
    ) -> Result<Reg, CompileError> {
        self.table_access(table, index, trap, false)
    }

    /// An i32 immediate argument.
    fn imm(v: u32) -> (Ty, Val) {
        (Ty::I32, Val::Const(i64::from(v)))
    }
}

impl LowerTable for CodeGen<'_, '_> {
    /// `table.get`.
    fn table_get(&mut self, table: TableIndex) -> Result<(), CompileError> {
        let (_, index) = self.pop()?;
        let r = self.table_element(table, index, TrapCode::TableOutOfBounds)?;
        self.push_reg(Ty::I64, r);
        Ok(())
    }

    /// `table.set`.
    fn table_set(&mut self, table: TableIndex) -> Result<(), CompileError> {
        let (_, value) = self.pop()?;
        let (_, index) = self.pop()?;
        let value = Val::Reg(self.owned_reg(Ty::I64, value)?);
        let addr = self.table_access(table, index, TrapCode::TableOutOfBounds, true)?;
        self.store_val(Ty::I64, Address::base_disp(addr, 0), value);
        self.regs.free(addr);
        self.free(value);
        Ok(())
    }

    /// `table.size`.
    fn table_size(&mut self, table: TableIndex) -> Result<(), CompileError> {
        let dst = self.alloc(false)?;
        let def = self.table_def_addr(table, dst)?;
        self.masm.mov(
            Size::S32,
            dst,
            Operand::Mem(def.offset(VMOffsets::TABLE_CURRENT_ELEMENTS as i32)),
        );
        self.push_reg(Ty::I32, dst);
        Ok(())
    }

    /// `table.grow`.
    fn table_grow(&mut self, table: TableIndex) -> Result<(), CompileError> {
        let [init, delta] = self.pop_n::<2>()?;
        let r = self
            .libcall(
                Libcall::table_grow,
                &[Self::imm(table.as_u32()), delta, init],
            )?
            .ok_or_else(|| self.bug("table_grow returns nothing"))?;
        self.masm.asm.mov_rr(Size::S32, r, r);
        self.push_reg(Ty::I32, r);
        Ok(())
    }

    /// `table.fill`.
    fn table_fill(&mut self, table: TableIndex) -> Result<(), CompileError> {
        let [dst, val, len] = self.pop_n::<3>()?;
        self.libcall(
            Libcall::table_fill,
            &[Self::imm(table.as_u32()), dst, val, len],
        )?;
        Ok(())
    }

    /// `table.copy`.
    fn table_copy(
        &mut self,
        dst_table: TableIndex,
        src_table: TableIndex,
    ) -> Result<(), CompileError> {
        let [d, s, n] = self.pop_n::<3>()?;
        let args = [
            Self::imm(dst_table.as_u32()),
            Self::imm(src_table.as_u32()),
            d,
            s,
            n,
        ];
        self.libcall(Libcall::table_copy, &args)?;
        Ok(())
    }

    /// `table.init`.
    fn table_init(&mut self, table: TableIndex, elem: ElemIndex) -> Result<(), CompileError> {
        let [d, s, n] = self.pop_n::<3>()?;
        let args = [Self::imm(table.as_u32()), Self::imm(elem.as_u32()), d, s, n];
        self.libcall(Libcall::table_init, &args)?;
        Ok(())
    }

    /// `elem.drop`.
    fn elem_drop(&mut self, elem: ElemIndex) -> Result<(), CompileError> {
        self.libcall(Libcall::elem_drop, &[Self::imm(elem.as_u32())])?;
        Ok(())
    }

    /// `ref.null`: 0, whatever the type.
    fn ref_null(&mut self, _ty: HeapType) -> Result<(), CompileError> {
        self.push_const(Ty::I64, 0);
        Ok(())
    }

    /// `ref.is_null`: a comparison with 0, as `i64.eqz`.
    fn ref_is_null(&mut self) -> Result<(), CompileError> {
        self.eqz(Ty::I64)
    }

    /// `ref.func`: the address of the function's `VMFuncRef`.
    fn ref_func(&mut self, func: FuncIndex) -> Result<(), CompileError> {
        if func.index() >= self.env.module.functions.len() {
            return Err(self.bug("function index out of range"));
        }
        let dst = self.alloc(false)?;
        let at = self.env.offsets.func_ref(func) as i32;
        self.masm.lea(dst, Address::base_disp(VMCTX, at));
        self.push_reg(Ty::I64, dst);
        Ok(())
    }
}
