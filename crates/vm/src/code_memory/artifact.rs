//! Linked code in the form a precompiled module stores it, and back: a
//! [`CodeLayout`] (where everything sits in the text, the trap table, the
//! address maps, the position-dependent relocations) beside the text bytes
//! themselves, which [`LinkedCode::from_layout`] maps from a file (copy on
//! write: pages nothing writes stay shared with the page cache) or copies
//! from memory, relocates, and makes executable, as linking does.
//!
//! Linked text is position-independent except for the absolute-address
//! fields linking recorded (`AbsReloc`): calls between functions and to
//! trampolines are PC-relative within the text. So loading writes only
//! those fields, usually none, and the text's pages stay the file's.
//!
//! A layout is checked against its module and text before anything is
//! mapped: every offset code is entered at, and every field written, lies in
//! the text. The artifact's checksum (in `tandem-store`) catches damage;
//! these checks make sure that a layout that slipped through still cannot
//! make loading write or jump outside the text.

use super::tables::CodeTables;
use super::{AbsReloc, LinkedCode, registry};
use crate::VmError;
use crate::mmap::Mmap;
use serde::{Deserialize, Serialize};
use std::os::fd::AsFd;
use std::path::Path;
use std::sync::Arc;
use tandem_environ::{Libcall, ModuleInfo};

/// Everything of a [`LinkedCode`] but its text and its module, as a
/// precompiled module stores it (with `serde`). The lookup tables (function
/// bodies, address maps, trap sites) are one block of bytes that loading
/// reads in place from the module's file (see `tables.rs`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CodeLayout<'a> {
    /// Length of the text in bytes (whole pages of the linking host).
    text_len: u64,
    #[serde(borrow)]
    tables: &'a [u8],
    array_to_wasm: Vec<Option<u32>>,
    wasm_to_array: Vec<u32>,
    wasm_to_array_of_type: Vec<u32>,
    libcall_trampolines: Vec<(Libcall, u32)>,
    abs_relocs: Vec<AbsReloc>,
}

impl CodeLayout<'_> {
    /// Length of the text this layout describes, in bytes.
    pub fn text_len(&self) -> u64 {
        self.text_len
    }

    /// Checks that everything code is entered at or written by loading lies
    /// in a text of `text_len` bytes, and that the layout fits `module`.
    /// (Trap sites and address maps need no check: a wrong entry makes a
    /// lookup answer wrongly, never read outside the tables.)
    fn check(&self, tables: &CodeTables, module: &ModuleInfo) -> Result<(), String> {
        let text_len = self.text_len;
        let inside = |what: &str, offset: u32, len: u64| {
            if u64::from(offset) + len <= text_len {
                Ok(())
            } else {
                Err(format!(
                    "{what} at {offset:#x} (+{len}) lies outside the {text_len}-byte text"
                ))
            }
        };
        let shape = |what: &str, expected: usize, found: usize| {
            if expected == found {
                Ok(())
            } else {
                Err(format!("{found} {what}, the module needs {expected}"))
            }
        };
        let nfuncs = module.num_defined_funcs();
        shape("function bodies", nfuncs, tables.num_funcs())?;
        shape("array-to-Wasm slots", nfuncs, self.array_to_wasm.len())?;
        shape(
            "type-to-trampoline slots",
            module.types.len(),
            self.wasm_to_array_of_type.len(),
        )?;
        let mut end = 0u64;
        for i in 0..tables.num_funcs() {
            let (start, len) = tables.func(i);
            inside("a function body", start, u64::from(len))?;
            if u64::from(start) < end {
                return Err(format!("function bodies overlap at {start:#x}"));
            }
            end = u64::from(start) + u64::from(len);
        }
        for &start in self.array_to_wasm.iter().flatten() {
            inside("an array-to-Wasm entry", start, 1)?;
        }
        for &start in &self.wasm_to_array {
            inside("a Wasm-to-array trampoline", start, 1)?;
        }
        if let Some(&slot) = self
            .wasm_to_array_of_type
            .iter()
            .find(|&&slot| slot as usize >= self.wasm_to_array.len())
        {
            return Err(format!(
                "a type uses Wasm-to-array trampoline {slot} of {}",
                self.wasm_to_array.len()
            ));
        }
        for &(_, start) in &self.libcall_trampolines {
            inside("a libcall trampoline", start, 1)?;
        }
        for reloc in &self.abs_relocs {
            inside("a relocated field", reloc.field, 8)?;
            inside("a relocation target", reloc.target, 0)?;
        }
        Ok(())
    }
}

