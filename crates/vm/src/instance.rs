//! An instance's run-time state: its VMContext (laid out by `VMOffsets`),
//! the memories and tables it defines, and its initialisation (globals,
//! element and data segments).

use crate::code_memory::LinkedCode;
use crate::interrupt::InterruptHook;
use crate::libcalls::BUILTINS;
use crate::limits::GrowthLimiter;
use crate::memory::LinearMemory;
use crate::memory_image::MemoryImages;
use crate::pool::{InstancePool, InstanceSlot};
use crate::table::Table;
use crate::{
    VMFuncRef, VMGlobalDefinition, VMMemoryDefinition, VMStoreContext, VMTableDefinition, VmError,
};
use std::ptr::NonNull;
use std::sync::Arc;
use tandem_environ::{
    ConstExpr, ConstOp, DataIndex, DefinedMemoryIndex, DefinedTableIndex, ElemIndex, ElemItems,
    FuncIndex, GlobalIndex, MemoryIndex, ModuleInfo, SegmentMode, TableIndex, TrapCode, Tunables,
    VMCONTEXT_MAGIC, VMOffsets,
};

/// What an instance imports, in the module's import order per kind.
pub struct InstanceImports<'a> {
    /// Func-refs of imported functions (`wasm_call` may be a hole: it is
    /// filled from this module's Wasm-to-array trampolines).
    pub funcs: &'a [VMFuncRef],
    /// Imported tables.
    pub tables: &'a [*mut Table],
    /// Imported memories.
    pub memories: &'a [*mut LinearMemory],
    /// Imported globals.
    pub globals: &'a [*mut VMGlobalDefinition],
}

/// Why instantiation failed.
#[derive(Debug, thiserror::Error)]
pub enum InstantiateError {
    /// A resource could not be allocated.
    #[error(transparent)]
    Vm(#[from] VmError),
    /// A segment did not fit (the spec's instantiation trap).
    #[error("{0}")]
    Trap(TrapCode),
}

/// Where an instance's VMContext, memories and tables come from.
#[derive(Clone, Copy, Debug)]
pub enum Allocator<'a> {
    /// Fresh allocations and mappings for each.
    OnDemand,
    /// Slots of a pool (see [`crate::pool`]).
    Pool {
        /// The pool.
        pool: &'a InstancePool,
        /// The memory images [`Instance::initialize`] will get, so a memory
        /// slot already holding them is preferred.
        images: Option<&'a MemoryImages>,
    },
}

/// The VMContext's storage: 16-byte aligned, zero-initialised.
enum VMContextBox {
    Heap(Box<[u128]>),
    Pooled(InstanceSlot),
}

impl VMContextBox {
    fn new(size: u32, allocator: Allocator<'_>) -> Result<Self, VmError> {
        Ok(match allocator {
            Allocator::OnDemand => {
                VMContextBox::Heap(vec![0u128; size.div_ceil(16) as usize].into_boxed_slice())
            }
            Allocator::Pool { pool, .. } => VMContextBox::Pooled(pool.instance(size as usize)?),
        })
    }

    fn ptr(&mut self) -> *mut u8 {
        match self {
            VMContextBox::Heap(b) => b.as_mut_ptr().cast(),
            VMContextBox::Pooled(slot) => slot.ptr(),
        }
    }

    fn as_ptr(&self) -> *const u8 {
        match self {
            VMContextBox::Heap(b) => b.as_ptr().cast(),
            VMContextBox::Pooled(slot) => slot.ptr(),
        }
    }
}

