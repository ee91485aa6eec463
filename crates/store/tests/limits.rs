//! `ResourceLimiter` and `StoreLimits`: growth from Wasm and from the host is
//! refused past the caps (Wasm sees -1), initial sizes and counts past them
//! fail creation with an error, and the limiter stays reachable from Wasm
//! however the store moves.

use std::sync::{Arc, Mutex};
use tandem_store::{
    Engine, Error, Instance, Memory, MemoryType, Module, RefType, ResourceLimiter, Store,
    StoreLimits, StoreLimitsBuilder, Table, TableType, Val,
};

const PAGE: usize = 64 << 10;

const GROWER: &str = r#"
(module
  (memory (export "memory") 1 10)
  (table (export "table") 1 20 funcref)
  (func (export "memory_grow") (param i32) (result i32)
    local.get 0 memory.grow)
  (func (export "table_grow") (param i32) (result i32)
    ref.null func local.get 0 table.grow 0)
  (func (export "memory_size") (result i32) memory.size)
  (func (export "table_size") (result i32) table.size 0)
)
"#;

fn setup<T: 'static>(data: T, wat: &str) -> (Store<T>, Instance) {
    let engine = Engine::default();
    let module = Module::new(&engine, wat).expect("module compiles");
    let mut store = Store::new(&engine, data);
    let instance = Instance::new(&mut store, &module, &[]).expect("instantiates");
    (store, instance)
}

fn call_i32<T: 'static>(store: &mut Store<T>, instance: Instance, name: &str, arg: i32) -> i32 {
    let f = instance
        .get_typed_func::<i32, i32>(&mut *store, name)
        .expect(name);
    f.call(store, arg).expect(name)
}

fn size<T: 'static>(store: &mut Store<T>, instance: Instance, name: &str) -> i32 {
    let f = instance
        .get_typed_func::<(), i32>(&mut *store, name)
        .expect(name);
    f.call(store, ()).expect(name)
}

fn is_limit_error(e: &Error) -> bool {
    matches!(e, Error::Vm(_)) && e.to_string().contains("resource limit")
}

#[test]
fn memory_size_caps_memory_grow_and_host_growth() {
    let (mut store, instance) = setup((), GROWER);
    store.limiter(StoreLimitsBuilder::new().memory_size(3 * PAGE).build());
    assert_eq!(call_i32(&mut store, instance, "memory_grow", 1), 1);
    // 2 -> 4 pages is past the cap: -1, and nothing changes.
    assert_eq!(call_i32(&mut store, instance, "memory_grow", 2), -1);
    assert_eq!(size(&mut store, instance, "memory_size"), 2);
    assert_eq!(call_i32(&mut store, instance, "memory_grow", 1), 2);
    assert_eq!(call_i32(&mut store, instance, "memory_grow", 1), -1);
    // Growing by zero always succeeds.
    assert_eq!(call_i32(&mut store, instance, "memory_grow", 0), 3);
    let memory = instance.get_memory(&mut store, "memory").unwrap();
    assert!(memory.grow(&mut store, 1).is_err());
    assert_eq!(memory.size(&store), 3);
    assert_eq!(memory.data(&store).len(), 3 * PAGE);
}

#[test]
fn table_elements_caps_table_grow_and_host_growth() {
    let (mut store, instance) = setup((), GROWER);
    store.limiter(StoreLimitsBuilder::new().table_elements(4).build());
    assert_eq!(call_i32(&mut store, instance, "table_grow", 2), 1);
    assert_eq!(call_i32(&mut store, instance, "table_grow", 2), -1);
    assert_eq!(call_i32(&mut store, instance, "table_grow", 1), 3);
    assert_eq!(call_i32(&mut store, instance, "table_grow", 1), -1);
    assert_eq!(size(&mut store, instance, "table_size"), 4);
    let table = instance.get_table(&mut store, "table").unwrap();
    assert!(table.grow(&mut store, 1, Val::FuncRef(None)).is_err());
    assert_eq!(table.size(&store), 4);
}

