//! The functions of `wasi_snapshot_preview1`, listed once in
//! [`foreach_preview1_function!`], and [`add_to_linker`], which defines each
//! on a [`Linker`] as a call of wasi-common's wiggle-generated function of
//! the same name (or of a hook here that wraps it).

use crate::{I32Exit, WasiCtx};
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use tandem_store::{Caller, Error, Extern, Linker, Result, bail, format_err};
use wasi_common::snapshots::preview_1::types::Errno;
use wasi_common::snapshots::preview_1::wasi_snapshot_preview1 as wiggle_p1;
use wiggle::{GuestError, GuestMemory};

/// Calls `$mac!` with every function of `wasi_snapshot_preview1`, in the
/// witx's order, one row each:
///
/// ```text
/// name(param: wasm_type, ...);                 wasi-common's function
/// name(param: wasm_type, ...) via path::hook;  an async fn of this crate, same
///                                              parameters after (ctx, memory)
/// ```
///
/// Parameters are the Wasm-level ones (pointers and lengths as `i32`,
/// 64-bit quantities as `i64`, results through trailing out-pointers); the
/// compiler checks each row against the function it calls. Every function
/// returns an `i32` errno except `proc_exit`, which never returns.
macro_rules! foreach_preview1_function {
    ($mac:ident) => {
        $mac! {
            args_get(argv: i32, argv_buf: i32);
            args_sizes_get(argc_out: i32, argv_buf_size_out: i32);
            environ_get(environ: i32, environ_buf: i32);
            environ_sizes_get(count_out: i32, buf_size_out: i32);
            clock_res_get(id: i32, resolution_out: i32);
            clock_time_get(id: i32, precision: i64, time_out: i32);
            fd_advise(fd: i32, offset: i64, len: i64, advice: i32);
            fd_allocate(fd: i32, offset: i64, len: i64);
            fd_close(fd: i32) via crate::fds::fd_close;
            fd_datasync(fd: i32);
            fd_fdstat_get(fd: i32, stat_out: i32);
            fd_fdstat_set_flags(fd: i32, flags: i32);
            fd_fdstat_set_rights(fd: i32, rights_base: i64, rights_inheriting: i64);
            fd_filestat_get(fd: i32, stat_out: i32);
            fd_filestat_set_size(fd: i32, size: i64);
            fd_filestat_set_times(fd: i32, atim: i64, mtim: i64, fst_flags: i32);
            fd_pread(fd: i32, iovs: i32, iovs_len: i32, offset: i64, nread_out: i32)
                via crate::arrays::fd_pread;
            fd_prestat_get(fd: i32, prestat_out: i32);
            fd_prestat_dir_name(fd: i32, path: i32, path_len: i32);
            fd_pwrite(fd: i32, iovs: i32, iovs_len: i32, offset: i64, nwritten_out: i32)
                via crate::arrays::fd_pwrite;
            fd_read(fd: i32, iovs: i32, iovs_len: i32, nread_out: i32) via crate::arrays::fd_read;
            fd_readdir(fd: i32, buf: i32, buf_len: i32, cookie: i64, size_out: i32);
            fd_renumber(fd: i32, to: i32) via crate::fds::fd_renumber;
            fd_seek(fd: i32, offset: i64, whence: i32, offset_out: i32);
            fd_sync(fd: i32);
            fd_tell(fd: i32, offset_out: i32);
            fd_write(fd: i32, iovs: i32, iovs_len: i32, nwritten_out: i32)
                via crate::arrays::fd_write;
            path_create_directory(fd: i32, path: i32, path_len: i32);
            path_filestat_get(fd: i32, flags: i32, path: i32, path_len: i32, stat_out: i32);
            path_filestat_set_times(
                fd: i32, flags: i32, path: i32, path_len: i32, atim: i64, mtim: i64,
                fst_flags: i32
            );
            path_link(
                old_fd: i32, old_flags: i32, old_path: i32, old_path_len: i32, new_fd: i32,
                new_path: i32, new_path_len: i32
            );
            path_open(
                fd: i32, dirflags: i32, path: i32, path_len: i32, oflags: i32, rights_base: i64,
                rights_inheriting: i64, fdflags: i32, fd_out: i32
            ) via crate::fds::path_open;
            path_readlink(fd: i32, path: i32, path_len: i32, buf: i32, buf_len: i32, size_out: i32);
            path_remove_directory(fd: i32, path: i32, path_len: i32);
            path_rename(
                fd: i32, old_path: i32, old_path_len: i32, new_fd: i32, new_path: i32,
                new_path_len: i32
            );
            path_symlink(old_path: i32, old_path_len: i32, fd: i32, new_path: i32, new_path_len: i32);
            path_unlink_file(fd: i32, path: i32, path_len: i32);
            poll_oneoff(subscriptions: i32, events_out: i32, count: i32, nevents_out: i32)
                via crate::arrays::poll_oneoff;
            proc_exit(status: i32);
            proc_raise(signal: i32) via proc_raise;
            sched_yield();
            random_get(buf: i32, buf_len: i32);
            sock_accept(fd: i32, flags: i32, fd_out: i32) via crate::fds::sock_accept;
            sock_recv(
                fd: i32, iovs: i32, iovs_len: i32, ri_flags: i32, size_out: i32, ro_flags_out: i32
            ) via crate::arrays::sock_recv;
            sock_send(fd: i32, iovs: i32, iovs_len: i32, si_flags: i32, size_out: i32)
                via crate::arrays::sock_send;
            sock_shutdown(fd: i32, how: i32);
        }
    };
}

