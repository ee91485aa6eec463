//! Tandem's baseline backend: a single-pass WebAssembly -> x86-64 compiler.
//!
//! [`BaselineBackend`] implements [`tandem_codegen_api::Backend`]. It reads
//! each function body once and emits machine code as it goes, with no
//! intermediate representation: a value stack of constants, registers,
//! local references and spill slots stands in for the operands, registers
//! are handed out until they run out (then the oldest is spilled), and
//! constants become immediates. The most used locals (counted in one
//! quick extra pass) live in registers for the whole function. It follows the same Wasm-call convention,
//! trampolines, trap table and address map as the Cranelift backend, so
//! code from both runs in one store.
//!
//! # Map
//!
//! | module | what it holds |
//! |---|---|
//! | `masm` | the [`MacroAssembler`](masm::MacroAssembler) trait and its operand enums |
//! | `isa/x64/regs` | registers and their roles |
//! | `isa/x64/abi` | the frame layout |
//! | `isa/x64/asm` | the instruction encoder: `dynasmrt`'s assembler, labels and relocations, instruction bytes hand-encoded for compactness |
//! | `isa/x64/asm/enc` | the REX/ModRM/SIB emitter picking the shortest encoding |
//! | `isa/x64/asm/tests` | exact-byte tables and a decoding property test of the encoder |
//! | `isa/x64/masm` | the x86-64 macro assembler |
//! | `stack` | the value stack |
//! | `regalloc` | free-register bookkeeping |
//! | `codegen` | one function's compilation: hooks for the shared operator loop (`tandem_codegen_api::lower`), trap stubs, operand helpers |
//! | `codegen/frame` | which locals live in registers, prologue, epilogue, saving locals around calls |
//! | `codegen/local_uses` | the extra pass counting local uses by loop depth |
//! | `codegen/{control,numeric,conversion,memory,table,call,variable}` | the lowering of one family trait of `tandem_codegen_api::lower` each |
//! | `codegen/simd` | `LowerSimd`: every `v128` operator refused by name until the baseline lowers SIMD |
//! | `codegen/moves` | parallel register moves for calls and branches |
//! | `codegen/interrupt` | fuel charges and fuel/epoch checks at function entry and loop headers |
//! | `trampolines` | array-to-Wasm, Wasm-to-array, Wasm-to-libcall |
//!
//! # Example
//!
//! ```
//! use tandem_codegen_api::Backend;
//! # fn wasm() -> Vec<u8> {
//! #     // (module (func (export "f") (result i32) i32.const 7))
//! #     vec![0,97,115,109,1,0,0,0,1,5,1,96,0,1,127,3,2,1,0,7,5,1,1,102,0,0,10,6,1,4,0,65,7,11]
//! # }
//! let bytes = wasm();
//! let translation = tandem_environ::translate(&bytes, tandem_environ::default_features()).unwrap();
//! let backend = tandem_backend_baseline::BaselineBackend::new().unwrap();
//! let module = backend.compile_module(&translation, &Default::default()).unwrap();
//! assert_eq!(module.funcs.len(), 1);
//! ```
//!
//! # Features
//!
//! | Wasm feature | supported |
//! |---|---|
//! | MVP, mutable globals, sign extension, saturating float-to-int | yes |
//! | multi-value, bulk memory, reference types (several tables) | yes |
//! | tail calls, typed function references, extended constant expressions | yes (a tail call moves the frame top itself, see `codegen/call`) |
//! | Wasm GC's type system (recursion groups, struct and array types as types) | yes; GC heap types and instructions: [`CompileError::Unsupported`] |
//! | SIMD and relaxed SIMD (validated by default) | not yet: [`CompileError::Unsupported`] naming the `v128` type or operator (`codegen/simd`) |
//! | memory64, shared memories | no: [`CompileError::Unsupported`] when validation lets them through (`tandem_environ::default_features` does not) |
//! | multi-memory | no: a validation error with `tandem_environ::default_features`; with the feature on, loads and stores of a memory other than 0 are [`CompileError::Unsupported`] |
//! | fuel and epoch interruption | yes (see `codegen/interrupt`) |
//!
//! The CPU must have SSE4.1 (`roundss`) and POPCNT.
//!
//! # Tests
//!
//! Beside the unit tests, `tests/disas` pins the machine code of a dozen
//! representative functions: each `.wat` there is compiled and disassembled
//! (with `iced-x86`, a dev-dependency) and compared with the `.disas` file
//! beside it; `BLESS=1 cargo test -p tandem-backend-baseline --test disas`
//! rewrites them after an intended change, to be reviewed in the diff.