/// A Wasm instance's run-time state. Always boxed: its VMContext points back
/// to it, and compiled code holds the VMContext pointer.
pub struct Instance {
    module: Arc<ModuleInfo>,
    code: Arc<LinkedCode>,
    offsets: VMOffsets,
    type_ids: Arc<[u32]>,
    vmctx: VMContextBox,
    memories: Vec<*mut LinearMemory>,
    tables: Vec<*mut Table>,
    #[allow(
        clippy::vec_box,
        reason = "boxed so raw pointers to each stay valid as the vector grows"
    )]
    owned_memories: Vec<Box<LinearMemory>>,
    #[allow(
        clippy::vec_box,
        reason = "boxed so raw pointers to each stay valid as the vector grows"
    )]
    owned_tables: Vec<Box<Table>>,
    dropped_data: Vec<bool>,
    dropped_elems: Vec<bool>,
    /// Opaque pointer for the embedding layer (the store).
    pub host_data: *mut (),
    /// The store's growth limiter slot, consulted by `memory.grow` and
    /// `table.grow` (see [`Instance::set_limiter`]).
    limiter: Option<NonNull<dyn GrowthLimiter>>,
    /// Asked by `out_of_fuel` and `new_epoch` (see
    /// [`Instance::set_interrupt_hook`]).
    interrupt_hook: Option<InterruptHook>,
    /// The store context (also in the VMContext header).
    store_ctx: *mut VMStoreContext,
}

// SAFETY: raw pointers reach memory owned by the same store, which moves
// between threads only as a whole.
unsafe impl Send for Instance {}
// SAFETY: as above.
unsafe impl Sync for Instance {}

impl Instance {
    /// Allocates an instance: writes the VMContext header, the imports, the
    /// defined memories and tables, and every func-ref. Globals and segments
    /// are applied by [`Instance::initialize`].
    ///
    /// # Safety
    ///
    /// Every import pointer must stay valid for the instance's life;
    /// `store_ctx` and `epoch_counter` too. `type_ids` maps each of the
    /// module's type indices to its engine-wide id. A pool in `allocator`
    /// must have been made for the same `tunables`.
    #[allow(clippy::too_many_arguments)]
    pub unsafe fn new(
        module: Arc<ModuleInfo>,
        code: Arc<LinkedCode>,
        type_ids: Arc<[u32]>,
        store_ctx: *mut VMStoreContext,
        epoch_counter: *const u64,
        imports: InstanceImports<'_>,
        tunables: &Tunables,
        allocator: Allocator<'_>,
    ) -> Result<Box<Instance>, InstantiateError> {
        if let Allocator::Pool { pool, .. } = allocator {
            pool.check_module(&module)?;
        }
        let offsets = VMOffsets::new(&module);
        debug_assert_eq!(imports.funcs.len(), module.num_imported_funcs as usize);
        debug_assert_eq!(imports.tables.len(), module.num_imported_tables as usize);
        debug_assert_eq!(
            imports.memories.len(),
            module.num_imported_memories as usize
        );
        debug_assert_eq!(imports.globals.len(), module.num_imported_globals as usize);
        let mut instance = Box::new(Instance {
            vmctx: VMContextBox::new(offsets.size(), allocator)?,
            memories: imports.memories.to_vec(),
            tables: imports.tables.to_vec(),
            owned_memories: Vec::new(),
            owned_tables: Vec::new(),
            dropped_data: vec![false; module.data.len()],
            dropped_elems: vec![false; module.elems.len()],
            host_data: std::ptr::null_mut(),
            limiter: None,
            interrupt_hook: None,
            store_ctx,
            module,
            code,
            offsets,
            type_ids,
        });
        let this: *mut Instance = &mut *instance;
        instance.write(VMOffsets::VMCTX_MAGIC, VMCONTEXT_MAGIC);
        instance.write(VMOffsets::VMCTX_STORE_CONTEXT, store_ctx);
        instance.write(VMOffsets::VMCTX_BUILTINS, BUILTINS.as_ptr());
        let type_ids_ptr = instance.type_ids.as_ptr();
        instance.write(VMOffsets::VMCTX_TYPE_IDS, type_ids_ptr);
        instance.write(VMOffsets::VMCTX_EPOCH_COUNTER, epoch_counter);
        instance.write(VMOffsets::VMCTX_INSTANCE, this);
        let module = instance.module.clone();
        for (i, &table) in imports.tables.iter().enumerate() {
            // SAFETY: the caller guarantees imported tables are valid.
            let def = unsafe { (*table).definition() };
            instance.write(instance.offsets.imported_table(TableIndex::new(i)), def);
        }
        for (i, &memory) in imports.memories.iter().enumerate() {
            // SAFETY: the caller guarantees imported memories are valid.
            let def = unsafe { (*memory).definition() };
            instance.write(instance.offsets.imported_memory(MemoryIndex::new(i)), def);
        }
        for (i, &global) in imports.globals.iter().enumerate() {
            instance.write(
                instance.offsets.imported_global(GlobalIndex::new(i)),
                global,
            );
        }
        for i in 0..module.num_defined_memories() {
            let index = DefinedMemoryIndex::new(i);
            let ty = module.memories[module.memory_index(index).index()];
            let def = instance.slot::<VMMemoryDefinition>(instance.offsets.defined_memory(index));
            let memory = match allocator {
                // SAFETY: the definition slot lives in our VMContext, which
                // lives as long as the memory (both are dropped with the
                // instance).
                Allocator::OnDemand => unsafe { LinearMemory::new(ty, tunables, def)? },
                Allocator::Pool { pool, images } => {
                    let image = images
                        .filter(|images| images.len() == module.num_defined_memories())
                        .and_then(|images| images.get(index));
                    let slot = pool.memory(crate::memory::pages_to_bytes(ty.minimum), image)?;
                    // SAFETY: as above.
                    unsafe { LinearMemory::in_slot(ty, slot, def)? }
                }
            };
            let mut memory = Box::new(memory);
            instance.memories.push(&mut *memory);
            instance.owned_memories.push(memory);
        }
        for i in 0..module.num_defined_tables() {
            let index = DefinedTableIndex::new(i);
            let ty = module.tables[module.table_index(index).index()];
            let def = instance.slot::<VMTableDefinition>(instance.offsets.defined_table(index));
            let table = match allocator {
                // SAFETY: as for memories.
                Allocator::OnDemand => unsafe { Table::new(ty, std::ptr::null_mut(), def) },
                Allocator::Pool { pool, .. } => {
                    let slot = pool.table(usize::try_from(ty.minimum).unwrap_or(usize::MAX))?;
                    // SAFETY: as for memories.
                    unsafe { Table::in_slot(ty, slot, def) }
                }
            };
            let mut table = Box::new(table.ok_or_else(|| {
                VmError::Limit(format!(
                    "table minimum of {} elements is too large",
                    ty.minimum
                ))
            })?);
            instance.tables.push(&mut *table);
            instance.owned_tables.push(table);
        }
        let vmctx = instance.vmctx_ptr();
        for (i, &ty) in module.functions.iter().enumerate() {
            let func = FuncIndex::new(i);
            let func_ref = match module.defined_func_index(func) {
                None => {
                    let mut import = imports.funcs[i];
                    if import.wasm_call.is_null() {
                        import.wasm_call = instance.code.wasm_to_array(ty);
                    }
                    import
                }
                Some(defined) => VMFuncRef {
                    array_call: instance
                        .code
                        .array_to_wasm(defined)
                        .map_or(std::ptr::null(), |f| f as *const u8),
                    wasm_call: instance.code.func_body(defined),
                    type_index: instance.type_ids[ty.index()],
                    vmctx,
                },
            };
            instance.write(instance.offsets.func_ref(func), func_ref);
        }
        Ok(instance)
    }