#[test]
fn initial_sizes_past_the_limits_fail_instantiation() {
    let engine = Engine::default();
    let big_memory = Module::new(&engine, "(module (memory 4))").unwrap();
    let big_table = Module::new(&engine, "(module (table 10 funcref))").unwrap();
    let small = Module::new(&engine, "(module (memory 2) (table 5 funcref))").unwrap();
    let mut store = Store::new(&engine, ());
    store.limiter(
        StoreLimitsBuilder::new()
            .memory_size(2 * PAGE)
            .table_elements(5)
            .build(),
    );
    let err = Instance::new(&mut store, &big_memory, &[]).unwrap_err();
    assert!(is_limit_error(&err), "{err}");
    assert!(err.to_string().contains("memory of 4 pages"), "{err}");
    let err = Instance::new(&mut store, &big_table, &[]).unwrap_err();
    assert!(is_limit_error(&err), "{err}");
    assert!(err.to_string().contains("table of 10 elements"), "{err}");
    Instance::new(&mut store, &small, &[]).expect("within the limits");

    // The same for memories and tables the host creates.
    let ty = MemoryType {
        minimum: 3,
        maximum: None,
        memory64: false,
        shared: false,
    };
    let err = Memory::new(&mut store, ty).unwrap_err();
    assert!(is_limit_error(&err), "{err}");
    let ty = TableType {
        element: RefType::Func,
        minimum: 6,
        maximum: None,
    };
    let err = Table::new(&mut store, ty, Val::FuncRef(None)).unwrap_err();
    assert!(is_limit_error(&err), "{err}");
}

#[test]
fn count_caps_fail_creation_with_a_clear_error() {
    let engine = Engine::default();
    let with_both = Module::new(&engine, "(module (memory 1) (table 1 funcref))").unwrap();
    let empty = Module::new(&engine, "(module)").unwrap();
    let mut store = Store::new(&engine, ());
    store.limiter(
        StoreLimitsBuilder::new()
            .instances(3)
            .memories(1)
            .tables(2)
            .build(),
    );
    Instance::new(&mut store, &with_both, &[]).expect("first memory and table");
    // A second memory is one too many.
    let err = Instance::new(&mut store, &with_both, &[]).unwrap_err();
    assert!(is_limit_error(&err), "{err}");
    assert!(err.to_string().contains("at most 1 memories"), "{err}");
    let mem_ty = MemoryType {
        minimum: 0,
        maximum: None,
        memory64: false,
        shared: false,
    };
    let err = Memory::new(&mut store, mem_ty).unwrap_err();
    assert!(err.to_string().contains("at most 1 memories"), "{err}");
    // One more table is fine, the one after is not.
    let table_ty = TableType {
        element: RefType::Extern,
        minimum: 0,
        maximum: None,
    };
    Table::new(&mut store, table_ty, Val::ExternRef(None)).expect("second table");
    let err = Table::new(&mut store, table_ty, Val::ExternRef(None)).unwrap_err();
    assert!(err.to_string().contains("at most 2 tables"), "{err}");
    // Instances: the failed instantiations above did not count.
    Instance::new(&mut store, &empty, &[]).expect("second instance");
    Instance::new(&mut store, &empty, &[]).expect("third instance");
    let err = Instance::new(&mut store, &empty, &[]).unwrap_err();
    assert!(is_limit_error(&err), "{err}");
    assert!(err.to_string().contains("at most 3 instances"), "{err}");
}

/// Records every question and answers from a byte / element budget.
struct Recorder {
    log: Arc<Mutex<Vec<String>>>,
    memory_budget: usize,
    table_budget: usize,
}

impl ResourceLimiter for Recorder {
    fn memory_growing(&mut self, current: usize, desired: usize, maximum: Option<usize>) -> bool {
        let mut log = self.log.lock().unwrap();
        log.push(format!("memory {current} -> {desired} max {maximum:?}"));
        desired <= self.memory_budget
    }

    fn table_growing(&mut self, current: usize, desired: usize, maximum: Option<usize>) -> bool {
        let mut log = self.log.lock().unwrap();
        log.push(format!("table {current} -> {desired} max {maximum:?}"));
        desired <= self.table_budget
    }
}

