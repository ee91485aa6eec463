//! Guest memory: every pointer and length a program passes is checked
//! against its memory. A bad one is an errno (`EFAULT` for out of bounds,
//! `EINVAL` for misaligned, `EILSEQ` for a path that is not UTF-8), never a
//! host fault and never a trap; and no call allocates more than the bytes
//! it really moves, whatever length the program claims (a counting global
//! allocator watches every call).

mod common;

use common::{Host, engines};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use tandem_store::{Linker, Module, Store, Val};
use tandem_wasi::{MemoryInputPipe, WasiCtxBuilder};

/// The system allocator, recording the largest single request.
struct Counting;

static LARGEST: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to `System` unchanged; only a counter is added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LARGEST.fetch_max(layout.size(), Ordering::Relaxed);
        // SAFETY: the caller's duties are `System.alloc`'s.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LARGEST.fetch_max(new_size, Ordering::Relaxed);
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const EFAULT: i32 = 21;
const EINVAL: i32 = 28;
const EILSEQ: i32 = 25;

/// One call: the wrapper export of `guest_memory.wat`, its arguments, the
/// 32-bit words to store first (address, value), the bytes to store, and
/// the errno it must return.
struct Case {
    name: &'static str,
    export: &'static str,
    args: &'static [i64],
    words: &'static [(usize, u32)],
    bytes: &'static [(usize, u8)],
    errno: i32,
}

const fn case(
    name: &'static str,
    export: &'static str,
    args: &'static [i64],
    words: &'static [(usize, u32)],
    errno: i32,
) -> Case {
    Case {
        name,
        export,
        args,
        words,
        bytes: &[],
        errno,
    }
}

/// 64 KiB: the module's one page.
const END: i64 = 65536;

const CASES: &[Case] = &[
    case(
        "iovec of 4 GiB",
        "fd_write",
        &[1, 0, 1, 8],
        &[(0, 16), (4, u32::MAX)],
        EFAULT,
    ),
    case(
        "iovec array past the end",
        "fd_write",
        &[1, 0, 1 << 28, 8],
        &[],
        EFAULT,
    ),
    case(
        "iovec array at 4 GiB - 16",
        "fd_write",
        &[1, -16, 1, 8],
        &[],
        EFAULT,
    ),
    case(
        "empty buffer at the end",
        "fd_write",
        &[1, 0, 1, 8],
        &[(0, END as u32), (4, 0)],
        0,
    ),
    case(
        "empty buffer past the end",
        "fd_write",
        &[1, 0, 1, 8],
        &[(0, u32::MAX), (4, 0)],
        EFAULT,
    ),
    case(
        "result past the end",
        "fd_write",
        &[1, 0, 1, END - 2],
        &[(0, 16), (4, 1)],
        EFAULT,
    ),
    case(
        "read of 4 GiB",
        "fd_read",
        &[0, 0, 1, 8],
        &[(0, 100), (4, u32::MAX - 255)],
        EFAULT,
    ),
    case("random of 4 GiB", "random_get", &[0, -1], &[], EFAULT),
    case(
        "random across the end",
        "random_get",
        &[END - 1, 2],
        &[],
        EFAULT,
    ),
    case(
        "random of the whole memory",
        "random_get",
        &[0, END],
        &[],
        0,
    ),
    case(
        "sizes past the end",
        "args_sizes_get",
        &[END - 4, END],
        &[],
        EFAULT,
    ),
    case("sizes misaligned", "args_sizes_get", &[1, 8], &[], EINVAL),
    case("argv past the end", "args_get", &[END - 2, 0], &[], EFAULT),
    case(
        "path across the end",
        "path_open",
        &[END - 6, 100, 8],
        &[],
        EFAULT,
    ),
    case("path of 4 GiB", "path_open", &[0, -1, 8], &[], EFAULT),
    case("entries of 4 GiB", "fd_readdir", &[0, -1, 8], &[], 0),
    case(
        "2^32 - 1 subscriptions",
        "poll_oneoff",
        &[0, 0, -1, 8],
        &[],
        EFAULT,
    ),
    case(
        "events past the end",
        "poll_oneoff",
        &[0, END - 16, 1, 8],
        &[],
        EFAULT,
    ),
    case("time at the end", "clock_time_get", &[1, END], &[], EFAULT),
    case(
        "time across the end",
        "clock_time_get",
        &[1, END - 1],
        &[],
        EFAULT,
    ),
    case(
        "preopen name of 4 GiB at the end",
        "fd_prestat_dir_name",
        &[END - 1, -1],
        &[],
        EFAULT,
    ),
];