    /// Evaluates global initialisers and applies table initialisers, then
    /// element and data segments, in order. A segment that does not fit
    /// traps; the writes before it stay, as the spec says.
    ///
    /// With `images` (built by [`MemoryImages::new`] for this instance's
    /// module), the data phase maps each defined memory's image instead of
    /// copying the segments; that module check guarantees no data segment
    /// could trap, so the outcome is the same. Call this once, right after
    /// [`Instance::new`], before anything writes to the memories.
    pub fn initialize(&mut self, images: Option<&MemoryImages>) -> Result<(), InstantiateError> {
        let module = self.module.clone();
        for (i, init) in module.global_inits.iter().enumerate() {
            let value = self.eval(init);
            let offset = self
                .offsets
                .defined_global(tandem_environ::DefinedGlobalIndex::new(i));
            self.write(offset, value);
        }
        for (i, init) in module.table_inits.iter().enumerate() {
            if let Some(init) = init {
                let value = self.eval(init) as usize as *mut u8;
                let table = self.table_mut(module.table_index(DefinedTableIndex::new(i)));
                let size = table.size();
                table
                    .fill(0, value, size)
                    .expect("a fill of the whole table is in bounds");
            }
        }
        for (i, elem) in module.elems.iter().enumerate() {
            match &elem.mode {
                SegmentMode::Active { target, offset } => {
                    let dst = self.eval(offset) as u32;
                    let len = elem.items.len() as u32;
                    self.table_init(*target, ElemIndex::new(i), dst, 0, len)
                        .map_err(InstantiateError::Trap)?;
                    self.dropped_elems[i] = true;
                }
                SegmentMode::Declared => self.dropped_elems[i] = true,
                SegmentMode::Passive => {}
            }
        }
        let images = images.filter(|images| images.len() == module.num_defined_memories());
        if let Some(images) = images {
            for i in 0..images.len() {
                let index = DefinedMemoryIndex::new(i);
                if let Some(image) = images.get(index) {
                    self.memory_mut(module.memory_index(index))
                        .map_image(image)?;
                }
            }
            for (i, data) in module.data.iter().enumerate() {
                if let SegmentMode::Active { .. } = data.mode {
                    self.dropped_data[i] = true;
                }
            }
            return Ok(());
        }
        if module
            .data
            .iter()
            .any(|d| matches!(d.mode, SegmentMode::Declared))
        {
            return Err(VmError::Limit(
                "the module's data is in the memory images of its precompiled file, which were not given".into(),
            )
            .into());
        }
        for (i, data) in module.data.iter().enumerate() {
            if let SegmentMode::Active { target, offset } = &data.mode {
                let dst = self.eval(offset) as u32 as u64;
                let len = data.data.len() as u32;
                self.memory_init(*target, DataIndex::new(i), dst, 0, len)
                    .map_err(InstantiateError::Trap)?;
                self.dropped_data[i] = true;
            }
        }
        Ok(())
    }

