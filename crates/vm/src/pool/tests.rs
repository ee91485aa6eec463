//! Tests of the pooling allocator: slots come back clean, images stay
//! mapped for the module that uses them, limits are errors naming the
//! setting.

use super::*;
use crate::memory::LinearMemory;
use crate::memory_image::MemoryImages;
use crate::table::Table;
use tandem_environ::{
    ConstExpr, ConstOp, DataSegment, DefinedMemoryIndex, MemoryIndex, MemoryType, RefType,
    SegmentMode, TableType,
};

const PAGE: usize = WASM_PAGE_SIZE as usize;

fn pool(config: PoolConfig) -> InstancePool {
    InstancePool::new(&config, &Tunables::default()).unwrap()
}

fn small() -> PoolConfig {
    PoolConfig {
        total_core_instances: 2,
        total_memories: 2,
        total_tables: 2,
        max_memory_size: 4 * PAGE,
        table_elements: 100,
        ..PoolConfig::default()
    }
}

fn memory_type(pages: u64) -> MemoryType {
    MemoryType {
        minimum: pages,
        maximum: None,
        memory64: false,
        shared: false,
    }
}

fn memory(pool: &InstancePool, pages: u64, image: Option<&MemoryImage>) -> LinearMemory {
    let slot = pool.memory(pages as usize * PAGE, image).unwrap();
    // SAFETY: a null definition makes the memory own it.
    unsafe { LinearMemory::in_slot(memory_type(pages), slot, std::ptr::null_mut()) }.unwrap()
}

/// Images of a one-memory module with `data` at offset 16.
fn images(pages: u64, data: &[u8]) -> MemoryImages {
    let module = ModuleInfo {
        memories: vec![memory_type(pages)],
        data: vec![DataSegment {
            mode: SegmentMode::Active {
                target: MemoryIndex::from_u32(0),
                offset: ConstExpr::single(ConstOp::I32Const(16)),
            },
            data: data.into(),
        }],
        ..ModuleInfo::default()
    };
    MemoryImages::new(&module).unwrap().unwrap()
}

#[test]
fn a_memory_slot_comes_back_zeroed_in_the_same_place() {
    let pool = pool(small());
    let mut first = memory(&pool, 2, None);
    let base = first.data().as_ptr();
    first.data_mut()[0] = 1;
    first.data_mut()[2 * PAGE - 1] = 2;
    assert_eq!(first.grow(1, None), Some(2));
    first.data_mut()[3 * PAGE - 1] = 3;
    drop(first);
    let second = memory(&pool, 1, None);
    assert_eq!(second.data().as_ptr(), base, "last freed, first reused");
    assert!(second.data().iter().all(|&b| b == 0));
    assert_eq!(pool.free().memories.len(), 1);
    drop(second);
    let state = pool.free().memories.last().copied().unwrap();
    assert_eq!(state.accessible, PAGE, "the smaller memory shrank the slot");
    let mut third = memory(&pool, 3, None);
    assert!(
        third.data().iter().all(|&b| b == 0),
        "growth made zero pages"
    );
    third.data_mut()[3 * PAGE - 1] = 9;
}

#[test]
fn growth_stops_at_max_memory_size() {
    let pool = pool(small());
    let mut m = memory(&pool, 1, None);
    assert_eq!(m.grow(3, None), Some(1));
    assert_eq!(m.grow(1, None), None, "5 pages is past max_memory_size");
    assert_eq!(m.pages(), 4);
    let err = pool.memory(5 * PAGE, None).unwrap_err();
    assert!(err.to_string().contains("max_memory_size"), "{err}");
}

#[test]
fn an_image_stays_mapped_for_its_module_and_writes_are_undone() {
    let pool = pool(small());
    let first = images(1, b"pooled");
    let image = first.get(DefinedMemoryIndex::new(0)).unwrap();
    for round in 0..5 {
        let mut m = memory(&pool, 1, Some(image));
        m.map_image(image).unwrap();
        assert_eq!(&m.data()[16..22], b"pooled", "round {round}");
        assert!(m.data()[22..].iter().all(|&b| b == 0));
        m.data_mut()[16] = b'P';
        m.data_mut()[PAGE - 1] = 1;
    }
    assert_eq!(pool.image_mappings(), 1, "mapped once, reused four times");

    // Another module's memory (no image) gets a clean slot: the free one
    // without an image is preferred, the image stays where it is.
    let plain = memory(&pool, 1, None);
    assert!(plain.data().iter().all(|&b| b == 0));
    let other = memory(&pool, 1, None);
    assert!(
        other.data().iter().all(|&b| b == 0),
        "the image was removed"
    );
    assert_eq!(pool.image_mappings(), 2);
    drop((plain, other));

    let again = images(1, b"second");
    let second = again.get(DefinedMemoryIndex::new(0)).unwrap();
    let mut m = memory(&pool, 1, Some(second));
    m.map_image(second).unwrap();
    assert_eq!(&m.data()[16..22], b"second");
}

