//! `cargo xtask wasi-programs`: rebuilds the C test programs of `tandem-wasi`
//! (`crates/wasi/tests/programs/*.c`) into the `.wasm` files committed beside
//! them, with Debian's `clang`, `lld` and `wasi-libc` (`apt-get install clang
//! lld wasi-libc libclang-rt-dev-wasm32`), as a user would build them.

use std::process::Command;

/// The compiler flags: optimized, warnings are errors, DWARF stripped (the
/// name section stays, so backtraces name functions).
const CLANG_FLAGS: &[&str] = &[
    "--target=wasm32-wasi",
    "-O2",
    "-Wall",
    "-Werror",
    "-Wl,--strip-debug",
];

/// Compiles every `.c` program (headers are included, not compiled).
pub fn build() -> Result<(), String> {
    let dir = crate::root().join("crates/wasi/tests/programs");
    let mut sources: Vec<_> = std::fs::read_dir(&dir)
        .map_err(|e| format!("cannot list {}: {e}", dir.display()))?
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "c"))
        .collect();
    sources.sort();
    if sources.is_empty() {
        return Err(format!("no C programs in {}", dir.display()));
    }
    for source in sources {
        let output = source.with_extension("wasm");
        // Relative names, so no path of this machine ends up in the binary
        // (`__FILE__` in CHECK messages).
        let status = Command::new("clang")
            .current_dir(&dir)
            .args(CLANG_FLAGS)
            .arg(source.file_name().unwrap_or_default())
            .arg("-o")
            .arg(output.file_name().unwrap_or_default())
            .status()
            .map_err(|e| {
                format!("cannot run clang ({e}); apt-get install clang lld wasi-libc libclang-rt-dev-wasm32")
            })?;
        if !status.success() {
            return Err(format!("clang failed on {} ({status})", source.display()));
        }
        println!("built {}", output.display());
    }
    Ok(())
}
