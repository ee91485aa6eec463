//! One compiled module runs in eight stores on eight threads at once.

use tandem_store::{BackendKind, Config, Engine, Instance, Linker, Module, Store};

#[test]
fn eight_stores_on_eight_threads() {
    for &kind in BackendKind::available() {
        let engine = Engine::new(Config::new().backend(kind)).unwrap();
        let module = Module::new(
            &engine,
            r#"(module
                (import "host" "base" (func $base (result i64)))
                (memory 1)
                (func $fib (param i64) (result i64)
                  local.get 0 i64.const 2 i64.lt_u
                  if (result i64) local.get 0
                  else
                    local.get 0 i64.const 1 i64.sub call $fib
                    local.get 0 i64.const 2 i64.sub call $fib
                    i64.add
                  end)
                (func (export "run") (param i64) (result i64)
                  local.get 0 call $fib call $base i64.add))"#,
        )
        .unwrap();
        let mut linker = Linker::<i64>::new(&engine);
        linker
            .func_wrap("host", "base", |caller: tandem_store::Caller<'_, i64>| {
                *caller.data()
            })
            .unwrap();
        let pre = linker.instantiate_pre(&module).unwrap();
        let threads: Vec<_> = (0..8i64)
            .map(|i| {
                let (engine, pre) = (engine.clone(), pre.clone());
                std::thread::spawn(move || {
                    let mut store = Store::new(&engine, i * 1000);
                    let instance: Instance = pre.instantiate(&mut store).unwrap();
                    let run = instance
                        .get_typed_func::<i64, i64>(&mut store, "run")
                        .unwrap();
                    (0..20)
                        .map(|n| run.call(&mut store, n).unwrap())
                        .sum::<i64>()
                })
            })
            .collect();
        // sum of fib(0..20) = fib(21) - 1 = 10945
        for (i, t) in threads.into_iter().enumerate() {
            assert_eq!(t.join().unwrap(), 10945 + 20 * 1000 * i as i64);
        }
    }
}
