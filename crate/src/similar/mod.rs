//! Embedding similarity: each item's nearest neighbours by cosine, and every
//! pair above a threshold, without ever holding the N × N matrix.
//!
//! Rows are L2-normalised once; the cosine is then a dot product. The search
//! is a blocked matrix product in the GotoBLAS manner: rows are packed in
//! panels of 8, dimension-major, and a 4 × 8 microkernel keeps its 32 scores
//! in vector registers while it streams one panel against another, so each
//! loaded value feeds 4 or 8 multiply-adds and no lane is ever summed
//! horizontally. Rows are taken in blocks against column tiles (a block ×
//! tile slab of scores at a time, 256 KB), and because every score is a
//! plain in-order sum of products — the same bits whatever the vector width
//! (SSE2 or AVX2 natively, simd128 in wasm) and the same for (i, j) as for (j, i) —
//! each block is scored only against the columns from its own first row on,
//! and each score is filed under both rows: half the work of the full
//! product. Workers keep their own top-k tables, merged under a total order
//! (cosine, then lower index), so the answer does not depend on the thread
//! count. Memory is O(threads·N·k + block·tile + N·dims). This is the CPU
//! path and the oracle for the GPU kernels.
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

/// Rows per microkernel tile, and columns (the vector width of its
/// accumulators: two SSE/simd128 registers per row).
const MR: usize = 4;
const NR: usize = 8;
const _: () = assert!(NR == 2 * MR && BLOCK % NR == 0 && TILE % NR == 0);
/// Rows a worker owns (its top-k lists), and columns per pass over them: a
/// BLOCK × TILE slab of scores (256 KB) between the kernel and the top-k.
const BLOCK: usize = 64;
const TILE: usize = 1024;

/// Rows in panels of NR, each panel `dims × NR` (dimension-major, rows
/// zero-padded to NR): the layout the microkernel streams, so a column's
/// NR scores accumulate in vector lanes with no horizontal sums.
fn pack_panels(unit: &[f32], dims: usize) -> Vec<f32> {
    let n = unit.len() / dims;
    let mut packed = vec![0.0f32; n.div_ceil(NR) * dims * NR];
    for (i, row) in unit.chunks_exact(dims).enumerate() {
        let panel = &mut packed[(i / NR) * dims * NR..(i / NR + 1) * dims * NR];
        for (d, &x) in row.iter().enumerate() {
            panel[d * NR + i % NR] = x;
        }
    }
    packed
}

/// Scores of rows `ROW..ROW + MR` of panel `a` against the NR rows of panel
/// `b`: `c[r][j] = Σ_d a[d][ROW + r] · b[d][j]`, summed over d in order.
/// Every score is a plain sequential sum of products, so it is the same
/// whatever the vector width (SSE, AVX, simd128) and dot(i, j) == dot(j, i)
/// to the bit.
#[inline(always)]
fn micro<const ROW: usize>(a: &[f32], b: &[f32]) -> [[f32; NR]; MR] {
    let mut c = [[0.0f32; NR]; MR];
    for (ad, bd) in a.chunks_exact(NR).zip(b.chunks_exact(NR)) {
        let ad: &[f32; NR] = ad.try_into().expect("chunks_exact(NR)");
        let bd: &[f32; NR] = bd.try_into().expect("chunks_exact(NR)");
        for r in 0..MR {
            let x = ad[ROW + r];
            for j in 0..NR {
                c[r][j] += x * bd[j];
            }
        }
    }
    c
}

/// Fills `slab` (rows of width TILE) with the scores of the rows in panels
/// `a_panels` against the columns in panels `b_panels`. On x86-64 with AVX2
/// the same code is compiled for 256-bit registers (one per microkernel
/// row); the sums, and so the bits, are the same as the SSE build's.
fn scores_into(slab: &mut [f32], packed: &[f32], dims: usize, a_panels: std::ops::Range<usize>, b_panels: std::ops::Range<usize>) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2, the only feature the function enables.
        return unsafe { scores_into_avx2(slab, packed, dims, a_panels, b_panels) };
    }
    scores_into_portable(slab, packed, dims, a_panels, b_panels)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn scores_into_avx2(slab: &mut [f32], packed: &[f32], dims: usize, a_panels: std::ops::Range<usize>, b_panels: std::ops::Range<usize>) {
    scores_into_portable(slab, packed, dims, a_panels, b_panels)
}

