//! The `malformed` target: a valid module, mutated (bytes flipped, inserted,
//! deleted, sections spliced, duplicated or swapped, LEBs lengthened,
//! truncated), compiled by every Tandem backend.
//!
//! A finding is a panic, a crash or a hang; an accepted module that
//! wasmparser's validator (with Tandem's features) rejects, or the reverse;
//! or a rejection whose message names no offset. A module Tandem accepts is
//! instantiated (when it has no imports) and each exported function called
//! with zero arguments under fuel, so a mutation that survives validation
//! also reaches the run time.
//!

use crate::{Counters, Finding, Target, smith};
use arbitrary::{Arbitrary, Unstructured};
use rand::rngs::SmallRng;
use rand::{Rng, RngExt, SeedableRng};
use tandem_store::{BackendKind, Config, Engine, Instance, Module, Store, Val};
use wasmparser::{Parser, Payload, WasmFeatures};

/// Fuel a valid mutant may burn per call.
const FUEL: u64 = 100_000;

/// The malformed target's state in one worker.
#[derive(Default)]
pub struct Malformed {
    engines: Vec<(BackendKind, Engine)>,
}

/// A mutated module and how it was made.
pub struct Mutant {
    /// The bytes.
    pub wasm: Vec<u8>,
    /// The mutations applied, in order.
    pub steps: Vec<String>,
}

impl Malformed {
    fn engines(&mut self) -> &[(BackendKind, Engine)] {
        if self.engines.is_empty() {
            for &backend in BackendKind::available() {
                let mut config = Config::new();
                config
                    .backend(backend)
                    .consume_fuel(true)
                    .wasm_simd(false)
                    .wasm_relaxed_simd(false)
                    .parallel_compilation(false);
                let engine = Engine::new(&config).expect("a valid configuration");
                self.engines.push((backend, engine));
            }
        }
        &self.engines
    }

    /// Runs case `seed`; a finding carries the module cut down to the
    /// bytes it needs ([`minimise`]).
    pub fn run(&mut self, seed: u64) -> Result<Counters, Finding> {
        let mutant = mutant(seed);
        let summary = match self.check(&mutant.wasm) {
            Ok(counters) => return Ok(counters),
            Err(summary) => summary,
        };
        let wanted = kind(&summary).to_string();
        let small = minimise(mutant.wasm.clone(), |candidate| {
            self.check(candidate)
                .err()
                .is_some_and(|s| kind(&s) == wanted)
        });
        let mut details = mutant.steps.join("\n");
        details.push_str(&format!(
            "\nminimised from {} to {} bytes",
            mutant.wasm.len(),
            small.len()
        ));
        Err(Finding {
            target: Target::Malformed,
            seed,
            summary,
            details,
            module: Some(small),
        })
    }

    /// Compiles `wasm` on every backend against the validator; `Err` is
    /// the finding's summary.
    pub fn check(&mut self, wasm: &[u8]) -> Result<Counters, String> {
        let features = crate::features();
        let valid = wasmparser::Validator::new_with_features(features)
            .validate_all(wasm)
            .is_ok();
        let mut counters = Counters::one("modules");
        counters.add(if valid { "valid" } else { "invalid" }, 1);
        for (backend, engine) in self.engines().to_vec() {
            let compiled = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                Module::from_binary(&engine, wasm)
            }))
            .map_err(|p| {
                format!(
                    "{backend} panicked compiling: {}",
                    crate::panic_message(&*p)
                )
            })?;
            match compiled {
                Ok(module) if valid => {
                    counters
                        .merge(&exercise(&engine, &module).map_err(|e| format!("{backend} {e}"))?);
                }
                Ok(_) => return Err(format!("{backend} accepted a module the validator rejects")),
                Err(e) => {
                    let message = e.to_string();
                    if valid {
                        return Err(format!("{backend} rejected a valid module: {message}"));
                    }
                    if !message.contains("offset") {
                        return Err(format!("{backend}'s error names no offset: {message}"));
                    }
                }
            }
        }
        Ok(counters)
    }
}

/// What kind of finding a summary describes: its text before any `:`.
fn kind(summary: &str) -> &str {
    summary.split(':').next().unwrap_or(summary)
}

