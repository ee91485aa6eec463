//! Typed function references across modules and backends: one engine-wide
//! type id per (iso-recursively) equal type, so `call_indirect` and
//! `call_ref` work across modules compiled by either backend; imports
//! matched with subtyping where the spec allows it (immutable globals) and
//! exactly where it does not (mutable globals, tables); and the host API
//! checking typed reference values.

use tandem_store::{
    BackendKind, Config, Engine, Extern, ExternType, Func, Global, GlobalType, HeapType, Instance,
    LinkError, Module, Mutability, RefType, Store, Trap, Val, ValType,
};

/// The exporting module: `$f: (func (param (ref $leaf)) (result i32))` in a
/// recursion group, a typed table and typed globals.
const EXPORTER: &str = r#"(module
  (rec (type $leaf (func (result i32))) (type $f (func (param (ref $leaf)) (result i32))))
  (func $seven (type $leaf) (i32.const 7))
  (func $apply (export "apply") (type $f) (i32.add (call_ref $leaf (local.get 0)) (i32.const 1)))
  (table (export "table") 2 (ref null $f) (ref.func $apply))
  (global (export "leaf") (ref $leaf) (ref.func $seven))
  (global (export "mut") (mut (ref null $leaf)) (ref.null $leaf))
  (elem declare func $seven))"#;

/// An importer declaring the same recursion group in its own module.
const IMPORTER: &str = r#"(module
  (rec (type $leaf (func (result i32))) (type $f (func (param (ref $leaf)) (result i32))))
  (import "e" "apply" (func $apply (type $f)))
  (import "e" "table" (table 2 (ref null $f)))
  (import "e" "leaf" (global $leaf (ref null $leaf)))
  (import "e" "mut" (global $mut (mut (ref null $leaf))))
  (func (export "direct") (result i32) (call $apply (ref.as_non_null (global.get $leaf))))
  (func (export "indirect") (result i32)
    (call_indirect (type $f) (ref.as_non_null (global.get $leaf)) (i32.const 0)))
  (func (export "through_table") (result i32)
    (call_ref $f (ref.as_non_null (global.get $leaf)) (ref.as_non_null (table.get 0 (i32.const 0)))))
  (func (export "tail") (result i32)
    (return_call_ref $f (ref.as_non_null (global.get $leaf)) (ref.as_non_null (table.get 0 (i32.const 0)))))
  (func (export "mut_is_null") (result i32) (ref.is_null (global.get $mut)))
  (func (export "null_call") (result i32) (call_ref $leaf (global.get $mut))))"#;

/// An engine that accepts recursion groups.
fn gc_engine() -> Engine {
    Engine::new(Config::new().wasm_gc(true)).unwrap()
}

fn link(
    engine: &Engine,
    store: &mut Store<()>,
    exporter: BackendKind,
    importer: BackendKind,
    importer_wat: &str,
) -> tandem_store::Result<Instance> {
    let e = Module::with_backend(engine, EXPORTER, exporter)?;
    let e = Instance::new(&mut *store, &e, &[])?;
    let imports: Vec<Extern> = ["apply", "table", "leaf", "mut"]
        .iter()
        .map(|name| e.get_export(&mut *store, name).unwrap())
        .collect();
    let i = Module::with_backend(engine, importer_wat, importer)?;
    Instance::new(&mut *store, &i, &imports)
}

#[test]
fn typed_references_work_across_modules_and_backends() {
    let engine = gc_engine();
    for &exporter in BackendKind::available() {
        for &importer in BackendKind::available() {
            println!("{exporter} -> {importer}");
            let mut store = Store::new(&engine, ());
            let i = link(&engine, &mut store, exporter, importer, IMPORTER).unwrap();
            for name in ["direct", "indirect", "through_table", "tail"] {
                let f = i.get_typed_func::<(), i32>(&mut store, name).unwrap();
                assert_eq!(f.call(&mut store, ()).unwrap(), 8, "{name}");
            }
            let f = i
                .get_typed_func::<(), i32>(&mut store, "mut_is_null")
                .unwrap();
            assert_eq!(f.call(&mut store, ()).unwrap(), 1);
            let f = i
                .get_typed_func::<(), i32>(&mut store, "null_call")
                .unwrap();
            let err = f.call(&mut store, ()).unwrap_err();
            assert_eq!(
                err.downcast_ref::<Trap>(),
                Some(&Trap::NullFunctionReference)
            );
        }
    }
}

#[test]
fn types_of_another_recursion_group_do_not_match() {
    let engine = gc_engine();
    let mut store = Store::new(&engine, ());
    // The same two types, but each in a group of its own: other types.
    let apart = IMPORTER.replace(
        "(rec (type $leaf (func (result i32))) (type $f (func (param (ref $leaf)) (result i32))))",
        "(type $leaf (func (result i32))) (type $f (func (param (ref $leaf)) (result i32)))",
    );
    let err = link(
        &engine,
        &mut store,
        BackendKind::Baseline,
        BackendKind::Cranelift,
        &apart,
    )
    .unwrap_err();
    let link = err.downcast_ref::<LinkError>().expect("a link error");
    assert!(link.to_string().contains("apply"), "{link}");

    // And `call_indirect` with such a type traps instead of calling.
    let wat = r#"(module
      (rec (type $leaf (func (result i32))) (type $f (func (param (ref $leaf)) (result i32))))
      (type $other (func (param (ref $leaf)) (result i32)))
      (func $seven (type $leaf) (i32.const 7))
      (func $apply (type $f) (call_ref $leaf (local.get 0)))
      (table funcref (elem $apply))
      (elem declare func $seven)
      (func (export "same") (result i32)
        (call_indirect (type $f) (ref.func $seven) (i32.const 0)))
      (func (export "other") (result i32)
        (call_indirect (type $other) (ref.func $seven) (i32.const 0))))"#;
    for &kind in BackendKind::available() {
        let module = Module::with_backend(&engine, wat, kind).unwrap();
        let i = Instance::new(&mut store, &module, &[]).unwrap();
        let same = i.get_typed_func::<(), i32>(&mut store, "same").unwrap();
        assert_eq!(same.call(&mut store, ()).unwrap(), 7);
        let other = i.get_typed_func::<(), i32>(&mut store, "other").unwrap();
        let err = other.call(&mut store, ()).unwrap_err();
        assert_eq!(err.downcast_ref::<Trap>(), Some(&Trap::BadSignature));
    }
}

