//! Golden disassembly: each `tests/disas/*.wat` is compiled by the baseline
//! and its functions' machine code, disassembled (Intel syntax), must equal
//! the `.disas` file beside it, so a change in what the baseline emits shows
//! up as a diff to review. `BLESS=1 cargo test -p tandem-backend-baseline
//! --test disas` rewrites the expected files.
//!
//! A `.wat` file may start with `;; tunables: NAME...` (`consume_fuel`,
//! `epoch_interruption`, `explicit_bounds_checks`). Relocation targets are
//! printed by name (`<func 2>`, `<libcall memory_grow>`), never as
//! addresses, and trap sites carry their trap code, so the files do not
//! depend on where anything is loaded.

use iced_x86::{Decoder, DecoderOptions, Formatter, Instruction, IntelFormatter, Mnemonic};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use tandem_codegen_api::{Backend, CompiledFunction, RelocKind, RelocTarget};
use tandem_environ::{BoundsChecks, DefinedFuncIndex, Tunables, default_features, translate};

/// The golden files' directory.
fn disas_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/disas")
}

/// The tunables a `;; tunables: ...` first line asks for.
fn tunables_of(wat: &str) -> Tunables {
    let mut tunables = Tunables::default();
    let Some(names) = wat
        .lines()
        .next()
        .and_then(|l| l.strip_prefix(";; tunables:"))
    else {
        return tunables;
    };
    for name in names.split_whitespace() {
        match name {
            "consume_fuel" => tunables.consume_fuel = true,
            "epoch_interruption" => tunables.epoch_interruption = true,
            "explicit_bounds_checks" => tunables.bounds_checks = BoundsChecks::Explicit,
            other => panic!("unknown tunable `{other}`"),
        }
    }
    tunables
}

/// A relocation's target by name.
fn target_name(target: RelocTarget) -> String {
    match target {
        RelocTarget::Func(f) => format!("<func {}>", f.as_u32()),
        RelocTarget::LibcallTrampoline(l) => format!("<libcall {}>", l.name()),
    }
}

/// Where the function's constant pool starts: the lowest RIP-relative
/// address its instructions read (the pool follows the code), or the end.
/// A `lea` takes an address, not data: `br_table`'s jump table is code.
fn pool_start(code: &[u8]) -> usize {
    let mut decoder = Decoder::with_ip(64, code, 0, DecoderOptions::NONE);
    let mut instruction = Instruction::default();
    let mut start = code.len();
    while decoder.can_decode() && (decoder.ip() as usize) < start {
        decoder.decode_out(&mut instruction);
        if instruction.is_ip_rel_memory_operand() && instruction.mnemonic() != Mnemonic::Lea {
            start = start.min(instruction.ip_rel_memory_address() as usize);
        }
    }
    start
}

/// One function's disassembly: an offset and an instruction per line, with
/// relocations by name and trap sites by code, then the constant pool as
/// 8-byte words.
fn disassemble(f: &CompiledFunction, out: &mut String) {
    let pool = pool_start(&f.code);
    let mut decoder = Decoder::with_ip(64, &f.code[..pool], 0, DecoderOptions::NONE);
    let mut formatter = IntelFormatter::new();
    formatter
        .options_mut()
        .set_space_after_operand_separator(true);
    formatter.options_mut().set_hex_prefix("0x");
    formatter.options_mut().set_hex_suffix("");
    formatter.options_mut().set_uppercase_hex(false);
    formatter.options_mut().set_branch_leading_zeros(false);
    let mut instruction = Instruction::default();
    let mut text = String::new();
    while decoder.can_decode() {
        decoder.decode_out(&mut instruction);
        let start = instruction.ip() as u32;
        let end = start + instruction.len() as u32;
        text.clear();
        let reloc = f.relocs.iter().find(|r| (start..end).contains(&r.offset));
        match reloc {
            Some(r)
                if r.kind == RelocKind::X86PcRel4
                    && matches!(instruction.mnemonic(), Mnemonic::Call | Mnemonic::Jmp) =>
            {
                formatter.format_mnemonic(&instruction, &mut text);
                write!(text, " {}", target_name(r.target)).unwrap();
            }
            Some(r) => {
                formatter.format(&instruction, &mut text);
                write!(
                    text,
                    "  ; {:?} {} {:+}",
                    r.kind,
                    target_name(r.target),
                    r.addend
                )
                .unwrap();
            }
            None => formatter.format(&instruction, &mut text),
        }
        if let Some(t) = f.traps.iter().find(|t| t.code_offset == start) {
            write!(text, "  ; trap: {:?}", t.code).unwrap();
        }
        writeln!(out, "  {start:04x}: {text}").unwrap();
    }
    for (i, word) in f.code[pool..].chunks(8).enumerate() {
        let hex: String = word.iter().rev().map(|b| format!("{b:02x}")).collect();
        writeln!(out, "  {:04x}: .data 0x{hex}", pool + 8 * i).unwrap();
    }
}