#![deny(unsafe_op_in_unsafe_fn)]

mod codegen;
mod isa;
pub mod masm;
mod regalloc;
mod stack;
mod trampolines;

use tandem_codegen_api::{Backend, CodeFlags, CompileError, CompileInputs, CompiledFunction};
use tandem_environ::{DefinedFuncIndex, FuncType, Libcall, Tunables};

/// The backend's name in errors and in [`Backend::name`].
pub(crate) const NAME: &str = "baseline";

/// A [`CompileError::Unsupported`] from this backend.
pub(crate) fn unsupported(what: impl Into<String>, offset: u64) -> CompileError {
    CompileError::unsupported(NAME, what, offset)
}

/// A [`CompileError::Codegen`] from this backend.
pub(crate) fn codegen_error(message: impl Into<String>) -> CompileError {
    CompileError::codegen(NAME, message)
}

/// The baseline backend. Stateless: every compilation uses per-thread
/// buffers.
#[derive(Debug)]
pub struct BaselineBackend {
    _private: (),
}

impl BaselineBackend {
    /// Builds the backend for the host CPU. Fails with
    /// [`CompileError::Unsupported`] when the CPU lacks SSE4.1 or POPCNT.
    pub fn new() -> Result<Self, CompileError> {
        // Keep in step with `CPU_FEATURES`.
        if !std::arch::is_x86_feature_detected!("sse4.1") {
            return Err(unsupported("a CPU without SSE4.1", 0));
        }
        if !std::arch::is_x86_feature_detected!("popcnt") {
            return Err(unsupported("a CPU without POPCNT", 0));
        }
        Ok(BaselineBackend { _private: () })
    }
}

/// The CPU features the baseline's code uses beyond x86-64's base set;
/// [`BaselineBackend::new`] refuses a CPU without them.
const CPU_FEATURES: &[&str] = &["sse4.1", "popcnt"];

impl Backend for BaselineBackend {
    fn name(&self) -> &'static str {
        NAME
    }

    fn code_flags(&self) -> CodeFlags {
        CodeFlags {
            settings: Vec::new(),
            cpu_features: CPU_FEATURES.iter().map(|f| f.to_string()).collect(),
        }
    }

    fn compile_function(
        &self,
        inputs: &CompileInputs<'_>,
        index: DefinedFuncIndex,
        body: &tandem_environ::FunctionBody<'_>,
    ) -> Result<CompiledFunction, CompileError> {
        codegen::compile_function(inputs, index, body)
    }

    fn compile_array_to_wasm(
        &self,
        inputs: &CompileInputs<'_>,
        index: DefinedFuncIndex,
    ) -> Result<CompiledFunction, CompileError> {
        trampolines::array_to_wasm(inputs.module, index)
    }

    fn compile_wasm_to_array(
        &self,
        _tunables: &Tunables,
        ty: &FuncType,
    ) -> Result<CompiledFunction, CompileError> {
        trampolines::wasm_to_array(ty)
    }

    fn compile_wasm_to_libcall(
        &self,
        _tunables: &Tunables,
        libcall: Libcall,
    ) -> Result<CompiledFunction, CompileError> {
        trampolines::wasm_to_libcall(libcall)
    }
}
