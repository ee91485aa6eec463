//! Compile cost on hostile input is bounded on every backend: modules near
//! wasmparser's limits (many functions, 50,000 locals, deeply nested
//! blocks, a `br_table` with a million targets, huge data segments,
//! thousands of types, a deep operand stack, long straight-line code) either
//! compile in time and memory linear in their size, or are refused with a
//! clear error; never a stack overflow in the compiler.
//!
//! Each shape is generated at a size `n` and at `SCALE * n` and compiled on
//! one thread; the ratio of CPU time and of peak heap between the two must
//! stay near `SCALE` (a quadratic cost would give `SCALE²`). CPU time of
//! the whole process is measured, so the tests of this file run one at a
//! time; the heap is counted by this binary's global allocator.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tandem_store::{BackendKind, Config, Engine, Instance, Module, Store};
use wasm_encoder::{
    BlockType, CodeSection, ConstExpr, DataSection, ExportKind, ExportSection, Function,
    FunctionSection, Instruction, MemorySection, MemoryType, TypeSection, ValType,
};

/// Counts live and peak heap bytes.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator unchanged; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's duties are the system allocator's.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            let live = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(live, Ordering::Relaxed);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: `ptr` came from `alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// One test at a time: CPU time and the heap peak are process-wide.
static SERIAL: Mutex<()> = Mutex::new(());

/// How much bigger the large instance of each shape is.
const SCALE: usize = 8;

fn process_cpu_time() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime");
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// What compiling a module cost.
#[derive(Debug)]
struct Cost {
    cpu: Duration,
    peak_heap: usize,
}

/// Compiles `wasm` on `kind` on one thread; `Err` is the refusal.
fn compile(kind: BackendKind, wasm: &[u8]) -> (Cost, Result<Module, String>) {
    let mut config = Config::new();
    config.backend(kind).parallel_compilation(false);
    let engine = Engine::new(&config).unwrap();
    let base = LIVE.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let start = process_cpu_time();
    let module = Module::new(&engine, wasm).map_err(|e| e.to_string());
    let cost = Cost {
        cpu: process_cpu_time() - start,
        peak_heap: PEAK.load(Ordering::Relaxed).saturating_sub(base),
    };
    (cost, module)
}

/// Compiles `shape(n)` and `shape(SCALE * n)` on every backend and checks
/// that both compile (or both are refused clearly) at a cost linear in size.
fn check_linear(name: &str, n: usize, shape: impl Fn(usize) -> Vec<u8>) {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let small = shape(n);
    let large = shape(SCALE * n);
    for &kind in BackendKind::available() {
        let (small_cost, small_module) = compile(kind, &small);
        let (large_cost, large_module) = compile(kind, &large);
        println!(
            "{name} on {kind}: {} bytes {:?}, {} bytes {:?}",
            small.len(),
            small_cost,
            large.len(),
            large_cost
        );
        match (&small_module, &large_module) {
            (Ok(_), Ok(_)) => {}
            (_, Err(e)) => {
                // A refusal must say where and why.
                assert!(
                    e.contains("offset"),
                    "{name} on {kind}: unclear refusal: {e}"
                );
                continue;
            }
            (Err(e), Ok(_)) => panic!("{name} on {kind}: small refused, large not: {e}"),
        }
        let time_ratio = large_cost.cpu.as_secs_f64() / small_cost.cpu.as_secs_f64().max(1e-3);
        // Linear is SCALE, quadratic SCALE²; regalloc2 on deeply nested
        // control flow shows about 2.5 SCALE (n log n and caches).
        assert!(
            time_ratio < (SCALE * SCALE / 2) as f64,
            "{name} on {kind}: {SCALE}x the size took {time_ratio:.1}x the CPU time \
             ({small_cost:?} -> {large_cost:?})"
        );
        // Below a few MiB the peak is noise (allocator caches, one buffer).
        let heap_ratio = large_cost.peak_heap as f64 / small_cost.peak_heap.max(4 << 20) as f64;
        assert!(
            heap_ratio < (3 * SCALE) as f64,
            "{name} on {kind}: {SCALE}x the size took {heap_ratio:.1}x the peak heap \
             ({small_cost:?} -> {large_cost:?})"
        );
    }
}

