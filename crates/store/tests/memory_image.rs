//! Copy-on-write memory images (`Config::memory_init_cow`): which modules
//! get them, and that instantiating from an image behaves exactly like
//! copying the data segments: contents, privacy between instances, growth,
//! limits, dropped segments, and the instantiation traps (which must keep
//! their partial effects). Every test runs on every backend this build has,
//! and most with images on and off.

use tandem_store::{
    BackendKind, Config, Engine, Error, Extern, Func, Instance, Memory, MemoryType, Module,
    RefType, Store, StoreLimitsBuilder, Table, TableType, Trap as TrapCode, Val,
};

fn engine(kind: BackendKind, cow: bool) -> Engine {
    Engine::new(Config::new().backend(kind).memory_init_cow(cow)).expect("engine")
}

/// Every backend, with images on and off.
fn configs() -> impl Iterator<Item = (BackendKind, bool)> {
    BackendKind::available()
        .iter()
        .flat_map(|&kind| [(kind, true), (kind, false)])
}

const DATA: &str = r#"(module
  (memory (export "memory") 1 4)
  (data (i32.const 16) "hello")
  (data (i32.const 18) "LL")
  (data (i32.const 65530) "edge!!")
  (data "passive")
  (func (export "load8") (param i32) (result i32) local.get 0 i32.load8_u)
  (func (export "store8") (param i32 i32) local.get 0 local.get 1 i32.store8)
  (func (export "grow") (param i32) (result i32) local.get 0 memory.grow)
  (func (export "init_active") (memory.init 0 (i32.const 0) (i32.const 0) (i32.const 1)))
  (func (export "init_passive") (memory.init 3 (i32.const 0) (i32.const 0) (i32.const 7))))"#;

fn memory<T: 'static>(store: &mut Store<T>, instance: Instance) -> Memory {
    instance
        .get_memory(store, "memory")
        .expect("exported memory")
}

fn trap_code(err: &Error) -> TrapCode {
    *err.downcast_ref::<TrapCode>()
        .unwrap_or_else(|| panic!("expected a trap, got {err:?}"))
}

