//! Rendering `cargo xtask bench` results: the text tables on stdout and a
//! minimal JSON value type ([`Json`]) the report file is written with.

use crate::bench_stats::{Section, Unit};
use std::fmt::Write;

/// A JSON value, rendered by [`std::fmt::Display`].
#[derive(Clone, Debug, PartialEq)]
pub enum Json {
    /// `null`.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// A number (non-finite numbers render as `null`).
    Num(f64),
    /// A string.
    Str(String),
    /// An array.
    Arr(Vec<Json>),
    /// An object, keys in insertion order.
    Obj(Vec<(String, Json)>),
}

impl Json {
    /// An object from `(key, value)` pairs.
    pub fn obj<K: Into<String>>(entries: impl IntoIterator<Item = (K, Json)>) -> Json {
        Json::Obj(entries.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }

    /// A string.
    pub fn str(s: impl Into<String>) -> Json {
        Json::Str(s.into())
    }

    /// A number, or `null` for `None`.
    pub fn opt(value: Option<f64>) -> Json {
        value.map_or(Json::Null, Json::Num)
    }

    /// An array of numbers.
    pub fn nums(values: impl IntoIterator<Item = f64>) -> Json {
        Json::Arr(values.into_iter().map(Json::Num).collect())
    }
}

fn write_str(f: &mut std::fmt::Formatter<'_>, s: &str) -> std::fmt::Result {
    f.write_char('"')?;
    for c in s.chars() {
        match c {
            '"' => f.write_str("\\\"")?,
            '\\' => f.write_str("\\\\")?,
            '\n' => f.write_str("\\n")?,
            '\r' => f.write_str("\\r")?,
            '\t' => f.write_str("\\t")?,
            c if u32::from(c) < 0x20 => write!(f, "\\u{:04x}", u32::from(c))?,
            c => f.write_char(c)?,
        }
    }
    f.write_char('"')
}

impl std::fmt::Display for Json {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Json::Null => f.write_str("null"),
            Json::Bool(b) => write!(f, "{b}"),
            Json::Num(n) if n.is_finite() => write!(f, "{n}"),
            Json::Num(_) => f.write_str("null"),
            Json::Str(s) => write_str(f, s),
            Json::Arr(items) => {
                f.write_char('[')?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_char(',')?;
                    }
                    write!(f, "{item}")?;
                }
                f.write_char(']')
            }
            Json::Obj(entries) => {
                f.write_char('{')?;
                for (i, (key, value)) in entries.iter().enumerate() {
                    if i > 0 {
                        f.write_char(',')?;
                    }
                    write_str(f, key)?;
                    write!(f, ":{value}")?;
                }
                f.write_char('}')
            }
        }
    }
}

/// A section as JSON: columns, rows with cells and ratios, geomeans.
pub fn section_json(section: &Section) -> Json {
    let rows = section.rows.iter().map(|row| {
        let cells = section
            .columns
            .iter()
            .zip(&row.cells)
            .map(|(c, v)| (c.clone(), Json::opt(*v)));
        let ratios = section
            .pairs
            .iter()
            .map(|p| (p.label, Json::opt(section.ratio(row, p))));
        Json::obj([
            ("name", Json::str(&row.name)),
            ("bytes", Json::opt(row.bytes.map(|b| b as f64))),
            ("cells", Json::obj(cells)),
            ("ratios", Json::obj(ratios)),
        ])
    });
    let geomeans = section.pairs.iter().map(|p| {
        let value = section.geomean(p);
        (
            p.label,
            Json::obj([
                ("num", Json::str(&p.num)),
                ("den", Json::str(&p.den)),
                ("geomean", Json::opt(value.map(|(g, _)| g))),
                ("rows", Json::Num(value.map_or(0.0, |(_, n)| n as f64))),
            ]),
        )
    });
    Json::obj([
        ("key", Json::str(section.key)),
        ("title", Json::str(&section.title)),
        ("unit", Json::str(section.unit.symbol())),
        (
            "columns",
            Json::Arr(section.columns.iter().map(Json::str).collect()),
        ),
        ("rows", Json::Arr(rows.collect())),
        ("geomeans", Json::obj(geomeans)),
    ])
}

/// `value` with four significant digits (fewer decimals for large values).
pub fn significant(value: f64) -> String {
    let magnitude = if value == 0.0 {
        0
    } else {
        value.abs().log10().floor() as i32
    };
    let decimals = (3 - magnitude).clamp(0, 9) as usize;
    format!("{value:.decimals$}")
}

