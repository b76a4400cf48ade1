//! Data parallelism over fixed chunks, on every core natively and on the one
//! thread of a wasm module. Results never depend on the thread count: each
//! chunk's work is the same whoever runs it, and reductions happen in chunk
//! order — which is what keeps native and wasm output byte-identical.

/// Number of worker threads this build uses.
pub fn threads() -> usize {
    #[cfg(not(target_arch = "wasm32"))]
    {
        std::thread::available_parallelism().map_or(1, |n| n.get()).min(64)
    }
    #[cfg(target_arch = "wasm32")]
    {
        1
    }
}

/// Calls `f(chunk_index, chunk)` for every `chunk_len`-sized piece of `data`.
pub fn for_each_chunk_mut<T: Send>(data: &mut [T], chunk_len: usize, f: impl Fn(usize, &mut [T]) + Sync) {
    let chunk_len = chunk_len.max(1);
    // Threads only natively (wasm has one); one thread works in place.
    #[cfg(not(target_arch = "wasm32"))]
    if threads().min(data.len().div_ceil(chunk_len)) > 1 {
        let n_threads = threads().min(data.len().div_ceil(chunk_len));
        let work = std::sync::Mutex::new(data.chunks_mut(chunk_len).enumerate());
        std::thread::scope(|scope| {
            for _ in 0..n_threads {
                scope.spawn(|| {
                    loop {
                        let next = work.lock().unwrap_or_else(|e| e.into_inner()).next();
                        match next {
                            Some((i, chunk)) => f(i, chunk),
                            None => break,
                        }
                    }
                });
            }
        });
        return;
    }
    for (i, chunk) in data.chunks_mut(chunk_len).enumerate() {
        f(i, chunk);
    }
}

/// `f(&mut state, i)` for i in 0..n, each worker thread folding the indices
/// it takes (in ascending order, from a shared counter) into its own
/// `init()` state; returns the workers' states. Which indices land in which
/// state depends on timing, so callers merge the states with an operation
/// whose result does not depend on that (a sum of integers, a top-k under a
/// total order) — never a float sum.
pub fn fold<S: Send>(n: usize, init: impl Fn() -> S + Sync, f: impl Fn(&mut S, usize) + Sync) -> Vec<S> {
    let n_threads = threads().min(n);
    if n_threads <= 1 {
        let mut state = init();
        (0..n).for_each(|i| f(&mut state, i));
        return vec![state];
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        let next = std::sync::atomic::AtomicUsize::new(0);
        std::thread::scope(|scope| {
            let workers: Vec<_> = (0..n_threads)
                .map(|_| {
                    scope.spawn(|| {
                        let mut state = init();
                        loop {
                            let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            if i >= n {
                                break state;
                            }
                            f(&mut state, i);
                        }
                    })
                })
                .collect();
            workers.into_iter().map(|w| w.join().unwrap_or_else(|e| std::panic::resume_unwind(e))).collect()
        })
    }
    #[cfg(target_arch = "wasm32")]
    unreachable!("wasm runs one thread")
}

/// `f(i)` for i in 0..n, in parallel, collected in index order.
pub fn map<T: Send>(n: usize, f: impl Fn(usize) -> T + Sync) -> Vec<T> {
    let mut out: Vec<Option<T>> = (0..n).map(|_| None).collect();
    let chunk = n.div_ceil(threads() * 4).max(1);
    for_each_chunk_mut(&mut out, chunk, |c, slots| {
        for (k, slot) in slots.iter_mut().enumerate() {
            *slot = Some(f(c * chunk + k));
        }
    });
    out.into_iter().map(|v| v.expect("every index is computed")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_cover_everything_once_in_order() {
        let mut data = vec![0usize; 1003];
        for_each_chunk_mut(&mut data, 100, |c, chunk| {
            for (k, x) in chunk.iter_mut().enumerate() {
                *x += c * 100 + k;
            }
        });
        assert!(data.iter().enumerate().all(|(i, x)| *x == i));
        assert_eq!(map(10, |i| i * i), (0..10).map(|i| i * i).collect::<Vec<_>>());
    }

    #[test]
    fn fold_visits_every_index_once() {
        let states = fold(1000, Vec::new, |seen: &mut Vec<usize>, i| seen.push(i));
        assert!(states.len() <= threads().max(1));
        let mut all: Vec<usize> = states.concat();
        assert!(states.iter().all(|s| s.windows(2).all(|w| w[0] < w[1])), "each worker takes indices in ascending order");
        all.sort_unstable();
        assert_eq!(all, (0..1000).collect::<Vec<_>>());
        assert_eq!(fold(0, || 7, |_: &mut i32, _| unreachable!()), vec![7]);
    }
}
