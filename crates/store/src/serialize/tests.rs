//! Precompiled modules: round trips on every backend, mapping from files,
//! every mismatch refused with one line, and damaged artifacts never
//! crashing (property tests).

use super::*;
use crate::{BackendKind, Config, Engine, Func, Instance, Module, Store, Trap, WasmBacktrace};
use proptest::prelude::*;

/// A module with a bit of everything: an import, a memory with data, a
/// table with an element segment, a mutable global, a start function,
/// calls direct and indirect, and a trap.
const WAT: &str = r#"(module $demo
    (import "host" "double" (func $double (param i32) (result i32)))
    (memory (export "memory") 1)
    (data (i32.const 16) "precompiled")
    (table 2 funcref)
    (elem (i32.const 0) $inc $double)
    (global $calls (mut i32) (i32.const 100))
    (type $i2i (func (param i32) (result i32)))
    (func $inc (param i32) (result i32)
      global.get $calls i32.const 1 i32.add global.set $calls
      local.get 0 i32.const 1 i32.add)
    (func $start (global.set $calls (i32.const 0)))
    (start $start)
    (func (export "calc") (param i32) (result i32)
      (call_indirect (type $i2i) (local.get 0) (i32.const 0))
      (call_indirect (type $i2i) (i32.const 1)))
    (func (export "calls") (result i32) global.get $calls)
    (func (export "load") (param i32) (result i32) (i32.load8_u (local.get 0)))
    (func $fails (export "fails") unreachable))"#;

fn engine(kind: BackendKind) -> Engine {
    Engine::new(Config::new().backend(kind)).unwrap()
}

/// Instantiates `module` and checks it behaves as [`WAT`] says.
fn exercise(module: &Module) {
    let mut store = Store::new(module.engine(), ());
    let double = Func::wrap(&mut store, |x: i32| x * 2);
    let instance = Instance::new(&mut store, module, &[double.into()]).unwrap();
    let calc = instance
        .get_typed_func::<i32, i32>(&mut store, "calc")
        .unwrap();
    assert_eq!(calc.call(&mut store, 20).unwrap(), 42);
    let calls = instance
        .get_typed_func::<(), i32>(&mut store, "calls")
        .unwrap();
    assert_eq!(calls.call(&mut store, ()).unwrap(), 1);
    let load = instance
        .get_typed_func::<i32, i32>(&mut store, "load")
        .unwrap();
    assert_eq!(load.call(&mut store, 16).unwrap(), i32::from(b'p'));
    let fails = instance
        .get_typed_func::<(), ()>(&mut store, "fails")
        .unwrap();
    let err = fails.call(&mut store, ()).unwrap_err();
    assert_eq!(
        err.downcast_ref::<Trap>(),
        Some(&Trap::UnreachableCodeReached)
    );
    let trace = err.downcast_ref::<WasmBacktrace>().unwrap();
    assert_eq!(
        trace.frames()[0].func_name(),
        Some("fails"),
        "names survive"
    );
}

fn artifact(kind: BackendKind) -> (Engine, Vec<u8>) {
    let engine = engine(kind);
    let bytes = Module::new(&engine, WAT).unwrap().serialize().unwrap();
    (engine, bytes)
}

/// Loads `bytes` and returns the error's message, which must be one line.
fn refusal(engine: &Engine, bytes: &[u8]) -> PrecompiledError {
    // SAFETY: the bytes are refused before any code is mapped.
    let err = unsafe { Module::deserialize(engine, bytes) }.unwrap_err();
    let message = err.to_string();
    assert!(!message.contains('\n'), "one line: {message}");
    err.downcast::<PrecompiledError>()
        .expect("a PrecompiledError")
}

/// The parts of an artifact, decoded; the last is the text and the memory
/// images after it.
fn parts(bytes: &[u8]) -> (String, Compat, Body<'_>, Vec<u8>) {
    let rest = &bytes[HEADER_LEN..];
    let (version, rest) = postcard::take_from_bytes::<String>(rest).unwrap();
    let (compat, rest) = postcard::take_from_bytes::<Compat>(rest).unwrap();
    let (body, _) = postcard::take_from_bytes::<Body>(rest).unwrap();
    let text_offset = u64::from_le_bytes(bytes[20..28].try_into().unwrap()) as usize;
    (version, compat, body, bytes[text_offset..].to_vec())
}

#[test]
fn round_trips_run_the_same_on_every_backend() {
    for &kind in BackendKind::available() {
        let (engine, bytes) = artifact(kind);
        assert!(bytes.starts_with(&MAGIC));
        // SAFETY: the bytes were just written by `serialize`.
        let module = unsafe { Module::deserialize(&engine, &bytes) }.unwrap();
        assert_eq!(module.backend(), kind);
        assert_eq!(module.name(), Some("demo"));
        exercise(&module);
        assert!(
            module.serialize().unwrap() == bytes,
            "{kind}: a fixed point"
        );
        // Another engine with the same settings takes it too.
        // SAFETY: as above.
        let elsewhere = unsafe { Module::deserialize(&self::engine(kind), &bytes) }.unwrap();
        exercise(&elsewhere);
    }
}

