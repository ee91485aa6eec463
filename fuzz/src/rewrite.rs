//! Rewriting a generated module for the differential fuzzer: exporting the
//! termination budget global so every call can be given a fresh budget, and
//! optionally counting executed operators in a global of its own.
//!
//! The count is the fuzzer's *independent* account of Tandem's fuel rules
//! ([`Tunables::consume_fuel`](tandem_environ::Tunables::consume_fuel)):
//! entering a function body costs 1, every executed operator costs 1
//! except `nop`, `block`, `loop`, `else` and `end`, which cost 0. It is
//! written here on purpose, without `tandem_environ::fuel`, so a wrong entry
//! in the shared cost table shows up as a fuel divergence.

use std::convert::Infallible;
use wasm_encoder::reencode::{self, Reencode, RoundtripReencoder};
use wasm_encoder::{
    ConstExpr, ExportKind, ExportSection, Function, GlobalSection, GlobalType, Instruction,
    SectionId, ValType,
};
use wasmparser::{Operator, Parser, Payload, TypeRef};

/// Export name of the operator-count global (an `i64`).
pub const COUNT_EXPORT: &str = "tandem-fuzz:count";
/// Export name of the termination budget global (an `i32`).
pub const BUDGET_EXPORT: &str = "tandem-fuzz:budget";

/// Whether executing `op` costs one unit of fuel (the rule restated, see the
/// module docs).
pub fn costs_fuel(op: &Operator<'_>) -> bool {
    !matches!(
        op,
        Operator::Nop
            | Operator::Block { .. }
            | Operator::Loop { .. }
            | Operator::Else
            | Operator::End
    )
}

/// Returns `wasm` with global `budget` exported as [`BUDGET_EXPORT`] and,
/// when `count` is set, a new mutable `i64` global exported as
/// [`COUNT_EXPORT`] that every function increments as it executes.
pub fn rewrite(wasm: &[u8], budget: Option<u32>, count: bool) -> Result<Vec<u8>, String> {
    let mut globals = 0u32;
    for payload in Parser::new(0).parse_all(wasm) {
        match payload.map_err(|e| e.to_string())? {
            Payload::ImportSection(reader) => {
                for import in reader.into_imports() {
                    if let TypeRef::Global(_) = import.map_err(|e| e.to_string())?.ty {
                        globals += 1;
                    }
                }
            }
            Payload::GlobalSection(reader) => globals += reader.count(),
            _ => {}
        }
    }
    let mut rewriter = Rewriter {
        budget,
        counter: count.then_some(globals),
        wrote_globals: false,
        wrote_exports: false,
    };
    let mut module = wasm_encoder::Module::new();
    rewriter
        .parse_core_module(&mut module, Parser::new(0), wasm)
        .map_err(|e| e.to_string())?;
    Ok(module.finish())
}

struct Rewriter {
    budget: Option<u32>,
    /// Index of the count global, when counting.
    counter: Option<u32>,
    wrote_globals: bool,
    wrote_exports: bool,
}

/// Position of a section in the module's required order (custom sections
/// aside): tags sit between memories and globals, the data count before
/// the code.
fn rank(id: SectionId) -> u32 {
    match id {
        SectionId::Custom => 0,
        SectionId::Type => 10,
        SectionId::Import => 20,
        SectionId::Function => 30,
        SectionId::Table => 40,
        SectionId::Memory => 50,
        SectionId::Tag => 55,
        SectionId::Global => 60,
        SectionId::Export => 70,
        SectionId::Start => 80,
        SectionId::Element => 90,
        SectionId::DataCount => 95,
        SectionId::Code => 100,
        SectionId::Data => 110,
    }
}

impl Rewriter {
    fn add_globals(&mut self, globals: &mut GlobalSection) {
        if self.counter.is_some() {
            let ty = GlobalType {
                val_type: ValType::I64,
                mutable: true,
                shared: false,
            };
            globals.global(ty, &ConstExpr::i64_const(0));
        }
        self.wrote_globals = true;
    }

    fn add_exports(&mut self, exports: &mut ExportSection) {
        if let Some(counter) = self.counter {
            exports.export(COUNT_EXPORT, ExportKind::Global, counter);
        }
        if let Some(budget) = self.budget {
            exports.export(BUDGET_EXPORT, ExportKind::Global, budget);
        }
        self.wrote_exports = true;
    }

    fn bump(&self, f: &mut Function) {
        if let Some(counter) = self.counter {
            f.instruction(&Instruction::GlobalGet(counter));
            f.instruction(&Instruction::I64Const(1));
            f.instruction(&Instruction::I64Add);
            f.instruction(&Instruction::GlobalSet(counter));
        }
    }
}

