//! Runs compiled code in-process: a minimal loader and a hand-built
//! VMContext laid out from `VMOffsets`, enough to execute modules that do not
//! trap. It checks the translator's semantics and the trampolines' ABI
//! before the real runtime exists; traps are left to the runtime's tests.

use crate::CraneliftBackend;
use rustix::mm::{MapFlags, MprotectFlags, ProtFlags, mmap_anonymous, mprotect, munmap};
use std::ffi::c_void;
use tandem_codegen_api::{Backend, CompiledFunction, CompiledModule, RelocKind, RelocTarget};
use tandem_environ::{
    ConstOp, ElemItems, EntityIndex, FuncIndex, Libcall, ModuleInfo, SegmentMode, Tunables,
    VALRAW_SIZE, VMCONTEXT_MAGIC, VMHOST_MAGIC, VMOffsets, ValType, default_features, translate,
};

/// A Wasm value as the tests see it (floats by bits).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Val {
    I32(i32),
    I64(i64),
    F32(u32),
    F64(u64),
}

impl Val {
    /// An `f32` value.
    pub fn f32(x: f32) -> Val {
        Val::F32(x.to_bits())
    }

    /// An `f64` value.
    pub fn f64(x: f64) -> Val {
        Val::F64(x.to_bits())
    }
}

/// The array-call signature.
type ArrayCall = unsafe extern "C" fn(*mut u8, *mut u8, *mut [u8; 16], usize) -> bool;

/// A host function for imports: `(i32, i64, f64) -> (f64, i32)` returning
/// `(a + b + c, 2 * a)`.
unsafe extern "C" fn host_sum(
    _callee: *mut u8,
    _caller: *mut u8,
    values: *mut [u8; 16],
    len: usize,
) -> bool {
    assert!(len >= 3);
    // SAFETY: the trampoline passes a buffer of `len` 16-byte slots.
    let slots = unsafe { std::slice::from_raw_parts_mut(values, len) };
    let a = i32::from_le_bytes(slots[0][..4].try_into().unwrap());
    let b = i64::from_le_bytes(slots[1][..8].try_into().unwrap());
    let c = f64::from_le_bytes(slots[2][..8].try_into().unwrap());
    let sum = f64::from(a) + b as f64 + c;
    slots[0][..8].copy_from_slice(&sum.to_le_bytes());
    slots[1][..4].copy_from_slice(&(2 * a).to_le_bytes());
    true
}

/// Bytes reserved for a linear memory, so growing never moves it.
const MEMORY_RESERVE: usize = 1024 << 16;

/// The memory [`builtin_memory_grow`] grows: the calling instance's memory
/// and the offset of its `VMMemoryDefinition` (set by `Instance::try_call`).
struct GrowTarget {
    memory: *mut Vec<u8>,
    maximum_pages: u64,
    def: u32,
}

thread_local! {
    static GROW_TARGET: std::cell::Cell<Option<GrowTarget>> = const { std::cell::Cell::new(None) };
}

/// The `memory_grow` builtin for memory 0, within [`MEMORY_RESERVE`].
extern "C" fn builtin_memory_grow(vmctx: *mut u8, _memory: i32, delta: i64) -> i64 {
    let Some(target) = GROW_TARGET.take() else {
        return -1;
    };
    // SAFETY: `try_call` points the target at the calling instance's memory,
    // which outlives the call.
    let memory = unsafe { &mut *target.memory };
    let old = (memory.len() >> 16) as u64;
    let new = old.saturating_add(delta as u64);
    let result =
        if delta < 0 || new > target.maximum_pages || (new as usize) << 16 > memory.capacity() {
            -1
        } else {
            memory.resize((new as usize) << 16, 0);
            // SAFETY: `def` is the memory definition's offset in this VMContext.
            unsafe {
                (vmctx.add((target.def + VMOffsets::MEMORY_CURRENT_LENGTH) as usize) as *mut u64)
                    .write_unaligned(memory.len() as u64)
            };
            old as i64
        };
    GROW_TARGET.set(Some(target));
    result
}

