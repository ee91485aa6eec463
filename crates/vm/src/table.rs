//! Tables: growable arrays of pointer-sized references (`*mut VMFuncRef` or
//! externref pointers; null is 0).

use crate::VMTableDefinition;
use crate::limits::{GrowthLimiter, to_usize};
use crate::pool::TableSlot;
use tandem_environ::{RefType, TableType};

/// Most elements a table may have; beyond it growth fails (as the spec
/// allows) instead of exhausting host memory.
pub(crate) const MAX_TABLE_ELEMENTS: u64 = 10_000_000;

/// A table. Like [`crate::memory::LinearMemory`], its definition lives in the
/// owning VMContext or in its own box, and is kept current on growth.
pub struct Table {
    elements: Elements,
    def: *mut VMTableDefinition,
    own_def: Option<Box<VMTableDefinition>>,
    ty: TableType,
}

/// Where a table's elements live.
enum Elements {
    /// On the heap.
    Vec(Vec<*mut u8>),
    /// In a slot of an instance pool (zeroed and given back on drop).
    Pooled(TableSlot),
}

impl std::ops::Deref for Elements {
    type Target = [*mut u8];
    fn deref(&self) -> &[*mut u8] {
        match self {
            Elements::Vec(v) => v,
            Elements::Pooled(slot) => slot.elements(),
        }
    }
}

impl std::ops::DerefMut for Elements {
    fn deref_mut(&mut self) -> &mut [*mut u8] {
        match self {
            Elements::Vec(v) => v,
            Elements::Pooled(slot) => slot.elements_mut(),
        }
    }
}

impl Elements {
    /// Grows to `len` elements of `init`; `false` if there is no room.
    fn grow(&mut self, len: usize, init: *mut u8) -> bool {
        match self {
            Elements::Vec(v) => {
                if v.try_reserve_exact(len - v.len()).is_err() {
                    return false;
                }
                v.resize(len, init);
                true
            }
            Elements::Pooled(slot) => slot.grow(len, init),
        }
    }
}

// SAFETY: as for `LinearMemory`: the store that owns the table moves between
// threads as a whole.
unsafe impl Send for Table {}
// SAFETY: as above.
unsafe impl Sync for Table {}

/// A table access out of bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutOfBounds;

impl Table {
    /// Creates a table of `ty` with every element `init`, writing its
    /// definition to `def` (null: the table owns it).
    ///
    /// # Safety
    ///
    /// A non-null `def` must stay valid for as long as the table lives.
    pub unsafe fn new(ty: TableType, init: *mut u8, def: *mut VMTableDefinition) -> Option<Table> {
        if ty.minimum > MAX_TABLE_ELEMENTS {
            return None;
        }
        let elements = Elements::Vec(vec![init; ty.minimum as usize]);
        // SAFETY: forwarded from the caller.
        Some(unsafe { Self::with_elements(ty, elements, def) })
    }

    /// Creates a table of `ty` with null elements in a pool's table slot
    /// (see [`Table::new`] for `def`), or `None` if the slot is too small.
    ///
    /// # Safety
    ///
    /// As [`Table::new`].
    pub(crate) unsafe fn in_slot(
        ty: TableType,
        mut slot: TableSlot,
        def: *mut VMTableDefinition,
    ) -> Option<Table> {
        if !slot.grow(ty.minimum.try_into().ok()?, std::ptr::null_mut()) {
            return None;
        }
        // SAFETY: forwarded from the caller.
        Some(unsafe { Self::with_elements(ty, Elements::Pooled(slot), def) })
    }

    /// # Safety
    ///
    /// As [`Table::new`].
    unsafe fn with_elements(
        ty: TableType,
        elements: Elements,
        def: *mut VMTableDefinition,
    ) -> Table {
        let mut own_def = None;
        let def = if def.is_null() {
            let boxed = own_def.insert(Box::new(VMTableDefinition {
                base: std::ptr::null_mut(),
                current_elements: 0,
            }));
            &mut **boxed as *mut VMTableDefinition
        } else {
            def
        };
        let mut table = Table {
            elements,
            def,
            own_def,
            ty,
        };
        table.sync();
        table
    }

    fn sync(&mut self) {
        // SAFETY: `def` is valid for the table's life and only it writes there.
        unsafe {
            *self.def = VMTableDefinition {
                base: self.elements.as_mut_ptr(),
                current_elements: self.elements.len(),
            };
        }
    }

    /// Element type.
    pub fn element(&self) -> RefType {
        self.ty.element
    }

    /// The table's type with its current size as minimum.
    pub fn ty(&self) -> TableType {
        TableType {
            minimum: self.elements.len() as u64,
            ..self.ty
        }
    }

    /// Number of elements.
    pub fn size(&self) -> u32 {
        self.elements.len() as u32
    }

    /// Pointer to the definition compiled code reads (for imports).
    pub fn definition(&self) -> *mut VMTableDefinition {
        self.def
    }

    /// Element `index`.
    pub fn get(&self, index: u32) -> Result<*mut u8, OutOfBounds> {
        self.elements
            .get(index as usize)
            .copied()
            .ok_or(OutOfBounds)
    }

    /// Sets element `index`.
    pub fn set(&mut self, index: u32, value: *mut u8) -> Result<(), OutOfBounds> {
        *self.elements.get_mut(index as usize).ok_or(OutOfBounds)? = value;
        Ok(())
    }

