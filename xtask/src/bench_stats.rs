//! The figures of `cargo xtask bench` as tables: [`Section`]s of rows
//! (modules or kernels) by columns (subjects), the ratios between pairs of
//! columns ([`Pair`]) and the statistics behind them (medians of
//! repetitions, geometric means of ratios).

/// The median of `samples` (mean of the middle two for an even count).
pub fn median(samples: &[f64]) -> Option<f64> {
    let mut sorted: Vec<f64> = samples.iter().copied().filter(|x| x.is_finite()).collect();
    if sorted.is_empty() {
        return None;
    }
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    Some(if sorted.len().is_multiple_of(2) {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    } else {
        sorted[mid]
    })
}

/// The geometric mean of positive `values`.
pub fn geomean(values: &[f64]) -> Option<f64> {
    let logs: Vec<f64> = values
        .iter()
        .filter(|v| v.is_finite() && **v > 0.0)
        .map(|v| v.ln())
        .collect();
    if logs.is_empty() || logs.len() != values.len() {
        return None;
    }
    Some((logs.iter().sum::<f64>() / logs.len() as f64).exp())
}

/// What a section's cells measure, and how they are shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    /// Seconds.
    Seconds,
    /// Seconds over a module's bytes, also shown as MB/s.
    SecondsThroughput,
    /// Nanoseconds.
    Nanos,
    /// Microseconds.
    Micros,
    /// Milliseconds.
    Millis,
    /// Mebibytes.
    MiB,
}

impl Unit {
    /// The unit's symbol.
    pub fn symbol(self) -> &'static str {
        match self {
            Unit::Seconds | Unit::SecondsThroughput => "s",
            Unit::Nanos => "ns",
            Unit::Micros => "µs",
            Unit::Millis => "ms",
            Unit::MiB => "MiB",
        }
    }
}

/// Two columns whose ratio (numerator / denominator) is reported.
#[derive(Clone, Debug, PartialEq)]
pub struct Pair {
    /// Short label, e.g. `cranelift/wasmtime`.
    pub label: &'static str,
    /// Column name of the numerator.
    pub num: String,
    /// Column name of the denominator.
    pub den: String,
}

/// The ratios reported between subjects: each Tandem backend against its
/// wasmtime counterpart, and Tandem's baseline against its Cranelift
/// backend. Only pairs whose subjects both exist are kept.
pub fn pairs(subjects: &[String]) -> Vec<Pair> {
    const PAIRS: &[(&str, &str, &str)] = &[
        (
            "cranelift/wasmtime",
            "tandem-cranelift",
            "wasmtime-cranelift",
        ),
        ("baseline/winch", "tandem-baseline", "wasmtime-winch"),
        ("baseline/cranelift", "tandem-baseline", "tandem-cranelift"),
    ];
    PAIRS
        .iter()
        .filter(|(_, num, den)| {
            subjects.iter().any(|s| s == num) && subjects.iter().any(|s| s == den)
        })
        .map(|&(label, num, den)| Pair {
            label,
            num: num.to_string(),
            den: den.to_string(),
        })
        .collect()
}

/// One row: a module or kernel, with one figure per column (`None` when the
/// subject failed or was not measured).
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    /// Module or kernel name.
    pub name: String,
    /// Module size, for throughput.
    pub bytes: Option<u64>,
    /// Figures in the section's column order.
    pub cells: Vec<Option<f64>>,
}

/// A table of one kind of figure.
#[derive(Clone, Debug, PartialEq)]
pub struct Section {
    /// Short identifier (JSON key), e.g. `run`.
    pub key: &'static str,
    /// Title shown above the table.
    pub title: String,
    /// What the cells measure.
    pub unit: Unit,
    /// Column names (subjects, or `validate`).
    pub columns: Vec<String>,
    /// The rows.
    pub rows: Vec<Row>,
    /// The ratios shown.
    pub pairs: Vec<Pair>,
}

impl Section {
    fn column(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c == name)
    }

    /// `row`'s ratio for `pair`, when both figures exist.
    pub fn ratio(&self, row: &Row, pair: &Pair) -> Option<f64> {
        let num = row.cells.get(self.column(&pair.num)?).copied().flatten()?;
        let den = row.cells.get(self.column(&pair.den)?).copied().flatten()?;
        (den > 0.0).then(|| num / den)
    }

    /// The geometric mean of `pair`'s ratios over the rows that have one,
    /// with the number of those rows.
    pub fn geomean(&self, pair: &Pair) -> Option<(f64, usize)> {
        let ratios: Vec<f64> = self
            .rows
            .iter()
            .filter_map(|row| self.ratio(row, pair))
            .collect();
        geomean(&ratios).map(|g| (g, ratios.len()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[3.0]), Some(3.0));
        assert_eq!(median(&[5.0, 1.0, 3.0]), Some(3.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(median(&[f64::NAN, 2.0]), Some(2.0));
    }

    #[test]
    fn geomeans() {
        assert_eq!(geomean(&[]), None);
        let g = geomean(&[2.0, 8.0]).unwrap();
        assert!((g - 4.0).abs() < 1e-12);
        assert_eq!(geomean(&[1.0, 0.0]), None);
    }

    #[test]
    fn ratios_need_both_columns() {
        let subjects: Vec<String> = ["tandem-cranelift", "wasmtime-cranelift", "wasmtime-winch"]
            .map(String::from)
            .to_vec();
        let pairs = pairs(&subjects);
        assert_eq!(pairs.len(), 1);
        let section = Section {
            key: "run",
            title: "run".into(),
            unit: Unit::Seconds,
            columns: subjects,
            rows: vec![
                Row {
                    name: "a".into(),
                    bytes: None,
                    cells: vec![Some(2.0), Some(1.0), None],
                },
                Row {
                    name: "b".into(),
                    bytes: None,
                    cells: vec![Some(1.0), Some(2.0), Some(3.0)],
                },
                Row {
                    name: "c".into(),
                    bytes: None,
                    cells: vec![None, Some(2.0), Some(3.0)],
                },
            ],
            pairs,
        };
        let pair = &section.pairs[0];
        assert_eq!(section.ratio(&section.rows[0], pair), Some(2.0));
        assert_eq!(section.ratio(&section.rows[2], pair), None);
        let (g, n) = section.geomean(pair).unwrap();
        assert!((g - 1.0).abs() < 1e-12);
        assert_eq!(n, 2);
    }
}
