//! Tests of linking: layout, relocations, lookups, the registry and link
//! errors, on hand-assembled code.

use super::testing::{Asm, FakeVmctx, TestFunc, UD2, test_module};
use super::*;
use crate::vmcontext::{VMStoreContext, ValRaw};
use tandem_codegen_api::{RelocKind, RelocTarget, Relocation};

fn func(name: &'static str, body: CompiledFunction, entry: bool) -> TestFunc {
    TestFunc { name, body, entry }
}

fn ret_42() -> CompiledFunction {
    Asm::new().prologue().mov_eax(42).epilogue().finish()
}

/// Calls an array-to-Wasm entry of an `() -> i64` function directly (no
/// trap handling: only for code that does not trap).
pub(super) fn call_entry(entry: ArrayCallFn) -> i64 {
    let store = VMStoreContext::default();
    let builtins = [0usize; Libcall::COUNT];
    let mut vmctx = FakeVmctx {
        magic: 0,
        store: &store,
        builtins: &builtins,
        reenter: None,
    };
    let mut values = [ValRaw::default(); 1];
    let vmctx = (&raw mut vmctx).cast::<u8>();
    // SAFETY: the entry follows the array call and only touches the vmctx's
    // store and `values[0]`.
    let ok = unsafe { entry(vmctx, vmctx, values.as_mut_ptr(), 1) };
    assert!(ok);
    values[0].get_i64()
}

#[test]
fn call_rel32_between_functions_resolves() {
    let caller = Asm::new()
        .prologue()
        .call(RelocTarget::Func(DefinedFuncIndex::new(0)))
        .epilogue()
        .finish();
    let (compiled, module) = test_module(
        vec![
            func("callee", ret_42(), false),
            func("caller", caller, true),
        ],
        &[],
    );
    let code = LinkedCode::link(&compiled, module).unwrap();
    let entry = code.array_to_wasm(DefinedFuncIndex::new(1)).unwrap();
    assert_eq!(call_entry(entry), 42);
    assert!(code.array_to_wasm(DefinedFuncIndex::new(0)).is_none());
}

#[test]
fn abs8_relocation_writes_the_target_address() {
    // movabs rax, <address of function 0>; ret
    let mut asm = Asm::new();
    asm.prologue().bytes(&[0x48, 0xB8]);
    let mut body = asm.bytes(&[0; 8]).epilogue().finish();
    body.relocs.push(Relocation {
        offset: 6,
        kind: RelocKind::Abs8,
        target: RelocTarget::Func(DefinedFuncIndex::new(0)),
        addend: 3,
    });
    let (compiled, module) = test_module(
        vec![func("target", ret_42(), false), func("address", body, true)],
        &[],
    );
    let code = LinkedCode::link(&compiled, module).unwrap();
    let entry = code.array_to_wasm(DefinedFuncIndex::new(1)).unwrap();
    let expected = code.func_body(DefinedFuncIndex::new(0)) as i64 + 3;
    assert_eq!(call_entry(entry), expected);
}

#[test]
fn lookups_are_exact_and_skip_trampolines() {
    let body = Asm::new()
        .prologue()
        .wasm_offset(10)
        .bytes(&[0x90]) // nop
        .wasm_offset(12)
        .trap(TrapCode::UnreachableCodeReached, &UD2)
        .finish();
    let (compiled, module) = test_module(vec![func("f", body, true)], &[]);
    let code = LinkedCode::link(&compiled, module).unwrap();
    let start = code.func_body(DefinedFuncIndex::new(0)) as usize;
    let text = code.text_range();
    assert!(text.contains(&start));
    assert_eq!(start % 16, 0);

    assert_eq!(
        code.lookup_trap(start + 5),
        Some(TrapCode::UnreachableCodeReached)
    );
    assert_eq!(
        code.lookup_trap(start + 6),
        None,
        "only the exact offset traps"
    );
    assert_eq!(code.lookup_trap(start), None);

    let f0 = DefinedFuncIndex::new(0);
    assert_eq!(
        code.lookup_frame(start),
        Some((f0, None)),
        "before the first map entry"
    );
    assert_eq!(code.lookup_frame(start + 4), Some((f0, Some(10))));
    assert_eq!(code.lookup_frame(start + 6), Some((f0, Some(12))));
    assert_eq!(code.lookup_frame(start + 7), None, "past the body");
    let entry = code.array_to_wasm(f0).unwrap() as usize;
    assert!(text.contains(&entry));
    assert_eq!(
        code.lookup_frame(entry),
        None,
        "trampolines are not functions"
    );
    assert!(!code.wasm_to_array(TypeIndex::from_u32(0)).is_null());
    assert!(code.wasm_to_array(TypeIndex::from_u32(7)).is_null());
}

