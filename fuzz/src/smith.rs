//! Generating a test case of the differential fuzzer from a seed: a
//! wasm-smith module with every feature Tandem enables, terminating by
//! construction, and a plan of calls with arguments.

use crate::rewrite;
use crate::trace::Value;
use arbitrary::Unstructured;
use rand::rngs::SmallRng;
use rand::{Rng, RngExt, SeedableRng};
use wasmparser::{ExternalKind, Parser, Payload, TypeRef, WasmFeatures};

/// The termination budget each call (and the start function) gets: loop
/// iterations plus function entries, plus the length of bulk operations.
pub const BUDGET: i32 = 1000;

/// Most calls one case makes.
const MAX_CALLS: usize = 24;

/// One call of the plan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Call {
    /// The exported function's name.
    pub export: String,
    /// Its arguments.
    pub args: Vec<Value>,
}

/// How Tandem's engines are configured for a case.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Setup {
    /// Fuel metering on (and compared).
    pub fuel: bool,
    /// Epoch checks on (with a deadline that never fires).
    pub epochs: bool,
}

/// A generated case.
#[derive(Clone, Debug)]
pub struct Case {
    /// The module every engine runs (the budget global exported as
    /// [`rewrite::BUDGET_EXPORT`]).
    pub wasm: Vec<u8>,
    /// The calls, in order.
    pub plan: Vec<Call>,
    /// Tandem's engine settings.
    pub setup: Setup,
}

/// wasm-smith settings for a module using exactly `features`: the
/// proposals Tandem enables, nothing else, no imports, every item exported,
/// NaNs canonicalised (so results are deterministic bit for bit), memories
/// and tables with small maxima (so snapshots stay cheap).
pub fn config(
    features: WasmFeatures,
    u: &mut Unstructured<'_>,
) -> arbitrary::Result<wasm_smith::Config> {
    let mut config = wasm_smith::Config {
        bulk_memory_enabled: features.bulk_memory(),
        reference_types_enabled: features.reference_types(),
        multi_value_enabled: features.multi_value(),
        saturating_float_to_int_enabled: features.saturating_float_to_int(),
        sign_extension_ops_enabled: features.sign_extension(),
        simd_enabled: features.simd(),
        relaxed_simd_enabled: features.relaxed_simd(),
        tail_call_enabled: features.tail_call(),
        memory64_enabled: features.memory64(),
        extended_const_enabled: features.extended_const(),
        exceptions_enabled: features.exceptions(),
        gc_enabled: features.gc(),
        threads_enabled: features.threads(),
        wide_arithmetic_enabled: features.wide_arithmetic(),
        custom_page_sizes_enabled: features.custom_page_sizes(),
        max_memories: if features.multi_memory() { 2 } else { 1 },
        max_tables: if features.reference_types() { 3 } else { 1 },
        max_imports: 0,
        export_everything: true,
        canonicalize_nans: true,
        memory_max_size_required: true,
        max_memory32_bytes: u.int_in_range(1..=16)? << 16,
        table_max_size_required: true,
        max_table_elements: u.int_in_range(1..=200)?,
        max_funcs: u.int_in_range(1..=20)?,
        max_instructions: u.int_in_range(10..=400)?,
        max_globals: 20,
        max_data_segments: 8,
        max_element_segments: 8,
        max_elements: 40,
        max_types: 20,
        max_nesting_depth: u.int_in_range(1..=12)?,
        disallow_traps: u.ratio(1, 4)?,
        ..wasm_smith::Config::default()
    };
    config.min_funcs = 1;
    config.min_exports = 1;
    Ok(config)
}

/// Generates case `seed` for a module with `features`.
pub fn generate(seed: u64, features: WasmFeatures) -> Result<Case, String> {
    let mut rng = SmallRng::seed_from_u64(seed);
    let mut bytes = vec![0u8; rng.random_range(1024..32768)];
    rng.fill_bytes(&mut bytes);
    let mut u = Unstructured::new(&bytes);
    let config = config(features, &mut u).map_err(|e| e.to_string())?;
    let mut module = wasm_smith::Module::new(config, &mut u).map_err(|e| e.to_string())?;
    let budget = module
        .ensure_termination(BUDGET as u32)
        .map_err(|e| e.to_string())?;
    let wasm = rewrite::rewrite(&module.to_bytes(), Some(budget), false)?;
    let funcs = exported_funcs(&wasm)?;
    let names: Vec<String> = funcs.iter().map(|(name, _)| name.clone()).collect();
    let calls = if funcs.is_empty() {
        0
    } else {
        rng.random_range(1..=MAX_CALLS)
    };
    let plan = (0..calls)
        .map(|_| {
            let (export, params) = &funcs[rng.random_range(0..funcs.len())];
            Call {
                export: export.clone(),
                args: params
                    .iter()
                    .map(|&ty| argument(&mut rng, ty, &names))
                    .collect(),
            }
        })
        .collect();
    let setup = Setup {
        fuel: rng.random_bool(0.5),
        epochs: rng.random_bool(0.25),
    };
    Ok(Case { wasm, plan, setup })
}

