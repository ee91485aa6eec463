//! The calls that take an array from the guest: its whole extent must lie
//! in guest memory and be aligned (else `EFAULT` or `EINVAL`) before any of
//! it is read, so a claimed length never makes the host allocate anything.
//!
//! Of an iovec array (`fd_read`, `fd_write`, `fd_pread`, `fd_pwrite`,
//! `sock_recv`, `sock_send`) only the first [`IOV_MAX`] entries are used, as
//! a short read or write: wasi-common collects every entry into host
//! vectors before the I/O, so millions of empty iovecs would make the host
//! allocate several times the guest's own memory. POSIX caps
//! `readv`/`writev` at `IOV_MAX` too (1024 on Linux), and a short count is a
//! result every caller already handles. `poll_oneoff` uses every
//! subscription; its host state is about the size of the guest's.

use crate::WasiCtx;
use crate::functions::WiggleResult;
use wasi_common::snapshots::preview_1::types::Errno;
use wasi_common::snapshots::preview_1::wasi_snapshot_preview1 as wiggle_p1;
use wiggle::{GuestMemory, GuestPtr};

/// The most iovecs one call uses.
pub(crate) const IOV_MAX: i32 = 1024;

/// Bytes and alignment of one iovec (a pointer and a length).
const IOVEC: (u32, u32) = (8, 4);

/// Bytes and alignment of one `poll_oneoff` subscription and event.
const SUBSCRIPTION: (u32, u32) = (48, 8);
const EVENT: (u32, u32) = (32, 8);

/// Checks that `len` elements of `(size, align)` at `at` lie in guest
/// memory, aligned; the errno if not. An empty array is never looked at.
fn check(
    memory: &GuestMemory<'_>,
    at: i32,
    len: i32,
    (size, align): (u32, u32),
) -> Result<(), i32> {
    if len == 0 {
        return Ok(());
    }
    let bytes = (len as u32).checked_mul(size).ok_or(Errno::Fault as i32)?;
    if !(at as u32).is_multiple_of(align) {
        return Err(Errno::Inval as i32);
    }
    match memory.as_cow(GuestPtr::<[u8]>::new((at as u32, bytes))) {
        Ok(_) => Ok(()),
        Err(_) => Err(Errno::Fault as i32),
    }
}

/// Checks an iovec array; how many of its iovecs the call uses.
fn checked(memory: &GuestMemory<'_>, iovs: i32, len: i32) -> Result<i32, i32> {
    check(memory, iovs, len, IOVEC)?;
    Ok((len as u32).min(IOV_MAX as u32) as i32)
}

/// `poll_oneoff` with both of its arrays checked first.
pub(crate) async fn poll_oneoff(
    ctx: &mut WasiCtx,
    memory: &mut GuestMemory<'_>,
    subscriptions: i32,
    events_out: i32,
    count: i32,
    nevents_out: i32,
) -> WiggleResult<i32> {
    let checked = check(memory, subscriptions, count, SUBSCRIPTION)
        .and_then(|()| check(memory, events_out, count, EVENT));
    match checked {
        Ok(()) => {
            let inner = &mut ctx.inner;
            wiggle_p1::poll_oneoff(inner, memory, subscriptions, events_out, count, nevents_out)
                .await
        }
        Err(errno) => Ok(errno),
    }
}

/// Defines a hook that checks the iovec array, then calls wasi-common's
/// function with at most [`IOV_MAX`] iovecs.
macro_rules! iovec_call {
    ($($name:ident($fd:ident, $iovs:ident, $len:ident $(, $rest:ident: $ty:ty)*);)*) => {$(
        #[doc = concat!("`", stringify!($name), "` with its iovecs checked and capped.")]
        #[allow(clippy::too_many_arguments, reason = "the witx signature")]
        pub(crate) async fn $name(
            ctx: &mut WasiCtx,
            memory: &mut GuestMemory<'_>,
            $fd: i32,
            $iovs: i32,
            $len: i32,
            $($rest: $ty),*
        ) -> WiggleResult<i32> {
            match checked(memory, $iovs, $len) {
                Ok($len) => {
                    wiggle_p1::$name(&mut ctx.inner, memory, $fd, $iovs, $len $(, $rest)*).await
                }
                Err(errno) => Ok(errno),
            }
        }
    )*};
}

iovec_call! {
    fd_read(fd, iovs, iovs_len, nread_out: i32);
    fd_write(fd, iovs, iovs_len, nwritten_out: i32);
    fd_pread(fd, iovs, iovs_len, offset: i64, nread_out: i32);
    fd_pwrite(fd, iovs, iovs_len, offset: i64, nwritten_out: i32);
    sock_recv(fd, iovs, iovs_len, ri_flags: i32, size_out: i32, ro_flags_out: i32);
    sock_send(fd, iovs, iovs_len, si_flags: i32, size_out: i32);
}
