//! Copy-on-write memory images: a module's initial memory contents, built
//! once per module in a sealed `memfd`, and mapped privately over the start
//! of each new instance's memory instead of copying the data segments.
//!
//! Copying a data segment writes to a fresh page of the memory's
//! reservation, which costs a page fault (and page-table allocations) at
//! instantiation and their teardown when the instance goes. Mapping the
//! image costs one `mmap` per memory and touches nothing: pages are read
//! from the shared image until the instance writes them, at which point the
//! kernel copies just that page (`MAP_PRIVATE`), so instances never see
//! each other's writes.
//!
//! # When a module gets images
//!
//! Only when applying its data segments is known, from the module alone,
//! to succeed: every active segment targets a memory the module defines,
//! its offset is a constant expression without `global.get`, and it fits in
//! the memory's initial size. Then nothing can trap in the data phase, so
//! mapping every image at its start is indistinguishable from copying the
//! segments in order (later segments overwrite earlier ones in the image
//! too). Anything else (a segment into an imported memory, an offset read
//! from a global, a segment out of bounds, which must trap after the
//! segments before it were applied) keeps the copying path.
//!
//! There is no size threshold: one `mmap` per instance is cheaper than the
//! page fault a copy of even a few bytes causes, and later reads or writes
//! of an image page cost about what they cost on a zero page.

use crate::VmError;
use crate::memory::WASM_PAGE_SIZE;
use std::fs::File;
use std::os::fd::{AsFd, BorrowedFd, FromRawFd, OwnedFd};
use std::os::unix::fs::FileExt;
use tandem_environ::{ConstExpr, ConstOp, DefinedMemoryIndex, ModuleInfo, SegmentMode};

/// The initial contents of one linear memory: `len` bytes at byte `offset`
/// of the memory, held in a sealed memfd. Both are multiples of the host
/// page size, and `len` is not zero.
#[derive(Debug)]
pub struct MemoryImage {
    /// Unique in the process: a pool slot remembers which image it maps.
    id: u64,
    fd: OwnedFd,
    /// Where the image's bytes start in the file (a page multiple).
    file_offset: u64,
    offset: usize,
    len: usize,
}

impl MemoryImage {
    /// The image's process-wide unique number.
    pub(crate) fn id(&self) -> u64 {
        self.id
    }

    /// Where in the memory the image starts (page-aligned).
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// The image's length in bytes (page-aligned, not zero).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Always `false`: empty images are not built.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The file holding the bytes, from [`MemoryImage::file_offset`].
    pub(crate) fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// Where the bytes start in [`MemoryImage::fd`] (a page multiple).
    pub(crate) fn file_offset(&self) -> u64 {
        self.file_offset
    }

    /// The image's bytes, read back from its file.
    ///
    /// # Errors
    ///
    /// If the file cannot be read.
    pub fn read(&self) -> std::io::Result<Vec<u8>> {
        let file = File::from(self.fd.try_clone()?);
        let mut bytes = vec![0; self.len];
        file.read_exact_at(&mut bytes, self.file_offset)?;
        Ok(bytes)
    }

    /// The image of `bytes` at memory offset `offset`, in a fresh sealed
    /// memfd. Both must be whole pages.
    ///
    /// # Errors
    ///
    /// If they are not, or the kernel refuses the memfd.
    pub fn from_bytes(offset: usize, bytes: &[u8]) -> Result<MemoryImage, VmError> {
        let page = crate::mmap::page_size();
        if bytes.is_empty() || !offset.is_multiple_of(page) || !bytes.len().is_multiple_of(page) {
            return Err(VmError::Limit(format!(
                "a memory image of {} bytes at {offset} is not whole pages",
                bytes.len()
            )));
        }
        MemoryImage::build(offset, bytes.len(), std::iter::once((offset, bytes)))
    }

