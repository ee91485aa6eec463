//! Linear memory: loads, stores, `memory.size`, and the operators that call
//! libcalls (`memory.grow`, `memory.fill`, `memory.copy`, `memory.init`,
//! `data.drop`).
//!
//! Addresses are `base + zero_extend(index) + offset`. With
//! [`BoundsChecks::Guarded`](tandem_environ::BoundsChecks) the reservation's
//! guard catches every access whose offset it covers, so those need no
//! check; otherwise `index + offset + size <= current_length` is checked
//! before the access.

use super::Translator;
use crate::env::{POINTER, constant_field, mutable_field, num_type};
use crate::isa::ir_trap;
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{Endianness, InstBuilder, MemFlagsData, Value, types};
use tandem_codegen_api::CompileError;
use tandem_codegen_api::lower::{Load, LowerMemory, Store, Width};
use tandem_environ::wasmparser::{MemArg, MemArgTarget};
use tandem_environ::{BoundsChecks, DataIndex, Libcall, MemoryIndex, TrapCode, VMOffsets};

/// Flags of a Wasm load or store: little-endian, possibly unaligned, trapping
/// as an out-of-bounds memory access.
pub(super) fn heap_flags() -> MemFlagsData {
    MemFlagsData::new()
        .with_endianness(Endianness::Little)
        .with_trap_code(Some(ir_trap(TrapCode::MemoryOutOfBounds)))
}

impl Translator<'_, '_> {
    /// Rejects memories this backend cannot access.
    fn check_memory(&self, index: MemoryIndex) -> Result<(), CompileError> {
        let ty = self
            .env
            .module
            .memories
            .get(index.index())
            .ok_or_else(|| crate::codegen_error("memory index out of range"))?;
        if ty.memory64 {
            return Err(self.unsupported("memory64"));
        }
        if ty.shared {
            return Err(self.unsupported("shared memories"));
        }
        Ok(())
    }

    /// Pops the index operand and returns the address and offset immediate
    /// of a `size`-byte access, bounds-checked as the tunables require.
    pub(super) fn heap_addr(
        &mut self,
        memarg: &MemArg,
        size: u32,
    ) -> Result<(Value, i32), CompileError> {
        let index = match memarg.target {
            MemArgTarget::Memory(i) => MemoryIndex::from_u32(i),
            MemArgTarget::Array(_) => return Err(self.unsupported("GC array accesses")),
        };
        self.check_memory(index)?;
        let wasm_index = self.pop()?;
        let index64 = self.b.ins().uextend(types::I64, wasm_index);
        let def = self.env.memory_def(&mut self.b, index);
        let guarded = self.env.tunables.bounds_checks == BoundsChecks::Guarded;
        let base_flags = if guarded {
            constant_field()
        } else {
            mutable_field()
        };
        let base = self.b.ins().load(
            POINTER,
            base_flags,
            def.base,
            def.field(VMOffsets::MEMORY_BASE),
        );
        let offset = memarg.offset;
        if !self
            .env
            .tunables
            .guard_covers_offset(offset, u64::from(size))
        {
            let len = self.b.ins().load(
                POINTER,
                mutable_field(),
                def.base,
                def.field(VMOffsets::MEMORY_CURRENT_LENGTH),
            );
            // index < 2^32 and offset < 2^32 (memory32): no overflow.
            let end = self
                .b
                .ins()
                .iadd_imm_u(index64, (offset + u64::from(size)) as i64);
            let oob = self.b.ins().icmp(IntCC::UnsignedGreaterThan, end, len);
            self.b
                .ins()
                .trapnz(oob, ir_trap(TrapCode::MemoryOutOfBounds));
        }
        let addr = self.b.ins().iadd(base, index64);
        Ok(match i32::try_from(offset) {
            Ok(imm) => (addr, imm),
            Err(_) => (self.b.ins().iadd_imm_u(addr, offset as i64), 0),
        })
    }

    /// An i32 constant for an index immediate.
    pub(super) fn index_const(&mut self, index: u32) -> Value {
        self.b.ins().iconst(types::I32, i64::from(index))
    }

    /// Zero-extends an i32 address or length to the libcalls' i64.
    fn widen(&mut self, v: Value) -> Value {
        self.b.ins().uextend(types::I64, v)
    }

    /// Calls `libcall` (VMContext first) and pushes its result, if any.
    pub(super) fn libcall(&mut self, libcall: Libcall, args: &[Value]) -> Option<Value> {
        self.env.call_libcall(&mut self.b, libcall, args)
    }
}