    /// Grows by `delta` elements of `init`; returns the old size, or `None`
    /// if the maximum forbids it or `limiter` refuses.
    ///
    /// The limiter is asked only for growth the maximum allows, and not for
    /// a growth by zero elements. `init` is only stored: for an externref
    /// table the caller's handle keeps it alive (see the libcall rules).
    pub fn grow(
        &mut self,
        delta: u32,
        init: *mut u8,
        limiter: Option<&mut dyn GrowthLimiter>,
    ) -> Option<u32> {
        let old = self.size();
        let new = u64::from(old) + u64::from(delta);
        let max = self.ty.maximum.unwrap_or(u64::from(u32::MAX));
        if new > max || new > MAX_TABLE_ELEMENTS {
            return None;
        }
        if delta > 0
            && let Some(limiter) = limiter
            && !limiter.table_growing(old as usize, to_usize(new), self.ty.maximum.map(to_usize))
        {
            return None;
        }
        if !self.elements.grow(new as usize, init) {
            return None;
        }
        self.sync();
        Some(old)
    }

    /// `table.fill`.
    pub fn fill(&mut self, dst: u32, value: *mut u8, len: u32) -> Result<(), OutOfBounds> {
        let range = bounds(dst, len, self.size())?;
        self.elements[range].fill(value);
        Ok(())
    }

    /// Copies `len` elements from `src` in `src_table` (or this table when
    /// `None`) to `dst`, with `memmove` semantics.
    pub(crate) fn copy_within(&mut self, dst: u32, src: u32, len: u32) -> Result<(), OutOfBounds> {
        let size = self.size();
        let src_range = bounds(src, len, size)?;
        bounds(dst, len, size)?;
        self.elements.copy_within(src_range, dst as usize);
        Ok(())
    }

    /// Copies from another table.
    pub fn copy_from(
        &mut self,
        dst: u32,
        src_table: &Table,
        src: u32,
        len: u32,
    ) -> Result<(), OutOfBounds> {
        let src_range = bounds(src, len, src_table.size())?;
        let dst_range = bounds(dst, len, self.size())?;
        self.elements[dst_range].copy_from_slice(&src_table.elements[src_range]);
        Ok(())
    }

    /// Writes `values` at `dst` (`table.init` and element segments).
    pub fn init(&mut self, dst: u32, values: &[*mut u8]) -> Result<(), OutOfBounds> {
        let len = u32::try_from(values.len()).map_err(|_| OutOfBounds)?;
        let range = bounds(dst, len, self.size())?;
        self.elements[range].copy_from_slice(values);
        Ok(())
    }

    /// Every element (for rooting externrefs).
    pub fn elements(&self) -> &[*mut u8] {
        &self.elements
    }
}

/// `start..start+len` if it lies within `size`.
pub(crate) fn bounds(
    start: u32,
    len: u32,
    size: u32,
) -> Result<std::ops::Range<usize>, OutOfBounds> {
    let end = start.checked_add(len).ok_or(OutOfBounds)?;
    if end > size {
        return Err(OutOfBounds);
    }
    Ok(start as usize..end as usize)
}

impl std::fmt::Debug for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Table")
            .field("ty", &self.ty)
            .field("size", &self.elements.len())
            .field("owns_definition", &self.own_def.is_some())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::tests::Caps;

    /// A distinct non-null element value (never dereferenced).
    fn marker(n: usize) -> *mut u8 {
        std::ptr::without_provenance_mut(n)
    }

    fn table(min: u64, max: Option<u64>) -> Table {
        let ty = TableType {
            element: RefType::Func,
            minimum: min,
            maximum: max,
        };
        // SAFETY: a null definition makes the table own it.
        unsafe { Table::new(ty, std::ptr::null_mut(), std::ptr::null_mut()) }.unwrap()
    }

    #[test]
    fn grow_updates_definition_and_respects_maximum() {
        let mut t = table(1, Some(4));
        assert_eq!(t.grow(3, marker(8), None), Some(1));
        assert_eq!(t.grow(1, std::ptr::null_mut(), None), None);
        // SAFETY: the definition lives as long as `t`.
        let def = unsafe { &*t.definition() };
        assert_eq!(def.current_elements, 4);
        assert_eq!(t.get(3), Ok(marker(8)));
        assert_eq!(t.get(4), Err(OutOfBounds));
    }

    #[test]
    fn limiter_is_asked_about_elements() {
        let mut t = table(1, Some(100));
        let mut caps = Caps {
            table_elements: Some(3),
            ..Caps::default()
        };
        assert_eq!(t.grow(3, std::ptr::null_mut(), Some(&mut caps)), None);
        assert_eq!(t.grow(2, std::ptr::null_mut(), Some(&mut caps)), Some(1));
        assert_eq!(t.grow(0, std::ptr::null_mut(), Some(&mut caps)), Some(3));
        assert_eq!(t.grow(200, std::ptr::null_mut(), Some(&mut caps)), None);
        assert_eq!(caps.asked, [(1, 4, Some(100)), (1, 3, Some(100))]);
        assert_eq!(t.size(), 3);
    }

    #[test]
    fn copy_and_fill_check_bounds_before_writing() {
        let mut t = table(4, None);
        assert_eq!(t.fill(3, marker(1), 2), Err(OutOfBounds));
        assert_eq!(t.get(3), Ok(std::ptr::null_mut()));
        t.fill(0, marker(1), 2).unwrap();
        t.copy_within(1, 0, 3).unwrap();
        assert_eq!(t.get(2), Ok(marker(1)));
        assert_eq!(t.copy_within(2, 0, 3), Err(OutOfBounds));
        assert_eq!(t.fill(4, marker(1), 0), Ok(()));
        assert_eq!(t.fill(5, marker(1), 0), Err(OutOfBounds));
    }
}
