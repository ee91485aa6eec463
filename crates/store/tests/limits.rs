//! `ResourceLimiter` and `StoreLimits`: growth from Wasm and from the host is
//! refused past the caps (Wasm sees -1), initial sizes and counts past them
//! fail creation with an error, and the limiter stays reachable from Wasm
//! however the store moves. Every test runs on every backend this build has.

use std::sync::{Arc, Mutex};
use tandem_store::{
    BackendKind, Config, Engine, Error, Instance, Memory, MemoryType, Module, RefType,
    ResourceLimiter, Store, StoreLimits, StoreLimitsBuilder, Table, TableType, Val, VmError,
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

/// Store data holding whichever limiter a test installs: the limiter lives
/// in the data, and `Store::limiter` gets a closure that finds it there.
#[derive(Default)]
struct Limiter(Option<Box<dyn ResourceLimiter + Send + Sync>>);

fn install(store: &mut Store<Limiter>, limiter: impl ResourceLimiter + Send + Sync + 'static) {
    store.data_mut().0 = Some(Box::new(limiter));
    store.limiter(|data| data.0.as_deref_mut().expect("a limiter"));
}

fn engine_for(kind: BackendKind) -> Engine {
    Engine::new(Config::new().backend(kind)).expect("engine")
}

fn setup<T: 'static>(kind: BackendKind, data: T, wat: &str) -> (Store<T>, Instance) {
    let engine = engine_for(kind);
    let module = Module::new(&engine, wat).unwrap_or_else(|e| panic!("{kind}: compiles: {e}"));
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
    e.downcast_ref::<VmError>().is_some() && e.to_string().contains("resource limit")
}

#[test]
fn memory_size_caps_memory_grow_and_host_growth() {
    for &kind in BackendKind::available() {
        let (mut store, instance) = setup(kind, Limiter::default(), GROWER);
        install(
            &mut store,
            StoreLimitsBuilder::new().memory_size(3 * PAGE).build(),
        );
        assert_eq!(
            call_i32(&mut store, instance, "memory_grow", 1),
            1,
            "{kind}"
        );
        // 2 -> 4 pages is past the cap: -1, and nothing changes.
        assert_eq!(
            call_i32(&mut store, instance, "memory_grow", 2),
            -1,
            "{kind}"
        );
        assert_eq!(size(&mut store, instance, "memory_size"), 2, "{kind}");
        assert_eq!(
            call_i32(&mut store, instance, "memory_grow", 1),
            2,
            "{kind}"
        );
        assert_eq!(
            call_i32(&mut store, instance, "memory_grow", 1),
            -1,
            "{kind}"
        );
        // Growing by zero always succeeds.
        assert_eq!(
            call_i32(&mut store, instance, "memory_grow", 0),
            3,
            "{kind}"
        );
        let memory = instance.get_memory(&mut store, "memory").unwrap();
        assert!(memory.grow(&mut store, 1).is_err(), "{kind}");
        assert_eq!(memory.size(&store), 3, "{kind}");
        assert_eq!(memory.data(&store).len(), 3 * PAGE, "{kind}");
    }
}

#[test]
fn table_elements_caps_table_grow_and_host_growth() {
    for &kind in BackendKind::available() {
        let (mut store, instance) = setup(kind, Limiter::default(), GROWER);
        install(
            &mut store,
            StoreLimitsBuilder::new().table_elements(4).build(),
        );
        assert_eq!(call_i32(&mut store, instance, "table_grow", 2), 1, "{kind}");
        assert_eq!(
            call_i32(&mut store, instance, "table_grow", 2),
            -1,
            "{kind}"
        );
        assert_eq!(call_i32(&mut store, instance, "table_grow", 1), 3, "{kind}");
        assert_eq!(
            call_i32(&mut store, instance, "table_grow", 1),
            -1,
            "{kind}"
        );
        assert_eq!(size(&mut store, instance, "table_size"), 4, "{kind}");
        let table = instance.get_table(&mut store, "table").unwrap();
        assert!(
            table.grow(&mut store, 1, Val::FuncRef(None)).is_err(),
            "{kind}"
        );
        assert_eq!(table.size(&store), 4, "{kind}");
    }
}

