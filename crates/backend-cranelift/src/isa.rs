//! The target ISA and what surrounds one Cranelift compilation: the flags
//! every artifact is built with, the per-thread scratch state, and turning
//! Cranelift's output (code, relocations, traps, source locations) into a
//! [`CompiledFunction`].

use crate::{codegen_error, unsupported};
use cranelift_codegen::binemit::Reloc;
use cranelift_codegen::control::ControlPlane;
use cranelift_codegen::ir::{self, ExternalName, UserExternalName};
use cranelift_codegen::isa::{OwnedTargetIsa, TargetIsa};
use cranelift_codegen::settings::{self, Configurable};
use cranelift_codegen::{Context, FinalizedRelocTarget};
use cranelift_frontend::FunctionBuilderContext;
use std::cell::RefCell;
use tandem_codegen_api::{
    CodeFlags, CompileError, CompiledFunction, RelocKind, RelocTarget, Relocation, TrapSite,
};
use tandem_environ::{DefinedFuncIndex, Libcall, TrapCode};

/// Namespace of user external names that are defined functions (index =
/// [`DefinedFuncIndex`]).
pub(crate) const FUNC_NAMESPACE: u32 = 0;
/// Namespace of user external names that are libcall trampolines (index =
/// [`Libcall::index`]).
pub(crate) const LIBCALL_NAMESPACE: u32 = 1;

/// Builds the ISA for the host CPU with Tandem's flags, then `overrides`
/// (shared settings first, else ISA settings).
pub(crate) fn host_isa(overrides: &[(&str, &str)]) -> Result<OwnedTargetIsa, CompileError> {
    let mut flags = settings::builder();
    let verifier = if cfg!(debug_assertions) {
        "true"
    } else {
        "false"
    };
    for (name, value) in [
        ("opt_level", "speed"),
        ("preserve_frame_pointers", "true"),
        ("enable_multi_ret_implicit_sret", "true"),
        ("enable_probestack", "false"),
        ("enable_verifier", verifier),
        ("unwind_info", "false"),
    ] {
        flags
            .set(name, value)
            .map_err(|e| codegen_error(format!("setting {name}={value}: {e}")))?;
    }
    let mut builder =
        cranelift_native::builder().map_err(|e| unsupported(format!("host CPU: {e}"), 0))?;
    for &(name, value) in overrides {
        flags
            .set(name, value)
            .or_else(|_| builder.set(name, value))
            .map_err(|e| codegen_error(format!("setting {name}={value}: {e}")))?;
    }
    let isa = builder
        .finish(settings::Flags::new(flags))
        .map_err(|e| codegen_error(format!("building the ISA: {e}")))?;
    let has_sse41 = isa
        .isa_flags()
        .iter()
        .any(|v| v.name == "has_sse41" && v.as_bool() == Some(true));
    if !has_sse41 {
        return Err(unsupported("a CPU without SSE4.1", 0));
    }
    Ok(isa)
}

/// Shared settings that change how fast the code is or how the compiler
/// checks itself, never what the code does or how it is called: left out of
/// [`code_flags`], so a precompiled module loads whatever they were.
const SETTINGS_NOT_SHAPING_BEHAVIOUR: &[&str] = &[
    "opt_level",
    "enable_verifier",
    "regalloc_checker",
    "regalloc_verbose_logs",
    "regalloc_algorithm",
    "enable_alias_analysis",
    "bb_padding_log2_minus_one",
    "log2_min_function_alignment",
    "machine_code_cfg_info",
    "enable_incremental_compilation_cache_checks",
];

/// The flags of `isa` that its code depends on: every shared setting but
/// [`SETTINGS_NOT_SHAPING_BEHAVIOUR`], the ISA's non-feature settings, and
/// the CPU features (`has_*`) it may use.
pub(crate) fn code_flags(isa: &dyn TargetIsa) -> CodeFlags {
    let mut flags = CodeFlags::default();
    for value in isa.flags().iter() {
        if !SETTINGS_NOT_SHAPING_BEHAVIOUR.contains(&value.name) {
            flags
                .settings
                .push((value.name.to_string(), value.value_string()));
        }
    }
    for value in isa.isa_flags() {
        match value.as_bool() {
            Some(true) if value.name.starts_with("has_") => {
                flags.cpu_features.push(value.name.to_string());
            }
            Some(_) if value.name.starts_with("has_") => {}
            _ => flags
                .settings
                .push((value.name.to_string(), value.value_string())),
        }
    }
    flags
}

/// Per-thread state reused between compilations (STYLE.md 7).
pub(crate) struct Scratch {
    /// Cranelift's compilation context (function, IR and machine buffers).
    pub ctx: Context,
    /// The frontend's SSA-construction state.
    pub fctx: FunctionBuilderContext,
    /// The Wasm translator's stacks.
    pub translator: crate::translate::Buffers,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch {
        ctx: Context::new(),
        fctx: FunctionBuilderContext::new(),
        translator: crate::translate::Buffers::default(),
    });
}

