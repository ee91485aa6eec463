//! Unit tests: small `.wat` modules through the whole backend, checking that
//! the artifacts are well-formed (relocations, trap sites, address maps,
//! trampolines), and real-world modules when they are available. Running the
//! code is the runtime's job: semantics and exact fuel are tested through
//! `tandem-store` on every backend (`crates/store/tests/semantics.rs`,
//! `fuel_exact.rs`), the spec suite by `cargo xtask spec`.

use crate::CraneliftBackend;
use tandem_codegen_api::{Backend, CompileError, CompiledFunction, CompiledModule, RelocTarget};
use tandem_environ::{
    BoundsChecks, FuncType, Libcall, TrapCode, Tunables, ValType, WasmFeatures, default_features,
    translate,
};

fn backend() -> CraneliftBackend {
    CraneliftBackend::new().expect("host supports the backend")
}

fn try_compile(wat: &str, tunables: &Tunables) -> Result<CompiledModule, CompileError> {
    let wasm = wat::parse_str(wat).expect("valid wat");
    let translation = translate(&wasm, default_features())?;
    backend().compile_module(&translation, tunables)
}

fn compile(wat: &str) -> CompiledModule {
    let module = try_compile(wat, &Tunables::default()).unwrap_or_else(|e| panic!("{e}"));
    check_module(&module);
    module
}

/// Checks the invariants every artifact must satisfy.
fn check_function(f: &CompiledFunction) {
    assert!(!f.code.is_empty());
    assert!(f.alignment.is_power_of_two());
    let len = f.code.len() as u32;
    assert!(
        f.traps
            .windows(2)
            .all(|w| w[0].code_offset <= w[1].code_offset)
    );
    assert!(f.traps.iter().all(|t| t.code_offset < len));
    assert!(
        f.address_map.windows(2).all(|w| w[0].0 < w[1].0),
        "{:?}",
        f.address_map
    );
    assert!(f.address_map.iter().all(|&(code, _)| code < len));
    for r in &f.relocs {
        assert!(r.offset + 4 <= len);
    }
}

fn check_module(m: &CompiledModule) {
    let all = m
        .funcs
        .iter()
        .chain(m.array_to_wasm.iter().flatten())
        .chain(m.wasm_to_array.iter())
        .chain(m.libcall_trampolines.iter().map(|(_, f)| f));
    for f in all {
        check_function(f);
        for r in &f.relocs {
            match r.target {
                RelocTarget::Func(i) => assert!(i.index() < m.funcs.len()),
                RelocTarget::LibcallTrampoline(l) => {
                    assert!(m.libcall_trampolines.iter().any(|(have, _)| *have == l))
                }
            }
        }
    }
}

fn trap_codes(f: &CompiledFunction) -> Vec<TrapCode> {
    f.traps.iter().map(|t| t.code).collect()
}

fn libcalls(f: &CompiledFunction) -> Vec<Libcall> {
    f.relocs
        .iter()
        .filter_map(|r| match r.target {
            RelocTarget::LibcallTrampoline(l) => Some(l),
            RelocTarget::Func(_) => None,
        })
        .collect()
}