#[inline(always)]
fn scores_into_portable(slab: &mut [f32], packed: &[f32], dims: usize, a_panels: std::ops::Range<usize>, b_panels: std::ops::Range<usize>) {
    let panel = |p: usize| &packed[p * dims * NR..(p + 1) * dims * NR];
    for (cb, pb) in b_panels.enumerate() {
        let b = panel(pb);
        for (ra, pa) in a_panels.clone().enumerate() {
            let a = panel(pa);
            let lo = micro::<0>(a, b);
            let hi = micro::<MR>(a, b);
            for (r, row) in lo.iter().chain(hi.iter()).enumerate() {
                let at = (ra * NR + r) * TILE + cb * NR;
                slab[at..at + NR].copy_from_slice(row);
            }
        }
    }
}

/// Whether neighbour (s, j) ranks above (t, i): higher cosine first, then
/// the lower index. A total order on candidates, so a row's top-k is the
/// same whichever order its candidates arrive in — and so whichever worker
/// thread saw them.
#[inline]
fn ranks_above(s: f32, j: u32, t: f32, i: u32) -> bool {
    s > t || (s == t && j < i)
}

/// Inserts (score, j) into a row's top-k list, best first.
#[inline]
fn insert(scores: &mut [f32], index: &mut [u32], score: f32, j: u32) {
    let k = scores.len();
    if k == 0 || !ranks_above(score, j, scores[k - 1], index[k - 1]) {
        return;
    }
    let mut pos = k - 1;
    while pos > 0 && ranks_above(score, j, scores[pos - 1], index[pos - 1]) {
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
    let share = search_share(unit, dims, k, threshold, 0, 1, max_pairs)?;
    merge_shares(unit.len() / dims.max(1), threshold, vec![share], max_pairs)
}

/// What a share of the row blocks found: its n × k tables (each score filed
/// under both of its rows) and its threshold pairs. Shares merge into the
/// whole search under a total order ([`merge_shares`]), so it does not
/// matter which share (or thread, or worker) took which block.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchShare {
    /// Which share of how many this is.
    share: usize,
    shares: usize,
    k: usize,
    index: Vec<u32>,
    cosine: Vec<f32>,
    pairs: Vec<Pair>,
}

/// The row blocks `share`, `share + shares`, `share + 2·shares`, … of the
/// search (interleaved: the first blocks have the most columns to score),
/// on this machine's threads. `search_share(.., 0, 1, ..)` is the whole search.
pub fn search_share(unit: &[f32], dims: usize, k: usize, threshold: Option<f32>, share: usize, shares: usize, max_pairs: usize) -> Result<SearchShare> {
    if dims == 0 {
        return Err(Error::invalid("vectors have 0 dimensions"));
    }
    if shares == 0 || share >= shares {
        return Err(Error::invalid(format!("share {share} of {shares}")));
    }
    let n = unit.len() / dims;
    let k = k.min(n.saturating_sub(1));
    let packed = pack_panels(unit, dims);
    // Each score serves both of its rows (the kernel's cos(i, j) is cos(j, i)
    // to the bit), so a worker scores row block I only against columns from
    // I's first row on, and files (s, j) under row i and (s, i) under row j
    // in its own n × k table. The tables merge under a total order, so the
    // result does not depend on which worker took which block.
    struct Worker {
        index: Vec<u32>,
        cosine: Vec<f32>,
        pairs: Vec<Pair>,
        slab: Vec<f32>,
    }
    let blocks: Vec<usize> = (share..n.div_ceil(BLOCK)).step_by(shares).collect();
    let workers = parallel::fold(
        blocks.len(),
        || Worker { index: vec![u32::MAX; n * k], cosine: vec![f32::NEG_INFINITY; n * k], pairs: Vec::new(), slab: vec![0.0f32; BLOCK * TILE] },
        |w, t| {
            let b = blocks[t];
            let rows = (b * BLOCK)..((b + 1) * BLOCK).min(n);
            let a_panels = rows.start / NR..rows.end.div_ceil(NR);
            for tile_start in (rows.start..n).step_by(TILE) {
                let cols = tile_start..(tile_start + TILE).min(n);
                scores_into(&mut w.slab, &packed, dims, a_panels.clone(), cols.start / NR..cols.end.div_ceil(NR));
                for (r, i) in rows.clone().enumerate() {
                    let first = cols.start.max(i + 1);
                    for j in first..cols.end {
                        let s = w.slab[r * TILE + (j - cols.start)];
                        if k > 0 {
                            insert(&mut w.cosine[i * k..(i + 1) * k], &mut w.index[i * k..(i + 1) * k], s, j as u32);
                            insert(&mut w.cosine[j * k..(j + 1) * k], &mut w.index[j * k..(j + 1) * k], s, i as u32);
                        }
                        if let Some(t) = threshold {
                            if s >= t {
                                w.pairs.push(Pair { a: i as u32, b: j as u32, cosine: s });
                            }
                        }
                    }
                }
            }
        },
    );
    let parts: Vec<SearchShare> = workers.into_iter().map(|w| SearchShare { share, shares, k, index: w.index, cosine: w.cosine, pairs: w.pairs }).collect();
    let total: usize = parts.iter().map(|p| p.pairs.len()).sum();
    if total > max_pairs {
        return Err(too_many_pairs(total, threshold, max_pairs));
    }
    Ok(merge_tables(n, parts))
}

