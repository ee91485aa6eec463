//! The C test programs (`programs/*.c`, built with plain `clang
//! --target=wasm32-wasi`), one per family, run to their end on every
//! backend through the embedding API, with their output and exit status
//! checked. The outputs are the ones `wasmtime` gives for the same program.

mod common;

use common::{Host, each_backend, engines, program, run};
use std::io::{Read, Write};
use tandem_store::{Linker, Store, Trap};
use tandem_wasi::{I32Exit, MemoryInputPipe, MemoryOutputPipe, WasiCtxBuilder};

#[test]
fn args_and_env_are_exactly_what_the_builder_gave() {
    each_backend("args_env", |kind, module| {
        let out = run(kind, module, |b| {
            b.args(&["prog", "", "with space", "--flag=1", "-", "héllo"])
                .env("A", "1")
                .env("EMPTY", "")
                .env("EQ", "x=y");
        });
        out.assert_status(0);
        assert_eq!(
            out.stdout,
            "argc=6\nargv[0]=prog\nargv[1]=\nargv[2]=with space\nargv[3]=--flag=1\n\
             argv[4]=-\nargv[5]=héllo\nenv A=1\nenv EMPTY=\nenv EQ=x=y\nPATH=(unset)\n"
        );
        // Nothing at all, unless asked.
        let out = run(kind, module, |_| {});
        assert_eq!(out.stdout, "argc=0\nPATH=(unset)\n");
    });
}

#[test]
fn inherited_env_is_the_hosts() {
    each_backend("args_env", |kind, module| {
        let out = run(kind, module, |b| {
            b.arg("prog").inherit_env();
        });
        let path = std::env::var("PATH").expect("PATH is set");
        assert!(
            out.stdout.contains(&format!("\nPATH={path}\n")),
            "{}",
            out.stdout
        );
    });
}

#[test]
fn stdio_and_every_way_to_exit() {
    each_backend("stdio_exit", |kind, module| {
        let ending = |args: &[&str]| {
            run(kind, module, |b| {
                b.arg("stdio_exit").args(args);
            })
        };
        let out = ending(&[]);
        out.assert_status(0);
        assert_eq!(
            (out.stdout.as_str(), out.stderr.as_str()),
            ("to stdout\n", "to stderr\n")
        );
        ending(&["exit", "5"]).assert_status(5);
        ending(&["return", "6"]).assert_status(6);
        ending(&["raw", "125"]).assert_status(125);
        ending(&["exit", "0"]).assert_status(0);

        let out = ending(&["abort"]);
        let (code, text) = out.trap.as_ref().expect("abort traps");
        assert_eq!(*code, Some(Trap::UnreachableCodeReached), "{text}");
        assert!(text.contains("[abort < main"), "{text}");
        assert_eq!(out.stdout, "to stdout\n");

        // Statuses from 126 up are not exits but errors (not traps), as in
        // wasmtime.
        let out = ending(&["exit", "200"]);
        let (code, text) = out.trap.as_ref().expect("an error");
        assert_eq!(*code, None);
        assert!(text.contains("exit status outside of [0..126)"), "{text}");

        // No signals: ENOTSUP (58), as wasmtime answers.
        assert_eq!(ending(&["raise"]).stdout, "to stdout\nproc_raise: 58\n");
    });
}

#[test]
fn a_stdin_to_stdout_filter() {
    each_backend("filter", |kind, module| {
        let text = "Hello, WASI!\nsecond line\n".repeat(1000);
        let out = run(kind, module, |b| {
            b.args(&["filter", "upper"])
                .stdin(MemoryInputPipe::new(text.clone()));
        });
        out.assert_status(0);
        assert_eq!(out.stdout, text.to_uppercase());
    });
}

#[test]
fn stdio_from_and_to_host_files() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.txt");
    let output = dir.path().join("out.txt");
    std::fs::write(&input, "from a file\n").unwrap();
    each_backend("filter", |kind, module| {
        let out = run(kind, module, |b| {
            b.args(&["filter", "upper"])
                .stdin(tandem_wasi::host_file(std::fs::File::open(&input).unwrap()))
                .stdout(tandem_wasi::host_file(
                    std::fs::File::create(&output).unwrap(),
                ));
        });
        out.assert_status(0);
        assert_eq!(std::fs::read_to_string(&output).unwrap(), "FROM A FILE\n");
    });
}

#[test]
fn files_and_directories() {
    each_backend("files", |kind, module| {
        let dir = tempfile::tempdir().unwrap();
        let out = run(kind, module, |b| {
            b.args(&["files", "/sandbox"])
                .preopened_dir(dir.path(), "/sandbox")
                .unwrap();
        });
        assert_eq!(
            out.stdout,
            "ok create, write, read back\nok seek\nok pread, pwrite, holes\nok append\n\
             ok truncate\nok rename files and directories\nok hard links\nok symbolic links\n\
             ok directories\nok readdir of 300 entries, cookies\nok stat and times\n\
             ok descriptor reuse and renumbering\nok rights\n"
        );
        out.assert_status(0);
        // The program's work is there on the host, where it should be.
        assert_eq!(
            std::fs::read_to_string(dir.path().join("d2/inner")).unwrap(),
            "in"
        );
        assert_eq!(
            std::fs::read_dir(dir.path().join("many")).unwrap().count(),
            300
        );
    });
}