#[test]
fn constant_function_has_stack_check_and_address_map() {
    let m = compile(r#"(module (func (export "f") (result i32) i32.const 7))"#);
    let f = &m.funcs[0];
    assert!(!f.address_map.is_empty());
    assert!(m.array_to_wasm[0].is_some());
    assert_eq!(m.wasm_to_array.len(), 1);
    assert!(m.libcall_trampolines.is_empty());
}

#[test]
fn integer_operators() {
    let mut body = String::new();
    for ty in ["i32", "i64"] {
        for op in [
            "add", "sub", "mul", "div_s", "div_u", "rem_s", "rem_u", "and", "or", "xor", "shl",
            "shr_s", "shr_u", "rotl", "rotr", "eq", "ne", "lt_s", "lt_u", "gt_s", "gt_u", "le_s",
            "le_u", "ge_s", "ge_u",
        ] {
            body += &format!("({ty}.{op} (local.get $a_{ty}) (local.get $b_{ty})) drop\n");
        }
        for op in ["clz", "ctz", "popcnt", "eqz", "extend8_s", "extend16_s"] {
            body += &format!("({ty}.{op} (local.get $a_{ty})) drop\n");
        }
    }
    body += "(i64.extend32_s (local.get $a_i64)) drop\n";
    body += "(i32.wrap_i64 (local.get $a_i64)) drop\n";
    body += "(i64.extend_i32_s (local.get $a_i32)) drop\n";
    body += "(i64.extend_i32_u (local.get $a_i32)) drop\n";
    let wat = format!(
        "(module (func (param $a_i32 i32) (param $b_i32 i32) (param $a_i64 i64) (param $b_i64 i64)
            {body}
            (i32.const -1) drop (i64.const -9223372036854775808) drop))"
    );
    let m = compile(&wat);
    let codes = trap_codes(&m.funcs[0]);
    assert!(
        codes.contains(&TrapCode::IntegerDivisionByZero),
        "{codes:?}"
    );
    assert!(codes.contains(&TrapCode::IntegerOverflow), "{codes:?}");
    assert!(codes.contains(&TrapCode::StackOverflow) || m.funcs[0].traps.len() > 2);
}

#[test]
fn float_operators_and_conversions() {
    let mut body = String::new();
    for ty in ["f32", "f64"] {
        for op in [
            "add", "sub", "mul", "div", "min", "max", "copysign", "eq", "ne", "lt", "gt", "le",
            "ge",
        ] {
            body += &format!("({ty}.{op} (local.get $a_{ty}) (local.get $a_{ty})) drop\n");
        }
        for op in ["abs", "neg", "ceil", "floor", "trunc", "nearest", "sqrt"] {
            body += &format!("({ty}.{op} (local.get $a_{ty})) drop\n");
        }
        for int in ["i32", "i64"] {
            for sign in ["s", "u"] {
                body += &format!("({int}.trunc_{ty}_{sign} (local.get $a_{ty})) drop\n");
                body += &format!("({int}.trunc_sat_{ty}_{sign} (local.get $a_{ty})) drop\n");
                body += &format!("({ty}.convert_{int}_{sign} (local.get $a_{int})) drop\n");
            }
        }
    }
    body += "(f32.demote_f64 (local.get $a_f64)) drop (f64.promote_f32 (local.get $a_f32)) drop\n";
    body += "(i32.reinterpret_f32 (local.get $a_f32)) drop (f32.reinterpret_i32 (local.get $a_i32)) drop\n";
    body += "(i64.reinterpret_f64 (local.get $a_f64)) drop (f64.reinterpret_i64 (local.get $a_i64)) drop\n";
    body += "(f32.const nan:0x200000) drop (f64.const -0x1.5p3) drop\n";
    let wat = format!(
        "(module (func (param $a_i32 i32) (param $a_i64 i64) (param $a_f32 f32) (param $a_f64 f64)
            {body}))"
    );
    let m = compile(&wat);
    let codes = trap_codes(&m.funcs[0]);
    assert!(
        codes.contains(&TrapCode::BadConversionToInteger),
        "{codes:?}"
    );
    assert!(codes.contains(&TrapCode::IntegerOverflow), "{codes:?}");
    // Rounding is inline (SSE4.1): no libcall relocations at all.
    assert!(m.funcs[0].relocs.is_empty());
}

#[test]
fn control_flow() {
    let m = compile(
        r#"(module
          (func $f (export "f") (param i32) (result i32 i64)
            (block $out (result i32)
              (local.get 0)
              (loop $top (param i32) (result i32)
                local.get 0
                br_if $out
                (br_table $top $out $out (i32.const 1) (local.get 0))
                i32.const 9 drop)
              )
            (if (param i32) (result i32) (local.get 0) (then i32.const 1 i32.add) (else unreachable))
            (if (param i32) (result i32) (local.get 0) (then i32.const 2 i32.add))
            (block (br_table 0 0 0 (local.get 0)))
            (block (result i64)
              (i64.const 3)
              (br 0)
              (block (loop (if (local.get 0) (then nop) (else nop))))
              (i64.const 4) (i64.add))
            (return)
            (drop) (drop))
          (func (export "g") (param i32) (result i32)
            (if (result i32) (local.get 0)
              (then (return (i32.const 1)))
              (else (br 0 (i32.const 2)))))
          (func (export "h") (result f64)
            (unreachable)
            (if (then (drop (block (result i32) (br 0 (i32.const 1))))))
            (f64.const 1))
          (func (export "s") (param i32 f32 f32) (result f32)
            (select (local.get 1) (local.get 2) (local.get 0))
            (select (result f32) (local.get 2) (local.get 0)))
        )"#,
    );
    assert!(trap_codes(&m.funcs[0]).contains(&TrapCode::UnreachableCodeReached));
    assert!(trap_codes(&m.funcs[2]).contains(&TrapCode::UnreachableCodeReached));
}