/// The shares' tables merged into one (each row's top-k under the total
/// order of [`insert`]; pairs concatenated).
fn merge_tables(n: usize, parts: Vec<SearchShare>) -> SearchShare {
    let mut parts = parts.into_iter();
    let mut whole = parts.next().expect("at least one share");
    let k = whole.k;
    for p in parts {
        for row in 0..n {
            for r in row * k..(row + 1) * k {
                insert(&mut whole.cosine[row * k..(row + 1) * k], &mut whole.index[row * k..(row + 1) * k], p.cosine[r], p.index[r]);
            }
        }
        whole.pairs.extend(p.pairs);
    }
    whole
}

/// The whole search from every share (in any order) of `n` rows: each
/// row's neighbours and the pairs in (a, b) order, as [`search`] gives them.
pub fn merge_shares(n: usize, threshold: Option<f32>, shares: Vec<SearchShare>, max_pairs: usize) -> Result<(Neighbours, Vec<Pair>)> {
    if shares.is_empty() {
        return Err(Error::invalid("no share of the search to merge"));
    }
    // Shares may come from other processes: every size and index is checked
    // against the search before it is used.
    let k = shares[0].k;
    let cells = n.checked_mul(k).ok_or_else(|| Error::invalid("a share of the search with too many neighbours"))?;
    let mut seen = vec![false; shares[0].shares];
    for s in &shares {
        if s.shares != seen.len() || s.share >= seen.len() || std::mem::replace(&mut seen[s.share], true) {
            return Err(Error::invalid(format!("share {} of {} merged with shares of {}, or twice", s.share, s.shares, seen.len())));
        }
    }
    if let Some(missing) = seen.iter().position(|&s| !s) {
        return Err(Error::invalid(format!("share {missing} of {} of the search is missing", seen.len())));
    }
    for s in &shares {
        if s.k != k || s.index.len() != cells || s.cosine.len() != cells {
            return Err(Error::invalid(format!("a share of the search for {} rows merged with one for {n}", s.index.len() / s.k.max(1))));
        }
        if s.index.iter().any(|&i| i != u32::MAX && i as usize >= n) || s.pairs.iter().any(|p| p.a >= p.b || p.b as usize >= n) {
            return Err(Error::invalid(format!("a share of the search names a row outside its {n} rows")));
        }
    }
    let total: usize = shares.iter().map(|s| s.pairs.len()).sum();
    if total > max_pairs {
        return Err(too_many_pairs(total, threshold, max_pairs));
    }
    let SearchShare { k, index, cosine, mut pairs, .. } = merge_tables(n, shares);
    pairs.sort_unstable_by_key(|p| (p.a, p.b));
    Ok((Neighbours { k, index, cosine }, pairs))
}

/// The tag of a share's message (see `crate::wire`).
const SHARE_TAG: &[u8; 4] = b"BSS1";

