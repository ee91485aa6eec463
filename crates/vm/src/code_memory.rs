//! Linking a [`CompiledModule`] into executable memory ([`LinkedCode`]) and
//! the process-global registry that maps a program counter back to the code
//! that contains it (`lookup_code`).
//!
//! Linking lays every artifact out in one mapping (function bodies first,
//! then array-to-Wasm entries, Wasm-to-array trampolines and libcall
//! trampolines), patches relocations while the mapping is read+write, then
//! switches it to read+execute. The trap tables and address maps are merged
//! into text-relative tables so the signal handler and the frame walker can
//! answer "what is at this PC" with a binary search.

use crate::VmError;
use crate::mmap::Mmap;
use crate::vmcontext::ArrayCallFn;
use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::{Arc, PoisonError, RwLock, Weak};
use tandem_codegen_api::{CompiledFunction, CompiledModule, RelocKind, RelocTarget, Relocation};
use tandem_environ::{DefinedFuncIndex, Libcall, ModuleInfo, TrapCode, TypeIndex};

pub use artifact::{ArtifactFile, CodeLayout, Text};

mod artifact;
mod tables;
#[cfg(test)]
pub(crate) mod testing;
#[cfg(test)]
mod tests;

/// Why a [`CompiledModule`] could not be linked.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    /// A relocation names a function or libcall trampoline the module lacks.
    #[error("relocation at offset {offset:#x} of {piece} names a missing target {target:?}")]
    MissingTarget {
        /// Which artifact holds the relocation.
        piece: Artifact,
        /// Offset of the patched field in that artifact.
        offset: u32,
        /// The unresolvable target.
        target: RelocTarget,
    },
    /// A `rel32` relocation cannot reach its target.
    #[error("relocation at offset {offset:#x} of {piece} cannot reach {target:?} with 32 bits")]
    OutOfRange {
        /// Which artifact holds the relocation.
        piece: Artifact,
        /// Offset of the patched field.
        offset: u32,
        /// The target.
        target: RelocTarget,
    },
    /// A relocation or trap site lies outside its artifact's code.
    #[error("{what} at offset {offset:#x} lies outside the {len} bytes of {piece}")]
    OutsideCode {
        /// "relocation" or "trap site".
        what: &'static str,
        /// Which artifact.
        piece: Artifact,
        /// The offending offset.
        offset: u32,
        /// The artifact's code length.
        len: usize,
    },
    /// An artifact asks for an alignment that is not a power of two or
    /// larger than a page.
    #[error("{piece} asks for unsupported alignment {alignment}")]
    BadAlignment {
        /// Which artifact.
        piece: Artifact,
        /// The requested alignment.
        alignment: u32,
    },
    /// The compiled module's tables do not match the module.
    #[error("compiled module has {found} {what}, expected {expected}")]
    Shape {
        /// Which table.
        what: &'static str,
        /// What the module implies.
        expected: usize,
        /// What the compiled module has.
        found: usize,
    },
    /// The code does not fit in 4 GiB.
    #[error("compiled code is too large ({0} bytes)")]
    TooLarge(usize),
}

/// Minimum alignment of every artifact's start.
const MIN_ALIGN: u32 = 16;

/// A module's code, linked and executable, registered for PC lookups until
/// dropped.
#[derive(Debug)]
pub struct LinkedCode {
    mmap: Mmap,
    module: Arc<ModuleInfo>,
    /// Function bodies, address maps and trap sites.
    tables: tables::CodeTables,
    array_to_wasm: Vec<Option<u32>>,
    wasm_to_array: Vec<u32>,
    wasm_to_array_of_type: Vec<u32>,
    libcall_trampolines: Vec<(Libcall, u32)>,
    /// The relocations whose value depends on where the text is (absolute
    /// addresses), to redo when the text is loaded elsewhere. The others
    /// are PC-relative between places in the text, so the linked bytes stay
    /// right wherever the text goes.
    abs_relocs: Vec<AbsReloc>,
}

/// An absolute-address field of the text: `text + target + addend` goes
/// at text offset `field`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
struct AbsReloc {
    field: u32,
    target: u32,
    addend: i64,
}

/// One artifact of a [`CompiledModule`], named in [`LinkError`]s.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Artifact {
    /// The body of a defined function.
    Func(DefinedFuncIndex),
    /// The array-to-Wasm entry of a defined function.
    ArrayToWasm(DefinedFuncIndex),
    /// A Wasm-to-array trampoline, by its slot.
    WasmToArray(u32),
    /// A libcall trampoline.
    LibcallTrampoline(Libcall),
}

