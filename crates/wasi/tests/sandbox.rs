//! The sandbox: nothing outside a preopened directory can be read, written,
//! created, listed or stat-ed. `escape.c` tries every way out we know of
//! (`..`, absolute paths, symlinks pointing out absolutely and relatively,
//! chains of them, descriptors of subdirectories and files, renames, hard
//! and symbolic links, removal); the property tests throw generated paths
//! with `..` at the path calls.

mod common;

use common::{Host, each_backend, engines, run};
use proptest::prelude::*;
use std::collections::BTreeSet;
use std::path::Path;
use tandem_store::{Instance, Linker, Module, Store, TypedFunc};
use tandem_wasi::WasiCtxBuilder;

/// Every name under `dir`, recursively, with file contents (symlinks by
/// their target), so a test can tell that nothing changed.
fn snapshot(dir: &Path) -> BTreeSet<(String, String)> {
    let mut all = BTreeSet::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(current) = stack.pop() {
        for entry in std::fs::read_dir(&current).unwrap() {
            let path = entry.unwrap().path();
            let name = path.strip_prefix(dir).unwrap().display().to_string();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            let content = if meta.is_symlink() {
                format!("-> {}", std::fs::read_link(&path).unwrap().display())
            } else if meta.is_dir() {
                stack.push(path.clone());
                "dir".to_string()
            } else {
                std::fs::read_to_string(&path).unwrap()
            };
            all.insert((name, content));
        }
    }
    all
}

/// Everything outside the sandbox (`root` minus `root/sandbox`).
fn outside(root: &Path) -> BTreeSet<(String, String)> {
    snapshot(root)
        .into_iter()
        .filter(|(name, _)| !name.starts_with("sandbox/"))
        .collect()
}

const ESCAPES_BLOCKED: &str = "\
blocked libc open of ../secret.txt: EPERM
blocked libc open of /secret.txt: ENOTCAPABLE
blocked libc open of /etc/passwd: ENOTCAPABLE
blocked libc open through an absolute symlink: EPERM
blocked libc open through a relative symlink: EPERM
blocked libc opendir of ..: EPERM
blocked libc stat of ../secret.txt: EPERM
blocked open ..: EPERM
blocked open ../secret.txt: EPERM
blocked open /secret.txt: EPERM
blocked open sub/../../secret.txt: EPERM
blocked open sub/../sub/../../secret.txt: EPERM
blocked open through out_abs: EPERM
blocked open through out_rel: EPERM
blocked open through chain: EPERM
blocked open through out_dir: EPERM
blocked open through out_dir without following: EPERM
blocked write through out_abs: EPERM
blocked open ../file.txt from sub: EPERM
blocked open ../../secret.txt from sub: EPERM
blocked open ../out_rel from sub: EPERM
blocked open ../secret.txt from a file: ENOTDIR
blocked open from a descriptor never given: EBADF
blocked stat ..: EPERM
blocked stat ../secret.txt: EPERM
blocked stat through out_abs: EPERM
blocked stat through out_rel: EPERM
blocked stat through out_dir: EPERM
blocked set times of ../secret.txt: EPERM
blocked set times through out_abs: EPERM
blocked create ../created: EPERM
blocked create through out_dir: EPERM
blocked mkdir ../newdir: EPERM
blocked mkdir through out_dir: EPERM
blocked rename file.txt to ../moved: EPERM
blocked rename ../secret.txt in: EPERM
blocked rename into out_dir: EPERM
blocked link file.txt to ../linked: EPERM
blocked link ../secret.txt in: EPERM
blocked link through out_abs: EINVAL
blocked symlink at ../sym: EPERM
blocked symlink through out_dir: EPERM
symlink to /secret.txt: EPERM
blocked open through made_abs: ENOENT
blocked open through made_rel: EPERM
hard link to out_rel: created
blocked open through hard_to_out_rel: EPERM
blocked unlink ../secret.txt: EPERM
blocked unlink through out_dir: EPERM
blocked rmdir ..: EPERM
blocked rmdir ../sandbox: EPERM
blocked readlink ../x: EPERM
all escapes blocked
";

#[test]
fn every_escape_is_blocked() {
    each_backend("escape", |kind, module| {
        let root = tempfile::tempdir().unwrap();
        let root = root.path().canonicalize().unwrap();
        let sandbox = root.join("sandbox");
        std::fs::create_dir_all(sandbox.join("sub")).unwrap();
        std::fs::write(root.join("secret.txt"), "top secret").unwrap();
        std::fs::write(sandbox.join("file.txt"), "inside").unwrap();
        let link = |target: &Path, name: &str| {
            std::os::unix::fs::symlink(target, sandbox.join(name)).unwrap()
        };
        link(&root.join("secret.txt"), "out_abs");
        link(Path::new("../secret.txt"), "out_rel");
        link(&root, "out_dir");
        link(Path::new("sub/../out_rel"), "chain");
        let before = outside(&root);

        let out = run(kind, module, |b| {
            b.args(&["escape", "/sandbox"])
                .preopened_dir(&sandbox, "/sandbox")
                .unwrap();
        });
        assert_eq!(out.stdout, ESCAPES_BLOCKED);
        out.assert_status(0);
        assert_eq!(outside(&root), before, "something outside changed");
        assert_eq!(
            std::fs::read_to_string(root.join("secret.txt")).unwrap(),
            "top secret"
        );
    });
}

