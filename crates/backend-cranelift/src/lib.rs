//! Tandem's optimizing backend: WebAssembly -> Cranelift IR -> x86-64.
//!
//! [`CraneliftBackend`] implements [`tandem_codegen_api::Backend`]. It
//! translates every WebAssembly 2.0 operator and relaxed SIMD with its own
//! translator on `cranelift-frontend`, and builds the three trampoline kinds
//! of [`tandem_codegen_api::abi`].
//!
//! # Map
//!
//! | module | what it holds |
//! |---|---|
//! | `isa` | the target ISA and its flags; turning a compiled Cranelift function into a [`CompiledFunction`] |
//! | `env` | how compiled code reaches run-time structures: VMContext addresses, signatures, libcalls |
//! | `translate` | the function translator: driver, value and control stacks, operator dispatch |
//! | `translate/control` | blocks, loops, `if`, branches, `return`, `unreachable`, `select` |
//! | `translate/numeric` | constants, integer and float arithmetic, comparisons, conversions |
//! | `translate/memory` | loads, stores and the bulk-memory operators |
//! | `translate/table` | tables and reference operators |
//! | `translate/call` | `call`, `call_indirect`, `call_ref` and their tail-call forms |
//! | `translate/variable` | locals and globals |
//! | `translate/simd` | `v128` operators on Cranelift's vector types (every `v128` an `i8x16` between operators) |
//! | `translate/interrupt` | fuel metering and epoch checks at function entry and loop headers |
//! | `trampolines` | array-to-Wasm, Wasm-to-array and Wasm-to-libcall trampolines |
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
//! let backend = tandem_backend_cranelift::CraneliftBackend::new().unwrap();
//! let module = backend.compile_module(&translation, &Default::default()).unwrap();
//! assert_eq!(module.funcs.len(), 1);
//! assert!(module.array_to_wasm[0].is_some());
//! ```
//!
//! # Features
//!
//! | Wasm feature | supported |
//! |---|---|
//! | MVP, mutable globals, sign extension, saturating float-to-int | yes |
//! | multi-value, bulk memory, reference types (several tables) | yes |
//! | tail calls, typed function references, extended constant expressions | yes (Cranelift's `return_call`) |
//! | Wasm GC's type system (recursion groups, struct and array types as types) | yes; GC heap types and instructions: [`CompileError::Unsupported`] |
//! | SIMD and relaxed SIMD (`translate::simd`; relaxed operators deterministic) | yes |
//! | memory64, shared memories | no: [`CompileError::Unsupported`] |
//! | fuel and epoch interruption ([`Tunables`]) | yes: checks at function entry and loop headers |

#![deny(unsafe_op_in_unsafe_fn)]

mod env;
mod isa;
mod trampolines;
mod translate;

#[cfg(test)]
mod tests;

use cranelift_codegen::isa::OwnedTargetIsa;
use tandem_codegen_api::{Backend, CodeFlags, CompileError, CompileInputs, CompiledFunction};
use tandem_environ::{DefinedFuncIndex, FuncType, Libcall, Tunables};

/// The backend's name in errors and in [`Backend::name`].
pub(crate) const NAME: &str = "cranelift";

/// A [`CompileError::Unsupported`] from this backend.
pub(crate) fn unsupported(what: impl Into<String>, offset: u64) -> CompileError {
    CompileError::unsupported(NAME, what, offset)
}

/// A [`CompileError::Codegen`] from this backend.
pub(crate) fn codegen_error(message: impl Into<String>) -> CompileError {
    CompileError::codegen(NAME, message)
}

/// The Cranelift backend. Cheap to share between threads: every compilation
/// uses per-thread scratch state.
pub struct CraneliftBackend {
    isa: OwnedTargetIsa,
}

impl CraneliftBackend {
    /// Builds the backend for the host CPU. Fails with
    /// [`CompileError::Unsupported`] when the CPU lacks SSE4.1 (needed so
    /// float rounding never becomes a libcall).
    pub fn new() -> Result<Self, CompileError> {
        Self::with_settings(&[])
    }

    /// [`CraneliftBackend::new`] with Cranelift settings changed: each
    /// `(name, value)` is a shared setting (`opt_level`, `enable_verifier`,
    /// ...) or, failing that, an ISA setting (`has_avx2`, ...). An unknown
    /// name or a bad value is a [`CompileError::Codegen`].
    ///
    /// ```
    /// use tandem_backend_cranelift::CraneliftBackend;
    /// assert!(CraneliftBackend::with_settings(&[("opt_level", "none")]).is_ok());
    /// assert!(CraneliftBackend::with_settings(&[("no_such_setting", "true")]).is_err());
    /// ```
    pub fn with_settings(settings: &[(&str, &str)]) -> Result<Self, CompileError> {
        Ok(CraneliftBackend {
            isa: isa::host_isa(settings)?,
        })
    }
}

impl std::fmt::Debug for CraneliftBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CraneliftBackend")
            .field("isa", &self.isa.triple())
            .finish()
    }
}

impl Backend for CraneliftBackend {
    fn name(&self) -> &'static str {
        NAME
    }

    fn code_flags(&self) -> CodeFlags {
        isa::code_flags(&*self.isa)
    }

    fn compile_function(
        &self,
        inputs: &CompileInputs<'_>,
        index: DefinedFuncIndex,
        body: &tandem_environ::FunctionBody<'_>,
    ) -> Result<CompiledFunction, CompileError> {
        translate::compile_function(&*self.isa, inputs, index, body)
    }

    fn compile_array_to_wasm(
        &self,
        inputs: &CompileInputs<'_>,
        index: DefinedFuncIndex,
    ) -> Result<CompiledFunction, CompileError> {
        trampolines::array_to_wasm(&*self.isa, inputs.module, index)
    }

    fn compile_wasm_to_array(
        &self,
        _tunables: &Tunables,
        ty: &FuncType,
    ) -> Result<CompiledFunction, CompileError> {
        trampolines::wasm_to_array(&*self.isa, ty)
    }

    fn compile_wasm_to_libcall(
        &self,
        _tunables: &Tunables,
        libcall: Libcall,
    ) -> Result<CompiledFunction, CompileError> {
        trampolines::wasm_to_libcall(&*self.isa, libcall)
    }
}
