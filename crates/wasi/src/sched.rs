//! [`Sched`]: `poll_oneoff`, `sched_yield` and sleeping. It is
//! wasi-common's `sync` scheduler (`poll(2)` on the descriptors, the
//! earliest timer as the timeout) with one difference a program can see:
//! a file with no OS descriptor behind it — an in-memory pipe, or any
//! [`WasiFile`](wasi_common::WasiFile) an embedder writes — never blocks,
//! so it is reported ready at once instead of failing the whole call with
//! `EINVAL` (`wasmtime run` reports its in-memory pipes ready too). Only
//! descriptors `poll(2)` actually flagged are reported, never the others.

use rustix::event::{PollFd, PollFlags};
use wasi_common::sched::subscription::{RwEventFlags, Subscription};
use wasi_common::sched::{Poll, WasiSched};
use wasi_common::{Error, ErrorExt};

/// The scheduler of every [`WasiCtx`](crate::WasiCtx).
pub(crate) struct Sched;

#[async_trait::async_trait]
impl WasiSched for Sched {
    async fn poll_oneoff<'a>(&self, poll: &mut Poll<'a>) -> Result<(), Error> {
        poll_oneoff(poll)
    }

    async fn sched_yield(&self) -> Result<(), Error> {
        std::thread::yield_now();
        Ok(())
    }

    async fn sleep(&self, duration: std::time::Duration) -> Result<(), Error> {
        std::thread::sleep(duration);
        Ok(())
    }
}

/// Waits until a descriptor is ready or the earliest timer expires, and
/// completes the subscriptions that are ready (timers complete themselves
/// when the results are read).
fn poll_oneoff(poll: &mut Poll<'_>) -> Result<(), Error> {
    let mut fds = Vec::new();
    let mut always_ready = false;
    for subscription in poll.rw_subscriptions() {
        let (sub, flags) = match subscription {
            Subscription::Read(sub) => (sub, PollFlags::IN),
            Subscription::Write(sub) => (sub, PollFlags::OUT),
            Subscription::MonotonicClock(_) => continue,
        };
        let file = sub.file;
        match file.pollable() {
            Some(fd) => fds.push(PollFd::from_borrowed_fd(fd, flags)),
            None => always_ready = true,
        }
    }
    let ready = loop {
        let timeout = if always_ready {
            Some(std::time::Duration::ZERO)
        } else {
            poll.earliest_clock_deadline()
                .map(|timer| timer.duration_until().unwrap_or_default())
        };
        let timeout = timeout
            .map(rustix::event::Timespec::try_from)
            .transpose()
            .map_err(|_| Error::overflow().context("poll timeout"))?;
        match rustix::event::poll(&mut fds, timeout.as_ref()) {
            Ok(ready) => break ready,
            Err(rustix::io::Errno::INTR) => continue,
            Err(err) => return Err(std::io::Error::from(err).into()),
        }
    };
    if ready == 0 && !always_ready {
        return Ok(());
    }
    let mut revents = fds.iter().map(|fd| fd.revents());
    for subscription in poll.rw_subscriptions() {
        let (sub, read) = match subscription {
            Subscription::Read(sub) => (sub, true),
            Subscription::Write(sub) => (sub, false),
            Subscription::MonotonicClock(_) => continue,
        };
        let ready_bytes = |sub: &wasi_common::sched::RwSubscription<'_>| -> Result<u64, Error> {
            if read {
                Ok(sub.file.num_ready_bytes()?.max(1))
            } else {
                Ok(0)
            }
        };
        if sub.file.pollable().is_none() {
            let bytes = if read { sub.file.num_ready_bytes()? } else { 0 };
            sub.complete(bytes, RwEventFlags::empty());
            continue;
        }
        let flags = revents.next().unwrap_or_else(PollFlags::empty);
        if flags.contains(PollFlags::NVAL) {
            sub.error(Error::badf());
        } else if flags.contains(PollFlags::ERR) {
            sub.error(Error::io());
        } else if flags.contains(PollFlags::HUP) {
            let bytes = ready_bytes(sub)?;
            sub.complete(bytes, RwEventFlags::HANGUP);
        } else if !flags.is_empty() {
            let bytes = ready_bytes(sub)?;
            sub.complete(bytes, RwEventFlags::empty());
        }
    }
    Ok(())
}
