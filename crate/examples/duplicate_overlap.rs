//! How many of MiniLM's nearest neighbours and near-duplicates the built-in
//! hashed n-gram features also find (BENCHMARKS.md, "Near-duplicates").
//!
//! ```sh
//! cargo run --release --example duplicate_overlap -- \
//!     /work/shared/data/mmlu_pro_29models/items.csv \
//!     /work/shared/data/mmlu_pro_29models/item_embeddings_minilm.npy
//! ```
//!
//! For each k: the fraction of MiniLM's top-k neighbour pairs (i → j) that
//! are also among i's top-k under the hashed features; and, for MiniLM's
//! near-duplicates (pairs among its top-10 with cosine ≥ 0.8, 0.9, 0.95), the fraction the
//! hashed features put in either item's top-k.

use std::collections::HashSet;

use benchsift::read::{Input, read_item_texts, read_npy};
use benchsift::similar::{self, text};

fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [items, npy] = args.as_slice() else {
        return Err("usage: duplicate_overlap ITEMS.csv EMBEDDINGS.npy".into());
    };
    let read = |p: &str| std::fs::read(p).map_err(|e| format!("{p}: {e}"));
    let (items_bytes, npy_bytes) = (read(items)?, read(npy)?);
    let max = benchsift::read::DEFAULT_MAX_BYTES;
    let (ids, texts) = read_item_texts(&Input::new(items, &items_bytes), max).map_err(|e| e.to_string())?;
    let e = read_npy(&Input::new(npy, &npy_bytes), max).map_err(|e| e.to_string())?;
    if e.rows != ids.len() {
        return Err(format!("{} rows vs {} items", e.rows, ids.len()));
    }
    let n = ids.len();
    let started = std::time::Instant::now();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let hashed = text::features(&refs);
    let t_features = started.elapsed().as_secs_f64();
    let minilm = similar::normalize(&e.data, e.dims);
    let kmax = 10;
    let t0 = std::time::Instant::now();
    let (nb_m, _) = similar::search(&minilm, e.dims, kmax, None, 0).map_err(|e| e.to_string())?;
    let t_minilm = t0.elapsed().as_secs_f64();
    let t0 = std::time::Instant::now();
    let (nb_h, _) = similar::search(&hashed, text::DIMS, kmax, None, 0).map_err(|e| e.to_string())?;
    let t_hashed = t0.elapsed().as_secs_f64();
    println!(
        "{n} items; hashed features {t_features:.2} s; top-{kmax} search: MiniLM ({} dims) {t_minilm:.2} s, hashed ({} dims) {t_hashed:.2} s",
        e.dims,
        text::DIMS
    );
    let top = |nb: &similar::Neighbours, i: usize, k: usize| -> Vec<u32> { nb.index[i * nb.k..i * nb.k + k].to_vec() };
    for k in [1usize, 5, 10] {
        let (mut found, mut total) = (0usize, 0usize);
        for i in 0..n {
            let h: HashSet<u32> = top(&nb_h, i, k).into_iter().collect();
            for j in top(&nb_m, i, k) {
                total += 1;
                found += h.contains(&j) as usize;
            }
        }
        println!("k = {k:2}: {found} of {total} MiniLM neighbour pairs also hashed top-{k} ({:.1}%)", 100.0 * found as f64 / total as f64);
    }
    for threshold in [0.8f32, 0.9, 0.95] {
        for k in [1usize, 10] {
            let (mut found, mut total) = (0usize, 0usize);
            for i in 0..n {
                for r in 0..kmax {
                    let (j, c) = (nb_m.index[i * kmax + r] as usize, nb_m.cosine[i * kmax + r]);
                    if j < i || c < threshold {
                        continue;
                    }
                    total += 1;
                    let hit = top(&nb_h, i, k).contains(&(j as u32)) || top(&nb_h, j, k).contains(&(i as u32));
                    found += hit as usize;
                }
            }
            println!(
                "MiniLM pairs with cosine ≥ {threshold}: {total}; in the hashed top-{k} of either item: {found} ({:.1}%)",
                if total == 0 { f64::NAN } else { 100.0 * found as f64 / total as f64 }
            );
        }
    }
    Ok(())
}