#[test]
fn images_only_for_segments_that_cannot_trap() {
    for &kind in BackendKind::available() {
        let e = engine(kind, true);
        let uses = |wat: &str| Module::new(&e, wat).unwrap().uses_memory_images();
        assert!(uses(DATA), "{kind}");
        assert!(uses("(module (memory 0))"), "{kind}: nothing to copy");
        assert!(
            !uses(
                r#"(module (global (import "g" "g") i32) (memory 1)
                     (data (global.get 0) "x"))"#
            ),
            "{kind}: offset from a global"
        );
        assert!(
            !uses(r#"(module (memory (import "m" "m") 1) (data (i32.const 0) "x"))"#),
            "{kind}: imported memory"
        );
        assert!(
            !uses(r#"(module (memory 1) (data (i32.const 65536) "x"))"#),
            "{kind}: out of bounds"
        );
        let off = Module::new(&engine(kind, false), DATA).unwrap();
        assert!(!off.uses_memory_images(), "{kind}: off in the config");
    }
}

#[test]
fn contents_are_those_of_the_segments_in_order() {
    for (kind, cow) in configs() {
        let module = Module::new(&engine(kind, cow), DATA).unwrap();
        let mut store = Store::new(module.engine(), ());
        let instance = Instance::new(&mut store, &module, &[]).unwrap();
        let mem = memory(&mut store, instance);
        let data = mem.data(&store);
        assert_eq!(data.len(), 65536, "{kind} cow={cow}");
        assert_eq!(&data[16..21], b"heLLo", "{kind} cow={cow}");
        assert_eq!(&data[65530..], b"edge!!", "{kind} cow={cow}");
        assert!(data[..16].iter().all(|&b| b == 0), "{kind} cow={cow}");
        assert!(data[21..65530].iter().all(|&b| b == 0), "{kind} cow={cow}");
        let load8 = instance
            .get_typed_func::<i32, i32>(&mut store, "load8")
            .unwrap();
        assert_eq!(load8.call(&mut store, 17).unwrap(), i32::from(b'e'));
    }
}

#[test]
fn instances_do_not_see_each_others_writes() {
    for (kind, cow) in configs() {
        let module = Module::new(&engine(kind, cow), DATA).unwrap();
        let mut store = Store::new(module.engine(), ());
        let a = Instance::new(&mut store, &module, &[]).unwrap();
        let b = Instance::new(&mut store, &module, &[]).unwrap();
        let store8 = a
            .get_typed_func::<(i32, i32), ()>(&mut store, "store8")
            .unwrap();
        store8.call(&mut store, (16, i32::from(b'J'))).unwrap();
        let mem_b = memory(&mut store, b);
        mem_b.data_mut(&mut store)[17] = b'E';
        let mem_a = memory(&mut store, a);
        assert_eq!(&mem_a.data(&store)[16..21], b"JeLLo", "{kind} cow={cow}");
        assert_eq!(&mem_b.data(&store)[16..21], b"hELLo", "{kind} cow={cow}");

        // A later instance, in another store too, starts from the image.
        let mut other = Store::new(module.engine(), ());
        let c = Instance::new(&mut other, &module, &[]).unwrap();
        let mem_c = memory(&mut other, c);
        assert_eq!(&mem_c.data(&other)[16..21], b"heLLo", "{kind} cow={cow}");
        drop(store);
        assert_eq!(
            &mem_c.data(&other)[16..21],
            b"heLLo",
            "{kind} cow={cow}: dropping other instances leaves it alone"
        );
    }
}

#[test]
fn growth_after_the_image_adds_zero_pages_and_respects_limits() {
    for (kind, cow) in configs() {
        let module = Module::new(&engine(kind, cow), DATA).unwrap();
        let limits = StoreLimitsBuilder::new().memory_size(3 << 16).build();
        let mut store = Store::new(module.engine(), limits);
        store.limiter(|limits| limits);
        let instance = Instance::new(&mut store, &module, &[]).unwrap();
        let grow = instance
            .get_typed_func::<i32, i32>(&mut store, "grow")
            .unwrap();
        assert_eq!(grow.call(&mut store, 1).unwrap(), 1, "{kind} cow={cow}");
        assert_eq!(
            grow.call(&mut store, 2).unwrap(),
            -1,
            "{kind} cow={cow}: limiter"
        );
        assert_eq!(grow.call(&mut store, 1).unwrap(), 2, "{kind} cow={cow}");
        let mem = memory(&mut store, instance);
        assert_eq!(
            mem.grow(&mut store, 1).ok(),
            None,
            "{kind} cow={cow}: limiter"
        );
        let data = mem.data(&store);
        assert_eq!(data.len(), 3 << 16, "{kind} cow={cow}");
        assert!(data[65536..].iter().all(|&b| b == 0), "{kind} cow={cow}");
        assert_eq!(&data[65530..65536], b"edge!!", "{kind} cow={cow}");
        let store8 = instance
            .get_typed_func::<(i32, i32), ()>(&mut store, "store8")
            .unwrap();
        store8.call(&mut store, ((3 << 16) - 1, 9)).unwrap();
        assert_eq!(mem.data(&store)[(3 << 16) - 1], 9, "{kind} cow={cow}");
    }
}

#[test]
fn active_segments_are_dropped_and_passive_ones_are_not() {
    for (kind, cow) in configs() {
        let module = Module::new(&engine(kind, cow), DATA).unwrap();
        let mut store = Store::new(module.engine(), ());
        let instance = Instance::new(&mut store, &module, &[]).unwrap();
        let active = instance
            .get_typed_func::<(), ()>(&mut store, "init_active")
            .unwrap();
        let err = active.call(&mut store, ()).unwrap_err();
        assert_eq!(
            trap_code(&err),
            TrapCode::MemoryOutOfBounds,
            "{kind} cow={cow}"
        );
        let passive = instance
            .get_typed_func::<(), ()>(&mut store, "init_passive")
            .unwrap();
        passive.call(&mut store, ()).unwrap();
        let mem = memory(&mut store, instance);
        assert_eq!(&mem.data(&store)[..7], b"passive", "{kind} cow={cow}");
    }
}

#[test]
fn out_of_bounds_segment_traps_alike_and_keeps_earlier_writes_to_an_imported_memory() {
    let imports = r#"(module
      (memory (import "env" "memory") 1)
      (data (i32.const 8) "kept")
      (data (i32.const 65535) "too long")
      (data (i32.const 0) "never"))"#;
    let defines = r#"(module
      (memory 1)
      (data (i32.const 8) "kept")
      (data (i32.const 65535) "too long"))"#;
    let mut messages = Vec::new();
    for (kind, cow) in configs() {
        let e = engine(kind, cow);
        let module = Module::new(&e, defines).unwrap();
        assert!(!module.uses_memory_images(), "{kind} cow={cow}");
        let mut store = Store::new(&e, ());
        let err = Instance::new(&mut store, &module, &[]).unwrap_err();
        assert_eq!(
            trap_code(&err),
            TrapCode::MemoryOutOfBounds,
            "{kind} cow={cow}"
        );
        messages.push(err.to_string());

        let module = Module::new(&e, imports).unwrap();
        assert!(!module.uses_memory_images(), "{kind} cow={cow}");
        let imported = Memory::new(&mut store, MemoryType::new(1, None)).unwrap();
        let err = Instance::new(&mut store, &module, &[imported.into()]).unwrap_err();
        assert_eq!(
            trap_code(&err),
            TrapCode::MemoryOutOfBounds,
            "{kind} cow={cow}"
        );
        messages.push(err.to_string());
        let data = imported.data(&store);
        assert_eq!(&data[8..12], b"kept", "{kind} cow={cow}");
        assert_eq!(
            data[65535], 0,
            "{kind} cow={cow}: nothing of the failing segment"
        );
        assert_eq!(data[0], 0, "{kind} cow={cow}: nothing after it");
    }
    messages.dedup();
    assert_eq!(
        messages.len(),
        1,
        "the same message everywhere: {messages:?}"
    );
}

