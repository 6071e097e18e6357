//! Multi-threading: a thread-count setting ([`Threads`]) and the handle ops split their work
//! with ([`Par`]).
//!
//! ```
//! use sepconv::threads::Threads;
//!
//! let threads = Threads::new(2, false)?; // planned once: builds the pool
//! let mut data = vec![0u32; 1000];
//! // Every run: the closure gets a `Par`, which splits rows into bands run on the pool.
//! let sum = threads.run(|par| {
//!     par.for_each_band_mut(&mut data, 10, 5, |rows, band| {
//!         for (i, x) in rows.zip(band.chunks_exact_mut(10)) {
//!             x.fill(i as u32);
//!         }
//!         Ok::<(), ()>(())
//!     })
//!     .unwrap();
//!     data.iter().map(|&x| u64::from(x)).sum::<u64>()
//! });
//! assert_eq!(sum, 10 * (0..100).sum::<u64>());
//! # Ok::<(), sepconv::Error>(())
//! ```
//!
//! # Design
//!
//! A [`Threads`] of `n ≥ 2` threads owns a rayon pool of `n` threads and, from its
//! construction on, one long-lived *driver* task running on one of them, which waits on a
//! `Mutex` + `Condvar` for work (polling for up to 200 µs first, and the caller likewise for
//! the end of its job: a futex wake-up costs tens of microseconds on a VM).
//! [`Threads::run`] hands its closure to the driver by pointer
//! and sleeps until the driver has finished with it; the driver calls it with a [`Par`], whose
//! [`Par::for_each_band`] and [`Par::for_each_band_mut`] split a range of rows into bands with
//! recursive [`rayon::join`], called from inside the pool.
//!
//! Why a run does not allocate: calling into a rayon pool from outside it (`install`, `scope`,
//! `spawn`, `broadcast`, a `join` from a foreign thread) pushes a job onto the pool's global
//! injector queue, which allocates a new block every ~63 pushes. Here nothing is ever injected
//! after construction (the driver is spawned once, at plan time): the hand-off is a futex
//! based `Mutex`/`Condvar` (no allocation), the bands' jobs live on the joining thread's stack
//! and go through the worker's local deque (a fixed 64-slot buffer for the few bands of an op;
//! it would only grow past 64 pending jobs), and stealing them allocates nothing once every
//! pool thread has registered with crossbeam's epoch collector, which each does when it first
//! looks for work (the construction makes every thread run once).
//!
//! [`Threads::single`] has no pool: [`Threads::run`] calls the closure inline with a
//! single-threaded [`Par`] whose band methods call their closure once on the whole range, and
//! the ops' `run_par` then call their plain `run`: no pool, no lock, no atomics.

// No slice indexing: a bad thread count or core list is an error, never a panic.
#![deny(clippy::indexing_slicing)]

use std::any::Any;
use std::marker::PhantomData;
use std::ops::Range;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use crate::error::Error;

/// The error op name of this module.
const OP: &str = "Threads";

/// How many threads run the ops: one (inline, no pool) or a rayon pool of `n ≥ 2` threads
/// with a driver task; created once, at plan time, and used by every run through
/// [`Threads::run`].
pub struct Threads {
    /// `None` for one thread.
    pool: Option<Pool>,
    /// The least work of a band, see [`Threads::with_band_flops`].
    band_flops: u64,
}

/// The default least work of a band: 32 KFLOP, some microseconds, well above the cost of
/// handing a band to another thread.
pub const DEFAULT_BAND_FLOPS: u64 = 32 * 1024;

/// The multi-threaded part of a [`Threads`].
struct Pool {
    pool: rayon::ThreadPool,
    shared: Arc<Shared>,
    threads: usize,
}

/// What the caller of [`Threads::run`] and the driver share.
struct Shared {
    state: Mutex<State>,
    /// The driver waits here for a job or the shutdown.
    work: Condvar,
    /// Callers wait here for their job to finish (or for the driver to be free), and the drop
    /// for the driver to exit.
    done: Condvar,
    /// Mirrors "a job is posted" (set with the job, cleared when the driver takes it), so the
    /// driver can poll for the next job for a while before sleeping on `work`.
    posted: AtomicBool,
    /// Mirrors `State::finished`, so the caller can poll for it before sleeping on `done`.
    finished: AtomicBool,
}