/// Where the text of a precompiled module is.
#[derive(Clone, Copy, Debug)]
pub enum Text<'a> {
    /// Bytes in memory, copied into fresh code memory.
    Bytes(&'a [u8]),
    /// The bytes at `offset` of an opened artifact file, mapped copy on
    /// write where `offset` is a multiple of the page size (else copied).
    /// Lookup tables that lie in the file's bytes are read there in place
    /// (the code keeps the file open).
    File {
        /// The file.
        file: &'a Arc<ArtifactFile>,
        /// Where the text starts in it.
        offset: u64,
    },
}

/// A precompiled-module file opened for loading: the whole file mapped
/// read-only, so reading its header, metadata and checksum copies nothing,
/// and its text can be mapped again as code.
#[derive(Debug)]
pub struct ArtifactFile {
    file: std::fs::File,
    map: Mmap,
    len: usize,
}

impl ArtifactFile {
    /// Opens and maps the file at `path`.
    ///
    /// # Safety
    ///
    /// The file must not change or shrink while this value or code mapped
    /// from it ([`LinkedCode::from_layout`] with [`Text::File`]) lives:
    /// reading a page past a shrunk end raises `SIGBUS`, and a change shows
    /// through in code that runs.
    pub unsafe fn open(path: &Path) -> std::io::Result<ArtifactFile> {
        let file = std::fs::File::open(path)?;
        let len = usize::try_from(file.metadata()?.len())
            .map_err(|_| std::io::Error::from(std::io::ErrorKind::FileTooLarge))?;
        // SAFETY: the file is `len` bytes long; the caller keeps it so.
        let map = unsafe { Mmap::map_file(file.as_fd(), 0, len, false) }
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        Ok(ArtifactFile { file, map, len })
    }

    /// The open file.
    pub(crate) fn fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.file.as_fd()
    }

    /// The file's bytes.
    pub fn bytes(&self) -> &[u8] {
        if self.len == 0 {
            return &[];
        }
        // SAFETY: the mapping is readable and covers `len` bytes (rounded up
        // to pages); the caller of `open` keeps the file from changing.
        unsafe { std::slice::from_raw_parts(self.map.as_ptr(), self.len) }
    }
}

impl LinkedCode {
    /// The layout of this code, and its text, to store in a precompiled
    /// module.
    pub fn to_layout(&self) -> (CodeLayout<'_>, &[u8]) {
        let text = if self.mmap.len() == 0 {
            &[][..]
        } else {
            // SAFETY: the whole mapping is readable (read+execute) and
            // never written again after linking.
            unsafe { std::slice::from_raw_parts(self.mmap.as_ptr(), self.mmap.len()) }
        };
        let layout = CodeLayout {
            text_len: text.len() as u64,
            tables: self.tables.bytes(),
            array_to_wasm: self.array_to_wasm.clone(),
            wasm_to_array: self.wasm_to_array.clone(),
            wasm_to_array_of_type: self.wasm_to_array_of_type.clone(),
            libcall_trampolines: self.libcall_trampolines.clone(),
            abs_relocs: self.abs_relocs.clone(),
        };
        (layout, text)
    }

