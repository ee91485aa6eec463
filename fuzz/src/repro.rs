//! Writing a [`Finding`] as a `.wat` file: a one-line description, the
//! command that reproduces it from its seed, the details, then the module
//! (as text when the text stands for exactly its bytes, otherwise as a
//! quoted binary module).

use crate::Finding;
use std::fmt::Write;
use std::path::{Path, PathBuf};

/// The text of `finding`'s repro file.
pub fn render(finding: &Finding) -> String {
    let mut out = String::new();
    let _ = writeln!(out, ";; {}: {}", finding.target, finding.summary);
    let _ = writeln!(
        out,
        ";; reproduce: cargo xtask fuzz --target {} --repro {}",
        finding.target, finding.seed
    );
    for line in finding.details.lines() {
        let _ = writeln!(out, ";; {line}");
    }
    if let Some(wasm) = &finding.module {
        match wasmprinter::print_bytes(wasm) {
            // The text, when it stands for exactly these bytes.
            Ok(text) if wat::parse_str(&text).ok().as_deref() == Some(&wasm[..]) => {
                out.push_str(&text)
            }
            // Otherwise the bytes, with the text (if any) to read.
            printed => {
                if let Ok(text) = printed {
                    for line in text.lines() {
                        let _ = writeln!(out, ";; | {line}");
                    }
                }
                out.push_str(&quoted_binary(wasm));
            }
        }
        out.push('\n');
    }
    out
}

/// `(module binary "...")`: any bytes, in a form `wat` reads back.
pub fn quoted_binary(wasm: &[u8]) -> String {
    let mut out = String::from("(module binary");
    for chunk in wasm.chunks(32) {
        out.push_str("\n  \"");
        for b in chunk {
            let _ = write!(out, "\\{b:02x}");
        }
        out.push('"');
    }
    out.push(')');
    out
}

/// Writes `finding` to `dir/<target>-<seed>.wat` and returns the path.
pub fn write(dir: &Path, finding: &Finding) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let path = dir.join(format!("{}-{}.wat", finding.target, finding.seed));
    std::fs::write(&path, render(finding))?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Target;

    #[test]
    fn repros_start_with_the_description_and_parse_back() {
        let valid =
            wat::parse_str("(module (func (export \"f\") (result i32) i32.const 1))").unwrap();
        let mut finding = Finding {
            target: Target::Diff,
            seed: 42,
            summary: "cranelift returned [i32:1], baseline returned [i32:2]".into(),
            details: "call 1: \"f\"()".into(),
            module: Some(valid.clone()),
        };
        let text = render(&finding);
        assert!(text.starts_with(";; diff: cranelift returned"));
        assert!(text.contains("--repro 42"));
        assert_eq!(wat::parse_str(&text).unwrap(), valid);

        let broken = vec![0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 0x01, 0xff];
        finding.module = Some(broken.clone());
        assert_eq!(wat::parse_str(render(&finding)).unwrap(), broken);
    }
}