#[test]
fn a_file_is_mapped_not_copied() {
    for &kind in BackendKind::available() {
        let (engine, bytes) = artifact(kind);
        let text_offset = u64::from_le_bytes(bytes[20..28].try_into().unwrap());
        assert_eq!(text_offset % TEXT_ALIGN as u64, 0);
        let path = std::env::temp_dir().join(format!(
            "tandem-serialize-{kind}-{}.twasm",
            std::process::id()
        ));
        std::fs::write(&path, &bytes).unwrap();
        // SAFETY: written above, left alone while the module lives.
        let module = unsafe { Module::deserialize_file(&engine, &path) }.unwrap();
        let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
        let code = maps
            .lines()
            .find(|line| line.ends_with(&*path.to_string_lossy()) && line.contains("r-xp"))
            .unwrap_or_else(|| panic!("{kind}: no executable mapping of the file in\n{maps}"));
        let offset = code.split_whitespace().nth(2).unwrap();
        assert_eq!(u64::from_str_radix(offset, 16).unwrap(), text_offset);
        exercise(&module);
        drop(module);
        std::fs::remove_file(&path).unwrap();
    }
}

#[test]
fn every_mismatch_is_one_clear_line() {
    let kind = BackendKind::available()[0];
    let (_, bytes) = artifact(kind);
    let cases: Vec<(Config, &str)> = vec![
        (
            Config::new().consume_fuel(true).clone(),
            "fuel metering = false, this engine has true (Config::consume_fuel)",
        ),
        (
            Config::new().epoch_interruption(true).clone(),
            "epoch interruption",
        ),
        (
            Config::new().memory_reservation(1 << 20).clone(),
            "bounds checks = Guarded, this engine has Explicit",
        ),
        (
            Config::new().memory_guard_size(1 << 16).clone(),
            "memory reservation",
        ),
        (
            Config::new().wasm_reference_types(false).clone(),
            "Wasm features this engine has off (reference_types)",
        ),
    ];
    for (mut config, expected) in cases {
        let engine = Engine::new(config.backend(kind)).unwrap();
        let err = refusal(&engine, &bytes);
        assert!(matches!(err, PrecompiledError::Incompatible(_)), "{err}");
        assert!(err.to_string().contains(expected), "{err}");
    }
    // Optimization level and verifier do not matter.
    let mut config = Config::new();
    // SAFETY: the verifier changes no code.
    unsafe { config.cranelift_flag_enable("enable_verifier") };
    let relaxed = Engine::new(
        config
            .backend(kind)
            .cranelift_opt_level(crate::OptLevel::None),
    )
    .unwrap();
    // SAFETY: written by `serialize` for the same settings.
    exercise(&unsafe { Module::deserialize(&relaxed, &bytes) }.unwrap());
}

#[test]
fn stale_foreign_or_future_artifacts_are_refused() {
    let kind = BackendKind::available()[0];
    let (engine, bytes) = artifact(kind);
    let (version, compat, body, text) = parts(&bytes);

    let stale = write(
        "tandem 0.0.1, artifact format 0",
        &compat,
        &body,
        &text,
        &[],
    )
    .unwrap();
    let err = refusal(&engine, &stale);
    assert!(matches!(err, PrecompiledError::Version { .. }), "{err}");
    assert!(
        err.to_string().contains("precompiled by tandem 0.0.1"),
        "{err}"
    );

    let mut avx = compat.clone();
    avx.cpu_features.push("has_a_feature_no_cpu_has".into());
    let err = refusal(&engine, &write(&version, &avx, &body, &text, &[]).unwrap());
    assert_eq!(
        err.to_string(),
        "the precompiled module does not fit this engine: the CPU lacks has_a_feature_no_cpu_has, which the code uses"
    );

    let mut setting = compat.clone();
    setting
        .settings
        .push(("frame_layout".into(), "upside down".into()));
    let err = refusal(
        &engine,
        &write(&version, &setting, &body, &text, &[]).unwrap(),
    );
    assert!(
        err.to_string().contains("`frame_layout` = `upside down`"),
        "{err}"
    );

    let mut unknown = compat.clone();
    unknown.backend = "llvm".into();
    let err = refusal(
        &engine,
        &write(&version, &unknown, &body, &text, &[]).unwrap(),
    );
    assert!(err.to_string().contains("unknown backend `llvm`"), "{err}");

    let wasm = wat::parse_str("(module)").unwrap();
    assert_eq!(refusal(&engine, &wasm), PrecompiledError::Wasm);
    assert_eq!(refusal(&engine, b"hello"), PrecompiledError::NotPrecompiled);
    assert_eq!(refusal(&engine, b""), PrecompiledError::NotPrecompiled);
    assert_eq!(
        refusal(&engine, &MAGIC[..3]),
        PrecompiledError::Truncated {
            expected: HEADER_LEN as u64,
            found: 3
        }
    );
}

