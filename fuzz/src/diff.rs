//! The `diff` target: a generated module and call plan run on every Tandem
//! engine and on an oracle; any difference in results, traps, exported
//! state or fuel is a finding (see the crate docs for the rules).

use crate::oracle::Oracle;
use crate::smith::{self, Call, Case, Setup};
use crate::trace::{Divergence, Outcome, Strictness, Trace, TrapKind, compare};
use crate::{Counters, Finding, Target, rewrite, tandem};
use std::collections::HashMap;
use tandem_store::{BackendKind, Engine};

/// The diff target's state in one worker: engines are built once per
/// backend and setup.
#[derive(Default)]
pub struct Diff {
    engines: HashMap<(BackendKind, Setup), Engine>,
}

/// What running a case showed.
pub struct Verdict {
    /// The divergence that makes it a finding, if any.
    pub divergence: Option<String>,
    /// Counts for the campaign summary.
    pub counters: Counters,
}

impl Diff {
    fn engine(&mut self, backend: BackendKind, setup: Setup) -> Result<Engine, String> {
        if let Some(engine) = self.engines.get(&(backend, setup)) {
            return Ok(engine.clone());
        }
        let engine = tandem::engine(backend, setup)?;
        self.engines.insert((backend, setup), engine.clone());
        Ok(engine)
    }

    /// Runs case `seed`.
    pub fn run(&mut self, seed: u64) -> Result<Counters, Finding> {
        let case = match smith::generate(seed, crate::features()) {
            Ok(case) => case,
            Err(_) => return Ok(Counters::one("generation failures")),
        };
        let verdict = self
            .check(&case)
            .map_err(|message| self.finding(seed, &case, message))?;
        match verdict.divergence {
            None => Ok(verdict.counters),
            Some(divergence) => Err(self.finding(seed, &case, divergence)),
        }
    }

    fn finding(&mut self, seed: u64, case: &Case, summary: String) -> Finding {
        let minimal = self.minimise(case);
        let mut details = String::new();
        for (i, call) in minimal.plan.iter().enumerate() {
            let args: Vec<String> = call.args.iter().map(|a| a.to_string()).collect();
            details.push_str(&format!(
                "call {}: {:?}({})\n",
                i + 1,
                call.export,
                args.join(", ")
            ));
        }
        details.push_str(&format!("setup: {:?}\n", minimal.setup));
        Finding {
            target: Target::Diff,
            seed,
            summary,
            details,
            module: Some(minimal.wasm),
        }
    }

    /// Runs `case` everywhere and compares; `Err` for a Tandem panic.
    pub fn check(&mut self, case: &Case) -> Result<Verdict, String> {
        let mut counters = Counters::one("modules");
        counters.add("calls", case.plan.len() as u64);
        let mut traces: Vec<(String, Trace)> = Vec::new();
        for &backend in BackendKind::available() {
            let engine = self.engine(backend, case.setup)?;
            let run = || tandem::run(&engine, case.setup, &case.wasm, &case.plan);
            let trace =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(run)).map_err(|panic| {
                    format!("{backend} panicked: {}", crate::panic_message(&*panic))
                })?;
            traces.push((backend.to_string(), trace));
        }
        let (first_name, first) = &traces[0];
        for step in &first.steps[1..] {
            counters.add(
                match step.outcome {
                    Outcome::Returned(_) => "returned",
                    Outcome::Trapped(TrapKind::StackOverflow) => "stack overflows",
                    Outcome::Trapped(_) => "trapped",
                    Outcome::Failed(_) => "failed",
                },
                1,
            );
        }
        if !matches!(first.steps[0].outcome, Outcome::Returned(_)) {
            counters.add("instantiation failed", 1);
        }
        for (name, trace) in &traces[1..] {
            if let Some(d) = compare((first_name, first), (name, trace), Strictness::SameRuntime) {
                return Ok(Verdict {
                    divergence: Some(describe(&d, &case.plan)),
                    counters,
                });
            }
        }
        let counted = rewrite::rewrite(&case.wasm, None, true)?;
        let (oracle, reference) = match Oracle::Wasmi2.run(&counted, &case.plan) {
            Ok(trace) => (Oracle::Wasmi2, trace),
            Err(_) => {
                counters.add("wasmi-2 cannot run", 1);
                match Oracle::Wasmi031.run(&counted, &case.plan) {
                    Ok(trace) => (Oracle::Wasmi031, trace),
                    Err(_) => {
                        counters.add("no oracle", 1);
                        return Ok(Verdict {
                            divergence: None,
                            counters,
                        });
                    }
                }
            }
        };
        let Some(d) = compare(
            (first_name, first),
            (oracle.name(), &reference),
            Strictness::Portable,
        ) else {
            return Ok(Verdict {
                divergence: None,
                counters,
            });
        };
        // Every Tandem engine agrees and the oracle does not: ask the other.
        let other = match oracle {
            Oracle::Wasmi2 => Oracle::Wasmi031,
            Oracle::Wasmi031 => Oracle::Wasmi2,
        };
        if let Ok(second) = other.run(&counted, &case.plan)
            && compare(
                (first_name, first),
                (other.name(), &second),
                Strictness::Portable,
            )
            .is_none()
        {
            counters.add(&format!("{} overruled", oracle.name()), 1);
            return Ok(Verdict {
                divergence: None,
                counters,
            });
        }
        Ok(Verdict {
            divergence: Some(describe(&d, &case.plan)),
            counters,
        })
    }

    /// The case cut down to what still diverges: the calls up to the
    /// divergence, then each earlier call dropped if it is not needed.
    pub fn minimise(&mut self, case: &Case) -> Case {
        let mut best = case.clone();
        let still = |this: &mut Diff, candidate: &Case| {
            matches!(
                this.check(candidate),
                Ok(Verdict {
                    divergence: Some(_),
                    ..
                }) | Err(_)
            )
        };
        // Shortest prefix of the plan that still diverges.
        for len in 0..=best.plan.len() {
            let candidate = Case {
                plan: best.plan[..len].to_vec(),
                ..best.clone()
            };
            if still(self, &candidate) {
                best = candidate;
                break;
            }
        }
        let mut i = 0;
        while i < best.plan.len() {
            let mut plan = best.plan.clone();
            plan.remove(i);
            let candidate = Case {
                plan,
                ..best.clone()
            };
            if still(self, &candidate) {
                best = candidate;
            } else {
                i += 1;
            }
        }
        for setup in [
            Setup {
                fuel: false,
                epochs: false,
            },
            Setup {
                fuel: best.setup.fuel,
                epochs: false,
            },
        ] {
            let candidate = Case {
                setup,
                ..best.clone()
            };
            if setup != best.setup && still(self, &candidate) {
                best = candidate;
                break;
            }
        }
        best
    }
}

fn describe(d: &Divergence, plan: &[Call]) -> String {
    match d.step {
        0 => format!("at instantiation: {}", d.what),
        n => format!(
            "at call {n} ({:?}): {}",
            plan.get(n - 1).map_or("?", |c| &c.export),
            d.what
        ),
    }
}