#[test]
fn initial_sizes_past_the_limits_fail_instantiation() {
    for &kind in BackendKind::available() {
        let engine = engine_for(kind);
        let big_memory = Module::new(&engine, "(module (memory 4))").unwrap();
        let big_table = Module::new(&engine, "(module (table 10 funcref))").unwrap();
        let small = Module::new(&engine, "(module (memory 2) (table 5 funcref))").unwrap();
        let mut store = Store::new(&engine, Limiter::default());
        install(
            &mut store,
            StoreLimitsBuilder::new()
                .memory_size(2 * PAGE)
                .table_elements(5)
                .build(),
        );
        let err = Instance::new(&mut store, &big_memory, &[]).unwrap_err();
        assert!(is_limit_error(&err), "{kind}: {err}");
        assert!(
            err.to_string().contains("memory of 4 pages"),
            "{kind}: {err}"
        );
        let err = Instance::new(&mut store, &big_table, &[]).unwrap_err();
        assert!(is_limit_error(&err), "{kind}: {err}");
        assert!(
            err.to_string().contains("table of 10 elements"),
            "{kind}: {err}"
        );
        Instance::new(&mut store, &small, &[]).expect("within the limits");

        // The same for memories and tables the host creates.
        let ty = MemoryType::new(3, None);
        let err = Memory::new(&mut store, ty).unwrap_err();
        assert!(is_limit_error(&err), "{kind}: {err}");
        let ty = TableType::new(RefType::FUNCREF, 6, None);
        let err = Table::new(&mut store, ty, Val::FuncRef(None)).unwrap_err();
        assert!(is_limit_error(&err), "{kind}: {err}");
    }
}

#[test]
fn count_caps_fail_creation_with_a_clear_error() {
    for &kind in BackendKind::available() {
        let engine = engine_for(kind);
        let with_both = Module::new(&engine, "(module (memory 1) (table 1 funcref))").unwrap();
        let empty = Module::new(&engine, "(module)").unwrap();
        let mut store = Store::new(&engine, Limiter::default());
        install(
            &mut store,
            StoreLimitsBuilder::new()
                .instances(3)
                .memories(1)
                .tables(2)
                .build(),
        );
        Instance::new(&mut store, &with_both, &[]).expect("first memory and table");
        // A second memory is one too many.
        let err = Instance::new(&mut store, &with_both, &[]).unwrap_err();
        assert!(is_limit_error(&err), "{kind}: {err}");
        assert!(
            err.to_string().contains("at most 1 memories"),
            "{kind}: {err}"
        );
        let mem_ty = MemoryType::new(0, None);
        let err = Memory::new(&mut store, mem_ty).unwrap_err();
        assert!(
            err.to_string().contains("at most 1 memories"),
            "{kind}: {err}"
        );
        // One more table is fine, the one after is not.
        let table_ty = TableType::new(RefType::EXTERNREF, 0, None);
        Table::new(&mut store, table_ty, Val::ExternRef(None)).expect("second table");
        let err = Table::new(&mut store, table_ty, Val::ExternRef(None)).unwrap_err();
        assert!(
            err.to_string().contains("at most 2 tables"),
            "{kind}: {err}"
        );
        // Instances: the failed instantiations above did not count.
        Instance::new(&mut store, &empty, &[]).expect("second instance");
        Instance::new(&mut store, &empty, &[]).expect("third instance");
        let err = Instance::new(&mut store, &empty, &[]).unwrap_err();
        assert!(is_limit_error(&err), "{kind}: {err}");
        assert!(
            err.to_string().contains("at most 3 instances"),
            "{kind}: {err}"
        );
    }
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
    for &kind in BackendKind::available() {
        let engine = engine_for(kind);
        let module = Module::new(&engine, GROWER).unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let mut store = Store::new(&engine, Limiter::default());
        install(
            &mut store,
            Recorder {
                log: log.clone(),
                memory_budget: 2 * PAGE,
                table_budget: 3,
            },
        );
        let instance = Instance::new(&mut store, &module, &[]).unwrap();
        assert_eq!(
            call_i32(&mut store, instance, "memory_grow", 1),
            1,
            "{kind}"
        );
        assert_eq!(
            call_i32(&mut store, instance, "memory_grow", 1),
            -1,
            "{kind}"
        );
        // Past the declared maximum the limiter is not asked: growth fails anyway.
        assert_eq!(
            call_i32(&mut store, instance, "memory_grow", 100),
            -1,
            "{kind}"
        );
        assert_eq!(call_i32(&mut store, instance, "table_grow", 2), 1, "{kind}");
        assert_eq!(
            call_i32(&mut store, instance, "table_grow", 1),
            -1,
            "{kind}"
        );
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
            ],
            "{kind}"
        );
    }
}

