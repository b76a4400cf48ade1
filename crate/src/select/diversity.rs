//! Diversity selectors over item vectors: items that cover the item space
//! rather than the models' scores.
//!
//! - `kcenter`: greedy k-center (Gonzalez 1985, the farthest-point
//!   traversal; a 2-approximation of the minimax cover radius): a seeded
//!   random first item, then repeatedly the item farthest from every chosen
//!   one, distance = 1 − cosine.
//! - `dpp`: greedy MAP inference of a determinantal point process (Chen,
//!   Zhang & Zhou 2018, "Fast Greedy MAP Inference for Determinantal Point
//!   Process to Improve Recommendation Diversity", Algorithm 1, incremental
//!   Cholesky), with the kernel L = exp(−‖xᵢ − xⱼ‖² / (2σ²)) + 10⁻⁶·I and σ²
//!   the items' mean squared distance to their centroid (a scale-free
//!   bandwidth: about half the mean pairwise squared distance). Each step
//!   adds the item with the largest conditional variance dᵢ², i.e. the
//!   largest gain in log det L_S. Deterministic (no seed).
//!
//! Both weight each chosen item by the share of items nearer to it than to
//! any other chosen item (its Voronoi cell), so that Σ wᵢxᵢ estimates the
//! full mean, as the cluster methods' weights do.
//!
//! Vectors: item embeddings (`--embeddings`, a `.npy`, rows in the items
//! file's order), else the built-in hashed n-gram features of the item texts
//! (`similar`'s), else each item's standardised responses over the training
//! models (so 1 − cosine is 1 − correlation, as in `anchor-points`).

use crate::rng::Rng;

/// Unit item vectors, row-major, one row per matrix item.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemVectors {
    pub dims: usize,
    pub data: Vec<f32>,
    /// What the vectors are ("embeddings" or "text-features").
    pub source: &'static str,
}

impl ItemVectors {
    pub fn row(&self, i: usize) -> &[f32] {
        &self.data[i * self.dims..(i + 1) * self.dims]
    }
}

fn sq_dist(a: &[f32], b: &[f32]) -> f64 {
    a.iter().zip(b).map(|(x, y)| ((x - y) as f64) * ((x - y) as f64)).sum()
}

/// Farthest-point traversal over `points`; returns positions in choice order.
pub fn k_center(points: &[&[f32]], k: usize, rng: &mut Rng) -> Vec<usize> {
    let n = points.len();
    if n == 0 || k == 0 {
        return Vec::new();
    }
    let first = rng.below(n);
    let mut chosen = vec![first];
    let mut nearest: Vec<f64> = crate::parallel::map(n, |i| sq_dist(points[i], points[first]));
    while chosen.len() < k.min(n) {
        // Farthest from the chosen set; ties to the lower position.
        let mut best = (f64::NEG_INFINITY, usize::MAX);
        for (i, &d) in nearest.iter().enumerate() {
            if d > best.0 {
                best = (d, i);
            }
        }
        let next = best.1;
        if best.0 <= 0.0 {
            // Every item coincides with a chosen one: fill with unused items in order.
            match (0..n).find(|i| !chosen.contains(i)) {
                Some(i) => chosen.push(i),
                None => break,
            }
            continue;
        }
        chosen.push(next);
        let updated = crate::parallel::map(n, |i| nearest[i].min(sq_dist(points[i], points[next])));
        nearest = updated;
    }
    chosen
}

/// Greedy DPP MAP (Chen et al. 2018, Algorithm 1) with an RBF kernel.
pub fn dpp_greedy(points: &[&[f32]], k: usize) -> Vec<usize> {
    let n = points.len();
    if n == 0 || k == 0 {
        return Vec::new();
    }
    let dims = points[0].len();
    let mut centroid = vec![0.0f64; dims];
    for p in points {
        for (c, &x) in centroid.iter_mut().zip(p.iter()) {
            *c += x as f64;
        }
    }
    centroid.iter_mut().for_each(|c| *c /= n as f64);
    let spread: f64 = points.iter().map(|p| p.iter().zip(&centroid).map(|(&x, c)| (x as f64 - c).powi(2)).sum::<f64>()).sum::<f64>() / n as f64;
    let sigma2 = if spread > 0.0 { spread } else { 1.0 };
    let kernel = |i: usize, j: usize| -> f64 {
        let base = crate::math::exp(-sq_dist(points[i], points[j]) / (2.0 * sigma2));
        if i == j { base + 1e-6 } else { base }
    };
    let k = k.min(n);
    // c[i]: row i of the incremental Cholesky factor; d2[i]: conditional variance.
    let mut c: Vec<Vec<f64>> = vec![Vec::with_capacity(k); n];
    let mut d2: Vec<f64> = (0..n).map(|i| kernel(i, i)).collect();
    let mut taken = vec![false; n];
    let mut chosen = Vec::with_capacity(k);
    while chosen.len() < k {
        let mut best = (f64::NEG_INFINITY, usize::MAX);
        for i in 0..n {
            if !taken[i] && d2[i] > best.0 {
                best = (d2[i], i);
            }
        }
        let j = best.1;
        if j == usize::MAX || best.0 <= 1e-12 {
            // The kernel is numerically exhausted: fill with unused items in order.
            match (0..n).find(|&i| !taken[i]) {
                Some(i) => {
                    taken[i] = true;
                    chosen.push(i);
                    continue;
                }
                None => break,
            }
        }
        taken[j] = true;
        chosen.push(j);
        let dj = best.0.sqrt();
        let cj = c[j].clone();
        let updates: Vec<(f64, f64)> = crate::parallel::map(n, |i| {
            if taken[i] {
                return (0.0, d2[i]);
            }
            let e = (kernel(j, i) - cj.iter().zip(&c[i]).map(|(a, b)| a * b).sum::<f64>()) / dj;
            (e, d2[i] - e * e)
        });
        for (i, (e, d)) in updates.into_iter().enumerate() {
            if !taken[i] {
                c[i].push(e);
                d2[i] = d;
            }
        }
        c[j].push(0.0);
    }
    chosen
}

