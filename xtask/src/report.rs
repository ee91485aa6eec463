//! Printing spec-suite results: the table `cargo xtask test` ends with, and
//! the JSON object of `cargo xtask spec --json` (written by hand: four
//! numbers per backend and set need no serializer).

use tandem_wast::SuiteReport;

/// One row per backend and set: files and assertions passed of total, time.
pub fn table(reports: &[SuiteReport]) -> String {
    let width = reports
        .iter()
        .map(|r| r.set.name().len())
        .max()
        .unwrap_or(0)
        .max(4);
    let mut out = format!(
        "{:<10} {:<width$} {:>9} {:>15} {:>9}\n",
        "backend", "set", "files", "assertions", "time"
    );
    for r in reports {
        out.push_str(&format!(
            "{:<10} {:<width$} {:>9} {:>15} {:>7.1} s\n",
            r.backend.to_string(),
            r.set.to_string(),
            format!("{}/{}", r.files_passed(), r.files_total()),
            format!("{}/{}", r.asserts_passed(), r.asserts_total()),
            r.elapsed.as_secs_f64()
        ));
    }
    out
}

/// `{"<backend>": {"<set>": {"files_total": .., "files_passed": ..,
/// "asserts_total": .., "asserts_passed": ..}}}` on one line; backends and
/// sets in the order they ran. Names are plain identifiers, so no escaping.
pub fn json(reports: &[SuiteReport]) -> String {
    let mut backends: Vec<(String, Vec<String>)> = Vec::new();
    for r in reports {
        let entry = format!(
            "\"{}\":{{\"files_total\":{},\"files_passed\":{},\"asserts_total\":{},\"asserts_passed\":{}}}",
            r.set,
            r.files_total(),
            r.files_passed(),
            r.asserts_total(),
            r.asserts_passed()
        );
        let backend = r.backend.to_string();
        match backends.iter_mut().find(|(name, _)| *name == backend) {
            Some((_, sets)) => sets.push(entry),
            None => backends.push((backend, vec![entry])),
        }
    }
    let body: Vec<String> = backends
        .iter()
        .map(|(backend, sets)| format!("\"{backend}\":{{{}}}", sets.join(",")))
        .collect();
    format!("{{{}}}", body.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use tandem_store::BackendKind;
    use tandem_wast::{Failure, ScriptReport, SpecSet};

    fn sample() -> SuiteReport {
        let pass = ScriptReport {
            name: "a.wast".into(),
            passed: 10,
            failures: vec![],
            elapsed: Duration::ZERO,
        };
        let fail = ScriptReport {
            name: "b.wast".into(),
            passed: 5,
            failures: vec![Failure {
                line: 1,
                message: "boom".into(),
            }],
            elapsed: Duration::ZERO,
        };
        SuiteReport {
            backend: BackendKind::Cranelift,
            set: SpecSet::V2,
            scripts: vec![pass, fail],
            elapsed: Duration::from_millis(1500),
        }
    }

    #[test]
    fn json_has_the_four_counts() {
        assert_eq!(
            json(&[sample()]),
            r#"{"cranelift":{"v2":{"files_total":2,"files_passed":1,"asserts_total":16,"asserts_passed":15}}}"#
        );
        assert_eq!(json(&[]), "{}");
    }

    #[test]
    fn table_rows() {
        let text = table(&[sample()]);
        let row = text.lines().nth(1).expect("a row");
        assert!(row.starts_with("cranelift  v2"), "{row}");
        assert!(
            row.contains("1/2") && row.contains("15/16") && row.contains("1.5 s"),
            "{row}"
        );
    }
}