/// Runs `f` with this thread's scratch state, cleared. A translation that
/// fails half-way leaves the frontend's state dirty, so it is replaced then.
pub(crate) fn with_scratch<T>(
    f: impl FnOnce(&mut Scratch) -> Result<T, CompileError>,
) -> Result<T, CompileError> {
    SCRATCH.with(|cell| {
        let mut scratch = cell.borrow_mut();
        scratch.ctx.clear();
        scratch.translator.clear();
        let result = f(&mut scratch);
        if result.is_err() {
            scratch.fctx = FunctionBuilderContext::new();
        }
        result
    })
}

/// Cranelift's trap code for one of ours.
pub(crate) fn ir_trap(code: TrapCode) -> ir::TrapCode {
    ir::TrapCode::unwrap_user(code as u8)
}

/// Our trap code for one Cranelift recorded.
fn from_ir_trap(code: ir::TrapCode) -> Result<TrapCode, CompileError> {
    Ok(match code {
        ir::TrapCode::STACK_OVERFLOW => TrapCode::StackOverflow,
        ir::TrapCode::HEAP_OUT_OF_BOUNDS => TrapCode::MemoryOutOfBounds,
        ir::TrapCode::INTEGER_OVERFLOW => TrapCode::IntegerOverflow,
        ir::TrapCode::INTEGER_DIVISION_BY_ZERO => TrapCode::IntegerDivisionByZero,
        ir::TrapCode::BAD_CONVERSION_TO_INTEGER => TrapCode::BadConversionToInteger,
        other => TrapCode::from_u8(other.as_raw().get())
            .ok_or_else(|| codegen_error(format!("unknown trap code {other}")))?,
    })
}

/// Compiles the function in `ctx` and converts the result.
pub(crate) fn finish(
    ctx: &mut Context,
    isa: &dyn TargetIsa,
) -> Result<CompiledFunction, CompileError> {
    // Compilation does not change the names; copy them out first.
    let names = ctx.func.params.user_named_funcs().clone();
    let compiled = ctx
        .compile(isa, &mut ControlPlane::default())
        .map_err(|e| codegen_error(format!("{:?}", e.inner)))?;
    let buffer = &compiled.buffer;

    let relocs = buffer
        .relocs()
        .iter()
        .map(|r| {
            let target = match &r.target {
                FinalizedRelocTarget::ExternalName(ExternalName::User(name)) => {
                    reloc_target(&names[*name])?
                }
                other => {
                    return Err(codegen_error(format!(
                        "unexpected relocation target {other:?}"
                    )));
                }
            };
            let kind = match r.kind {
                Reloc::X86CallPCRel4 | Reloc::X86PCRel4 => RelocKind::X86PcRel4,
                Reloc::Abs8 => RelocKind::Abs8,
                other => return Err(codegen_error(format!("unexpected relocation kind {other}"))),
            };
            Ok(Relocation {
                offset: r.offset,
                kind,
                target,
                addend: r.addend,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;

    let mut traps = buffer
        .traps()
        .iter()
        .map(|t| {
            Ok(TrapSite {
                code_offset: t.offset,
                code: from_ir_trap(t.code)?,
            })
        })
        .collect::<Result<Vec<_>, CompileError>>()?;
    traps.sort_by_key(|t| t.code_offset);

    let mut address_map: Vec<(u32, u32)> = Vec::new();
    for loc in buffer.get_srclocs_sorted() {
        if loc.loc.is_default() || loc.start == loc.end {
            continue;
        }
        let pair = (loc.start, loc.loc.bits());
        match address_map.last_mut() {
            Some(last) if last.1 == pair.1 => {}
            Some(last) if last.0 == pair.0 => *last = pair,
            _ => address_map.push(pair),
        }
    }

    Ok(CompiledFunction {
        code: buffer.data().to_vec(),
        alignment: buffer.alignment.max(isa.function_alignment().minimum),
        relocs,
        traps,
        address_map,
    })
}

/// The [`RelocTarget`] a user external name stands for.
fn reloc_target(name: &UserExternalName) -> Result<RelocTarget, CompileError> {
    match name.namespace {
        FUNC_NAMESPACE => Ok(RelocTarget::Func(DefinedFuncIndex::from_u32(name.index))),
        LIBCALL_NAMESPACE => Libcall::ALL
            .get(name.index as usize)
            .map(|&l| RelocTarget::LibcallTrampoline(l))
            .ok_or_else(|| codegen_error(format!("unknown libcall {}", name.index))),
        other => Err(codegen_error(format!("unknown name namespace {other}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trap_codes_round_trip() {
        for &code in TrapCode::ALL {
            assert_eq!(from_ir_trap(ir_trap(code)).unwrap(), code);
        }
        assert_eq!(
            from_ir_trap(ir::TrapCode::HEAP_OUT_OF_BOUNDS).unwrap(),
            TrapCode::MemoryOutOfBounds
        );
        assert_eq!(
            from_ir_trap(ir::TrapCode::STACK_OVERFLOW).unwrap(),
            TrapCode::StackOverflow
        );
    }

    #[test]
    fn isa_has_the_required_flags() {
        let isa = host_isa(&[]).unwrap();
        assert!(isa.flags().preserve_frame_pointers());
        assert!(isa.flags().enable_multi_ret_implicit_sret());
        assert!(!isa.flags().enable_probestack());
        assert!(!isa.flags().unwind_info());
    }
}
