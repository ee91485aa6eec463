//! The expected-failures file: spec test files that do not pass yet, one per
//! line as `backend set file # reason`. A run fails if a listed file passes
//! (so the list only shrinks) or an unlisted file fails; `bless` rewrites
//! the entries for what just ran from the current results.

use std::collections::{BTreeMap, BTreeSet};
use tandem_store::BackendKind;
use tandem_wast::{SpecSet, SuiteReport};

/// Where the file lives, relative to the workspace root.
pub const PATH: &str = "tests/spec-expected-failures.txt";

/// Longest reason written by [`ExpectedFailures::bless`], in characters.
const REASON_MAX: usize = 120;

const HEADER: &str = "\
# Spec test files expected to fail, one per line: `backend set file # reason`.
# `cargo xtask test` and `cargo xtask spec` fail if a listed file passes or an
# unlisted file fails. Regenerate with `cargo xtask bless-failures` and review
# the diff; a new entry's reason is the file's first failure, an entry that
# still fails keeps its reason (write why, e.g. which proposal it needs).
";

/// (backend, set, file name): one entry's key.
type Key = (String, String, String);

/// The parsed file: reasons by key, ordered for writing.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ExpectedFailures {
    entries: BTreeMap<Key, String>,
}

impl ExpectedFailures {
    /// Parses the file's text. Backend and set names are kept as written, so
    /// entries for a backend that is not built yet survive a bless.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut entries = BTreeMap::new();
        for (number, line) in text.lines().enumerate() {
            let (fields, reason) = match line.split_once('#') {
                Some((fields, reason)) => (fields, reason.trim()),
                None => (line, ""),
            };
            let fields: Vec<&str> = fields.split_whitespace().collect();
            match fields.as_slice() {
                [] => continue,
                [backend, set, file] => {
                    let key = (backend.to_string(), set.to_string(), file.to_string());
                    if entries.insert(key, reason.to_string()).is_some() {
                        return Err(format!("{PATH}:{}: `{file}` is listed twice", number + 1));
                    }
                }
                _ => {
                    return Err(format!(
                        "{PATH}:{}: expected `backend set file # reason`, got `{line}`",
                        number + 1
                    ));
                }
            }
        }
        Ok(ExpectedFailures { entries })
    }

    /// The file's text: the header, then one sorted line per entry.
    pub fn render(&self) -> String {
        let mut out = HEADER.to_string();
        for ((backend, set, file), reason) in &self.entries {
            out.push_str(&format!("{backend} {set} {file}"));
            if !reason.is_empty() {
                out.push_str(&format!(" # {reason}"));
            }
            out.push('\n');
        }
        out
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    fn contains(&self, backend: BackendKind, set: SpecSet, file: &str) -> bool {
        self.entries
            .contains_key(&(backend.to_string(), set.to_string(), file.to_string()))
    }

    /// Everything that disagrees with `reports`: unexpected failures,
    /// unexpected passes, and entries naming files the suite does not have.
    /// `suite_files(set)` lists every file of a set (not only those run).
    pub fn check(
        &self,
        reports: &[SuiteReport],
        suite_files: impl Fn(SpecSet) -> BTreeSet<String>,
    ) -> Vec<String> {
        let mut problems = Vec::new();
        for report in reports {
            let (backend, set) = (report.backend, report.set);
            for script in &report.scripts {
                let listed = self.contains(backend, set, &script.name);
                match (script.is_pass(), listed) {
                    (false, false) => problems.push(format!(
                        "unexpected failure: {backend} {set} {} ({} of {} directives failed; first: {})",
                        script.name,
                        script.failures.len(),
                        script.total(),
                        script.failures.first().map(|f| f.to_string()).unwrap_or_default()
                    )),
                    (true, true) => problems.push(format!(
                        "unexpected pass: {backend} {set} {} passes but is listed in {PATH}; \
                         remove its line (or run `cargo xtask bless-failures`)",
                        script.name
                    )),
                    _ => {}
                }
            }
            let known = suite_files(set);
            for (b, s, file) in self.entries.keys() {
                if *b == backend.to_string() && *s == set.to_string() && !known.contains(file) {
                    problems.push(format!(
                        "stale entry: {backend} {set} {file} in {PATH} is not a file of the {set} suite"
                    ));
                }
            }
        }
        problems
    }

    /// Replaces the entries of every file that ran by the current results
    /// (a newly failing file listed with its first failure, one listed
    /// already keeping its reason), and drops entries naming files the
    /// suite does not have. Other entries stay.
    pub fn bless(
        &mut self,
        reports: &[SuiteReport],
        suite_files: impl Fn(SpecSet) -> BTreeSet<String>,
    ) {
        for report in reports {
            let (backend, set) = (report.backend.to_string(), report.set.to_string());
            let known = suite_files(report.set);
            self.entries
                .retain(|(b, s, file), _| !(*b == backend && *s == set && !known.contains(file)));
            for script in &report.scripts {
                let key = (backend.clone(), set.clone(), script.name.clone());
                match script.failures.first() {
                    Some(first) => {
                        self.entries
                            .entry(key)
                            .or_insert_with(|| truncate(&first.to_string(), REASON_MAX));
                    }
                    None => {
                        self.entries.remove(&key);
                    }
                }
            }
        }
    }
}