#[test]
fn loads_and_stores_are_trap_sites() {
    let m = compile(
        r#"(module (memory 1)
          (func (export "f") (param i32) (result i64)
            (i32.store (local.get 0) (i32.load offset=4 (local.get 0)))
            (i64.store8 (local.get 0) (i64.load8_s (local.get 0)))
            (i64.store16 (local.get 0) (i64.load16_u (local.get 0)))
            (i64.store32 offset=4294967295 (local.get 0) (i64.load32_s (local.get 0)))
            (f32.store (local.get 0) (f32.load (local.get 0)))
            (f64.store (local.get 0) (f64.load (local.get 0)))
            (i32.store8 (local.get 0) (i32.load8_u (local.get 0)))
            (i32.store16 (local.get 0) (i32.load16_s (local.get 0)))
            (i64.load offset=2147483648 (local.get 0))))"#,
    );
    let f = &m.funcs[0];
    let oob = f
        .traps
        .iter()
        .filter(|t| t.code == TrapCode::MemoryOutOfBounds)
        .count();
    assert!(oob >= 15, "{:?}", f.traps);
}

#[test]
fn explicit_bounds_checks() {
    let tunables = Tunables {
        bounds_checks: BoundsChecks::Explicit,
        ..Tunables::default()
    };
    let m = try_compile(
        r#"(module (import "m" "mem" (memory 1))
          (func (param i32) (result i32) (i32.load offset=16 (local.get 0))))"#,
        &tunables,
    )
    .unwrap();
    check_module(&m);
    let oob = trap_codes(&m.funcs[0])
        .into_iter()
        .filter(|&c| c == TrapCode::MemoryOutOfBounds)
        .count();
    // The explicit check and the access itself.
    assert!(oob >= 2, "{:?}", m.funcs[0].traps);
}

#[test]
fn bulk_memory_calls_libcalls() {
    let m = compile(
        r#"(module (memory 1) (data $d "hello")
          (func (param i32) (result i32)
            (memory.fill (local.get 0) (i32.const 0) (i32.const 10))
            (memory.copy (local.get 0) (i32.const 0) (i32.const 10))
            (memory.init $d (local.get 0) (i32.const 0) (i32.const 5))
            (data.drop $d)
            (drop (memory.size))
            (memory.grow (local.get 0))))"#,
    );
    let mut used = libcalls(&m.funcs[0]);
    used.sort_by_key(|l| l.index());
    used.dedup();
    assert_eq!(
        used,
        [
            Libcall::memory_grow,
            Libcall::memory_fill,
            Libcall::memory_copy,
            Libcall::memory_init,
            Libcall::data_drop
        ]
    );
    assert_eq!(m.libcall_trampolines.len(), 5);
}

