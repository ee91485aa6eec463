//! Host functions called from Wasm, values crossing both ways, and linking
//! two modules by name. Every test runs on every backend this build has.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use tandem_store::{
    BackendKind, Caller, Config, Engine, Extern, Func, Instance, LinkError, Linker, Module, Store,
    Trap, Val, WasmBacktrace,
};

/// One engine per backend this build has, with its kind for messages.
fn engines() -> Vec<(BackendKind, Engine)> {
    BackendKind::available()
        .iter()
        .map(|&kind| (kind, Engine::new(Config::new().backend(kind)).unwrap()))
        .collect()
}

#[test]
fn wasm_calls_host_and_back() {
    for (kind, engine) in engines() {
        let module = Module::new(
            &engine,
            r#"(module
                (import "host" "mul" (func $mul (param i32 i64 f64) (result f64)))
                (func (export "run") (param i32) (result f64)
                  local.get 0
                  i64.const 10
                  f64.const 0.5
                  call $mul))"#,
        )
        .unwrap();
        let mut store = Store::new(&engine, 0u32);
        let mul = Func::wrap(
            &mut store,
            |mut caller: Caller<'_, u32>, a: i32, b: i64, c: f64| -> f64 {
                *caller.data_mut() += 1;
                a as f64 * b as f64 * c
            },
        );
        let instance = Instance::new(&mut store, &module, &[mul.into()]).unwrap();
        let run = instance
            .get_typed_func::<i32, f64>(&mut store, "run")
            .unwrap();
        assert_eq!(run.call(&mut store, 3).unwrap(), 15.0, "{kind}");
        assert_eq!(run.call(&mut store, -4).unwrap(), -20.0, "{kind}");
        assert_eq!(*store.data(), 2, "{kind}");
        // The host function can be called from the host too.
        let mut out = [Val::F64(0)];
        mul.call(
            &mut store,
            &[Val::I32(2), Val::I64(2), Val::F64(2.0f64.to_bits())],
            &mut out,
        )
        .unwrap();
        assert_eq!(out[0].f64(), Some(8.0), "{kind}");
    }
}

/// A host function's own error type.
#[derive(Debug, PartialEq)]
struct Boom(u32);

impl std::fmt::Display for Boom {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "boom {}", self.0)
    }
}

impl std::error::Error for Boom {}

#[test]
fn host_error_reaches_the_caller_with_wasm_frames() {
    for (kind, engine) in engines() {
        let module = Module::new(
            &engine,
            r#"(module
                (import "host" "fail" (func $fail))
                (func $inner (export "inner") call $fail)
                (func $outer (export "outer") call $inner))"#,
        )
        .unwrap();
        let mut linker = Linker::<()>::new(&engine);
        linker
            .func_wrap("host", "fail", || -> anyhow::Result<()> {
                Err(anyhow::Error::new(Boom(7)).context("while failing"))
            })
            .unwrap();
        let mut store = Store::new(&engine, ());
        let instance = linker.instantiate(&mut store, &module).unwrap();
        let outer = instance.get_func(&mut store, "outer").unwrap();
        let err = outer.call(&mut store, &[], &mut []).unwrap_err();
        assert!(err.downcast_ref::<Trap>().is_none(), "{kind}: {err:?}");
        assert_eq!(
            err.downcast_ref::<Boom>(),
            Some(&Boom(7)),
            "{kind}: {err:?}"
        );
        let text = format!("{err:?}");
        assert!(
            text.contains("while failing") && text.contains("boom 7"),
            "{kind}: {text}"
        );
        let names: Vec<_> = err
            .downcast_ref::<WasmBacktrace>()
            .expect("the Wasm frames")
            .frames()
            .iter()
            .map(|f| f.func_name.clone().unwrap_or_default())
            .collect();
        assert_eq!(names, ["inner", "outer"], "{kind}: {err:?}");
    }
}

#[test]
fn host_panic_resumes_in_caller_and_store_survives() {
    for (kind, engine) in engines() {
        let module = Module::new(
            &engine,
            r#"(module (import "h" "p" (func $p (param i32)))
                (func (export "run") (param i32) local.get 0 call $p))"#,
        )
        .unwrap();
        let mut store = Store::new(&engine, ());
        let p = Func::wrap(&mut store, |x: i32| {
            if x == 1 {
                panic!("host panicked");
            }
        });
        let instance = Instance::new(&mut store, &module, &[p.into()]).unwrap();
        let run = instance
            .get_typed_func::<i32, ()>(&mut store, "run")
            .unwrap();
        let caught =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run.call(&mut store, 1)));
        assert!(caught.is_err(), "{kind}");
        run.call(&mut store, 0)
            .unwrap_or_else(|e| panic!("{kind}: store unusable after a host panic: {e}"));
    }
}