#[test]
fn memory_images_travel_in_the_artifact_and_map_from_the_file() {
    const DATA: &str = r#"(module
        (memory (export "memory") 2)
        (data (i32.const 16) "in the image")
        (data (i32.const 70000) "second page")
        (data $passive "passive bytes")
        (func (export "init") (memory.init $passive (i32.const 200) (i32.const 0) (i32.const 7)))
        (func (export "init_active") (memory.init 0 (i32.const 0) (i32.const 0) (i32.const 1)))
        (func (export "load") (param i32) (result i32) (i32.load8_u (local.get 0))))"#;
    for &kind in BackendKind::available() {
        for cow in [true, false] {
            let engine = Engine::new(Config::new().backend(kind).memory_init_cow(cow)).unwrap();
            let bytes = Module::new(&engine, DATA).unwrap().serialize().unwrap();
            let (_, _, body, _) = parts(&bytes);
            assert!(matches!(body.data[0], DataRun::InImages(2)), "{kind}");
            assert!(matches!(body.data[1], DataRun::Segment(_)));
            let path = std::env::temp_dir().join(format!(
                "tandem-images-{kind}-{cow}-{}.twasm",
                std::process::id()
            ));
            std::fs::write(&path, &bytes).unwrap();
            // SAFETY: written above, left alone while the module lives.
            let module = unsafe { Module::deserialize_file(&engine, &path) }.unwrap();
            assert!(
                module.serialize().unwrap() == bytes,
                "a loaded module serializes alike"
            );
            for round in 0..2 {
                let mut store = Store::new(&engine, ());
                let instance = Instance::new(&mut store, &module, &[]).unwrap();
                let load = instance
                    .get_typed_func::<i32, i32>(&mut store, "load")
                    .unwrap();
                let byte = |store: &mut Store<()>, at: i32| load.call(store, at).unwrap() as u8;
                assert_eq!(byte(&mut store, 16), b'i', "{kind} cow={cow} round {round}");
                assert_eq!(byte(&mut store, 70000), b's');
                assert_eq!(byte(&mut store, 15), 0);
                let memory = instance.get_memory(&mut store, "memory").unwrap();
                memory.data_mut(&mut store)[16] = b'X';
                let init = instance
                    .get_typed_func::<(), ()>(&mut store, "init")
                    .unwrap();
                init.call(&mut store, ()).unwrap();
                assert_eq!(&memory.data(&store)[200..207], b"passive");
                let active = instance
                    .get_typed_func::<(), ()>(&mut store, "init_active")
                    .unwrap();
                let err = active.call(&mut store, ()).unwrap_err();
                assert_eq!(
                    err.downcast_ref::<Trap>(),
                    Some(&Trap::MemoryOutOfBounds),
                    "dropped"
                );
                if round == 0 {
                    let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
                    let mapped = maps
                        .lines()
                        .any(|l| l.ends_with(&*path.to_string_lossy()) && l.contains("rw-p"));
                    assert!(mapped, "{kind}: the image is mapped from the file:\n{maps}");
                }
            }
            drop(module);
            std::fs::remove_file(&path).unwrap();
            // From bytes the images are copied into memory.
            // SAFETY: written by `serialize` just above.
            let module = unsafe { Module::deserialize(&engine, &bytes) }.unwrap();
            let mut store = Store::new(&engine, ());
            let instance = Instance::new(&mut store, &module, &[]).unwrap();
            let load = instance
                .get_typed_func::<i32, i32>(&mut store, "load")
                .unwrap();
            assert_eq!(load.call(&mut store, 70001).unwrap(), i32::from(b'e'));
        }
    }
}

#[test]
fn segments_an_image_cannot_hold_stay_segments() {
    let kind = BackendKind::available()[0];
    let engine = engine(kind);
    let cases = [
        r#"(module (import "env" "at" (global i32)) (memory 1) (data (global.get 0) "at a global"))"#,
        r#"(module (memory (export "m") 1000) (data (i32.const 0) "a") (data (i32.const 60000000) "b"))"#,
    ];
    for wat in cases {
        let bytes = Module::new(&engine, wat).unwrap().serialize().unwrap();
        let (_, _, body, _) = parts(&bytes);
        assert!(body.images.is_none(), "{wat}");
        assert!(
            body.data
                .iter()
                .all(|run| matches!(run, DataRun::Segment(_)))
        );
    }
    let far = Module::new(&engine, cases[1]).unwrap().serialize().unwrap();
    assert!(far.len() < 1 << 20, "{} bytes: no 60 MB image", far.len());
    // SAFETY: written by `serialize` just above.
    let module = unsafe { Module::deserialize(&engine, &far) }.unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let memory = instance.get_memory(&mut store, "m").unwrap();
    assert_eq!(memory.data(&store)[0], b'a');
    assert_eq!(memory.data(&store)[60_000_000], b'b');
}

