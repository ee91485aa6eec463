//! The per-store func-ref arena keeps the seed's promises: pinned
//! addresses, holes filled on module registration, linker definitions shared
//! and dropped once, and `InstancePre` keeping its parts alive. Every test
//! runs on every backend this build has.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tandem_store::{
    BackendKind, Config, Engine, Func, Instance, Linker, Module, RefType, Store, Table, TableType,
    Val,
};

fn engines() -> Vec<Engine> {
    BackendKind::available()
        .iter()
        .map(|&kind| Engine::new(Config::new().backend(kind)).unwrap())
        .collect()
}

fn funcref_table(store: &mut Store<()>, size: u64) -> Table {
    let ty = TableType {
        element: RefType::Func,
        minimum: size,
        maximum: None,
    };
    Table::new(store, ty, Val::FuncRef(None)).unwrap()
}

/// Calls table slot `index` (type `() -> i32` or `(i32) -> i32`) from Wasm.
const CALLER: &str = r#"(module
    (import "host" "table" (table 1 funcref))
    (type $v2i (func (result i32)))
    (type $i2i (func (param i32) (result i32)))
    (func (export "call0") (param i32) (result i32)
      local.get 0
      call_indirect (type $v2i))
    (func (export "call1") (param i32 i32) (result i32)
      local.get 1
      local.get 0
      call_indirect (type $i2i)))"#;

#[test]
fn pushed_func_refs_never_move() {
    for engine in engines() {
        let mut store = Store::new(&engine, ());
        let first = Func::wrap(&mut store, || 42i32);
        let address = first.func_ref_address(&store).unwrap();
        let table = funcref_table(&mut store, 1);
        table.set(&mut store, 0, first.into()).unwrap();
        for i in 0..10_000 {
            Func::wrap(&mut store, move || i);
        }
        assert_eq!(first.func_ref_address(&store).unwrap(), address);
        let module = Module::new(&engine, CALLER).unwrap();
        let instance = Instance::new(&mut store, &module, &[table.into()]).unwrap();
        let call0 = instance
            .get_typed_func::<i32, i32>(&mut store, "call0")
            .unwrap();
        assert_eq!(call0.call(&mut store, 0).unwrap(), 42);
        assert_eq!(
            first
                .typed::<(), i32>(&store)
                .unwrap()
                .call(&mut store, ())
                .unwrap(),
            42
        );
    }
}

#[test]
fn registering_a_module_fills_holes() {
    for engine in engines() {
        let mut store = Store::new(&engine, ());
        let double = Func::wrap(&mut store, |x: i32| x * 2);
        assert_eq!(store.unfilled_func_ref_holes(), 1);
        let typed = double.typed::<i32, i32>(&store).unwrap();
        assert_eq!(typed.call(&mut store, 4).unwrap(), 8);
        let table = funcref_table(&mut store, 1);
        table.set(&mut store, 0, double.into()).unwrap();
        let module = Module::new(&engine, CALLER).unwrap();
        let instance = Instance::new(&mut store, &module, &[table.into()]).unwrap();
        assert_eq!(store.unfilled_func_ref_holes(), 0);
        let call1 = instance
            .get_typed_func::<(i32, i32), i32>(&mut store, "call1")
            .unwrap();
        assert_eq!(call1.call(&mut store, (0, 21)).unwrap(), 42);
        assert_eq!(typed.call(&mut store, 5).unwrap(), 10);
        // A host function created after registration has no hole at all.
        Func::wrap(&mut store, |x: i32| x + 1);
        assert_eq!(store.unfilled_func_ref_holes(), 0);
    }
}

/// Counts drops of the state a host closure captures.
struct DropCounter(Arc<AtomicUsize>);

impl Drop for DropCounter {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

const IMPORTER: &str = r#"(module
    (import "host" "seven" (func $seven (result i32)))
    (func (export "run") (result i32) call $seven))"#;

fn counting_linker(engine: &Engine, drops: &Arc<AtomicUsize>) -> Linker<()> {
    let state = DropCounter(drops.clone());
    let mut linker = Linker::new(engine);
    linker
        .func_wrap("host", "seven", move || {
            let _ = &state;
            7i32
        })
        .unwrap();
    linker
}

#[test]
fn linker_definitions_are_shared_and_dropped_once() {
    for engine in engines() {
        let drops = Arc::new(AtomicUsize::new(0));
        let linker = counting_linker(&engine, &drops);
        let module = Module::new(&engine, IMPORTER).unwrap();
        let mut stores: Vec<Store<()>> = (0..2).map(|_| Store::new(&engine, ())).collect();
        for store in &mut stores {
            let instance = linker.instantiate(&mut *store, &module).unwrap();
            let run = instance
                .get_typed_func::<(), i32>(&mut *store, "run")
                .unwrap();
            assert_eq!(run.call(store, ()).unwrap(), 7);
        }
        drop(linker);
        assert_eq!(drops.load(Ordering::SeqCst), 0);
        let last = stores.pop().unwrap();
        drop(stores);
        assert_eq!(drops.load(Ordering::SeqCst), 0);
        drop(last);
        assert_eq!(drops.load(Ordering::SeqCst), 1);
    }
}

#[test]
fn instance_pre_serves_a_thousand_stores() {
    for engine in engines() {
        let drops = Arc::new(AtomicUsize::new(0));
        let linker = counting_linker(&engine, &drops);
        let module = Module::new(&engine, IMPORTER).unwrap();
        let pre = linker.instantiate_pre(&module).unwrap();
        drop(linker);
        let mut stores = Vec::new();
        for _ in 0..1000 {
            let mut store = Store::new(&engine, ());
            let instance = pre.instantiate(&mut store).unwrap();
            stores.push((store, instance));
        }
        drop(pre);
        assert_eq!(drops.load(Ordering::SeqCst), 0);
        for (store, instance) in &mut stores {
            let run = instance
                .get_typed_func::<(), i32>(&mut *store, "run")
                .unwrap();
            assert_eq!(run.call(&mut *store, ()).unwrap(), 7);
            assert_eq!(store.unfilled_func_ref_holes(), 0);
        }
        drop(stores);
        assert_eq!(drops.load(Ordering::SeqCst), 1);
    }
}

#[test]
fn instance_pre_rejects_mismatched_host_functions() {
    for engine in engines() {
        let mut linker = Linker::<()>::new(&engine);
        linker.func_wrap("host", "seven", || 7i64).unwrap();
        let module = Module::new(&engine, IMPORTER).unwrap();
        let err = linker.instantiate_pre(&module).err().unwrap();
        assert!(
            err.to_string().contains("incompatible import type"),
            "{err}"
        );
    }
}
