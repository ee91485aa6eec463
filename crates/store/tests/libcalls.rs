//! Traps raised inside libcalls and host functions leak nothing and carry
//! the Wasm frames above them. Every test runs on every backend this build
//! has.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tandem_store::{
    BackendKind, Config, Engine, Error, Func, Instance, Module, Store, Trap, WasmBacktrace,
};

fn engines() -> Vec<Engine> {
    BackendKind::available()
        .iter()
        .map(|&kind| Engine::new(Config::new().backend(kind)).unwrap())
        .collect()
}

const TRAPPING: &str = r#"(module $libcalls
  (import "host" "fail" (func $fail))
  (memory 1)
  (table $t 4 funcref)
  (data $d "abcd")
  (elem $e func $mem_init $tab_copy)
  (func $mem_init (export "mem_init") (param i32)
    local.get 0 i32.const 0 i32.const 4 memory.init $d)
  (func $tab_copy (export "tab_copy") (param i32)
    local.get 0 i32.const 0 i32.const 2 table.copy)
  (func $tab_init (export "tab_init") (param i32)
    local.get 0 i32.const 0 i32.const 2 table.init $t $e)
  (func $outer (export "outer") (param i32)
    local.get 0 call $mem_init)
  (func $host (export "host") call $fail))"#;

/// Pages of resident memory of this process.
fn resident_pages() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    statm.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// A host error that counts its drops.
#[derive(Debug)]
struct Counted(Arc<AtomicUsize>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

impl std::fmt::Display for Counted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("counted host failure")
    }
}

impl std::error::Error for Counted {}

#[test]
fn trapping_libcalls_and_host_errors_leak_nothing() {
    for engine in engines() {
        let module = Module::new(&engine, TRAPPING).unwrap();
        let mut store = Store::new(&engine, ());
        let created = Arc::new(AtomicUsize::new(0));
        let dropped = Arc::new(AtomicUsize::new(0));
        let (c, d) = (created.clone(), dropped.clone());
        let fail = Func::wrap(&mut store, move || -> tandem_store::Result<()> {
            c.fetch_add(1, Ordering::SeqCst);
            Err(Error::new(Counted(d.clone())))
        });
        let instance = Instance::new(&mut store, &module, &[fail.into()]).unwrap();
        let calls = ["mem_init", "tab_copy", "tab_init"].map(|name| {
            instance
                .get_typed_func::<i32, ()>(&mut store, name)
                .unwrap()
        });
        let host = instance
            .get_typed_func::<(), ()>(&mut store, "host")
            .unwrap();
        let round = |store: &mut Store<()>| {
            for (call, code) in calls.iter().zip([
                Trap::MemoryOutOfBounds,
                Trap::TableOutOfBounds,
                Trap::TableOutOfBounds,
            ]) {
                let err = call.call(&mut *store, 65535).unwrap_err();
                assert_eq!(err.downcast_ref::<Trap>(), Some(&code));
            }
            let err = host.call(&mut *store, ()).unwrap_err();
            assert!(err.downcast_ref::<Counted>().is_some(), "{err:?}");
        };
        for _ in 0..1000 {
            round(&mut store);
        }
        let before = resident_pages();
        for _ in 0..10_000 {
            round(&mut store);
        }
        let after = resident_pages();
        assert_eq!(
            created.load(Ordering::SeqCst),
            dropped.load(Ordering::SeqCst)
        );
        // 40,000 trapping calls: a leak of even 100 bytes each would show.
        let slack_pages = 256; // 1 MiB
        assert!(
            after <= before + slack_pages,
            "resident memory grew from {before} to {after} pages"
        );
        // The store still works.
        calls[0].call(&mut store, 0).unwrap();
    }
}

#[test]
fn libcall_traps_carry_wasm_frames() {
    for engine in engines() {
        let module = Module::new(&engine, TRAPPING).unwrap();
        let mut store = Store::new(&engine, ());
        let fail = Func::wrap(&mut store, || {});
        let instance = Instance::new(&mut store, &module, &[fail.into()]).unwrap();
        let outer = instance
            .get_typed_func::<i32, ()>(&mut store, "outer")
            .unwrap();
        let err = outer.call(&mut store, 65535).unwrap_err();
        assert_eq!(err.downcast_ref::<Trap>(), Some(&Trap::MemoryOutOfBounds));
        let frames = err.downcast_ref::<WasmBacktrace>().unwrap().frames();
        let names: Vec<_> = frames.iter().map(|f| f.func_name.as_deref()).collect();
        assert_eq!(names, [Some("mem_init"), Some("outer")], "{err:?}");
        assert!(frames.iter().all(|f| f.wasm_offset.is_some()), "{err:?}");
        assert_eq!(frames[0].module_name.as_deref(), Some("libcalls"));
        // `mem_init`'s body comes before `outer`'s in the code section.
        assert!(frames[0].wasm_offset < frames[1].wasm_offset, "{err:?}");
    }
}
