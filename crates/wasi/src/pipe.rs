//! In-memory stdio: [`MemoryInputPipe`] feeds a program bytes the host
//! holds, [`MemoryOutputPipe`] collects what it writes. Both behave like
//! pipes (no seeking, `ESPIPE`), and clones share their buffer, so the host
//! keeps a clone to fill or read while the program runs.

use std::any::Any;
use std::io::{IoSlice, IoSliceMut, Read};
use std::sync::{Arc, Mutex, MutexGuard};
use wasi_common::file::{FdFlags, FileType};
use wasi_common::{Error, ErrorExt, WasiFile};

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock leaves plain bytes behind; keep going.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Bytes a program reads, e.g. as its stdin; at their end reads return 0.
///
/// ```
/// use tandem_wasi::{MemoryInputPipe, WasiCtxBuilder};
/// let ctx = WasiCtxBuilder::new().stdin(MemoryInputPipe::new("line one\n")).build().unwrap();
/// # drop(ctx);
/// ```
#[derive(Clone, Debug)]
pub struct MemoryInputPipe {
    bytes: Arc<Mutex<std::io::Cursor<Vec<u8>>>>,
}

impl MemoryInputPipe {
    /// A pipe that yields `bytes`, then end of file.
    pub fn new(bytes: impl Into<Vec<u8>>) -> MemoryInputPipe {
        MemoryInputPipe {
            bytes: Arc::new(Mutex::new(std::io::Cursor::new(bytes.into()))),
        }
    }

    fn unread(&self) -> u64 {
        let cursor = lock(&self.bytes);
        (cursor.get_ref().len() as u64).saturating_sub(cursor.position())
    }
}

#[async_trait::async_trait]
impl WasiFile for MemoryInputPipe {
    fn as_any(&self) -> &dyn Any {
        self
    }
    async fn get_filetype(&self) -> Result<FileType, Error> {
        Ok(FileType::Pipe)
    }
    async fn read_vectored<'a>(&self, bufs: &mut [IoSliceMut<'a>]) -> Result<u64, Error> {
        let read = lock(&self.bytes).read_vectored(bufs)?;
        Ok(read as u64)
    }
    async fn read_vectored_at<'a>(
        &self,
        _bufs: &mut [IoSliceMut<'a>],
        _offset: u64,
    ) -> Result<u64, Error> {
        Err(Error::seek_pipe())
    }
    async fn seek(&self, _pos: std::io::SeekFrom) -> Result<u64, Error> {
        Err(Error::seek_pipe())
    }
    fn num_ready_bytes(&self) -> Result<u64, Error> {
        Ok(self.unread())
    }
}

/// Collects what a program writes, e.g. to its stdout, up to a capacity;
/// a write that does not fit is cut to what does, and once full a write
/// fails with `EIO`.
///
/// ```
/// use tandem_wasi::{MemoryOutputPipe, WasiCtxBuilder};
/// let stdout = MemoryOutputPipe::new(4096);
/// let ctx = WasiCtxBuilder::new().stdout(stdout.clone()).build().unwrap();
/// // ... run the program with `ctx` ...
/// assert!(stdout.contents().is_empty());
/// # drop(ctx);
/// ```
#[derive(Clone, Debug)]
pub struct MemoryOutputPipe {
    capacity: usize,
    bytes: Arc<Mutex<Vec<u8>>>,
}

impl MemoryOutputPipe {
    /// An empty pipe that holds at most `capacity` bytes.
    pub fn new(capacity: usize) -> MemoryOutputPipe {
        MemoryOutputPipe {
            capacity,
            bytes: Arc::new(Mutex::new(Vec::new())),
        }
    }

    /// Everything written so far.
    pub fn contents(&self) -> Vec<u8> {
        lock(&self.bytes).clone()
    }
}

#[async_trait::async_trait]
impl WasiFile for MemoryOutputPipe {
    fn as_any(&self) -> &dyn Any {
        self
    }
    async fn get_filetype(&self) -> Result<FileType, Error> {
        Ok(FileType::Pipe)
    }
    async fn get_fdflags(&self) -> Result<FdFlags, Error> {
        Ok(FdFlags::APPEND)
    }
    async fn write_vectored<'a>(&self, bufs: &[IoSlice<'a>]) -> Result<u64, Error> {
        let mut bytes = lock(&self.bytes);
        let room = self.capacity.saturating_sub(bytes.len());
        let wanted: usize = bufs.iter().map(|buf| buf.len()).sum();
        if room == 0 && wanted > 0 {
            return Err(Error::io().context("the in-memory pipe is full"));
        }
        let mut written = 0;
        for buf in bufs {
            let take = buf.len().min(room - written);
            bytes.extend_from_slice(&buf[..take]);
            written += take;
        }
        Ok(written as u64)
    }
    async fn write_vectored_at<'a>(
        &self,
        _bufs: &[IoSlice<'a>],
        _offset: u64,
    ) -> Result<u64, Error> {
        Err(Error::seek_pipe())
    }
    async fn seek(&self, _pos: std::io::SeekFrom) -> Result<u64, Error> {
        Err(Error::seek_pipe())
    }
}