/// How long the driver polls for the next job, and a caller for its job's end, before they
/// sleep on the condition variables: waking a sleeping thread costs tens of microseconds on a
/// VM, as much as a small layer; back-to-back runs (an inference loop) never sleep. Polling
/// yields the core at every step (`yield_now`), so it cannot starve a pool thread.
const POLL: Duration = Duration::from_micros(200);

/// Polls `flag` (yielding the core each time) until it is set or [`POLL`] has passed. The
/// callers then re-read the state under the lock, which is what decides.
fn poll(flag: &AtomicBool) {
    let start = Instant::now();
    while !flag.load(Ordering::Acquire) && start.elapsed() < POLL {
        std::thread::yield_now();
    }
}

/// The hand-off between [`Threads::run`] and the driver.
#[derive(Default)]
struct State {
    /// The job waiting to be picked up by the driver, and the band size setting.
    job: Option<(JobPtr, u64)>,
    /// A caller has a job in flight (set until that caller has collected the result).
    busy: bool,
    /// The driver has finished the job in flight.
    finished: bool,
    /// The panic of the job in flight, to resume in the caller.
    panic: Option<Box<dyn Any + Send + 'static>>,
    /// Set by the drop: the driver returns.
    shutdown: bool,
    /// Set by the driver when it returns.
    exited: bool,
}

/// A job of [`Threads::run`], its lifetime erased.
type Job<'a> = dyn FnMut(&Par<'_>) + Send + 'a;

/// A pointer to a [`Job`] on the stack of a thread blocked in [`Threads::run`].
struct JobPtr(*mut Job<'static>);

// SAFETY: the job behind the pointer is `Send` (the bound of `Job`), so calling it from the
// driver's thread is allowed; the pointer itself is only dereferenced while the thread that
// owns the job is blocked in `Threads::run` (see there).
unsafe impl Send for JobPtr {}

/// Locks, ignoring poison: a panic while the lock was held cannot leave `State` half-updated
/// (every update is a few plain stores), and panics of jobs are caught before locking.
fn lock(m: &Mutex<State>) -> MutexGuard<'_, State> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Threads {
    /// One thread: [`Threads::run`] calls its closure inline and the ops run single-threaded,
    /// exactly their plain `run`.
    pub fn single() -> Self {
        Self { pool: None, band_flops: DEFAULT_BAND_FLOPS }
    }

    /// `n` threads: for `n ≥ 2` a rayon pool of `n` threads (named `sepconv-<i>`), with a
    /// driver task spawned into it; `n == 1` is [`Threads::single`] (`pin` is then ignored:
    /// there is no pool thread to pin). With `pin`, pool thread `i` is pinned to the `i`-th
    /// core the process may run on (modulo their count).
    ///
    /// Errors: `n == 0`; the pool cannot be built (threads cannot be spawned); with `pin`, the
    /// cores cannot be listed or a thread cannot be pinned.
    pub fn new(n: usize, pin: bool) -> Result<Self, Error> {
        match n {
            0 => Err(Error::InvalidParam { op: OP, what: "threads", value: 0, reason: "must be at least 1" }),
            1 => Ok(Self::single()),
            _ => Pool::new(n, pin).map(|pool| Self { pool: Some(pool), band_flops: DEFAULT_BAND_FLOPS }),
        }
    }

    /// Sets the least work (in FLOPs) an op gives one band, [`DEFAULT_BAND_FLOPS`] unless set;
    /// ops also keep a convolution band at 2 output rows or more and a GEMM band at 12 rows or
    /// more. `0` lifts every minimum: bands as small as one row, as many as the thread count
    /// allows (4 per thread), which is useful to test the splitting on small shapes.
    pub fn with_band_flops(mut self, flops: u64) -> Self {
        self.band_flops = flops;
        self
    }

    /// The least work of a band, see [`Threads::with_band_flops`].
    pub fn band_flops(&self) -> u64 {
        self.band_flops
    }

    /// The number of threads (1 for [`Threads::single`]).
    pub fn count(&self) -> usize {
        self.pool.as_ref().map_or(1, |p| p.threads)
    }

    /// Runs `f` with a [`Par`] for this thread count and returns its result.
    ///
    /// With one thread, `f` runs inline. Otherwise it runs on the pool's driver (so the
    /// bands of [`Par`] are joined from inside the pool, which does not allocate) while this
    /// thread sleeps; one run at a time (concurrent callers take turns), and a run from inside
    /// the pool (e.g. nested in another run) calls `f` inline on that pool thread. A panic of
    /// `f` (or of a band) is resumed here, and the `Threads` stays usable.
    pub fn run<F, R>(&self, f: F) -> R
    where
        F: FnOnce(&Par<'_>) -> R + Send,
        R: Send,
    {
        match &self.pool {
            None => f(&Par::new(1, self.band_flops)),
            Some(pool) => pool.run(f, self.band_flops),
        }
    }
}

impl Default for Threads {
    /// [`Threads::single`].
    fn default() -> Self {
        Self::single()
    }
}

impl std::fmt::Debug for Threads {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Threads").field("count", &self.count()).field("band_flops", &self.band_flops).finish()
    }
}