    /// The image of the `len` bytes at `file_offset` of a precompiled
    /// module's file, placed at memory offset `offset`: mapped straight
    /// from the file, nothing copied.
    ///
    /// # Errors
    ///
    /// If the range is not whole pages or lies outside the file.
    ///
    /// # Safety
    ///
    /// As for [`ArtifactFile::open`](crate::code_memory::ArtifactFile::open):
    /// the file must not change or shrink while the image (or a memory
    /// mapping it) lives.
    pub unsafe fn from_artifact(
        file: &crate::code_memory::ArtifactFile,
        file_offset: u64,
        offset: usize,
        len: usize,
    ) -> Result<MemoryImage, VmError> {
        let page = crate::mmap::page_size();
        let aligned = [file_offset as usize, offset, len]
            .iter()
            .all(|n| n.is_multiple_of(page));
        let inside = file_offset
            .checked_add(len as u64)
            .is_some_and(|end| end <= file.bytes().len() as u64);
        if len == 0 || !aligned || !inside {
            return Err(VmError::Artifact(format!(
                "a memory image of {len} bytes at file offset {file_offset} is not whole pages of the file"
            )));
        }
        static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1 << 63);
        Ok(MemoryImage {
            id: NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            fd: file
                .fd()
                .try_clone_to_owned()
                .map_err(|source| VmError::Mmap { size: len, source })?,
            file_offset,
            offset,
            len,
        })
    }

    /// Builds the image of `len` bytes at memory offset `offset` from
    /// `(memory offset, bytes)` writes applied in order.
    fn build<'a>(
        offset: usize,
        len: usize,
        writes: impl Iterator<Item = (usize, &'a [u8])>,
    ) -> Result<MemoryImage, VmError> {
        let io = |source: std::io::Error| VmError::Mmap { size: len, source };
        // SAFETY: `memfd_create` takes a NUL-terminated name and flags; it
        // has no other preconditions.
        let raw = unsafe {
            libc::memfd_create(
                c"tandem-memory-image".as_ptr(),
                libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING,
            )
        };
        if raw < 0 {
            return Err(io(std::io::Error::last_os_error()));
        }
        // SAFETY: `raw` is a fresh descriptor that nothing else owns.
        let file = File::from(unsafe { OwnedFd::from_raw_fd(raw) });
        file.set_len(len as u64).map_err(io)?;
        for (start, run) in coalesce(writes) {
            file.write_all_at(&run, (start - offset) as u64)
                .map_err(io)?;
        }
        let seals =
            libc::F_SEAL_SEAL | libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_WRITE;
        // SAFETY: `F_ADD_SEALS` on a descriptor we own, with an int argument.
        if unsafe { libc::fcntl(raw, libc::F_ADD_SEALS, seals) } < 0 {
            return Err(io(std::io::Error::last_os_error()));
        }
        static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        Ok(MemoryImage {
            id: NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            fd: file.into(),
            file_offset: 0,
            offset,
            len,
        })
    }
}

/// `(memory offset, bytes)` writes applied in order, as a few runs of
/// bytes to write: writes closer than a page share a run (gaps zero-filled),
/// so a module with thousands of small data segments costs a few `pwrite`s,
/// while far-apart segments still leave the file sparse in between.
fn coalesce<'a>(writes: impl Iterator<Item = (usize, &'a [u8])>) -> Vec<(usize, Vec<u8>)> {
    let writes: Vec<(usize, &[u8])> = writes.collect();
    let mut spans: Vec<(usize, usize)> = writes
        .iter()
        .map(|&(at, bytes)| (at, at + bytes.len()))
        .collect();
    spans.sort_unstable();
    let gap = crate::mmap::page_size();
    let mut runs: Vec<(usize, usize)> = Vec::new();
    for (start, end) in spans {
        match runs.last_mut() {
            Some((_, last_end)) if start <= *last_end + gap => *last_end = (*last_end).max(end),
            _ => runs.push((start, end)),
        }
    }
    let mut buffers: Vec<(usize, Vec<u8>)> = runs
        .iter()
        .map(|&(start, end)| (start, vec![0; end - start]))
        .collect();
    for (at, bytes) in writes {
        let run = runs.partition_point(|&(start, _)| start <= at) - 1;
        let (start, buffer) = &mut buffers[run];
        buffer[at - *start..at - *start + bytes.len()].copy_from_slice(bytes);
    }
    buffers
}

/// The images of a module's defined memories, indexed by
/// [`DefinedMemoryIndex`]; `None` for a memory no segment writes.
///
/// Having a `MemoryImages` for a module means its whole data phase can be
/// replaced by mapping them (see the module docs for the conditions).
#[derive(Debug, Default)]
pub struct MemoryImages {
    images: Vec<Option<MemoryImage>>,
}

/// Where one memory's image goes and the segment writes that make it.
struct Plan<'a> {
    offset: usize,
    len: usize,
    writes: Vec<(usize, &'a [u8])>,
}

impl Plan<'_> {
    /// The image's bytes, zeros where no segment writes.
    fn contents(&self) -> Vec<u8> {
        let mut bytes = vec![0; self.len];
        for &(at, data) in &self.writes {
            let at = at - self.offset;
            bytes[at..at + data.len()].copy_from_slice(data);
        }
        bytes
    }
}

