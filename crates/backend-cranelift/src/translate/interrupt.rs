//! Fuel metering and epoch interruption: the checks emitted at function entry
//! and at every loop header when [`Tunables::consume_fuel`] or
//! [`Tunables::epoch_interruption`] is set. The semantics (what costs fuel,
//! when it is charged, when `out_of_fuel` and `new_epoch` are called) are
//! specified on those two fields; this file implements them.
//!
//! Fuel lives in a Cranelift variable while a function runs. It is loaded
//! from the store context at entry, increased by the cost of each
//! straight-line region when the region ends (the translator counts a
//! region's operators at compile time), written back to the store context at
//! every check point, before every call and before returning, and reloaded
//! after every call (the callee charged its own operators in the store).
//!
//! [`Tunables::consume_fuel`]: tandem_environ::Tunables::consume_fuel
//! [`Tunables::epoch_interruption`]: tandem_environ::Tunables::epoch_interruption

use super::Translator;
use crate::env::mutable_field;
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{InstBuilder, types};
use tandem_environ::wasmparser::Operator;
use tandem_environ::{Libcall, VMOffsets};

use tandem_environ::fuel::{ends_region, operator_cost as fuel_cost};

impl Translator<'_, '_> {
    /// Emits the function-entry checks: charges the entry's unit of fuel,
    /// then checks fuel and the epoch deadline.
    pub(super) fn entry_checks(&mut self) {
        if self.env.tunables.consume_fuel {
            let var = self.b.declare_var(types::I64);
            self.fuel = Some(var);
            self.fuel_reload();
            self.fuel_pending = 1;
        }
        self.checks();
    }

    /// Accounts for a reachable operator before it is translated: adds its
    /// cost and, if it ends a region, charges the region (and writes the
    /// fuel back to the store before calls and `return`).
    pub(super) fn charge_fuel(&mut self, op: &Operator<'_>) {
        if self.fuel.is_some() {
            self.fuel_pending += fuel_cost(op);
            if ends_region(op) {
                self.fuel_flush();
            }
            if is_call(op) || matches!(op, Operator::Return) {
                self.fuel_save();
            }
        }
    }

    /// Finishes an operator: reloads fuel after a call, emits the loop
    /// header's checks, and forgets the cost of a region that ended in a
    /// trap.
    pub(super) fn finish_operator(&mut self, op: &Operator<'_>) {
        if !self.reachable {
            // `unreachable` ends its region with a trap: nothing to charge.
            self.fuel_pending = 0;
            return;
        }
        if is_call(op) {
            self.fuel_reload();
        }
        if matches!(op, Operator::Loop { .. }) {
            self.checks();
        }
    }

    /// Writes the fuel back to the store before the function returns.
    pub(super) fn before_return(&mut self) {
        self.fuel_flush();
        self.fuel_save();
    }

    /// The checks of a check point (function entry or loop header).
    fn checks(&mut self) {
        if self.fuel.is_some() {
            self.fuel_check();
        }
        if self.env.tunables.epoch_interruption {
            self.epoch_check();
        }
    }

    /// The store context pointer (a constant VMContext field).
    fn store_context(&mut self) -> cranelift_codegen::ir::Value {
        self.env
            .load_vmctx_ptr(&mut self.b, VMOffsets::VMCTX_STORE_CONTEXT)
    }

    /// Loads the 64-bit store-context field at `offset`. Never hoisted or
    /// merged: Wasm calls and the host change these fields.
    fn load_store_field(&mut self, offset: u32) -> cranelift_codegen::ir::Value {
        let store = self.store_context();
        self.b
            .ins()
            .load(types::I64, mutable_field(), store, offset as i32)
    }

    /// Adds the pending region cost to the fuel variable.
    fn fuel_flush(&mut self) {
        let Some(var) = self.fuel else { return };
        if self.fuel_pending != 0 {
            let fuel = self.b.use_var(var);
            let fuel = self.b.ins().iadd_imm_s(fuel, self.fuel_pending);
            self.b.def_var(var, fuel);
            self.fuel_pending = 0;
        }
    }

    /// Writes the fuel variable to the store context.
    fn fuel_save(&mut self) {
        let Some(var) = self.fuel else { return };
        let fuel = self.b.use_var(var);
        let store = self.store_context();
        self.b.ins().store(
            mutable_field(),
            fuel,
            store,
            VMOffsets::STORE_FUEL_CONSUMED as i32,
        );
    }

    /// Reloads the fuel variable from the store context (at entry, and
    /// after a call).
    fn fuel_reload(&mut self) {
        let Some(var) = self.fuel else { return };
        let fuel = self.load_store_field(VMOffsets::STORE_FUEL_CONSUMED);
        self.b.def_var(var, fuel);
    }

    /// Charges what is pending, saves the fuel, and calls `out_of_fuel` if
    /// more was consumed than the store had.
    fn fuel_check(&mut self) {
        let Some(var) = self.fuel else { return };
        self.fuel_flush();
        self.fuel_save();
        let fuel = self.b.use_var(var);
        let exhausted = self.b.ins().icmp_imm_s(IntCC::SignedGreaterThan, fuel, 0);
        let slow = self.b.create_block();
        let cont = self.b.create_block();
        self.b.set_cold_block(slow);
        self.b.ins().brif(exhausted, slow, &[], cont, &[]);
        self.b.switch_to_block(slow);
        self.b.seal_block(slow);
        self.env
            .call_libcall(&mut self.b, Libcall::out_of_fuel, &[]);
        // `out_of_fuel` returns only if it refuelled the store.
        self.fuel_reload();
        self.b.ins().jump(cont, &[]);
        self.b.switch_to_block(cont);
        self.b.seal_block(cont);
    }

    /// Compares the engine's epoch with the store's deadline and calls
    /// `new_epoch` once the deadline is reached.
    fn epoch_check(&mut self) {
        let counter = self
            .env
            .load_vmctx_ptr(&mut self.b, VMOffsets::VMCTX_EPOCH_COUNTER);
        // A plain aligned 64-bit load is atomic on x86-64. Neither load may
        // be hoisted out of a loop: the flags are not `readonly`/`can_move`.
        let epoch = self.b.ins().load(types::I64, mutable_field(), counter, 0);
        let deadline = self.load_store_field(VMOffsets::STORE_EPOCH_DEADLINE);
        let reached = self
            .b
            .ins()
            .icmp(IntCC::UnsignedGreaterThanOrEqual, epoch, deadline);
        let slow = self.b.create_block();
        let cont = self.b.create_block();
        self.b.set_cold_block(slow);
        self.b.ins().brif(reached, slow, &[], cont, &[]);
        self.b.switch_to_block(slow);
        self.b.seal_block(slow);
        // The host may look at (or refill) fuel while handling the epoch.
        self.fuel_save();
        // The new deadline is also in the store context, where the next
        // check reads it; the returned copy is not needed.
        self.env.call_libcall(&mut self.b, Libcall::new_epoch, &[]);
        self.fuel_reload();
        self.b.ins().jump(cont, &[]);
        self.b.switch_to_block(cont);
        self.b.seal_block(cont);
    }
}

/// `call` or `call_indirect`: the callee charges its own operators in the
/// store, so fuel is saved before and reloaded after.
fn is_call(op: &Operator<'_>) -> bool {
    matches!(op, Operator::Call { .. } | Operator::CallIndirect { .. })
}
