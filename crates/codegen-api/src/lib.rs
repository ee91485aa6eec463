//! The contract between Tandem's code generators and its runtime.
//!
//! # Map
//!
//! | item | what it is |
//! |---|---|
//! | [`Backend`] | the trait both backends implement; `tandem-store` only talks to it |
//! | [`CompiledFunction`] | machine code plus relocations, trap table and address map |
//! | [`CompiledModule`] | everything one module needs, as produced by [`Backend::compile_module`] |
//! | [`abi`] | the Wasm-call convention both backends share, and the other calling contracts |
//! | [`lower`] | the one operator table: operator families, one lowering trait per kind of operator, the shared operator loop |
//! | [`CompileError`] | why compilation failed |
//!
//! Backends never see the runtime's Rust types: every address they compute
//! comes from [`tandem_environ::VMOffsets`], and calls into the runtime go
//! through the libcall table listed by [`tandem_environ::foreach_libcall!`].
//!
//! `rayon` drives the parallel compilation in [`Backend::compile_module`].

pub mod abi;
mod compiled;
mod error;
pub mod lower;

pub use compiled::{
    CompiledFunction, CompiledModule, RelocKind, RelocTarget, Relocation, TrapSite,
};
pub use error::CompileError;

use rayon::prelude::*;
use tandem_environ::{
    DefinedFuncIndex, FuncType, Libcall, ModuleInfo, Translation, Tunables, VMOffsets,
};

/// What a backend's code depends on besides the module and the
/// [`Tunables`]. A precompiled module records its backend's flags; a backend
/// can run it when [`CodeFlags::can_run`] says so.
///
/// ```
/// use tandem_codegen_api::CodeFlags;
/// let compiled = CodeFlags { settings: vec![("frame_pointers".into(), "true".into())], cpu_features: vec!["avx2".into()] };
/// let mut host = compiled.clone();
/// host.cpu_features.push("bmi2".into());
/// assert_eq!(host.can_run(&compiled), Ok(()));
/// host.cpu_features.retain(|f| f != "avx2");
/// assert_eq!(host.can_run(&compiled).unwrap_err(), "the CPU lacks avx2, which the code uses");
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CodeFlags {
    /// Settings that change what the code does or how it is called, as
    /// `(name, value)`: the loader's must be the same. Settings that only
    /// change how fast the code is (an optimization level) or check the
    /// compiler (a verifier) are left out.
    pub settings: Vec<(String, String)>,
    /// CPU features the code may use: the loader's CPU must have each.
    pub cpu_features: Vec<String>,
}

impl CodeFlags {
    /// Whether code compiled with `compiled` runs under these flags (the
    /// loading host's): `Err` names the first difference.
    pub fn can_run(&self, compiled: &CodeFlags) -> Result<(), String> {
        for (name, value) in &compiled.settings {
            match self.settings.iter().find(|(n, _)| n == name) {
                Some((_, here)) if here == value => {}
                Some((_, here)) => {
                    return Err(format!(
                        "the code was compiled with setting `{name}` = `{value}`, this engine has `{here}`"
                    ));
                }
                None => {
                    return Err(format!(
                        "the code was compiled with setting `{name}` = `{value}`, which this engine does not know"
                    ));
                }
            }
        }
        if let Some((name, value)) = self
            .settings
            .iter()
            .find(|(n, _)| !compiled.settings.iter().any(|(c, _)| c == n))
        {
            return Err(format!(
                "this engine has setting `{name}` = `{value}`, which the code was compiled without"
            ));
        }
        let missing: Vec<&str> = compiled
            .cpu_features
            .iter()
            .filter(|f| !self.cpu_features.contains(f))
            .map(String::as_str)
            .collect();
        if !missing.is_empty() {
            return Err(format!(
                "the CPU lacks {}, which the code uses",
                missing.join(", ")
            ));
        }
        Ok(())
    }
}

/// Everything a backend needs to compile one module's code.
pub struct CompileInputs<'a> {
    /// The module.
    pub module: &'a ModuleInfo,
    /// Its VMContext layout.
    pub offsets: &'a VMOffsets,
    /// Shared settings.
    pub tunables: &'a Tunables,
}

/// A code generator. Both Tandem backends implement it; see [`abi`] for the
/// conventions each compiled artifact must follow.
pub trait Backend: Send + Sync {
    /// A short name (`"cranelift"`, `"baseline"`).
    fn name(&self) -> &'static str;