impl std::fmt::Display for Artifact {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Artifact::Func(i) => write!(f, "function body {}", i.as_u32()),
            Artifact::ArrayToWasm(i) => write!(f, "array-to-Wasm entry {}", i.as_u32()),
            Artifact::WasmToArray(i) => write!(f, "Wasm-to-array trampoline {i}"),
            Artifact::LibcallTrampoline(l) => write!(f, "libcall trampoline {}", l.name()),
        }
    }
}

/// One artifact to place.
struct Piece<'a> {
    name: Artifact,
    func: &'a CompiledFunction,
}

fn check_shape(what: &'static str, expected: usize, found: usize) -> Result<(), LinkError> {
    if expected == found {
        Ok(())
    } else {
        Err(LinkError::Shape {
            what,
            expected,
            found,
        })
    }
}

impl LinkedCode {
    /// Links `compiled` (the code of `module`) into executable memory and
    /// registers it for PC lookups.
    pub fn link(
        compiled: &CompiledModule,
        module: Arc<ModuleInfo>,
    ) -> Result<Arc<LinkedCode>, VmError> {
        let nfuncs = module.num_defined_funcs();
        check_shape("function bodies", nfuncs, compiled.funcs.len())?;
        check_shape("array-to-Wasm slots", nfuncs, compiled.array_to_wasm.len())?;
        check_shape(
            "type-to-trampoline slots",
            module.types.len(),
            compiled.wasm_to_array_of_type.len(),
        )?;
        if let Some(&bad) = compiled
            .wasm_to_array_of_type
            .iter()
            .find(|&&slot| slot as usize >= compiled.wasm_to_array.len())
        {
            return Err(LinkError::Shape {
                what: "Wasm-to-array trampolines",
                expected: bad as usize + 1,
                found: compiled.wasm_to_array.len(),
            }
            .into());
        }

        let pieces = collect_pieces(compiled);
        let (starts, total) = layout(&pieces)?;
        let mut mmap = Mmap::accessible(total)?;
        let text = mmap.as_mut_ptr();
        for (piece, &start) in pieces.iter().zip(&starts) {
            // SAFETY: `layout` placed every piece inside `total` bytes, which
            // the fresh read+write mapping covers; pieces do not overlap.
            unsafe {
                std::ptr::copy_nonoverlapping(
                    piece.func.code.as_ptr(),
                    text.add(start as usize),
                    piece.func.code.len(),
                )
            };
        }

        let mut funcs = Vec::with_capacity(nfuncs);
        let mut traps = Vec::new();
        let mut array_to_wasm = vec![None; nfuncs];
        let mut wasm_to_array = Vec::with_capacity(compiled.wasm_to_array.len());
        let mut libcall_trampolines = Vec::with_capacity(compiled.libcall_trampolines.len());
        for (piece, &start) in pieces.iter().zip(&starts) {
            match piece.name {
                Artifact::Func(_) => funcs.push(tables::FuncEntry {
                    start,
                    len: piece.func.code.len() as u32,
                    address_map: &piece.func.address_map,
                }),
                Artifact::ArrayToWasm(i) => array_to_wasm[i.index()] = Some(start),
                Artifact::WasmToArray(_) => wasm_to_array.push(start),
                Artifact::LibcallTrampoline(l) => libcall_trampolines.push((l, start)),
            }
            for trap in &piece.func.traps {
                if trap.code_offset as usize >= piece.func.code.len() {
                    return Err(LinkError::OutsideCode {
                        what: "trap site",
                        piece: piece.name,
                        offset: trap.code_offset,
                        len: piece.func.code.len(),
                    }
                    .into());
                }
                traps.push((start + trap.code_offset, trap.code));
            }
        }
        let mut code = LinkedCode {
            mmap,
            module,
            tables: tables::CodeTables::build(&funcs, &mut traps),
            array_to_wasm,
            wasm_to_array,
            wasm_to_array_of_type: compiled.wasm_to_array_of_type.clone(),
            libcall_trampolines,
            abs_relocs: Vec::new(),
        };

        for (piece, &start) in pieces.iter().zip(&starts) {
            for reloc in &piece.func.relocs {
                code.apply_reloc(piece, start, reloc)?;
            }
        }
        let len = code.mmap.len();
        code.mmap.make_executable(0, len)?;

        let code = Arc::new(code);
        registry::register(&code);
        Ok(code)
    }