#[test]
fn running_out_of_slots_names_the_setting() {
    let pool = pool(small());
    let a = pool.memory(PAGE, None).unwrap();
    let b = pool.memory(PAGE, None).unwrap();
    let err = pool.memory(PAGE, None).unwrap_err();
    assert_eq!(
        err.to_string(),
        "maximum concurrent memory limit of 2 reached (PoolingAllocationConfig::total_memories)"
    );
    drop(a);
    let c = pool.memory(PAGE, None).unwrap();
    drop((b, c));

    let tables = [pool.table(1).unwrap(), pool.table(1).unwrap()];
    assert!(
        pool.table(1)
            .unwrap_err()
            .to_string()
            .contains("total_tables")
    );
    drop(tables);
    let instances = [pool.instance(64).unwrap(), pool.instance(64).unwrap()];
    let err = pool.instance(64).unwrap_err();
    assert!(err.to_string().contains("total_core_instances"), "{err}");
    drop(instances);
    assert!(pool.instance(64).is_ok());
}

#[test]
fn table_and_instance_slots_come_back_zeroed() {
    let pool = pool(small());
    let ty = TableType {
        element: RefType::Func,
        minimum: 4,
        maximum: None,
    };
    let marker = std::ptr::without_provenance_mut(8);
    let mut table =
        // SAFETY: a null definition makes the table own it.
        unsafe { Table::in_slot(ty, pool.table(4).unwrap(), std::ptr::null_mut()) }.unwrap();
    table.fill(0, marker, 4).unwrap();
    assert_eq!(table.grow(96, marker, None), Some(4));
    assert_eq!(table.grow(1, marker, None), None, "past table_elements");
    drop(table);
    let table =
        // SAFETY: as above.
        unsafe { Table::in_slot(ty, pool.table(4).unwrap(), std::ptr::null_mut()) }.unwrap();
    assert_eq!(table.size(), 4);
    let slot = pool.table(0).unwrap();
    drop(slot);
    drop(table);
    let mut slot = pool.table(0).unwrap();
    assert!(slot.grow(100, std::ptr::null_mut()));
    assert!(slot.elements().iter().all(|e| e.is_null()));

    let instance = pool.instance(256).unwrap();
    // SAFETY: the slot holds at least 256 writable bytes.
    unsafe { instance.ptr().write_bytes(0xFF, 256) };
    drop(instance);
    let instance = pool.instance(256).unwrap();
    // SAFETY: as above, zeroed when taken.
    let bytes = unsafe { std::slice::from_raw_parts(instance.ptr(), 256) };
    assert!(bytes.iter().all(|&b| b == 0));
    assert!(
        pool.instance(2 << 20)
            .unwrap_err()
            .to_string()
            .contains("max_core_instance_size")
    );
}

#[test]
fn modules_that_do_not_fit_a_slot_are_refused_clearly() {
    let pool = pool(small());
    let module = |memories: Vec<MemoryType>, tables: Vec<TableType>| ModuleInfo {
        memories,
        tables,
        table_inits: Vec::new(),
        ..ModuleInfo::default()
    };
    let table = |minimum| TableType {
        element: RefType::Extern,
        minimum,
        maximum: None,
    };
    let mut memory64 = memory_type(1);
    memory64.memory64 = true;
    let cases = [
        (
            module(vec![memory_type(1); 2], vec![]),
            "max_memories_per_module",
        ),
        (module(vec![], vec![table(1); 2]), "max_tables_per_module"),
        (module(vec![memory_type(5)], vec![]), "max_memory_size"),
        (module(vec![], vec![table(101)]), "table_elements"),
        (module(vec![memory64], vec![]), "64-bit"),
    ];
    for (module, expected) in cases {
        let err = pool.check_module(&module).unwrap_err().to_string();
        assert!(err.contains(expected), "{err}");
        assert!(!err.contains('\n'));
    }
    assert!(
        pool.check_module(&module(vec![memory_type(4)], vec![table(100)]))
            .is_ok()
    );
}

#[test]
fn keep_resident_bytes_are_zeroed_in_place() {
    let pool = pool(PoolConfig {
        linear_memory_keep_resident: PAGE,
        table_keep_resident: 64,
        ..small()
    });
    let mut m = memory(&pool, 2, None);
    m.data_mut().fill(7);
    drop(m);
    let m = memory(&pool, 2, None);
    assert!(m.data().iter().all(|&b| b == 0));
}

#[test]
fn default_sized_slots_hold_guarded_memories() {
    let pool = pool(PoolConfig {
        total_memories: 3,
        ..small()
    });
    let slot = pool.inner.memory_slot;
    assert!(slot as u64 >= Tunables::default().memory_reservation);
    let a = memory(&pool, 1, None);
    let b = memory(&pool, 1, None);
    let distance = (a.data().as_ptr() as usize).abs_diff(b.data().as_ptr() as usize);
    assert_eq!(
        distance, slot,
        "neighbouring slots are a whole reservation apart"
    );
}
