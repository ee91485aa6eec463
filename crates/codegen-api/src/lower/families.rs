//! The operator families: small enums that name what an operator does, so a
//! backend lowers a whole family with one method and one exhaustive `match`.
//! Adding a variant makes every backend's `match` over the family fail to
//! compile until the backend lowers it.

/// An integer operand type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IntTy {
    /// `i32`
    I32,
    /// `i64`
    I64,
}

/// A float operand type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FloatTy {
    /// `f32`
    F32,
    /// `f64`
    F64,
}

/// A numeric value type: what a scalar load produces or a store consumes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NumTy {
    /// `i32`
    I32,
    /// `i64`
    I64,
    /// `f32`
    F32,
    /// `f64`
    F64,
}

impl NumTy {
    /// Its width in bytes.
    pub const fn bytes(self) -> u8 {
        match self {
            NumTy::I32 | NumTy::F32 => 4,
            NumTy::I64 | NumTy::F64 => 8,
        }
    }
}

impl From<IntTy> for NumTy {
    fn from(ty: IntTy) -> NumTy {
        match ty {
            IntTy::I32 => NumTy::I32,
            IntTy::I64 => NumTy::I64,
        }
    }
}

impl From<FloatTy> for NumTy {
    fn from(ty: FloatTy) -> NumTy {
        match ty {
            FloatTy::F32 => NumTy::F32,
            FloatTy::F64 => NumTy::F64,
        }
    }
}

/// How many bytes a memory access touches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Width {
    /// 1 byte.
    W8,
    /// 2 bytes.
    W16,
    /// 4 bytes.
    W32,
    /// 8 bytes.
    W64,
}

impl Width {
    /// The width in bytes.
    pub const fn bytes(self) -> u8 {
        match self {
            Width::W8 => 1,
            Width::W16 => 2,
            Width::W32 => 4,
            Width::W64 => 8,
        }
    }

    /// The full width of a value of type `ty`.
    pub const fn of(ty: NumTy) -> Width {
        match ty {
            NumTy::I32 | NumTy::F32 => Width::W32,
            NumTy::I64 | NumTy::F64 => Width::W64,
        }
    }
}

/// A scalar load: `ty.load` (full `width`) or `ty.loadN_s/u` (narrower,
/// extended by `signed`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Load {
    /// The type pushed.
    pub ty: NumTy,
    /// The bytes read.
    pub width: Width,
    /// Sign-extends (else zero-extends) a narrower `width`.
    pub signed: bool,
}

impl Load {
    /// `ty.load`.
    pub const fn full(ty: NumTy) -> Load {
        Load {
            ty,
            width: Width::of(ty),
            signed: false,
        }
    }

    /// `ty.loadN_s` (`signed`) or `ty.loadN_u`.
    pub const fn narrow(ty: IntTy, width: Width, signed: bool) -> Load {
        let ty = match ty {
            IntTy::I32 => NumTy::I32,
            IntTy::I64 => NumTy::I64,
        };
        Load { ty, width, signed }
    }

    /// Whether it reads fewer bytes than its type has.
    pub const fn is_narrow(self) -> bool {
        self.width.bytes() < self.ty.bytes()
    }
}

/// A scalar store: `ty.store` (full `width`) or `ty.storeN` (the low bytes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Store {
    /// The type popped.
    pub ty: NumTy,
    /// The bytes written.
    pub width: Width,
}

impl Store {
    /// `ty.store`.
    pub const fn full(ty: NumTy) -> Store {
        Store {
            ty,
            width: Width::of(ty),
        }
    }

    /// `ty.storeN`.
    pub const fn narrow(ty: IntTy, width: Width) -> Store {
        let ty = match ty {
            IntTy::I32 => NumTy::I32,
            IntTy::I64 => NumTy::I64,
        };
        Store { ty, width }
    }

    /// Whether it writes fewer bytes than its type has.
    pub const fn is_narrow(self) -> bool {
        self.width.bytes() < self.ty.bytes()
    }
}

/// A constant operator's value; floats as their bits, so NaN payloads stay.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Const {
    /// `i32.const`
    I32(i32),
    /// `i64.const`
    I64(i64),
    /// `f32.const`, its bits.
    F32(u32),
    /// `f64.const`, its bits.
    F64(u64),
}

/// One-operand integer operators whose result has the operand's type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IntUnOp {
    /// Count leading zeros.
    Clz,
    /// Count trailing zeros.
    Ctz,
    /// Count one bits.
    Popcnt,
    /// Sign-extend the low 8 bits (`extend8_s`).
    Extend8S,
    /// Sign-extend the low 16 bits (`extend16_s`).
    Extend16S,
    /// Sign-extend the low 32 bits (`i64.extend32_s`).
    Extend32S,
}