impl Pool {
    fn new(threads: usize, pin: bool) -> Result<Self, Error> {
        let spawn_error = |_| Error::InvalidParam {
            op: OP,
            what: "threads",
            value: threads,
            reason: "the thread pool could not be built",
        };
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("sepconv-{i}"))
            .build()
            .map_err(spawn_error)?;
        let cores = if pin {
            let cores =
                core_affinity::get_core_ids().filter(|c| !c.is_empty()).ok_or(Error::InvalidParam {
                    op: OP,
                    what: "pin",
                    value: threads,
                    reason: "the cores this process may run on cannot be listed",
                })?;
            Some(cores)
        } else {
            None
        };
        // Every pool thread runs once (and pins itself): it is then started, and registered
        // with the epoch collector of the deques, before the first run.
        let pinned = pool.broadcast(|ctx| match &cores {
            // `cores` is not empty; were it, pinning would report failure rather than panic.
            Some(cores) => ctx
                .index()
                .checked_rem(cores.len())
                .and_then(|i| cores.get(i))
                .is_some_and(|&core| core_affinity::set_for_current(core)),
            None => true,
        });
        if let Some(i) = pinned.iter().position(|&ok| !ok) {
            return Err(Error::InvalidParam {
                op: OP,
                what: "pin (pool thread index)",
                value: i,
                reason: "the thread could not be pinned to its core",
            });
        }
        let shared = Arc::new(Shared {
            state: Mutex::default(),
            work: Condvar::new(),
            done: Condvar::new(),
            posted: AtomicBool::new(false),
            finished: AtomicBool::new(false),
        });
        let driver = Arc::clone(&shared);
        pool.spawn(move || drive(&driver, threads));
        Ok(Self { pool, shared, threads })
    }

    fn run<F, R>(&self, f: F, band_flops: u64) -> R
    where
        F: FnOnce(&Par<'_>) -> R + Send,
        R: Send,
    {
        if self.pool.current_thread_index().is_some() {
            // Already on a pool thread (a nested run): joins from here stay inside the pool,
            // and handing the job to the driver could deadlock (it may be this thread).
            return f(&Par::new(self.threads, band_flops));
        }
        let mut f = Some(f);
        let mut result = None;
        let mut job = |par: &Par<'_>| {
            if let Some(f) = f.take() {
                result = Some(f(par));
            }
        };
        let job: &mut Job<'_> = &mut job;
        // SAFETY: only the lifetime bound of the trait object changes (same layout). The
        // pointer is handed to the driver below, and this function does not return (or
        // unwind: nothing in it panics, lock poisoning is ignored) until the driver has
        // reported that it finished with the job (`finished`), after which it never touches
        // the pointer again; a panic of the job is caught by the driver and resumed here
        // only after that. So the job outlives every use of the pointer.
        let ptr = JobPtr(unsafe { std::mem::transmute::<&mut Job<'_>, &'static mut Job<'static>>(job) });
        let s = &*self.shared;
        let mut st = lock(&s.state);
        while st.busy {
            st = s.done.wait(st).unwrap_or_else(PoisonError::into_inner);
        }
        st.busy = true;
        st.finished = false;
        s.finished.store(false, Ordering::Release);
        st.job = Some((ptr, band_flops));
        s.posted.store(true, Ordering::Release);
        s.work.notify_one();
        // Poll for the end of the job before sleeping (see POLL); `finished` is then re-read
        // under the lock, which is what decides.
        drop(st);
        poll(&s.finished);
        st = lock(&s.state);
        while !st.finished {
            st = s.done.wait(st).unwrap_or_else(PoisonError::into_inner);
        }
        let panic = st.panic.take();
        st.busy = false;
        st.finished = false;
        drop(st);
        // Wake callers waiting for their turn.
        s.done.notify_all();
        if let Some(payload) = panic {
            panic::resume_unwind(payload);
        }
        // The driver ran the job to completion (it did not panic), which set `result`: an
        // internal invariant, not reachable from any input.
        #[allow(clippy::expect_used)]
        result.expect("the driver ran the job")
    }
}

impl Drop for Pool {
    /// Stops the driver and waits until it has returned, so that dropping the rayon pool then
    /// lets every pool thread exit.
    fn drop(&mut self) {
        let s = &*self.shared;
        let mut st = lock(&s.state);
        st.shutdown = true;
        s.work.notify_one();
        while !st.exited {
            st = s.done.wait(st).unwrap_or_else(PoisonError::into_inner);
        }
    }
}

/// The driver: waits for jobs and runs them with a [`Par`] of `threads`, until the shutdown.
fn drive(s: &Shared, threads: usize) {
    let mut st = lock(&s.state);
    loop {
        if let Some((JobPtr(job), band_flops)) = st.job.take() {
            s.posted.store(false, Ordering::Release);
            drop(st);
            let par = Par::new(threads, band_flops);
            // SAFETY: the caller that stored the pointer is blocked in `Pool::run` until
            // `finished` is set below, so the job is alive and nothing else uses it.
            let outcome = panic::catch_unwind(AssertUnwindSafe(|| unsafe { (*job)(&par) }));
            st = lock(&s.state);
            st.panic = outcome.err();
            st.finished = true;
            s.finished.store(true, Ordering::Release);
            s.done.notify_all();
            // Poll for the next job before sleeping (see POLL); the state is re-read under the
            // lock at the top of the loop, which is what decides.
            drop(st);
            poll(&s.posted);
            st = lock(&s.state);
        } else if st.shutdown {
            break;
        } else {
            st = s.work.wait(st).unwrap_or_else(PoisonError::into_inner);
        }
    }
    st.exited = true;
    s.done.notify_all();
}

/// The handle an op splits its work with, given by [`Threads::run`]: the thread count and the
/// band-splitting methods. Neither `Send` nor `Sync`: it is used only on the thread that
/// received it (a pool thread when there are several threads).
pub struct Par<'a> {
    threads: usize,
    band_flops: u64,
    _not_send: PhantomData<(&'a (), *const ())>,
}

/// Bands per thread at most: enough to balance bands of unequal cost (edges, a busy core).
const BANDS_PER_THREAD: usize = 4;

impl Par<'_> {
    fn new(threads: usize, band_flops: u64) -> Self {
        Self { threads, band_flops, _not_send: PhantomData }
    }

    /// The number of threads.
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// The least work of a band, see [`Threads::with_band_flops`].
    pub fn band_flops(&self) -> u64 {
        self.band_flops
    }

    /// The fewest rows of `flops_per_row` FLOPs each that give a band at least
    /// [`Par::band_flops`] of work, and at least `min_rows` rows; 1 when the band size
    /// setting is 0.
    pub fn min_band_rows(&self, flops_per_row: u64, min_rows: usize) -> usize {
        if self.band_flops == 0 {
            return 1;
        }
        let rows = self.band_flops.div_ceil(flops_per_row.max(1));
        usize::try_from(rows).unwrap_or(usize::MAX).max(min_rows)
    }

    /// True for one thread: the band methods call their closure once, inline.
    pub fn is_single(&self) -> bool {
        self.threads == 1
    }

    /// How many bands `total` rows are split into when a band must have at least `min_band`
    /// rows (`0` counts as 1): `min(total / min_band, 4 · threads)`, at least 1.
    pub fn bands(&self, total: usize, min_band: usize) -> usize {
        if self.threads == 1 {
            return 1;
        }
        (total / min_band.max(1)).clamp(1, BANDS_PER_THREAD * self.threads)
    }

    /// Calls `f` on bands of consecutive rows that together cover `0..total` once, each of at
    /// least `min_band` rows (unless `total` is smaller), in parallel; returns the first
    /// error (by band order) of the bands, all of which run. The split depends only on
    /// `total`, `min_band` and the thread count.
    pub fn for_each_band<E, F>(&self, total: usize, min_band: usize, f: F) -> Result<(), E>
    where
        E: Send,
        F: Fn(Range<usize>) -> Result<(), E> + Sync,
    {
        let bands = self.bands(total, min_band);
        if bands == 1 {
            return f(0..total);
        }
        let split = Split { total, bands };
        split.run(0, bands, &mut (), &|r, _: &mut ()| f(r))
    }

    /// As [`Par::for_each_band`] over the rows of `data` (consecutive runs of `row_len`
    /// elements; `data.len()` must be a multiple of `row_len`, which must not be 0), giving
    /// each band its rows of `data`, mutably.
    pub fn for_each_band_mut<T, E, F>(
        &self,
        data: &mut [T],
        row_len: usize,
        min_band: usize,
        f: F,
    ) -> Result<(), E>
    where
        T: Send,
        E: Send,
        F: Fn(Range<usize>, &mut [T]) -> Result<(), E> + Sync,
    {
        assert!(row_len > 0 && data.len().is_multiple_of(row_len), "rows of {row_len} in {}", data.len());
        let total = data.len() / row_len;
        let bands = self.bands(total, min_band);
        if bands == 1 {
            return f(0..total, data);
        }
        let split = Split { total, bands };
        let mut rows = Rows { data, row_len };
        split.run(0, bands, &mut rows, &|r, rows: &mut Rows<'_, T>| f(r, rows.data))
    }
}

/// Something split along with the bands: nothing, or the rows of a slice.
trait Splittable: Send {
    /// Splits off the first `rows` rows.
    fn split(&mut self, rows: usize) -> (Self, Self)
    where
        Self: Sized;
}

impl Splittable for () {
    fn split(&mut self, _rows: usize) -> ((), ()) {
        ((), ())
    }
}

/// The rows of a slice.
struct Rows<'d, T> {
    data: &'d mut [T],
    row_len: usize,
}