/// At most `max` characters of `text` on one line, `...` marking a cut.
fn truncate(text: &str, max: usize) -> String {
    let line = text.lines().next().unwrap_or("");
    if line.chars().count() <= max {
        return line.to_string();
    }
    let cut: String = line.chars().take(max.saturating_sub(3)).collect();
    format!("{cut}...")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use tandem_wast::{Failure, ScriptReport};

    fn script(name: &str, failures: &[&str]) -> ScriptReport {
        ScriptReport {
            name: name.to_string(),
            passed: 3,
            failures: failures
                .iter()
                .map(|m| Failure {
                    line: 7,
                    message: m.to_string(),
                })
                .collect(),
            elapsed: Duration::ZERO,
        }
    }

    fn report(scripts: Vec<ScriptReport>) -> SuiteReport {
        SuiteReport {
            backend: BackendKind::Cranelift,
            set: SpecSet::V2,
            scripts,
            elapsed: Duration::ZERO,
        }
    }

    fn suite(_: SpecSet) -> BTreeSet<String> {
        ["a.wast", "b.wast", "c.wast"]
            .iter()
            .map(|s| s.to_string())
            .collect()
    }

    #[test]
    fn parse_and_render_round_trip() {
        let text = "# comment\n\ncranelift v2 b.wast # why\nbaseline v2 a.wast\n";
        let parsed = ExpectedFailures::parse(text).expect("parses");
        assert_eq!(parsed.len(), 2);
        let rendered = parsed.render();
        assert!(rendered.ends_with("baseline v2 a.wast\ncranelift v2 b.wast # why\n"));
        assert_eq!(ExpectedFailures::parse(&rendered), Ok(parsed));
    }

    #[test]
    fn parse_errors_name_the_line() {
        let err = ExpectedFailures::parse("cranelift v2\n").unwrap_err();
        assert!(err.contains(":1:"), "{err}");
        let err = ExpectedFailures::parse("cranelift v2 a.wast\ncranelift v2 a.wast # again\n")
            .unwrap_err();
        assert!(err.contains(":2:") && err.contains("twice"), "{err}");
    }

    #[test]
    fn check_finds_unexpected_failures_passes_and_stale_entries() {
        let expected = ExpectedFailures::parse(
            "cranelift v2 a.wast # known\ncranelift v2 b.wast\ncranelift v2 gone.wast\n\
             baseline v2 gone.wast\n",
        )
        .expect("parses");
        let reports = [report(vec![
            script("a.wast", &["still failing"]),
            script("b.wast", &[]),
            script("c.wast", &["new breakage"]),
        ])];
        let problems = expected.check(&reports, suite);
        assert_eq!(problems.len(), 3, "{problems:#?}");
        assert!(problems[0].starts_with("unexpected pass: cranelift v2 b.wast"));
        assert!(problems[1].starts_with("unexpected failure: cranelift v2 c.wast"));
        assert!(problems[1].contains("line 7: new breakage"));
        assert!(problems[2].starts_with("stale entry: cranelift v2 gone.wast"));
    }

    #[test]
    fn bless_rewrites_what_ran_and_keeps_the_rest() {
        let mut expected = ExpectedFailures::parse(
            "cranelift v2 a.wast # old\ncranelift v2 b.wast\ncranelift v2 gone.wast\n\
             baseline v2 a.wast # other backend\n",
        )
        .expect("parses");
        let long = "x".repeat(500);
        let reports = [report(vec![
            script("a.wast", &["another failure # with hash"]),
            script("b.wast", &[]),
            script("c.wast", &[&long]),
        ])];
        expected.bless(&reports, suite);
        assert!(expected.check(&reports, suite).is_empty());
        let text = expected.render();
        assert!(
            text.contains("baseline v2 a.wast # other backend\n"),
            "{text}"
        );
        // A file that still fails keeps the reason written for it.
        assert!(text.contains("cranelift v2 a.wast # old\n"), "{text}");
        assert!(
            !text.contains("b.wast") && !text.contains("gone.wast"),
            "{text}"
        );
        let c_line = text
            .lines()
            .find(|l| l.contains("c.wast"))
            .expect("c listed");
        assert!(c_line.ends_with("...") && c_line.len() < 200, "{c_line}");
    }
}