/// A module of one function type `ty`, functions with those bodies, each
/// exported as its index.
fn module(params: &[ValType], results: &[ValType], bodies: Vec<Function>) -> Vec<u8> {
    let mut types = TypeSection::new();
    types
        .ty()
        .function(params.iter().copied(), results.iter().copied());
    let mut funcs = FunctionSection::new();
    let mut code = CodeSection::new();
    let mut exports = ExportSection::new();
    for (i, body) in bodies.iter().enumerate() {
        funcs.function(0);
        code.function(body);
        exports.export(&i.to_string(), ExportKind::Func, i as u32);
    }
    let mut m = wasm_encoder::Module::new();
    m.section(&types)
        .section(&funcs)
        .section(&exports)
        .section(&code);
    m.finish()
}

fn body(locals: Vec<(u32, ValType)>, ops: &[Instruction<'_>]) -> Function {
    let mut f = Function::new(locals);
    for op in ops {
        f.instruction(op);
    }
    f.instruction(&Instruction::End);
    f
}

#[test]
fn many_functions() {
    check_linear("many functions", 1_000, |n| {
        let bodies = (0..n)
            .map(|i| body(vec![], &[Instruction::I32Const(i as i32)]))
            .collect();
        module(&[], &[ValType::I32], bodies)
    });
}

#[test]
fn fifty_thousand_locals() {
    // The limit is 50,000 locals per function.
    check_linear("many locals", 50_000 / SCALE, |n| {
        let mut ops = Vec::new();
        for i in (0..n as u32).step_by(7) {
            ops.extend([
                Instruction::LocalGet(i),
                Instruction::LocalSet((i + 1) % n as u32),
            ]);
        }
        ops.push(Instruction::LocalGet(n as u32 - 1));
        module(
            &[],
            &[ValType::I64],
            vec![body(vec![(n as u32, ValType::I64)], &ops)],
        )
    });
}

#[test]
fn deeply_nested_blocks() {
    check_linear("nested blocks", 5_000, |n| {
        let mut ops = Vec::new();
        for i in 0..n {
            ops.push(if i % 3 == 0 {
                Instruction::Loop(BlockType::Empty)
            } else {
                Instruction::Block(BlockType::Empty)
            });
        }
        ops.extend([Instruction::LocalGet(0), Instruction::BrIf(n as u32 / 2)]);
        for _ in 0..n {
            ops.push(Instruction::End);
        }
        module(&[ValType::I32], &[], vec![body(vec![], &ops)])
    });
}

#[test]
fn nesting_far_deeper_than_any_compiler_recursion_could_take() {
    // 300,000 levels: a compiler that recursed per level would overflow
    // its thread's stack (rayon's and the test's are a few MiB).
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let depth = 300_000;
    let mut ops = vec![Instruction::Block(BlockType::Empty); depth];
    ops.extend([
        Instruction::LocalGet(0),
        Instruction::BrIf(depth as u32 - 1),
    ]);
    ops.extend(vec![Instruction::End; depth]);
    let wasm = module(&[ValType::I32], &[], vec![body(vec![], &ops)]);
    for &kind in BackendKind::available() {
        let (cost, module) = compile(kind, &wasm);
        println!("{depth} nested blocks on {kind}: {cost:?}");
        let module = module.unwrap_or_else(|e| panic!("{kind}: {e}"));
        let mut store = Store::new(module.engine(), ());
        let instance = Instance::new(&mut store, &module, &[]).unwrap();
        let f = instance.get_typed_func::<i32, ()>(&mut store, "0").unwrap();
        f.call(&mut store, 1).unwrap();
    }
}

#[test]
fn deeply_nested_ifs() {
    check_linear("nested ifs", 2_500, |n| {
        let mut ops = Vec::new();
        for _ in 0..n {
            ops.extend([
                Instruction::LocalGet(0),
                Instruction::If(BlockType::Result(ValType::I32)),
            ]);
        }
        ops.push(Instruction::I32Const(1));
        for _ in 0..n {
            ops.extend([
                Instruction::Else,
                Instruction::I32Const(2),
                Instruction::End,
            ]);
        }
        module(&[ValType::I32], &[ValType::I32], vec![body(vec![], &ops)])
    });
}

#[test]
fn a_br_table_with_a_million_targets() {
    check_linear("br_table", 1_000_000 / SCALE, |n| {
        let depth = 16;
        let mut ops = Vec::new();
        for _ in 0..depth {
            ops.push(Instruction::Block(BlockType::Empty));
        }
        let targets: Vec<u32> = (0..n as u32).map(|i| i % depth).collect();
        ops.extend([
            Instruction::LocalGet(0),
            Instruction::BrTable(targets.into(), 0),
        ]);
        for _ in 0..depth {
            ops.push(Instruction::End);
        }
        module(&[ValType::I32], &[], vec![body(vec![], &ops)])
    });
}

#[test]
fn a_br_table_to_every_depth_of_nested_blocks_with_results() {
    // Every target needs its operand moved: a forwarding block per depth.
    check_linear("br_table over depths", 4_000, |n| {
        let mut ops = Vec::new();
        for _ in 0..n {
            ops.push(Instruction::Block(BlockType::Result(ValType::I32)));
        }
        let targets: Vec<u32> = (0..n as u32).collect();
        ops.extend([
            Instruction::LocalGet(0),
            Instruction::LocalGet(0),
            Instruction::BrTable(targets.into(), 0),
        ]);
        for _ in 0..n {
            ops.push(Instruction::End);
        }
        module(&[ValType::I32], &[ValType::I32], vec![body(vec![], &ops)])
    });
}

#[test]
fn a_deep_operand_stack() {
    check_linear("operand stack", 4_000, |n| {
        let mut ops: Vec<Instruction<'_>> =
            (0..n).map(|i| Instruction::I32Const(i as i32)).collect();
        ops.extend((1..n).map(|_| Instruction::I32Add));
        module(&[], &[ValType::I32], vec![body(vec![], &ops)])
    });
}

#[test]
fn long_straight_line_code() {
    check_linear("straight line", 10_000, |n| {
        let mut ops = vec![Instruction::LocalGet(0)];
        for i in 0..n {
            ops.extend([Instruction::I32Const(i as i32), Instruction::I32Xor]);
            if i % 5 == 0 {
                ops.extend([
                    Instruction::LocalTee(1),
                    Instruction::LocalGet(1),
                    Instruction::I32Mul,
                ]);
            }
        }
        module(
            &[ValType::I32],
            &[ValType::I32],
            vec![body(vec![(1, ValType::I32)], &ops)],
        )
    });
}

#[test]
fn thousands_of_types() {
    check_linear("types", 1_000, |n| {
        let mut types = TypeSection::new();
        let kinds = [ValType::I32, ValType::I64, ValType::F32, ValType::F64];
        for i in 0..n {
            // Type i's parameters spell i in base 4: all distinct.
            let mut params = Vec::new();
            let mut k = i + 1;
            while k > 0 {
                params.push(kinds[k % 4]);
                k /= 4;
            }
            types.ty().function(params, []);
        }
        let mut funcs = FunctionSection::new();
        let mut code = CodeSection::new();
        for i in 0..n as u32 {
            funcs.function(i);
            code.function(&body(vec![], &[]));
        }
        let mut m = wasm_encoder::Module::new();
        m.section(&types).section(&funcs).section(&code);
        m.finish()
    });
}

#[test]
fn huge_data_segments() {
    // Compile, then instantiate: the segment is copied or mapped once.
    check_linear("data segment", 2 << 20, |n| {
        let mut memories = MemorySection::new();
        let pages = (n as u64).div_ceil(65536);
        memories.memory(MemoryType {
            minimum: pages,
            maximum: None,
            memory64: false,
            shared: false,
            page_size_log2: None,
        });
        let mut data = DataSection::new();
        let bytes: Vec<u8> = (0..n).map(|i| (i * 31 % 251) as u8).collect();
        data.active(0, &ConstExpr::i32_const(0), bytes);
        let mut m = wasm_encoder::Module::new();
        m.section(&memories).section(&data);
        m.finish()
    });
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    for &kind in BackendKind::available() {
        let engine = Engine::new(Config::new().backend(kind)).unwrap();
        let wat = format!(
            "(module (memory (export \"m\") 256) (data (i32.const 7) \"{}\"))",
            "\\2a".repeat(1 << 20)
        );
        let module = Module::new(&engine, wat).unwrap();
        let mut store = Store::new(&engine, ());
        let instance = Instance::new(&mut store, &module, &[]).unwrap();
        let memory = instance.get_memory(&mut store, "m").unwrap();
        let data = memory.data(&store);
        assert_eq!(
            (
                data[6],
                data[7],
                data[7 + (1 << 20) - 1],
                data[7 + (1 << 20)]
            ),
            (0, 42, 42, 0)
        );
    }
}
