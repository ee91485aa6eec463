//! `Config` settings that change compiled code or the memory layout, on
//! every backend this build has: small reservations (explicit bounds
//! checks, memories capped at the reservation), a 4 GiB reservation with no
//! guard (every offset checked), Cranelift's optimization levels, and the
//! settings Tandem refuses with a message naming them.

use proptest::prelude::*;
use tandem_store::{
    BackendKind, Config, Engine, Instance, Module, OptLevel, Store, Strategy, Trap, TypedFunc,
};

const MEMORY: &str = r#"(module
  (memory (export "memory") 1)
  (func (export "load") (param i32) (result i32) local.get 0 i32.load)
  (func (export "load_far") (param i32) (result i32) local.get 0 i32.load offset=65533)
  (func (export "store8") (param i32 i32) local.get 0 local.get 1 i32.store8)
  (func (export "grow") (param i32) (result i32) local.get 0 memory.grow))"#;

/// The exports of one instance of [`MEMORY`].
struct Memory {
    store: Store<()>,
    load: TypedFunc<i32, i32>,
    load_far: TypedFunc<i32, i32>,
    store8: TypedFunc<(i32, i32), ()>,
    grow: TypedFunc<i32, i32>,
}

impl Memory {
    fn new(engine: &Engine, kind: BackendKind) -> Memory {
        let module = Module::with_backend(engine, MEMORY, kind).unwrap();
        let mut store = Store::new(engine, ());
        let instance = Instance::new(&mut store, &module, &[]).unwrap();
        Memory {
            load: instance.get_typed_func(&mut store, "load").unwrap(),
            load_far: instance.get_typed_func(&mut store, "load_far").unwrap(),
            store8: instance.get_typed_func(&mut store, "store8").unwrap(),
            grow: instance.get_typed_func(&mut store, "grow").unwrap(),
            store,
        }
    }

    /// `load(address)`: the value, or the trap.
    fn load(&mut self, address: u32) -> Result<i32, Trap> {
        self.load
            .call(&mut self.store, address as i32)
            .map_err(|e| *e.downcast_ref::<Trap>().expect("a trap"))
    }
}

fn engine(configure: impl FnOnce(&mut Config)) -> Engine {
    let mut config = Config::new();
    configure(&mut config);
    Engine::new(&config).expect("engine")
}

#[test]
fn a_small_reservation_checks_every_access_and_caps_growth() {
    let engine = engine(|c| {
        c.memory_reservation(1 << 20);
    });
    for &kind in BackendKind::available() {
        let mut m = Memory::new(&engine, kind);
        m.store8.call(&mut m.store, (65532, 7)).unwrap();
        assert_eq!(m.load(65532), Ok(7), "{kind}");
        assert_eq!(m.load(65533), Err(Trap::MemoryOutOfBounds), "{kind}");
        assert_eq!(m.load(u32::MAX), Err(Trap::MemoryOutOfBounds), "{kind}");
        let far = m.load_far.call(&mut m.store, 0);
        assert!(far.is_err(), "{kind}: offset past the end");
        // Up to the reservation (16 pages), then -1.
        assert_eq!(m.grow.call(&mut m.store, 15).unwrap(), 1, "{kind}");
        assert_eq!(m.grow.call(&mut m.store, 1).unwrap(), -1, "{kind}");
        assert_eq!(m.load(16 * 65536 - 4), Ok(0), "{kind}");
        assert_eq!(
            m.load(16 * 65536 - 3),
            Err(Trap::MemoryOutOfBounds),
            "{kind}"
        );
    }
}

#[test]
fn a_memory_larger_than_its_reservation_fails_to_instantiate() {
    let engine = engine(|c| {
        c.memory_reservation(1 << 16);
    });
    for &kind in BackendKind::available() {
        let module = Module::with_backend(&engine, "(module (memory 2))", kind).unwrap();
        let mut store = Store::new(&engine, ());
        let err = Instance::new(&mut store, &module, &[]).unwrap_err();
        assert!(err.to_string().contains("reservation"), "{kind}: {err}");
    }
}