impl LowerMemory for Translator<'_, '_> {
    /// A scalar load (sign- or zero-extended when narrower than its type).
    fn load(&mut self, load: Load, memarg: &MemArg) -> Result<(), CompileError> {
        let ty = num_type(load.ty);
        let (addr, offset) = self.heap_addr(memarg, u32::from(load.width.bytes()))?;
        let flags = heap_flags();
        let ins = self.b.ins();
        let v = match (load.is_narrow(), load.width, load.signed) {
            (false, _, _) => ins.load(ty, flags, addr, offset),
            (true, Width::W8, true) => ins.sload8(ty, flags, addr, offset),
            (true, Width::W8, false) => ins.uload8(ty, flags, addr, offset),
            (true, Width::W16, true) => ins.sload16(ty, flags, addr, offset),
            (true, Width::W16, false) => ins.uload16(ty, flags, addr, offset),
            (true, Width::W32 | Width::W64, true) => ins.sload32(flags, addr, offset),
            (true, Width::W32 | Width::W64, false) => ins.uload32(flags, addr, offset),
        };
        self.push(v);
        Ok(())
    }

    /// A scalar store (of the low bytes when narrower than its type).
    fn store(&mut self, store: Store, memarg: &MemArg) -> Result<(), CompileError> {
        let value = self.pop()?;
        let (addr, offset) = self.heap_addr(memarg, u32::from(store.width.bytes()))?;
        let flags = heap_flags();
        let ins = self.b.ins();
        match (store.is_narrow(), store.width) {
            (false, _) => ins.store(flags, value, addr, offset),
            (true, Width::W8) => ins.istore8(flags, value, addr, offset),
            (true, Width::W16) => ins.istore16(flags, value, addr, offset),
            (true, Width::W32 | Width::W64) => ins.istore32(flags, value, addr, offset),
        };
        Ok(())
    }

    /// `memory.size`: the current length in 64 KiB pages.
    fn memory_size(&mut self, index: MemoryIndex) -> Result<(), CompileError> {
        self.check_memory(index)?;
        let def = self.env.memory_def(&mut self.b, index);
        let len = self.b.ins().load(
            POINTER,
            mutable_field(),
            def.base,
            def.field(VMOffsets::MEMORY_CURRENT_LENGTH),
        );
        let pages = self.b.ins().ushr_imm_u(len, 16);
        let v = self.b.ins().ireduce(types::I32, pages);
        self.push(v);
        Ok(())
    }

    /// `memory.grow`: the old size in pages, or -1.
    fn memory_grow(&mut self, index: MemoryIndex) -> Result<(), CompileError> {
        self.check_memory(index)?;
        let delta = self.pop()?;
        let delta = self.widen(delta);
        let mem = self.index_const(index.as_u32());
        let old = self
            .libcall(Libcall::memory_grow, &[mem, delta])
            .ok_or_else(|| crate::codegen_error("memory_grow returns nothing"))?;
        let v = self.b.ins().ireduce(types::I32, old);
        self.push(v);
        Ok(())
    }

    /// `memory.fill`.
    fn memory_fill(&mut self, index: MemoryIndex) -> Result<(), CompileError> {
        self.check_memory(index)?;
        let (dst, value, len) = self.pop3()?;
        let (dst, len) = (self.widen(dst), self.widen(len));
        let mem = self.index_const(index.as_u32());
        self.libcall(Libcall::memory_fill, &[mem, dst, value, len]);
        Ok(())
    }

    /// `memory.copy`.
    fn memory_copy(
        &mut self,
        dst_index: MemoryIndex,
        src_index: MemoryIndex,
    ) -> Result<(), CompileError> {
        self.check_memory(dst_index)?;
        self.check_memory(src_index)?;
        let (dst, src, len) = self.pop3()?;
        let (dst, src, len) = (self.widen(dst), self.widen(src), self.widen(len));
        let dst_mem = self.index_const(dst_index.as_u32());
        let src_mem = self.index_const(src_index.as_u32());
        self.libcall(Libcall::memory_copy, &[dst_mem, dst, src_mem, src, len]);
        Ok(())
    }

    /// `memory.init`.
    fn memory_init(&mut self, index: MemoryIndex, data: DataIndex) -> Result<(), CompileError> {
        self.check_memory(index)?;
        let (dst, src, len) = self.pop3()?;
        let dst = self.widen(dst);
        let mem = self.index_const(index.as_u32());
        let data = self.index_const(data.as_u32());
        self.libcall(Libcall::memory_init, &[mem, data, dst, src, len]);
        Ok(())
    }

    /// `data.drop`.
    fn data_drop(&mut self, data: DataIndex) -> Result<(), CompileError> {
        let data = self.index_const(data.as_u32());
        self.libcall(Libcall::data_drop, &[data]);
        Ok(())
    }
}