/// The expected text for `wat`: every defined function, in order.
fn disassemble_module(wat: &str) -> String {
    let wasm = wat::parse_str(wat).expect("wat parses");
    let translation = translate(&wasm, default_features()).expect("valid module");
    let backend = tandem_backend_baseline::BaselineBackend::new().expect("backend");
    let tunables = tunables_of(wat);
    let module = &translation.module;
    let mut out = String::new();
    for (i, body) in translation.bodies.iter().enumerate() {
        let index = DefinedFuncIndex::new(i);
        let f = backend
            .compile_function(
                &tandem_codegen_api::CompileInputs {
                    module,
                    offsets: &tandem_environ::VMOffsets::new(module),
                    tunables: &tunables,
                },
                index,
                body,
            )
            .expect("compiles");
        let func = module.func_index(index);
        let name = module.func_name(func).unwrap_or("");
        writeln!(out, "function {} {name}:", func.as_u32()).unwrap();
        disassemble(&f, &mut out);
    }
    out
}

#[test]
fn baseline_code_matches_the_golden_files() {
    let bless = std::env::var_os("BLESS").is_some();
    let mut wats: Vec<PathBuf> = std::fs::read_dir(disas_dir())
        .expect("tests/disas exists")
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "wat"))
        .collect();
    wats.sort();
    assert!(wats.len() >= 10, "only {} golden modules", wats.len());
    let mut failures = Vec::new();
    for wat_path in &wats {
        let wat = std::fs::read_to_string(wat_path).expect("readable .wat");
        let actual = disassemble_module(&wat);
        let expected_path = wat_path.with_extension("disas");
        if bless {
            std::fs::write(&expected_path, &actual).expect("writable .disas");
            continue;
        }
        match std::fs::read_to_string(&expected_path) {
            Ok(expected) if expected == actual => {}
            Ok(expected) => failures.push(format!(
                "{} differs (BLESS=1 rewrites it):\n{}",
                expected_path.display(),
                diff(&expected, &actual)
            )),
            Err(e) => failures.push(format!(
                "{}: {e} (BLESS=1 writes it)",
                expected_path.display()
            )),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The lines that differ, `-` expected and `+` actual, with their numbers.
fn diff(expected: &str, actual: &str) -> String {
    let (e, a): (Vec<&str>, Vec<&str>) = (expected.lines().collect(), actual.lines().collect());
    let mut out = String::new();
    for i in 0..e.len().max(a.len()) {
        let (x, y) = (e.get(i), a.get(i));
        if x != y {
            if let Some(x) = x {
                writeln!(out, "{:5} - {x}", i + 1).unwrap();
            }
            if let Some(y) = y {
                writeln!(out, "{:5} + {y}", i + 1).unwrap();
            }
        }
    }
    out
}

#[test]
fn relocations_print_by_name() {
    let text = disassemble_module(
        r#"(module
            (import "m" "f" (func $imported))
            (memory 1)
            (func $callee)
            (func (export "caller") call $callee call $imported
              (drop (memory.grow (i32.const 1)))))"#,
    );
    assert!(text.contains("call <func 0>"), "{text}");
    assert!(text.contains("call <libcall memory_grow>"), "{text}");
    assert!(!text.contains("call 0x"), "{text}");
}