impl SearchShare {
    /// Neighbours kept per row.
    pub fn k(&self) -> usize {
        self.k
    }

    /// The share as a message, for [`SearchShare::decode`] in the process that merges.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = crate::wire::Writer::new(SHARE_TAG);
        w.u32(self.share as u32);
        w.u32(self.shares as u32);
        w.u32(self.k as u32);
        w.u32(self.index.len() as u32);
        self.index.iter().for_each(|&i| w.u32(i));
        self.cosine.iter().for_each(|&c| w.f32(c));
        w.u32(self.pairs.len() as u32);
        for p in &self.pairs {
            w.u32(p.a);
            w.u32(p.b);
            w.f32(p.cosine);
        }
        w.into_bytes()
    }

    pub fn decode(bytes: &[u8]) -> std::result::Result<SearchShare, String> {
        let mut r = crate::wire::Reader::new(bytes, SHARE_TAG, "similarity share")?;
        let (share, shares) = (r.u32()? as usize, r.u32()? as usize);
        let k = r.u32()? as usize;
        let len = r.u32()? as usize;
        if len > r.left() / 8 {
            return Err(format!("similarity share message: {len} table cells in {} bytes", r.left()));
        }
        let index = (0..len).map(|_| r.u32()).collect::<std::result::Result<Vec<_>, _>>()?;
        let cosine = (0..len).map(|_| r.f32()).collect::<std::result::Result<Vec<_>, _>>()?;
        let n_pairs = r.u32()? as usize;
        if n_pairs > r.left() / 12 {
            return Err(format!("similarity share message: {n_pairs} pairs in {} bytes", r.left()));
        }
        let pairs = (0..n_pairs).map(|_| Ok(Pair { a: r.u32()?, b: r.u32()?, cosine: r.f32()? })).collect::<std::result::Result<Vec<_>, String>>()?;
        r.end()?;
        Ok(SearchShare { share, shares, k, index, cosine, pairs })
    }
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
    fn scores_are_sequential_f32_sums_and_ties_go_to_the_lower_index() {
        // Rows 3, 40 and 77 are copies: exact ties, in three different
        // panels and blocks, so ties cross workers' tables and tiles.
        let (n, dims, k) = (150, 19, 4);
        let mut unit = random(n, dims, 3);
        let copy: Vec<f32> = unit[3 * dims..4 * dims].to_vec();
        for r in [40, 77] {
            unit[r * dims..(r + 1) * dims].copy_from_slice(&copy);
        }
        let (nb, _) = search(&unit, dims, k, None, 0).unwrap();
        let row = |i: usize| (nb.index[i * k..(i + 1) * k].to_vec(), nb.cosine[i * k..(i + 1) * k].to_vec());
        assert_eq!(row(3).0[..2], [40, 77]);
        assert_eq!(row(40).0[..2], [3, 77]);
        assert_eq!(row(77).0[..2], [3, 40]);
        // Every reported score is the plain in-order f32 sum, bit for bit,
        // and the same seen from either row.
        let sequential = |i: usize, j: usize| (0..dims).fold(0.0f32, |acc, d| acc + unit[i * dims + d] * unit[j * dims + d]);
        for i in 0..n {
            let (index, cosine) = row(i);
            for (j, c) in index.into_iter().zip(cosine) {
                assert_eq!(c.to_bits(), sequential(i, j as usize).to_bits(), "row {i} neighbour {j}");
                assert_eq!(c.to_bits(), sequential(j as usize, i).to_bits());
            }
        }
    }

    #[test]
    fn shares_of_the_search_merged_in_any_order_are_the_search() {
        let (n, dims) = (300, 24);
        let mut unit = normalize(&random(n, dims, 9), dims);
        // A duplicate pair, so that the threshold finds something.
        let copy = unit[5 * dims..6 * dims].to_vec();
        unit[200 * dims..201 * dims].copy_from_slice(&copy);
        for (k, threshold) in [(4, None), (0, Some(0.5))] {
            let whole = search(&unit, dims, k, threshold, MAX_PAIRS).unwrap();
            for shares in [2, 3, 7] {
                let mut parts: Vec<SearchShare> = (0..shares)
                    .map(|s| SearchShare::decode(&search_share(&unit, dims, k, threshold, s, shares, MAX_PAIRS).unwrap().encode()).unwrap())
                    .collect();
                parts.reverse();
                assert_eq!(merge_shares(n, threshold, parts, MAX_PAIRS).unwrap(), whole, "{shares} shares, k {k}");
            }
        }
        assert!(search_share(&unit, dims, 4, None, 3, 3, MAX_PAIRS).is_err());
        let part = |s: usize| search_share(&unit, dims, 4, None, s, 3, MAX_PAIRS).unwrap();
        assert!(merge_shares(n, None, vec![part(0), part(2)], MAX_PAIRS).unwrap_err().to_string().contains("missing"));
        assert!(merge_shares(n, None, vec![part(0), part(1), part(1)], MAX_PAIRS).is_err());
        let mut outside = part(1);
        outside.pairs.push(Pair { a: 2, b: n as u32, cosine: 1.0 });
        assert!(merge_shares(n, None, vec![part(0), outside, part(2)], MAX_PAIRS).unwrap_err().to_string().contains("outside"));
        let bytes = search_share(&unit, dims, 4, None, 0, 2, MAX_PAIRS).unwrap().encode();
        assert!(SearchShare::decode(&bytes[..bytes.len() - 2]).unwrap_err().contains("cut short"));
        assert!(SearchShare::decode(b"BSB1").unwrap_err().contains("not a similarity share"));
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
    pub backend: crate::backend::Backend,
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

    /// Share `share` of `shares` of the CPU search (see [`search_share`]).
    pub fn search_share(&self, share: usize, shares: usize) -> Result<SearchShare> {
        search_share(&self.unit, self.dims, self.k, self.threshold, share, shares, self.max_pairs)
    }

    /// The search from all its shares (see [`merge_shares`]).
    pub fn merge(&self, shares: Vec<SearchShare>) -> Result<(Neighbours, Vec<Pair>)> {
        merge_shares(self.n, self.threshold, shares, self.max_pairs)
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
    /// From an items CSV and optional embeddings (any form
    /// `read::read_embeddings` takes: named vectors are matched to items by
    /// id, unnamed rows follow the items file); without embeddings the texts
    /// become hashed n-grams.
    pub fn read(items: Option<&crate::read::Input>, embeddings: Option<&crate::read::Input>) -> Result<SimilarInput> {
        let table = items.map(|i| crate::read::read_item_texts(i, crate::read::DEFAULT_MAX_BYTES)).transpose()?;
        match embeddings {
            Some(input) => {
                let e = crate::read::read_embeddings(input, crate::read::DEFAULT_MAX_BYTES)?;
                let (ids, texts, vectors) = match table {
                    Some((ids, texts)) => {
                        let vectors = e.ordered_as(input.name, &ids)?;
                        (ids, Some(texts), vectors)
                    }
                    None => (e.ids.clone().unwrap_or_else(|| (0..e.rows).map(|i| i.to_string()).collect()), None, e.data),
                };
                Ok(SimilarInput { ids, texts, vectors, dims: e.dims, features: "embeddings" })
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

    /// The search for each row's `top_k` neighbours, or for every pair at
    /// or above `threshold` when given.
    pub fn query(&self, top_k: usize, threshold: Option<f32>) -> Result<Query> {
        Query::new(self.ids.len(), &self.vectors, self.dims, top_k, threshold)
    }

    /// The report from a search's answer to `query`, whichever backend
    /// computed it: threshold pairs, or each row with its top-k neighbours
    /// (each unordered pair once), most similar first.
    pub fn report(&self, query: &Query, neighbours: &Neighbours, mut pairs: Vec<Pair>, backend: crate::backend::Backend) -> SimilarReport {
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
    pub fn similar_cpu(&self, top_k: usize, threshold: Option<f32>, reason: &str) -> Result<SimilarReport> {
        let query = self.query(top_k, threshold)?;
        let (nb, pairs) = query.search_cpu()?;
        Ok(self.report(&query, &nb, pairs, crate::backend::Backend::cpu(reason)))
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
    input.similar_cpu(top_k, threshold, "the CPU search was asked for")
}
