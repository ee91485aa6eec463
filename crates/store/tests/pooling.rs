//! The pooling allocator through the embedding API, on every backend: a
//! reused slot never shows the previous instance's memory, table or global
//! writes; limits are errors naming the setting; memory images stay mapped
//! across instantiations; precompiled modules instantiate from the pool.

use tandem_store::{
    BackendKind, Config, Engine, Instance, InstanceAllocationStrategy, Linker, Module,
    PoolingAllocationConfig, Store, Trap,
};

fn pooling() -> PoolingAllocationConfig {
    let mut pool = PoolingAllocationConfig::new();
    pool.total_core_instances(4)
        .total_memories(4)
        .total_tables(4)
        .max_memory_size(4 << 16)
        .table_elements(64);
    pool
}

fn engines(pool: &PoolingAllocationConfig) -> Vec<Engine> {
    BackendKind::available()
        .iter()
        .map(|&kind| {
            Engine::new(
                Config::new()
                    .backend(kind)
                    .allocation_strategy(pool.clone()),
            )
            .unwrap()
        })
        .collect()
}

/// Reads and dirties a memory (with a data segment), a table (with an
/// element segment) and a mutable global.
const DIRTY: &str = r#"(module
    (memory (export "memory") 1 4)
    (data (i32.const 100) "image")
    (table 8 funcref)
    (elem (i32.const 1) $seven)
    (global $g (mut i32) (i32.const 5))
    (type $v2i (func (result i32)))
    (func $seven (result i32) i32.const 7)
    (func (export "peek") (param i32) (result i32) (i32.load8_u (local.get 0)))
    (func (export "poke") (param i32 i32) (i32.store8 (local.get 0) (local.get 1)))
    (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
    (func (export "size") (result i32) memory.size)
    (func (export "slot") (param i32) (result i32) (ref.is_null (table.get (local.get 0))))
    (func (export "fill") (table.fill (i32.const 0) (ref.func $seven) (i32.const 8)))
    (func (export "call") (param i32) (result i32) (call_indirect (type $v2i) (local.get 0)))
    (func (export "global") (result i32) global.get $g)
    (func (export "bump") (global.set $g (i32.add (global.get $g) (i32.const 1)))))"#;

#[test]
fn a_reused_slot_never_shows_the_last_instances_writes() {
    for engine in engines(&pooling()) {
        let module = Module::new(&engine, DIRTY).unwrap();
        let pre = Linker::<()>::new(&engine).instantiate_pre(&module).unwrap();
        let mut last_base = None;
        for round in 0..6 {
            let mut store = Store::new(&engine, ());
            let instance = pre.instantiate(&mut store).unwrap();
            let f =
                |store: &mut Store<()>, name: &str| instance.get_func(&mut *store, name).unwrap();
            let peek = f(&mut store, "peek").typed::<i32, i32>(&store).unwrap();
            let poke = f(&mut store, "poke")
                .typed::<(i32, i32), ()>(&store)
                .unwrap();
            let grow = f(&mut store, "grow").typed::<i32, i32>(&store).unwrap();
            let size = f(&mut store, "size").typed::<(), i32>(&store).unwrap();
            let slot = f(&mut store, "slot").typed::<i32, i32>(&store).unwrap();
            let fill = f(&mut store, "fill").typed::<(), ()>(&store).unwrap();
            let call = f(&mut store, "call").typed::<i32, i32>(&store).unwrap();
            let global = f(&mut store, "global").typed::<(), i32>(&store).unwrap();
            let bump = f(&mut store, "bump").typed::<(), ()>(&store).unwrap();

            // What a fresh instance must see, every round.
            assert_eq!(size.call(&mut store, ()).unwrap(), 1, "round {round}");
            assert_eq!(peek.call(&mut store, 100).unwrap(), i32::from(b'i'));
            assert_eq!(peek.call(&mut store, 0).unwrap(), 0);
            assert_eq!(peek.call(&mut store, 65535).unwrap(), 0);
            let oob = peek.call(&mut store, 65536).unwrap_err();
            assert_eq!(oob.downcast_ref::<Trap>(), Some(&Trap::MemoryOutOfBounds));
            assert_eq!(slot.call(&mut store, 0).unwrap(), 1, "slot 0 is null");
            assert_eq!(call.call(&mut store, 1).unwrap(), 7);
            let null = call.call(&mut store, 0).unwrap_err();
            assert_eq!(null.downcast_ref::<Trap>(), Some(&Trap::IndirectCallToNull));
            assert_eq!(global.call(&mut store, ()).unwrap(), 5);

            // Now dirty everything for the next round.
            poke.call(&mut store, (100, 0)).unwrap();
            poke.call(&mut store, (0, 1)).unwrap();
            poke.call(&mut store, (65535, 1)).unwrap();
            assert_eq!(grow.call(&mut store, 2).unwrap(), 1);
            poke.call(&mut store, (3 * 65536 - 1, 1)).unwrap();
            assert_eq!(
                grow.call(&mut store, 2).unwrap(),
                -1,
                "the module's maximum"
            );
            fill.call(&mut store, ()).unwrap();
            assert_eq!(slot.call(&mut store, 0).unwrap(), 0);
            bump.call(&mut store, ()).unwrap();

            let memory = instance.get_memory(&mut store, "memory").unwrap();
            let base = memory.data(&store).as_ptr() as usize;
            if let Some(last) = last_base {
                assert_eq!(base, last, "the same slot, reused");
            }
            last_base = Some(base);
        }
    }
}

