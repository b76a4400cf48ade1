//! The seam between the EM loop and an outside provider of its two heavy
//! sums (the GPU kernels in `gpu/irt.rs`): the core never sees wgpu.

/// The two heavy sums of EM for binary responses, computed outside the
/// statistical core (the GPU kernels in `gpu/irt.rs` implement it; the core
/// never sees wgpu). Both cover the whole grid; errors are messages for users
/// (a lost device, an out-of-memory readback).
///
/// Both return futures because WebGPU can only read results back
/// asynchronously: the one EM loop, [`fit_async`], awaits them. A provider
/// that finishes its work before returning (the CPU oracle in the tests, or
/// a native device that it polls to completion) returns a ready future, and
/// [`fit_with`] drives the loop without an executor.
pub trait BinarySums {
    /// `ll[m·q + n] = Σ_{i observed} t0[i·q + n] + Σ_{i correct} t1[i·q + n]`
    /// for every model m and node n, given the item × node tables
    /// t0 = ln(1 − P) and t1 = ln P − ln(1 − P).
    fn log_likelihood<'a>(&'a mut self, t0: &'a [f64], t1: &'a [f64], q: usize, ll: &'a mut [f64]) -> SumsFuture<'a>;
    /// Per item i and node n, `stats[(2i)·q + n] = Σ_m post[m·q + n]·observed[m, i]`
    /// and `stats[(2i + 1)·q + n] = Σ_m post[m·q + n]·correct[m, i]`.
    fn counts<'a>(&'a mut self, post: &'a [f64], q: usize, stats: &'a mut [f64]) -> SumsFuture<'a>;
}

/// What a [`BinarySums`] call returns: done, or why it failed. Not `Send`:
/// WebGPU's objects live on one thread.
pub type SumsFuture<'a> = std::pin::Pin<Box<dyn std::future::Future<Output = std::result::Result<(), String>> + 'a>>;

/// The output of `f` if it completes on its first poll, which every future
/// of the fit does when its sums are computed before their futures are
/// returned (no sums at all, or a provider that blocks); `None` otherwise.
pub(super) fn ready_now<F: std::future::Future>(f: F) -> Option<F::Output> {
    let mut f = std::pin::pin!(f);
    match f.as_mut().poll(&mut std::task::Context::from_waker(std::task::Waker::noop())) {
        std::task::Poll::Ready(out) => Some(out),
        std::task::Poll::Pending => None,
    }
}
