//! Linear memory: loads, stores, `memory.size`, and the operators that call
//! libcalls (`memory.grow`, `memory.fill`, `memory.copy`, `memory.init`,
//! `data.drop`).
//!
//! Memory 0's base lives in `r15` for the whole function (memories never
//! move). An access is `[base + zero_extend(index) + offset]`; when the
//! guard region covers the offset the faulting instruction is recorded as a
//! `MemoryOutOfBounds` trap site, otherwise `index + offset + size` is
//! compared with the current length first.

use super::CodeGen;
use crate::isa::x64::regs::{HEAP_BASE, Reg, SCRATCH, VMCTX};
use crate::masm::{Address, AluOp, Cond, Extend, MacroAssembler, Operand, Size, StoreSize};
use crate::stack::{Ty, Val};
use tandem_codegen_api::CompileError;
use tandem_codegen_api::lower::{Load, LowerMemory, Store, Width};
use tandem_environ::{DataIndex, Libcall, MemoryIndex, TrapCode, VMOffsets};
use wasmparser::MemArg;

/// How a narrow load widens its bytes.
fn extension(load: Load) -> Extend {
    match (load.width, load.signed) {
        (Width::W8, true) => Extend::S8,
        (Width::W8, false) => Extend::U8,
        (Width::W16, true) => Extend::S16,
        (Width::W16, false) => Extend::U16,
        (Width::W32 | Width::W64, true) => Extend::S32,
        (Width::W32 | Width::W64, false) => Extend::U32,
    }
}

impl CodeGen<'_, '_> {
    /// Where memory `index`'s `VMMemoryDefinition` is; loads the import's
    /// pointer into `tmp` if needed.
    pub fn memory_def_addr(&mut self, index: MemoryIndex, tmp: Reg) -> Address {
        match self.env.module.defined_memory_index(index) {
            Some(def) => Address::base_disp(VMCTX, self.env.offsets.defined_memory(def) as i32),
            None => {
                let at = self.env.offsets.imported_memory(index) as i32;
                self.masm
                    .mov(Size::S64, tmp, Operand::Mem(Address::base_disp(VMCTX, at)));
                Address::base_disp(tmp, 0)
            }
        }
    }

    /// Checks the memory immediate and returns the memory index.
    fn memory_of(&self, memarg: &MemArg) -> Result<MemoryIndex, CompileError> {
        let index = match memarg.target {
            wasmparser::MemArgTarget::Memory(i) => MemoryIndex::from_u32(i),
            _ => return Err(self.unsupported("GC array accesses")),
        };
        let ty = self
            .env
            .module
            .memories
            .get(index.index())
            .ok_or_else(|| self.bug("memory index out of range"))?;
        if ty.memory64 {
            return Err(self.unsupported("memory64"));
        }
        if ty.shared {
            return Err(self.unsupported("shared memories"));
        }
        if index.as_u32() != 0 {
            return Err(self.unsupported("multiple memories"));
        }
        Ok(index)
    }

    /// Pops the index and returns the address of a `size`-byte access
    /// (checked as the tunables require) and the register to free after it.
    fn heap_addr(
        &mut self,
        memarg: &MemArg,
        size: u32,
    ) -> Result<(Address, Option<Reg>), CompileError> {
        let mem = self.memory_of(memarg)?;
        let (_, index) = self.pop()?;
        let offset = memarg.offset;
        let guarded = self
            .env
            .tunables
            .guard_covers_offset(offset, u64::from(size));
        if guarded
            && let Val::Const(c) = index
            && let Ok(disp) = i32::try_from(u64::from(c as u32) + offset)
        {
            return Ok((Address::base_disp(HEAP_BASE, disp), None));
        }
        // An i32 local's register is zero-extended: index with it in place.
        if guarded
            && let Val::LocalReg(r) = index
            && let Ok(disp) = i32::try_from(offset)
        {
            return Ok((Address::indexed(HEAP_BASE, r, 1, disp), None));
        }
        let idx = self.owned_reg(Ty::I32, index)?;
        if !guarded {
            // index + offset + size <= current_length, in 64 bits.
            let end = self.alloc(false)?;
            self.masm.mov_imm64(end, (offset + u64::from(size)) as i64);
            self.masm.alu(AluOp::Add, Size::S64, end, Operand::Reg(idx));
            let def = self.memory_def_addr(mem, SCRATCH);
            self.masm.cmp(
                Size::S64,
                Operand::Reg(end),
                Operand::Mem(def.offset(VMOffsets::MEMORY_CURRENT_LENGTH as i32)),
            );
            let oob = self.trap_label(TrapCode::MemoryOutOfBounds);
            self.masm.jcc(Cond::Above, oob);
            self.regs.free(end);
        }
        match i32::try_from(offset) {
            Ok(disp) => Ok((Address::indexed(HEAP_BASE, idx, 1, disp), Some(idx))),
            Err(_) => {
                self.masm.mov_imm64(SCRATCH, offset as i64);
                self.masm
                    .alu(AluOp::Add, Size::S64, idx, Operand::Reg(SCRATCH));
                Ok((Address::indexed(HEAP_BASE, idx, 1, 0), Some(idx)))
            }
        }
    }

    /// Pops `n` operands into an array, deepest first.
    pub fn pop_n<const N: usize>(&mut self) -> Result<[(Ty, Val); N], CompileError> {
        let mut out = [(Ty::I32, Val::Const(0)); N];
        for slot in out.iter_mut().rev() {
            *slot = self.pop()?;
        }
        Ok(out)
    }
}