#[test]
fn inconsistent_metadata_with_a_valid_checksum_is_refused() {
    let kind = BackendKind::available()[0];
    let (engine, bytes) = artifact(kind);
    let (version, compat, mut body, text) = parts(&bytes);
    body.module.functions.pop();
    let err = refusal(
        &engine,
        &write(&version, &compat, &body, &text, &[]).unwrap(),
    );
    assert!(matches!(err, PrecompiledError::Malformed(_)), "{err}");
}

/// One way of damaging an artifact.
#[derive(Clone, Debug)]
enum Damage {
    /// Flip one bit.
    Flip { at: usize, bit: u8 },
    /// Keep only the first bytes.
    Truncate { len: usize },
    /// Replace a range with other bytes (a splice from another file, or
    /// garbage).
    Splice { at: usize, bytes: Vec<u8> },
    /// Add bytes at the end.
    Append { bytes: Vec<u8> },
}

impl Damage {
    fn apply(&self, artifact: &[u8]) -> Vec<u8> {
        let mut out = artifact.to_vec();
        match self {
            Damage::Flip { at, bit } => out[at % artifact.len()] ^= 1 << bit,
            Damage::Truncate { len } => out.truncate(len % artifact.len()),
            Damage::Splice { at, bytes } => {
                let at = at % artifact.len();
                let end = (at + bytes.len()).min(out.len());
                out.splice(at..end, bytes.iter().copied());
            }
            Damage::Append { bytes } => out.extend_from_slice(bytes),
        }
        out
    }
}

fn damage() -> impl Strategy<Value = Damage> {
    prop_oneof![
        (any::<usize>(), 0u8..8).prop_map(|(at, bit)| Damage::Flip { at, bit }),
        any::<usize>().prop_map(|len| Damage::Truncate { len }),
        (any::<usize>(), prop::collection::vec(any::<u8>(), 1..64))
            .prop_map(|(at, bytes)| Damage::Splice { at, bytes }),
        prop::collection::vec(any::<u8>(), 1..64).prop_map(|bytes| Damage::Append { bytes }),
    ]
}

/// One artifact per backend, built once for all cases.
fn artifacts() -> &'static [(Engine, Vec<u8>)] {
    static ARTIFACTS: std::sync::OnceLock<Vec<(Engine, Vec<u8>)>> = std::sync::OnceLock::new();
    ARTIFACTS.get_or_init(|| {
        BackendKind::available()
            .iter()
            .map(|&kind| artifact(kind))
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Any damage is caught (the checksum covers every byte) and refused
    /// with one line; nothing crashes.
    #[test]
    fn damaged_artifacts_are_refused(which in any::<prop::sample::Index>(), damage in damage()) {
        let (engine, bytes) = &artifacts()[which.index(artifacts().len())];
        let damaged = damage.apply(bytes);
        prop_assume!(damaged != *bytes);
        let err = refusal(engine, &damaged);
        prop_assert!(
            matches!(
                err,
                PrecompiledError::Corrupted
                    | PrecompiledError::Truncated { .. }
                    | PrecompiledError::NotPrecompiled
            ),
            "{err}"
        );
    }

    /// Damage to the metadata with the checksum made to match again (what
    /// the checksum cannot catch) still never crashes the load: decoding,
    /// the module's indices and the code layout are all checked. Nothing is
    /// run.
    #[test]
    fn resealed_metadata_damage_never_crashes(
        which in any::<prop::sample::Index>(),
        at in any::<prop::sample::Index>(),
        bit in 0u8..8,
    ) {
        let (engine, bytes) = &artifacts()[which.index(artifacts().len())];
        let text_offset = u64::from_le_bytes(bytes[20..28].try_into().unwrap()) as usize;
        let mut damaged = bytes.clone();
        damaged[HEADER_LEN + at.index(text_offset - HEADER_LEN)] ^= 1 << bit;
        seal(&mut damaged);
        // SAFETY: see the doc comment: the load must not crash, and a
        // module it accepts is dropped without running anything.
        match unsafe { Module::deserialize(engine, &damaged) } {
            Ok(module) => drop(module),
            Err(err) => prop_assert!(!err.to_string().contains('\n'), "{err}"),
        }
    }
}
