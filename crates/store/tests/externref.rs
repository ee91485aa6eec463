//! Externrefs are never freed while a table, a global, a host handle or a
//! live Wasm frame can reach them, are freed by `Store::gc` once nothing
//! can, and are all freed when the store drops. Drop counters prove each.
//! Every test runs on every backend this build has.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tandem_store::{
    BackendKind, Caller, Config, Engine, ExternRef, Func, Global, GlobalType, Instance, Module,
    RefType, Result, Store, Table, TableType, Val, ValType,
};

/// A host value that counts its drops.
struct Tracked {
    id: u32,
    drops: Arc<AtomicUsize>,
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.drops.fetch_add(1, Ordering::SeqCst);
    }
}

const WAT: &str = r#"
(module
  (import "host" "try_gc" (func $try_gc))
  (table $t (export "table") 8 externref)
  (table $hidden 2 externref)
  (global $g (export "global") (mut externref) (ref.null extern))
  (global $hidden_g (mut externref) (ref.null extern))
  (global $counter (mut i32) (i32.const 0))

  (func (export "identity") (param externref) (result externref)
    local.get 0)
  (func (export "table_set") (param i32 externref)
    local.get 0 local.get 1 table.set $t)
  (func (export "table_get") (param i32) (result externref)
    local.get 0 table.get $t)
  (func (export "table_grow") (param externref i32) (result i32)
    local.get 0 local.get 1 table.grow $t)
  (func (export "table_fill") (param i32 externref i32)
    local.get 0 local.get 1 local.get 2 table.fill $t)
  (func (export "table_size") (result i32)
    table.size $t)
  (func (export "global_set") (param externref)
    local.get 0 global.set $g)
  (func (export "global_get") (result externref)
    global.get $g)
  ;; Keeps a value where only this instance can see it.
  (func (export "hide") (param externref externref)
    i32.const 1 local.get 0 table.set $hidden
    local.get 1 global.set $hidden_g)
  (func (export "hidden_table") (result externref)
    i32.const 1 table.get $hidden)
  (func (export "hidden_global") (result externref)
    global.get $hidden_g)
  (func (export "unhide")
    i32.const 1 ref.null extern table.set $hidden
    ref.null extern global.set $hidden_g)
  ;; Moves table[0] into a local, clears the table, calls the host (which
  ;; tries to collect), and returns the local.
  (func (export "take_and_hold") (result externref) (local $held externref)
    i32.const 0 table.get $t
    local.set $held
    i32.const 0 ref.null extern table.set $t
    call $try_gc
    local.get $held)
  ;; Unrelated work.
  (func (export "churn") (param i32) (result i32)
    global.get $counter local.get 0 i32.add global.set $counter
    global.get $counter)
)
"#;

struct Fixture {
    /// The backend the module was compiled with, for messages.
    kind: BackendKind,
    store: Store<()>,
    instance: Instance,
    drops: Arc<AtomicUsize>,
}

