//! [`CodeTables`]: where linked code's function bodies are, their address
//! maps and its trap sites, as one block of little-endian words that the
//! lookups read in place. Linking builds the block; a precompiled module
//! stores it as it is and loading reads it straight from the module's file,
//! so nothing is decoded or copied however large the tables are.
//!
//! # The block
//!
//! ```text
//! header       nfuncs, npairs, ntraps                       3 × u32
//! functions    nfuncs × (start, len, map start, map len)     4 × u32 each
//! address map  npairs × (code offset in its function, Wasm offset)   2 × u32 each
//! trap sites   ntraps × text offset, sorted                  u32 each
//! trap codes   ntraps × TrapCode number                      u8 each
//! ```
//!
//! Function bodies are in text order. Each function's address map is a
//! range of pairs sorted by code offset: the instruction at a code offset
//! belongs to the Wasm operator at the Wasm offset, until the next pair.
//! A block read from a file is checked to be this shape, and every
//! function's map range to lie in the map; the order of the entries only
//! decides what a lookup answers, never what memory it reads.

use super::ArtifactFile;
use std::sync::Arc;
use tandem_environ::{DefinedFuncIndex, TrapCode};

const HEADER: usize = 12;
const FUNC: usize = 16;
const PAIR: usize = 8;

/// The lookup tables of a [`LinkedCode`](super::LinkedCode); see the module
/// docs for the layout.
#[derive(Debug)]
pub(crate) struct CodeTables {
    bytes: Bytes,
    nfuncs: usize,
    npairs: usize,
    ntraps: usize,
}

/// The block: made here, or a range of a precompiled module's file.
#[derive(Debug)]
enum Bytes {
    Owned(Box<[u8]>),
    Mapped {
        file: Arc<ArtifactFile>,
        start: usize,
        len: usize,
    },
}

/// The little-endian `u32` at byte `at` of `bytes`.
fn word(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes"))
}

/// One function body to describe: where it starts in the text, its length,
/// and its address map.
pub(crate) struct FuncEntry<'a> {
    pub(crate) start: u32,
    pub(crate) len: u32,
    pub(crate) address_map: &'a [(u32, u32)],
}