    /// Evaluates a constant expression to its raw bits (references as
    /// pointers, floats as bits).
    pub fn eval(&self, expr: &ConstExpr) -> u128 {
        // Most initialisers are one operator: no stack needed.
        if let [op] = &*expr.ops {
            return self.eval_op(op, &mut Vec::new());
        }
        let mut stack: Vec<u128> = Vec::with_capacity(2);
        for op in expr.ops.iter() {
            let value = self.eval_op(op, &mut stack);
            stack.push(value);
        }
        debug_assert_eq!(
            stack.len(),
            1,
            "validated constant expressions leave one value"
        );
        stack.pop().unwrap_or(0)
    }

    /// The value `op` pushes, popping its operands from `stack`.
    fn eval_op(&self, op: &ConstOp, stack: &mut Vec<u128>) -> u128 {
        match *op {
            ConstOp::I32Const(v) => v as u32 as u128,
            ConstOp::I64Const(v) => v as u64 as u128,
            ConstOp::F32Const(v) => v as u128,
            ConstOp::F64Const(v) => v as u128,
            ConstOp::V128Const(v) => v,
            ConstOp::RefNull(_) => 0,
            ConstOp::RefFunc(f) => self.func_ref(f) as usize as u128,
            ConstOp::GlobalGet(g) => u128::from_le_bytes(self.global(g).bytes),
            ConstOp::I32Add | ConstOp::I32Sub | ConstOp::I32Mul => {
                let (b, a) = (
                    stack.pop().unwrap_or(0) as u32,
                    stack.pop().unwrap_or(0) as u32,
                );
                (match op {
                    ConstOp::I32Add => a.wrapping_add(b),
                    ConstOp::I32Sub => a.wrapping_sub(b),
                    _ => a.wrapping_mul(b),
                }) as u128
            }
            ConstOp::I64Add | ConstOp::I64Sub | ConstOp::I64Mul => {
                let (b, a) = (
                    stack.pop().unwrap_or(0) as u64,
                    stack.pop().unwrap_or(0) as u64,
                );
                (match op {
                    ConstOp::I64Add => a.wrapping_add(b),
                    ConstOp::I64Sub => a.wrapping_sub(b),
                    _ => a.wrapping_mul(b),
                }) as u128
            }
        }
    }

