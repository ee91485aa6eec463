//! What every engine reports when it runs a module through a call plan, in
//! one engine-neutral form, and how two such traces are compared.

use std::fmt;

/// A Wasm value, with references named so that engines can be compared:
/// a funcref by the first export name of its function, an externref by the
/// tag the fuzzer gave it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Value {
    /// `i32`
    I32(i32),
    /// `i64`
    I64(i64),
    /// `f32` bits
    F32(u32),
    /// `f64` bits
    F64(u64),
    /// `v128` bits
    V128(u128),
    /// `funcref`: `None` is null, otherwise the function's export name
    /// that sorts first (`"?"` when it has none).
    FuncRef(Option<String>),
    /// `externref`: `None` is null, otherwise its tag.
    ExternRef(Option<u32>),
}

impl Value {
    /// Equal bit for bit, except that any two NaNs are equal: the spec lets
    /// arithmetic produce any NaN.
    pub fn same(&self, other: &Value) -> bool {
        match (self, other) {
            (Value::F32(a), Value::F32(b)) => {
                a == b || (f32::from_bits(*a).is_nan() && f32::from_bits(*b).is_nan())
            }
            (Value::F64(a), Value::F64(b)) => {
                a == b || (f64::from_bits(*a).is_nan() && f64::from_bits(*b).is_nan())
            }
            _ => self == other,
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::I32(v) => write!(f, "i32:{v}"),
            Value::I64(v) => write!(f, "i64:{v}"),
            Value::F32(v) => write!(f, "f32:{:#010x}({})", v, f32::from_bits(*v)),
            Value::F64(v) => write!(f, "f64:{:#018x}({})", v, f64::from_bits(*v)),
            Value::V128(v) => write!(f, "v128:{v:#034x}"),
            Value::FuncRef(None) | Value::ExternRef(None) => write!(f, "null"),
            Value::FuncRef(Some(name)) => write!(f, "func:{name:?}"),
            Value::ExternRef(Some(tag)) => write!(f, "extern:{tag}"),
        }
    }
}

/// Why Wasm stopped, in terms all engines share.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TrapKind {
    /// `unreachable`
    Unreachable,
    /// Out-of-bounds linear-memory access.
    MemoryOutOfBounds,
    /// Out-of-bounds table access (`table.get/set/...`, segment copies).
    TableOutOfBounds,
    /// `call_indirect` past the table's end ("undefined element"; wasmi
    /// reports it as [`TrapKind::TableOutOfBounds`]).
    IndirectCallOutOfBounds,
    /// `call_indirect` to a null element.
    IndirectCallToNull,
    /// `call_indirect` to a function of another type.
    BadSignature,
    /// Integer overflow (division, truncation).
    IntegerOverflow,
    /// Integer division by zero.
    IntegerDivisionByZero,
    /// Float-to-int conversion of NaN.
    BadConversionToInteger,
    /// Stack exhausted: compared only when every engine reports it.
    StackOverflow,
    /// Fuel ran out (never expected here: the fuzzer gives plenty).
    OutOfFuel,
    /// Anything else (a host error, an engine-specific code).
    Other,
}

impl TrapKind {
    /// The kind with distinctions only some engines make folded away.
    pub fn portable(self) -> TrapKind {
        match self {
            TrapKind::IndirectCallOutOfBounds => TrapKind::TableOutOfBounds,
            other => other,
        }
    }
}

/// How an instantiation or a call ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Returned these results (none for an instantiation).
    Returned(Vec<Value>),
    /// Trapped.
    Trapped(TrapKind),
    /// Failed without a trap (the message is for the report only).
    Failed(String),
}

impl Outcome {
    fn is_stack_overflow(&self) -> bool {
        matches!(self, Outcome::Trapped(TrapKind::StackOverflow))
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Returned(values) => {
                write!(f, "returned [")?;
                for (i, v) in values.iter().enumerate() {
                    if i > 0 {
                        write!(f, ", ")?;
                    }
                    write!(f, "{v}")?;
                }
                write!(f, "]")
            }
            Outcome::Trapped(kind) => write!(f, "trapped: {kind:?}"),
            Outcome::Failed(message) => write!(f, "failed: {message}"),
        }
    }
}

/// The state of one export after a call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExportState {
    /// A global's value.
    Global(Value),
    /// A memory's size in pages and a hash of its bytes.
    Memory {
        /// Size in 64 KiB pages.
        pages: u64,
        /// FNV-1a of the contents.
        hash: u64,
    },
    /// A table's elements.
    Table(Vec<Value>),
}

impl ExportState {
    fn same(&self, other: &ExportState) -> bool {
        match (self, other) {
            (ExportState::Global(a), ExportState::Global(b)) => a.same(b),
            (ExportState::Table(a), ExportState::Table(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.same(y))
            }
            _ => self == other,
        }
    }
}

impl fmt::Display for ExportState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExportState::Global(v) => write!(f, "{v}"),
            ExportState::Memory { pages, hash } => write!(f, "{pages} pages, hash {hash:#018x}"),
            ExportState::Table(elements) => {
                write!(f, "{} elements [", elements.len())?;
                for (i, v) in elements.iter().enumerate().take(16) {
                    if i > 0 {
                        write!(f, ", ")?;
                    }
                    write!(f, "{v}")?;
                }
                if elements.len() > 16 {
                    write!(f, ", ...")?;
                }
                write!(f, "]")
            }
        }
    }
}

/// Exports sorted by name: engines list them in different orders.
pub fn sorted<T>(mut exports: Vec<(String, T)>) -> Vec<(String, T)> {
    exports.sort_by(|a, b| a.0.cmp(&b.0));
    exports
}