#[test]
fn a_custom_limiter_sees_sizes_in_bytes_and_elements() {
    let engine = Engine::default();
    let module = Module::new(&engine, GROWER).unwrap();
    let log = Arc::new(Mutex::new(Vec::new()));
    let mut store = Store::new(&engine, ());
    store.limiter(Recorder {
        log: log.clone(),
        memory_budget: 2 * PAGE,
        table_budget: 3,
    });
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    assert_eq!(call_i32(&mut store, instance, "memory_grow", 1), 1);
    assert_eq!(call_i32(&mut store, instance, "memory_grow", 1), -1);
    // Past the declared maximum the limiter is not asked: growth fails anyway.
    assert_eq!(call_i32(&mut store, instance, "memory_grow", 100), -1);
    assert_eq!(call_i32(&mut store, instance, "table_grow", 2), 1);
    assert_eq!(call_i32(&mut store, instance, "table_grow", 1), -1);
    let max_bytes = 10 * PAGE;
    assert_eq!(
        *log.lock().unwrap(),
        [
            format!("memory 0 -> {PAGE} max Some({max_bytes})"),
            "table 0 -> 1 max Some(20)".to_string(),
            format!("memory {PAGE} -> {} max Some({max_bytes})", 2 * PAGE),
            format!("memory {} -> {} max Some({max_bytes})", 2 * PAGE, 3 * PAGE),
            "table 1 -> 3 max Some(20)".to_string(),
            "table 3 -> 4 max Some(20)".to_string(),
        ]
    );
}

#[test]
fn a_limiter_installed_later_or_after_the_store_moves_still_applies() {
    let (store, instance) = setup((), GROWER);
    // Move the store to the heap and then into another thread: the vm
    // instance's pointer to the limiter slot must stay valid.
    let mut boxed = Box::new(store);
    assert_eq!(call_i32(&mut boxed, instance, "memory_grow", 1), 1);
    boxed.limiter(StoreLimitsBuilder::new().memory_size(2 * PAGE).build());
    let mut moved = std::thread::spawn(move || {
        let mut store = *boxed;
        assert_eq!(call_i32(&mut store, instance, "memory_grow", 1), -1);
        store
    })
    .join()
    .unwrap();
    assert_eq!(call_i32(&mut moved, instance, "memory_grow", 1), -1);
    // Replacing the limiter takes effect at once.
    moved.limiter(StoreLimits::default());
    assert_eq!(call_i32(&mut moved, instance, "memory_grow", 1), 2);
}

struct Panics;

impl ResourceLimiter for Panics {
    fn memory_growing(&mut self, _: usize, desired: usize, _: Option<usize>) -> bool {
        assert!(desired <= PAGE, "limiter panics on purpose");
        true
    }

    fn table_growing(&mut self, _: usize, _: usize, _: Option<usize>) -> bool {
        true
    }
}

#[test]
fn a_panicking_limiter_resumes_its_panic_in_the_host() {
    let (mut store, instance) = setup((), GROWER);
    store.limiter(Panics);
    let grow = instance
        .get_typed_func::<i32, i32>(&mut store, "memory_grow")
        .unwrap();
    let outcome =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| grow.call(&mut store, 1)));
    let payload = outcome.expect_err("the panic reaches the host");
    let message = match payload.downcast_ref::<&str>() {
        Some(s) => s.to_string(),
        None => payload
            .downcast_ref::<String>()
            .cloned()
            .unwrap_or_default(),
    };
    assert!(message.contains("on purpose"), "{message}");
    // The store is usable afterwards.
    assert_eq!(size(&mut store, instance, "memory_size"), 1);
    assert_eq!(grow.call(&mut store, 0).unwrap(), 1);
}

#[test]
fn instance_pre_and_linker_instantiation_are_capped_too() {
    let engine = Engine::default();
    let module = Module::new(&engine, "(module (memory 1))").unwrap();
    let linker = tandem_store::Linker::<()>::new(&engine);
    let pre = linker.instantiate_pre(&module).unwrap();
    let mut store = Store::new(&engine, ());
    store.limiter(StoreLimitsBuilder::new().instances(2).build());
    pre.instantiate(&mut store).expect("first");
    linker.instantiate(&mut store, &module).expect("second");
    let err = pre.instantiate(&mut store).unwrap_err();
    assert!(is_limit_error(&err), "{err}");
    let err = linker.instantiate(&mut store, &module).unwrap_err();
    assert!(is_limit_error(&err), "{err}");
    // Initial sizes too, on a fresh store.
    let mut store = Store::new(&engine, ());
    store.limiter(StoreLimitsBuilder::new().memory_size(0).build());
    let err = pre.instantiate(&mut store).unwrap_err();
    assert!(err.to_string().contains("memory of 1 pages"), "{err}");
}
