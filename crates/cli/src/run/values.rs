//! Values on the command line: which function `tandem run` calls, its
//! arguments parsed by parameter type, and its results as printed.

use crate::error::CliError;
use std::path::Path;
use tandem_store::{RefType, Val, ValType};

/// The function to call: `--invoke NAME` (checked later), else `_start`,
/// else the only exported function; `None` when nothing is exported.
pub fn pick_function(
    file: &Path,
    invoke: Option<&str>,
    exported: &[String],
) -> Result<Option<String>, CliError> {
    if let Some(name) = invoke {
        if !exported.iter().any(|e| e == name) {
            let list = if exported.is_empty() {
                "it exports no functions".to_string()
            } else {
                format!("exported functions: {}", exported.join(", "))
            };
            return Err(CliError::Usage(format!(
                "`{}` has no exported function `{name}` ({list})",
                file.display()
            )));
        }
        return Ok(Some(name.to_string()));
    }
    if exported.iter().any(|e| e == "_start") {
        return Ok(Some("_start".to_string()));
    }
    match exported {
        [] => Ok(None),
        [only] => Ok(Some(only.clone())),
        many => Err(CliError::Usage(format!(
            "`{}` exports {} functions and no `_start`; pick one with --invoke ({})",
            file.display(),
            many.len(),
            many.join(", ")
        ))),
    }
}

/// Parses one command-line argument as a value of type `ty`.
pub fn parse_arg(text: &str, ty: ValType) -> Result<Val, String> {
    let int = |min: i128, max: i128| -> Result<i128, String> {
        let value = parse_int(text)
            .ok_or_else(|| format!("expected an integer for {ty} (decimal or 0x-prefixed hex)"))?;
        if (min..=max).contains(&value) {
            Ok(value)
        } else {
            Err(format!("{value} does not fit in {ty}"))
        }
    };
    let float_error = |_| format!("expected a decimal number for {ty}");
    Ok(match ty {
        // Values past the signed maximum are taken as unsigned bit patterns,
        // so `0xffffffff` is -1; the cast keeps exactly the low bits.
        ValType::I32 => Val::I32(int(i32::MIN.into(), u32::MAX.into())? as u32 as i32),
        ValType::I64 => Val::I64(int(i64::MIN.into(), u64::MAX.into())? as u64 as i64),
        ValType::F32 => Val::F32(text.parse::<f32>().map_err(float_error)?.to_bits()),
        ValType::F64 => Val::F64(text.parse::<f64>().map_err(float_error)?.to_bits()),
        ValType::V128 => Val::V128(
            parse_u128(text)
                .ok_or_else(|| "expected a v128 as one decimal or 0x-hex integer".to_string())?,
        ),
        ValType::Ref(RefType::Func) if text == "null" => Val::FuncRef(None),
        ValType::Ref(RefType::Extern) if text == "null" => Val::ExternRef(None),
        ValType::Ref(_) => return Err(format!("only `null` can be passed as a {ty}")),
    })
}

/// A signed decimal or `0x` hex integer (`-0x10` too); `None` if malformed.
fn parse_int(text: &str) -> Option<i128> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let magnitude = parse_u128(digits)?;
    let magnitude = i128::try_from(magnitude).ok()?;
    Some(if negative { -magnitude } else { magnitude })
}

/// An unsigned decimal or `0x` hex integer.
fn parse_u128(text: &str) -> Option<u128> {
    let (digits, radix) = match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => (hex, 16),
        None => (text, 10),
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    u128::from_str_radix(digits, radix).ok()
}

/// A result as `tandem run` prints it: integers signed, floats as Rust
/// prints them.
pub fn format_val(val: &Val) -> String {
    match val {
        Val::I32(x) => x.to_string(),
        Val::I64(x) => x.to_string(),
        Val::F32(bits) => f32::from_bits(*bits).to_string(),
        Val::F64(bits) => f64::from_bits(*bits).to_string(),
        Val::V128(x) => format!("{x:#034x}"),
        Val::FuncRef(None) => "ref.null func".to_string(),
        Val::FuncRef(Some(_)) => "ref.func".to_string(),
        Val::ExternRef(None) => "ref.null extern".to_string(),
        Val::ExternRef(Some(_)) => "ref.extern".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn i32_of(text: &str) -> Result<i32, String> {
        match parse_arg(text, ValType::I32)? {
            Val::I32(x) => Ok(x),
            other => Err(format!("{other:?}")),
        }
    }

    #[test]
    fn integers_in_decimal_and_hex() {
        assert_eq!(i32_of("20"), Ok(20));
        assert_eq!(i32_of("-7"), Ok(-7));
        assert_eq!(i32_of("0x10"), Ok(16));
        assert_eq!(i32_of("-0x10"), Ok(-16));
        assert_eq!(i32_of("0xffffffff"), Ok(-1));
        assert_eq!(i32_of("-2147483648"), Ok(i32::MIN));
        assert!(i32_of("4294967296").unwrap_err().contains("does not fit"));
        assert!(i32_of("-2147483649").is_err());
        assert!(
            i32_of("12abc")
                .unwrap_err()
                .contains("expected an integer for i32")
        );
        assert!(i32_of("").is_err());
        assert!(i32_of("0x").is_err());
        assert!(matches!(
            parse_arg("0xffffffffffffffff", ValType::I64),
            Ok(Val::I64(-1))
        ));
        assert!(parse_arg("0x1_0", ValType::I64).is_err());
    }

    #[test]
    fn floats_and_references() {
        assert!(matches!(parse_arg("1.5", ValType::F32), Ok(Val::F32(b)) if b == 1.5f32.to_bits()));
        assert!(
            matches!(parse_arg("-0", ValType::F64), Ok(Val::F64(b)) if b == (-0.0f64).to_bits())
        );
        assert!(parse_arg("one", ValType::F64).is_err());
        assert!(matches!(
            parse_arg("null", ValType::Ref(RefType::Extern)),
            Ok(Val::ExternRef(None))
        ));
        assert!(parse_arg("1", ValType::Ref(RefType::Func)).is_err());
    }

    #[test]
    fn results_print_signed_and_as_rust_floats() {
        assert_eq!(format_val(&Val::I32(-1)), "-1");
        assert_eq!(format_val(&Val::I64(i64::MIN)), "-9223372036854775808");
        assert_eq!(format_val(&Val::F32(2.5f32.to_bits())), "2.5");
        assert_eq!(format_val(&Val::F64(3.0f64.to_bits())), "3");
        assert_eq!(format_val(&Val::F32(f32::NAN.to_bits())), "NaN");
    }

    #[test]
    fn default_function_choice() {
        let path = Path::new("m.wasm");
        let names = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            pick_function(path, None, &names(&["a", "_start"]))
                .ok()
                .flatten()
                .as_deref(),
            Some("_start")
        );
        assert_eq!(
            pick_function(path, None, &names(&["a"]))
                .ok()
                .flatten()
                .as_deref(),
            Some("a")
        );
        assert_eq!(pick_function(path, None, &names(&[])).ok().flatten(), None);
        assert!(pick_function(path, None, &names(&["a", "b"])).is_err());
        assert!(pick_function(path, Some("c"), &names(&["a", "b"])).is_err());
        assert_eq!(
            pick_function(path, Some("b"), &names(&["a", "b"]))
                .ok()
                .flatten()
                .as_deref(),
            Some("b")
        );
    }
}