impl Reencode for Rewriter {
    type Error = Infallible;

    fn parse_global_section(
        &mut self,
        globals: &mut GlobalSection,
        section: wasmparser::GlobalSectionReader<'_>,
    ) -> Result<(), reencode::Error<Infallible>> {
        reencode::utils::parse_global_section(self, globals, section)?;
        self.add_globals(globals);
        Ok(())
    }

    fn parse_export_section(
        &mut self,
        exports: &mut ExportSection,
        section: wasmparser::ExportSectionReader<'_>,
    ) -> Result<(), reencode::Error<Infallible>> {
        reencode::utils::parse_export_section(self, exports, section)?;
        self.add_exports(exports);
        Ok(())
    }

    /// Adds the global and export sections where the module has none.
    fn intersperse_section_hook(
        &mut self,
        module: &mut wasm_encoder::Module,
        _after: Option<SectionId>,
        before: Option<SectionId>,
    ) -> Result<(), reencode::Error<Infallible>> {
        let past = |id: SectionId| before.is_none_or(|b| rank(b) > rank(id));
        if !self.wrote_globals && self.counter.is_some() && past(SectionId::Global) {
            let mut globals = GlobalSection::new();
            self.add_globals(&mut globals);
            module.section(&globals);
        }
        if !self.wrote_exports && past(SectionId::Export) {
            let mut exports = ExportSection::new();
            self.add_exports(&mut exports);
            if !exports.is_empty() {
                module.section(&exports);
            }
        }
        Ok(())
    }

    fn parse_function_body(
        &mut self,
        code: &mut wasm_encoder::CodeSection,
        func: wasmparser::FunctionBody<'_>,
    ) -> Result<(), reencode::Error<Infallible>> {
        let mut f = self.new_function_with_parsed_locals(&func)?;
        // Entering the body costs one.
        self.bump(&mut f);
        let mut reader = func.get_operators_reader()?;
        while !reader.eof() {
            let op = reader.read()?;
            if costs_fuel(&op) {
                self.bump(&mut f);
            }
            f.instruction(&RoundtripReencoder.instruction(op)?);
        }
        code.function(&f);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exports(wasm: &[u8]) -> Vec<String> {
        let mut names = Vec::new();
        for payload in Parser::new(0).parse_all(wasm) {
            if let Payload::ExportSection(reader) = payload.unwrap() {
                names.extend(reader.into_iter().map(|e| e.unwrap().name.to_string()));
            }
        }
        names
    }

    #[test]
    fn rewritten_modules_validate_and_export_what_was_asked() {
        let sources = [
            "(module)",
            "(module (func (export \"f\") nop))",
            "(module (global (mut i32) (i32.const 5)) (func (result i32) global.get 0))",
            "(module (import \"m\" \"g\" (global i32)) (global (mut i32) (i32.const 1)) (start 0) (func))",
        ];
        for source in sources {
            let wasm = wat::parse_str(source).unwrap();
            let out = rewrite(&wasm, None, true).unwrap();
            wasmparser::validate(&out).unwrap_or_else(|e| panic!("{source}: {e}"));
            assert!(
                exports(&out).contains(&COUNT_EXPORT.to_string()),
                "{source}"
            );
        }
        let wasm = wat::parse_str(sources[2]).unwrap();
        let out = rewrite(&wasm, Some(0), false).unwrap();
        wasmparser::validate(&out).unwrap();
        assert_eq!(exports(&out), [BUDGET_EXPORT]);
    }

    #[test]
    fn the_count_follows_the_fuel_rules() {
        // Entry 1; i32.const, local.set; loop and nop free; local.get,
        // i32.const, i32.sub, local.tee, br_if (5 per turn, 3 turns); the
        // two ends free.
        let wasm = wat::parse_str(
            r#"(module (func (export "run") (local i32)
                i32.const 3 local.set 0
                loop
                  nop
                  local.get 0 i32.const 1 i32.sub local.tee 0
                  br_if 0
                end))"#,
        )
        .unwrap();
        let out = rewrite(&wasm, None, true).unwrap();
        let engine = wasmi::Engine::default();
        let module = wasmi::Module::new(&engine, &out[..]).unwrap();
        let mut store = wasmi::Store::new(&engine, ());
        let instance = wasmi::Linker::<()>::new(&engine)
            .instantiate_and_start(&mut store, &module)
            .unwrap();
        let run = instance.get_func(&store, "run").unwrap();
        run.call(&mut store, &[], &mut []).unwrap();
        let count = instance.get_global(&store, COUNT_EXPORT).unwrap();
        assert_eq!(count.get(&store).i64(), Some(1 + 2 + 3 * 5));
    }
}
