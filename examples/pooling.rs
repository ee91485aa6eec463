//! Embedding example: fast instantiation. The pooling allocator reserves
//! slots for instances, memories and tables once; an `InstancePre` resolves
//! imports once; then every request gets a fresh store and instance from
//! reused slots (no `mmap`), on as many threads as there are slots.
//!
//! Run with `cargo run -p tandem-store --example pooling`.

use tandem_store::{
    Config, Engine, InstanceAllocationStrategy, Linker, Module, PoolingAllocationConfig, Result,
    Store, format_err,
};

fn main() -> Result<()> {
    let mut pool = PoolingAllocationConfig::new();
    pool.total_core_instances(8)
        .total_memories(8)
        .total_tables(8)
        .max_memory_size(16 << 16)
        .table_elements(1_000);
    let mut config = Config::new();
    config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    let engine = Engine::new(&config)?;

    let mut linker = Linker::<u32>::new(&engine);
    linker.func_wrap("env", "request", |caller: tandem_store::Caller<'_, u32>| {
        *caller.data() as i32
    })?;
    let module = Module::new(
        &engine,
        r#"(module
            (import "env" "request" (func $request (result i32)))
            (memory (export "memory") 1)
            (data (i32.const 0) "counter:")
            (func (export "handle") (result i32)
              ;; a per-instance counter at address 8: always 1 in a fresh instance
              (i32.store (i32.const 8) (i32.add (i32.load (i32.const 8)) (i32.const 1)))
              (i32.add (call $request) (i32.mul (i32.load (i32.const 8)) (i32.const 1000)))))"#,
    )?;
    let pre = linker.instantiate_pre(&module)?;

    let workers: Vec<std::thread::JoinHandle<Result<u32>>> = (0..4)
        .map(|worker| {
            let (engine, pre) = (engine.clone(), pre.clone());
            std::thread::spawn(move || {
                let mut served = 0;
                for request in 0..250 {
                    let mut store = Store::new(&engine, request);
                    let instance = pre.instantiate(&mut store)?;
                    let handle = instance.get_typed_func::<(), i32>(&mut store, "handle")?;
                    let answer = handle.call(&mut store, ())?;
                    assert_eq!(answer, 1000 + request as i32, "worker {worker}");
                    served += 1;
                }
                Ok(served)
            })
        })
        .collect();
    let mut served = 0;
    for worker in workers {
        served += worker
            .join()
            .map_err(|_| format_err!("a worker panicked"))??;
    }
    println!("{served} requests, each in a fresh instance from the pool");

    // Past the pool's limit, instantiation fails with an error naming it.
    let mut stores: Vec<Store<u32>> = Vec::new();
    let err = loop {
        let mut store = Store::new(&engine, 0);
        match pre.instantiate(&mut store) {
            Ok(_) => stores.push(store),
            Err(err) => break err,
        }
    };
    println!("with {} instances alive: {err}", stores.len());
    Ok(())
}