impl<T: Send> Splittable for Rows<'_, T> {
    fn split(&mut self, rows: usize) -> (Self, Self) {
        let (a, b) = std::mem::take(&mut self.data).split_at_mut(rows * self.row_len);
        (Rows { data: a, row_len: self.row_len }, Rows { data: b, row_len: self.row_len })
    }
}

/// `total` rows cut into `bands` bands as equal as possible.
#[derive(Clone, Copy)]
struct Split {
    total: usize,
    bands: usize,
}

impl Split {
    /// The first row of band `i` (`i ≤ bands`).
    fn start(self, i: usize) -> usize {
        let (base, extra) = (self.total / self.bands, self.total % self.bands);
        i * base + i.min(extra)
    }

    /// Runs bands `lo..hi`, whose rows are `part`, splitting them in halves with `rayon::join`.
    fn run<P, E, F>(self, lo: usize, hi: usize, part: &mut P, f: &F) -> Result<(), E>
    where
        P: Splittable,
        E: Send,
        F: Fn(Range<usize>, &mut P) -> Result<(), E> + Sync,
    {
        if hi - lo == 1 {
            return f(self.start(lo)..self.start(hi), part);
        }
        let mid = lo + (hi - lo) / 2;
        let (mut left, mut right) = part.split(self.start(mid) - self.start(lo));
        let (a, b) = rayon::join(|| self.run(lo, mid, &mut left, f), || self.run(mid, hi, &mut right, f));
        a.and(b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bands_cover_the_range_in_order() {
        for threads in [1, 2, 3] {
            let par = Par::new(threads, 0);
            for total in 0..40 {
                for min_band in 0..5 {
                    let seen = Mutex::new(Vec::new());
                    par.for_each_band(total, min_band, |r| {
                        seen.lock().unwrap().push(r);
                        Ok::<(), ()>(())
                    })
                    .unwrap();
                    let mut seen = seen.into_inner().unwrap();
                    seen.sort_by_key(|r| r.start);
                    assert_eq!(seen.len(), par.bands(total, min_band));
                    let mut next = 0;
                    for r in seen {
                        assert_eq!(r.start, next);
                        assert!(r.len() >= min_band.min(total).max(usize::from(total > 0)));
                        next = r.end;
                    }
                    assert_eq!(next, total);
                }
            }
        }
    }
}
