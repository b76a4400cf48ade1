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

/// The error every backend gives when the threshold lets too many pairs in.
pub fn too_many_pairs(total: usize, threshold: Option<f32>, max_pairs: usize) -> Error {
    Error::invalid(format!("{total} pairs have cosine ≥ {}: more than the {max_pairs} allowed; raise the threshold", threshold.unwrap_or(0.0)))
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
        return Err(too_many_pairs(total, threshold, max_pairs));
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

/// At most this many threshold pairs are reported (else: raise the threshold).
pub const MAX_PAIRS: usize = 5_000_000;

/// What a similarity search needs, validated: the normalised rows and how
/// many neighbours or which pairs to find. Every backend (this CPU search or
/// a GPU kernel) answers the same query.
#[derive(Debug, Clone)]
pub struct Query {
    /// n × dims, rows L2-normalised.
    pub unit: Vec<f32>,
    pub dims: usize,
    pub n: usize,
    /// Neighbours per row to keep (0 when only threshold pairs are wanted).
    pub k: usize,
    pub threshold: Option<f32>,
    pub max_pairs: usize,
}

impl Query {
    /// `top_k` neighbours of each row, or — with a threshold — every pair at
    /// or above it.
    pub fn new(n_ids: usize, vectors: &[f32], dims: usize, top_k: usize, threshold: Option<f32>) -> Result<Query> {
        if dims == 0 {
            return Err(Error::invalid("vectors have 0 dimensions"));
        }
        if n_ids * dims != vectors.len() {
            return Err(Error::invalid(format!("{n_ids} ids for {} vectors", vectors.len() / dims)));
        }
        if n_ids < 2 {
            return Err(Error::invalid("similarity needs at least 2 items"));
        }
        let k = if threshold.is_some() { 0 } else { top_k.max(1) };
        Ok(Query { unit: normalize(vectors, dims), dims, n: n_ids, k, threshold, max_pairs: MAX_PAIRS })
    }

    /// Multiply-adds of the full N × N product: what decides whether a GPU
    /// pays for its start-up and transfers.
    pub fn work(&self) -> f64 {
        self.n as f64 * self.n as f64 * self.dims as f64
    }

    /// The CPU search (multi-threaded natively).
    pub fn search_cpu(&self) -> Result<(Neighbours, Vec<Pair>)> {
        search(&self.unit, self.dims, self.k, self.threshold, self.max_pairs)
    }
}

/// The ids, texts and vectors a similarity report is about.
#[derive(Debug, Clone)]
pub struct SimilarInput {
    pub ids: Vec<String>,
    pub texts: Option<Vec<String>>,
    /// n × dims, as given (not normalised).
    pub vectors: Vec<f32>,
    pub dims: usize,
    /// `embeddings` (the user's vectors) or `hashed-ngrams` (built in).
    pub features: &'static str,
}

impl SimilarInput {
    /// From an items CSV and optional `.npy` embeddings (rows in the items
    /// file's order); without embeddings the texts become hashed n-grams.
    pub fn read(items: Option<&crate::read::Input>, embeddings: Option<&crate::read::Input>) -> Result<SimilarInput> {
        let table = items.map(|i| crate::read::read_item_texts(i, crate::read::DEFAULT_MAX_BYTES)).transpose()?;
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
                Ok(SimilarInput { ids, texts, vectors: e.data, dims: e.dims, features: "embeddings" })
            }
            None => {
                let (ids, texts) = table.ok_or_else(|| Error::invalid("give embeddings or an items file with texts"))?;
                if texts.iter().all(|t| t.trim().is_empty()) {
                    return Err(Error::invalid("the items file has no text column to compare"));
                }
                let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
                let vectors = text::features(&refs);
                Ok(SimilarInput { ids, texts: Some(texts), vectors, dims: text::DIMS, features: "hashed-ngrams" })
            }
        }
    }

    pub fn query(&self, settings: &SimilarSettings) -> Result<Query> {
        Query::new(self.ids.len(), &self.vectors, self.dims, settings.top_k.unwrap_or(10), settings.threshold)
    }

    /// The report from a search's answer to `query`, whichever backend
    /// computed it: threshold pairs, or each row with its top-k neighbours
    /// (each unordered pair once), most similar first.
    pub fn report(&self, query: &Query, neighbours: &Neighbours, mut pairs: Vec<Pair>, backend: crate::irt::Backend) -> SimilarReport {
        let ids = &self.ids;
        if query.threshold.is_none() {
            let mut seen = std::collections::HashSet::new();
            for i in 0..ids.len() {
                for r in 0..neighbours.k {
                    let j = neighbours.index[i * neighbours.k + r];
                    if j == u32::MAX {
                        continue;
                    }
                    let (a, b) = if (i as u32) < j { (i as u32, j) } else { (j, i as u32) };
                    if seen.insert((a, b)) {
                        pairs.push(Pair { a, b, cosine: neighbours.cosine[i * neighbours.k + r] });
                    }
                }
            }
        }
        pairs.sort_by(|x, y| y.cosine.total_cmp(&x.cosine).then(x.a.cmp(&y.a)).then(x.b.cmp(&y.b)));
        let texts = self.texts.as_deref();
        SimilarReport {
            items: ids.len(),
            dims: self.dims,
            features: self.features,
            top_k: query.k,
            threshold: query.threshold,
            backend,
            pairs: pairs
                .into_iter()
                .map(|p| {
                    let text = |i: u32| texts.and_then(|t| t.get(i as usize)).filter(|t| !t.trim().is_empty()).cloned();
                    NamedPair { a: ids[p.a as usize].clone(), b: ids[p.b as usize].clone(), cosine: p.cosine, a_text: text(p.a), b_text: text(p.b) }
                })
                .collect(),
        }
    }

    /// The whole search on the CPU.
    pub fn similar_cpu(&self, settings: &SimilarSettings, reason: &str) -> Result<SimilarReport> {
        let query = self.query(settings)?;
        let (nb, pairs) = query.search_cpu()?;
        Ok(self.report(&query, &nb, pairs, crate::irt::Backend::cpu(reason)))
    }
}