#[test]
fn registry_finds_code_until_dropped() {
    let (compiled, module) = test_module(vec![func("f", ret_42(), false)], &[]);
    let code = LinkedCode::link(&compiled, module).unwrap();
    let pc = code.func_body(DefinedFuncIndex::new(0)) as usize + 1;
    let found = lookup_code(pc).expect("registered");
    assert!(Arc::ptr_eq(&found, &code));
    drop(found);
    assert!(lookup_code(code.text_range().end).is_none());
    drop(code);
    assert!(lookup_code(pc).is_none(), "unregistered on drop");
}

#[test]
fn missing_libcall_trampoline_is_an_error() {
    let body = Asm::new()
        .prologue()
        .call(RelocTarget::LibcallTrampoline(Libcall::memory_grow))
        .epilogue()
        .finish();
    let (compiled, module) = test_module(vec![func("f", body, false)], &[]);
    let err = LinkedCode::link(&compiled, module).unwrap_err();
    assert!(
        matches!(
            err,
            VmError::Link(LinkError::MissingTarget { offset: 5, .. })
        ),
        "{err}"
    );
    let body = Asm::new()
        .call(RelocTarget::Func(DefinedFuncIndex::new(9)))
        .finish();
    let (compiled, module) = test_module(vec![func("f", body, false)], &[]);
    let err = LinkedCode::link(&compiled, module).unwrap_err();
    assert!(
        matches!(err, VmError::Link(LinkError::MissingTarget { .. })),
        "{err}"
    );
}

#[test]
fn malformed_artifacts_are_errors() {
    let mut body = ret_42();
    body.relocs.push(Relocation {
        offset: 8,
        kind: RelocKind::X86PcRel4,
        target: RelocTarget::Func(DefinedFuncIndex::new(0)),
        addend: 0,
    });
    let (compiled, module) = test_module(vec![func("f", body, false)], &[]);
    let err = LinkedCode::link(&compiled, module).unwrap_err();
    assert!(
        matches!(err, VmError::Link(LinkError::OutsideCode { .. })),
        "{err}"
    );

    let mut body = ret_42();
    body.traps.push(tandem_codegen_api::TrapSite {
        code_offset: 100,
        code: TrapCode::UnreachableCodeReached,
    });
    let (compiled, module) = test_module(vec![func("f", body, false)], &[]);
    let err = LinkedCode::link(&compiled, module).unwrap_err();
    assert!(
        matches!(err, VmError::Link(LinkError::OutsideCode { .. })),
        "{err}"
    );

    let mut body = Asm::new()
        .call(RelocTarget::Func(DefinedFuncIndex::new(0)))
        .finish();
    body.relocs[0].addend = 1 << 40;
    let (compiled, module) = test_module(vec![func("f", body, false)], &[]);
    let err = LinkedCode::link(&compiled, module).unwrap_err();
    assert!(
        matches!(err, VmError::Link(LinkError::OutOfRange { .. })),
        "{err}"
    );

    let mut body = ret_42();
    body.alignment = 24;
    let (compiled, module) = test_module(vec![func("f", body, false)], &[]);
    let err = LinkedCode::link(&compiled, module).unwrap_err();
    assert!(
        matches!(err, VmError::Link(LinkError::BadAlignment { .. })),
        "{err}"
    );

    let (mut compiled, module) = test_module(vec![func("f", ret_42(), false)], &[]);
    compiled.funcs.pop();
    let err = LinkedCode::link(&compiled, module).unwrap_err();
    assert!(
        matches!(err, VmError::Link(LinkError::Shape { .. })),
        "{err}"
    );

    let (mut compiled, module) = test_module(vec![func("f", ret_42(), false)], &[]);
    compiled.wasm_to_array_of_type[0] = 5;
    let err = LinkedCode::link(&compiled, module).unwrap_err();
    assert!(
        matches!(err, VmError::Link(LinkError::Shape { .. })),
        "{err}"
    );
}

#[test]
fn alignment_is_respected() {
    let mut aligned = ret_42();
    aligned.alignment = 64;
    let (compiled, module) = test_module(
        vec![
            func("a", Asm::new().bytes(&[0xC3]).finish(), false),
            func("b", aligned, false),
        ],
        &[],
    );
    let code = LinkedCode::link(&compiled, module).unwrap();
    assert_eq!(code.func_body(DefinedFuncIndex::new(1)) as usize % 64, 0);
}

#[test]
fn empty_module_links() {
    let (mut compiled, module) = test_module(Vec::new(), &[]);
    compiled.wasm_to_array.clear();
    compiled.wasm_to_array_of_type.clear();
    let mut info = (*module).clone();
    info.types.clear();
    let code = LinkedCode::link(&compiled, Arc::new(info)).unwrap();
    assert!(code.text_range().is_empty());
}