/// An element segment puts a function of the instance into an imported
/// table, then a later element segment traps: the data phase never ran, so
/// that function must see a zeroed memory even though the module has an
/// image.
#[test]
fn an_element_trap_leaves_the_memory_without_its_image() {
    let wat = r#"(module
      (table (import "env" "table") 2 funcref)
      (memory 1)
      (data (i32.const 0) "\2a")
      (func $peek (result i32) i32.const 0 i32.load8_u)
      (elem (i32.const 0) $peek)
      (elem (i32.const 2) $peek))"#;
    for (kind, cow) in configs() {
        let e = engine(kind, cow);
        let module = Module::new(&e, wat).unwrap();
        assert_eq!(module.uses_memory_images(), cow, "{kind} cow={cow}");
        let mut store = Store::new(&e, ());
        let table = Table::new(
            &mut store,
            TableType::new(RefType::FUNCREF, 2, None),
            Val::FuncRef(None),
        )
        .unwrap();
        let err = Instance::new(&mut store, &module, &[Extern::Table(table)]).unwrap_err();
        assert_eq!(
            trap_code(&err),
            TrapCode::TableOutOfBounds,
            "{kind} cow={cow}"
        );
        let Some(Val::FuncRef(Some(peek))) = table.get(&mut store, 0) else {
            panic!("{kind} cow={cow}: the first segment was applied");
        };
        let peek: Func = peek;
        let mut out = [Val::I32(-1)];
        peek.call(&mut store, &[], &mut out).unwrap();
        assert_eq!(out[0].i32(), Some(0), "{kind} cow={cow}");
    }
}