impl Fixture {
    fn new(kind: BackendKind) -> Fixture {
        let engine = Engine::new(Config::new().backend(kind)).expect("engine");
        let module = Module::new(&engine, WAT).unwrap_or_else(|e| panic!("{kind}: compiles: {e}"));
        let mut store = Store::new(&engine, ());
        let try_gc = Func::wrap(
            &mut store,
            move |mut caller: Caller<'_, ()>| -> Result<()> {
                // A collection from inside Wasm is refused...
                let err = caller.store().gc().unwrap_err();
                assert!(err.to_string().contains("Store::gc"), "{kind}: {err}");
                // ...and so is the automatic one in `ExternRef::new`, however
                // many externrefs the host creates here.
                for i in 0..3000 {
                    ExternRef::new(caller.store(), i);
                }
                Ok(())
            },
        );
        let instance = Instance::new(&mut store, &module, &[try_gc.into()]).expect("instantiates");
        Fixture {
            kind,
            store,
            instance,
            drops: Arc::new(AtomicUsize::new(0)),
        }
    }

    fn tracked(&mut self, id: u32) -> ExternRef {
        let value = Tracked {
            id,
            drops: self.drops.clone(),
        };
        ExternRef::new(&mut self.store, value)
    }

    fn drops(&self) -> usize {
        self.drops.load(Ordering::SeqCst)
    }

    fn call(&mut self, name: &str, args: &[Val], results: usize) -> Vec<Val> {
        let func = self.instance.get_func(&mut self.store, name).expect(name);
        let mut out = vec![Val::I32(0); results];
        let kind = self.kind;
        func.call(&mut self.store, args, &mut out)
            .unwrap_or_else(|e| panic!("{kind}: `{name}` failed: {e}"));
        out
    }

    /// The id of the `Tracked` behind an externref result.
    fn id_of(&self, val: &Val) -> Option<u32> {
        let Val::ExternRef(Some(r)) = val else {
            return None;
        };
        let data = r.data(&self.store).expect("same store");
        Some(data.downcast_ref::<Tracked>().expect("a Tracked").id)
    }

    fn call_id(&mut self, name: &str, args: &[Val]) -> Option<u32> {
        let out = self.call(name, args, 1);
        self.id_of(&out[0])
    }

    /// Thousands of allocations and calls that have nothing to do with the
    /// values under test (and trigger automatic collections).
    fn churn(&mut self) {
        for i in 0..5000 {
            ExternRef::new(&mut self.store, vec![i; 4]);
        }
        let churn = self
            .instance
            .get_typed_func::<i32, i32>(&mut self.store, "churn")
            .unwrap();
        for i in 0..2000 {
            churn.call(&mut self.store, i).unwrap();
        }
        for i in 0..2000 {
            let r = ExternRef::new(&mut self.store, i);
            self.call("identity", &[r.into()], 1);
        }
    }
}

fn null() -> Val {
    Val::ExternRef(None)
}

#[test]
fn round_trips_through_arguments_tables_and_globals() {
    for &kind in BackendKind::available() {
        let mut f = Fixture::new(kind);
        let r = f.tracked(7);

        // As an argument and a result.
        let out = f.call("identity", &[r.clone().into()], 1);
        assert_eq!(f.id_of(&out[0]), Some(7), "{kind}");
        let Val::ExternRef(Some(back)) = &out[0] else {
            panic!("not an externref: {:?}", out[0]);
        };
        assert_eq!(*back, r, "{kind}");
        assert!(ExternRef::ptr_eq(back, &r), "{kind}");

        // Typed calls carry `Option<ExternRef>`.
        let identity = f
            .instance
            .get_typed_func::<Option<ExternRef>, Option<ExternRef>>(&mut f.store, "identity")
            .unwrap();
        assert_eq!(
            identity.call(&mut f.store, Some(r.clone())).unwrap(),
            Some(r.clone())
        );
        assert_eq!(identity.call(&mut f.store, None).unwrap(), None, "{kind}");

        // Through a table: Wasm writes, Wasm and the host read.
        f.call("table_set", &[Val::I32(3), r.clone().into()], 0);
        assert_eq!(f.call_id("table_get", &[Val::I32(3)]), Some(7), "{kind}");
        let table = f.instance.get_table(&mut f.store, "table").unwrap();
        let from_host = table.get(&mut f.store, 3).unwrap();
        assert_eq!(f.id_of(&from_host), Some(7), "{kind}");
        // The host writes, Wasm reads.
        let s = f.tracked(8);
        table.set(&mut f.store, 4, s.into()).unwrap();
        assert_eq!(f.call_id("table_get", &[Val::I32(4)]), Some(8), "{kind}");

        // Through a global, both ways.
        f.call("global_set", &[r.clone().into()], 0);
        assert_eq!(f.call_id("global_get", &[]), Some(7), "{kind}");
        let global = f.instance.get_global(&mut f.store, "global").unwrap();
        let v = global.get(&mut f.store);
        assert_eq!(f.id_of(&v), Some(7), "{kind}");
        let t = f.tracked(9);
        global.set(&mut f.store, t.into()).unwrap();
        assert_eq!(f.call_id("global_get", &[]), Some(9), "{kind}");

        assert_eq!(f.drops(), 0, "{kind}");
    }
}