    /// The instance behind a VMContext pointer.
    ///
    /// # Safety
    ///
    /// `vmctx` must be the VMContext of a live instance, and no other
    /// reference to that instance may be in use.
    pub unsafe fn from_vmctx<'a>(vmctx: *mut u8) -> &'a mut Instance {
        // SAFETY: the caller guarantees `vmctx` is a live VMContext, whose
        // header holds the back pointer written in `new`.
        unsafe {
            debug_assert_eq!(*(vmctx as *const u32), VMCONTEXT_MAGIC);
            &mut **vmctx
                .add(VMOffsets::VMCTX_INSTANCE as usize)
                .cast::<*mut Instance>()
        }
    }

    /// The VMContext pointer compiled code receives.
    pub(crate) fn vmctx_ptr(&mut self) -> *mut u8 {
        self.vmctx.ptr()
    }

    fn slot<T>(&mut self, offset: u32) -> *mut T {
        debug_assert!(offset as usize + size_of::<T>() <= self.offsets.size() as usize);
        // SAFETY: `offset` comes from `VMOffsets` for this module, so it lies
        // inside the VMContext allocation.
        unsafe { self.vmctx.ptr().add(offset as usize).cast() }
    }

    fn write<T>(&mut self, offset: u32, value: T) {
        let slot = self.slot::<T>(offset);
        // SAFETY: the slot is inside the VMContext and suitably aligned by
        // the layout (`VMOffsets` aligns every field to its size).
        unsafe { slot.write(value) }
    }

    /// Makes `memory.grow` and `table.grow` of this instance ask `limiter`.
    ///
    /// # Safety
    ///
    /// `limiter` must stay valid (at a fixed address) for the instance's
    /// life, and must not be borrowed elsewhere while Wasm of this instance
    /// runs a libcall (the store owns it and touches it only between calls
    /// or from host code that cannot overlap a libcall).
    pub unsafe fn set_limiter(&mut self, limiter: NonNull<dyn GrowthLimiter>) {
        self.limiter = Some(limiter);
    }

    /// The limiter given to [`Instance::set_limiter`], if any.
    pub fn limiter(&self) -> Option<NonNull<dyn GrowthLimiter>> {
        self.limiter
    }

    /// Makes `out_of_fuel` and `new_epoch` in this instance's code ask
    /// `hook` instead of trapping.
    pub fn set_interrupt_hook(&mut self, hook: InterruptHook) {
        self.interrupt_hook = Some(hook);
    }

    /// The hook given to [`Instance::set_interrupt_hook`], if any.
    pub fn interrupt_hook(&self) -> Option<InterruptHook> {
        self.interrupt_hook
    }

    /// The store context this instance was created with.
    pub(crate) fn store_context(&self) -> *mut VMStoreContext {
        self.store_ctx
    }

    /// The module.
    pub fn module(&self) -> &Arc<ModuleInfo> {
        &self.module
    }

    /// The linked code.
    pub fn code(&self) -> &Arc<LinkedCode> {
        &self.code
    }

    /// The VMContext layout.
    pub fn offsets(&self) -> &VMOffsets {
        &self.offsets
    }

    /// Pointer to function `func`'s func-ref inside the VMContext.
    pub fn func_ref(&self, func: FuncIndex) -> *mut VMFuncRef {
        let offset = self.offsets.func_ref(func) as usize;
        // SAFETY: the offset is inside the VMContext allocation.
        unsafe { self.vmctx.as_ptr().add(offset).cast_mut().cast() }
    }

    /// Pointer to global `global`'s storage (imported or defined).
    pub fn global_ptr(&mut self, global: GlobalIndex) -> *mut VMGlobalDefinition {
        match self.module.defined_global_index(global) {
            // SAFETY: the slot holds the pointer written in `new`.
            None => unsafe {
                *self.slot::<*mut VMGlobalDefinition>(self.offsets.imported_global(global))
            },
            Some(defined) => self.slot(self.offsets.defined_global(defined)),
        }
    }

