//! Locals (Cranelift variables, so SSA construction is the frontend's job)
//! and globals (16-byte slots in the VMContext, or behind a pointer when
//! imported).

use super::Translator;
use crate::env::{constant_field, ir_type, mutable_field};
use cranelift_codegen::ir::InstBuilder;
use cranelift_frontend::Variable;
use tandem_codegen_api::CompileError;
use tandem_codegen_api::lower::LowerVariable;
use tandem_environ::GlobalIndex;

impl Translator<'_, '_> {
    /// The variable of local `index`.
    fn local(&self, index: u32) -> Result<Variable, CompileError> {
        self.bufs
            .locals
            .get(index as usize)
            .copied()
            .ok_or_else(|| crate::codegen_error("local index out of range"))
    }
}

impl LowerVariable for Translator<'_, '_> {
    /// `local.get`.
    fn local_get(&mut self, index: u32) -> Result<(), CompileError> {
        let var = self.local(index)?;
        let v = self.b.use_var(var);
        self.push(v);
        Ok(())
    }

    /// `local.set`.
    fn local_set(&mut self, index: u32) -> Result<(), CompileError> {
        let var = self.local(index)?;
        let v = self.pop()?;
        self.b.def_var(var, v);
        Ok(())
    }

    /// `local.tee`.
    fn local_tee(&mut self, index: u32) -> Result<(), CompileError> {
        let var = self.local(index)?;
        let v = *self
            .bufs
            .stack
            .last()
            .ok_or_else(|| crate::codegen_error("operand stack underflow"))?;
        self.b.def_var(var, v);
        Ok(())
    }

    /// `global.get`.
    fn global_get(&mut self, index: GlobalIndex) -> Result<(), CompileError> {
        let ty = (self.env.module.global_type(index))
            .ok_or_else(|| crate::codegen_error("global index out of range"))?;
        let ir_ty = ir_type(ty.content);
        let flags = if ty.mutable {
            mutable_field()
        } else {
            constant_field()
        };
        let def = self.env.global_def(&mut self.b, index);
        let v = self.b.ins().load(ir_ty, flags, def.base, def.offset);
        self.push(v);
        Ok(())
    }

    /// `global.set`.
    fn global_set(&mut self, index: GlobalIndex) -> Result<(), CompileError> {
        let v = self.pop()?;
        let def = self.env.global_def(&mut self.b, index);
        self.b.ins().store(mutable_field(), v, def.base, def.offset);
        Ok(())
    }
}
