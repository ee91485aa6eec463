//! `cargo xtask fuzz`: a campaign of one target (or all of them), in child
//! processes of this binary (`xtask fuzz-worker`), with the fuzzers of
//! `tandem-fuzz`. Findings are written under `target/fuzz/findings/`.

use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tandem_fuzz::campaign::{self, Options, Summary};
use tandem_fuzz::{Target, repro};

/// Seconds of each target's campaign in `cargo xtask test`.
pub const TEST_SECONDS: [(Target, u64); 3] = [
    (Target::Diff, 25),
    (Target::Malformed, 20),
    (Target::Api, 15),
];

/// The first seed `cargo xtask test` uses; fixed, so a failure in CI
/// reproduces anywhere.
pub const TEST_SEED: u64 = 0x7a4d_0000;

/// Where findings go.
pub fn findings_dir() -> PathBuf {
    crate::root().join("target").join("fuzz").join("findings")
}

/// Options of `cargo xtask fuzz`.
#[derive(Debug, PartialEq)]
struct FuzzOptions {
    targets: Vec<Target>,
    time: Duration,
    seed: u64,
    jobs: usize,
    repro: Option<u64>,
}

impl FuzzOptions {
    fn parse(args: &[String]) -> Result<Self, String> {
        let mut options = FuzzOptions {
            targets: Vec::new(),
            time: Duration::from_secs(60),
            seed: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs() << 20),
            jobs: crate::jobs(),
            repro: None,
        };
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            let mut value = |name: &str| {
                args.next()
                    .cloned()
                    .ok_or_else(|| format!("`{name}` needs a value"))
            };
            let number = |name: &str, text: String| {
                text.parse::<u64>()
                    .map_err(|e| format!("`{name} {text}`: {e}"))
            };
            match arg.as_str() {
                "--target" => options.targets.push(value("--target")?.parse()?),
                "--time" => {
                    let text = value("--time")?;
                    let secs: f64 = text.parse().map_err(|e| format!("`--time {text}`: {e}"))?;
                    options.time = Duration::from_secs_f64(secs.max(0.0));
                }
                "--seed" => options.seed = number("--seed", value("--seed")?)?,
                "--jobs" => options.jobs = number("--jobs", value("--jobs")?)?.max(1) as usize,
                "--repro" => options.repro = Some(number("--repro", value("--repro")?)?),
                other => return Err(format!("unknown option `{other}` for `fuzz`")),
            }
        }
        if options.targets.is_empty() {
            options.targets = Target::ALL.to_vec();
        }
        Ok(options)
    }
}

/// `cargo xtask fuzz [OPTIONS]`.
pub fn fuzz(args: &[String]) -> Result<(), String> {
    let options = FuzzOptions::parse(args)?;
    if let Some(seed) = options.repro {
        return repro_one(&options.targets, seed);
    }
    let mut findings = 0;
    for &target in &options.targets {
        let summary = run(target, options.time, options.seed, options.jobs)?;
        println!("{summary}");
        findings += summary.findings.len();
    }
    if findings > 0 {
        return Err(format!(
            "{findings} finding(s); repros in {}",
            findings_dir().display()
        ));
    }
    Ok(())
}

/// One campaign of `target` in children of this binary.
pub fn run(target: Target, time: Duration, seed: u64, jobs: usize) -> Result<Summary, String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find the xtask binary: {e}"))?;
    eprintln!(
        "xtask: fuzzing {target} for {:.0} s on {jobs} job(s) from seed {seed}",
        time.as_secs_f64()
    );
    let options = Options {
        target,
        time,
        seed,
        jobs,
        findings: findings_dir(),
    };
    campaign::run(&exe, &["fuzz-worker"], &options)
}

/// The seeded campaigns of `cargo xtask test`: [`TEST_SECONDS`] of each
/// target from [`TEST_SEED`]; any finding fails the run.
pub fn test_campaigns() -> Result<(), String> {
    let mut findings = 0;
    for (target, seconds) in TEST_SECONDS {
        let summary = run(
            target,
            Duration::from_secs(seconds),
            TEST_SEED,
            crate::jobs(),
        )?;
        println!("{summary}");
        findings += summary.findings.len();
    }
    if findings > 0 {
        return Err(format!(
            "the fuzz campaigns found {findings} problem(s); repros in {}",
            findings_dir().display()
        ));
    }
    Ok(())
}

fn repro_one(targets: &[Target], seed: u64) -> Result<(), String> {
    let [target] = targets else {
        return Err("`--repro` needs exactly one `--target`".into());
    };
    match campaign::run_one(*target, seed)? {
        Ok(counters) => {
            println!("{target} seed {seed}: no finding ({:?})", counters.0);
            Ok(())
        }
        Err(finding) => {
            let path = repro::write(&findings_dir(), &finding)
                .map_err(|e| format!("cannot write the repro: {e}"))?;
            print!("{}", repro::render(&finding));
            Err(format!(
                "finding: {} (written to {})",
                finding.summary,
                path.display()
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn fuzz_options() {
        let parsed = FuzzOptions::parse(&args(&[
            "--target", "diff", "--time", "2.5", "--seed", "7", "--jobs", "3",
        ]))
        .unwrap();
        assert_eq!(parsed.targets, [Target::Diff]);
        assert_eq!(parsed.time, Duration::from_millis(2500));
        assert_eq!((parsed.seed, parsed.jobs, parsed.repro), (7, 3, None));
        let all = FuzzOptions::parse(&args(&["--repro", "9"])).unwrap();
        assert_eq!(all.targets, Target::ALL);
        assert_eq!(all.repro, Some(9));
        assert!(FuzzOptions::parse(&args(&["--target", "nope"])).is_err());
        assert!(FuzzOptions::parse(&args(&["--time"])).is_err());
        assert!(FuzzOptions::parse(&args(&["--seed", "x"])).is_err());
    }
}