    /// Rebuilds linked code of `module` from a stored layout and its text:
    /// maps or copies the text, redoes its absolute-address relocations,
    /// makes it executable and registers it for PC lookups.
    ///
    /// # Errors
    ///
    /// [`VmError::Artifact`] if the layout does not fit the module or the
    /// text; [`VmError::Mmap`] if the text cannot be mapped.
    ///
    /// # Safety
    ///
    /// The text must be code a Tandem backend compiled for `module` and
    /// linked into this layout, with the same tunables and for a CPU like
    /// this one (a precompiled module's header records all of that): the
    /// code will run.
    pub unsafe fn from_layout(
        layout: CodeLayout<'_>,
        text: Text<'_>,
        module: Arc<ModuleInfo>,
    ) -> Result<Arc<LinkedCode>, VmError> {
        let file = match text {
            Text::File { file, .. } => Some(file),
            Text::Bytes(_) => None,
        };
        let tables = CodeTables::load(layout.tables, file).map_err(VmError::Artifact)?;
        layout.check(&tables, &module).map_err(VmError::Artifact)?;
        let len = usize::try_from(layout.text_len)
            .map_err(|_| VmError::Artifact("the text is too large".into()))?;
        let page = crate::mmap::page_size();
        let mut mmap = match text {
            Text::File { file, offset }
                if offset.is_multiple_of(page as u64)
                    && offset
                        .checked_add(layout.text_len)
                        .is_some_and(|end| end <= file.len as u64) =>
            {
                // SAFETY: the text lies in the file (checked just above),
                // and the caller of `ArtifactFile::open` keeps the file
                // intact while the code lives.
                unsafe { Mmap::map_file(file.file.as_fd(), offset, len, true)? }
            }
            Text::File { file, offset } => copy_text(file.bytes(), offset, len)?,
            Text::Bytes(bytes) => copy_text(bytes, 0, len)?,
        };
        let text = mmap.as_mut_ptr();
        for reloc in &layout.abs_relocs {
            let value = (text as i64)
                .wrapping_add(i64::from(reloc.target))
                .wrapping_add(reloc.addend);
            // SAFETY: `check` placed the 8-byte field inside the text, which
            // the fresh private mapping covers read+write.
            unsafe {
                text.add(reloc.field as usize)
                    .cast::<[u8; 8]>()
                    .write_unaligned(value.to_le_bytes())
            };
        }
        let mapped = mmap.len();
        mmap.make_executable(0, mapped)?;
        let code = Arc::new(LinkedCode {
            mmap,
            module,
            tables,
            array_to_wasm: layout.array_to_wasm,
            wasm_to_array: layout.wasm_to_array,
            wasm_to_array_of_type: layout.wasm_to_array_of_type,
            libcall_trampolines: layout.libcall_trampolines,
            abs_relocs: layout.abs_relocs,
        });
        registry::register(&code);
        Ok(code)
    }
}

/// `len` bytes of `bytes` from `offset`, in a fresh read+write mapping.
fn copy_text(bytes: &[u8], offset: u64, len: usize) -> Result<Mmap, VmError> {
    let source = usize::try_from(offset)
        .ok()
        .and_then(|start| bytes.get(start..start.checked_add(len)?))
        .ok_or_else(|| {
            VmError::Artifact(format!(
                "the text ({len} bytes at {offset}) lies outside the {} bytes given",
                bytes.len()
            ))
        })?;
    let mut mmap = Mmap::accessible(len)?;
    // SAFETY: the fresh mapping holds at least `len` writable bytes and
    // cannot overlap `source`.
    unsafe { std::ptr::copy_nonoverlapping(source.as_ptr(), mmap.as_mut_ptr(), len) };
    Ok(mmap)
}

#[cfg(test)]
mod tests {
    use super::super::testing::{Asm, TestFunc, test_module};
    use super::*;
    use tandem_codegen_api::{CompiledFunction, RelocKind, RelocTarget, Relocation};
    use tandem_environ::DefinedFuncIndex;

    /// A module whose function 1 loads function 0's absolute address and
    /// whose function 2 calls function 0 (PC-relative).
    fn linked() -> Arc<LinkedCode> {
        let ret_7 = Asm::new().prologue().mov_eax(7).epilogue().finish();
        let mut movabs = CompiledFunction {
            code: vec![0x48, 0xB8, 0, 0, 0, 0, 0, 0, 0, 0, 0xC3],
            alignment: 16,
            ..CompiledFunction::default()
        };
        movabs.relocs.push(Relocation {
            offset: 2,
            kind: RelocKind::Abs8,
            target: RelocTarget::Func(DefinedFuncIndex::new(0)),
            addend: 3,
        });
        let caller = Asm::new()
            .prologue()
            .call(RelocTarget::Func(DefinedFuncIndex::new(0)))
            .epilogue()
            .finish();
        let funcs = vec![
            TestFunc {
                name: "seven",
                body: ret_7,
                entry: false,
            },
            TestFunc {
                name: "address",
                body: movabs,
                entry: true,
            },
            TestFunc {
                name: "caller",
                body: caller,
                entry: true,
            },
        ];
        let (compiled, module) = test_module(funcs, &[]);
        LinkedCode::link(&compiled, module).unwrap()
    }

    fn entry_result(code: &LinkedCode, func: usize) -> i64 {
        super::super::tests::call_entry(code.array_to_wasm(DefinedFuncIndex::new(func)).unwrap())
    }