#[test]
fn kept_only_in_a_table_or_global_survives_gc() {
    for &kind in BackendKind::available() {
        let mut f = Fixture::new(kind);
        // One value per kind of root, each with no host handle left afterwards.
        let in_table = f.tracked(1);
        f.call("table_set", &[Val::I32(0), in_table.into()], 0);
        let in_global = f.tracked(2);
        f.call("global_set", &[in_global.into()], 0);
        let (hidden_t, hidden_g) = (f.tracked(3), f.tracked(4));
        f.call("hide", &[hidden_t.into(), hidden_g.into()], 0);
        let host_table_value = f.tracked(5);
        let ty = TableType {
            element: RefType::Extern,
            minimum: 2,
            maximum: None,
        };
        let host_table = Table::new(&mut f.store, ty, null()).unwrap();
        host_table
            .set(&mut f.store, 1, host_table_value.into())
            .unwrap();
        let host_global_value = f.tracked(6);
        let gty = GlobalType {
            content: ValType::Ref(RefType::Extern),
            mutable: false,
        };
        let host_global = Global::new(&mut f.store, gty, host_global_value.into()).unwrap();
        // Grown in by the `table.grow` libcall, and filled by `table.fill`.
        let grown = f.tracked(7);
        assert_eq!(
            f.call("table_grow", &[grown.into(), Val::I32(3)], 1)[0].i32(),
            Some(8)
        );
        let filled = f.tracked(8);
        f.call("table_fill", &[Val::I32(5), filled.into(), Val::I32(2)], 0);

        f.churn();
        f.store.gc().unwrap();
        assert_eq!(f.drops(), 0, "{kind}: a rooted externref was freed");

        assert_eq!(f.call_id("table_get", &[Val::I32(0)]), Some(1), "{kind}");
        assert_eq!(f.call_id("global_get", &[]), Some(2), "{kind}");
        assert_eq!(f.call_id("hidden_table", &[]), Some(3), "{kind}");
        assert_eq!(f.call_id("hidden_global", &[]), Some(4), "{kind}");
        let v = host_table.get(&mut f.store, 1).unwrap();
        assert_eq!(f.id_of(&v), Some(5), "{kind}");
        let v = host_global.get(&mut f.store);
        assert_eq!(f.id_of(&v), Some(6), "{kind}");
        let ids: Vec<_> = (5..11)
            .map(|i| f.call_id("table_get", &[Val::I32(i)]))
            .collect();
        assert_eq!(
            ids,
            [Some(8), Some(8), None, Some(7), Some(7), Some(7)],
            "{kind}"
        );
        assert_eq!(f.call("table_size", &[], 1)[0].i32(), Some(11), "{kind}");
        drop(v);

        // Reading them back made handles; once those are gone, the roots still
        // hold every value through another collection.
        f.churn();
        f.store.gc().unwrap();
        assert_eq!(f.drops(), 0, "{kind}");
        assert_eq!(f.call_id("hidden_global", &[]), Some(4), "{kind}");
    }
}

#[test]
fn unreachable_externrefs_are_freed_by_gc() {
    for &kind in BackendKind::available() {
        let mut f = Fixture::new(kind);
        f.store.gc().unwrap();
        let baseline = f.store.externref_count();

        // Passed through Wasm and dropped by the host: nothing reaches it.
        let r = f.tracked(1);
        f.call("identity", &[r.into()], 1);
        // Stored, then overwritten.
        let r = f.tracked(2);
        f.call("table_set", &[Val::I32(0), r.into()], 0);
        f.call("table_set", &[Val::I32(0), null()], 0);
        let r = f.tracked(3);
        f.call("global_set", &[r.into()], 0);
        f.call("global_set", &[null()], 0);
        let (a, b) = (f.tracked(4), f.tracked(5));
        f.call("hide", &[a.into(), b.into()], 0);
        f.call("unhide", &[], 0);
        // Still held by the host: survives.
        let kept = f.tracked(6);

        assert_eq!(f.drops(), 0, "{kind}: nothing is freed before a collection");
        assert_eq!(f.store.gc().unwrap(), 5, "{kind}");
        assert_eq!(f.drops(), 5, "{kind}");
        assert_eq!(f.store.externref_count(), baseline + 1, "{kind}");
        let data = kept.data(&f.store).unwrap();
        assert_eq!(data.downcast_ref::<Tracked>().unwrap().id, 6, "{kind}");

        drop(kept);
        assert_eq!(f.store.gc().unwrap(), 1, "{kind}");
        assert_eq!(f.drops(), 6, "{kind}");
        assert_eq!(f.store.externref_count(), baseline, "{kind}");
    }
}

