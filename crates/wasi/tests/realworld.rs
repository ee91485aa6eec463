//! Real WASI programs from package registries (see `realworld/README.md`),
//! run end to end on every backend with their outputs checked: the
//! Boolector SMT solver (C/C++) reading problems from stdin, and the resvg
//! SVG renderer (Rust) reading and writing files in a preopened directory.
//! Each output is the one wasmtime gives for the same run.

mod common;

use common::{engines, run};
use std::path::PathBuf;
use tandem_store::{BackendKind, Module};
use tandem_wasi::MemoryInputPipe;

fn realworld(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/realworld")
        .join(name)
}

/// `name` compiled for `kind` (a missing file fails the test loudly).
fn program(kind: BackendKind, name: &str) -> Module {
    let path = realworld(name);
    let bytes = std::fs::read(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (committed with the tests)", path.display()));
    let engine = &engines().iter().find(|(k, _)| *k == kind).unwrap().1;
    Module::from_binary(engine, &bytes).unwrap()
}

fn input(name: &str) -> Vec<u8> {
    std::fs::read(realworld(name)).unwrap()
}

#[test]
fn boolector_solves_bit_vector_problems() {
    for (kind, _) in engines() {
        let boolector = program(*kind, "boolector.wasm");
        // Boolector's own convention: status 10 for sat, 20 for unsat.
        let out = run(*kind, &boolector, |b| {
            b.arg("boolector")
                .stdin(MemoryInputPipe::new(input("sat.smt2")));
        });
        assert_eq!(
            out.stdout,
            "sat\n(\n (x #b01101101001100100000111100100000)\n \
             (y #b10000000000000000001011100100010)\n)\n",
            "{kind}: {out:?}"
        );
        out.assert_status(10);
        let out = run(*kind, &boolector, |b| {
            b.arg("boolector")
                .stdin(MemoryInputPipe::new(input("unsat.smt2")));
        });
        assert_eq!(out.stdout, "unsat\n", "{kind}");
        out.assert_status(20);
        // 4194287 * 4194301, found by bit-blasting the multiplication.
        let out = run(*kind, &boolector, |b| {
            b.arg("boolector")
                .stdin(MemoryInputPipe::new(input("factor.smt2")));
        });
        assert_eq!(
            out.stdout,
            format!(
                "sat\n(\n (x #b{:064b})\n (y #b{:064b})\n)\n",
                4194287u64, 4194301u64
            ),
            "{kind}"
        );
    }
}

#[test]
fn resvg_renders_an_svg_file_to_png() {
    for (kind, _) in engines() {
        let resvg = program(*kind, "resvg.wasm");
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("in.svg"), input("gradient.svg")).unwrap();
        let out = run(*kind, &resvg, |b| {
            b.args(&["resvg", "/work/in.svg", "/work/out.png"])
                .preopened_dir(dir.path(), "/work")
                .unwrap();
        });
        out.assert_status(0);
        let png = std::fs::read(dir.path().join("out.png")).unwrap();
        assert!(
            png == input("gradient.png"),
            "{kind}: the PNG differs from wasmtime's"
        );
    }
}