macro_rules! names {
    ($($name:ident($($arg:ident: $ty:ty),* $(,)?) $(via $hook:path)?;)*) => {
        /// The name of every function [`add_to_linker`] defines, in the
        /// witx's order.
        pub const PREVIEW1_FUNCTIONS: &[&str] = &[$(stringify!($name)),*];

        /// Each function's Wasm parameter types, as the rows spell them.
        #[cfg(test)]
        const SIGNATURES: &[(&str, &[&str])] = &[$((stringify!($name), &[$(stringify!($ty)),*])),*];
    };
}
foreach_preview1_function!(names);

/// Defines every function of `wasi_snapshot_preview1` on `linker`; `get`
/// finds the [`WasiCtx`] in the store's data. The calling instance must
/// export its memory as `memory`.
///
/// # Errors
///
/// If `linker` already defines one of the names (and does not allow
/// shadowing).
pub fn add_to_linker<T: 'static>(
    linker: &mut Linker<T>,
    get: impl Fn(&mut T) -> &mut WasiCtx + Send + Sync + Copy + 'static,
) -> Result<()> {
    macro_rules! define {
        ($($name:ident($($arg:ident: $ty:ty),* $(,)?) $(via $hook:path)?;)*) => {$(
            linker.func_wrap(
                crate::MODULE,
                stringify!($name),
                move |mut caller: Caller<'_, T>, $($arg: $ty),*| {
                    let (memory, data) = guest_memory(&mut caller)?;
                    let ctx = get(data);
                    let mut memory = GuestMemory::Unshared(memory);
                    let memory = &mut memory;
                    finish(block_on(define!(@call $name, ctx, memory, ($($arg),*) $($hook)?)))
                },
            )?;
        )*};
        (@call $name:ident, $ctx:ident, $memory:ident, ($($arg:ident),*)) => {
            wiggle_p1::$name(&mut $ctx.inner, $memory, $($arg),*)
        };
        (@call $name:ident, $ctx:ident, $memory:ident, ($($arg:ident),*) $hook:path) => {
            $hook($ctx, $memory, $($arg),*)
        };
    }
    foreach_preview1_function!(define);
    Ok(())
}

/// The calling instance's memory and the store's data, both mutably.
fn guest_memory<'a, T: 'static>(
    caller: &'a mut Caller<'_, T>,
) -> Result<(&'a mut [u8], &'a mut T)> {
    let Some(Extern::Memory(memory)) = caller.get_export("memory") else {
        bail!("a WASI call needs the caller to export its memory as `memory`");
    };
    Ok(memory.data_and_store_mut(caller.store()))
}

/// What the wiggle functions return: an errno (or nothing) for the guest,
/// or an error that ends the call.
pub(crate) type WiggleResult<T> = wiggle::error::Result<T>;

