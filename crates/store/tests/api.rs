//! The wasmtime-shaped surface on every backend this build has: raw calls
//! and raw host functions, `Linker::module` and `get_default`, modules from
//! files, the error model (`?` on any error, context, downcasting), and
//! store contexts inside host functions.

use tandem_store::{
    BackendKind, Caller, CompileError, Config, Context, Engine, Func, FuncType, Instance, Linker,
    Module, Result, Store, Trap, Val, ValRaw, ValType, WasmBacktrace, bail,
};

fn engines() -> Vec<(BackendKind, Engine)> {
    BackendKind::available()
        .iter()
        .map(|&kind| (kind, Engine::new(Config::new().backend(kind)).unwrap()))
        .collect()
}

#[test]
fn raw_host_functions_and_raw_calls() {
    for (kind, engine) in engines() {
        let mut store = Store::new(&engine, 0u32);
        let ty = FuncType::new(&engine, [ValType::I64, ValType::F64], [ValType::F64]);
        // SAFETY: reads an i64 and an f64, writes one f64, as `ty` says.
        let scale = unsafe {
            Func::new_unchecked(&mut store, ty, |mut caller: Caller<'_, u32>, slots| {
                *caller.data_mut() += 1;
                let (n, x) = (slots[0].assume_init().get_i64(), slots[1].assume_init());
                let x = f64::from_bits(x.get_f64());
                slots[0].write(ValRaw::f64((n as f64 * x).to_bits()));
                Ok(())
            })
        };
        let module = Module::new(
            &engine,
            r#"(module (import "" "scale" (func $s (param i64 f64) (result f64)))
                (func (export "run") (param i64 f64) (result f64)
                  (call $s (local.get 0) (local.get 1))))"#,
        )
        .unwrap();
        let instance = Instance::new(&mut store, &module, &[scale.into()]).unwrap();
        let run = instance.get_func(&mut store, "run").unwrap();
        // From Wasm, from a typed call, and raw from the host, both kinds.
        let typed = run.typed::<(i64, f64), f64>(&store).unwrap();
        assert_eq!(typed.call(&mut store, (3, 0.5)).unwrap(), 1.5, "{kind}");
        for f in [run, scale] {
            let mut slots = [ValRaw::i64(4), ValRaw::f64(2.5f64.to_bits())];
            // SAFETY: an i64 and an f64, with room for the f64 result.
            unsafe { f.call_unchecked(&mut store, &mut slots).unwrap() };
            assert_eq!(f64::from_bits(slots[0].get_f64()), 10.0, "{kind}");
        }
        assert_eq!(*store.data(), 3, "{kind}");
        // A raw call that traps reports the trap.
        let div = Module::new(
            &engine,
            r#"(module (func (export "div") (param i32 i32) (result i32)
                (i32.div_s (local.get 0) (local.get 1))))"#,
        )
        .unwrap();
        let div = Instance::new(&mut store, &div, &[])
            .unwrap()
            .get_func(&mut store, "div")
            .unwrap();
        let mut slots = [ValRaw::i32(1), ValRaw::i32(0)];
        // SAFETY: two i32 arguments, room for the result.
        let err = unsafe { div.call_unchecked(&mut store, &mut slots) }.unwrap_err();
        assert_eq!(
            err.downcast_ref(),
            Some(&Trap::IntegerDivisionByZero),
            "{kind}"
        );
    }
}