/// The exported functions of `wasm` with their parameter types, in export
/// order.
pub fn exported_funcs(wasm: &[u8]) -> Result<Vec<(String, Vec<wasmparser::ValType>)>, String> {
    let mut types = Vec::new();
    let mut funcs = Vec::new();
    let mut exports = Vec::new();
    for payload in Parser::new(0).parse_all(wasm) {
        match payload.map_err(|e| e.to_string())? {
            Payload::TypeSection(reader) => {
                for ty in reader.into_iter_err_on_gc_types() {
                    types.push(ty.map_err(|e| e.to_string())?.params().to_vec());
                }
            }
            Payload::ImportSection(reader) => {
                for import in reader.into_imports() {
                    if let TypeRef::Func(ty) = import.map_err(|e| e.to_string())?.ty {
                        funcs.push(ty);
                    }
                }
            }
            Payload::FunctionSection(reader) => {
                for ty in reader {
                    funcs.push(ty.map_err(|e| e.to_string())?);
                }
            }
            Payload::ExportSection(reader) => {
                for export in reader {
                    let export = export.map_err(|e| e.to_string())?;
                    if export.kind == ExternalKind::Func {
                        exports.push((export.name.to_string(), export.index));
                    }
                }
            }
            _ => {}
        }
    }
    exports
        .into_iter()
        .map(|(name, func)| {
            let ty = funcs
                .get(func as usize)
                .ok_or("export of an unknown function")?;
            let params = types
                .get(*ty as usize)
                .ok_or("function of an unknown type")?;
            Ok((name, params.clone()))
        })
        .collect()
}

/// An argument of type `ty`: boundary values most of the time.
fn argument(rng: &mut SmallRng, ty: wasmparser::ValType, funcs: &[String]) -> Value {
    use wasmparser::ValType;
    let random = rng.random_bool(0.3);
    match ty {
        ValType::I32 => Value::I32(if random {
            rng.random()
        } else {
            *pick(
                rng,
                &[
                    0,
                    1,
                    -1,
                    2,
                    7,
                    31,
                    32,
                    0x7fff,
                    0x8000,
                    0xffff,
                    0x1_0000,
                    i32::MIN,
                    i32::MAX,
                ],
            )
        }),
        ValType::I64 => Value::I64(if random {
            rng.random()
        } else {
            *pick(
                rng,
                &[
                    0,
                    1,
                    -1,
                    63,
                    64,
                    0xffff_ffff,
                    0x1_0000_0000,
                    i64::MIN,
                    i64::MAX,
                ],
            )
        }),
        ValType::F32 => Value::F32(if random {
            rng.random()
        } else {
            *pick(
                rng,
                &[
                    0,
                    0x8000_0000,
                    0x3f80_0000,
                    0xbfc0_0000,
                    0x7f80_0000,
                    0xff80_0000,
                    0x7fc0_0000,
                    0x7fa0_0001,
                    0x4f00_0000,
                    0xcf00_0001,
                    0x0000_0001,
                ],
            )
        }),
        ValType::F64 => Value::F64(if random {
            rng.random()
        } else {
            *pick(
                rng,
                &[
                    0,
                    1 << 63,
                    0x3ff0_0000_0000_0000,
                    0x7ff0_0000_0000_0000,
                    0xfff0_0000_0000_0000,
                    0x7ff8_0000_0000_0000,
                    0x7ff4_0000_0000_0001,
                    0x43e0_0000_0000_0000,
                    0xc3e0_0000_0000_0001,
                    1,
                ],
            )
        }),
        ValType::Ref(r) if r.is_func_ref() => {
            if funcs.is_empty() || rng.random_bool(0.3) {
                Value::FuncRef(None)
            } else {
                Value::FuncRef(Some(pick(rng, funcs).clone()))
            }
        }
        ValType::Ref(_) => {
            if rng.random_bool(0.3) {
                Value::ExternRef(None)
            } else {
                Value::ExternRef(Some(rng.random_range(1..=3)))
            }
        }
        ValType::V128 => Value::V128(rng.random()),
    }
}

fn pick<'a, T>(rng: &mut SmallRng, items: &'a [T]) -> &'a T {
    &items[rng.random_range(0..items.len())]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cases_are_valid_deterministic_and_call_exports() {
        let features = crate::features();
        for seed in 0..20 {
            let case = generate(seed, features).unwrap();
            wasmparser::Validator::new_with_features(features)
                .validate_all(&case.wasm)
                .unwrap_or_else(|e| panic!("seed {seed}: {e}"));
            let again = generate(seed, features).unwrap();
            assert_eq!(case.wasm, again.wasm);
            assert_eq!(case.plan, again.plan);
            let names: Vec<_> = exported_funcs(&case.wasm)
                .unwrap()
                .into_iter()
                .map(|(n, _)| n)
                .collect();
            assert!(case.plan.iter().all(|call| names.contains(&call.export)));
        }
    }
}