#[test]
fn imports_match_immutable_globals_by_subtype_and_the_rest_exactly() {
    let engine = gc_engine();
    let mut store = Store::new(&engine, ());
    let e = Instance::new(&mut store, &Module::new(&engine, EXPORTER).unwrap(), &[]).unwrap();
    let import = |store: &mut Store<()>, decl: &str, name: &str| {
        let wat = format!(
            "(module (rec (type $leaf (func (result i32))) (type $f (func (param (ref $leaf)) (result i32)))) (import \"e\" \"{name}\" {decl}))"
        );
        let module = Module::new(&engine, wat).unwrap();
        let item = e.get_export(&mut *store, name).unwrap();
        Instance::new(&mut *store, &module, &[item]).map(drop)
    };
    // `leaf` is an immutable (ref $leaf): any supertype will do.
    for ok in [
        "(global (ref $leaf))",
        "(global (ref null $leaf))",
        "(global funcref)",
        "(global (ref func))",
    ] {
        import(&mut store, ok, "leaf").unwrap_or_else(|e| panic!("{ok}: {e}"));
    }
    for bad in [
        "(global (ref $f))",
        "(global externref)",
        "(global (mut (ref $leaf)))",
    ] {
        assert!(import(&mut store, bad, "leaf").is_err(), "{bad}");
    }
    // `mut` is mutable: only its exact type.
    import(&mut store, "(global (mut (ref null $leaf)))", "mut").unwrap();
    for bad in ["(global (mut funcref))", "(global (ref null $leaf))"] {
        assert!(import(&mut store, bad, "mut").is_err(), "{bad}");
    }
    // Tables are mutable too.
    import(&mut store, "(table 1 (ref null $f))", "table").unwrap();
    assert!(import(&mut store, "(table 1 funcref)", "table").is_err());
}

#[test]
fn the_embedding_api_names_concrete_types_by_engine_id_and_checks_values() {
    let engine = gc_engine();
    let mut store = Store::new(&engine, ());
    let module = Module::new(&engine, EXPORTER).unwrap();
    let e = Instance::new(&mut store, &module, &[]).unwrap();
    // The export's type names `$leaf` (type 0 of a recursion group) as the
    // engine does.
    let apply_ty = e.get_func(&mut store, "apply").unwrap().ty(&store);
    let ValType::Ref(param) = apply_ty.param(0).unwrap() else {
        panic!("a reference parameter");
    };
    assert!(!param.is_nullable());
    let HeapType::Registered(leaf) = param.heap_type() else {
        panic!("{param:?}");
    };
    // `(func (result i32))` alone in its group is another type: the one a
    // host function of that signature has.
    let other = Module::new(
        &engine,
        "(module (type $leaf (func (result i32))) (global (export \"g\") (ref null $leaf) (ref.null $leaf)))",
    )
    .unwrap();
    let ExternType::Global(g) = other.get_export("g").unwrap() else {
        panic!("a global");
    };
    let ValType::Ref(single) = *g.content() else {
        panic!("a reference global");
    };
    let HeapType::Registered(single) = single.heap_type() else {
        panic!("{single:?}");
    };
    assert_ne!(single, leaf);

    let host_seven = Func::wrap(&mut store, || 7i32);
    let Val::FuncRef(Some(seven)) = e.get_global(&mut store, "leaf").unwrap().get(&mut store)
    else {
        panic!("a function");
    };
    let leaf_ref = ValType::Ref(RefType::new(false, HeapType::Registered(leaf)));
    let single_ref = ValType::Ref(RefType::new(false, HeapType::Registered(single)));
    assert!(
        Val::FuncRef(Some(seven))
            .matches_ty(&store, &leaf_ref)
            .unwrap()
    );
    assert!(
        !Val::FuncRef(Some(host_seven))
            .matches_ty(&store, &leaf_ref)
            .unwrap()
    );
    assert!(
        Val::FuncRef(Some(host_seven))
            .matches_ty(&store, &single_ref)
            .unwrap()
    );
    assert!(
        Val::FuncRef(Some(host_seven))
            .matches_ty(&store, &ValType::FUNCREF)
            .unwrap()
    );
    assert!(!Val::FuncRef(None).matches_ty(&store, &leaf_ref).unwrap());

    let apply = e.get_func(&mut store, "apply").unwrap();
    let mut out = [Val::I32(0)];
    apply
        .call(&mut store, &[Val::FuncRef(Some(seven))], &mut out)
        .unwrap();
    assert_eq!(out[0].i32(), Some(8));
    for bad in [Val::FuncRef(None), Val::FuncRef(Some(host_seven))] {
        assert!(apply.call(&mut store, &[bad], &mut out).is_err());
    }
    let ty = GlobalType::new(leaf_ref, Mutability::Const);
    assert!(Global::new(&mut store, ty, Val::FuncRef(Some(seven))).is_ok());
    assert!(Global::new(&mut store, ty, Val::FuncRef(None)).is_err());
}