    /// The text offset a relocation target resolves to.
    fn target_offset(&self, target: RelocTarget) -> Option<u32> {
        match target {
            RelocTarget::Func(i) => {
                (i.index() < self.tables.num_funcs()).then(|| self.tables.func(i.index()).0)
            }
            RelocTarget::LibcallTrampoline(l) => self
                .libcall_trampolines
                .iter()
                .find(|(lc, _)| *lc == l)
                .map(|&(_, start)| start),
        }
    }

    /// Patches one relocation of the piece placed at text offset `start`.
    fn apply_reloc(
        &mut self,
        piece: &Piece<'_>,
        start: u32,
        reloc: &Relocation,
    ) -> Result<(), LinkError> {
        let field_len = match reloc.kind {
            RelocKind::X86PcRel4 => 4,
            RelocKind::Abs8 => 8,
        };
        if reloc.offset as usize + field_len > piece.func.code.len() {
            return Err(LinkError::OutsideCode {
                what: "relocation",
                piece: piece.name,
                offset: reloc.offset,
                len: piece.func.code.len(),
            });
        }
        let target = self
            .target_offset(reloc.target)
            .ok_or(LinkError::MissingTarget {
                piece: piece.name,
                offset: reloc.offset,
                target: reloc.target,
            })?;
        let text = self.mmap.as_mut_ptr();
        let target_addr = (text as i64)
            .wrapping_add(i64::from(target))
            .wrapping_add(reloc.addend);
        let field_offset = (start + reloc.offset) as usize;
        // SAFETY: the field lies inside the piece (checked above), which lies
        // inside the mapping, still read+write at this point.
        let field = unsafe { text.add(field_offset) };
        match reloc.kind {
            RelocKind::X86PcRel4 => {
                let delta = target_addr.wrapping_sub(field as i64);
                let delta = i32::try_from(delta).map_err(|_| LinkError::OutOfRange {
                    piece: piece.name,
                    offset: reloc.offset,
                    target: reloc.target,
                })?;
                // SAFETY: 4 writable bytes at `field` (see above).
                unsafe { field.cast::<[u8; 4]>().write_unaligned(delta.to_le_bytes()) };
            }
            RelocKind::Abs8 => {
                // SAFETY: 8 writable bytes at `field` (see above).
                unsafe {
                    field
                        .cast::<[u8; 8]>()
                        .write_unaligned(target_addr.to_le_bytes())
                };
                self.abs_relocs.push(AbsReloc {
                    field: field_offset as u32,
                    target,
                    addend: reloc.addend,
                });
            }
        }
        Ok(())
    }

    fn text_start(&self) -> usize {
        self.mmap.as_ptr() as usize
    }

    fn addr(&self, offset: u32) -> *const u8 {
        self.mmap.as_ptr().wrapping_add(offset as usize)
    }

    /// The module this code belongs to.
    pub fn module(&self) -> &Arc<ModuleInfo> {
        &self.module
    }

    /// The address range of the code.
    pub fn text_range(&self) -> Range<usize> {
        self.mmap.range()
    }

    /// The Wasm-call entry of defined function `index`.
    ///
    /// # Panics
    ///
    /// If `index` is not a defined function of the module.
    pub(crate) fn func_body(&self, index: DefinedFuncIndex) -> *const u8 {
        self.addr(self.tables.func(index.index()).0)
    }

    /// The array-to-Wasm entry of defined function `index`, if it has one
    /// (only escaping functions do).
    pub(crate) fn array_to_wasm(&self, index: DefinedFuncIndex) -> Option<ArrayCallFn> {
        let start = (*self.array_to_wasm.get(index.index())?)?;
        let ptr = self.addr(start);
        // SAFETY: the piece at `start` is an array-to-Wasm entry compiled to
        // the array-call convention, now linked and executable.
        Some(unsafe { std::mem::transmute::<*const u8, ArrayCallFn>(ptr) })
    }

    /// The Wasm-to-array trampoline for signature `ty` of this module, or
    /// null if the module has no such type.
    pub fn wasm_to_array(&self, ty: TypeIndex) -> *const u8 {
        self.wasm_to_array_of_type
            .get(ty.index())
            .map_or(std::ptr::null(), |&slot| {
                self.addr(self.wasm_to_array[slot as usize])
            })
    }

    /// The trap code of the instruction at `pc`, if `pc` is exactly a trap
    /// site of this code.
    pub(crate) fn lookup_trap(&self, pc: usize) -> Option<TrapCode> {
        self.tables.lookup_trap(self.text_offset(pc)?)
    }

