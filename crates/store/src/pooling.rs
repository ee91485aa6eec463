//! How an engine allocates instances, memories and tables
//! ([`InstanceAllocationStrategy`]), and the settings of the pooling
//! allocator ([`PoolingAllocationConfig`]), under wasmtime's names. The
//! pool itself is `tandem_vm::pool`.

use tandem_vm::pool::PoolConfig;

/// Where an engine's instances get their VMContext, memories and tables
/// ([`Config::allocation_strategy`](crate::Config::allocation_strategy)).
///
/// ```
/// use tandem_store::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};
/// let mut pool = PoolingAllocationConfig::new();
/// pool.total_memories(10).total_tables(10).total_core_instances(10);
/// let engine = Engine::new(Config::new().allocation_strategy(pool)).unwrap();
/// assert!(matches!(engine.config().allocation(), InstanceAllocationStrategy::Pooling(_)));
/// ```
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub enum InstanceAllocationStrategy {
    /// Map and allocate everything an instance needs when it is created,
    /// and unmap it when its store goes (the default).
    #[default]
    OnDemand,
    /// Take slots of a pool reserved when the engine is created, and reset
    /// them for reuse when the store goes: instantiation then makes no
    /// `mmap`, and memories keep their copy-on-write images mapped.
    Pooling(PoolingAllocationConfig),
}

impl InstanceAllocationStrategy {
    /// Pooling with the default settings.
    pub fn pooling() -> InstanceAllocationStrategy {
        InstanceAllocationStrategy::Pooling(PoolingAllocationConfig::default())
    }
}

impl From<PoolingAllocationConfig> for InstanceAllocationStrategy {
    fn from(config: PoolingAllocationConfig) -> InstanceAllocationStrategy {
        InstanceAllocationStrategy::Pooling(config)
    }
}

/// The sizes and counts of the pooling allocator: how many instances,
/// memories and tables can be alive at once in all stores of the engine,
/// and how large each may be. Instantiating past a count, or a module whose
/// memories or tables are larger than a slot, fails with an error naming
/// the setting; growing past a slot's size fails as growth past a maximum
/// does (`memory.grow` returns -1).
///
/// Host-created memories and tables ([`Memory::new`](crate::Memory::new),
/// [`Table::new`](crate::Table::new)) are allocated on demand, not from the
/// pool. Memories of a pool are 32-bit: 64-bit and shared memories are
/// refused.
///
/// ```
/// use tandem_store::{Config, Engine, Instance, Module, PoolingAllocationConfig, Store};
/// let mut pool = PoolingAllocationConfig::new();
/// pool.total_core_instances(1).total_memories(1).max_memory_size(1 << 20);
/// let engine = Engine::new(Config::new().allocation_strategy(pool)).unwrap();
/// let module = Module::new(&engine, "(module (memory 1))").unwrap();
/// let mut first = Store::new(&engine, ());
/// Instance::new(&mut first, &module, &[]).unwrap();
/// let mut second = Store::new(&engine, ());
/// let err = Instance::new(&mut second, &module, &[]).unwrap_err();
/// assert!(err.to_string().contains("total_core_instances"), "{err}");
/// drop(first); // gives its slots back
/// Instance::new(&mut second, &module, &[]).unwrap();
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PoolingAllocationConfig {
    pub(crate) config: PoolConfig,
}

/// One setter per knob, each with wasmtime's name and default.
macro_rules! knobs {
    ($($(#[$doc:meta])* $name:ident: $ty:ty = $example:literal;)*) => {
        impl PoolingAllocationConfig {
            $(
                $(#[$doc])*
                #[doc = concat!(
                    "\n\n```\nuse tandem_store::{Config, Engine, PoolingAllocationConfig};\n",
                    "let mut pool = PoolingAllocationConfig::new();\n",
                    "pool.total_memories(4).total_tables(4).total_core_instances(4);\n",
                    "pool.", stringify!($name), "(", stringify!($example), ");\n",
                    "assert!(Engine::new(Config::new().allocation_strategy(pool)).is_ok());\n```"
                )]
                pub fn $name(&mut self, value: $ty) -> &mut Self {
                    self.config.$name = value;
                    self
                }
            )*
        }
    };
}

impl PoolingAllocationConfig {
    /// The defaults (wasmtime's): 1,000 instances, memories and tables,
    /// memories of up to 4 GiB, tables of up to 20,000 elements, one
    /// memory and one table per instance, VMContexts of up to 1 MiB.
    pub fn new() -> PoolingAllocationConfig {
        PoolingAllocationConfig::default()
    }
}

knobs! {
    /// Instances alive at once, in all stores (default 1,000).
    total_core_instances: u32 = 100;
    /// Linear memories alive at once (default 1,000). Each reserves
    /// address space for a whole memory and its guard
    /// ([`Config::memory_reservation`](crate::Config::memory_reservation)
    /// plus [`Config::memory_guard_size`](crate::Config::memory_guard_size)).
    total_memories: u32 = 100;
    /// Tables alive at once (default 1,000).
    total_tables: u32 = 100;
    /// Bytes a linear memory may have, initially and by growing (default
    /// 4 GiB).
    max_memory_size: usize = 1_048_576;
    /// Elements a table may have, initially and by growing (default
    /// 20,000).
    table_elements: usize = 5000;
    /// Memories one instance may define (default 1).
    max_memories_per_module: u32 = 2;
    /// Tables one instance may define (default 1).
    max_tables_per_module: u32 = 2;
    /// Bytes of one instance's VMContext (default 1 MiB; it grows with the
    /// module's functions, globals, memories and tables).
    max_core_instance_size: usize = 65536;
    /// Bytes at the start of a memory (without a copy-on-write image) that
    /// are zeroed in place when it is given back, instead of being returned
    /// to the system (default 0): saves the next instance page faults.
    linear_memory_keep_resident: usize = 65536;
    /// The same for a table's elements, in bytes (default 0).
    table_keep_resident: usize = 4096;
}
