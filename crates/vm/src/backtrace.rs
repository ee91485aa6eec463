//! Wasm backtraces: walking the frame-pointer chain of compiled code.
//!
//! Every Wasm frame starts with `push rbp; mov rbp, rsp`, so from a frame
//! pointer `fp`, `[fp]` is the caller's frame pointer and `[fp + 8]` the
//! return address into the caller. A walk starts either at a trapping
//! instruction (the PC and RBP of a signal's context) or at the last exit
//! from Wasm to the host (`VMStoreContext::last_wasm_exit_pc/fp`), and stops
//! at the array-to-Wasm entry trampoline, whose frame pointer the trampoline
//! stored in `VMStoreContext::last_wasm_entry_fp`.
//!
//! The walker only reads `[fp]` and `[fp + 8]` for frame pointers that
//! strictly increase and stay below the entry frame pointer, so it reads
//! nothing but the live stack between the starting frame and the entry.

use crate::code_memory::lookup_code;
use std::fmt;
use std::sync::Arc;
use tandem_environ::{FuncIndex, ModuleInfo};

/// One Wasm frame of a backtrace.
#[derive(Clone)]
pub struct Frame {
    /// The module whose function this frame runs.
    pub module: Arc<ModuleInfo>,
    /// The function, in the module's function index space.
    pub func: FuncIndex,
    /// The Wasm bytecode offset of the instruction, when the address map
    /// covers it.
    pub wasm_offset: Option<u32>,
}

impl Frame {
    /// The function's name from the name section, if it has one.
    pub fn func_name(&self) -> Option<&str> {
        self.module.func_name(self.func)
    }

    /// The module's name from the name section, if it has one.
    pub fn module_name(&self) -> Option<&str> {
        self.module.name.as_deref()
    }
}

impl fmt::Debug for Frame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Frame")
            .field("module", &self.module_name())
            .field("func", &self.func)
            .field("func_name", &self.func_name())
            .field("wasm_offset", &self.wasm_offset)
            .finish()
    }
}

impl fmt::Display for Frame {
    /// `module!name @ 0x1a`, with placeholders for missing names.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.module_name().unwrap_or("<module>"))?;
        match self.func_name() {
            Some(name) => write!(f, "!{name}")?,
            None => write!(f, "!<wasm function {}>", self.func.as_u32())?,
        }
        if let Some(offset) = self.wasm_offset {
            write!(f, " @ {offset:#x}")?;
        }
        Ok(())
    }
}

/// The Wasm frames active at a trap or host call, innermost first.
#[derive(Clone, Debug, Default)]
pub struct Backtrace {
    /// The frames, innermost (most recent) first.
    pub frames: Vec<Frame>,
}

/// Where a walk starts.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Start {
    /// At a trapping instruction: `pc` is looked up exactly.
    Trap { pc: usize, fp: usize },
    /// At a return address into Wasm (the exit to a host or libcall):
    /// `pc - 1` is looked up so a call at the very end of a function or
    /// operator is attributed correctly.
    Return { pc: usize, fp: usize },
}

impl Backtrace {
    /// A backtrace with no frames.
    pub fn empty() -> Backtrace {
        Backtrace::default()
    }

    /// Whether no Wasm frame was found.
    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }

    /// The names of the frames' functions, innermost first.
    #[cfg(test)]
    pub(crate) fn func_names(&self) -> Vec<Option<&str>> {
        self.frames.iter().map(Frame::func_name).collect()
    }
}

impl fmt::Display for Backtrace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, frame) in self.frames.iter().enumerate() {
            writeln!(f, "  {i:>3}: {frame}")?;
        }
        Ok(())
    }
}

/// A walk in progress, possibly over several contiguous runs of Wasm frames
/// (one per nested activation).
pub(crate) struct Walk {
    frames: Vec<Frame>,
    /// Every further frame pointer must lie strictly above this.
    floor: usize,
}

impl Walk {
    pub(crate) fn new() -> Walk {
        Walk {
            frames: Vec::new(),
            floor: 0,
        }
    }

    pub(crate) fn finish(self) -> Backtrace {
        Backtrace {
            frames: self.frames,
        }
    }

    /// Walks one contiguous run of Wasm frames.
    ///
    /// The first frame of a [`Start::Trap`] is trusted; every other frame
    /// pointer is followed only if it is 8-aligned, above the previous one
    /// (and the floor), and below both `entry_fp` and `ceiling`.
    ///
    /// # Safety
    ///
    /// Every 8-aligned address strictly between the floor (or the starting
    /// frame pointer) and `min(entry_fp, ceiling)` that the chain reaches
    /// must be readable stack memory of this thread.
    pub(crate) unsafe fn segment(&mut self, start: Start, entry_fp: usize, ceiling: usize) {
        let limit = entry_fp.min(ceiling);
        let valid = |fp: usize, floor: usize| fp > floor && fp < limit && fp.is_multiple_of(8);
        let (mut pc, mut fp, mut exact) = match start {
            Start::Trap { pc, fp } => (pc, fp, true),
            Start::Return { pc, fp } => {
                if !valid(fp, self.floor) {
                    return;
                }
                (pc, fp, false)
            }
        };
        loop {
            let lookup_pc = if exact { pc } else { pc.wrapping_sub(1) };
            let Some(frame) = frame_at(lookup_pc) else {
                return;
            };
            self.frames.push(frame);
            if !valid(fp, self.floor) || fp.checked_add(16).is_none() {
                return;
            }
            self.floor = fp;
            // SAFETY: `fp` is a frame pointer on the live stack between the
            // walk's start and the entry (checked just above, see the
            // function's contract); a Wasm frame stores the caller's frame
            // pointer at `[fp]` and the return address at `[fp + 8]`.
            let (next_fp, next_pc) = unsafe {
                (
                    (fp as *const usize).read(),
                    (fp as *const usize).add(1).read(),
                )
            };
            fp = next_fp;
            pc = next_pc;
            exact = false;
        }
    }
}

/// The Wasm frame whose code contains `pc`, if any.
fn frame_at(pc: usize) -> Option<Frame> {
    let code = lookup_code(pc)?;
    let (index, wasm_offset) = code.lookup_frame(pc)?;
    let module = code.module().clone();
    let func = module.func_index(index);
    Some(Frame {
        module,
        func,
        wasm_offset,
    })
}
