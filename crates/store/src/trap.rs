//! [`Trap`] codes and the [`WasmBacktrace`] attached to the error of a
//! failed call, and how an unwind out of Wasm becomes that error.

use crate::Error;
use crate::error::HostUnwind;
use tandem_vm::backtrace::Backtrace;
use tandem_vm::traphandlers::{Unwind, UnwindReason};

/// Why Wasm trapped: a `Copy` code, found by downcasting a call's error.
///
/// ```
/// use tandem_store::{Engine, Instance, Module, Store, Trap, WasmBacktrace};
/// let engine = Engine::default();
/// let module = Module::new(&engine, r#"(module
///     (func $inner (param i32) (result i32) i32.const 1 local.get 0 i32.div_u)
///     (func $outer (export "outer") (param i32) (result i32) local.get 0 call $inner))"#).unwrap();
/// let mut store = Store::new(&engine, ());
/// let instance = Instance::new(&mut store, &module, &[]).unwrap();
/// let outer = instance.get_typed_func::<i32, i32>(&mut store, "outer").unwrap();
/// let err = outer.call(&mut store, 0).unwrap_err();
/// assert_eq!(*err.downcast_ref::<Trap>().unwrap(), Trap::IntegerDivisionByZero);
/// let trace = err.downcast_ref::<WasmBacktrace>().unwrap();
/// let names: Vec<_> = trace.frames().iter().map(|f| f.func_name()).collect();
/// assert_eq!(names, [Some("inner"), Some("outer")]);
/// // `{err:?}` shows the backtrace, then the trap as its cause.
/// let text = format!("{err:?}");
/// assert!(text.starts_with("error while executing at wasm backtrace:\n    0: inner @ 0x"), "{text}");
/// assert!(text.contains("Caused by:\n    wasm trap: integer divide by zero"), "{text}");
/// // The store is still usable.
/// assert_eq!(outer.call(&mut store, 1).unwrap(), 1);
/// ```
pub use tandem_environ::TrapCode as Trap;

/// One Wasm frame of a [`WasmBacktrace`].
///
/// ```
/// use tandem_store::FrameInfo;
/// let frame = FrameInfo { func_index: 3, func_name: Some("run".into()),
///     module_name: Some("app".into()), wasm_offset: Some(0x2a) };
/// assert_eq!(frame.to_string(), "app!run @ 0x2a");
/// assert_eq!((frame.func_index(), frame.func_name(), frame.module_offset()), (3, Some("run"), Some(0x2a)));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FrameInfo {
    /// Function index in its module.
    pub func_index: u32,
    /// Name from the name section, if any.
    pub func_name: Option<String>,
    /// The module's name, if any.
    pub module_name: Option<String>,
    /// Byte offset of the Wasm instruction in the module, if known.
    pub wasm_offset: Option<u32>,
}

impl FrameInfo {
    /// The function's index in its module's function index space.
    pub fn func_index(&self) -> u32 {
        self.func_index
    }

    /// The function's name from the name section, if any.
    pub fn func_name(&self) -> Option<&str> {
        self.func_name.as_deref()
    }

    /// The module's name from the name section, if any.
    pub fn module_name(&self) -> Option<&str> {
        self.module_name.as_deref()
    }

    /// Byte offset of the instruction from the start of the module, if the
    /// address map covers it.
    pub fn module_offset(&self) -> Option<usize> {
        self.wasm_offset.map(|offset| offset as usize)
    }
}

impl std::fmt::Display for FrameInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(module) = &self.module_name {
            write!(f, "{module}!")?;
        }
        match &self.func_name {
            Some(name) => write!(f, "{name}")?,
            None => write!(f, "<wasm function {}>", self.func_index)?,
        }
        if let Some(offset) = self.wasm_offset {
            write!(f, " @ {offset:#x}")?;
        }
        Ok(())
    }
}

/// The Wasm frames live when a call failed, innermost first. Attached as
/// context to the error of a trap or of a host function called from Wasm,
/// so the error still downcasts to its own type.
///
/// ```
/// use tandem_store::{Caller, Engine, Func, Instance, Module, Store, WasmBacktrace, format_err};
/// #[derive(Debug, PartialEq)]
/// struct Refused(i32);
/// impl std::fmt::Display for Refused {
///     fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { write!(f, "refused {}", self.0) }
/// }
/// impl std::error::Error for Refused {}
/// let engine = Engine::default();
/// let module = Module::new(&engine, r#"(module (import "" "check" (func $c (param i32)))
///     (func (export "run") (param i32) local.get 0 call $c))"#).unwrap();
/// let mut store = Store::new(&engine, ());
/// let check = Func::wrap(&mut store, |x: i32| -> tandem_store::Result<()> {
///     if x < 0 { Err(Refused(x).into()) } else { Ok(()) }
/// });
/// let instance = Instance::new(&mut store, &module, &[check.into()]).unwrap();
/// let run = instance.get_typed_func::<i32, ()>(&mut store, "run").unwrap();
/// let err = run.call(&mut store, -4).unwrap_err();
/// assert_eq!(err.downcast_ref::<Refused>(), Some(&Refused(-4)));
/// assert_eq!(err.downcast_ref::<WasmBacktrace>().unwrap().frames().len(), 1);
/// ```
#[derive(Clone, Debug, Default)]
pub struct WasmBacktrace {
    frames: Vec<FrameInfo>,
}

impl WasmBacktrace {
    fn from_vm(backtrace: &Backtrace) -> WasmBacktrace {
        let frames = backtrace
            .frames
            .iter()
            .map(|frame| FrameInfo {
                func_index: frame.func.as_u32(),
                func_name: frame.func_name().map(str::to_string),
                module_name: frame.module_name().map(str::to_string),
                wasm_offset: frame.wasm_offset,
            })
            .collect();
        WasmBacktrace { frames }
    }

    /// The frames, innermost first.
    pub fn frames(&self) -> &[FrameInfo] {
        &self.frames
    }
}

impl std::fmt::Display for WasmBacktrace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "error while executing at wasm backtrace:")?;
        for (i, frame) in self.frames.iter().enumerate() {
            write!(f, "\n  {i:>3}: {frame}")?;
        }
        Ok(())
    }
}

/// `error` with the Wasm frames of `backtrace` attached (when there are
/// any, and `error` has none yet: an error from a nested call keeps its own).
pub(crate) fn with_backtrace(error: Error, backtrace: Option<&Backtrace>) -> Error {
    match backtrace {
        Some(bt) if !bt.is_empty() && error.downcast_ref::<WasmBacktrace>().is_none() => {
            error.context(WasmBacktrace::from_vm(bt))
        }
        _ => error,
    }
}

/// The error of a trap with `code` at `backtrace`.
pub(crate) fn trap_error(code: Trap, backtrace: Option<&Backtrace>) -> Error {
    with_backtrace(Error::new(code), backtrace)
}

/// Turns an unwind into the error the caller of a call into Wasm sees; a
/// host panic resumes unwinding here.
pub(crate) fn unwind_to_error(unwind: Unwind) -> Error {
    let Unwind { reason, backtrace } = unwind;
    match reason {
        UnwindReason::Trap { code } => trap_error(code, Some(&backtrace)),
        UnwindReason::Host(error) => with_backtrace(HostUnwind::recover(error), Some(&backtrace)),
        UnwindReason::Panic(payload) => std::panic::resume_unwind(payload),
    }
}