thread_local! {
    /// How many times `out_of_fuel` was called on this thread.
    pub(super) static OUT_OF_FUEL_CALLS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
    /// The fuel `out_of_fuel` gives the store (it refuels instead of trapping).
    pub(super) static REFUEL: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
    /// How many times `new_epoch` was called on this thread.
    pub(super) static NEW_EPOCH_CALLS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// The store context of the instance whose VMContext is `vmctx`.
///
/// # Safety
///
/// `vmctx` is a live VMContext built by [`Instance::from_wasm_with`].
unsafe fn store_of(vmctx: *mut u8) -> *mut u64 {
    // SAFETY: the header holds the store context pointer (caller's promise).
    unsafe { (vmctx.add(VMOffsets::VMCTX_STORE_CONTEXT as usize) as *mut *mut u64).read() }
}

/// The `out_of_fuel` builtin: counts the call and refuels with [`REFUEL`].
extern "C" fn builtin_out_of_fuel(vmctx: *mut u8) {
    OUT_OF_FUEL_CALLS.set(OUT_OF_FUEL_CALLS.get() + 1);
    // SAFETY: compiled code passes its own VMContext; `fuel_consumed` is the
    // store context's second word.
    unsafe { store_of(vmctx).add(1).write(REFUEL.get().wrapping_neg()) };
}

/// The `new_epoch` builtin: counts the call and keeps the deadline, so it
/// is called again at the next check point.
extern "C" fn builtin_new_epoch(vmctx: *mut u8) -> i64 {
    NEW_EPOCH_CALLS.set(NEW_EPOCH_CALLS.get() + 1);
    // SAFETY: as above; `epoch_deadline` is the store context's third word.
    unsafe { store_of(vmctx).add(2).read() as i64 }
}

/// Compiled code mapped executable, with one instance of its module.
pub(super) struct Instance {
    code: *mut c_void,
    code_len: usize,
    module: ModuleInfo,
    entries: Vec<Option<usize>>,
    vmctx: Vec<u128>,
    /// `VMStoreContext` (6 words).
    pub store: Box<[u64; 6]>,
    /// The epoch counter `VMCTX_EPOCH_COUNTER` points to.
    pub epoch: Box<u64>,
    _builtins: Box<[usize; Libcall::COUNT]>,
    _type_ids: Vec<u32>,
    memory: Vec<u8>,
    memory_def: u32,
    _tables: Vec<Vec<usize>>,
    _host_ctx: Box<[usize; 2]>,
}

impl Drop for Instance {
    fn drop(&mut self) {
        // SAFETY: `code` is the mapping made in `Instance::new`; nothing
        // refers to it any more.
        unsafe { munmap(self.code, self.code_len) }.unwrap();
    }
}

/// Places every artifact in one executable mapping and applies relocations.
fn load_code(
    m: &CompiledModule,
) -> (
    *mut c_void,
    usize,
    Vec<usize>,
    Vec<usize>,
    Vec<Option<usize>>,
) {
    let mut layout: Vec<(&CompiledFunction, usize)> = Vec::new();
    let mut at = 0usize;
    let mut place = |f: &CompiledFunction| {
        at = at.next_multiple_of(f.alignment.max(16) as usize);
        let start = at;
        at += f.code.len();
        start
    };
    let funcs: Vec<usize> = m.funcs.iter().map(&mut place).collect();
    let entries: Vec<Option<usize>> = m
        .array_to_wasm
        .iter()
        .map(|e| e.as_ref().map(&mut place))
        .collect();
    let w2a: Vec<usize> = m.wasm_to_array.iter().map(&mut place).collect();
    let libcalls: Vec<usize> = m
        .libcall_trampolines
        .iter()
        .map(|(_, f)| place(f))
        .collect();
    let len = at.next_multiple_of(4096).max(4096);
    layout.extend(m.funcs.iter().zip(funcs.iter().copied()));
    layout.extend(
        m.array_to_wasm
            .iter()
            .zip(&entries)
            .filter_map(|(f, s)| Some((f.as_ref()?, (*s)?))),
    );
    layout.extend(m.wasm_to_array.iter().zip(w2a.iter().copied()));
    layout.extend(
        m.libcall_trampolines
            .iter()
            .map(|(_, f)| f)
            .zip(libcalls.iter().copied()),
    );

    // SAFETY: a fresh private anonymous mapping.
    let code = unsafe {
        mmap_anonymous(
            std::ptr::null_mut(),
            len,
            ProtFlags::READ | ProtFlags::WRITE,
            MapFlags::PRIVATE,
        )
    }
    .unwrap();
    let base = code as usize;
    for (f, start) in &layout {
        // SAFETY: `start + code.len() <= at <= len`, inside the mapping.
        unsafe {
            std::ptr::copy_nonoverlapping(f.code.as_ptr(), (base + start) as *mut u8, f.code.len())
        };
        for r in &f.relocs {
            let target = match r.target {
                RelocTarget::Func(i) => base + funcs[i.index()],
                RelocTarget::LibcallTrampoline(l) => {
                    let slot = m
                        .libcall_trampolines
                        .iter()
                        .position(|(x, _)| *x == l)
                        .unwrap();
                    base + libcalls[slot]
                }
            };
            let site = base + start + r.offset as usize;
            match r.kind {
                RelocKind::X86PcRel4 => {
                    let value = (target as i64 + r.addend - site as i64) as i32;
                    // SAFETY: the relocation lies inside the function's code.
                    unsafe { (site as *mut i32).write_unaligned(value) };
                }
                RelocKind::Abs8 => {
                    // SAFETY: as above.
                    unsafe {
                        (site as *mut u64).write_unaligned((target as i64 + r.addend) as u64)
                    };
                }
            }
        }
    }
    // SAFETY: the mapping made above.
    unsafe { mprotect(code, len, MprotectFlags::READ | MprotectFlags::EXEC) }.unwrap();
    let abs = |v: Vec<usize>| v.into_iter().map(|s| base + s).collect::<Vec<_>>();
    let entries = entries.into_iter().map(|e| e.map(|s| base + s)).collect();
    (code, len, abs(funcs), abs(w2a), entries)
}

impl Instance {
    /// Compiles and instantiates `wat`. Imported functions are all
    /// [`host_sum`]; the only memory gets one page.
    pub fn new(wat: &str) -> Instance {
        Instance::from_wasm(&wat::parse_str(wat).unwrap()).unwrap()
    }

    /// Compiles and instantiates a binary module; `Err` for modules this
    /// harness cannot instantiate (imports other than functions, several
    /// memories, non-constant segment offsets, a start function).
    pub fn from_wasm(wasm: &[u8]) -> Result<Instance, String> {
        Instance::from_wasm_with(wasm, &Tunables::default())
    }

    /// [`Self::from_wasm`] compiled with `tunables`. The store has no epoch
    /// deadline and 0 fuel; `out_of_fuel` refuels with [`REFUEL`] and
    /// `new_epoch` only counts its calls.
    pub fn from_wasm_with(wasm: &[u8], tunables: &Tunables) -> Result<Instance, String> {
        let translation = translate(wasm, default_features()).map_err(|e| e.to_string())?;
        let module = translation.module;
        let simple = |e: &tandem_environ::ConstExpr| matches!(e.ops[..], [ConstOp::I32Const(_)]);
        if module
            .imports
            .iter()
            .any(|i| !matches!(i.kind, tandem_environ::ImportKind::Func(_)))
            || module.memories.len() > 1
            || module.start.is_some()
            || module.data.iter().any(|d| match &d.mode {
                SegmentMode::Active { offset, .. } => !simple(offset),
                _ => false,
            })
            || module.elems.iter().any(|e| match &e.mode {
                SegmentMode::Active { offset, .. } => {
                    !simple(offset) || !matches!(e.items, ElemItems::Funcs(_))
                }
                _ => false,
            })
        {
            return Err("unsupported by the test harness".into());
        }
        let backend = CraneliftBackend::new().unwrap();
        let translation = tandem_environ::Translation {
            module,
            ..translation
        };
        let m = backend
            .compile_module(&translation, tunables)
            .map_err(|e| e.to_string())?;
        let module = translation.module;
        let o = m.offsets.clone();
        let (code, code_len, funcs, w2a, entries) = load_code(&m);

        let mut store = Box::new([0u64; 6]);
        store[2] = u64::MAX;
        let epoch = Box::new(0u64);
        let mut builtins = Box::new([0usize; Libcall::COUNT]);
        builtins[Libcall::memory_grow.index()] =
            builtin_memory_grow as extern "C" fn(*mut u8, i32, i64) -> i64 as usize;
        builtins[Libcall::out_of_fuel.index()] =
            builtin_out_of_fuel as extern "C" fn(*mut u8) as usize;
        builtins[Libcall::new_epoch.index()] =
            builtin_new_epoch as extern "C" fn(*mut u8) -> i64 as usize;
        let type_ids: Vec<u32> = m.wasm_to_array_of_type.clone();
        let pages = module.memories.first().map_or(0, |m| m.minimum as usize);
        let mut memory = Vec::with_capacity(MEMORY_RESERVE.max(pages << 16));
        memory.resize(pages << 16, 0);
        for d in &module.data {
            if let SegmentMode::Active { offset, .. } = &d.mode {
                let ConstOp::I32Const(at) = offset.ops[0] else {
                    unreachable!("checked")
                };
                let at = at as u32 as usize;
                memory
                    .get_mut(at..at + d.data.len())
                    .ok_or("data segment out of bounds")?
                    .copy_from_slice(&d.data);
            }
        }
        let mut host_ctx = Box::new([VMHOST_MAGIC as usize, host_sum as ArrayCall as usize]);
        let mut vmctx = vec![0u128; (o.size() as usize).div_ceil(16)];
        let vm = vmctx.as_mut_ptr() as *mut u8;
        let put = |off: u32, v: u64| {
            assert!(off as usize + 8 <= o.size() as usize);
            // SAFETY: in bounds of the VMContext buffer (checked above).
            unsafe { (vm.add(off as usize) as *mut u64).write_unaligned(v) }
        };
        put(VMOffsets::VMCTX_MAGIC, u64::from(VMCONTEXT_MAGIC));
        put(VMOffsets::VMCTX_STORE_CONTEXT, store.as_mut_ptr() as u64);
        put(VMOffsets::VMCTX_BUILTINS, builtins.as_mut_ptr() as u64);
        put(VMOffsets::VMCTX_TYPE_IDS, type_ids.as_ptr() as u64);
        put(VMOffsets::VMCTX_EPOCH_COUNTER, &*epoch as *const u64 as u64);
        if module.num_defined_memories() > 0 {
            let def = o.defined_memory(tandem_environ::DefinedMemoryIndex::from_u32(0));
            put(def + VMOffsets::MEMORY_BASE, memory.as_mut_ptr() as u64);
            put(def + VMOffsets::MEMORY_CURRENT_LENGTH, memory.len() as u64);
        }
        for (i, init) in module.global_inits.iter().enumerate() {
            let bits = match init.ops[0] {
                ConstOp::I32Const(v) => u64::from(v as u32),
                ConstOp::I64Const(v) => v as u64,
                ConstOp::F32Const(v) => u64::from(v),
                ConstOp::F64Const(v) => v,
                _ => 0,
            };
            put(
                o.defined_global(tandem_environ::DefinedGlobalIndex::new(i)),
                bits,
            );
        }
        for (i, &ty) in module.functions.iter().enumerate() {
            let at = o.func_ref(FuncIndex::new(i));
            let id = type_ids[ty.index()];
            put(at + VMOffsets::FUNC_REF_TYPE_INDEX, u64::from(id));
            match module.defined_func_index(FuncIndex::new(i)) {
                Some(d) => {
                    put(
                        at + VMOffsets::FUNC_REF_ARRAY_CALL,
                        entries[d.index()].unwrap_or(0) as u64,
                    );
                    put(at + VMOffsets::FUNC_REF_WASM_CALL, funcs[d.index()] as u64);
                    put(at + VMOffsets::FUNC_REF_VMCTX, vm as u64);
                }
                None => {
                    put(at + VMOffsets::FUNC_REF_WASM_CALL, w2a[id as usize] as u64);
                    put(at + VMOffsets::FUNC_REF_VMCTX, host_ctx.as_mut_ptr() as u64);
                }
            }
        }
        let mut tables: Vec<Vec<usize>> = (0..module.num_defined_tables())
            .map(|i| vec![0usize; module.tables[i].minimum as usize])
            .collect();
        for elem in &module.elems {
            if let (SegmentMode::Active { target, offset }, ElemItems::Funcs(fs)) =
                (&elem.mode, &elem.items)
            {
                let ConstOp::I32Const(start) = offset.ops[0] else {
                    continue;
                };
                for (k, f) in fs.iter().enumerate() {
                    *tables[target.index()]
                        .get_mut(start as usize + k)
                        .ok_or("element segment out of bounds")? =
                        vm as usize + o.func_ref(*f) as usize;
                }
            }
        }
        for (i, t) in tables.iter_mut().enumerate() {
            let def = o.defined_table(tandem_environ::DefinedTableIndex::new(i));
            put(def + VMOffsets::TABLE_BASE, t.as_mut_ptr() as u64);
            put(def + VMOffsets::TABLE_CURRENT_ELEMENTS, t.len() as u64);
        }
        let memory_def = if module.num_defined_memories() > 0 {
            o.defined_memory(tandem_environ::DefinedMemoryIndex::from_u32(0))
        } else {
            0
        };
        Ok(Instance {
            code,
            code_len,
            module,
            entries,
            vmctx,
            store,
            epoch,
            _builtins: builtins,
            _type_ids: type_ids,
            memory,
            memory_def,
            _tables: tables,
            _host_ctx: host_ctx,
        })
    }

    /// Calls export `name` through its array-to-Wasm entry.
    pub fn call(&mut self, name: &str, args: &[Val]) -> Vec<Val> {
        self.try_call(name, args).unwrap()
    }

    /// [`Self::call`], or `Err` when `name` is not an exported function.
    pub fn try_call(&mut self, name: &str, args: &[Val]) -> Result<Vec<Val>, String> {
        let Some(EntityIndex::Func(f)) = self.module.export(name) else {
            return Err(format!("no function export {name}"));
        };
        let Some(defined) = self.module.defined_func_index(f) else {
            return Err(format!("{name} is an imported function"));
        };
        let ty = self.module.func_type(f).clone();
        assert_eq!(ty.params.len(), args.len());
        let mut values =
            vec![[0u8; VALRAW_SIZE as usize]; ty.params.len().max(ty.results.len()).max(1)];
        for (slot, arg) in values.iter_mut().zip(args) {
            match *arg {
                Val::I32(v) => slot[..4].copy_from_slice(&v.to_le_bytes()),
                Val::I64(v) => slot[..8].copy_from_slice(&v.to_le_bytes()),
                Val::F32(v) => slot[..4].copy_from_slice(&v.to_le_bytes()),
                Val::F64(v) => slot[..8].copy_from_slice(&v.to_le_bytes()),
            }
        }
        let entry = self.entries[defined.index()].unwrap();
        if let Some(ty) = self.module.memories.first() {
            GROW_TARGET.set(Some(GrowTarget {
                memory: &mut self.memory,
                maximum_pages: ty.maximum.unwrap_or(u64::MAX),
                def: self.memory_def,
            }));
        }
        // SAFETY: `entry` is an array-to-Wasm trampoline in the executable
        // mapping, which has exactly the `ArrayCall` signature.
        let entry: ArrayCall = unsafe { std::mem::transmute::<usize, ArrayCall>(entry) };
        let vm = self.vmctx.as_mut_ptr() as *mut u8;
        // SAFETY: the VMContext and everything it points to live as long as
        // `self`; the code was compiled for this layout and does not trap.
        let ok = unsafe { entry(vm, vm, values.as_mut_ptr(), values.len()) };
        GROW_TARGET.set(None);
        assert!(ok);
        Ok(ty
            .results
            .iter()
            .zip(&values)
            .map(|(t, slot)| match t {
                ValType::I32 => Val::I32(i32::from_le_bytes(slot[..4].try_into().unwrap())),
                ValType::I64 | ValType::Ref(_) => {
                    Val::I64(i64::from_le_bytes(slot[..8].try_into().unwrap()))
                }
                ValType::F32 => Val::F32(u32::from_le_bytes(slot[..4].try_into().unwrap())),
                ValType::F64 | ValType::V128 => {
                    Val::F64(u64::from_le_bytes(slot[..8].try_into().unwrap()))
                }
            })
            .collect())
    }
}