#[test]
fn automatic_collection_bounds_garbage() {
    for &kind in BackendKind::available() {
        let mut f = Fixture::new(kind);
        for i in 0..20_000 {
            f.tracked(i);
        }
        // `ExternRef::new` collected whenever the list doubled.
        assert!(
            f.store.externref_count() <= 2048,
            "{}",
            f.store.externref_count()
        );
        assert!(f.drops() >= 18_000, "{kind}: {}", f.drops());
    }
}

#[test]
fn a_live_wasm_frame_keeps_its_externref_while_the_host_is_called() {
    for &kind in BackendKind::available() {
        let mut f = Fixture::new(kind);
        let r = f.tracked(42);
        f.call("table_set", &[Val::I32(0), r.into()], 0);
        // Now only table[0] holds it; `take_and_hold` moves it into a local,
        // clears the table and calls the host, which tries to collect.
        let out = f.call("take_and_hold", &[], 1);
        assert_eq!(f.drops(), 0, "{kind}");
        assert_eq!(f.id_of(&out[0]), Some(42), "{kind}");
        assert_eq!(f.call_id("table_get", &[Val::I32(0)]), None, "{kind}");
        drop(out);
        f.store.gc().unwrap();
        assert_eq!(f.drops(), 1, "{kind}");
    }
}

#[test]
fn every_externref_is_freed_when_the_store_drops() {
    for &kind in BackendKind::available() {
        let mut f = Fixture::new(kind);
        let mut made = 0;
        for i in 0..4 {
            let r = f.tracked(i);
            f.call("table_set", &[Val::I32(i as i32), r.into()], 0);
            made += 1;
        }
        let r = f.tracked(10);
        f.call("global_set", &[r.into()], 0);
        let (a, b) = (f.tracked(11), f.tracked(12));
        f.call("hide", &[a.into(), b.into()], 0);
        for i in 0..100 {
            f.tracked(100 + i);
        }
        made += 3 + 100;
        let drops = f.drops.clone();
        f.store.gc().unwrap();
        assert_eq!(drops.load(Ordering::SeqCst), 100, "{kind}");
        drop(f);
        assert_eq!(drops.load(Ordering::SeqCst), made, "{kind}");
    }
}

#[test]
fn a_host_handle_outliving_its_store_keeps_its_value() {
    for &kind in BackendKind::available() {
        let mut f = Fixture::new(kind);
        let r = f.tracked(1);
        let drops = f.drops.clone();
        drop(f);
        assert_eq!(drops.load(Ordering::SeqCst), 0, "{kind}");
        drop(r);
        assert_eq!(drops.load(Ordering::SeqCst), 1, "{kind}");
    }
}

#[test]
fn externrefs_do_not_cross_stores() {
    for &kind in BackendKind::available() {
        let mut f = Fixture::new(kind);
        let r = f.tracked(1);
        let other = Store::new(f.store.engine(), ());
        let err = r.data(&other).unwrap_err();
        assert!(err.to_string().contains("wrong store"), "{kind}: {err}");
        let mut g = Fixture::new(kind);
        let identity = g.instance.get_func(&mut g.store, "identity").unwrap();
        let mut out = [null()];
        let err = identity
            .call(&mut g.store, &[r.into()], &mut out)
            .unwrap_err();
        assert!(err.to_string().contains("wrong store"), "{kind}: {err}");
    }
}