/// Removes ever smaller runs of bytes from `wasm` while `still` holds of
/// what is left (delta debugging), within a bounded number of tries.
pub fn minimise(mut wasm: Vec<u8>, mut still: impl FnMut(&[u8]) -> bool) -> Vec<u8> {
    // Whole sections first: byte runs rarely line up with them.
    let mut i = sections(&wasm).len();
    while i > 0 {
        i -= 1;
        if let Some(s) = sections(&wasm).get(i) {
            let candidate = [&wasm[..s.header], &wasm[s.end..]].concat();
            if still(&candidate) {
                wasm = candidate;
            }
        }
    }
    let mut tries = 4000;
    let mut chunk = wasm.len().div_ceil(2).max(1);
    loop {
        let mut at = 0;
        let mut removed = false;
        while at < wasm.len() && tries > 0 {
            tries -= 1;
            let end = (at + chunk).min(wasm.len());
            let candidate = [&wasm[..at], &wasm[end..]].concat();
            if still(&candidate) {
                wasm = candidate;
                removed = true;
            } else {
                at += chunk;
            }
        }
        if tries == 0 || (chunk == 1 && !removed) {
            return wasm;
        }
        if !removed {
            chunk = chunk.div_ceil(2);
        }
    }
}

/// Instantiates `module` (without imports) and calls each exported function
/// with zero arguments, under fuel; only a panic is wrong.
fn exercise(engine: &Engine, module: &Module) -> Result<Counters, String> {
    let mut counters = Counters::default();
    if module.imports().len() > 0 {
        return Ok(counters);
    }
    let run = || {
        let mut store = Store::new(engine, ());
        store.set_fuel(FUEL).expect("fuel is on");
        let Ok(instance) = Instance::new(&mut store, module, &[]) else {
            return;
        };
        let funcs: Vec<_> = instance
            .exports(&mut store)
            .filter_map(|export| export.into_func())
            .collect();
        for func in funcs {
            let ty = func.ty(&store);
            let args: Vec<Val> = ty.params().map(Val::default_for).collect();
            let mut results: Vec<Val> = ty.results().map(Val::default_for).collect();
            let _ = store.set_fuel(FUEL);
            let _ = func.call(&mut store, &args, &mut results);
            counters.add("calls", 1);
        }
    };
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(run)).map_err(|p| {
        format!(
            "panicked running a valid mutant: {}",
            crate::panic_message(&*p)
        )
    })?;
    Ok(counters)
}

/// Bytes of the LEB at the start of `bytes` (all of them if unterminated).
fn leb_len(bytes: &[u8]) -> usize {
    bytes
        .iter()
        .position(|b| b & 0x80 == 0)
        .map_or(bytes.len(), |i| i + 1)
}

/// The module of case `seed`.
pub fn mutant(seed: u64) -> Mutant {
    let mut rng = SmallRng::seed_from_u64(seed);
    let mut wasm = source(&mut rng);
    let donor = source(&mut rng);
    let mut steps = Vec::new();
    for _ in 0..rng.random_range(1..=3) {
        steps.push(mutate(&mut rng, &mut wasm, &donor));
    }
    Mutant { wasm, steps }
}

/// A valid module: mostly with Tandem's features, sometimes with any
/// (so unsupported proposals must be refused cleanly).
fn source(rng: &mut SmallRng) -> Vec<u8> {
    let mut bytes = vec![0u8; rng.random_range(64..4096)];
    rng.fill_bytes(&mut bytes);
    let mut u = Unstructured::new(&bytes);
    let config = if rng.random_bool(0.75) {
        smith::config(crate::features(), &mut u)
    } else {
        wasm_smith::Config::arbitrary(&mut u)
    };
    config
        .and_then(|config| wasm_smith::Module::new(config, &mut u))
        .map(|m| m.to_bytes())
        .unwrap_or_else(|_| b"\0asm\x01\0\0\0".to_vec())
}

/// A section: its id and payload (`start..end` in the module).
struct Section {
    id: u8,
    header: usize,
    start: usize,
    end: usize,
}

