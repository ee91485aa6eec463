//! The value stack: one entry per Wasm operand, each a constant, a
//! register, a reference to a local (in its register or home slot), or a
//! spilled value in the stack slot that belongs to its position.
//!
//! Entries below [`ValueStack::clean`] are known to be constants or in
//! memory, so spilling everything (at control-flow merges and calls) only
//! walks the entries pushed since the last time.

use crate::isa::x64::regs::Reg;
use crate::masm::{FloatSize, Size};
use tandem_codegen_api::lower::{FloatTy, IntTy, NumTy};

/// A value type as the code generator sees it: references are 64-bit
/// integers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Ty {
    /// 32-bit integer (upper half of its register is zero).
    I32,
    /// 64-bit integer or reference.
    I64,
    /// 32-bit float.
    F32,
    /// 64-bit float.
    F64,
}

impl Ty {
    /// Whether the value lives in an xmm register.
    pub fn is_float(self) -> bool {
        matches!(self, Ty::F32 | Ty::F64)
    }

    /// Integer operation width.
    pub fn size(self) -> Size {
        match self {
            Ty::I32 | Ty::F32 => Size::S32,
            Ty::I64 | Ty::F64 => Size::S64,
        }
    }

    /// Float operation width.
    pub fn fsize(self) -> FloatSize {
        match self {
            Ty::F32 | Ty::I32 => FloatSize::F32,
            Ty::F64 | Ty::I64 => FloatSize::F64,
        }
    }

    /// The type of a Wasm value, or `None` for `v128`.
    pub fn of(ty: tandem_environ::ValType) -> Option<Ty> {
        use tandem_environ::ValType as V;
        match ty {
            V::I32 => Some(Ty::I32),
            V::I64 | V::Ref(_) => Some(Ty::I64),
            V::F32 => Some(Ty::F32),
            V::F64 => Some(Ty::F64),
            V::V128 => None,
        }
    }

    /// The type of a value as wasmparser names it, or `None` for `v128`.
    pub fn of_wasmparser(ty: wasmparser::ValType) -> Option<Ty> {
        use wasmparser::ValType as V;
        match ty {
            V::I32 => Some(Ty::I32),
            V::I64 | V::Ref(_) => Some(Ty::I64),
            V::F32 => Some(Ty::F32),
            V::F64 => Some(Ty::F64),
            V::V128 => None,
        }
    }
}

impl From<IntTy> for Ty {
    fn from(ty: IntTy) -> Ty {
        match ty {
            IntTy::I32 => Ty::I32,
            IntTy::I64 => Ty::I64,
        }
    }
}

impl From<FloatTy> for Ty {
    fn from(ty: FloatTy) -> Ty {
        match ty {
            FloatTy::F32 => Ty::F32,
            FloatTy::F64 => Ty::F64,
        }
    }
}

impl From<NumTy> for Ty {
    fn from(ty: NumTy) -> Ty {
        match ty {
            NumTy::I32 => Ty::I32,
            NumTy::I64 => Ty::I64,
            NumTy::F32 => Ty::F32,
            NumTy::F64 => Ty::F64,
        }
    }
}

/// Where a stack entry's value is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Loc {
    /// In a register it owns.
    Reg(Reg),
    /// In the stack slot of its position.
    Mem,
    /// Equal to local `n` (not copied yet).
    Local(u32),
    /// A constant (float bits for floats).
    Const(i64),
}

/// One operand.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Its type.
    pub ty: Ty,
    /// Where it is.
    pub loc: Loc,
}

/// A popped operand: its location resolved to a register, an
/// `rbp`-relative address or a constant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Val {
    /// In a register now owned by the popper.
    Reg(Reg),
    /// In the register that holds a local for the whole function: the
    /// popper may read it but never writes or frees it.
    LocalReg(Reg),
    /// At `[rbp + disp]`.
    Mem(i32),
    /// A constant.
    Const(i64),
}

/// The operand stack of the function being compiled.
#[derive(Default)]
pub struct ValueStack {
    /// The entries, bottom first.
    pub entries: Vec<Entry>,
    /// Entries below this index are constants or in memory.
    pub clean: usize,
    /// Deepest the stack has been (sizes the frame).
    pub max_depth: usize,
    /// How many entries are [`Loc::Local`].
    pub local_refs: u32,
}

impl ValueStack {
    /// Empties the stack, keeping its allocation.
    pub fn clear(&mut self) {
        let ValueStack {
            entries,
            clean,
            max_depth,
            local_refs,
        } = self;
        entries.clear();
        *clean = 0;
        *max_depth = 0;
        *local_refs = 0;
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Pushes an entry.
    #[inline]
    pub fn push(&mut self, ty: Ty, loc: Loc) {
        if let Loc::Local(_) = loc {
            self.local_refs += 1;
        }
        self.entries.push(Entry { ty, loc });
        self.max_depth = self.max_depth.max(self.entries.len());
    }

    /// Pops the top entry.
    #[inline]
    pub fn pop(&mut self) -> Option<Entry> {
        let e = self.entries.pop()?;
        if let Loc::Local(_) = e.loc {
            self.local_refs -= 1;
        }
        self.clean = self.clean.min(self.entries.len());
        Some(e)
    }

    /// Drops entries down to `len` (their registers must be freed by the
    /// caller).
    pub fn truncate(&mut self, len: usize) {
        while self.entries.len() > len {
            self.pop();
        }
    }
}