#[test]
fn tables_and_references() {
    let m = compile(
        r#"(module
          (import "m" "t" (table $imp 1 funcref))
          (table $t 2 funcref)
          (table $e 3 externref)
          (elem $seg func $f)
          (func $f (export "f") (param externref i32) (result funcref i32)
            (table.set $e (local.get 1) (local.get 0))
            (drop (table.get $e (local.get 1)))
            (table.set $t (i32.const 0) (ref.func $f))
            (drop (table.grow $t (ref.null func) (i32.const 1)))
            (table.fill $e (i32.const 0) (ref.null extern) (i32.const 1))
            (table.copy $t $imp (i32.const 0) (i32.const 0) (i32.const 1))
            (table.init $t $seg (i32.const 0) (i32.const 0) (i32.const 1))
            (elem.drop $seg)
            (drop (ref.is_null (local.get 0)))
            (table.get $imp (local.get 1))
            (i32.add (table.size $t) (table.size $imp))))"#,
    );
    let f = &m.funcs[0];
    assert!(trap_codes(f).contains(&TrapCode::TableOutOfBounds));
    let used = libcalls(f);
    for l in [
        Libcall::table_grow,
        Libcall::table_fill,
        Libcall::table_copy,
        Libcall::table_init,
        Libcall::elem_drop,
    ] {
        assert!(used.contains(&l), "{l:?}");
    }
}

#[test]
fn calls_direct_imported_and_indirect() {
    let m = compile(
        r#"(module
          (type $t (func (param i32) (result i32)))
          (import "m" "imp" (func $imp (param i32) (result i32)))
          (table 1 funcref)
          (func $a (param i32) (result i32) (call $imp (local.get 0)))
          (func $b (export "b") (param i32) (result i32)
            (call $a (local.get 0))
            (call_indirect (type $t) (i32.const 0))))"#,
    );
    // $a calls the import: no relocation. $b calls $a directly.
    assert!(m.funcs[0].relocs.is_empty());
    let b = &m.funcs[1];
    assert!(
        b.relocs
            .iter()
            .any(|r| r.target == RelocTarget::Func(tandem_environ::DefinedFuncIndex::from_u32(0)))
    );
    let codes = trap_codes(b);
    for c in [
        TrapCode::IndirectCallOutOfBounds,
        TrapCode::IndirectCallToNull,
        TrapCode::BadSignature,
    ] {
        assert!(codes.contains(&c), "{c:?} in {codes:?}");
    }
    // Only the exported function needs an entry.
    assert!(m.array_to_wasm[0].is_none() && m.array_to_wasm[1].is_some());
}

#[test]
fn globals_defined_and_imported() {
    let m = compile(
        r#"(module
          (import "m" "g" (global $ig (mut i64)))
          (import "m" "c" (global $ic f32))
          (global $g (mut f64) (f64.const 1))
          (global $r (mut externref) (ref.null extern))
          (func (result f32)
            (global.set $ig (i64.add (global.get $ig) (i64.const 1)))
            (global.set $g (global.get $g))
            (global.set $r (global.get $r))
            (global.get $ic)))"#,
    );
    assert!(m.funcs[0].relocs.is_empty());
}

#[test]
fn multi_value_and_many_params() {
    let params = "i32 i64 f32 f64 ".repeat(4);
    let results = "i64 f64 ".repeat(10);
    let body = (0..20)
        .map(|i| {
            if i % 2 == 0 {
                "(i64.const 1)"
            } else {
                "(f64.const 2)"
            }
        })
        .collect::<Vec<_>>()
        .join(" ");
    let m = compile(&format!(
        r#"(module
          (func $callee (export "callee") (param {params}) (result {results}) {body})
          (func (export "caller") (result {results})
            (call $callee {args})))"#,
        args = "(i32.const 0) (i64.const 0) (f32.const 0) (f64.const 0) ".repeat(4),
    ));
    assert_eq!(m.wasm_to_array.len(), 2);
}

