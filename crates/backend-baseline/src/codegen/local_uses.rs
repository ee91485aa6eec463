//! Counting how often each local is used, weighted by loop depth: the one
//! extra pass over a body that decides which locals get registers
//! (`codegen/frame`).
//!
//! The pass visits operators straight from the [`BinaryReader`] with a
//! visitor whose methods are empty except for the local and block
//! operators, so nothing is built per operator; it costs a fraction of
//! the main pass. The body was validated already; if the visitor meets an
//! operator it cannot decode (SIMD), counting stops there and the main
//! pass reports the problem.

use wasmparser::{BinaryReader, FrameKind, FrameStack, VisitOperator};

/// Weight of one use at loop depth `d`: uses inside loops count 8x per
/// level (capped), the usual guess at trip counts.
pub(super) fn use_weight(loop_depth: u32) -> u32 {
    1 << (3 * loop_depth.min(6))
}

/// Adds each local's weighted uses in the operators of `reader` to
/// `weights` (indexed by local). `frames` is scratch space.
pub(super) fn count_local_uses(
    mut reader: BinaryReader<'_>,
    weights: &mut [u32],
    frames: &mut Vec<FrameKind>,
) {
    frames.clear();
    frames.push(FrameKind::Block);
    let mut counter = UseCounter {
        weights,
        frames,
        loop_depth: 0,
    };
    while !reader.eof() && !counter.frames.is_empty() {
        if reader.visit_operator(&mut counter).is_err() {
            break;
        }
    }
}

/// The visitor: weights, open frames and the current loop depth.
struct UseCounter<'w> {
    weights: &'w mut [u32],
    frames: &'w mut Vec<FrameKind>,
    loop_depth: u32,
}

impl UseCounter<'_> {
    /// One use of local `index`.
    #[inline]
    fn count(&mut self, index: u32) {
        if let Some(w) = self.weights.get_mut(index as usize) {
            *w = w.saturating_add(use_weight(self.loop_depth));
        }
    }

    /// A construct opens.
    #[inline]
    fn open(&mut self, kind: FrameKind) {
        if kind == FrameKind::Loop {
            self.loop_depth += 1;
        }
        self.frames.push(kind);
    }

    /// `end`.
    #[inline]
    fn close(&mut self) {
        if self.frames.pop() == Some(FrameKind::Loop) {
            self.loop_depth -= 1;
        }
    }
}

impl FrameStack for UseCounter<'_> {
    fn current_frame(&self) -> Option<FrameKind> {
        self.frames.last().copied()
    }
}

/// Every visitor method: the interesting ones act, the rest do nothing.
macro_rules! define_visit {
    ($(@$proposal:ident $op:ident $({ $($arg:ident: $argty:ty),* })? => $visit:ident ($($ann:tt)*))*) => {
        $(
            #[inline]
            #[allow(unused_variables)]
            fn $visit(&mut self $($(,$arg: $argty)*)?) {
                define_visit!(@act self $op $($($arg)*)?);
            }
        )*
    };
    (@act $s:tt LocalGet $i:ident) => { $s.count($i) };
    (@act $s:tt LocalSet $i:ident) => { $s.count($i) };
    (@act $s:tt LocalTee $i:ident) => { $s.count($i) };
    (@act $s:tt Block $b:ident) => { $s.open(FrameKind::Block) };
    (@act $s:tt If $b:ident) => { $s.open(FrameKind::If) };
    (@act $s:tt Loop $b:ident) => { $s.open(FrameKind::Loop) };
    (@act $s:tt TryTable $b:ident) => { $s.open(FrameKind::TryTable) };
    (@act $s:tt Try $b:ident) => { $s.open(FrameKind::LegacyTry) };
    (@act $s:tt Else) => {
        if let Some(top) = $s.frames.last_mut() {
            *top = FrameKind::Else;
        }
    };
    (@act $s:tt End) => { $s.close() };
    (@act $s:tt $op:ident $($rest:tt)*) => {};
}

impl<'a> VisitOperator<'a> for UseCounter<'_> {
    type Output = ();

    wasmparser::for_each_visit_operator!(define_visit);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The operators of the only function in `wat`, with its local count.
    fn weights_of(wat: &str, locals: usize) -> Vec<u32> {
        let bytes = wat::parse_str(wat).expect("valid text");
        let mut weights = vec![0; locals];
        for payload in wasmparser::Parser::new(0).parse_all(&bytes) {
            if let wasmparser::Payload::CodeSectionEntry(body) = payload.expect("parses") {
                let reader = body.get_binary_reader_for_operators().expect("body");
                count_local_uses(reader, &mut weights, &mut Vec::new());
            }
        }
        weights
    }

    #[test]
    fn uses_inside_loops_weigh_more() {
        let w = weights_of(
            r#"(module (func (param i32) (local i64 f64)
                local.get 0 drop
                (block (loop
                    local.get 1 local.set 1
                    (if (local.get 0) (then (loop (local.get 2 drop))) (else (local.get 0 drop)))
                    br 0))
                local.get 2 drop))"#,
            3,
        );
        let (w0, w1, w2) = (1 + 8 + 8, 8 + 8, 64 + 1);
        assert_eq!(w, vec![w0, w1, w2]);
    }

    #[test]
    fn stops_quietly_at_simd() {
        let w = weights_of(
            r#"(module (func (local i32)
                local.get 0 drop
                v128.const i64x2 0 0 drop
                local.get 0 drop))"#,
            1,
        );
        assert!(w[0] >= 1);
    }
}