/// FNV-1a over a memory's bytes.
pub fn hash_bytes(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// What happened at one point of a run: the instantiation (step 0) or a
/// call of the plan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    /// How it ended.
    pub outcome: Outcome,
    /// Every exported global, memory and table afterwards, sorted by
    /// export name.
    pub exports: Vec<(String, ExportState)>,
    /// Fuel this step consumed (or operators counted), when measured.
    pub fuel: Option<u64>,
}

/// A whole run of one engine: the instantiation, then every call (a run
/// ends early when instantiation fails).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Trace {
    /// Step 0 is the instantiation.
    pub steps: Vec<Step>,
}

/// How strictly two traces are compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Strictness {
    /// Two Tandem engines: trap codes exactly.
    SameRuntime,
    /// Against an oracle: trap codes up to [`TrapKind::portable`].
    Portable,
}

/// The first point where two traces differ.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Divergence {
    /// Step index (0 is the instantiation, `n` is call `n - 1`).
    pub step: usize,
    /// What differs, showing both sides.
    pub what: String,
}

/// Compares `a` and `b` up to the first stack overflow either reports
/// (after it the engines' states may differ legitimately).
pub fn compare(a: (&str, &Trace), b: (&str, &Trace), strictness: Strictness) -> Option<Divergence> {
    let (name_a, trace_a) = a;
    let (name_b, trace_b) = b;
    for (step, (x, y)) in trace_a.steps.iter().zip(&trace_b.steps).enumerate() {
        if x.outcome.is_stack_overflow() || y.outcome.is_stack_overflow() {
            return None;
        }
        let diverge = |what: String| Some(Divergence { step, what });
        let outcomes_agree = match (&x.outcome, &y.outcome) {
            (Outcome::Returned(p), Outcome::Returned(q)) => {
                p.len() == q.len() && p.iter().zip(q).all(|(v, w)| v.same(w))
            }
            (Outcome::Trapped(p), Outcome::Trapped(q)) => match strictness {
                Strictness::SameRuntime => p == q,
                Strictness::Portable => p.portable() == q.portable(),
            },
            // Both failed without a trap (e.g. a link error): messages differ.
            (Outcome::Failed(_), Outcome::Failed(_)) => true,
            _ => false,
        };
        if !outcomes_agree {
            return diverge(format!("{name_a} {}, {name_b} {}", x.outcome, y.outcome));
        }
        if x.exports.len() != y.exports.len() {
            return diverge(format!(
                "{name_a} has {} exports, {name_b} {}",
                x.exports.len(),
                y.exports.len()
            ));
        }
        for ((export, p), (_, q)) in x.exports.iter().zip(&y.exports) {
            if !p.same(q) {
                return diverge(format!("export {export:?}: {name_a} {p}, {name_b} {q}"));
            }
        }
        if let (Outcome::Returned(_), Some(p), Some(q)) = (&x.outcome, x.fuel, y.fuel)
            && p != q
        {
            return diverge(format!("fuel: {name_a} used {p}, {name_b} {q}"));
        }
    }
    if trace_a.steps.len() != trace_b.steps.len() {
        return Some(Divergence {
            step: trace_a.steps.len().min(trace_b.steps.len()),
            what: format!(
                "{name_a} ran {} steps, {name_b} {}",
                trace_a.steps.len(),
                trace_b.steps.len()
            ),
        });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(outcome: Outcome, fuel: Option<u64>) -> Step {
        Step {
            outcome,
            exports: vec![("g".into(), ExportState::Global(Value::F32(0x7fc0_0000)))],
            fuel,
        }
    }

    #[test]
    fn nans_are_equal_other_bits_are_not() {
        assert!(Value::F32(0x7fc0_0000).same(&Value::F32(0xffc0_0001)));
        assert!(!Value::F32(0x3f80_0000).same(&Value::F32(0x3f80_0001)));
        assert!(!Value::F64(0).same(&Value::F64(1 << 63)));
    }

    #[test]
    fn traces_diverge_on_results_traps_and_fuel_but_not_after_stack_overflow() {
        let ok = |v, fuel| Trace {
            steps: vec![
                step(Outcome::Returned(vec![]), None),
                step(Outcome::Returned(vec![Value::I32(v)]), fuel),
            ],
        };
        assert_eq!(
            compare(
                ("a", &ok(1, Some(3))),
                ("b", &ok(1, Some(3))),
                Strictness::SameRuntime
            ),
            None
        );
        assert_eq!(
            compare(
                ("a", &ok(1, None)),
                ("b", &ok(1, Some(3))),
                Strictness::SameRuntime
            ),
            None
        );
        let d = compare(
            ("a", &ok(1, Some(3))),
            ("b", &ok(2, Some(3))),
            Strictness::SameRuntime,
        )
        .unwrap();
        assert_eq!(d.step, 1);
        assert!(
            compare(
                ("a", &ok(1, Some(3))),
                ("b", &ok(1, Some(4))),
                Strictness::SameRuntime
            )
            .is_some()
        );

        let trap = |kind, then| Trace {
            steps: vec![
                step(Outcome::Returned(vec![]), None),
                step(Outcome::Trapped(kind), None),
                step(Outcome::Returned(vec![Value::I32(then)]), None),
            ],
        };
        let oob = trap(TrapKind::IndirectCallOutOfBounds, 1);
        let table = trap(TrapKind::TableOutOfBounds, 1);
        assert!(compare(("a", &oob), ("b", &table), Strictness::SameRuntime).is_some());
        assert_eq!(
            compare(("a", &oob), ("b", &table), Strictness::Portable),
            None
        );
        let overflow = trap(TrapKind::StackOverflow, 2);
        assert_eq!(
            compare(("a", &oob), ("b", &overflow), Strictness::Portable),
            None
        );
    }
}