fn cell(section: &Section, value: Option<f64>, bytes: Option<u64>) -> String {
    match (value, section.unit, bytes) {
        (None, ..) => "-".into(),
        (Some(v), Unit::SecondsThroughput, Some(b)) if v > 0.0 => {
            format!(
                "{} ({} MB/s)",
                significant(v),
                significant(b as f64 / v / 1e6)
            )
        }
        (Some(v), ..) => significant(v),
    }
}

/// The section as an aligned text table: a row per module, a column per
/// subject and per ratio, and a `geomean` row for the ratios.
pub fn table(section: &Section) -> String {
    let mut header = vec![format!("{} ({})", section.key, section.unit.symbol())];
    header.extend(section.columns.iter().cloned());
    header.extend(section.pairs.iter().map(|p| p.label.to_string()));
    let mut lines = vec![header];
    for row in &section.rows {
        let mut line = vec![row.name.clone()];
        line.extend(row.cells.iter().map(|v| cell(section, *v, row.bytes)));
        line.extend(section.pairs.iter().map(|p| {
            section
                .ratio(row, p)
                .map_or("-".into(), |r| format!("{r:.2}"))
        }));
        lines.push(line);
    }
    if !section.pairs.is_empty() && section.rows.len() > 1 {
        let mut line = vec!["geomean".to_string()];
        line.extend(section.columns.iter().map(|_| String::new()));
        line.extend(section.pairs.iter().map(|p| {
            section
                .geomean(p)
                .map_or("-".into(), |(g, n)| format!("{g:.2} ({n})"))
        }));
        lines.push(line);
    }
    let widths: Vec<usize> = (0..lines[0].len())
        .map(|i| {
            lines
                .iter()
                .map(|l| l[i].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = format!("{}\n", section.title);
    for line in &lines {
        let mut text = String::new();
        for (i, (item, width)) in line.iter().zip(&widths).enumerate() {
            let pad = width - item.chars().count();
            if i == 0 {
                text.push_str(item);
                text.push_str(&" ".repeat(pad));
            } else {
                text.push_str("  ");
                text.push_str(&" ".repeat(pad));
                text.push_str(item);
            }
        }
        out.push_str(text.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench_stats::{Row, pairs};

    fn section() -> Section {
        let columns: Vec<String> = ["tandem-cranelift", "wasmtime-cranelift"]
            .map(String::from)
            .to_vec();
        Section {
            key: "compile",
            title: "compile".into(),
            unit: Unit::SecondsThroughput,
            pairs: pairs(&columns),
            columns,
            rows: vec![
                Row {
                    name: "big".into(),
                    bytes: Some(2_000_000),
                    cells: vec![Some(1.0), Some(0.5)],
                },
                Row {
                    name: "small \"q\"".into(),
                    bytes: Some(1_000),
                    cells: vec![Some(0.001), None],
                },
            ],
        }
    }

    #[test]
    fn json_renders_and_escapes() {
        let json = Json::obj([
            ("a", Json::nums([1.0, 2.5])),
            ("b", Json::str("x\"y\n")),
            ("c", Json::Num(f64::NAN)),
            ("d", Json::Bool(true)),
        ]);
        assert_eq!(
            json.to_string(),
            r#"{"a":[1,2.5],"b":"x\"y\n","c":null,"d":true}"#
        );
        let text = section_json(&section()).to_string();
        assert!(
            text.contains(r#""ratios":{"cranelift/wasmtime":2}"#),
            "{text}"
        );
        assert!(text.contains(r#""geomean":2,"rows":1"#), "{text}");
        assert!(text.contains(r#""name":"small \"q\"""#), "{text}");
    }

    #[test]
    fn table_has_ratios_and_throughput() {
        let text = table(&section());
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "compile");
        assert!(lines[1].starts_with("compile (s)"));
        assert!(lines[1].ends_with("cranelift/wasmtime"));
        assert!(lines[2].contains("1.000 (2.000 MB/s)"), "{text}");
        assert!(lines[2].ends_with("2.00"));
        assert!(lines[3].ends_with("-"));
        assert!(lines[4].starts_with("geomean") && lines[4].ends_with("2.00 (1)"));
    }

    #[test]
    fn significant_digits() {
        assert_eq!(significant(0.0), "0.000");
        assert_eq!(significant(1.23456), "1.235");
        assert_eq!(significant(0.0123456), "0.01235");
        assert_eq!(significant(1234.4), "1234");
        assert_eq!(significant(98765.4), "98765");
    }
}