    fn global(&self, global: GlobalIndex) -> VMGlobalDefinition {
        let ptr = match self.module.defined_global_index(global) {
            None => {
                let offset = self.offsets.imported_global(global) as usize;
                // SAFETY: the slot holds a valid imported-global pointer.
                unsafe {
                    *self
                        .vmctx
                        .as_ptr()
                        .add(offset)
                        .cast::<*const VMGlobalDefinition>()
                }
            }
            Some(defined) => {
                let offset = self.offsets.defined_global(defined) as usize;
                // SAFETY: the offset is inside the VMContext.
                unsafe { self.vmctx.as_ptr().add(offset).cast::<VMGlobalDefinition>() }
            }
        };
        // SAFETY: `ptr` is a valid global.
        unsafe { *ptr }
    }

    /// Memory `index` (imported or defined).
    pub(crate) fn memory_mut(&mut self, index: MemoryIndex) -> &mut LinearMemory {
        // SAFETY: memory pointers stay valid for the instance's life, and
        // `&mut self` stands for exclusive access to the store.
        unsafe { &mut *self.memories[index.index()] }
    }

    /// Pointer to memory `index`.
    pub fn memory_ptr(&self, index: MemoryIndex) -> *mut LinearMemory {
        self.memories[index.index()]
    }

    /// Table `index` (imported or defined).
    pub(crate) fn table_mut(&mut self, index: TableIndex) -> &mut Table {
        // SAFETY: as for memories.
        unsafe { &mut *self.tables[index.index()] }
    }

    /// Pointer to table `index`.
    pub fn table_ptr(&self, index: TableIndex) -> *mut Table {
        self.tables[index.index()]
    }

    /// `table.init` of element segment `elem` into `table`.
    pub(crate) fn table_init(
        &mut self,
        table: TableIndex,
        elem: ElemIndex,
        dst: u32,
        src: u32,
        len: u32,
    ) -> Result<(), TrapCode> {
        let module = self.module.clone();
        let segment = &module.elems[elem.index()];
        let available = if self.dropped_elems[elem.index()] {
            0
        } else {
            segment.items.len() as u32
        };
        let range =
            crate::table::bounds(src, len, available).map_err(|_| TrapCode::TableOutOfBounds)?;
        let values: Vec<*mut u8> = match &segment.items {
            ElemItems::Funcs(funcs) => funcs[range]
                .iter()
                .map(|&f| self.func_ref(f).cast())
                .collect(),
            ElemItems::Exprs(exprs) => exprs[range]
                .iter()
                .map(|e| self.eval(e) as usize as *mut u8)
                .collect(),
        };
        self.table_mut(table)
            .init(dst, &values)
            .map_err(|_| TrapCode::TableOutOfBounds)
    }

    /// `memory.init` of data segment `data` into `memory`.
    pub(crate) fn memory_init(
        &mut self,
        memory: MemoryIndex,
        data: DataIndex,
        dst: u64,
        src: u32,
        len: u32,
    ) -> Result<(), TrapCode> {
        let module = self.module.clone();
        let bytes: &[u8] = if self.dropped_data[data.index()] {
            &[]
        } else {
            &module.data[data.index()].data
        };
        let src_range = crate::table::bounds(src, len, bytes.len() as u32)
            .map_err(|_| TrapCode::MemoryOutOfBounds)?;
        let mem = self.memory_mut(memory).data_mut();
        let dst_range = memory_range(dst, len as u64, mem.len())?;
        mem[dst_range].copy_from_slice(&bytes[src_range]);
        Ok(())
    }

    /// `data.drop`.
    pub(crate) fn data_drop(&mut self, data: DataIndex) {
        self.dropped_data[data.index()] = true;
    }

    /// `elem.drop`.
    pub(crate) fn elem_drop(&mut self, elem: ElemIndex) {
        self.dropped_elems[elem.index()] = true;
    }
}

/// `start..start+len` within a memory of `size` bytes, or an out-of-bounds trap.
pub(crate) fn memory_range(
    start: u64,
    len: u64,
    size: usize,
) -> Result<std::ops::Range<usize>, TrapCode> {
    let end = start.checked_add(len).ok_or(TrapCode::MemoryOutOfBounds)?;
    if end > size as u64 {
        return Err(TrapCode::MemoryOutOfBounds);
    }
    Ok(start as usize..end as usize)
}
