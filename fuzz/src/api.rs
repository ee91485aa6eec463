//! The `api` target: a random sequence of embedding calls checked against a
//! simple model of what each should do.
//!
//! A case makes up to three stores on one engine (fuel and epoch checks
//! on or off) and instantiates one module, compiled by *either* backend,
//! through `Instance::new`, a `Linker` or an `InstancePre`; instances of
//! both backends share a store, so funcrefs cross between them. Then it
//! calls exports (untyped and typed), sets globals from either side, reads,
//! writes and grows memory and tables from either side, puts functions of
//! other instances in tables and calls them through `call_indirect`
//! (identity: the callee must see *its* instance's global), passes host
//! externrefs through tables and globals and collects them (drop counters
//! say exactly which were freed), switches the host function between
//! returning, failing, panicking and calling back into Wasm, starves and
//! refuels, sets epoch deadlines that fire (trapping, or a callback that
//! extends them), overflows the stack, and drops stores and modules in
//! any order. Every result, trap, value and drop is checked.

mod calls;
mod host;
mod interrupts;

use crate::{Counters, Finding, Target};
use calls::{CallResult, call, check, has_fuel, pick_address, spend, tag_of};
use host::{HostData, HostFail, HostMode, HostPanic, host_func, linker};
use interrupts::interrupts;
use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tandem_store::{
    BackendKind, Config, Engine, ExternRef, Instance, InstancePre, Module, OwnedRooted, Ref,
    RootScope, Rooted, Store, TrapCode, Val,
};

/// The module every instance runs. Fuel costs (entry 1, every operator 1
/// but `block`, `loop`, `end`) are written beside each function.
pub const WAT: &str = r#"(module
  (import "host" "cb" (func $cb (param i32) (result i32)))
  (type $i2i (func (param i32) (result i32)))
  (memory (export "mem") 1 4)
  (table (export "tab") 4 16 funcref)
  (table (export "ext") 4 16 externref)
  (global $g (export "g") (mut i32) (i32.const 0))
  (global $e (export "e") (mut externref) (ref.null extern))
  (func (export "get_g") (type $i2i) global.get $g)                                   ;; 2
  (func (export "set_g") (param i32) local.get 0 global.set $g)                       ;; 3
  (func (export "double") (type $i2i) local.get 0 i32.const 2 i32.mul)                ;; 4
  (func (export "negate") (type $i2i) i32.const 0 local.get 0 i32.sub)                ;; 4
  (func (export "load") (param i32) (result i32) local.get 0 i32.load)                ;; 3
  (func (export "store") (param i32 i32) local.get 0 local.get 1 i32.store)           ;; 4
  (func (export "grow") (param i32) (result i32) local.get 0 memory.grow)             ;; 3
  (func (export "call_tab") (param i32 i32) (result i32)                              ;; 4 + callee
    local.get 1 local.get 0 call_indirect (type $i2i))
  (func (export "tab_copy") (param i32 i32 i32)                                       ;; 5
    local.get 0 local.get 1 local.get 2 table.copy 0 0)
  (func (export "ext_set") (param i32 externref) local.get 0 local.get 1 table.set 1) ;; 4
  (func (export "ext_get") (param i32) (result externref) local.get 0 table.get 1)    ;; 3
  (func (export "call_host") (param i32) (result i32)                                 ;; 5 + host
    local.get 0 call $cb i32.const 1 i32.add)
  (func (export "burn") (param i32)                                                   ;; 4 + 8n
    block loop
      local.get 0 i32.eqz br_if 1
      local.get 0 i32.const 1 i32.sub local.set 0 br 0
    end end)
  (func $rec (export "recurse") (param i32) (result i32)                              ;; 5 + 10n
    local.get 0 i32.eqz
    if (result i32) i32.const 0
    else local.get 0 i32.const 1 i32.sub call $rec i32.const 1 i32.add end)
)"#;

/// Fuel a new store gets (when fuel is on).
const START_FUEL: u64 = 20_000;

/// The functions a table may hold (all of type `$i2i`).
const TABLE_FUNCS: [&str; 3] = ["get_g", "double", "negate"];

