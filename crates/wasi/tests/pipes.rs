//! Pipes: any bytes a host feeds a program come out unchanged (the `cat`
//! mode of `filter.c`), through in-memory pipes and OS pipes alike, and an
//! in-memory output pipe keeps at most its capacity.

mod common;

use common::{engines, program, run};
use proptest::prelude::*;
use std::io::Write;
use tandem_wasi::{MemoryInputPipe, MemoryOutputPipe};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Any byte string (empty, binary, longer than the program's 4 KiB
    /// buffer) round-trips through stdin and stdout.
    #[test]
    fn any_bytes_round_trip(bytes in proptest::collection::vec(any::<u8>(), 0..20_000)) {
        for (kind, _) in engines() {
            let module = program(*kind, "filter");
            let out = run(*kind, &module, |b| {
                b.args(&["filter", "cat"]).stdin(MemoryInputPipe::new(bytes.clone()));
            });
            prop_assert_eq!(out.status, Some(0));
            prop_assert_eq!(&out.stdout_bytes, &bytes);

            // The same through an OS pipe, written while the program reads.
            let (reader, mut writer) = std::io::pipe().unwrap();
            let feed = bytes.clone();
            let feeder = std::thread::spawn(move || writer.write_all(&feed).unwrap());
            let stdin = std::fs::File::from(std::os::fd::OwnedFd::from(reader));
            let out = run(*kind, &module, |b| {
                b.args(&["filter", "cat"]).stdin(tandem_wasi::host_file(stdin));
            });
            feeder.join().unwrap();
            prop_assert_eq!(out.status, Some(0));
            prop_assert_eq!(&out.stdout_bytes, &bytes);
        }
    }
}

#[test]
fn an_output_pipe_keeps_at_most_its_capacity() {
    for (kind, _) in engines() {
        let module = program(*kind, "filter");
        let small = MemoryOutputPipe::new(10);
        let out = run(*kind, &module, |b| {
            b.args(&["filter", "cat"])
                .stdin(MemoryInputPipe::new("0123456789abcdef"))
                .stdout(small.clone());
        });
        // The write is cut to what fits; the next one fails (EIO), and the
        // filter reports it.
        assert_eq!(small.contents(), b"0123456789", "{kind}");
        assert_eq!(out.status, Some(1), "{kind}: {out:?}");
    }
}
