//! [`GrowthLimiter`]: the hook the runtime consults before a memory or table
//! grows, whether Wasm grows it (`memory.grow`, `table.grow`) or the host
//! does.
//!
//! The embedding layer owns the policy (its `ResourceLimiter`); the runtime
//! only needs these two questions answered. An [`crate::instance::Instance`]
//! holds a pointer to the store's limiter slot, which stays at a fixed
//! address for the store's life, so the libcalls can ask it.

/// Decides whether a memory or table may grow. Asked only for growth the
/// declared maximum (and the runtime's own caps) would allow.
pub trait GrowthLimiter {
    /// May a linear memory grow from `current` to `desired` bytes?
    /// `maximum` is its declared maximum in bytes, if any.
    fn memory_growing(&mut self, current: usize, desired: usize, maximum: Option<usize>) -> bool;

    /// May a table grow from `current` to `desired` elements? `maximum` is
    /// its declared maximum, if any.
    fn table_growing(&mut self, current: usize, desired: usize, maximum: Option<usize>) -> bool;
}

/// Converts a count that fits the runtime's limits to `usize`, saturating
/// (every caller compares against limits far below `usize::MAX`).
pub(crate) fn to_usize(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A limiter with fixed caps that records what it was asked.
    #[derive(Default)]
    pub(crate) struct Caps {
        pub(crate) memory_bytes: Option<usize>,
        pub(crate) table_elements: Option<usize>,
        pub(crate) asked: Vec<(usize, usize, Option<usize>)>,
    }

    impl GrowthLimiter for Caps {
        fn memory_growing(&mut self, current: usize, desired: usize, max: Option<usize>) -> bool {
            self.asked.push((current, desired, max));
            self.memory_bytes.is_none_or(|cap| desired <= cap)
        }

        fn table_growing(&mut self, current: usize, desired: usize, max: Option<usize>) -> bool {
            self.asked.push((current, desired, max));
            self.table_elements.is_none_or(|cap| desired <= cap)
        }
    }
}