/// The fuel a call of `name` with `arg` costs (see [`WAT`]).
fn cost(name: &str, arg: i32) -> u64 {
    match name {
        "get_g" => 2,
        "set_g" | "load" | "grow" | "ext_get" => 3,
        "double" | "negate" | "store" | "ext_set" => 4,
        "tab_copy" => 5,
        "burn" => 4 + 8 * arg as u64,
        "recurse" => 5 + 10 * arg as u64,
        _ => unreachable!("no fixed cost for {name}"),
    }
}

/// The payload of the fuzzer's externrefs: a tag, and a record of drops.
struct Tagged {
    tag: u32,
    dropped: Arc<Mutex<Vec<u32>>>,
}

impl Drop for Tagged {
    fn drop(&mut self) {
        self.dropped
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(self.tag);
    }
}

/// The model of one instance.
struct ModelInstance {
    g: i32,
    e: Option<u32>,
    mem: Vec<u8>,
    /// `(instance index in the store, function name)` per element.
    tab: Vec<Option<(usize, &'static str)>>,
    ext: Vec<Option<u32>>,
}

impl ModelInstance {
    fn new() -> ModelInstance {
        ModelInstance {
            g: 0,
            e: None,
            mem: vec![0; 1 << 16],
            tab: vec![None; 4],
            ext: vec![None; 4],
        }
    }
}

/// A store and its model.
struct Live {
    store: Store<HostData>,
    instances: Vec<Instance>,
    model: Vec<ModelInstance>,
    /// Externrefs the host holds, by tag.
    held: Vec<(u32, OwnedRooted<ExternRef>)>,
    /// Every tag created in this store.
    created: Vec<u32>,
    /// Fuel left, when fuel is on.
    fuel: Option<u64>,
    /// Epoch at which Wasm is interrupted, when set.
    deadline: Option<u64>,
    /// The epoch callback extends by this many ticks (`None`: trap).
    extend: Option<u64>,
    /// The fuel callback adds this much (`None`: trap).
    refuel: Option<u64>,
}

/// An engine, its module compiled by each backend, and the epoch it has
/// reached (only the fuzzer ticks it).
type EngineSet = (Engine, [Module; 2], Arc<Mutex<u64>>);

/// The engines of the api target, built once per worker.
#[derive(Default)]
pub struct Api {
    engines: HashMap<(bool, bool), EngineSet>,
}

/// How a step went wrong.
pub(super) type Step = Result<(), String>;

impl Api {
    /// Runs case `seed`.
    pub fn run(&mut self, seed: u64) -> Result<Counters, Finding> {
        let mut counters = Counters::default();
        let mut log = Vec::new();
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            self.case(seed, &mut counters, &mut log)
        }));
        let summary = match outcome {
            Ok(Ok(())) => return Ok(counters),
            Ok(Err(message)) => message,
            Err(panic) => format!("panic: {}", crate::panic_message(&*panic)),
        };
        Err(Finding {
            target: Target::Api,
            seed,
            summary,
            details: log.join("\n"),
            module: wat::parse_str(WAT).ok(),
        })
    }

    fn case(&mut self, seed: u64, counters: &mut Counters, log: &mut Vec<String>) -> Step {
        let mut rng = SmallRng::seed_from_u64(seed);
        let fuel_on = rng.random_bool(0.3);
        let epochs_on = rng.random_bool(0.3);
        let (engine, modules, epoch) = self.engine(fuel_on, epochs_on)?;
        let mut modules: Vec<Option<Module>> = modules.map(Some).to_vec();
        let dropped = Arc::new(Mutex::new(Vec::new()));
        let mut next_tag = 1u32;
        let mut stores: Vec<Option<Live>> = Vec::new();
        let mut pres: Vec<InstancePre<HostData>> = Vec::new();
        let steps = rng.random_range(10..80);
        counters.add("cases", 1);
        for _ in 0..steps {
            counters.add("steps", 1);
            let op = rng.random_range(0..24u32);
            // A store to act on, making one when there is none.
            if stores.iter().all(Option::is_none) || (op == 0 && stores.len() < 3) {
                log.push(format!(
                    "new store {} (fuel {fuel_on}, epochs {epochs_on})",
                    stores.len()
                ));
                stores.push(Some(new_store(&engine, fuel_on)));
                continue;
            }
            let live_stores: Vec<usize> =
                (0..stores.len()).filter(|&i| stores[i].is_some()).collect();
            let s = live_stores[rng.random_range(0..live_stores.len())];
            let live = stores[s].as_mut().expect("a live store");
            if live.instances.is_empty() || op == 1 {
                if live.instances.len() >= 4 {
                    continue;
                }
                let backend = rng.random_range(0..2usize);
                let Some(module) = modules[backend]
                    .clone()
                    .or_else(|| modules[1 - backend].clone())
                else {
                    // Both modules dropped: compile again.
                    let module = compile(&engine, backend)?;
                    modules[backend] = Some(module);
                    continue;
                };
                let how = rng.random_range(0..3);
                log.push(format!("store {s}: instantiate (way {how})"));
                let instance = match how {
                    0 => {
                        let cb = host_func(&mut live.store);
                        Instance::new(&mut live.store, &module, &[cb.into()])
                    }
                    1 => linker(&engine).instantiate(&mut live.store, &module),
                    _ => {
                        if pres.is_empty() || rng.random_bool(0.2) {
                            pres.push(
                                linker(&engine)
                                    .instantiate_pre(&module)
                                    .map_err(|e| format!("instantiate_pre: {e:#}"))?,
                            );
                        }
                        pres[rng.random_range(0..pres.len())].instantiate(&mut live.store)
                    }
                }
                .map_err(|e| format!("instantiation failed: {e:#}"))?;
                live.instances.push(instance);
                live.model.push(ModelInstance::new());
                counters.add("instances", 1);
                continue;
            }
            let i = rng.random_range(0..live.instances.len());
            let ctx = format!("store {s} instance {i}");
            match op {
                2 => {
                    log.push(format!("drop store {s}"));
                    let gone = stores[s].take().expect("live");
                    let created = gone.created.clone();
                    drop(gone);
                    let dropped = dropped.lock().unwrap_or_else(|e| e.into_inner());
                    for tag in created {
                        if !dropped.contains(&tag) {
                            return Err(format!("externref {tag} leaked: its store was dropped"));
                        }
                    }
                    counters.add("stores dropped", 1);
                }
                3 => {
                    let m = rng.random_range(0..2);
                    log.push(format!("drop module {m}"));
                    modules[m] = None;
                    pres.clear();
                }
                4 | 5 => {
                    let x: i32 = rng.random_range(-100..100);
                    let typed = op == 5;
                    log.push(format!("{ctx}: set_g({x}) typed {typed}"));
                    let Some(r) = call(live, i, "set_g", &[x], typed, counters)? else {
                        continue;
                    };
                    r.expect_ok(&ctx)?;
                    live.model[i].g = x;
                }
                6 => {
                    let x: i32 = rng.random();
                    log.push(format!("{ctx}: host sets g = {x}"));
                    let global = live.instances[i]
                        .get_global(&mut live.store, "g")
                        .ok_or("no g")?;
                    global
                        .set(&mut live.store, Val::I32(x))
                        .map_err(|e| format!("{ctx}: {e:#}"))?;
                    live.model[i].g = x;
                }
                7 => {
                    let typed = rng.random_bool(0.5);
                    log.push(format!("{ctx}: get_g typed {typed}"));
                    let expected = live.model[i].g;
                    let Some(r) = call(live, i, "get_g", &[0], typed, counters)? else {
                        continue;
                    };
                    let got = r.expect_value(&ctx)?;
                    check(got == expected, || {
                        format!("{ctx}: get_g returned {got}, the model says {expected}")
                    })?;
                    let host = live.instances[i]
                        .get_global(&mut live.store, "g")
                        .ok_or("no g")?
                        .get(&mut live.store);
                    check(host.i32() == Some(expected), || {
                        format!("{ctx}: host read g = {host:?}, expected {expected}")
                    })?;
                }
                8 => {
                    let size = live.model[i].mem.len() as u32;
                    let addr = pick_address(&mut rng, size);
                    let value: i32 = rng.random();
                    let wasm = rng.random_bool(0.5);
                    log.push(format!("{ctx}: store {value} at {addr} (wasm {wasm})"));
                    let in_bounds = u64::from(addr) + 4 <= u64::from(size);
                    if wasm {
                        let Some(r) =
                            call(live, i, "store", &[addr as i32, value], false, counters)?
                        else {
                            continue;
                        };
                        if in_bounds {
                            r.expect_ok(&ctx)?;
                        } else {
                            r.expect_trap(&ctx, TrapCode::MemoryOutOfBounds)?;
                        }
                    } else {
                        let memory = live.instances[i]
                            .get_memory(&mut live.store, "mem")
                            .ok_or("no mem")?;
                        let r = memory.write(&mut live.store, addr as usize, &value.to_le_bytes());
                        check(r.is_ok() == in_bounds, || {
                            format!("{ctx}: host write at {addr} of {size}: {r:?}")
                        })?;
                    }
                    if in_bounds {
                        live.model[i].mem[addr as usize..addr as usize + 4]
                            .copy_from_slice(&value.to_le_bytes());
                    }
                }
                9 => {
                    let size = live.model[i].mem.len() as u32;
                    let addr = pick_address(&mut rng, size);
                    log.push(format!("{ctx}: load at {addr}"));
                    let Some(r) = call(
                        live,
                        i,
                        "load",
                        &[addr as i32],
                        rng.random_bool(0.5),
                        counters,
                    )?
                    else {
                        continue;
                    };
                    if u64::from(addr) + 4 <= u64::from(size) {
                        let mem = &live.model[i].mem;
                        let a = addr as usize;
                        let expected =
                            i32::from_le_bytes([mem[a], mem[a + 1], mem[a + 2], mem[a + 3]]);
                        let got = r.expect_value(&ctx)?;
                        check(got == expected, || {
                            format!("{ctx}: load at {addr} gave {got}, expected {expected}")
                        })?;
                    } else {
                        r.expect_trap(&ctx, TrapCode::MemoryOutOfBounds)?;
                    }
                    let memory = live.instances[i]
                        .get_memory(&mut live.store, "mem")
                        .ok_or("no mem")?;
                    let data = memory.data(&live.store);
                    check(data == &live.model[i].mem[..], || {
                        format!("{ctx}: memory differs from the model")
                    })?;
                }
                10 => {
                    let delta = rng.random_range(0..3u32);
                    let wasm = rng.random_bool(0.5);
                    log.push(format!("{ctx}: grow memory by {delta} (wasm {wasm})"));
                    let pages = (live.model[i].mem.len() >> 16) as u32;
                    let fits = pages + delta <= 4;
                    let old = if wasm {
                        let Some(r) = call(live, i, "grow", &[delta as i32], false, counters)?
                        else {
                            continue;
                        };
                        r.expect_value(&ctx)?
                    } else {
                        let memory = live.instances[i]
                            .get_memory(&mut live.store, "mem")
                            .ok_or("no mem")?;
                        memory
                            .grow(&mut live.store, u64::from(delta))
                            .map_or(-1, |old| old as i32)
                    };
                    let expected = if fits { pages as i32 } else { -1 };
                    check(old == expected, || {
                        format!("{ctx}: grow by {delta} from {pages} returned {old}")
                    })?;
                    if fits {
                        live.model[i]
                            .mem
                            .resize(((pages + delta) as usize) << 16, 0);
                    }
                }
                11 | 12 => {
                    // A function of any instance of this store into a table.
                    let j = rng.random_range(0..live.instances.len());
                    let name = TABLE_FUNCS[rng.random_range(0..TABLE_FUNCS.len())];
                    let len = live.model[i].tab.len();
                    let slot = rng.random_range(0..len + 2);
                    let null = rng.random_bool(0.15);
                    log.push(format!(
                        "{ctx}: tab[{slot}] = {} of instance {j}",
                        if null { "null" } else { name }
                    ));
                    let table = live.instances[i]
                        .get_table(&mut live.store, "tab")
                        .ok_or("no tab")?;
                    let func = live.instances[j]
                        .get_func(&mut live.store, name)
                        .ok_or("no func")?;
                    let value = if null {
                        Ref::Func(None)
                    } else {
                        Ref::Func(Some(func))
                    };
                    let r = table.set(&mut live.store, slot as u64, value);
                    check(r.is_ok() == (slot < len), || {
                        format!("{ctx}: table set at {slot} of {len}: {r:?}")
                    })?;
                    if slot < len {
                        live.model[i].tab[slot] = (!null).then_some((j, name));
                    }
                }
                13 => {
                    let len = live.model[i].tab.len();
                    let slot = rng.random_range(0..len + 2);
                    let arg: i32 = rng.random_range(-50..50);
                    log.push(format!("{ctx}: call_tab({slot}, {arg})"));
                    let Some(r) = call(
                        live,
                        i,
                        "call_tab",
                        &[slot as i32, arg],
                        rng.random_bool(0.5),
                        counters,
                    )?
                    else {
                        continue;
                    };
                    match live.model[i].tab.get(slot) {
                        None => r.expect_trap(&ctx, TrapCode::IndirectCallOutOfBounds)?,
                        Some(None) => r.expect_trap(&ctx, TrapCode::IndirectCallToNull)?,
                        Some(Some((j, name))) => {
                            let expected = match *name {
                                "get_g" => live.model[*j].g,
                                "double" => arg.wrapping_mul(2),
                                _ => arg.wrapping_neg(),
                            };
                            let got = r.expect_value(&ctx)?;
                            check(got == expected, || {
                                format!(
                                    "{ctx}: call_tab({slot}) = {name} of instance {j} gave {got}, expected {expected}"
                                )
                            })?;
                        }
                    }
                    // Identity: the host reads back the very function.
                    if let Some(Some((j, name))) = live.model[i].tab.get(slot).cloned() {
                        let table = live.instances[i]
                            .get_table(&mut live.store, "tab")
                            .ok_or("no tab")?;
                        let got = table.get(&mut live.store, slot as u64);
                        let want = live.instances[j].get_func(&mut live.store, name);
                        let same = matches!(&got, Some(Ref::Func(Some(f))) if Some(*f) == want);
                        check(same, || {
                            format!(
                                "{ctx}: tab[{slot}] is {got:?}, expected {name} of instance {j}"
                            )
                        })?;
                    }
                }
                14 => {
                    let len = live.model[i].tab.len() as u32;
                    let (dst, src, n) = (
                        rng.random_range(0..len + 1),
                        rng.random_range(0..len + 1),
                        rng.random_range(0..4u32),
                    );
                    log.push(format!("{ctx}: tab_copy({dst}, {src}, {n})"));
                    let Some(r) = call(
                        live,
                        i,
                        "tab_copy",
                        &[dst as i32, src as i32, n as i32],
                        false,
                        counters,
                    )?
                    else {
                        continue;
                    };
                    if dst + n <= len && src + n <= len {
                        r.expect_ok(&ctx)?;
                        let tab = &mut live.model[i].tab;
                        let copy: Vec<_> = tab[src as usize..(src + n) as usize].to_vec();
                        tab[dst as usize..(dst + n) as usize].clone_from_slice(&copy);
                    } else {
                        r.expect_trap(&ctx, TrapCode::TableOutOfBounds)?;
                    }
                }
                15 => {
                    let delta = rng.random_range(0..6u64);
                    log.push(format!("{ctx}: grow table by {delta}"));
                    let table = live.instances[i]
                        .get_table(&mut live.store, "tab")
                        .ok_or("no tab")?;
                    let len = live.model[i].tab.len() as u64;
                    let r = table.grow(&mut live.store, delta, Ref::Func(None));
                    let fits = len + delta <= 16;
                    check(r.as_ref().ok() == fits.then_some(&len), || {
                        format!("{ctx}: table grow {len}+{delta}: {r:?}")
                    })?;
                    if fits {
                        live.model[i].tab.resize((len + delta) as usize, None);
                    }
                }
                16 => {
                    // A new externref into the externref table, by Wasm.
                    if !has_fuel(live, cost("ext_set", 0)) {
                        continue;
                    }
                    let tag = next_tag;
                    next_tag += 1;
                    let slot = rng.random_range(0..5u32);
                    let hold = rng.random_bool(0.5);
                    log.push(format!("{ctx}: ext_set({slot}, extern {tag})"));
                    // Host handles live in a scope of their own, as an
                    // embedder's would: what the host keeps is owned.
                    let (r, owned) = {
                        let mut scope = RootScope::new(&mut live.store);
                        let e = ExternRef::new(
                            &mut scope,
                            Tagged {
                                tag,
                                dropped: dropped.clone(),
                            },
                        )
                        .map_err(|e| format!("{ctx}: externref: {e:#}"))?;
                        let owned = if hold {
                            Some(
                                e.to_owned_rooted(&mut scope)
                                    .map_err(|e| format!("{ctx}: owned root: {e:#}"))?,
                            )
                        } else {
                            None
                        };
                        let f = live.instances[i]
                            .get_func(&mut scope, "ext_set")
                            .ok_or("no ext_set")?;
                        let r = f.call(
                            &mut scope,
                            &[Val::I32(slot as i32), Val::ExternRef(Some(e))],
                            &mut [],
                        );
                        (r, owned)
                    };
                    live.created.push(tag);
                    if let Some(owned) = owned {
                        live.held.push((tag, owned));
                    }
                    counters.add("calls", 1);
                    let r = CallResult::from(r.map(|()| 0));
                    spend(
                        live,
                        cost("ext_set", 0),
                        matches!(r, CallResult::Value(_)),
                        "ext_set",
                    )?;
                    if (slot as usize) < live.model[i].ext.len() {
                        r.expect_ok(&ctx)?;
                        live.model[i].ext[slot as usize] = Some(tag);
                    } else {
                        r.expect_trap(&ctx, TrapCode::TableOutOfBounds)?;
                    }
                }
                17 => {
                    if !has_fuel(live, cost("ext_get", 0)) {
                        continue;
                    }
                    let slot = rng.random_range(0..4u32);
                    log.push(format!("{ctx}: ext_get({slot})"));
                    let (got, identity) = {
                        let mut scope = RootScope::new(&mut live.store);
                        let f = live.instances[i]
                            .get_func(&mut scope, "ext_get")
                            .ok_or("no ext_get")?;
                        let mut out = [Val::ExternRef(None)];
                        f.call(&mut scope, &[Val::I32(slot as i32)], &mut out)
                            .map_err(|e| format!("{ctx}: ext_get: {e:#}"))?;
                        let got = match &out[0] {
                            Val::ExternRef(Some(e)) => Some(tag_of(e, &scope)?),
                            _ => None,
                        };
                        let mut identity = None;
                        if let (Val::ExternRef(Some(e)), Some(tag)) = (&out[0], got)
                            && let Some((_, held)) = live.held.iter().find(|(t, _)| *t == tag)
                        {
                            let same = Rooted::ref_eq(&scope, e, held)
                                .map_err(|e| format!("{ctx}: ref_eq: {e:#}"))?;
                            identity = Some((tag, same));
                        }
                        (got, identity)
                    };
                    counters.add("calls", 1);
                    spend(live, cost("ext_get", 0), true, "ext_get")?;
                    let expected = live.model[i].ext[slot as usize];
                    check(got == expected, || {
                        format!("{ctx}: ext[{slot}] holds {got:?}, expected {expected:?}")
                    })?;
                    if let Some((tag, same)) = identity {
                        check(same, || {
                            format!("{ctx}: extern {tag} came back as another object")
                        })?;
                    }
                }
                18 => {
                    // The externref global, from the host: move, clear.
                    let mut scope = RootScope::new(&mut live.store);
                    let global = live.instances[i]
                        .get_global(&mut scope, "e")
                        .ok_or("no e")?;
                    let choice = live
                        .held
                        .get(rng.random_range(0..live.held.len() + 1))
                        .map(|(t, e)| (*t, e.clone()));
                    log.push(format!("{ctx}: e = {:?}", choice.as_ref().map(|(t, _)| t)));
                    let value = choice.as_ref().map(|(_, e)| e.to_rooted(&mut scope));
                    global
                        .set(&mut scope, Val::ExternRef(value))
                        .map_err(|e| format!("{ctx}: {e:#}"))?;
                    live.model[i].e = choice.map(|(t, _)| t);
                    let back = global.get(&mut scope);
                    let got = match &back {
                        Val::ExternRef(Some(e)) => Some(tag_of(e, &scope)?),
                        _ => None,
                    };
                    check(got == live.model[i].e, || {
                        format!("{ctx}: e reads back {got:?}")
                    })?;
                }
                19 => {
                    // Forget some host handles, collect, compare the drops.
                    let keep = rng.random_range(0..live.held.len() + 1);
                    live.held.truncate(keep);
                    log.push(format!("store {s}: keep {keep} handles, gc"));
                    live.store.gc(None).map_err(|e| format!("gc: {e:#}"))?;
                    counters.add("collections", 1);
                    let reachable: Vec<u32> = live
                        .held
                        .iter()
                        .map(|(t, _)| *t)
                        .chain(
                            live.model
                                .iter()
                                .flat_map(|m| m.ext.iter().flatten().copied().chain(m.e)),
                        )
                        .collect();
                    let dropped = dropped.lock().unwrap_or_else(|e| e.into_inner());
                    for &tag in &live.created {
                        let gone = dropped.contains(&tag);
                        let needed = reachable.contains(&tag);
                        check(gone != needed, || {
                            format!(
                                "store {s}: after gc extern {tag} is {} but {}",
                                if gone { "freed" } else { "alive" },
                                if needed { "reachable" } else { "unreachable" }
                            )
                        })?;
                    }
                }
                20 => {
                    let mode = match rng.random_range(0..4) {
                        0 => HostMode::Add(rng.random_range(-5..5)),
                        1 => HostMode::Fail,
                        2 => HostMode::Panic,
                        _ => HostMode::CallBack,
                    };
                    let x: i32 = rng.random_range(-1000..1000);
                    log.push(format!("{ctx}: call_host({x}) with {mode:?}"));
                    live.store.data_mut().mode = mode;
                    let extra = if mode == HostMode::CallBack {
                        cost("double", 0)
                    } else {
                        0
                    };
                    if !has_fuel(live, 5 + extra) {
                        continue;
                    }
                    let f = live.instances[i]
                        .get_typed_func::<i32, i32>(&mut live.store, "call_host")
                        .map_err(|e| format!("{e:#}"))?;
                    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        f.call(&mut live.store, x)
                    }));
                    counters.add("calls", 1);
                    counters.add("host calls", 1);
                    match (mode, result) {
                        (HostMode::Add(v), Ok(Ok(got))) => {
                            check(got == x + v + 1, || format!("{ctx}: call_host gave {got}"))?
                        }
                        (HostMode::CallBack, Ok(Ok(got))) => {
                            check(got == 2 * x + 1, || format!("{ctx}: call_host gave {got}"))?
                        }
                        (HostMode::Fail, Ok(Err(e))) => {
                            check(e.downcast_ref::<HostFail>() == Some(&HostFail(x)), || {
                                format!("{ctx}: host failure came back as {e:#}")
                            })?
                        }
                        (HostMode::Panic, Err(payload)) => check(
                            payload
                                .downcast_ref::<HostPanic>()
                                .is_some_and(|p| p.0 == x),
                            || format!("{ctx}: the host panic came back with another payload"),
                        )?,
                        (mode, Ok(r)) => {
                            return Err(format!(
                                "{ctx}: call_host with {mode:?} returned {:?}",
                                r.map_err(|e| format!("{e:#}"))
                            ));
                        }
                        (mode, Err(p)) => {
                            return Err(format!(
                                "{ctx}: call_host with {mode:?} panicked: {}",
                                crate::panic_message(&*p)
                            ));
                        }
                    }
                    let returned = matches!(mode, HostMode::Add(_) | HostMode::CallBack);
                    spend(live, 5 + extra, returned, "call_host")?;
                }
                21 => {
                    let n = rng.random_range(0..200);
                    log.push(format!("{ctx}: burn({n})"));
                    let Some(r) = call(live, i, "burn", &[n], rng.random_bool(0.5), counters)?
                    else {
                        continue;
                    };
                    r.expect_ok(&ctx)?;
                }
                22 => {
                    let deep = rng.random_bool(0.3);
                    let n = if deep {
                        10_000_000
                    } else {
                        rng.random_range(0..300)
                    };
                    if deep && live.deadline.is_some() {
                        continue;
                    }
                    log.push(format!("{ctx}: recurse({n})"));
                    if deep {
                        // No fuel check for a call that overflows: give it all.
                        if live.fuel.is_some() {
                            live.store
                                .set_fuel(u64::MAX / 4)
                                .map_err(|e| format!("{e:#}"))?;
                            live.fuel = Some(u64::MAX / 4);
                        }
                        let f = live.instances[i]
                            .get_typed_func::<i32, i32>(&mut live.store, "recurse")
                            .map_err(|e| format!("{e:#}"))?;
                        let r = CallResult::from(f.call(&mut live.store, n));
                        counters.add("calls", 1);
                        r.expect_trap(&ctx, TrapCode::StackOverflow)?;
                        live.fuel = live.fuel.map(|_| live.store.get_fuel().unwrap_or(0));
                        counters.add("stack overflows", 1);
                    } else {
                        let Some(r) = call(live, i, "recurse", &[n], true, counters)? else {
                            continue;
                        };
                        let got = r.expect_value(&ctx)?;
                        check(got == n, || format!("{ctx}: recurse({n}) gave {got}"))?;
                    }
                }
                _ => {
                    // Fuel and epochs: starve, refuel, set deadlines, tick.
                    interrupts(
                        live,
                        &engine,
                        epochs_on,
                        epoch.clone(),
                        &mut rng,
                        &ctx,
                        i,
                        log,
                        counters,
                    )?;
                }
            }
        }
        // Dropping the rest frees every externref.
        let created: Vec<u32> = stores
            .iter()
            .flatten()
            .flat_map(|l| l.created.clone())
            .collect();
        drop(stores);
        drop(pres);
        let dropped = dropped.lock().unwrap_or_else(|e| e.into_inner());
        for tag in created {
            check(dropped.contains(&tag), || {
                format!("externref {tag} leaked after every store was dropped")
            })?;
        }
        Ok(())
    }

    /// The engine for these settings, its module compiled by each backend,
    /// and the epoch it has reached (only the fuzzer ticks it).
    fn engine(&mut self, fuel: bool, epochs: bool) -> Result<EngineSet, String> {
        if let Some(entry) = self.engines.get(&(fuel, epochs)) {
            return Ok(entry.clone());
        }
        let mut config = Config::new();
        config
            .consume_fuel(fuel)
            .epoch_interruption(epochs)
            .parallel_compilation(false);
        let engine = Engine::new(&config).map_err(|e| format!("{e:#}"))?;
        let modules = [compile(&engine, 0)?, compile(&engine, 1)?];
        let entry = (engine, modules, Arc::new(Mutex::new(0)));
        self.engines.insert((fuel, epochs), entry.clone());
        Ok(entry)
    }
}

fn compile(engine: &Engine, backend: usize) -> Result<Module, String> {
    let kind = BackendKind::available()[backend % BackendKind::available().len()];
    Module::with_backend(engine, WAT, kind)
        .map_err(|e| format!("{kind} refused the api module: {e:#}"))
}

fn new_store(engine: &Engine, fuel: bool) -> Live {
    let mut store = Store::new(
        engine,
        HostData {
            mode: HostMode::Add(0),
            callbacks: 0,
        },
    );
    if fuel {
        store.set_fuel(START_FUEL).expect("fuel is on");
    }
    Live {
        store,
        instances: Vec::new(),
        model: Vec::new(),
        held: Vec::new(),
        created: Vec::new(),
        fuel: fuel.then_some(START_FUEL),
        deadline: None,
        extend: None,
        refuel: None,
    }
}