    #[test]
    fn a_copied_layout_runs_and_redoes_absolute_addresses() {
        let code = linked();
        let (layout, text) = code.to_layout();
        let text = text.to_vec();
        // SAFETY: the text and layout come from linking this module.
        let loaded = unsafe {
            LinkedCode::from_layout(layout.clone(), Text::Bytes(&text), code.module().clone())
        }
        .unwrap();
        assert_ne!(loaded.text_range(), code.text_range());
        assert_eq!(
            entry_result(&loaded, 2),
            7,
            "PC-relative calls need no fix-up"
        );
        let seven = loaded.func_body(DefinedFuncIndex::new(0)) as i64;
        assert_eq!(entry_result(&loaded, 1), seven + 3);
        assert_eq!(loaded.to_layout().0, layout);
        assert_eq!(
            super::super::lookup_code(seven as usize).map(|c| c.text_range()),
            Some(loaded.text_range()),
            "registered for PC lookups"
        );
    }

    #[test]
    fn a_file_text_is_mapped_and_its_tables_read_in_place() {
        let code = linked();
        let (layout, text) = code.to_layout();
        let page = crate::mmap::page_size();
        let mut bytes = layout.tables.to_vec();
        bytes.resize(page, 0);
        bytes.extend_from_slice(text);
        let path = std::env::temp_dir().join(format!("tandem-vm-artifact-{}", std::process::id()));
        std::fs::write(&path, &bytes).unwrap();
        // SAFETY: the test owns the file and leaves it alone until the end.
        let file = Arc::new(unsafe { ArtifactFile::open(&path) }.unwrap());
        assert_eq!(file.bytes(), &bytes[..]);
        let layout = CodeLayout {
            tables: &file.bytes()[..layout.tables.len()],
            ..layout
        };
        let text = Text::File {
            file: &file,
            offset: page as u64,
        };
        // SAFETY: as above.
        let loaded =
            unsafe { LinkedCode::from_layout(layout, text, code.module().clone()) }.unwrap();
        assert!(loaded.tables.is_mapped());
        drop(file);
        std::fs::remove_file(&path).unwrap();
        let seven = loaded.func_body(DefinedFuncIndex::new(0)) as i64;
        assert_eq!(entry_result(&loaded, 1), seven + 3);
        assert_eq!(entry_result(&loaded, 2), 7);
        let (func, _) = loaded.lookup_frame(seven as usize).unwrap();
        assert_eq!(func, DefinedFuncIndex::new(0));
    }

    #[test]
    fn layouts_survive_postcard() {
        let code = linked();
        let (layout, _) = code.to_layout();
        let bytes = postcard::to_allocvec(&layout).unwrap();
        assert_eq!(postcard::from_bytes::<CodeLayout>(&bytes).unwrap(), layout);
    }

    #[test]
    fn layouts_pointing_outside_the_text_are_refused() {
        let code = linked();
        let module = code.module().clone();
        let (layout, text) = code.to_layout();
        let text = text.to_vec();
        let len = layout.text_len as u32;
        // Function `i`'s record in the tables: start, then length.
        let func = |i: usize| 12 + 16 * i;
        let table = |edit: &dyn Fn(&mut Vec<u8>)| {
            let mut tables = layout.tables.to_vec();
            edit(&mut tables);
            tables
        };
        let word = |tables: &mut Vec<u8>, at: usize, value: u32| {
            tables[at..at + 4].copy_from_slice(&value.to_le_bytes())
        };
        let long_body = table(&|t| word(t, func(2) + 4, len));
        let overlap = table(&|t| {
            let first = t[func(0)..func(0) + 4].to_vec();
            t[func(1)..func(1) + 4].copy_from_slice(&first)
        });
        let short = table(&|t| word(t, 0, 2));
        type Change<'a> = Box<dyn Fn(&mut CodeLayout<'a>) + 'a>;
        let cases: Vec<(&str, Change<'_>)> = vec![
            ("function body", Box::new(|l| l.tables = &long_body)),
            ("overlap", Box::new(|l| l.tables = &overlap)),
            ("table shape", Box::new(|l| l.tables = &short)),
            ("entry", Box::new(move |l| l.array_to_wasm[1] = Some(len))),
            (
                "trampoline slot",
                Box::new(|l| l.wasm_to_array_of_type[0] = 99),
            ),
            (
                "relocated field",
                Box::new(move |l| l.abs_relocs[0].field = len - 4),
            ),
            ("text length", Box::new(|l| l.text_len = 1 << 40)),
            (
                "needs",
                Box::new(|l| {
                    l.array_to_wasm.pop();
                }),
            ),
        ];
        for (what, change) in cases {
            let mut bad = layout.clone();
            change(&mut bad);
            // SAFETY: refused before anything is mapped or run.
            let err = unsafe { LinkedCode::from_layout(bad, Text::Bytes(&text), module.clone()) }
                .unwrap_err();
            assert!(matches!(err, VmError::Artifact(_)), "{what}: {err}");
        }
    }
}
