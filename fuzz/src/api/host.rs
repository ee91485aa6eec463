//! The host side of the api target: the host function Wasm calls, in
//! each of its modes, and what it leaves in the store's data.

use tandem_store::{Caller, Engine, Error, Func, Linker, Store};

/// What the host function does when Wasm calls it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum HostMode {
    /// Returns its argument plus this.
    Add(i32),
    /// Returns an error.
    Fail,
    /// Panics.
    Panic,
    /// Calls the calling instance's `double` and returns that.
    CallBack,
}

/// A host function's error.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct HostFail(pub(super) i32);

impl std::fmt::Display for HostFail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "host function failed on {}", self.0)
    }
}

impl std::error::Error for HostFail {}

/// A host panic's payload.
pub(super) struct HostPanic(pub(super) i32);

/// A store's host data.
pub(super) struct HostData {
    pub(super) mode: HostMode,
    /// Times the out-of-fuel or epoch callback ran.
    pub(super) callbacks: u32,
}

pub(super) fn host_behaviour(
    mut caller: Caller<'_, HostData>,
    x: i32,
) -> tandem_store::Result<i32> {
    match caller.data().mode {
        HostMode::Add(v) => Ok(x + v),
        HostMode::Fail => Err(Error::new(HostFail(x))),
        HostMode::Panic => std::panic::panic_any(HostPanic(x)),
        HostMode::CallBack => {
            let double = caller
                .get_export("double")
                .and_then(|e| e.into_func())
                .ok_or_else(|| Error::msg("no double export"))?;
            let double = double.typed::<i32, i32>(&caller)?;
            double.call(&mut caller, x)
        }
    }
}

pub(super) fn host_func(store: &mut Store<HostData>) -> Func {
    Func::wrap(store, host_behaviour)
}

pub(super) fn linker(engine: &Engine) -> Linker<HostData> {
    let mut linker = Linker::new(engine);
    linker
        .func_wrap("host", "cb", host_behaviour)
        .expect("a fresh linker");
    linker
}