#[test]
fn a_limiter_installed_later_or_after_the_store_moves_still_applies() {
    for &kind in BackendKind::available() {
        let (store, instance) = setup(kind, Limiter::default(), GROWER);
        // Move the store to the heap and then into another thread: the vm
        // instance's pointer to the limiter slot must stay valid.
        let mut boxed = Box::new(store);
        assert_eq!(
            call_i32(&mut boxed, instance, "memory_grow", 1),
            1,
            "{kind}"
        );
        install(
            &mut boxed,
            StoreLimitsBuilder::new().memory_size(2 * PAGE).build(),
        );
        let mut moved = std::thread::spawn(move || {
            let mut store = *boxed;
            assert_eq!(
                call_i32(&mut store, instance, "memory_grow", 1),
                -1,
                "{kind}"
            );
            store
        })
        .join()
        .unwrap();
        assert_eq!(
            call_i32(&mut moved, instance, "memory_grow", 1),
            -1,
            "{kind}"
        );
        // The closure reads the limiter from the data on every question, so
        // replacing it there takes effect at once.
        moved.data_mut().0 = Some(Box::new(StoreLimits::default()));
        assert_eq!(
            call_i32(&mut moved, instance, "memory_grow", 1),
            2,
            "{kind}"
        );
    }
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
    for &kind in BackendKind::available() {
        let (mut store, instance) = setup(kind, Limiter::default(), GROWER);
        install(&mut store, Panics);
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
        assert!(message.contains("on purpose"), "{kind}: {message}");
        // The store is usable afterwards.
        assert_eq!(size(&mut store, instance, "memory_size"), 1, "{kind}");
        assert_eq!(grow.call(&mut store, 0).unwrap(), 1, "{kind}");
    }
}

#[test]
fn instance_pre_and_linker_instantiation_are_capped_too() {
    for &kind in BackendKind::available() {
        let engine = engine_for(kind);
        let module = Module::new(&engine, "(module (memory 1))").unwrap();
        let linker = tandem_store::Linker::<Limiter>::new(&engine);
        let pre = linker.instantiate_pre(&module).unwrap();
        let mut store = Store::new(&engine, Limiter::default());
        install(&mut store, StoreLimitsBuilder::new().instances(2).build());
        pre.instantiate(&mut store).expect("first");
        linker.instantiate(&mut store, &module).expect("second");
        let err = pre.instantiate(&mut store).unwrap_err();
        assert!(is_limit_error(&err), "{kind}: {err}");
        let err = linker.instantiate(&mut store, &module).unwrap_err();
        assert!(is_limit_error(&err), "{kind}: {err}");
        // Initial sizes too, on a fresh store.
        let mut store = Store::new(&engine, Limiter::default());
        install(&mut store, StoreLimitsBuilder::new().memory_size(0).build());
        let err = pre.instantiate(&mut store).unwrap_err();
        assert!(
            err.to_string().contains("memory of 1 pages"),
            "{kind}: {err}"
        );
    }
}
