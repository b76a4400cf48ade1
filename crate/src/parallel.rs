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
    let n_threads = threads().min(data.len().div_ceil(chunk_len));
    if n_threads <= 1 {
        for (i, chunk) in data.chunks_mut(chunk_len).enumerate() {
            f(i, chunk);
        }
        return;
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
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
    }
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
}