#[test]
fn linker_module_initializes_reactors_and_get_default_finds_commands() {
    for (kind, engine) in engines() {
        let reactor = Module::new(
            &engine,
            r#"(module (global $g (export "g") (mut i32) (i32.const 0))
                (func (export "_initialize") (global.set $g (i32.const 41)))
                (func (export "next") (result i32)
                  (global.set $g (i32.add (global.get $g) (i32.const 1))) (global.get $g)))"#,
        )
        .unwrap();
        let command = Module::new(
            &engine,
            r#"(module (import "lib" "next" (func $next (result i32)))
                (global $out (export "out") (mut i32) (i32.const 0))
                (func (export "_start") (global.set $out (call $next))))"#,
        )
        .unwrap();
        let mut store = Store::new(&engine, ());
        let mut linker = Linker::new(&engine);
        linker.module(&mut store, "lib", &reactor).unwrap();
        linker.module(&mut store, "cmd", &command).unwrap();
        let start = linker.get_default(&mut store, "cmd").unwrap();
        start
            .typed::<(), ()>(&store)
            .unwrap()
            .call(&mut store, ())
            .unwrap();
        let out = linker.get(&mut store, "cmd", "out").unwrap();
        assert_eq!(
            out.into_global().unwrap().get(&mut store).unwrap_i32(),
            42,
            "{kind}"
        );
        // A module with neither "" nor `_start` gets a function that does
        // nothing.
        let noop = linker.get_default(&mut store, "lib").unwrap();
        noop.call(&mut store, &[], &mut []).unwrap();
        // Defining the same name twice is an error unless shadowing is on.
        assert!(
            linker.module(&mut store, "lib", &reactor).is_err(),
            "{kind}"
        );
    }
}

#[test]
fn modules_from_files_binary_and_text() {
    let dir = std::env::temp_dir().join(format!("tandem-api-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let text = dir.join("add.wat");
    let binary = dir.join("add.wasm");
    let broken = dir.join("broken.wat");
    let wat = r#"(module (func (export "add") (param i32 i32) (result i32)
        (i32.add (local.get 0) (local.get 1))))"#;
    std::fs::write(&text, wat).unwrap();
    std::fs::write(&binary, wat::parse_str(wat).unwrap()).unwrap();
    std::fs::write(&broken, "(module (func (i32.add)))").unwrap();
    for (kind, engine) in engines() {
        for path in [&text, &binary] {
            let module = Module::from_file(&engine, path).unwrap();
            let mut store = Store::new(&engine, ());
            let instance = Instance::new(&mut store, &module, &[]).unwrap();
            let add = instance
                .get_typed_func::<(i32, i32), i32>(&mut store, "add")
                .unwrap();
            assert_eq!(add.call(&mut store, (2, 3)).unwrap(), 5, "{kind}");
        }
        let missing = Module::from_file(&engine, dir.join("missing.wasm")).unwrap_err();
        assert!(missing.downcast_ref::<std::io::Error>().is_some(), "{kind}");
        assert!(
            missing.to_string().contains("missing.wasm"),
            "{kind}: {missing}"
        );
        // Text that parses but does not validate: a compile error with
        // its byte offset.
        let invalid = Module::from_file(&engine, &broken).unwrap_err();
        let compile = invalid
            .downcast_ref::<CompileError>()
            .expect("compile error");
        assert!(compile.to_string().contains("offset"), "{kind}: {compile}");
        assert!(Module::validate(&engine, &std::fs::read(&binary).unwrap()).is_ok());
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// What a host function of this test fails with.
#[derive(Debug, PartialEq)]
struct Refused(i32);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "refused {}", self.0)
    }
}

impl std::error::Error for Refused {}