/// A store with `guest_memory.wat` instantiated, stdout captured.
fn instance(
    engine: &tandem_store::Engine,
    stdout: &tandem_wasi::MemoryOutputPipe,
) -> (Store<Host>, tandem_store::Instance) {
    let module = Module::new(engine, include_str!("guest_memory.wat")).unwrap();
    let mut linker = Linker::new(engine);
    tandem_wasi::add_to_linker(&mut linker, |host: &mut Host| &mut host.wasi).unwrap();
    let wasi = WasiCtxBuilder::new()
        .stdout(stdout.clone())
        .build()
        .unwrap();
    let mut store = Store::new(engine, Host { wasi });
    let instance = linker.instantiate(&mut store, &module).unwrap();
    (store, instance)
}

/// More iovecs than `IOV_MAX` (1024): a short write of the first 1024.
#[test]
fn at_most_1024_iovecs_per_call() {
    for (kind, engine) in engines() {
        let stdout = tandem_wasi::MemoryOutputPipe::new(1 << 20);
        let (mut store, instance) = instance(engine, &stdout);
        let memory = instance.get_memory(&mut store, "memory").unwrap();
        let bytes = memory.data_mut(&mut store);
        // 2000 iovecs from 1024 up, each one byte of the text at 0.
        bytes[..4].copy_from_slice(b"abcd");
        for i in 0..2000usize {
            let at = 1024 + 8 * i;
            bytes[at..at + 4].copy_from_slice(&((i % 4) as u32).to_le_bytes());
            bytes[at + 4..at + 8].copy_from_slice(&1u32.to_le_bytes());
        }
        let write = instance
            .get_typed_func::<(i32, i32, i32, i32), i32>(&mut store, "fd_write")
            .unwrap();
        assert_eq!(
            write.call(&mut store, (1, 1024, 2000, 16)).unwrap(),
            0,
            "{kind}"
        );
        let written = u32::from_le_bytes(memory.data(&store)[16..20].try_into().unwrap());
        assert_eq!(written, 1024, "{kind}");
        assert_eq!(stdout.contents(), b"abcd".repeat(256), "{kind}");
    }
}

#[test]
fn bad_pointers_and_huge_lengths_are_errnos() {
    let not_utf8 = Case {
        name: "path not UTF-8",
        export: "path_open",
        args: &[0, 2, 8],
        words: &[],
        bytes: &[(0, 0xff), (1, 0xfe)],
        errno: EILSEQ,
    };
    let dir = tempfile::tempdir().unwrap();
    for entry in 0..20 {
        std::fs::write(dir.path().join(format!("f{entry}")), "").unwrap();
    }
    for (kind, engine) in engines() {
        let module = Module::new(engine, include_str!("guest_memory.wat")).unwrap();
        let mut linker = Linker::new(engine);
        tandem_wasi::add_to_linker(&mut linker, |host: &mut Host| &mut host.wasi).unwrap();
        for case in CASES.iter().chain([&not_utf8]) {
            let wasi = WasiCtxBuilder::new()
                .args(&["calls", "one", "two"])
                .stdin(MemoryInputPipe::new(vec![7; 1 << 16]))
                .preopened_dir(dir.path(), "/dir")
                .unwrap()
                .build()
                .unwrap();
            let mut store = Store::new(engine, Host { wasi });
            let instance = linker.instantiate(&mut store, &module).unwrap();
            let memory = instance.get_memory(&mut store, "memory").unwrap();
            let bytes = memory.data_mut(&mut store);
            for &(at, word) in case.words {
                bytes[at..at + 4].copy_from_slice(&word.to_le_bytes());
            }
            for &(at, byte) in case.bytes {
                bytes[at] = byte;
            }
            let func = instance.get_func(&mut store, case.export).unwrap();
            let params: Vec<Val> = func
                .ty(&store)
                .params()
                .zip(case.args)
                .map(|(ty, &arg)| match ty {
                    tandem_store::ValType::I64 => Val::I64(arg),
                    _ => Val::I32(arg as i32),
                })
                .collect();
            let mut result = [Val::I32(-1)];
            LARGEST.store(0, Ordering::Relaxed);
            func.call(&mut store, &params, &mut result)
                .unwrap_or_else(|e| panic!("{kind}: {}: the call failed: {e}", case.name));
            let largest = LARGEST.load(Ordering::Relaxed);
            assert_eq!(result[0].i32(), Some(case.errno), "{kind}: {}", case.name);
            assert!(
                largest <= 1 << 16,
                "{kind}: {} allocated {largest} bytes at once",
                case.name
            );
        }
    }
}