/// Path calls on descriptor 3 with the path at address 1024.
const PATH_CALLS: &str = r#"(module
  (import "wasi_snapshot_preview1" "path_open"
    (func $open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_filestat_get"
    (func $stat (param i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_create_directory"
    (func $mkdir (param i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_close" (func $close (param i32) (result i32)))
  (memory (export "memory") 1)
  ;; oflags 1 = create; rights read + write
  (func (export "open") (param $len i32) (param $oflags i32) (result i32)
    (local $errno i32)
    (local.set $errno (call $open (i32.const 3) (i32.const 0) (i32.const 1024) (local.get $len)
      (local.get $oflags) (i64.const 0x42) (i64.const 0x42) (i32.const 0) (i32.const 0)))
    (if (i32.eqz (local.get $errno)) (then (drop (call $close (i32.load (i32.const 0))))))
    (local.get $errno))
  (func (export "stat") (param $len i32) (result i32)
    (call $stat (i32.const 3) (i32.const 0) (i32.const 1024) (local.get $len) (i32.const 64)))
  (func (export "mkdir") (param $len i32) (result i32)
    (call $mkdir (i32.const 3) (i32.const 1024) (local.get $len))))"#;

/// A store with the path-call module, descriptor 3 being `sandbox`.
struct PathCalls {
    store: Store<Host>,
    instance: Instance,
    open: TypedFunc<(i32, i32), i32>,
    stat: TypedFunc<i32, i32>,
    mkdir: TypedFunc<i32, i32>,
}

impl PathCalls {
    fn new(engine: &tandem_store::Engine, sandbox: &Path) -> PathCalls {
        let module = Module::new(engine, PATH_CALLS).unwrap();
        let mut linker = Linker::new(engine);
        tandem_wasi::add_to_linker(&mut linker, |host: &mut Host| &mut host.wasi).unwrap();
        let wasi = WasiCtxBuilder::new()
            .preopened_dir(sandbox, "/sandbox")
            .unwrap()
            .build()
            .unwrap();
        let mut store = Store::new(engine, Host { wasi });
        let instance = linker.instantiate(&mut store, &module).unwrap();
        PathCalls {
            open: instance.get_typed_func(&mut store, "open").unwrap(),
            stat: instance.get_typed_func(&mut store, "stat").unwrap(),
            mkdir: instance.get_typed_func(&mut store, "mkdir").unwrap(),
            store,
            instance,
        }
    }

    /// Puts `path` at address 1024; returns its length.
    fn path(&mut self, path: &str) -> i32 {
        let memory = self.instance.get_memory(&mut self.store, "memory").unwrap();
        memory.data_mut(&mut self.store)[1024..][..path.len()].copy_from_slice(path.as_bytes());
        path.len() as i32
    }
}

/// Whether walking `components` from the sandbox ever goes above it.
fn leaves(components: &[&str]) -> bool {
    let mut depth = 0i32;
    for component in components {
        match *component {
            ".." => depth -= 1,
            "." => {}
            _ => depth += 1,
        }
        if depth < 0 {
            return true;
        }
    }
    false
}

fn component() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        3 => Just(".."),
        1 => Just("."),
        2 => Just("a"),
        1 => Just("b"),
        1 => Just("x"),
        1 => Just("new"),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// A path that climbs above the preopen fails for open, create, mkdir
    /// and stat, and changes nothing outside; a path that stays inside
    /// (without `.` components) resolves as the host resolves it there.
    #[test]
    fn paths_that_leave_the_preopen_fail(
        paths in proptest::collection::vec(proptest::collection::vec(component(), 1..7), 8)
    ) {
        let root = tempfile::tempdir().unwrap();
        let sandbox = root.path().join("sandbox");
        std::fs::create_dir_all(sandbox.join("a/b")).unwrap();
        std::fs::write(sandbox.join("x"), "x").unwrap();
        std::fs::write(sandbox.join("a/x"), "a/x").unwrap();
        std::fs::write(root.path().join("x"), "outside").unwrap();
        let before = snapshot(root.path());
        for (_, engine) in engines() {
            let mut calls = PathCalls::new(engine, &sandbox);
            for components in &paths {
                let path = components.join("/");
                let len = calls.path(&path);
                if leaves(components) {
                    for (call, errno) in [
                        ("open", calls.open.call(&mut calls.store, (len, 0)).unwrap()),
                        ("create", calls.open.call(&mut calls.store, (len, 1)).unwrap()),
                        ("mkdir", calls.mkdir.call(&mut calls.store, len).unwrap()),
                        ("stat", calls.stat.call(&mut calls.store, len).unwrap()),
                    ] {
                        prop_assert_ne!(errno, 0, "{} {} succeeded", call, path);
                    }
                } else if !components.contains(&".") {
                    // (With a `.` after a file name cap-std is not quite
                    // POSIX: `x/.` is `x`, `./x/.` is ENOTDIR.)
                    let errno = calls.stat.call(&mut calls.store, len).unwrap();
                    let host = std::fs::metadata(sandbox.join(&path)).is_ok();
                    prop_assert_eq!(errno == 0, host, "stat {}: errno {}", path, errno);
                }
            }
        }
        prop_assert_eq!(snapshot(root.path()), before);
    }
}
