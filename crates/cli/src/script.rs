//! `tandem wast`: runs `.wast` scripts and prints each failure, a line per
//! script and a summary.

use crate::error::CliError;
use std::path::PathBuf;
use tandem_store::{BackendKind, Config};

/// Runs the scripts on `backend`; fails if any directive failed.
pub fn run_wast(files: &[PathBuf], backend: BackendKind) -> Result<(), CliError> {
    let mut texts = Vec::with_capacity(files.len());
    for path in files {
        let text = std::fs::read_to_string(path).map_err(|source| CliError::Read {
            path: path.clone(),
            source,
        })?;
        texts.push((path.display().to_string(), text));
    }
    let scripts: Vec<(&str, &str)> = texts
        .iter()
        .map(|(n, t)| (n.as_str(), t.as_str()))
        .collect();
    let mut config = Config::new();
    config
        .backend(backend)
        .wasm_features(Config::supported_wasm_features(), true);
    let jobs = std::thread::available_parallelism().map_or(1, |n| n.get());
    let reports = tandem_wast::run_scripts(&config, &scripts, jobs)
        .map_err(|e| CliError::store(format!("cannot use the {backend} backend"), e))?;

    let (mut passed, mut total, mut failed_files) = (0, 0, 0);
    for report in &reports {
        for failure in &report.failures {
            println!("{}:{}: {}", report.name, failure.line, failure.message);
        }
        let status = if report.is_pass() { "ok  " } else { "FAIL" };
        println!(
            "{status} {} ({}/{} directives, {:.2} s)",
            report.name,
            report.passed,
            report.total(),
            report.elapsed.as_secs_f64()
        );
        passed += report.passed;
        total += report.total();
        failed_files += usize::from(!report.is_pass());
    }
    println!(
        "{} of {} script(s) passed, {passed}/{total} directives on {backend}",
        reports.len() - failed_files,
        reports.len()
    );
    if failed_files > 0 {
        return Err(CliError::ScriptsFailed {
            failed: failed_files,
            total: reports.len(),
        });
    }
    Ok(())
}