/// The image plan of each of `module`'s defined memories, or `None` when
/// its data segments must be copied (see the module docs).
fn plan(module: &ModuleInfo) -> Option<Vec<Option<Plan<'_>>>> {
    let page = crate::mmap::page_size();
    if page == 0 || !(WASM_PAGE_SIZE as usize).is_multiple_of(page) {
        return None;
    }
    let defined = module.num_defined_memories();
    let mut plans: Vec<Option<Plan<'_>>> = (0..defined).map(|_| None).collect();
    // Per defined memory: (lowest start, highest end) of its segments.
    let mut extents: Vec<Option<(usize, usize)>> = vec![None; defined];
    for segment in module.data.iter() {
        let (target, offset) = match &segment.mode {
            SegmentMode::Active { target, offset } => (target, offset),
            SegmentMode::Passive => continue,
            // Its bytes are in images a precompiled module carried; they
            // cannot be rebuilt from the module.
            SegmentMode::Declared => return None,
        };
        let index = module.defined_memory_index(*target)?;
        let ty = module.memories[target.index()];
        if ty.memory64 || ty.shared {
            return None;
        }
        let start = u64::from(constant_i32(offset)?);
        let end = start + segment.data.len() as u64;
        if end > ty.minimum.saturating_mul(WASM_PAGE_SIZE) {
            return None;
        }
        // Both fit in the memory, which fits in the address space (a 32-bit
        // memory is at most 4 GiB).
        let (start, end) = (start as usize, end as usize);
        if start == end {
            continue;
        }
        let extent = &mut extents[index.index()];
        *extent = Some(match *extent {
            None => (start, end),
            Some((lo, hi)) => (lo.min(start), hi.max(end)),
        });
        plans[index.index()]
            .get_or_insert_with(|| Plan {
                offset: 0,
                len: 0,
                writes: Vec::new(),
            })
            .writes
            .push((start, &segment.data[..]));
    }
    for (plan, extent) in plans.iter_mut().zip(extents) {
        if let (Some(plan), Some((lo, hi))) = (plan, extent) {
            // `hi` rounded up stays within the memory, whose size is a
            // multiple of the Wasm page and so of the host's.
            plan.offset = lo - lo % page;
            plan.len = hi.next_multiple_of(page) - plan.offset;
        }
    }
    Some(plans)
}

/// One memory's image as bytes: `(offset in the memory, contents)`.
pub type ImageContents = (usize, Vec<u8>);

impl MemoryImages {
    /// The images of `module`'s memories, or `Ok(None)` when its data
    /// segments must be copied at instantiation (see the module docs).
    /// An error means the kernel refused a memfd; copying still works.
    pub fn new(module: &ModuleInfo) -> Result<Option<MemoryImages>, VmError> {
        let Some(plans) = plan(module) else {
            return Ok(None);
        };
        let images = plans
            .into_iter()
            .map(|plan| {
                plan.map(|plan| MemoryImage::build(plan.offset, plan.len, plan.writes.into_iter()))
                    .transpose()
            })
            .collect::<Result<_, _>>()?;
        Ok(Some(MemoryImages { images }))
    }

    /// What [`MemoryImages::new`] would put in each defined memory's
    /// image, as `(offset in the memory, bytes)`, without making any: for
    /// storing them elsewhere (a precompiled module). `None` under the
    /// same conditions as `new`.
    pub fn contents(module: &ModuleInfo) -> Option<Vec<Option<ImageContents>>> {
        let plans = plan(module)?;
        Some(
            plans
                .iter()
                .map(|plan| plan.as_ref().map(|plan| (plan.offset, plan.contents())))
                .collect(),
        )
    }

    /// Images made elsewhere ([`MemoryImage::from_bytes`],
    /// [`MemoryImage::from_artifact`]), one per defined memory.
    pub fn from_images(images: Vec<Option<MemoryImage>>) -> MemoryImages {
        MemoryImages { images }
    }

    /// The image of defined memory `index`, if any segment writes it.
    pub fn get(&self, index: DefinedMemoryIndex) -> Option<&MemoryImage> {
        self.images.get(index.index())?.as_ref()
    }

    /// Number of defined memories covered (with or without an image).
    pub fn len(&self) -> usize {
        self.images.len()
    }

    /// Whether the module defines no memory.
    pub fn is_empty(&self) -> bool {
        self.images.is_empty()
    }
}