    /// What this backend's code depends on besides the module and the
    /// [`Tunables`]: precompiled modules record it, and loading one checks
    /// it against the loading engine's backend (see [`CodeFlags`]).
    fn code_flags(&self) -> CodeFlags;

    /// Compiles one defined function with the Wasm-call convention.
    fn compile_function(
        &self,
        inputs: &CompileInputs<'_>,
        index: DefinedFuncIndex,
        body: &tandem_environ::FunctionBody<'_>,
    ) -> Result<CompiledFunction, CompileError>;

    /// Compiles the array-to-Wasm entry of defined function `index` (see
    /// [`abi::ARRAY_CALL`]): it calls the function directly (relocation
    /// [`RelocTarget::Func`]).
    fn compile_array_to_wasm(
        &self,
        inputs: &CompileInputs<'_>,
        index: DefinedFuncIndex,
    ) -> Result<CompiledFunction, CompileError>;

    /// Compiles the Wasm-to-array trampoline for signature `ty` (see
    /// [`abi::WASM_TO_ARRAY`]).
    fn compile_wasm_to_array(
        &self,
        tunables: &Tunables,
        ty: &FuncType,
    ) -> Result<CompiledFunction, CompileError>;

    /// Compiles the Wasm-to-libcall trampoline for `libcall` (see
    /// [`abi::WASM_TO_LIBCALL`]).
    fn compile_wasm_to_libcall(
        &self,
        tunables: &Tunables,
        libcall: Libcall,
    ) -> Result<CompiledFunction, CompileError>;

    /// Compiles a whole module: every defined function in parallel, the
    /// array-to-Wasm entries of escaping functions, one Wasm-to-array
    /// trampoline per distinct signature, and the libcall trampolines the
    /// functions use.
    fn compile_module(
        &self,
        translation: &Translation<'_>,
        tunables: &Tunables,
    ) -> Result<CompiledModule, CompileError> {
        let module = &translation.module;
        let offsets = VMOffsets::new(module);
        let inputs = CompileInputs {
            module,
            offsets: &offsets,
            tunables,
        };
        let funcs = translation
            .bodies
            .par_iter()
            .enumerate()
            .map(|(i, body)| self.compile_function(&inputs, DefinedFuncIndex::new(i), body))
            .collect::<Result<Vec<_>, _>>()?;
        let array_to_wasm = (0..module.num_defined_funcs())
            .into_par_iter()
            .map(|i| {
                let index = DefinedFuncIndex::new(i);
                if module.escaping[module.func_index(index).index()] {
                    self.compile_array_to_wasm(&inputs, index).map(Some)
                } else {
                    Ok(None)
                }
            })
            .collect::<Result<Vec<_>, _>>()?;
        let (signatures, wasm_to_array_of_type) = dedup_signatures(module);
        let wasm_to_array = signatures
            .par_iter()
            .map(|ty| self.compile_wasm_to_array(tunables, ty))
            .collect::<Result<Vec<_>, _>>()?;
        let mut libcalls: Vec<Libcall> = funcs
            .iter()
            .chain(array_to_wasm.iter().flatten())
            .flat_map(|f| f.relocs.iter())
            .filter_map(|r| match r.target {
                RelocTarget::LibcallTrampoline(l) => Some(l),
                RelocTarget::Func(_) => None,
            })
            .collect();
        libcalls.sort_by_key(|l| l.index());
        libcalls.dedup();
        let libcall_trampolines = libcalls
            .into_iter()
            .map(|l| Ok((l, self.compile_wasm_to_libcall(tunables, l)?)))
            .collect::<Result<Vec<_>, CompileError>>()?;
        Ok(CompiledModule {
            funcs,
            array_to_wasm,
            wasm_to_array,
            wasm_to_array_of_type,
            libcall_trampolines,
            offsets,
        })
    }
}

/// The distinct signatures of a module and, per type index, which one it is.
fn dedup_signatures(module: &ModuleInfo) -> (Vec<FuncType>, Vec<u32>) {
    let mut distinct: Vec<FuncType> = Vec::new();
    let mut of_type = Vec::with_capacity(module.types.len());
    let mut seen = std::collections::HashMap::new();
    for ty in &module.types {
        let slot = *seen.entry(ty).or_insert_with(|| {
            distinct.push(ty.clone());
            (distinct.len() - 1) as u32
        });
        of_type.push(slot);
    }
    (distinct, of_type)
}