    /// The defined function whose body contains `pc`, and the Wasm bytecode
    /// offset of the instruction there (if the address map covers it).
    /// Trampolines are not functions: `None` for them.
    pub(crate) fn lookup_frame(&self, pc: usize) -> Option<(DefinedFuncIndex, Option<u32>)> {
        self.tables.lookup_frame(self.text_offset(pc)?)
    }

    /// `pc` as an offset into the text, if it lies inside it.
    fn text_offset(&self, pc: usize) -> Option<u32> {
        let offset = pc.checked_sub(self.text_start())?;
        if offset < self.mmap.len() {
            u32::try_from(offset).ok()
        } else {
            None
        }
    }
}

impl Drop for LinkedCode {
    fn drop(&mut self) {
        registry::unregister(self.text_range());
    }
}

/// Every artifact of `compiled`, in layout order.
fn collect_pieces(compiled: &CompiledModule) -> Vec<Piece<'_>> {
    let funcs = compiled.funcs.iter().enumerate().map(|(i, func)| Piece {
        name: Artifact::Func(DefinedFuncIndex::new(i)),
        func,
    });
    let entries = compiled
        .array_to_wasm
        .iter()
        .enumerate()
        .filter_map(|(i, f)| {
            f.as_ref().map(|func| Piece {
                name: Artifact::ArrayToWasm(DefinedFuncIndex::new(i)),
                func,
            })
        });
    let to_array = compiled
        .wasm_to_array
        .iter()
        .enumerate()
        .map(|(i, func)| Piece {
            name: Artifact::WasmToArray(i as u32),
            func,
        });
    let libcalls = compiled.libcall_trampolines.iter().map(|(l, func)| Piece {
        name: Artifact::LibcallTrampoline(*l),
        func,
    });
    funcs
        .chain(entries)
        .chain(to_array)
        .chain(libcalls)
        .collect()
}

/// Text offsets of every piece, and the total length.
fn layout(pieces: &[Piece<'_>]) -> Result<(Vec<u32>, usize), LinkError> {
    let page = crate::mmap::page_size();
    let mut starts = Vec::with_capacity(pieces.len());
    let mut offset = 0usize;
    for piece in pieces {
        let alignment = piece.func.alignment.max(MIN_ALIGN);
        if !alignment.is_power_of_two() || alignment as usize > page {
            return Err(LinkError::BadAlignment {
                piece: piece.name,
                alignment: piece.func.alignment,
            });
        }
        offset = offset.next_multiple_of(alignment as usize);
        starts.push(u32::try_from(offset).map_err(|_| LinkError::TooLarge(offset))?);
        offset += piece.func.code.len();
    }
    if u32::try_from(offset).is_err() {
        return Err(LinkError::TooLarge(offset));
    }
    Ok((starts, offset))
}

/// The code registered for `pc`, if any.
///
/// Callable from a signal handler: it takes a read lock and upgrades a
/// `Weak`, and never allocates.
pub(crate) fn lookup_code(pc: usize) -> Option<Arc<LinkedCode>> {
    registry::lookup(pc)
}

/// The process-global map from code ranges to [`LinkedCode`].
mod registry {
    use super::*;

    struct Entry {
        end: usize,
        code: Weak<LinkedCode>,
    }

    /// Start address -> entry. Ranges never overlap (each is its own
    /// mapping).
    static REGISTRY: RwLock<BTreeMap<usize, Entry>> = RwLock::new(BTreeMap::new());

    pub(super) fn register(code: &Arc<LinkedCode>) {
        let range = code.text_range();
        if range.is_empty() {
            return;
        }
        let entry = Entry {
            end: range.end,
            code: Arc::downgrade(code),
        };
        let mut map = REGISTRY.write().unwrap_or_else(PoisonError::into_inner);
        let previous = map.insert(range.start, entry);
        debug_assert!(previous.is_none(), "code registered twice");
    }

    pub(super) fn unregister(range: Range<usize>) {
        if range.is_empty() {
            return;
        }
        let mut map = REGISTRY.write().unwrap_or_else(PoisonError::into_inner);
        map.remove(&range.start);
    }

    pub(super) fn lookup(pc: usize) -> Option<Arc<LinkedCode>> {
        let map = REGISTRY.read().unwrap_or_else(PoisonError::into_inner);
        let (_, entry) = map.range(..=pc).next_back()?;
        if pc < entry.end {
            entry.code.upgrade()
        } else {
            None
        }
    }
}