/// The sections of `wasm` as far as they are well-formed.
fn sections(wasm: &[u8]) -> Vec<Section> {
    let mut out = Vec::new();
    let mut at = 8;
    while at + 1 < wasm.len() {
        let id = wasm[at];
        let Some((size, len)) = read_u32(&wasm[at + 1..]) else {
            break;
        };
        let start = at + 1 + len;
        let end = start.saturating_add(size as usize);
        if end > wasm.len() {
            break;
        }
        out.push(Section {
            id,
            header: at,
            start,
            end,
        });
        at = end;
    }
    out
}

fn read_u32(bytes: &[u8]) -> Option<(u32, usize)> {
    let mut value = 0u64;
    for (i, &b) in bytes.iter().enumerate().take(5) {
        value |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return u32::try_from(value).ok().map(|v| (v, i + 1));
        }
    }
    None
}

/// `value` as an unsigned LEB of exactly `len` bytes (padded).
fn padded_uleb(value: u64, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| {
            let bits = if 7 * i < 64 {
                (value >> (7 * i)) as u8 & 0x7f
            } else {
                0
            };
            if i + 1 < len { bits | 0x80 } else { bits }
        })
        .collect()
}

/// `value` as a signed LEB of exactly `len` bytes (sign-padded).
fn padded_sleb(value: i64, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| {
            let shift = (7 * i).min(63) as u32;
            let bits = (value >> shift) as u8 & 0x7f;
            if i + 1 < len { bits | 0x80 } else { bits }
        })
        .collect()
}

/// Applies one random mutation to `wasm` and says what it did.
fn mutate(rng: &mut SmallRng, wasm: &mut Vec<u8>, donor: &[u8]) -> String {
    let len = wasm.len();
    if len == 0 {
        wasm.extend_from_slice(b"\0asm");
        return "restore the magic of an empty module".into();
    }
    match rng.random_range(0..9) {
        0 => {
            let at = rng.random_range(0..len);
            let mask = 1u8 << rng.random_range(0..8);
            wasm[at] ^= mask;
            format!("flip bit {mask:#04x} at {at:#x}")
        }
        1 => {
            let at = rng.random_range(0..len);
            let b: u8 = rng.random();
            wasm[at] = b;
            format!("set byte {at:#x} to {b:#04x}")
        }
        2 => {
            let at = rng.random_range(0..=len);
            let n = rng.random_range(1..=8);
            let bytes: Vec<u8> = (0..n).map(|_| rng.random()).collect();
            wasm.splice(at..at, bytes.iter().copied());
            format!("insert {bytes:02x?} at {at:#x}")
        }
        3 => {
            let at = rng.random_range(0..len);
            let n = rng.random_range(1..=16).min(len - at);
            wasm.drain(at..at + n);
            format!("delete {n} bytes at {at:#x}")
        }
        4 => {
            let at = rng.random_range(0..len);
            wasm.truncate(at);
            format!("truncate to {at:#x} bytes")
        }
        5 => splice(rng, wasm, donor),
        6 => {
            let list = sections(wasm);
            if list.is_empty() {
                return "no section to duplicate".into();
            }
            let s = &list[rng.random_range(0..list.len())];
            let bytes = wasm[s.header..s.end].to_vec();
            wasm.splice(s.end..s.end, bytes);
            format!("duplicate section {} at {:#x}", s.id, s.header)
        }
        7 => {
            let list = sections(wasm);
            if list.len() < 2 {
                return "no sections to swap".into();
            }
            let i = rng.random_range(0..list.len() - 1);
            let (a, b) = (&list[i], &list[i + 1]);
            let first = wasm[a.header..a.end].to_vec();
            let second = wasm[b.header..b.end].to_vec();
            let swapped: Vec<u8> = second.iter().chain(&first).copied().collect();
            wasm.splice(a.header..b.end, swapped);
            format!("swap sections {} and {} at {:#x}", a.id, b.id, a.header)
        }
        _ => lengthen_leb(rng, wasm),
    }
}