#[test]
fn trampolines_for_several_signatures() {
    use ValType::*;
    let backend = backend();
    let tunables = Tunables::default();
    let signatures = [
        FuncType::new([], []),
        FuncType::new([I32, I64, F32, F64], [I32]),
        FuncType::new([I32; 12], [F64; 3]),
        FuncType::new([F64; 10], [I32, I64, F32, F64].repeat(5)),
        FuncType::new([ValType::FUNCREF; 2], [ValType::EXTERNREF]),
    ];
    for ty in &signatures {
        let f = backend.compile_wasm_to_array(&tunables, ty).unwrap();
        check_function(&f);
        assert!(f.relocs.is_empty(), "{ty}");
        // The ud2 after the never-returning raise_trap call.
        assert!(!f.traps.is_empty());
    }
    for &libcall in Libcall::ALL {
        let f = backend.compile_wasm_to_libcall(&tunables, libcall).unwrap();
        check_function(&f);
        assert!(f.relocs.is_empty());
    }
    // Array-to-Wasm entries for the same signatures.
    let mut wat = String::from("(module\n");
    for ty in &signatures {
        let list = |tys: &[ValType]| {
            tys.iter()
                .map(|t| t.to_string())
                .collect::<Vec<_>>()
                .join(" ")
        };
        let results = ty
            .results
            .iter()
            .map(|t| match t {
                I32 => "(i32.const 1)".to_string(),
                I64 => "(i64.const 1)".to_string(),
                F32 => "(f32.const 1)".to_string(),
                F64 => "(f64.const 1)".to_string(),
                other => format!(
                    "(ref.null {})",
                    if other.to_string() == "funcref" {
                        "func"
                    } else {
                        "extern"
                    }
                ),
            })
            .collect::<Vec<_>>()
            .join(" ");
        wat += &format!(
            "(func (export \"f{}\") (param {}) (result {}) {results})\n",
            wat.len(),
            list(&ty.params),
            list(&ty.results)
        );
    }
    wat += ")";
    let m = compile(&wat);
    for (i, entry) in m.array_to_wasm.iter().enumerate() {
        let entry = entry.as_ref().expect("exported");
        assert_eq!(entry.relocs.len(), 1);
        assert_eq!(
            entry.relocs[0].target,
            RelocTarget::Func(tandem_environ::DefinedFuncIndex::new(i))
        );
    }
}

#[test]
fn simd_compiles_with_v128_params_locals_and_results() {
    let wasm = wat::parse_str(
        "(module (func (param v128 i32) (result v128 i32) (local v128)
           (local.set 2 (i32x4.splat (local.get 1)))
           (i32x4.add (local.get 0) (local.get 2))
           (i32x4.extract_lane 3 (local.get 2))))",
    )
    .unwrap();
    let translation = translate(&wasm, default_features()).unwrap();
    let m = backend()
        .compile_module(&translation, &Tunables::default())
        .unwrap();
    assert!(!m.funcs[0].code.is_empty());
}

#[test]
fn unsupported_things_are_typed_errors() {
    let wasm =
        wat::parse_str("(module (memory i64 1) (func (result i32) (i32.load (i64.const 0))))")
            .unwrap();
    let features = default_features() | WasmFeatures::MEMORY64;
    let translation = translate(&wasm, features).unwrap();
    let err = backend()
        .compile_module(&translation, &Tunables::default())
        .unwrap_err();
    assert!(matches!(err, CompileError::Unsupported { .. }), "{err}");
}

/// The real-world module whose file name starts with `name_prefix`, from
/// `../shared/realworld` beside the workspace (where every checkout and CI
/// keep the shared inputs). Missing inputs fail the test: it must never pass
/// without compiling anything.
fn realworld_module(name_prefix: &str) -> std::path::PathBuf {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/realworld");
    let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; the real-world modules belong in ../shared/realworld beside the workspace",
            dir.display()
        )
    });
    entries
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(name_prefix) && n.ends_with(".wasm"))
        })
        .unwrap_or_else(|| panic!("no {name_prefix}*.wasm in {}", dir.display()))
}

/// Compiles a real-world module and checks every function's artifacts.
fn compile_realworld(name_prefix: &str) {
    let path = realworld_module(name_prefix);
    let wasm = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let translation = translate(&wasm, default_features()).unwrap();
    let m = backend()
        .compile_module(&translation, &Tunables::default())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    check_module(&m);
    assert_eq!(m.funcs.len(), translation.bodies.len());
    assert!(m.funcs.len() > 100, "{} functions", m.funcs.len());
}

#[test]
fn compiles_sqljs() {
    compile_realworld("sqljs-");
}

#[test]
fn compiles_brotli() {
    compile_realworld("brotli-");
}

#[test]
#[ignore = "esbuild is 14 MB of Go-compiled Wasm: minutes in a debug build"]
fn compiles_esbuild() {
    compile_realworld("esbuild-");
}
