//! Calling exports for the api target and keeping the fuel model.

use super::host::HostData;
use super::{Live, Step, Tagged, cost};
use crate::Counters;
use rand::RngExt;
use rand::rngs::SmallRng;
use tandem_store::{ExternRef, StoreContext, TrapCode, Val};

pub(super) fn tag_of<'a>(
    e: &ExternRef,
    store: impl Into<StoreContext<'a, HostData>>,
) -> Result<u32, String> {
    e.data(store)
        .map_err(|err| format!("externref data: {err:#}"))?
        .and_then(|data| data.downcast_ref::<Tagged>())
        .map(|t| t.tag)
        .ok_or_else(|| "an externref of another type".to_string())
}

pub(super) fn check(ok: bool, message: impl FnOnce() -> String) -> Step {
    if ok { Ok(()) } else { Err(message()) }
}

pub(super) fn pick_address(rng: &mut SmallRng, size: u32) -> u32 {
    match rng.random_range(0..4) {
        0 => size.wrapping_sub(rng.random_range(0..8)),
        1 => size + rng.random_range(0..8),
        2 => u32::MAX - rng.random_range(0..8),
        _ => rng.random_range(0..size),
    }
}

/// How a call ended.
#[derive(Debug)]
pub(super) enum CallResult {
    Value(i32),
    Trap(TrapCode),
    /// Failed otherwise (the message shows in findings, through `Debug`).
    Error(#[allow(dead_code, reason = "read through Debug")] String),
}

impl From<tandem_store::Result<i32>> for CallResult {
    fn from(r: tandem_store::Result<i32>) -> CallResult {
        match r {
            Ok(v) => CallResult::Value(v),
            Err(e) => match e.downcast_ref::<TrapCode>() {
                Some(code) => CallResult::Trap(*code),
                None => CallResult::Error(format!("{e:#}")),
            },
        }
    }
}

impl CallResult {
    pub(super) fn expect_value(self, ctx: &str) -> Result<i32, String> {
        match self {
            CallResult::Value(v) => Ok(v),
            other => Err(format!("{ctx}: expected a value, got {other:?}")),
        }
    }

    pub(super) fn expect_ok(self, ctx: &str) -> Step {
        self.expect_value(ctx).map(|_| ())
    }

    pub(super) fn expect_trap(self, ctx: &str, code: TrapCode) -> Step {
        match self {
            CallResult::Trap(c) if c == code => Ok(()),
            other => Err(format!("{ctx}: expected a {code:?} trap, got {other:?}")),
        }
    }
}

/// Whether a store with fuel has at least `needed` (stores without fuel
/// always do); when it does not, the caller skips the call.
pub(super) fn has_fuel(live: &Live, needed: u64) -> bool {
    live.fuel.is_none_or(|fuel| fuel >= needed) && live.deadline.is_none()
}

/// Calls export `name` of instance `i` with i32 arguments (typed or not),
/// keeping the fuel model: a call whose cost exceeds the fuel left is not
/// made (the interrupt steps test running out), and the fuel left after
/// must be exactly the model's.
pub(super) fn call(
    live: &mut Live,
    i: usize,
    name: &str,
    args: &[i32],
    typed: bool,
    counters: &mut Counters,
) -> Result<Option<CallResult>, String> {
    let callee_cost = |live: &Live| -> u64 {
        match name {
            "call_tab" => {
                let callee = live.model[i]
                    .tab
                    .get(args[0] as u32 as usize)
                    .copied()
                    .flatten();
                4 + callee.map_or(0, |(_, f)| cost(f, 0))
            }
            _ => cost(name, args.first().copied().unwrap_or(0)),
        }
    };
    let needed = callee_cost(live);
    if !has_fuel(live, needed) {
        // Out of budget, or a deadline pending: the interrupt steps test
        // those; this step is skipped.
        return Ok(None);
    }
    let func = live.instances[i]
        .get_func(&mut live.store, name)
        .ok_or_else(|| format!("no export {name}"))?;
    counters.add("calls", 1);
    let result = match (typed, args) {
        (true, [a]) if matches!(name, "set_g" | "burn") => CallResult::from(
            func.typed::<i32, ()>(&live.store)
                .map_err(|e| format!("{e:#}"))?
                .call(&mut live.store, *a)
                .map(|()| 0),
        ),
        (true, [a]) => CallResult::from(
            func.typed::<i32, i32>(&live.store)
                .map_err(|e| format!("{e:#}"))?
                .call(&mut live.store, *a),
        ),
        (true, [a, b]) if name == "call_tab" => CallResult::from(
            func.typed::<(i32, i32), i32>(&live.store)
                .map_err(|e| format!("{e:#}"))?
                .call(&mut live.store, (*a, *b)),
        ),
        _ => {
            let params: Vec<Val> = args.iter().map(|&a| Val::I32(a)).collect();
            let ty = func.ty(&live.store);
            let mut results: Vec<Val> = ty.results().map(Val::default_for).collect();
            CallResult::from(
                func.call(&mut live.store, &params, &mut results)
                    .map(|()| results.first().and_then(Val::i32).unwrap_or(0)),
            )
        }
    };
    spend(live, needed, matches!(result, CallResult::Value(_)), name)?;
    Ok(Some(result))
}

/// Updates the fuel model after a call that cost `needed` if it returned
/// (`ok`): the fuel left must then be exactly the model's; a trap may stop
/// before charging everything, so the model takes the store's figure.
pub(super) fn spend(live: &mut Live, needed: u64, ok: bool, what: &str) -> Step {
    let Some(fuel) = &mut live.fuel else {
        return Ok(());
    };
    let left = live.store.get_fuel().map_err(|e| format!("{e:#}"))?;
    if ok {
        *fuel -= needed;
        check(left == *fuel, || {
            format!(
                "{what} should cost {needed} fuel: {left} left, expected {}",
                *fuel
            )
        })?;
    }
    *fuel = left;
    Ok(())
}