/// Pairs of `ids` rows: all with cosine ≥ `threshold` when given, else each
/// row with its top-k neighbours (each unordered pair once), most similar
/// first. CPU only.
pub fn similar(
    ids: &[String],
    texts: Option<&[String]>,
    vectors: &[f32],
    dims: usize,
    features: &'static str,
    top_k: usize,
    threshold: Option<f32>,
) -> Result<SimilarReport> {
    let input = SimilarInput { ids: ids.to_vec(), texts: texts.map(<[String]>::to_vec), vectors: vectors.to_vec(), dims, features };
    input.similar_cpu(&SimilarSettings { top_k: Some(top_k), threshold, backend: None }, "the CPU search was asked for")
}

/// Similarity settings as the JS API gives them.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SimilarSettings {
    pub top_k: Option<usize>,
    pub threshold: Option<f32>,
    /// `auto` (default), `cpu` or `gpu`; the GPU path lives in `crate::gpu`.
    pub backend: Option<crate::irt::BackendChoice>,
}

/// `similar` from an items CSV and optional `.npy` embeddings (rows in the
/// items file's order), on the CPU: the synchronous entry point. With the
/// `gpu` feature, `crate::gpu::similar_files` chooses the device.
pub fn similar_files(items: Option<&crate::read::Input>, embeddings: Option<&crate::read::Input>, settings: &SimilarSettings) -> Result<SimilarReport> {
    let input = SimilarInput::read(items, embeddings)?;
    let reason = match settings.backend {
        Some(crate::irt::BackendChoice::Gpu) => return Err(Error::invalid("the GPU backend is not available on this path: this build has no gpu feature, or the call is synchronous (use the async GPU entry point)")),
        Some(crate::irt::BackendChoice::Cpu) => "the CPU was asked for",
        _ => "no GPU path on this entry point",
    };
    input.similar_cpu(settings, reason)
}