#[test]
fn limits_are_enforced_with_errors_naming_the_setting() {
    let mut pool = pooling();
    pool.total_core_instances(2).max_memory_size(2 << 16);
    for engine in engines(&pool) {
        let small = Module::new(&engine, "(module (memory 1))").unwrap();
        let mut a = Store::new(&engine, ());
        let mut b = Store::new(&engine, ());
        Instance::new(&mut a, &small, &[]).unwrap();
        Instance::new(&mut b, &small, &[]).unwrap();
        let mut c = Store::new(&engine, ());
        let err = Instance::new(&mut c, &small, &[]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "maximum concurrent core instance limit of 2 reached (PoolingAllocationConfig::total_core_instances)"
        );
        drop(a);
        Instance::new(&mut c, &small, &[]).unwrap();
        drop((b, c));

        let cases = [
            ("(module (memory 3))", "max_memory_size"),
            ("(module (table 65 funcref))", "table_elements"),
            (
                "(module (table 1 funcref) (table 1 funcref))",
                "max_tables_per_module",
            ),
        ];
        for (wat, setting) in cases {
            let module = Module::new(&engine, wat).unwrap();
            let mut store = Store::new(&engine, ());
            let err = Instance::new(&mut store, &module, &[]).unwrap_err();
            assert!(err.to_string().contains(setting), "{wat}: {err}");
        }

        let grows = Module::new(
            &engine,
            r#"(module (memory 1) (table 60 funcref)
                (func (export "mem") (param i32) (result i32) (memory.grow (local.get 0)))
                (func (export "tab") (param i32) (result i32) (table.grow (ref.null func) (local.get 0))))"#,
        )
        .unwrap();
        let mut store = Store::new(&engine, ());
        let instance = Instance::new(&mut store, &grows, &[]).unwrap();
        let mem = instance
            .get_typed_func::<i32, i32>(&mut store, "mem")
            .unwrap();
        let tab = instance
            .get_typed_func::<i32, i32>(&mut store, "tab")
            .unwrap();
        assert_eq!(mem.call(&mut store, 2).unwrap(), -1, "past max_memory_size");
        assert_eq!(mem.call(&mut store, 1).unwrap(), 1);
        assert_eq!(tab.call(&mut store, 5).unwrap(), -1, "past table_elements");
        assert_eq!(tab.call(&mut store, 4).unwrap(), 60);
    }
}

#[test]
fn precompiled_modules_instantiate_from_the_pool() {
    for engine in engines(&pooling()) {
        let bytes = engine.precompile_module(DIRTY.as_bytes()).unwrap();
        // SAFETY: just written by `precompile_module` of this engine.
        let module = unsafe { Module::deserialize(&engine, &bytes) }.unwrap();
        for _ in 0..3 {
            let mut store = Store::new(&engine, ());
            let instance = Instance::new(&mut store, &module, &[]).unwrap();
            let peek = instance
                .get_typed_func::<i32, i32>(&mut store, "peek")
                .unwrap();
            assert_eq!(peek.call(&mut store, 100).unwrap(), i32::from(b'i'));
            let poke = instance
                .get_typed_func::<(i32, i32), ()>(&mut store, "poke")
                .unwrap();
            poke.call(&mut store, (100, 0)).unwrap();
        }
    }
}

#[test]
fn stores_on_many_threads_share_the_pool() {
    let mut pool = pooling();
    pool.total_core_instances(8)
        .total_memories(8)
        .total_tables(8);
    for engine in engines(&pool) {
        let module = Module::new(&engine, DIRTY).unwrap();
        let pre = Linker::<()>::new(&engine).instantiate_pre(&module).unwrap();
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let (engine, pre) = (engine.clone(), pre.clone());
                std::thread::spawn(move || {
                    for _ in 0..50 {
                        let mut store = Store::new(&engine, ());
                        let instance = pre.instantiate(&mut store).unwrap();
                        let peek = instance
                            .get_typed_func::<i32, i32>(&mut store, "peek")
                            .unwrap();
                        assert_eq!(peek.call(&mut store, 100).unwrap(), i32::from(b'i'));
                        let poke = instance
                            .get_typed_func::<(i32, i32), ()>(&mut store, "poke")
                            .unwrap();
                        poke.call(&mut store, (100, 0)).unwrap();
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
    }
}

#[test]
fn the_default_pool_is_the_strategy_wasmtime_names() {
    let engine =
        Engine::new(Config::new().allocation_strategy(InstanceAllocationStrategy::pooling()));
    // 1,000 slots of 8 GiB of address space each fit a 47-bit address space.
    let engine = engine.unwrap();
    let module = Module::new(&engine, r#"(module (memory 1) (data (i32.const 0) "x"))"#).unwrap();
    let mut store = Store::new(&engine, ());
    Instance::new(&mut store, &module, &[]).unwrap();
}
