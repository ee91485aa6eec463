//! The fuel and epoch steps of the api target: starving, refuelling,
//! deadlines that fire, callbacks that extend them.

use super::calls::{CallResult, check, spend};
use super::{Live, Step, cost};
use crate::Counters;
use rand::RngExt;
use rand::rngs::SmallRng;
use std::sync::{Arc, Mutex};
use tandem_store::{Engine, TrapCode, UpdateDeadline};

#[allow(clippy::too_many_arguments)]
pub(super) fn interrupts(
    live: &mut Live,
    engine: &Engine,
    epochs_on: bool,
    epoch: Arc<Mutex<u64>>,
    rng: &mut SmallRng,
    ctx: &str,
    i: usize,
    log: &mut Vec<String>,
    counters: &mut Counters,
) -> Step {
    match rng.random_range(0..6) {
        0 if live.fuel.is_some() => {
            let fuel = rng.random_range(0..5000);
            log.push(format!("{ctx}: set fuel {fuel}"));
            live.store.set_fuel(fuel).map_err(|e| format!("{e:#}"))?;
            live.fuel = Some(fuel);
        }
        1 if live.fuel.is_some() && live.deadline.is_none() => {
            // Starved: a call traps at entry, changing nothing; with a
            // refuelling callback it runs.
            live.store.set_fuel(0).map_err(|e| format!("{e:#}"))?;
            let refuel = rng.random_bool(0.5).then(|| rng.random_range(1..50));
            log.push(format!("{ctx}: no fuel, refuel {refuel:?}, set_g(7)"));
            match refuel {
                Some(add) => live.store.out_of_fuel_callback(move |store| {
                    store.data_mut().callbacks += 1;
                    Ok(add)
                }),
                None => live.store.out_of_fuel_trap(),
            }
            live.refuel = refuel;
            let before = live.store.data().callbacks;
            let f = live.instances[i]
                .get_typed_func::<i32, ()>(&mut live.store, "set_g")
                .map_err(|e| format!("{e:#}"))?;
            let r = CallResult::from(f.call(&mut live.store, 7).map(|()| 0));
            counters.add("calls", 1);
            if refuel.is_some() {
                r.expect_ok(ctx)?;
                live.model[i].g = 7;
                check(live.store.data().callbacks > before, || {
                    format!("{ctx}: the fuel callback never ran")
                })?;
            } else {
                r.expect_trap(ctx, TrapCode::OutOfFuel)?;
            }
            live.store.out_of_fuel_trap();
            live.refuel = None;
            live.store.set_fuel(10_000).map_err(|e| format!("{e:#}"))?;
            live.fuel = Some(10_000);
            counters.add("fuel stops", 1);
        }
        2 if live.deadline.is_none() && epochs_on => {
            let ticks = rng.random_range(0..3);
            log.push(format!("{ctx}: deadline in {ticks} ticks"));
            live.store.set_epoch_deadline(ticks);
            live.deadline = Some(*epoch.lock().unwrap_or_else(|e| e.into_inner()) + ticks);
        }
        3 if epochs_on => {
            log.push("tick".to_string());
            engine.increment_epoch();
            *epoch.lock().unwrap_or_else(|e| e.into_inner()) += 1;
        }
        4 if live.deadline.is_some() => {
            // Call with the deadline reached or not: a trap at entry, or a
            // callback that extends it, or nothing yet.
            let now = *epoch.lock().unwrap_or_else(|e| e.into_inner());
            let due = live.deadline.is_some_and(|d| now >= d);
            let extend = rng.random_bool(0.5).then(|| rng.random_range(1..4));
            log.push(format!(
                "{ctx}: epoch {now}, deadline {:?}, extend {extend:?}, set_g(9)",
                live.deadline
            ));
            match extend {
                Some(ticks) => live.store.epoch_deadline_callback(move |store| {
                    store.data_mut().callbacks += 1;
                    Ok(UpdateDeadline::Continue(ticks))
                }),
                None => live.store.epoch_deadline_trap(),
            }
            live.extend = extend;
            if let Some(fuel) = live.fuel
                && fuel < cost("set_g", 0)
            {
                live.store.set_fuel(10_000).map_err(|e| format!("{e:#}"))?;
                live.fuel = Some(10_000);
            }
            let before = live.store.data().callbacks;
            let f = live.instances[i]
                .get_typed_func::<i32, ()>(&mut live.store, "set_g")
                .map_err(|e| format!("{e:#}"))?;
            let r = CallResult::from(f.call(&mut live.store, 9).map(|()| 0));
            counters.add("calls", 1);
            let returned = matches!(r, CallResult::Value(_));
            if due && extend.is_none() {
                r.expect_trap(ctx, TrapCode::Interrupt)?;
                counters.add("epoch traps", 1);
            } else {
                r.expect_ok(ctx)?;
                live.model[i].g = 9;
                if due {
                    check(live.store.data().callbacks > before, || {
                        format!("{ctx}: the epoch callback never ran")
                    })?;
                    counters.add("epoch extensions", 1);
                }
            }
            spend(live, cost("set_g", 0), returned, "set_g under a deadline")?;
            // Done with deadlines until the next one is set.
            live.store.set_epoch_deadline(u64::MAX / 2);
            live.deadline = None;
            live.store.epoch_deadline_trap();
        }
        _ => {}
    }
    Ok(())
}