/// The call's result for the guest, or the error that ends the call:
/// [`I32Exit`] for `proc_exit`, else wasi-common's message. A bad pointer
/// or argument value (a [`GuestError`]) is the guest's errno, not a trap:
/// the WASI docs and wasmtime trap there, but Tandem promises errnos for
/// whatever a program passes.
fn finish<R: FromErrno>(result: Result<WiggleResult<R>>) -> Result<R> {
    result?.or_else(|err| {
        if let Some(exit) = err.downcast_ref::<wasi_common::I32Exit>() {
            return Err(Error::new(I32Exit(exit.0)));
        }
        let errno = err.downcast_ref::<GuestError>().map(guest_errno);
        match errno.and_then(R::from_errno) {
            Some(result) => Ok(result),
            None => Err(Error::from_boxed(err.into())),
        }
    })
}

/// The errno of a bad pointer or value: `EFAULT` out of bounds, `EINVAL`
/// misaligned or not a value of its type, `EILSEQ` not UTF-8.
fn guest_errno(err: &GuestError) -> Errno {
    match err {
        GuestError::PtrOverflow
        | GuestError::PtrOutOfBounds(_)
        | GuestError::SliceLengthsDiffer => Errno::Fault,
        GuestError::PtrNotAligned(..)
        | GuestError::InvalidFlagValue(_)
        | GuestError::InvalidEnumValue(_) => Errno::Inval,
        GuestError::InvalidUtf8(_) => Errno::Ilseq,
        GuestError::TryFromIntError(_) => Errno::Overflow,
        GuestError::InFunc { err, .. } => guest_errno(err),
    }
}

/// A function's result type, which an errno may stand for (`i32`), or
/// not (`proc_exit`'s, which has none).
trait FromErrno: Sized {
    fn from_errno(errno: Errno) -> Option<Self>;
}

impl FromErrno for i32 {
    fn from_errno(errno: Errno) -> Option<i32> {
        Some(errno as i32)
    }
}

impl FromErrno for () {
    fn from_errno(_: Errno) -> Option<()> {
        None
    }
}

/// Runs a wasi-common future to completion in place. The `sync`
/// implementations block inside `poll` and are never pending; one that is
/// would wait for an executor this crate does not have, so it ends the
/// call with an error instead of spinning.
fn block_on<F: Future>(future: F) -> Result<F::Output> {
    let mut future = pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => Ok(output),
        Poll::Pending => Err(format_err!(
            "a WASI call would have to wait for an async executor"
        )),
    }
}

/// `proc_raise`: no signals are delivered; `ENOTSUP`, as `wasmtime run`
/// answers (wasi-common traps instead).
async fn proc_raise(
    _ctx: &mut WasiCtx,
    _memory: &mut GuestMemory<'_>,
    _signal: i32,
) -> WiggleResult<i32> {
    Ok(Errno::Notsup as i32)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The rows against the witx wasi-common was generated from: every
    /// function, in order, with the same Wasm parameters and one `i32`
    /// errno result (none for `proc_exit`).
    #[test]
    fn rows_match_the_witx() {
        let doc = wasi_common::snapshots::preview_1::metadata::document();
        let module = doc.modules().next().expect("one module");
        assert_eq!(module.name.as_str(), crate::MODULE);
        let mut witx = Vec::new();
        for func in module.funcs() {
            let (params, results) = func.wasm_signature();
            let params: Vec<String> = params
                .iter()
                .map(|p| format!("{p:?}").to_lowercase())
                .collect();
            let results: Vec<String> = results
                .iter()
                .map(|r| format!("{r:?}").to_lowercase())
                .collect();
            let expected_results: &[&str] = if func.name.as_str() == "proc_exit" {
                &[]
            } else {
                &["i32"]
            };
            assert_eq!(results, expected_results, "{}", func.name.as_str());
            witx.push((func.name.as_str().to_string(), params));
        }
        let rows: Vec<(String, Vec<String>)> = SIGNATURES
            .iter()
            .map(|(name, params)| {
                (
                    name.to_string(),
                    params.iter().map(|p| p.to_string()).collect(),
                )
            })
            .collect();
        assert_eq!(rows, witx);
        assert_eq!(PREVIEW1_FUNCTIONS.len(), 46);
    }
}
