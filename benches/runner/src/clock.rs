//! [`Stopwatch`]: elapsed time and the process's CPU time, read together.

use std::time::Instant;

/// Started at one point; [`Stopwatch::stop`] gives the wall-clock and
/// process CPU seconds since.
pub struct Stopwatch {
    wall: Instant,
    cpu: f64,
}

/// CPU time used by every thread of this process, in seconds.
fn process_cpu_seconds() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; the clock id is a
    // constant every Linux supports.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    if rc != 0 {
        return f64::NAN;
    }
    ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
}

impl Stopwatch {
    /// Starts both clocks.
    pub fn start() -> Stopwatch {
        let cpu = process_cpu_seconds();
        Stopwatch {
            wall: Instant::now(),
            cpu,
        }
    }

    /// `(wall, cpu)` seconds since [`Stopwatch::start`].
    pub fn stop(self) -> (f64, f64) {
        let wall = self.wall.elapsed().as_secs_f64();
        (wall, process_cpu_seconds() - self.cpu)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_time_advances_with_work() {
        let watch = Stopwatch::start();
        let mut x = 0u64;
        for i in 0..5_000_000u64 {
            x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(i));
        }
        let (wall, cpu) = watch.stop();
        assert!(x != 1 && wall > 0.0 && cpu > 0.0, "{wall} {cpu}");
    }
}
