//! [`Trap`]: why Wasm stopped, with the Wasm backtrace at that point.

use tandem_environ::TrapCode;
use tandem_vm::backtrace::Backtrace;

/// One Wasm frame of a trap's backtrace (see [`Trap`] for an example).
///
/// ```
/// use tandem_store::FrameInfo;
/// let frame = FrameInfo { func_index: 3, func_name: Some("run".into()),
///     module_name: Some("app".into()), wasm_offset: Some(0x2a) };
/// assert_eq!(frame.to_string(), "app!run @ 0x2a");
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

/// A Wasm trap: its code, the Wasm frames active when it happened
/// (innermost first) and, for host errors, the error.
///
/// ```
/// use tandem_store::{Engine, Instance, Module, Store, TrapCode};
/// let engine = Engine::default();
/// let module = Module::new(&engine, r#"(module
///     (func $inner (param i32) (result i32) i32.const 1 local.get 0 i32.div_u)
///     (func $outer (export "outer") (param i32) (result i32) local.get 0 call $inner))"#).unwrap();
/// let mut store = Store::new(&engine, ());
/// let instance = Instance::new(&mut store, &module, &[]).unwrap();
/// let outer = instance.get_typed_func::<i32, i32>(&mut store, "outer").unwrap();
/// let err = outer.call(&mut store, 0).unwrap_err();
/// let trap = err.as_trap().unwrap();
/// assert_eq!(trap.code(), TrapCode::IntegerDivisionByZero);
/// let names: Vec<_> = trap.trace().iter().map(|f| f.func_name.as_deref()).collect();
/// assert_eq!(names, [Some("inner"), Some("outer")]);
/// // The store is still usable.
/// assert_eq!(outer.call(&mut store, 1).unwrap(), 1);
/// ```
#[derive(Debug)]
pub struct Trap {
    code: TrapCode,
    frames: Vec<FrameInfo>,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl Trap {
    pub(crate) fn new(
        code: TrapCode,
        backtrace: Option<&Backtrace>,
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Trap {
        let frames = backtrace
            .map(|bt| {
                bt.frames
                    .iter()
                    .map(|frame| FrameInfo {
                        func_index: frame.func.as_u32(),
                        func_name: frame.module.func_name(frame.func).map(str::to_string),
                        module_name: frame.module.name.clone(),
                        wasm_offset: frame.wasm_offset,
                    })
                    .collect()
            })
            .unwrap_or_default();
        Trap {
            code,
            frames,
            source,
        }
    }

    /// The trap code.
    pub fn code(&self) -> TrapCode {
        self.code
    }

    /// The Wasm frames, innermost first.
    pub fn trace(&self) -> &[FrameInfo] {
        &self.frames
    }

    /// The host error behind a [`TrapCode::HostError`] trap.
    pub fn host_error(&self) -> Option<&(dyn std::error::Error + Send + Sync)> {
        self.source.as_deref()
    }
}

impl std::fmt::Display for Trap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.source {
            Some(source) => write!(f, "wasm trap: {}: {source}", self.code)?,
            None => write!(f, "wasm trap: {}", self.code)?,
        }
        if !self.frames.is_empty() {
            write!(f, "\nwasm backtrace:")?;
            for (i, frame) in self.frames.iter().enumerate() {
                write!(f, "\n  {i:>3}: {frame}")?;
            }
        }
        Ok(())
    }
}

impl std::error::Error for Trap {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}
