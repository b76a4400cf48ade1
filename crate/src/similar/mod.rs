//! Embedding similarity: each item's nearest neighbours by cosine, and every
//! pair above a threshold, without ever holding the N × N matrix.
//!
//! Rows are L2-normalised once; the cosine is then a dot product. Rows are
//! processed in blocks against column tiles (a block × tile slab of scores
//! at a time, 256 KB), each row keeping its own top-k, so memory is
//! O(N·k + block·tile) whatever N is. Blocks run in parallel natively; the
//! dot product is written for the autovectoriser (eight independent
//! accumulators), which gives AVX natively and simd128 in wasm. This is the
//! CPU path and the oracle for a GPU kernel.
//!
//! Without embeddings, [`text`] computes hashed word and character n-gram
//! TF-IDF features in the same dense form.

pub mod text;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::parallel;

/// Rows of `dims` floats, L2-normalised (all-zero rows stay zero).
pub fn normalize(data: &[f32], dims: usize) -> Vec<f32> {
    let mut out = data.to_vec();
    for row in out.chunks_mut(dims.max(1)) {
        let norm = dot(row, row).sqrt();
        if norm > 0.0 {
            row.iter_mut().for_each(|x| *x /= norm);
        }
    }
    out
}

/// Dot product with eight independent accumulators (vectorises well).
#[inline]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for k in 0..8 {
            acc[k] += x[k] * y[k];
        }
    }
    let mut sum = (acc[0] + acc[4]) + (acc[1] + acc[5]) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
    for (x, y) in ra.iter().zip(rb) {
        sum += x * y;
    }
    sum
}

/// Each row's k nearest other rows, most similar first.
#[derive(Debug, Clone, PartialEq)]
pub struct Neighbours {
    pub k: usize,
    /// n × k neighbour indices (u32::MAX where a row has fewer than k others).
    pub index: Vec<u32>,
    /// n × k cosines, matching `index` (−inf where absent).
    pub cosine: Vec<f32>,
}

/// A pair of distinct rows, a < b.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Pair {
    pub a: u32,
    pub b: u32,
    pub cosine: f32,
}

const BLOCK: usize = 64;
const TILE: usize = 1024;

/// Inserts (score, j) into a row's descending top-k list.
#[inline]
fn insert(scores: &mut [f32], index: &mut [u32], score: f32, j: u32) {
    let k = scores.len();
    if k == 0 || score <= scores[k - 1] {
        return;
    }
    let mut pos = k - 1;
    while pos > 0 && scores[pos - 1] < score {
        scores[pos] = scores[pos - 1];
        index[pos] = index[pos - 1];
        pos -= 1;
    }
    scores[pos] = score;
    index[pos] = j;
}

