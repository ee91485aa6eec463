//! Embedding example: two modules linked by name. `app` imports the memory
//! and an allocator function that `lib` exports.
//!
//! Run with `cargo run -p tandem-store --example linking`.

use tandem_store::{Engine, Linker, Module, Store};

fn main() -> tandem_store::Result<()> {
    let engine = Engine::default();
    let lib = Module::new(
        &engine,
        r#"(module
            (memory (export "memory") 1)
            (global $next (mut i32) (i32.const 1024))
            (func (export "alloc") (param $size i32) (result i32)
              global.get $next
              global.get $next local.get $size i32.add global.set $next))"#,
    )?;
    let app = Module::new(
        &engine,
        r#"(module
            (import "lib" "memory" (memory 1))
            (import "lib" "alloc" (func $alloc (param i32) (result i32)))
            (func (export "squares") (param $n i32) (result i32)
              (local $base i32) (local $i i32)
              local.get $n i32.const 4 i32.mul call $alloc local.set $base
              block $done
                loop $next
                  local.get $i local.get $n i32.ge_u br_if $done
                  local.get $base local.get $i i32.const 4 i32.mul i32.add
                  local.get $i local.get $i i32.mul
                  i32.store
                  local.get $i i32.const 1 i32.add local.set $i
                  br $next
                end
              end
              local.get $base))"#,
    )?;

    let mut store = Store::new(&engine, ());
    let mut linker = Linker::new(&engine);
    let lib_instance = linker.instantiate(&mut store, &lib)?;
    linker.instance(&mut store, "lib", lib_instance)?;
    let app_instance = linker.instantiate(&mut store, &app)?;

    let squares = app_instance.get_typed_func::<i32, i32>(&mut store, "squares")?;
    let base = squares.call(&mut store, 5)? as usize;
    let memory = lib_instance
        .get_memory(&mut store, "memory")
        .expect("lib exports its memory");
    let values: Vec<u32> = memory.data(&store)[base..base + 20]
        .chunks(4)
        .map(|c| u32::from_le_bytes(c.try_into().unwrap()))
        .collect();
    println!("squares written by `app` into `lib`'s memory at {base}: {values:?}");
    assert_eq!(values, [0, 1, 4, 9, 16]);
    Ok(())
}