/// Inserts a section of `donor` at a section boundary of `wasm`, or puts
/// it in place of one.
fn splice(rng: &mut SmallRng, wasm: &mut Vec<u8>, donor: &[u8]) -> String {
    let theirs = sections(donor);
    if theirs.is_empty() {
        return "no donor section".into();
    }
    let s = &theirs[rng.random_range(0..theirs.len())];
    let bytes = donor[s.header..s.end].to_vec();
    let ours = sections(wasm);
    if !ours.is_empty() && rng.random_bool(0.5) {
        let t = &ours[rng.random_range(0..ours.len())];
        let (id, at) = (t.id, t.header);
        wasm.splice(t.header..t.end, bytes);
        return format!(
            "replace section {id} at {at:#x} by a donor's section {}",
            s.id
        );
    }
    let at = ours
        .iter()
        .map(|t| t.end)
        .nth(rng.random_range(0..=ours.len()))
        .unwrap_or(8.min(wasm.len()));
    wasm.splice(at..at, bytes);
    format!("insert a donor's section {} at {at:#x}", s.id)
}

/// Where LEBs start in `wasm`: the first field of every section, memory
/// limits, function-body local counts and operator immediates; each with
/// whether it is signed.
fn leb_sites(wasm: &[u8]) -> Vec<(usize, bool)> {
    let mut sites: Vec<(usize, bool)> = sections(wasm)
        .iter()
        .filter(|s| s.id != 0 && s.start < s.end)
        .map(|s| (s.start, false))
        .collect();
    for payload in Parser::new(0).parse_all(wasm) {
        match payload {
            Ok(Payload::MemorySection(reader)) => {
                for (offset, _) in reader.into_iter_with_offsets().flatten() {
                    sites.push((offset as usize + 1, false));
                }
            }
            Ok(Payload::CodeSectionEntry(body)) => {
                if let Ok(locals) = body.get_locals_reader() {
                    sites.push((locals.original_position() as usize, false));
                }
                let Ok(ops) = body.get_operators_reader() else {
                    continue;
                };
                for (_, offset) in ops.into_iter_with_offsets().flatten().take(200) {
                    let offset = offset as usize;
                    let op = wasm.get(offset).copied().unwrap_or(0);
                    match op {
                        0x41 | 0x42 => sites.push((offset + 1, true)),
                        0x0c | 0x0d | 0x10 | 0x20..=0x24 | 0x28..=0x3e => {
                            sites.push((offset + 1, false))
                        }
                        _ => {}
                    }
                }
            }
            Err(_) => break,
            _ => {}
        }
    }
    sites
}

/// Re-encodes one LEB with 1 to 6 more bytes (keeping its value), then
/// fixes the sizes around it (function body and section) so only the LEB
/// itself is in question.
fn lengthen_leb(rng: &mut SmallRng, wasm: &mut Vec<u8>) -> String {
    let sites = leb_sites(wasm);
    if sites.is_empty() {
        return "no LEB to lengthen".into();
    }
    let (at, signed) = sites[rng.random_range(0..sites.len())];
    if at >= wasm.len() {
        return "no LEB to lengthen".into();
    }
    let old_len = leb_len(&wasm[at..]).min(10);
    let new_len = old_len + rng.random_range(1..=6);
    let replacement = if signed {
        let mut value = 0i64;
        let mut shift = 0;
        for &b in &wasm[at..at + old_len] {
            if shift < 64 {
                value |= i64::from(b & 0x7f) << shift;
            }
            shift += 7;
        }
        if shift < 64 && wasm[at + old_len - 1] & 0x40 != 0 {
            value |= -1i64 << shift;
        }
        padded_sleb(value, new_len)
    } else {
        let mut value = 0u64;
        for (i, &b) in wasm[at..at + old_len].iter().enumerate() {
            if 7 * i < 64 {
                value |= u64::from(b & 0x7f) << (7 * i);
            }
        }
        padded_uleb(value, new_len)
    };
    let grow = new_len - old_len;
    wasm.splice(at..at + old_len, replacement);
    fix_sizes(wasm, at, grow);
    format!("lengthen the LEB at {at:#x} from {old_len} to {new_len} bytes")
}