impl LowerMemory for CodeGen<'_, '_> {
    /// A scalar load.
    fn load(&mut self, load: Load, memarg: &MemArg) -> Result<(), CompileError> {
        let ty = Ty::from(load.ty);
        let (addr, tmp) = self.heap_addr(memarg, u32::from(load.width.bytes()))?;
        let dest = self.result_dest(ty, tmp)?;
        let dst = dest.reg();
        let at = self.masm.offset();
        if load.is_narrow() {
            self.masm.load_extend(extension(load), ty.size(), dst, addr);
        } else if ty.is_float() {
            self.masm.fload(ty.fsize(), dst, addr);
        } else {
            self.masm.mov(ty.size(), dst, Operand::Mem(addr));
        }
        self.trap_site(at, TrapCode::MemoryOutOfBounds);
        self.finish_dest(ty, dest);
        Ok(())
    }

    /// A scalar store of the popped value.
    fn store(&mut self, store: Store, memarg: &MemArg) -> Result<(), CompileError> {
        let bytes = store.width.bytes();
        let (ty, v) = self.pop()?;
        // Put the value in a register or immediate before the address
        // computation uses the scratch register.
        let src = match v {
            Val::Const(c) if !ty.is_float() && (ty == Ty::I32 || i32::try_from(c).is_ok()) => {
                Operand::Imm(c as i32)
            }
            Val::Const(c) if ty.is_float() && bytes == 4 => Operand::Imm(c as i32),
            Val::Const(c) if ty.is_float() && i32::try_from(c).is_ok() => Operand::Imm(c as i32),
            // A local's register is read in place (freeing it is a no-op).
            Val::LocalReg(r) => Operand::Reg(r),
            _ => Operand::Reg(self.owned_reg(ty, v)?),
        };
        let (addr, tmp) = self.heap_addr(memarg, u32::from(bytes))?;
        let at = self.masm.offset();
        match src {
            Operand::Reg(r) if ty.is_float() => self.masm.fstore(ty.fsize(), addr, r),
            _ => {
                let size = match store.width {
                    Width::W8 => StoreSize::B8,
                    Width::W16 => StoreSize::B16,
                    Width::W32 => StoreSize::B32,
                    Width::W64 => StoreSize::B64,
                };
                self.masm.store(size, addr, src);
            }
        }
        self.trap_site(at, TrapCode::MemoryOutOfBounds);
        if let Some(t) = tmp {
            self.regs.free(t);
        }
        if let Operand::Reg(r) = src {
            self.regs.free(r);
        }
        Ok(())
    }

    /// `memory.size`: the current length in 64 KiB pages.
    fn memory_size(&mut self, mem: MemoryIndex) -> Result<(), CompileError> {
        let dst = self.alloc(false)?;
        let def = self.memory_def_addr(mem, dst);
        self.masm.mov(
            Size::S64,
            dst,
            Operand::Mem(def.offset(VMOffsets::MEMORY_CURRENT_LENGTH as i32)),
        );
        self.masm
            .shift(crate::masm::ShiftOp::Shr, Size::S64, dst, Some(16));
        self.push_reg(Ty::I32, dst);
        Ok(())
    }

    /// `memory.grow`.
    fn memory_grow(&mut self, mem: MemoryIndex) -> Result<(), CompileError> {
        let [delta] = self.pop_n::<1>()?;
        let r = self
            .libcall(
                Libcall::memory_grow,
                &[(Ty::I32, Val::Const(i64::from(mem.as_u32()))), delta],
            )?
            .ok_or_else(|| self.bug("memory_grow returns nothing"))?;
        self.masm.asm.mov_rr(Size::S32, r, r);
        self.push_reg(Ty::I32, r);
        Ok(())
    }

    /// `memory.fill`.
    fn memory_fill(&mut self, mem: MemoryIndex) -> Result<(), CompileError> {
        let [dst, val, len] = self.pop_n::<3>()?;
        let m = (Ty::I32, Val::Const(i64::from(mem.as_u32())));
        self.libcall(Libcall::memory_fill, &[m, dst, val, len])?;
        Ok(())
    }

    /// `memory.copy`.
    fn memory_copy(
        &mut self,
        dst_mem: MemoryIndex,
        src_mem: MemoryIndex,
    ) -> Result<(), CompileError> {
        let [dst, src, len] = self.pop_n::<3>()?;
        let d = (Ty::I32, Val::Const(i64::from(dst_mem.as_u32())));
        let s = (Ty::I32, Val::Const(i64::from(src_mem.as_u32())));
        self.libcall(Libcall::memory_copy, &[d, dst, s, src, len])?;
        Ok(())
    }

    /// `memory.init`.
    fn memory_init(&mut self, mem: MemoryIndex, data: DataIndex) -> Result<(), CompileError> {
        let [dst, src, len] = self.pop_n::<3>()?;
        let m = (Ty::I32, Val::Const(i64::from(mem.as_u32())));
        let d = (Ty::I32, Val::Const(i64::from(data.as_u32())));
        self.libcall(Libcall::memory_init, &[m, d, dst, src, len])?;
        Ok(())
    }

    /// `data.drop`.
    fn data_drop(&mut self, data: DataIndex) -> Result<(), CompileError> {
        let d = (Ty::I32, Val::Const(i64::from(data.as_u32())));
        self.libcall(Libcall::data_drop, &[d])?;
        Ok(())
    }
}
