//! [`WasiCtx`], what a WASI program sees of the world, and
//! [`WasiCtxBuilder`], which is the only way to give it anything: nothing
//! of the host (args, env, stdio, files, sockets) is inherited unless asked.

use crate::fds::FdNumbers;
use std::path::Path;
use tandem_store::{Result, bail, format_err};
use wasi_common::clocks::{WasiClocks, WasiMonotonicOffsetClock};
use wasi_common::file::FileAccessMode;
use wasi_common::pipe::{ReadPipe, WritePipe};
use wasi_common::sync::net::Socket;
use wasi_common::{TryRng, WasiFile, WasiMonotonicClock, WasiSystemClock};

/// One program's WASI state: its args and env, its descriptor table
/// (stdio, preopened directories and sockets, what it opened since), its
/// clocks and its random source. Built by [`WasiCtxBuilder`]; kept in the
/// store's data and found by the getter given to
/// [`add_to_linker`](crate::add_to_linker).
pub struct WasiCtx {
    pub(crate) inner: wasi_common::WasiCtx,
    pub(crate) fds: FdNumbers,
}

impl WasiCtx {
    /// A builder with nothing in it.
    pub fn builder() -> WasiCtxBuilder {
        WasiCtxBuilder::new()
    }
}

impl std::fmt::Debug for WasiCtx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WasiCtx").field("fds", &self.fds).finish()
    }
}

/// A secure random source as wasi-common takes it.
type Random = Box<dyn rand_core::Rng + Send + Sync>;

/// Builds a [`WasiCtx`]. By default the program gets no args, no env, an
/// empty stdin, stdout and stderr that discard what is written, no
/// directories, the host's clocks and a cryptographically secure random
/// source.
///
/// ```
/// use tandem_wasi::{MemoryInputPipe, WasiCtxBuilder};
/// let dir = std::env::temp_dir();
/// let ctx = WasiCtxBuilder::new()
///     .args(&["prog", "--verbose"])
///     .env("LANG", "C")
///     .stdin(MemoryInputPipe::new("input"))
///     .inherit_stdout()
///     .preopened_dir(&dir, "/tmp").unwrap()
///     .build()
///     .unwrap();
/// # drop(ctx);
/// ```
pub struct WasiCtxBuilder {
    args: Vec<String>,
    env: Vec<(String, String)>,
    stdin: Box<dyn WasiFile>,
    stdout: Box<dyn WasiFile>,
    stderr: Box<dyn WasiFile>,
    preopens: Vec<(cap_std::fs::Dir, String)>,
    sockets: Vec<(u32, Socket)>,
    wall_clock: Box<dyn WasiSystemClock>,
    monotonic_clock: Box<dyn WasiMonotonicClock>,
    random: Random,
}

impl Default for WasiCtxBuilder {
    fn default() -> Self {
        WasiCtxBuilder::new()
    }
}

impl WasiCtxBuilder {
    /// A builder that gives the program nothing (see the type's docs).
    pub fn new() -> WasiCtxBuilder {
        let authority = cap_std::ambient_authority();
        WasiCtxBuilder {
            args: Vec::new(),
            env: Vec::new(),
            stdin: Box::new(ReadPipe::new(std::io::empty())),
            stdout: Box::new(WritePipe::new(std::io::sink())),
            stderr: Box::new(WritePipe::new(std::io::sink())),
            preopens: Vec::new(),
            sockets: Vec::new(),
            wall_clock: Box::new(wasi_common::sync::clocks::SystemClock::new(authority)),
            monotonic_clock: Box::new(wasi_common::sync::clocks::MonotonicClock::new(authority)),
            random: wasi_common::sync::random_ctx(),
        }
    }

    /// Appends one argument (the first is the program's name, `argv[0]`).
    pub fn arg(&mut self, arg: impl AsRef<str>) -> &mut Self {
        self.args.push(arg.as_ref().to_string());
        self
    }

    /// Appends arguments.
    pub fn args(&mut self, args: &[impl AsRef<str>]) -> &mut Self {
        self.args
            .extend(args.iter().map(|arg| arg.as_ref().to_string()));
        self
    }

    /// Appends this process's arguments.
    pub fn inherit_args(&mut self) -> &mut Self {
        self.args.extend(std::env::args());
        self
    }

    /// Sets the environment variable `name` to `value`.
    pub fn env(&mut self, name: impl AsRef<str>, value: impl AsRef<str>) -> &mut Self {
        self.env
            .push((name.as_ref().to_string(), value.as_ref().to_string()));
        self
    }

    /// Sets environment variables.
    pub fn envs(&mut self, vars: &[(impl AsRef<str>, impl AsRef<str>)]) -> &mut Self {
        for (name, value) in vars {
            self.env(name, value);
        }
        self
    }

    /// Copies this process's environment variables.
    pub fn inherit_env(&mut self) -> &mut Self {
        self.env.extend(std::env::vars());
        self
    }

    /// The program's stdin (descriptor 0): a pipe, a file, anything that
    /// implements [`WasiFile`].
    pub fn stdin(&mut self, file: impl WasiFile + 'static) -> &mut Self {
        self.stdin = Box::new(file);
        self
    }

    /// The program's stdout (descriptor 1).
    pub fn stdout(&mut self, file: impl WasiFile + 'static) -> &mut Self {
        self.stdout = Box::new(file);
        self
    }

    /// The program's stderr (descriptor 2).
    pub fn stderr(&mut self, file: impl WasiFile + 'static) -> &mut Self {
        self.stderr = Box::new(file);
        self
    }

    /// Reads this process's stdin.
    pub fn inherit_stdin(&mut self) -> &mut Self {
        self.stdin(wasi_common::sync::stdio::stdin())
    }

