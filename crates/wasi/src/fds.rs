//! Descriptor numbers the way `wasmtime run` gives them out: a closed
//! number is reused (the highest freed one first), else the next number
//! past the highest open one. wasi-common's table never reuses a number, so
//! the calls that open a descriptor (`path_open`, `sock_accept`) move the
//! new entry to the number chosen here, and the calls that free one
//! (`fd_close`, `fd_renumber`) record it.

use crate::WasiCtx;
use crate::functions::WiggleResult;
use std::collections::BTreeSet;
use wasi_common::snapshots::preview_1::wasi_snapshot_preview1 as wiggle_p1;
use wiggle::{GuestMemory, GuestPtr};

/// Which descriptor numbers are open, and which were freed.
#[derive(Debug, Default)]
pub(crate) struct FdNumbers {
    open: BTreeSet<u32>,
    freed: BTreeSet<u32>,
}

impl FdNumbers {
    /// Records `fd` as open (stdio, preopens, sockets at build time).
    pub(crate) fn opened(&mut self, fd: u32) {
        self.open.insert(fd);
        self.freed.remove(&fd);
    }

    /// Whether `fd` is open.
    pub(crate) fn is_open(&self, fd: u32) -> bool {
        self.open.contains(&fd)
    }

    /// The lowest number not open (where preopens go, after stdio and any
    /// sockets placed by the embedder).
    pub(crate) fn lowest_unused(&self) -> u32 {
        (0..=u32::MAX)
            .find(|fd| !self.open.contains(fd))
            .unwrap_or(u32::MAX)
    }

    /// Records `fd` as closed.
    fn closed(&mut self, fd: u32) {
        if self.open.remove(&fd) {
            self.freed.insert(fd);
        }
    }

    /// The number a newly opened descriptor gets, not yet recorded: the
    /// highest freed number, else one past the highest open one, else the
    /// lowest unused one; `None` only if every number is open.
    fn next(&mut self, in_use: impl Fn(u32) -> bool) -> Option<u32> {
        while let Some(fd) = self.freed.pop_last() {
            if !in_use(fd) {
                return Some(fd);
            }
        }
        match self.open.last() {
            None => Some(0),
            Some(&last) => last
                .checked_add(1)
                .or_else(|| (0..u32::MAX).find(|fd| !self.open.contains(fd))),
        }
    }
}

/// Moves the descriptor wasi-common just opened (its number written at
/// `fd_out`) to the number [`FdNumbers`] picks, and writes that instead.
fn renumber_new(ctx: &mut WasiCtx, memory: &mut GuestMemory<'_>, fd_out: i32) -> WiggleResult<()> {
    let out = GuestPtr::<u32>::new(fd_out as u32);
    let opened = memory.read(out)?;
    let table = ctx.inner.table();
    let wanted = ctx
        .fds
        .next(|fd| fd != opened && table.contains_key(fd))
        .unwrap_or(opened);
    if wanted != opened && !table.contains_key(wanted) {
        table.renumber(opened, wanted)?;
        memory.write(out, wanted)?;
        ctx.fds.opened(wanted);
    } else {
        ctx.fds.opened(opened);
    }
    Ok(())
}

/// `path_open`, numbering the new descriptor as wasmtime does.
#[allow(clippy::too_many_arguments, reason = "the witx signature")]
pub(crate) async fn path_open(
    ctx: &mut WasiCtx,
    memory: &mut GuestMemory<'_>,
    fd: i32,
    dirflags: i32,
    path: i32,
    path_len: i32,
    oflags: i32,
    rights_base: i64,
    rights_inheriting: i64,
    fdflags: i32,
    fd_out: i32,
) -> WiggleResult<i32> {
    // Checked first: a bad result pointer found after the open would leave
    // a descriptor the program cannot know of.
    memory.read(GuestPtr::<u32>::new(fd_out as u32))?;
    let errno = wiggle_p1::path_open(
        &mut ctx.inner,
        memory,
        fd,
        dirflags,
        path,
        path_len,
        oflags,
        rights_base,
        rights_inheriting,
        fdflags,
        fd_out,
    )
    .await?;
    if errno == 0 {
        renumber_new(ctx, memory, fd_out)?;
    }
    Ok(errno)
}

/// `sock_accept`, numbering the new descriptor as wasmtime does.
pub(crate) async fn sock_accept(
    ctx: &mut WasiCtx,
    memory: &mut GuestMemory<'_>,
    fd: i32,
    flags: i32,
    fd_out: i32,
) -> WiggleResult<i32> {
    memory.read(GuestPtr::<u32>::new(fd_out as u32))?;
    let errno = wiggle_p1::sock_accept(&mut ctx.inner, memory, fd, flags, fd_out).await?;
    if errno == 0 {
        renumber_new(ctx, memory, fd_out)?;
    }
    Ok(errno)
}

/// `fd_close`, freeing the number.
pub(crate) async fn fd_close(
    ctx: &mut WasiCtx,
    memory: &mut GuestMemory<'_>,
    fd: i32,
) -> WiggleResult<i32> {
    let errno = wiggle_p1::fd_close(&mut ctx.inner, memory, fd).await?;
    if errno == 0 {
        ctx.fds.closed(fd as u32);
    }
    Ok(errno)
}

/// `fd_renumber`: `fd` is freed, `to` stays open with `fd`'s entry.
pub(crate) async fn fd_renumber(
    ctx: &mut WasiCtx,
    memory: &mut GuestMemory<'_>,
    fd: i32,
    to: i32,
) -> WiggleResult<i32> {
    let errno = wiggle_p1::fd_renumber(&mut ctx.inner, memory, fd, to).await?;
    if errno == 0 && fd != to {
        ctx.fds.closed(fd as u32);
        ctx.fds.opened(to as u32);
    }
    Ok(errno)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn numbers(open: &[u32]) -> FdNumbers {
        let mut fds = FdNumbers::default();
        for &fd in open {
            fds.opened(fd);
        }
        fds
    }

    #[test]
    fn reuses_the_highest_freed_number_first() {
        let mut fds = numbers(&[0, 1, 2, 3, 4, 5]);
        fds.closed(3);
        fds.closed(4);
        assert_eq!(fds.next(|_| false), Some(4));
        fds.opened(4);
        assert_eq!(fds.next(|_| false), Some(3));
        fds.opened(3);
        assert_eq!(fds.next(|_| false), Some(6));
    }

    #[test]
    fn past_the_top_then_any_gap() {
        assert_eq!(FdNumbers::default().next(|_| false), Some(0));
        let mut fds = numbers(&[0, 1, 2, u32::MAX]);
        assert_eq!(fds.next(|_| false), Some(3));
    }

    #[test]
    fn a_freed_number_still_in_use_is_skipped() {
        let mut fds = numbers(&[0, 1, 2, 3, 4]);
        fds.closed(4);
        fds.closed(3);
        assert_eq!(fds.next(|fd| fd == 4), Some(3));
    }

    proptest! {
        /// Whatever the sequence of opens and closes, a new number is never
        /// one that is open.
        #[test]
        fn never_hands_out_an_open_number(
            ops in proptest::collection::vec((any::<bool>(), 0u32..12), 0..64)
        ) {
            let mut fds = numbers(&[0, 1, 2]);
            for (open, pick) in ops {
                if open {
                    let fd = fds.next(|_| false).unwrap();
                    prop_assert!(!fds.open.contains(&fd));
                    fds.opened(fd);
                } else {
                    fds.closed(pick);
                }
            }
        }
    }
}