/// After `grow` bytes were inserted at `at`, rewrites the size of the
/// section and of the function body that contain it.
fn fix_sizes(wasm: &mut Vec<u8>, at: usize, grow: usize) {
    // Sections as they were: positions after `at` moved by `grow`.
    let mut pos = 8;
    while pos + 1 < wasm.len() {
        let id = wasm[pos];
        let Some((size, len)) = read_u32(&wasm[pos + 1..]) else {
            return;
        };
        let start = pos + 1 + len;
        let end = start + size as usize;
        if end + grow > wasm.len() {
            // An earlier mutation broke this section's size: leave it be.
            return;
        }
        if at >= start && at < end {
            let mut payload = wasm[start..end + grow].to_vec();
            if id == 10 {
                fix_body_size(&mut payload, at - start, grow);
            }
            let mut section = vec![id];
            section.extend(padded_uleb(
                payload.len() as u64,
                uleb_min_len(payload.len() as u64),
            ));
            section.extend(payload);
            wasm.splice(pos..end + grow, section);
            return;
        }
        pos = end;
    }
}

fn uleb_min_len(mut v: u64) -> usize {
    let mut n = 1;
    while v >= 0x80 {
        v >>= 7;
        n += 1;
    }
    n
}

/// In a code section payload, rewrites the size of the body containing
/// `at` (which grew by `grow`).
fn fix_body_size(payload: &mut Vec<u8>, at: usize, grow: usize) {
    let Some((count, len)) = read_u32(payload) else {
        return;
    };
    let mut pos = len;
    for _ in 0..count {
        let Some((size, len)) = read_u32(&payload[pos.min(payload.len())..]) else {
            return;
        };
        let start = pos + len;
        let end = start.saturating_add(size as usize);
        if end > payload.len() {
            return;
        }
        if at >= start && at < end {
            let new_size = size as u64 + grow as u64;
            let encoded = padded_uleb(new_size, uleb_min_len(new_size));
            payload.splice(pos..start, encoded);
            return;
        }
        pos = end;
    }
}

/// Features the target compares under (Tandem's).
pub fn features() -> WasmFeatures {
    crate::features()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padded_lebs_keep_their_value() {
        assert_eq!(padded_uleb(5, 3), [0x85, 0x80, 0x00]);
        assert_eq!(padded_sleb(-1, 3), [0xff, 0xff, 0x7f]);
        assert_eq!(padded_sleb(64, 2), [0xc0, 0x00]);
    }

    #[test]
    fn lengthened_lebs_keep_a_module_valid_within_the_limits() {
        let wasm = wat::parse_str(
            r#"(module (memory 1 2) (func (export "f") (result i32) (local i32) i32.const -5))"#,
        )
        .unwrap();
        let mut lengthened = 0;
        for seed in 0..200 {
            let mut rng = SmallRng::seed_from_u64(seed);
            let mut copy = wasm.clone();
            let what = lengthen_leb(&mut rng, &mut copy);
            // Up to 5 bytes a u32/i32 LEB stays valid (with Wasm 2.0's
            // features memory limits are u32 LEBs too).
            let longest = copy.len() - wasm.len() + 1;
            let check = wasmparser::Validator::new_with_features(features()).validate_all(&copy);
            if longest <= 5 {
                check.unwrap_or_else(|e| panic!("{what}: {e}"));
                lengthened += 1;
            } else {
                assert!(check.is_err(), "{what}");
            }
        }
        assert!(lengthened > 10);
    }

    #[test]
    fn minimising_keeps_what_the_finding_needs() {
        // "Findings" are modules containing the bytes 0xde 0xad in order.
        let needs = |w: &[u8]| w.windows(2).any(|p| p == [0xde, 0xad]);
        let mut wasm: Vec<u8> = (0..200u8).collect();
        wasm.splice(77..77, [0xde, 0xad]);
        assert_eq!(minimise(wasm, needs), [0xde, 0xad]);
    }

    #[test]
    fn mutating_never_panics() {
        for seed in 0..3000 {
            let _ = mutant(seed);
        }
    }

    #[test]
    fn mutants_are_deterministic() {
        for seed in 0..20 {
            let (a, b) = (mutant(seed), mutant(seed));
            assert_eq!(a.wasm, b.wasm);
            assert_eq!(a.steps, b.steps);
        }
    }
}