    /// Writes to this process's stdout, unbuffered.
    pub fn inherit_stdout(&mut self) -> &mut Self {
        self.stdout(wasi_common::sync::stdio::stdout())
    }

    /// Writes to this process's stderr.
    pub fn inherit_stderr(&mut self) -> &mut Self {
        self.stderr(wasi_common::sync::stdio::stderr())
    }

    /// Inherits stdin, stdout and stderr.
    pub fn inherit_stdio(&mut self) -> &mut Self {
        self.inherit_stdin().inherit_stdout().inherit_stderr()
    }

    /// Gives the program the host directory `host_path` under the name
    /// `guest_path`: it and everything below it, nothing above or beside.
    /// Preopens get descriptors from 3 up, in the order they are added
    /// (after sockets placed there by [`Self::preopened_socket`]).
    ///
    /// # Errors
    ///
    /// If the directory cannot be opened.
    pub fn preopened_dir(
        &mut self,
        host_path: impl AsRef<Path>,
        guest_path: impl AsRef<str>,
    ) -> Result<&mut Self> {
        let host_path = host_path.as_ref();
        let dir = cap_std::fs::Dir::open_ambient_dir(host_path, cap_std::ambient_authority())
            .map_err(|e| format_err!("cannot open directory `{}`: {e}", host_path.display()))?;
        self.preopens.push((dir, guest_path.as_ref().to_string()));
        Ok(self)
    }

    /// Gives the program a listening TCP socket as descriptor `fd`, for
    /// `sock_accept`; accepted connections support `sock_recv`,
    /// `sock_send`, `sock_shutdown` and the `fd_*` calls that apply.
    pub fn preopened_socket(&mut self, fd: u32, listener: std::net::TcpListener) -> &mut Self {
        let listener = cap_std::net::TcpListener::from_std(listener);
        self.sockets.push((fd, Socket::from(listener)));
        self
    }

    /// The clock `clock_time_get(realtime)` reads.
    pub fn wall_clock(&mut self, clock: impl WasiSystemClock + 'static) -> &mut Self {
        self.wall_clock = Box::new(clock);
        self
    }

    /// The clock `clock_time_get(monotonic)` reads and timeouts count on;
    /// the program sees it start at zero.
    pub fn monotonic_clock(&mut self, clock: impl WasiMonotonicClock + 'static) -> &mut Self {
        self.monotonic_clock = Box::new(clock);
        self
    }

    /// The source `random_get` reads.
    pub fn secure_random(
        &mut self,
        random: impl TryRng<Error = std::convert::Infallible> + Send + Sync + 'static,
    ) -> &mut Self {
        self.random = Box::new(random);
        self
    }

    /// The context, leaving this builder as [`WasiCtxBuilder::new`] makes
    /// it.
    ///
    /// # Errors
    ///
    /// If the arguments or the environment do not fit the 32-bit sizes
    /// WASI counts them in, or a preopen's descriptor is taken.
    pub fn build(&mut self) -> Result<WasiCtx> {
        let WasiCtxBuilder {
            args,
            env,
            stdin,
            stdout,
            stderr,
            preopens,
            sockets,
            wall_clock,
            monotonic_clock,
            random,
        } = std::mem::take(self);
        let clocks = WasiClocks {
            system: Some(wall_clock),
            monotonic: Some(WasiMonotonicOffsetClock {
                creation_time: monotonic_clock.now(monotonic_clock.resolution()),
                abs_clock: monotonic_clock,
            }),
        };
        let mut inner = wasi_common::WasiCtx::new(
            random,
            clocks,
            Box::new(crate::sched::Sched),
            wasi_common::Table::new(),
        );
        let too_big = |what: &str, e: wasi_common::StringArrayError| {
            format_err!("the program's {what} are too large: {e}")
        };
        for arg in &args {
            inner.push_arg(arg).map_err(|e| too_big("arguments", e))?;
        }
        for (name, value) in &env {
            inner
                .push_env(name, value)
                .map_err(|e| too_big("environment variables", e))?;
        }
        inner.set_stdin(stdin);
        inner.set_stdout(stdout);
        inner.set_stderr(stderr);
        let mut fds = FdNumbers::default();
        for fd in 0..3 {
            fds.opened(fd);
        }
        for (fd, socket) in sockets {
            if fds.is_open(fd) {
                bail!("descriptor {fd} is already taken; a socket cannot go there");
            }
            let file: Box<dyn WasiFile> = socket.into();
            inner.insert_file(fd, file, FileAccessMode::READ | FileAccessMode::WRITE);
            fds.opened(fd);
        }
        for (dir, guest_path) in preopens {
            let fd = fds.lowest_unused();
            let dir = Box::new(wasi_common::sync::dir::Dir::from_cap_std(dir));
            inner.insert_dir(fd, dir, guest_path.into());
            fds.opened(fd);
        }
        Ok(WasiCtx { inner, fds })
    }
}

/// A host file as a program's stdin, stdout or stderr.
///
/// ```
/// use tandem_wasi::{WasiCtxBuilder, host_file};
/// let log = std::env::temp_dir().join(format!("tandem-wasi-doc-{}.log", std::process::id()));
/// let file = std::fs::File::create(&log).unwrap();
/// let ctx = WasiCtxBuilder::new().stdout(host_file(file)).build().unwrap();
/// # drop(ctx); std::fs::remove_file(log).unwrap();
/// ```
pub fn host_file(file: std::fs::File) -> impl WasiFile {
    wasi_common::sync::file::File::from_cap_std(cap_std::fs::File::from_std(file))
}
