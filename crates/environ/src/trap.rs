//! Trap codes: the reasons Wasm execution can stop abnormally. Backends record
//! them in trap tables; the runtime reports them in `Trap` values.

macro_rules! trap_codes {
    ($($(#[$doc:meta])* $name:ident = $num:literal, $msg:literal;)*) => {
        /// Why a Wasm function trapped.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        #[repr(u8)]
        pub enum TrapCode {
            $($(#[$doc])* $name = $num,)*
        }

        impl TrapCode {
            /// Every trap code, in numeric order.
            pub const ALL: &'static [TrapCode] = &[$(TrapCode::$name,)*];

            /// The code for a raw number as stored in trap tables, if any.
            pub fn from_u8(n: u8) -> Option<TrapCode> {
                match n {
                    $($num => Some(TrapCode::$name),)*
                    _ => None,
                }
            }

            /// The message the WebAssembly specification uses for this trap.
            pub fn message(self) -> &'static str {
                match self {
                    $(TrapCode::$name => $msg,)*
                }
            }
        }
    };
}

trap_codes! {
    /// The native stack ran out: too deep recursion.
    StackOverflow = 1, "call stack exhausted";
    /// A load or store outside a linear memory's bounds.
    MemoryOutOfBounds = 2, "out of bounds memory access";
    /// An access outside a table's bounds (`table.get`, `table.copy`, ...).
    TableOutOfBounds = 3, "out of bounds table access";
    /// `call_indirect` with an index past the table's end.
    IndirectCallOutOfBounds = 4, "undefined element";
    /// `call_indirect` reached a null table entry.
    IndirectCallToNull = 5, "uninitialized element";
    /// `call_indirect` reached a function of another type.
    BadSignature = 6, "indirect call type mismatch";
    /// Signed division overflow (`INT_MIN / -1`) or float-to-int overflow.
    IntegerOverflow = 7, "integer overflow";
    /// Integer division or remainder by zero.
    IntegerDivisionByZero = 8, "integer divide by zero";
    /// A trapping float-to-int conversion of NaN.
    BadConversionToInteger = 9, "invalid conversion to integer";
    /// The `unreachable` instruction.
    UnreachableCodeReached = 10, "unreachable";
    /// The epoch deadline passed.
    Interrupt = 11, "interrupt";
    /// The store ran out of fuel.
    OutOfFuel = 12, "all fuel consumed by WebAssembly";
    /// A null reference was dereferenced.
    NullReference = 13, "null reference";
    /// A host function returned an error.
    HostError = 14, "host function error";
    /// An allocation (table or memory growth) failed in the host.
    AllocationFailed = 15, "allocation failed";
}

/// `wasm trap: ` and the specification's message, as wasmtime prints traps.
impl std::fmt::Display for TrapCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "wasm trap: {}", self.message())
    }
}

/// A trap code is the error the embedding API reports when Wasm traps.
impl std::error::Error for TrapCode {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_through_u8() {
        for &code in TrapCode::ALL {
            assert_eq!(TrapCode::from_u8(code as u8), Some(code));
        }
        assert_eq!(TrapCode::from_u8(0), None);
    }

    #[test]
    fn display_is_prefixed_message() {
        assert_eq!(
            TrapCode::IntegerDivisionByZero.to_string(),
            "wasm trap: integer divide by zero"
        );
    }
}
