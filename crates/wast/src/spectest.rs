//! The `spectest` host module: the imports every spec test script may use,
//! defined through a [`Linker`] so that scripts and the `tandem` command line
//! offer exactly the same things.
//!
//! | name | kind | type / value |
//! |---|---|---|
//! | `print` | func | `[] -> []` |
//! | `print_i32`, `print_i64`, `print_f32`, `print_f64` | func | one parameter, no result |
//! | `print_i32_f32`, `print_f64_f64` | func | two parameters, no result |
//! | `global_i32`, `global_i64` | immutable global | `666` |
//! | `global_f32`, `global_f64` | immutable global | `666.6` |
//! | `table` | table | `funcref`, 10 to 20 elements |
//! | `memory` | memory | 1 to 2 pages |

use tandem_store::{
    Global, GlobalType, Linker, Memory, MemoryType, Mutability, RefType, Store, Table, TableType,
    Val, ValType,
};

/// The module name the definitions are registered under.
pub const SPECTEST: &str = "spectest";

/// Defines the `spectest` module in `linker`. With `print` the `print*`
/// functions write their arguments to stdout the way the reference
/// interpreter does (`42 : i32`); without it they do nothing, which keeps the
/// output of a whole suite run readable.
pub fn define_spectest<T: 'static>(
    linker: &mut Linker<T>,
    store: &mut Store<T>,
    print: bool,
) -> Result<(), tandem_store::Error> {
    linker.func_wrap(SPECTEST, "print", move || {
        if print {
            println!();
        }
    })?;
    linker.func_wrap(SPECTEST, "print_i32", move |x: i32| {
        if print {
            println!("{x} : i32");
        }
    })?;
    linker.func_wrap(SPECTEST, "print_i64", move |x: i64| {
        if print {
            println!("{x} : i64");
        }
    })?;
    linker.func_wrap(SPECTEST, "print_f32", move |x: f32| {
        if print {
            println!("{x} : f32");
        }
    })?;
    linker.func_wrap(SPECTEST, "print_f64", move |x: f64| {
        if print {
            println!("{x} : f64");
        }
    })?;
    linker.func_wrap(SPECTEST, "print_i32_f32", move |x: i32, y: f32| {
        if print {
            println!("{x} : i32");
            println!("{y} : f32");
        }
    })?;
    linker.func_wrap(SPECTEST, "print_f64_f64", move |x: f64, y: f64| {
        if print {
            println!("{x} : f64");
            println!("{y} : f64");
        }
    })?;

    let globals = [
        ("global_i32", ValType::I32, Val::I32(666)),
        ("global_i64", ValType::I64, Val::I64(666)),
        ("global_f32", ValType::F32, Val::F32(666.6f32.to_bits())),
        ("global_f64", ValType::F64, Val::F64(666.6f64.to_bits())),
    ];
    for (name, content, value) in globals {
        let ty = GlobalType::new(content, Mutability::Const);
        let global = Global::new(&mut *store, ty, value)?;
        linker.define(&*store, SPECTEST, name, global)?;
    }

    let table_ty = TableType::new(RefType::FUNCREF, 10, Some(20));
    let table = Table::new(&mut *store, table_ty, Val::FuncRef(None))?;
    linker.define(&*store, SPECTEST, "table", table)?;

    let memory = Memory::new(&mut *store, MemoryType::new(1, Some(2)))?;
    linker.define(&*store, SPECTEST, "memory", memory)?;
    Ok(())
}