/// Two-operand integer operators whose result has the operands' type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IntBinOp {
    /// Wrapping addition.
    Add,
    /// Wrapping subtraction.
    Sub,
    /// Wrapping multiplication.
    Mul,
    /// Signed division (traps on zero and on overflow).
    DivS,
    /// Unsigned division (traps on zero).
    DivU,
    /// Signed remainder (traps on zero).
    RemS,
    /// Unsigned remainder (traps on zero).
    RemU,
    /// Bitwise and.
    And,
    /// Bitwise or.
    Or,
    /// Bitwise exclusive or.
    Xor,
    /// Shift left (amount masked).
    Shl,
    /// Arithmetic shift right.
    ShrS,
    /// Logical shift right.
    ShrU,
    /// Rotate left.
    Rotl,
    /// Rotate right.
    Rotr,
}

impl IntBinOp {
    /// Whether swapping the operands gives the same result.
    pub const fn is_commutative(self) -> bool {
        matches!(
            self,
            IntBinOp::Add | IntBinOp::Mul | IntBinOp::And | IntBinOp::Or | IntBinOp::Xor
        )
    }
}

/// Integer comparisons; the result is an `i32` 0 or 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IntCmpOp {
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// Signed `<`.
    LtS,
    /// Unsigned `<`.
    LtU,
    /// Signed `>`.
    GtS,
    /// Unsigned `>`.
    GtU,
    /// Signed `<=`.
    LeS,
    /// Unsigned `<=`.
    LeU,
    /// Signed `>=`.
    GeS,
    /// Unsigned `>=`.
    GeU,
}

/// One-operand float operators whose result has the operand's type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FloatUnOp {
    /// Clear the sign bit.
    Abs,
    /// Flip the sign bit.
    Neg,
    /// Square root.
    Sqrt,
    /// Round up.
    Ceil,
    /// Round down.
    Floor,
    /// Round toward zero.
    Trunc,
    /// Round to nearest, ties to even.
    Nearest,
}

/// Two-operand float operators whose result has the operands' type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FloatBinOp {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
    /// Minimum (NaN-propagating, -0 below +0).
    Min,
    /// Maximum (NaN-propagating, +0 above -0).
    Max,
    /// The first operand with the second's sign.
    Copysign,
}

/// Float comparisons; the result is an `i32` 0 or 1 (false on NaN, except
/// `Ne`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FloatCmpOp {
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `>`
    Gt,
    /// `<=`
    Le,
    /// `>=`
    Ge,
}

/// Conversions between numeric types.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Convert {
    /// `i32.wrap_i64`: the low 32 bits.
    Wrap,
    /// `i64.extend_i32_s` (`signed`) or `_u`.
    ExtendI32 {
        /// Sign- (else zero-) extends.
        signed: bool,
    },
    /// `iN.trunc_fM_s/u` (traps on NaN and overflow) and `iN.trunc_sat_fM_s/u`
    /// (`saturating`: clamps instead, NaN gives 0).
    Trunc {
        /// The operand's type.
        from: FloatTy,
        /// The result's type.
        to: IntTy,
        /// Signed (else unsigned) result.
        signed: bool,
        /// Saturates (else traps) out of range.
        saturating: bool,
    },
    /// `fN.convert_iM_s/u`.
    FromInt {
        /// The operand's type.
        from: IntTy,
        /// The result's type.
        to: FloatTy,
        /// Reads the operand as signed (else unsigned).
        signed: bool,
    },
    /// `f32.demote_f64`.
    Demote,
    /// `f64.promote_f32`.
    Promote,
    /// `*.reinterpret_*`: the same bits as type `to` (the other class, same
    /// width).
    Reinterpret {
        /// The result's type.
        to: NumTy,
    },
}

impl Convert {
    /// `iN.trunc_fM_s/u`: traps on NaN and out of range.
    pub const fn trunc(from: FloatTy, to: IntTy, signed: bool) -> Convert {
        Convert::Trunc {
            from,
            to,
            signed,
            saturating: false,
        }
    }

    /// `iN.trunc_sat_fM_s/u`: saturates out of range, NaN gives 0.
    pub const fn trunc_sat(from: FloatTy, to: IntTy, signed: bool) -> Convert {
        Convert::Trunc {
            from,
            to,
            signed,
            saturating: true,
        }
    }

    /// `fN.convert_iM_s/u`.
    pub const fn from_int(from: IntTy, to: FloatTy, signed: bool) -> Convert {
        Convert::FromInt { from, to, signed }
    }
}
