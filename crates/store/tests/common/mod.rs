//! What the fuel and epoch test files share: an engine per backend with
//! the checks they need, and reading a failed call's trap code.

#![allow(dead_code, reason = "each test file uses only part of this module")]

use tandem_store::{BackendKind, Config, Engine, Error, FrameInfo, Trap, WasmBacktrace};

/// An engine on backend `kind` with fuel and/or epoch checks.
pub fn engine(kind: BackendKind, fuel: bool, epochs: bool) -> Engine {
    let mut config = Config::new();
    config
        .backend(kind)
        .consume_fuel(fuel)
        .epoch_interruption(epochs);
    Engine::new(&config).unwrap()
}

/// Runs `test` with an engine (fuel and/or epochs) for each backend built
/// in. The backend's name is printed first, so a failure's captured output
/// says which one failed.
pub fn each_backend(fuel: bool, epochs: bool, mut test: impl FnMut(&Engine)) {
    assert!(
        !BackendKind::available().is_empty(),
        "built without a backend"
    );
    for &kind in BackendKind::available() {
        println!("backend: {kind}");
        test(&engine(kind, fuel, epochs));
    }
}

/// The trap code of a failed call.
pub fn trap_code<R: std::fmt::Debug>(result: Result<R, Error>) -> Trap {
    let err = result.expect_err("the call traps");
    *err.downcast_ref::<Trap>()
        .unwrap_or_else(|| panic!("expected a trap, got {err:?}"))
}

/// The Wasm frames attached to a failed call's error, innermost first.
pub fn frames(err: &Error) -> &[FrameInfo] {
    err.downcast_ref::<WasmBacktrace>()
        .map_or(&[], WasmBacktrace::frames)
}