impl CodeTables {
    /// The block for `funcs` (in text order) and `traps` (text offset,
    /// code; sorted here).
    pub(crate) fn build(funcs: &[FuncEntry<'_>], traps: &mut [(u32, TrapCode)]) -> CodeTables {
        traps.sort_unstable_by_key(|&(offset, _)| offset);
        let npairs: usize = funcs.iter().map(|f| f.address_map.len()).sum();
        let mut out =
            Vec::with_capacity(HEADER + FUNC * funcs.len() + PAIR * npairs + 5 * traps.len());
        for n in [funcs.len(), npairs, traps.len()] {
            out.extend_from_slice(&(n as u32).to_le_bytes());
        }
        let mut map_start = 0u32;
        for f in funcs {
            let map_len = f.address_map.len() as u32;
            for w in [f.start, f.len, map_start, map_len] {
                out.extend_from_slice(&w.to_le_bytes());
            }
            map_start += map_len;
        }
        for f in funcs {
            for &(code, wasm) in f.address_map {
                out.extend_from_slice(&code.to_le_bytes());
                out.extend_from_slice(&wasm.to_le_bytes());
            }
        }
        for &(offset, _) in traps.iter() {
            out.extend_from_slice(&offset.to_le_bytes());
        }
        out.extend(traps.iter().map(|&(_, code)| code as u8));
        CodeTables {
            bytes: Bytes::Owned(out.into_boxed_slice()),
            nfuncs: funcs.len(),
            npairs,
            ntraps: traps.len(),
        }
    }

    /// A block stored by a precompiled module: a copy of `bytes`, or, if
    /// they lie in `file`'s bytes, those bytes read in place.
    pub(crate) fn load(
        bytes: &[u8],
        file: Option<&Arc<ArtifactFile>>,
    ) -> Result<CodeTables, String> {
        let (nfuncs, npairs, ntraps) = shape(bytes)?;
        let mapped = file.and_then(|file| {
            let whole = file.bytes().as_ptr_range();
            let inside = whole.start <= bytes.as_ptr() && bytes.as_ptr_range().end <= whole.end;
            inside.then(|| Bytes::Mapped {
                file: file.clone(),
                start: bytes.as_ptr() as usize - whole.start as usize,
                len: bytes.len(),
            })
        });
        let tables = CodeTables {
            bytes: mapped.unwrap_or_else(|| Bytes::Owned(bytes.into())),
            nfuncs,
            npairs,
            ntraps,
        };
        for i in 0..nfuncs {
            let (map_start, map_len) = tables.map_range(i);
            if map_start
                .checked_add(map_len)
                .is_none_or(|end| end > npairs)
            {
                return Err(format!(
                    "the address map of function {i} lies outside the map"
                ));
            }
        }
        Ok(tables)
    }

    /// Whether the block is read in place from a file.
    #[cfg(test)]
    pub(crate) fn is_mapped(&self) -> bool {
        matches!(self.bytes, Bytes::Mapped { .. })
    }

    /// The whole block.
    pub(crate) fn bytes(&self) -> &[u8] {
        match &self.bytes {
            Bytes::Owned(bytes) => bytes,
            Bytes::Mapped { file, start, len } => &file.bytes()[*start..*start + *len],
        }
    }

    /// Number of function bodies.
    pub(crate) fn num_funcs(&self) -> usize {
        self.nfuncs
    }

    /// Text offset and length of function `index`'s body.
    ///
    /// # Panics
    ///
    /// If there is no such function.
    pub(crate) fn func(&self, index: usize) -> (u32, u32) {
        assert!(index < self.nfuncs, "function {index} of {}", self.nfuncs);
        let at = HEADER + FUNC * index;
        let bytes = self.bytes();
        (word(bytes, at), word(bytes, at + 4))
    }

    fn map_range(&self, index: usize) -> (usize, usize) {
        let at = HEADER + FUNC * index + 8;
        let bytes = self.bytes();
        (word(bytes, at) as usize, word(bytes, at + 4) as usize)
    }

    /// The defined function whose body holds text offset `offset`, and
    /// the Wasm offset of the instruction there (if its map covers it).
    pub(crate) fn lookup_frame(&self, offset: u32) -> Option<(DefinedFuncIndex, Option<u32>)> {
        let i = partition_point(self.nfuncs, |i| self.func(i).0 <= offset).checked_sub(1)?;
        let (start, len) = self.func(i);
        let rel = offset.checked_sub(start)?;
        if rel >= len {
            return None;
        }
        let (map_start, map_len) = self.map_range(i);
        let pairs = HEADER + FUNC * self.nfuncs + PAIR * map_start;
        let bytes = self.bytes();
        let j = partition_point(map_len, |j| word(bytes, pairs + PAIR * j) <= rel);
        let wasm = j.checked_sub(1).map(|j| word(bytes, pairs + PAIR * j + 4));
        Some((DefinedFuncIndex::new(i), wasm))
    }

    /// The trap code of the instruction at text offset `offset`, if it is a
    /// trap site.
    pub(crate) fn lookup_trap(&self, offset: u32) -> Option<TrapCode> {
        let sites = HEADER + FUNC * self.nfuncs + PAIR * self.npairs;
        let codes = sites + 4 * self.ntraps;
        let bytes = self.bytes();
        let i = partition_point(self.ntraps, |i| word(bytes, sites + 4 * i) < offset);
        if i < self.ntraps && word(bytes, sites + 4 * i) == offset {
            TrapCode::from_u8(bytes[codes + i])
        } else {
            None
        }
    }

    /// Every trap site's text offset.
    #[cfg(test)]
    pub(crate) fn trap_offsets(&self) -> impl Iterator<Item = u32> + '_ {
        let sites = HEADER + FUNC * self.nfuncs + PAIR * self.npairs;
        let bytes = self.bytes();
        (0..self.ntraps).map(move |i| word(bytes, sites + 4 * i))
    }
}

