//! Embedding example: host values Wasm holds as `externref` — rooted
//! handles in scopes, an owned handle that outlives them, a table Wasm and
//! the host share, and a collection that frees what nothing reaches.
//!
//! Run with `cargo run -p tandem-store --example externref`.

use tandem_store::{
    Engine, ExternRef, Instance, Module, OwnedRooted, Ref, Result, RootScope, Rooted, Store,
};

fn main() -> Result<()> {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
            (table $names (export "names") 4 externref)
            (func (export "remember") (param i32 externref)
              (table.set $names (local.get 0) (local.get 1)))
            (func (export "recall") (param i32) (result externref)
              (table.get $names (local.get 0))))"#,
    )?;
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[])?;
    let remember =
        instance.get_typed_func::<(i32, Option<Rooted<ExternRef>>), ()>(&mut store, "remember")?;
    let recall = instance.get_typed_func::<i32, Option<Rooted<ExternRef>>>(&mut store, "recall")?;

    // Each name is rooted only inside its scope; Wasm's table keeps it.
    for (slot, name) in ["ada", "grace", "barbara"].into_iter().enumerate() {
        let mut scope = RootScope::new(&mut store);
        let name = ExternRef::new(&mut scope, name.to_string())?;
        remember.call(&mut scope, (slot as i32, Some(name)))?;
    }
    // A value the host keeps for as long as it likes.
    let kept: OwnedRooted<ExternRef> = {
        let mut scope = RootScope::new(&mut store);
        ExternRef::new(&mut scope, String::from("kept by the host"))?.to_owned_rooted(&mut scope)?
    };

    // Read back through Wasm, and through the table from the host.
    let second = recall.call(&mut store, 1)?.expect("slot 1 is set");
    let text = second
        .data(&store)?
        .and_then(|d| d.downcast_ref::<String>())
        .cloned();
    assert_eq!(text.as_deref(), Some("grace"));
    let table = instance.get_table(&mut store, "names").expect("exported");
    let third = table.get(&mut store, 2).expect("in bounds");
    let third = third.unwrap_extern().expect("slot 2 is set");
    let through_wasm = recall.call(&mut store, 2)?.expect("slot 2 is set");
    assert!(Rooted::ref_eq(&store, third, &through_wasm)?);

    // Clear one slot: only that name becomes garbage.
    table.set(&mut store, 0, Ref::Extern(None))?;
    let freed = store.gc(None)?;
    println!(
        "collected {freed} externref(s); {} left",
        store.externref_count()
    );
    assert_eq!(freed, 1);
    let kept_text = kept.data(&store)?.and_then(|d| d.downcast_ref::<String>());
    println!("still here: {text:?}, {kept_text:?}");
    Ok(())
}