#[test]
fn errors_keep_their_type_context_and_frames_through_nested_calls() {
    for (kind, engine) in engines() {
        let module = Module::new(
            &engine,
            r#"(module $app
                (import "" "check" (func $check (param i32)))
                (import "" "parse" (func $parse (param i32) (result i32)))
                (func $inner (export "inner") (param i32) (call $check (local.get 0)))
                (func $outer (export "outer") (param i32) (call $inner (local.get 0)))
                (func (export "parse") (param i32) (result i32) (call $parse (local.get 0)))
                (func (export "trap") (unreachable)))"#,
        )
        .unwrap();
        let mut store = Store::new(&engine, ());
        let check = Func::wrap(&mut store, |x: i32| -> Result<()> {
            if x < 0 {
                return Err(Refused(x)).context("checking the input");
            }
            Ok(())
        });
        // `?` on a std error, and a nested call whose trap comes back.
        let parse = Func::wrap(
            &mut store,
            |mut caller: Caller<'_, ()>, x: i32| -> Result<i32> {
                if x == 0 {
                    let trap = caller.get_export("trap").unwrap().into_func().unwrap();
                    trap.call(&mut caller, &[], &mut [])?;
                }
                let n: i32 = format!("{x}x").parse()?;
                Ok(n)
            },
        );
        let instance = Instance::new(&mut store, &module, &[check.into(), parse.into()]).unwrap();
        let outer = instance
            .get_typed_func::<i32, ()>(&mut store, "outer")
            .unwrap();
        let err = outer.call(&mut store, -3).unwrap_err();
        assert_eq!(err.downcast_ref::<Refused>(), Some(&Refused(-3)), "{kind}");
        assert_eq!(err.root_cause().to_string(), "refused -3");
        assert!(
            format!("{err:?}").contains("checking the input"),
            "{kind}: {err:?}"
        );
        let frames = err.downcast_ref::<WasmBacktrace>().unwrap().frames();
        let names: Vec<_> = frames.iter().map(|f| f.func_name()).collect();
        assert_eq!(names, [Some("inner"), Some("outer")], "{kind}");
        assert_eq!(frames[0].module_name(), Some("app"), "{kind}");

        let parse = instance
            .get_typed_func::<i32, i32>(&mut store, "parse")
            .unwrap();
        let err = parse.call(&mut store, 5).unwrap_err();
        assert!(
            err.downcast_ref::<std::num::ParseIntError>().is_some(),
            "{kind}"
        );
        // The trap of the nested call keeps its own backtrace, which already
        // walks through the host frame to the outer Wasm frames; the outer
        // unwind attaches no second one.
        let err = parse.call(&mut store, 0).unwrap_err();
        assert_eq!(
            err.downcast_ref(),
            Some(&Trap::UnreachableCodeReached),
            "{kind}"
        );
        let frames = err.downcast_ref::<WasmBacktrace>().unwrap().frames();
        let indices: Vec<_> = frames.iter().map(|f| f.func_index()).collect();
        assert_eq!(indices, [5, 4], "{kind}: `trap`, then `parse`");
        let traces = err
            .chain()
            .filter(|e| e.to_string().starts_with("error while executing"))
            .count();
        assert_eq!(traces, 1, "{kind}: {err:?}");
        // `bail!` in a plain host function, called from the host.
        let fails = Func::wrap(&mut store, || -> Result<()> { bail!("no") });
        let err = fails.call(&mut store, &[], &mut []).unwrap_err();
        assert_eq!(err.to_string(), "no");
        assert!(
            err.downcast_ref::<WasmBacktrace>().is_none(),
            "no Wasm frames"
        );
    }
}

#[test]
fn a_default_store_and_its_values() {
    let mut store = Store::<Vec<i32>>::default();
    let module = Module::new(
        store.engine(),
        r#"(module (memory (export "m") 1) (global (export "g") f32 (f32.const 1.5))
            (func (export "f") (param i32)))"#,
    )
    .unwrap();
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let names: Vec<_> = module.exports().map(|e| e.name().to_string()).collect();
    assert_eq!(names, ["m", "g", "f"]);
    let exports: Vec<_> = instance
        .exports(&mut store)
        .map(|e| (e.name().to_string(), e.into_extern()))
        .collect();
    assert_eq!(exports.len(), 3);
    let g = instance.get_global(&mut store, "g").unwrap();
    assert_eq!(g.get(&mut store).unwrap_f32(), 1.5);
    let m = instance.get_memory(&mut store, "m").unwrap();
    m.write(&mut store, 65534, &[1, 2]).unwrap();
    assert!(m.write(&mut store, 65535, &[1, 2]).is_err());
    let (bytes, data) = m.data_and_store_mut(&mut store);
    data.push(i32::from(bytes[65535]));
    assert_eq!(*store.data(), [2]);
    let f = instance.get_func(&mut store, "f").unwrap();
    assert_eq!(f.ty(&store).params().collect::<Vec<_>>(), [ValType::I32]);
    assert!(f.call(&mut store, &[Val::I64(1)], &mut []).is_err());
}