#[test]
fn clocks_and_sleeping() {
    each_backend("clocks", |kind, module| {
        let out = run(kind, module, |_| {});
        out.assert_status(0);
        let mut lines = out.stdout.lines();
        let realtime: u64 = lines
            .next()
            .and_then(|l| l.strip_prefix("realtime "))
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("{}", out.stdout));
        let host = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        assert!(realtime.abs_diff(host) < 120, "{realtime} vs {host}");
        assert_eq!(lines.next(), Some("clocks ok"));
    });
}

/// A random source that counts up from 1, one byte at a time.
struct Counter(u8);

impl tandem_wasi::TryRng for Counter {
    type Error = std::convert::Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        let mut bytes = [0; 4];
        self.try_fill_bytes(&mut bytes)?;
        Ok(u32::from_le_bytes(bytes))
    }
    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        let mut bytes = [0; 8];
        self.try_fill_bytes(&mut bytes)?;
        Ok(u64::from_le_bytes(bytes))
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        for byte in dst {
            self.0 = self.0.wrapping_add(1);
            *byte = self.0;
        }
        Ok(())
    }
}

#[test]
fn randomness_and_a_source_of_the_embedders_choice() {
    each_backend("random", |kind, module| {
        let out = run(kind, module, |_| {});
        out.assert_status(0);
        assert_eq!(out.stdout, "random ok\n");
        let out = run(kind, module, |b| {
            b.args(&["random", "dump", "6"]).secure_random(Counter(0));
        });
        assert_eq!(out.stdout, "010203040506\n");
    });
}

#[test]
fn poll_oneoff_with_timers_and_descriptors() {
    let expected = "earlier timer fired\nabsolute timer fired\nstdin readable, stdout writable\n\
                    bad descriptor: EBADF\npoll: read ready\n";
    each_backend("poll", |kind, module| {
        // An OS pipe, which the host polls.
        let (reader, mut writer) = std::io::pipe().unwrap();
        writer.write_all(b"ready\n").unwrap();
        drop(writer);
        let stdin = std::fs::File::from(std::os::fd::OwnedFd::from(reader));
        let out = run(kind, module, |b| {
            b.stdin(tandem_wasi::host_file(stdin));
        });
        assert_eq!(out.stdout, expected);
        out.assert_status(0);
        // In-memory pipes (stdout is one in both runs) never block.
        let out = run(kind, module, |b| {
            b.stdin(MemoryInputPipe::new("ready\n"));
        });
        assert_eq!(out.stdout, expected);
        out.assert_status(0);
    });
}

#[test]
fn allocations_past_64_mib() {
    each_backend("alloc", |kind, module| {
        let out = run(kind, module, |_| {});
        out.assert_status(0);
        assert_eq!(out.stdout, "memory: 160 MiB\n");
    });
}

#[test]
fn sockets_handed_in_by_the_host() {
    each_backend("sockets", |kind, module| {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        let client = std::thread::spawn(move || {
            let mut stream = std::net::TcpStream::connect(address).unwrap();
            stream.write_all(b"hello, sockets\n").unwrap();
            let mut reply = String::new();
            stream.read_to_string(&mut reply).unwrap();
            reply
        });
        let out = run(kind, module, |b| {
            b.preopened_socket(3, listener);
        });
        assert_eq!(out.stdout, "served 15 bytes on descriptor 4\n");
        out.assert_status(0);
        assert_eq!(client.join().unwrap(), "HELLO, SOCKETS\n");
    });
}

#[test]
fn the_store_stays_usable_after_proc_exit() {
    for (kind, engine) in engines() {
        let module = program(*kind, "stdio_exit");
        let stdout = MemoryOutputPipe::new(1024);
        let mut linker = Linker::new(engine);
        tandem_wasi::add_to_linker(&mut linker, |host: &mut Host| &mut host.wasi).unwrap();
        let wasi = WasiCtxBuilder::new()
            .args(&["stdio_exit", "exit", "9"])
            .stdout(stdout.clone())
            .build()
            .unwrap();
        let mut store = Store::new(engine, Host { wasi });
        for _ in 0..2 {
            // A fresh instance in the same store, each exiting with 9.
            let instance = linker.instantiate(&mut store, &module).unwrap();
            let start = instance
                .get_typed_func::<(), ()>(&mut store, "_start")
                .unwrap();
            let err = start.call(&mut store, ()).unwrap_err();
            assert_eq!(
                err.downcast_ref::<I32Exit>(),
                Some(&I32Exit(9)),
                "{kind}: {err}"
            );
        }
        assert_eq!(stdout.contents(), b"to stdout\nto stdout\n", "{kind}");
    }
}

#[test]
fn hello_world() {
    each_backend("hello", |kind, module| {
        let out = run(kind, module, |_| {});
        out.assert_status(0);
        assert_eq!(out.stdout, "Hello, world!\n");
    });
}