#[test]
fn no_guard_region_checks_every_offset() {
    let engine = engine(|c| {
        c.memory_reservation(1 << 32).memory_guard_size(0);
    });
    for &kind in BackendKind::available() {
        let mut m = Memory::new(&engine, kind);
        assert_eq!(m.load(65532), Ok(0), "{kind}");
        assert_eq!(m.load(65533), Err(Trap::MemoryOutOfBounds), "{kind}");
        assert!(m.load_far.call(&mut m.store, 3).is_err(), "{kind}");
        assert_eq!(
            m.load_far.call(&mut m.store, -65533i32).ok(),
            None,
            "{kind}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Every address and reservation: an access is in bounds exactly when
    /// it ends within the memory, on every backend, with guard pages or
    /// explicit checks.
    #[test]
    fn accesses_trap_exactly_past_the_end(
        address in prop_oneof![0u32..70_000, any::<u32>()],
        small in any::<bool>(),
    ) {
        let engine = engine(|c| {
            if small {
                c.memory_reservation(1 << 20);
            }
        });
        for &kind in BackendKind::available() {
            let mut m = Memory::new(&engine, kind);
            let expected = if u64::from(address) + 4 <= 65536 {
                Ok(0)
            } else {
                Err(Trap::MemoryOutOfBounds)
            };
            prop_assert_eq!(m.load(address), expected, "{} small={}", kind, small);
        }
    }
}

#[test]
fn opt_levels_all_compute_the_same() {
    let wat = r#"(module (func (export "f") (param i32) (result i32)
        (local i32)
        (loop $l
          (local.set 1 (i32.add (local.get 1) (i32.mul (local.get 0) (local.get 0))))
          (local.set 0 (i32.sub (local.get 0) (i32.const 1)))
          (br_if $l (local.get 0)))
        (local.get 1)))"#;
    for level in [OptLevel::None, OptLevel::Speed, OptLevel::SpeedAndSize] {
        let engine = engine(|c| {
            c.strategy(Strategy::Cranelift).cranelift_opt_level(level);
        });
        let module = Module::new(&engine, wat).unwrap();
        assert_eq!(module.backend(), BackendKind::Cranelift);
        let mut store = Store::new(&engine, ());
        let instance = Instance::new(&mut store, &module, &[]).unwrap();
        let f = instance
            .get_typed_func::<i32, i32>(&mut store, "f")
            .unwrap();
        assert_eq!(f.call(&mut store, 10).unwrap(), 385, "{level:?}");
    }
}

#[test]
fn winch_is_the_baseline() {
    let engine = engine(|c| {
        c.strategy(Strategy::Winch);
    });
    let module = Module::new(&engine, "(module)").unwrap();
    assert_eq!(module.backend(), BackendKind::Baseline);
}

#[test]
fn refused_settings_name_themselves() {
    /// One change to a default configuration.
    type Setting = fn(&mut Config);
    let cases: [(&str, Setting); 5] = [
        ("wasm_threads", |c| {
            c.wasm_threads(true);
        }),
        ("wasm_exceptions", |c| {
            c.wasm_exceptions(true);
        }),
        ("wasm_threads", |c| {
            c.wasm_threads(true);
        }),
        ("signals_based_traps", |c| {
            c.signals_based_traps(false);
        }),
        ("coredump_on_trap", |c| {
            c.coredump_on_trap(true);
        }),
    ];
    for (name, configure) in cases {
        let mut config = Config::new();
        configure(&mut config);
        let err = Engine::new(&config).unwrap_err();
        assert!(err.to_string().contains(name), "{name}: {err}");
    }
    // Partly supported proposals may be turned on.
    assert!(Engine::new(Config::new().wasm_gc(true)).is_ok());
    // Turning an unsupported proposal off again is fine.
    assert!(Engine::new(Config::new().wasm_threads(true).wasm_threads(false)).is_ok());
}