#[test]
fn two_modules_linked_by_name_share_memory_and_functions() {
    for (kind, engine) in engines() {
        let lib = Module::new(
            &engine,
            r#"(module
                (memory (export "mem") 1)
                (global (export "g") (mut i32) (i32.const 5))
                (func (export "store") (param i32 i32) local.get 0 local.get 1 i32.store))"#,
        )
        .unwrap();
        let app = Module::new(
            &engine,
            r#"(module
                (import "lib" "mem" (memory 1))
                (import "lib" "g" (global $g (mut i32)))
                (import "lib" "store" (func $store (param i32 i32)))
                (func (export "run") (result i32)
                  i32.const 16 global.get $g call $store
                  i32.const 99 global.set $g
                  i32.const 16 i32.load))"#,
        )
        .unwrap();
        let mut store = Store::new(&engine, ());
        let mut linker = Linker::new(&engine);
        let lib_instance = linker.instantiate(&mut store, &lib).unwrap();
        linker.instance(&mut store, "lib", lib_instance).unwrap();
        let app_instance = linker.instantiate(&mut store, &app).unwrap();
        let run = app_instance
            .get_typed_func::<(), i32>(&mut store, "run")
            .unwrap();
        assert_eq!(run.call(&mut store, ()).unwrap(), 5, "{kind}");
        let g = lib_instance.get_global(&mut store, "g").unwrap();
        assert_eq!(g.get(&mut store).i32(), Some(99), "{kind}");
        let mem = lib_instance.get_memory(&mut store, "mem").unwrap();
        assert_eq!(mem.data(&store)[16], 5, "{kind}");
    }
}

#[test]
fn unknown_import_is_a_link_error() {
    for (kind, engine) in engines() {
        let module = Module::new(&engine, r#"(module (import "a" "b" (func)))"#).unwrap();
        let mut store = Store::new(&engine, ());
        let err = Linker::<()>::new(&engine)
            .instantiate(&mut store, &module)
            .unwrap_err();
        assert!(
            matches!(err.downcast_ref(), Some(LinkError::UnknownImport { .. })),
            "{kind}: {err}"
        );
        let counter = Arc::new(AtomicU32::new(0));
        let c = counter.clone();
        let f = Func::wrap(&mut store, move || {
            c.fetch_add(1, Ordering::Relaxed);
        });
        let bad = Func::wrap(&mut store, |_: i32| {});
        let err = Instance::new(&mut store, &module, &[bad.into()]).unwrap_err();
        assert!(
            matches!(
                err.downcast_ref(),
                Some(LinkError::IncompatibleImport { .. })
            ),
            "{kind}: {err}"
        );
        let instance = Instance::new(&mut store, &module, &[Extern::Func(f)]).unwrap();
        let _ = instance;
    }
}

#[test]
fn host_function_works_on_guest_memory_and_store_data_at_once() {
    for (kind, engine) in engines() {
        let module = Module::new(
            &engine,
            r#"(module
                (import "host" "swap" (func $swap (param i32)))
                (memory (export "memory") 1)
                (data (i32.const 16) "\07")
                (func (export "run") (result i32)
                  i32.const 16 call $swap
                  i32.const 16 i32.load8_u))"#,
        )
        .unwrap();
        let mut linker = Linker::<u8>::new(&engine);
        linker
            .func_wrap("host", "swap", |mut caller: Caller<'_, u8>, ptr: i32| {
                let Some(Extern::Memory(memory)) = caller.get_export("memory") else {
                    panic!("no memory export");
                };
                let (bytes, data) = memory.data_and_store_mut(caller.store());
                std::mem::swap(&mut bytes[ptr as usize], data);
            })
            .unwrap();
        let mut store = Store::new(&engine, 42u8);
        let instance = linker.instantiate(&mut store, &module).unwrap();
        let run = instance
            .get_typed_func::<(), i32>(&mut store, "run")
            .unwrap();
        assert_eq!(run.call(&mut store, ()).unwrap(), 42, "{kind}");
        assert_eq!(*store.data(), 7, "{kind}");
    }
}