/// Share of points nearest each chosen point (ties to the earlier choice).
pub fn voronoi_weights(points: &[&[f32]], chosen: &[usize]) -> Vec<f64> {
    let n = points.len();
    let owner: Vec<usize> = crate::parallel::map(n, |i| {
        let mut best = (f64::INFINITY, 0usize);
        for (c, &p) in chosen.iter().enumerate() {
            let d = sq_dist(points[i], points[p]);
            if d < best.0 {
                best = (d, c);
            }
        }
        best.1
    });
    let mut counts = vec![0.0; chosen.len()];
    for o in owner {
        counts[o] += 1.0;
    }
    counts.iter().map(|c| c / n as f64).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blobs() -> Vec<Vec<f32>> {
        // Three tight groups of 10 points (sizes 10, 10, 10) on the unit circle.
        let mut out = Vec::new();
        for g in 0..3 {
            for k in 0..10 {
                let angle = g as f32 * 2.0 + k as f32 * 0.01;
                out.push(vec![angle.cos(), angle.sin()]);
            }
        }
        out
    }

    #[test]
    fn k_center_takes_one_point_per_group_first() {
        let pts = blobs();
        let refs: Vec<&[f32]> = pts.iter().map(Vec::as_slice).collect();
        for seed in 0..5 {
            let chosen = k_center(&refs, 3, &mut Rng::new(seed));
            let mut groups: Vec<usize> = chosen.iter().map(|&i| i / 10).collect();
            groups.sort();
            assert_eq!(groups, vec![0, 1, 2], "seed {seed}: {chosen:?}");
            let w = voronoi_weights(&refs, &chosen);
            assert!(w.iter().all(|&x| (x - 1.0 / 3.0).abs() < 1e-12), "{w:?}");
        }
    }

    #[test]
    fn dpp_spreads_over_groups_and_fills_when_exhausted() {
        let pts = blobs();
        let refs: Vec<&[f32]> = pts.iter().map(Vec::as_slice).collect();
        let chosen = dpp_greedy(&refs, 3);
        let mut groups: Vec<usize> = chosen.iter().map(|&i| i / 10).collect();
        groups.sort();
        assert_eq!(groups, vec![0, 1, 2], "{chosen:?}");
        let all = dpp_greedy(&refs, 30);
        let mut sorted = all.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), 30);
    }

    #[test]
    fn dpp_first_steps_match_exact_log_det_greedy() {
        // Brute force: the item maximising det(L_{S ∪ i}) at each step.
        let mut rng = Rng::new(5);
        let pts: Vec<Vec<f32>> = (0..12).map(|_| (0..3).map(|_| rng.normal() as f32).collect()).collect();
        let refs: Vec<&[f32]> = pts.iter().map(Vec::as_slice).collect();
        let fast = dpp_greedy(&refs, 4);
        let n = refs.len();
        let mut centroid = [0.0f64; 3];
        for p in &pts {
            for d in 0..3 {
                centroid[d] += p[d] as f64 / n as f64;
            }
        }
        let s2: f64 = pts.iter().map(|p| (0..3).map(|d| (p[d] as f64 - centroid[d]).powi(2)).sum::<f64>()).sum::<f64>() / n as f64;
        let l = |i: usize, j: usize| crate::math::exp(-sq_dist(refs[i], refs[j]) / (2.0 * s2)) + if i == j { 1e-6 } else { 0.0 };
        let det = |s: &[usize]| {
            // Gaussian elimination on the small kernel.
            let m = s.len();
            let mut a: Vec<Vec<f64>> = s.iter().map(|&i| s.iter().map(|&j| l(i, j)).collect()).collect();
            let mut d = 1.0;
            for c in 0..m {
                d *= a[c][c];
                for r in c + 1..m {
                    let f = a[r][c] / a[c][c];
                    for k in c..m {
                        a[r][k] -= f * a[c][k];
                    }
                }
            }
            d
        };
        let mut slow: Vec<usize> = Vec::new();
        for _ in 0..4 {
            let next = (0..n)
                .filter(|i| !slow.contains(i))
                .max_by(|&a, &b| {
                    let mut sa = slow.clone();
                    sa.push(a);
                    let mut sb = slow.clone();
                    sb.push(b);
                    // Ties to the lower index, as the fast version.
                    det(&sa).total_cmp(&det(&sb)).then(b.cmp(&a))
                })
                .unwrap();
            slow.push(next);
        }
        assert_eq!(fast, slow);
    }
}