/// The value of an `i32` constant expression that reads no global, or
/// `None` for anything else.
fn constant_i32(expr: &ConstExpr) -> Option<u32> {
    let mut stack: Vec<u32> = Vec::with_capacity(2);
    for op in expr.ops.iter() {
        let value = match *op {
            ConstOp::I32Const(v) => v as u32,
            ConstOp::I32Add | ConstOp::I32Sub | ConstOp::I32Mul => {
                let b = stack.pop()?;
                let a = stack.pop()?;
                match op {
                    ConstOp::I32Add => a.wrapping_add(b),
                    ConstOp::I32Sub => a.wrapping_sub(b),
                    _ => a.wrapping_mul(b),
                }
            }
            _ => return None,
        };
        stack.push(value);
    }
    match stack.as_slice() {
        [value] => Some(*value),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tandem_environ::{DataSegment, GlobalIndex, MemoryIndex, MemoryType};

    fn memory(minimum: u64) -> MemoryType {
        MemoryType {
            minimum,
            maximum: None,
            memory64: false,
            shared: false,
        }
    }

    fn active(memory: u32, offset: ConstExpr, data: &[u8]) -> DataSegment {
        DataSegment {
            mode: SegmentMode::Active {
                target: MemoryIndex::from_u32(memory),
                offset,
            },
            data: data.into(),
        }
    }

    fn at(offset: i32) -> ConstExpr {
        ConstExpr::single(ConstOp::I32Const(offset))
    }

    fn module(memories: &[u64], data: Vec<DataSegment>) -> ModuleInfo {
        ModuleInfo {
            memories: memories.iter().map(|&m| memory(m)).collect(),
            data,
            ..ModuleInfo::default()
        }
    }

    fn contents(image: &MemoryImage) -> Vec<u8> {
        let file = File::from(image.fd.try_clone().unwrap());
        let mut bytes = vec![0; image.len()];
        file.read_exact_at(&mut bytes, 0).unwrap();
        bytes
    }

    #[test]
    fn constant_segments_build_a_page_aligned_image_in_order() {
        let page = crate::mmap::page_size();
        let extended = ConstExpr {
            ops: Box::new([
                ConstOp::I32Const(page as i32),
                ConstOp::I32Const(2),
                ConstOp::I32Add,
            ]),
        };
        let m = module(
            &[1, 2],
            vec![
                active(0, extended, b"abcd"),
                active(0, at(page as i32 + 3), b"XY"),
                active(1, at(0), b""),
            ],
        );
        let images = MemoryImages::new(&m).unwrap().expect("all constant");
        assert_eq!(images.len(), 2);
        let image = images.get(DefinedMemoryIndex::new(0)).unwrap();
        assert_eq!((image.offset(), image.len()), (page, page));
        let bytes = contents(image);
        assert_eq!(&bytes[..8], b"\0\0aXYd\0\0", "later segments win");
        assert!(bytes[8..].iter().all(|&b| b == 0));
        assert!(
            images.get(DefinedMemoryIndex::new(1)).is_none(),
            "empty segments make no image"
        );
    }

    #[test]
    fn no_images_when_a_segment_could_trap_or_depends_on_imports() {
        let global = ConstExpr::single(ConstOp::GlobalGet(GlobalIndex::from_u32(0)));
        let cases = [
            module(&[1], vec![active(0, global, b"x")]),
            module(&[1], vec![active(0, at(65535), b"xy")]),
            module(&[0], vec![active(0, at(1), b"")]),
            module(&[1], vec![active(0, at(-1), b"x")]),
        ];
        for case in &cases {
            assert!(MemoryImages::new(case).unwrap().is_none(), "{case:?}");
        }
        let mut imported = module(&[1], vec![active(0, at(0), b"x")]);
        imported.num_imported_memories = 1;
        assert!(MemoryImages::new(&imported).unwrap().is_none());
    }

    #[test]
    fn nearby_writes_share_a_run_in_order_and_far_ones_do_not() {
        let page = crate::mmap::page_size();
        let far = 10 * page;
        let runs = coalesce(
            [
                (10, &b"abcd"[..]),
                (far, b"far"),
                (12, b"XY"),
                (100, b"z"),
                (8, b"01"),
            ]
            .into_iter(),
        );
        assert_eq!(runs.len(), 2);
        assert_eq!(runs[0].0, 8);
        assert_eq!(&runs[0].1[..6], b"01abXY");
        assert_eq!(runs[0].1[92], b'z');
        assert_eq!(runs[0].1.len(), 93);
        assert_eq!(runs[1], (far, b"far".to_vec()));
        assert!(coalesce(std::iter::empty()).is_empty());
    }

    #[test]
    fn segment_ending_at_the_memory_end_fits() {
        let m = module(&[1], vec![active(0, at(65534), b"zz")]);
        let images = MemoryImages::new(&m).unwrap().unwrap();
        let image = images.get(DefinedMemoryIndex::new(0)).unwrap();
        assert_eq!(image.offset() + image.len(), 65536);
        assert_eq!(&contents(image)[image.len() - 2..], b"zz");
    }
}
