//! The fuel rules both backends apply (see [`Tunables::consume_fuel`]):
//! what each operator costs and where a straight-line region ends and is
//! charged. One definition, so the backends cannot drift apart.
//!
//! [`Tunables::consume_fuel`]: crate::Tunables::consume_fuel

use wasmparser::Operator;

/// The fuel an operator costs: structural markers that execute no code of
/// their own are free, every other operator costs one unit.
pub fn operator_cost(op: &Operator<'_>) -> i64 {
    match op {
        Operator::Nop
        | Operator::Block { .. }
        | Operator::Loop { .. }
        | Operator::Else
        | Operator::End => 0,
        _ => 1,
    }
}

/// Whether `op` ends a straight-line region: control may leave, or arrive
/// from elsewhere, right after it. The region's cost is charged before it.
pub fn ends_region(op: &Operator<'_>) -> bool {
    matches!(
        op,
        Operator::Br { .. }
            | Operator::BrIf { .. }
            | Operator::BrTable { .. }
            | Operator::If { .. }
            | Operator::Else
            | Operator::End
            | Operator::Loop { .. }
            | Operator::Return
            | Operator::Call { .. }
            | Operator::CallIndirect { .. }
            | Operator::CallRef { .. }
            | Operator::ReturnCall { .. }
            | Operator::ReturnCallIndirect { .. }
            | Operator::ReturnCallRef { .. }
            | Operator::BrOnNull { .. }
            | Operator::BrOnNonNull { .. }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn structure_is_free_and_branches_end_regions() {
        assert_eq!(operator_cost(&Operator::Nop), 0);
        assert_eq!(operator_cost(&Operator::I32Add), 1);
        assert_eq!(operator_cost(&Operator::Br { relative_depth: 0 }), 1);
        assert!(ends_region(&Operator::Return));
        assert!(ends_region(&Operator::ReturnCall { function_index: 0 }));
        assert!(ends_region(&Operator::BrOnNull { relative_depth: 0 }));
        assert!(!ends_region(&Operator::I32Add));
    }
}
