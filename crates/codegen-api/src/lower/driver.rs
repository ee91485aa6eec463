//! The operator loop both backends run: read each operator once, lower it
//! through the [table](super::table) when it is reachable, and skip it —
//! keeping only the nesting — when it is not.

use super::table::lower_one;
use super::traits::{LowerFunction, LowerResult};
use tandem_environ::wasmparser::Operator;

/// Lowers every operator left in `l`'s reader, up to and including the
/// function's final `end`.
///
/// Code after `br`, `return`, `unreachable` (anything that leaves
/// [`LowerFunction::reachable`] false) is skipped until the `else` or `end`
/// of the construct containing it, which is lowered as usual: that is what
/// makes the code after it reachable again.
pub fn lower_body<'a, L: LowerFunction<'a>>(l: &mut L) -> LowerResult {
    // Constructs opened inside unreachable code, whose `end`s are skipped.
    let mut dead_depth = 0u32;
    loop {
        let reader = l.operators();
        if reader.eof() {
            return Ok(());
        }
        let offset = reader.original_position();
        let op = reader.read()?;
        if l.reachable() {
            lower_operator(l, offset, &op)?;
        } else {
            l.at_operator(offset);
            skip_unreachable(l, &mut dead_depth, &op)?;
        }
    }
}

/// Lowers one reachable operator found at byte `offset`, with the hooks
/// around it. A lowering that reads ahead and must hand an operator back
/// (it could not fuse it) lowers that one through here too.
#[inline]
pub fn lower_operator<'a, L: LowerFunction<'a>>(
    l: &mut L,
    offset: u64,
    op: &Operator<'a>,
) -> LowerResult {
    debug_assert!(l.reachable(), "lower_operator on unreachable code");
    l.at_operator(offset);
    l.before_operator(op);
    lower_one(l, offset, op)?;
    l.after_operator(op)
}

/// Handles an operator in unreachable code: only the nesting matters, and
/// the `else` or `end` that closes the unreachable stretch is lowered.
///
/// Every operator that opens a construct must be counted here (Wasm 3.0's
/// `try_table` will be one).
fn skip_unreachable<'a, L: LowerFunction<'a>>(
    l: &mut L,
    dead_depth: &mut u32,
    op: &Operator<'a>,
) -> LowerResult {
    match op {
        Operator::Block { .. } | Operator::Loop { .. } | Operator::If { .. } => {
            *dead_depth += 1;
            Ok(())
        }
        Operator::Else if *dead_depth == 0 => l.else_(),
        Operator::End if *dead_depth == 0 => l.end(),
        Operator::End => {
            *dead_depth -= 1;
            Ok(())
        }
        _ => Ok(()),
    }
}