/// The counts of a block, if `bytes` is exactly one.
fn shape(bytes: &[u8]) -> Result<(usize, usize, usize), String> {
    if bytes.len() < HEADER {
        return Err(format!(
            "a code table of {} bytes has no header",
            bytes.len()
        ));
    }
    let [nfuncs, npairs, ntraps] = [0, 4, 8].map(|at| word(bytes, at) as usize);
    let expected = (FUNC as u64 * nfuncs as u64)
        + (PAIR as u64 * npairs as u64)
        + 5 * ntraps as u64
        + HEADER as u64;
    if expected != bytes.len() as u64 {
        return Err(format!(
            "code tables of {} bytes for {nfuncs} functions, {npairs} address pairs and {ntraps} trap sites",
            bytes.len()
        ));
    }
    Ok((nfuncs, npairs, ntraps))
}

/// The first index in `0..len` for which `pred` is false (`pred` must be
/// true, then false, over the range), by binary search.
fn partition_point(len: usize, pred: impl Fn(usize) -> bool) -> usize {
    let (mut lo, mut hi) = (0, len);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if pred(mid) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    lo
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> CodeTables {
        let funcs = [
            FuncEntry {
                start: 0,
                len: 16,
                address_map: &[(0, 100), (4, 104), (10, 110)],
            },
            FuncEntry {
                start: 32,
                len: 8,
                address_map: &[],
            },
            FuncEntry {
                start: 48,
                len: 20,
                address_map: &[(2, 200)],
            },
        ];
        let mut traps = [
            (50, TrapCode::IntegerDivisionByZero),
            (5, TrapCode::UnreachableCodeReached),
            (33, TrapCode::StackOverflow),
        ];
        CodeTables::build(&funcs, &mut traps)
    }

    #[test]
    fn lookups_answer_from_the_block() {
        let t = sample();
        assert_eq!(t.num_funcs(), 3);
        assert_eq!(t.func(2), (48, 20));
        let frame = |o| t.lookup_frame(o).map(|(f, w)| (f.index(), w));
        assert_eq!(frame(0), Some((0, Some(100))));
        assert_eq!(frame(9), Some((0, Some(104))));
        assert_eq!(frame(15), Some((0, Some(110))));
        assert_eq!(frame(16), None, "between bodies");
        assert_eq!(frame(33), Some((1, None)), "no address map");
        assert_eq!(frame(49), Some((2, None)), "before the first pair");
        assert_eq!(frame(50), Some((2, Some(200))));
        assert_eq!(frame(68), None);
        assert_eq!(t.lookup_trap(5), Some(TrapCode::UnreachableCodeReached));
        assert_eq!(t.lookup_trap(33), Some(TrapCode::StackOverflow));
        assert_eq!(t.lookup_trap(50), Some(TrapCode::IntegerDivisionByZero));
        assert_eq!(t.lookup_trap(6), None);
        assert_eq!(t.trap_offsets().collect::<Vec<_>>(), [5, 33, 50]);
    }

    #[test]
    fn loaded_blocks_are_checked_for_shape() {
        let t = sample();
        let copy = CodeTables::load(t.bytes(), None).unwrap();
        assert_eq!(copy.bytes(), t.bytes());
        assert_eq!(copy.lookup_trap(33), Some(TrapCode::StackOverflow));
        let bytes = t.bytes();
        assert!(CodeTables::load(&bytes[..bytes.len() - 1], None).is_err());
        assert!(CodeTables::load(&bytes[..4], None).is_err());
        let mut bad_map = bytes.to_vec();
        // Function 2's map length (its record's last word) now runs past
        // the four pairs.
        let at = HEADER + FUNC * 2 + 12;
        bad_map[at..at + 4].copy_from_slice(&9u32.to_le_bytes());
        assert!(CodeTables::load(&bad_map, None).is_err());
        let mut huge = bytes.to_vec();
        huge[..4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(CodeTables::load(&huge, None).is_err());
    }
}