/// Top-k neighbours of every row of `unit` (normalised, n × dims), and — when
/// `threshold` is given — every pair with cosine ≥ threshold (at most
/// `max_pairs`, else an error that says to raise the threshold).
pub fn search(unit: &[f32], dims: usize, k: usize, threshold: Option<f32>, max_pairs: usize) -> Result<(Neighbours, Vec<Pair>)> {
    if dims == 0 {
        return Err(Error::invalid("vectors have 0 dimensions"));
    }
    let n = unit.len() / dims;
    let k = k.min(n.saturating_sub(1));
    // At least one slot per row so every block gets a work item even when
    // only threshold pairs are wanted (k = 0); trimmed at the end.
    let kk = k.max(1);
    let mut index = vec![u32::MAX; n * kk];
    let mut cosine = vec![f32::NEG_INFINITY; n * kk];
    let mut pairs_per_block: Vec<Vec<Pair>> = (0..n.div_ceil(BLOCK)).map(|_| Vec::new()).collect();
    {
        let mut work: Vec<((&mut [u32], &mut [f32]), &mut Vec<Pair>)> = index
            .chunks_mut(BLOCK * kk)
            .zip(cosine.chunks_mut(BLOCK * kk))
            .zip(pairs_per_block.iter_mut())
            .collect();
        parallel::for_each_chunk_mut(&mut work, 1, |b, slot| {
            let ((idx, cos), pairs) = &mut slot[0];
            let rows = (b * BLOCK)..((b + 1) * BLOCK).min(n);
            let mut slab = vec![0.0f32; BLOCK * TILE];
            for tile_start in (0..n).step_by(TILE) {
                let cols = tile_start..(tile_start + TILE).min(n);
                for (r, i) in rows.clone().enumerate() {
                    let a = &unit[i * dims..(i + 1) * dims];
                    for (c, j) in cols.clone().enumerate() {
                        slab[r * TILE + c] = dot(a, &unit[j * dims..(j + 1) * dims]);
                    }
                }
                for (r, i) in rows.clone().enumerate() {
                    for (c, j) in cols.clone().enumerate() {
                        if i == j {
                            continue;
                        }
                        let s = slab[r * TILE + c];
                        if k > 0 {
                            insert(&mut cos[r * k..(r + 1) * k], &mut idx[r * k..(r + 1) * k], s, j as u32);
                        }
                        if let Some(t) = threshold {
                            if j > i && s >= t {
                                pairs.push(Pair { a: i as u32, b: j as u32, cosine: s });
                            }
                        }
                    }
                }
            }
        });
    }
    let total: usize = pairs_per_block.iter().map(Vec::len).sum();
    if total > max_pairs {
        return Err(Error::invalid(format!(
            "{total} pairs have cosine ≥ {}: more than the {max_pairs} allowed; raise the threshold",
            threshold.unwrap_or(0.0)
        )));
    }
    if k == 0 {
        index.clear();
        cosine.clear();
    }
    Ok((Neighbours { k, index, cosine }, pairs_per_block.concat()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    fn random(n: usize, dims: usize, seed: u64) -> Vec<f32> {
        let mut rng = Rng::new(seed);
        normalize(&(0..n * dims).map(|_| rng.normal() as f32).collect::<Vec<_>>(), dims)
    }

    fn brute(unit: &[f32], dims: usize) -> Vec<Vec<f32>> {
        let n = unit.len() / dims;
        (0..n).map(|i| (0..n).map(|j| (0..dims).map(|d| unit[i * dims + d] as f64 * unit[j * dims + d] as f64).sum::<f64>() as f32).collect()).collect()
    }

    #[test]
    fn top_k_matches_brute_force_across_tiles() {
        // n spans several blocks and two column tiles.
        let (n, dims, k) = (1300, 13, 5);
        let unit = random(n, dims, 1);
        let full = brute(&unit, dims);
        let (nb, _) = search(&unit, dims, k, None, 0).unwrap();
        for i in (0..n).step_by(97) {
            let mut expect: Vec<(f32, usize)> = (0..n).filter(|&j| j != i).map(|j| (full[i][j], j)).collect();
            expect.sort_by(|a, b| b.0.total_cmp(&a.0));
            for r in 0..k {
                assert_eq!(nb.index[i * k + r] as usize, expect[r].1, "row {i} rank {r}");
                assert!((nb.cosine[i * k + r] - expect[r].0).abs() < 1e-5);
            }
        }
    }

    #[test]
    fn threshold_pairs_match_brute_force_and_duplicates_score_one() {
        let (n, dims) = (300, 8);
        let mut unit = random(n, dims, 2);
        // Row 7 duplicates row 3.
        let copy: Vec<f32> = unit[3 * dims..4 * dims].to_vec();
        unit[7 * dims..8 * dims].copy_from_slice(&copy);
        let full = brute(&unit, dims);
        let t = 0.8;
        let (_, pairs) = search(&unit, dims, 3, Some(t), 1_000_000).unwrap();
        let expected = (0..n).flat_map(|i| (i + 1..n).map(move |j| (i, j))).filter(|&(i, j)| full[i][j] >= t).count();
        assert_eq!(pairs.len(), expected);
        let dup = pairs.iter().find(|p| p.a == 3 && p.b == 7).expect("the duplicate pair");
        assert!((dup.cosine - 1.0).abs() < 1e-6);
        let err = search(&unit, dims, 3, Some(-1.0), 10).unwrap_err().to_string();
        assert!(err.contains("raise the threshold"), "{err}");
    }
}

/// What `benchsift similar` reports.
#[derive(Debug, Clone, Serialize)]
pub struct SimilarReport {
    pub items: usize,
    pub dims: usize,
    /// `embeddings` (the user's vectors) or `hashed-ngrams` (built in).
    pub features: &'static str,
    pub top_k: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f32>,
    pub backend: crate::irt::Backend,
    pub pairs: Vec<NamedPair>,
}

#[derive(Debug, Clone, Serialize)]
pub struct NamedPair {
    pub a: String,
    pub b: String,
    pub cosine: f32,
    /// The two items' texts, when known, so a person can judge the pair.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub a_text: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub b_text: Option<String>,
}

/// Pairs of `ids` rows: all with cosine ≥ `threshold` when given, else each
/// row with its top-k neighbours (each unordered pair once), most similar
/// first.
pub fn similar(
    ids: &[String],
    texts: Option<&[String]>,
    vectors: &[f32],
    dims: usize,
    features: &'static str,
    top_k: usize,
    threshold: Option<f32>,
) -> Result<SimilarReport> {
    if ids.len() * dims != vectors.len() {
        return Err(Error::invalid(format!("{} ids for {} vectors", ids.len(), vectors.len() / dims.max(1))));
    }
    if ids.len() < 2 {
        return Err(Error::invalid("similarity needs at least 2 items"));
    }
    let unit = normalize(vectors, dims);
    let k = if threshold.is_some() { 0 } else { top_k.max(1) };
    let (nb, mut pairs) = search(&unit, dims, k, threshold, 5_000_000)?;
    if threshold.is_none() {
        let mut seen = std::collections::HashSet::new();
        for i in 0..ids.len() {
            for r in 0..nb.k {
                let j = nb.index[i * nb.k + r];
                if j == u32::MAX {
                    continue;
                }
                let (a, b) = if (i as u32) < j { (i as u32, j) } else { (j, i as u32) };
                if seen.insert((a, b)) {
                    pairs.push(Pair { a, b, cosine: nb.cosine[i * nb.k + r] });
                }
            }
        }
    }
    pairs.sort_by(|x, y| y.cosine.total_cmp(&x.cosine).then(x.a.cmp(&y.a)).then(x.b.cmp(&y.b)));
    Ok(SimilarReport {
        items: ids.len(),
        dims,
        features,
        top_k: if threshold.is_some() { 0 } else { top_k.max(1) },
        threshold,
        backend: crate::irt::Backend { device: "cpu".into(), threads: parallel::threads(), reason: "no GPU backend in this build".into() },
        pairs: pairs
            .into_iter()
            .map(|p| {
                let text = |i: u32| texts.and_then(|t| t.get(i as usize)).filter(|t| !t.trim().is_empty()).cloned();
                NamedPair { a: ids[p.a as usize].clone(), b: ids[p.b as usize].clone(), cosine: p.cosine, a_text: text(p.a), b_text: text(p.b) }
            })
            .collect(),
    })
}

/// Similarity settings as the JS API gives them.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SimilarSettings {
    pub top_k: Option<usize>,
    pub threshold: Option<f32>,
}

/// `similar` from an items CSV and optional `.npy` embeddings (rows in the
/// items file's order): the one entry point of the CLI and the JS API.
pub fn similar_files(items: Option<&crate::read::Input>, embeddings: Option<&crate::read::Input>, settings: &SimilarSettings) -> Result<SimilarReport> {
    let table = items.map(|i| crate::read::read_item_texts(i, crate::read::DEFAULT_MAX_BYTES)).transpose()?;
    let top_k = settings.top_k.unwrap_or(10);
    match embeddings {
        Some(input) => {
            let e = crate::read::read_npy(input, crate::read::DEFAULT_MAX_BYTES)?;
            let (ids, texts) = match table {
                Some((ids, _)) if ids.len() != e.rows => {
                    return Err(Error::invalid(format!("{} has {} rows but the items file has {} items", input.name, e.rows, ids.len())));
                }
                Some((ids, texts)) => (ids, Some(texts)),
                None => ((0..e.rows).map(|i| i.to_string()).collect(), None),
            };
            similar(&ids, texts.as_deref(), &e.data, e.dims, "embeddings", top_k, settings.threshold)
        }
        None => {
            let (ids, texts) = table.ok_or_else(|| Error::invalid("give embeddings or an items file with texts"))?;
            if texts.iter().all(|t| t.trim().is_empty()) {
                return Err(Error::invalid("the items file has no text column to compare"));
            }
            let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
            similar(&ids, Some(&texts), &text::features(&refs), text::DIMS, "hashed-ngrams", top_k, settings.threshold)
        }
    }
}
