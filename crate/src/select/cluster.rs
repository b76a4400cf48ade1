//! Clustering for representative subsets: k-means over small feature vectors
//! (IRT parameters) and k-medoids over correlation distance between items'
//! response vectors. Both start from a seeded k-means++ choice and return
//! medoids (actual items), never synthetic centroids.

use crate::matrix::ResponseMatrix;
use crate::parallel;
use crate::rng::Rng;

/// Medoids (positions in the input) and the number of points each represents.
#[derive(Debug, Clone, PartialEq)]
pub struct Clustering {
    pub medoids: Vec<usize>,
    pub sizes: Vec<usize>,
}

fn sq_dist(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

/// k-means++ seeding: each next centre drawn with probability ∝ squared
/// distance to the nearest chosen one (Arthur & Vassilvitskii 2007).
fn plus_plus(n: usize, k: usize, rng: &mut Rng, dist: impl Fn(usize, usize) -> f64) -> Vec<usize> {
    let mut centres = vec![rng.below(n)];
    let mut nearest: Vec<f64> = (0..n).map(|i| dist(i, centres[0])).collect();
    while centres.len() < k {
        let total: f64 = nearest.iter().sum();
        let next = if total <= 0.0 {
            // Every point sits on a centre: take the first unused one.
            match (0..n).find(|i| !centres.contains(i)) {
                Some(i) => i,
                None => break,
            }
        } else {
            let mut target = rng.uniform() * total;
            let mut pick = n - 1;
            for (i, d) in nearest.iter().enumerate() {
                if target < *d {
                    pick = i;
                    break;
                }
                target -= d;
            }
            pick
        };
        centres.push(next);
        for (i, d) in nearest.iter_mut().enumerate() {
            *d = d.min(dist(i, next));
        }
    }
    centres
}

/// Lloyd's k-means from k-means++ seeds; returns the point nearest each
/// centroid as the cluster's medoid.
pub fn k_means(points: &[Vec<f64>], k: usize, rng: &mut Rng) -> Clustering {
    let n = points.len();
    let k = k.min(n).max(1);
    let dims = points.first().map_or(0, Vec::len);
    let seeds = plus_plus(n, k, rng, |i, j| sq_dist(&points[i], &points[j]));
    let mut centroids: Vec<Vec<f64>> = seeds.iter().map(|&s| points[s].clone()).collect();
    let k = centroids.len();
    let mut assign = vec![usize::MAX; n];
    for _ in 0..100 {
        let mut changed = false;
        for (i, p) in points.iter().enumerate() {
            let best = (0..k).min_by(|&a, &b| sq_dist(p, &centroids[a]).total_cmp(&sq_dist(p, &centroids[b])).then(a.cmp(&b))).unwrap_or(0);
            if assign[i] != best {
                assign[i] = best;
                changed = true;
            }
        }
        let mut sums = vec![vec![0.0; dims]; k];
        let mut counts = vec![0usize; k];
        for (i, p) in points.iter().enumerate() {
            counts[assign[i]] += 1;
            for (s, x) in sums[assign[i]].iter_mut().zip(p) {
                *s += x;
            }
        }
        for c in 0..k {
            if counts[c] > 0 {
                centroids[c] = sums[c].iter().map(|s| s / counts[c] as f64).collect();
            } else {
                // An empty cluster takes the point farthest from its centroid.
                let far = (0..n)
                    .max_by(|&a, &b| sq_dist(&points[a], &centroids[assign[a]]).total_cmp(&sq_dist(&points[b], &centroids[assign[b]])).then(b.cmp(&a)))
                    .unwrap_or(0);
                centroids[c] = points[far].clone();
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    medoids_of(n, k, &assign, |i, c| sq_dist(&points[i], &centroids[c]))
}

/// The member nearest each cluster's centre, and cluster sizes (empty
/// clusters are dropped).
fn medoids_of(n: usize, k: usize, assign: &[usize], dist: impl Fn(usize, usize) -> f64) -> Clustering {
    let mut best: Vec<Option<(f64, usize)>> = vec![None; k];
    let mut sizes = vec![0usize; k];
    for i in 0..n {
        let c = assign[i];
        sizes[c] += 1;
        let d = dist(i, c);
        if best[c].is_none_or(|(bd, bi)| d < bd || (d == bd && i < bi)) {
            best[c] = Some((d, i));
        }
    }
    let (medoids, sizes): (Vec<usize>, Vec<usize>) = best.into_iter().zip(sizes).filter_map(|(b, s)| b.map(|(_, i)| (i, s))).unzip();
    Clustering { medoids, sizes }
}

/// Each item's responses across the training models, standardised (mean 0,
/// unit norm), so that a dot product is the Pearson correlation. Missing
/// cells take the item's mean (contribute 0); a constant item is all zeros
/// (correlation 0 with everything).
pub fn standardized_responses(m: &ResponseMatrix, train: &[usize], items: &[usize]) -> Vec<Vec<f32>> {
    items
        .iter()
        .map(|&i| {
            let values: Vec<Option<f64>> = train.iter().map(|&j| m.get(j, i).map(f64::from)).collect();
            let observed: Vec<f64> = values.iter().flatten().copied().collect();
            let mean = observed.iter().sum::<f64>() / observed.len().max(1) as f64;
            let centred: Vec<f64> = values.iter().map(|v| v.map_or(0.0, |x| x - mean)).collect();
            let norm = centred.iter().map(|x| x * x).sum::<f64>().sqrt();
            centred.iter().map(|x| if norm > 0.0 { (x / norm) as f32 } else { 0.0 }).collect()
        })
        .collect()
}

fn dot(a: &[f32], b: &[f32]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>() as f64
}

/// Items' correlation distances 1 − corr, as a full table when it fits in
/// 64 MB (n ≤ 4,096 items), else computed from the vectors on demand.
pub struct CorrelationSpace {
    pub vectors: Vec<Vec<f32>>,
    table: Option<Vec<f32>>,
}

impl CorrelationSpace {
    pub fn new(vectors: Vec<Vec<f32>>) -> Self {
        let n = vectors.len();
        let table = (n <= 4096).then(|| {
            // The upper triangle, mirrored: dot(a, b) and dot(b, a) add the
            // same products in the same order, so the table is the same bits
            // as computing every cell, at half the cost.
            let rows: Vec<Vec<f32>> = parallel::map(n, |i| (i..n).map(|j| (1.0 - dot(&vectors[i], &vectors[j])) as f32).collect());
            let mut table = vec![0.0f32; n * n];
            for (i, row) in rows.iter().enumerate() {
                for (offset, &d) in row.iter().enumerate() {
                    let j = i + offset;
                    table[i * n + j] = d;
                    table[j * n + i] = d;
                }
            }
            table
        });
        CorrelationSpace { vectors, table }
    }

    pub fn distance(&self, i: usize, j: usize) -> f64 {
        match &self.table {
            Some(t) => t[i * self.vectors.len() + j] as f64,
            None => 1.0 - dot(&self.vectors[i], &self.vectors[j]),
        }
    }
}

/// k-medoids (alternating assignment and medoid update) over the points
/// `0..n` with the given distance (1 − corr for anchor points).
pub fn k_medoids(n: usize, k: usize, rng: &mut Rng, dist: &(dyn Fn(usize, usize) -> f64 + Sync)) -> Clustering {
    let k = k.min(n).max(1);
    let mut medoids = plus_plus(n, k, rng, |i, j| {
        let d = dist(i, j);
        d * d
    });
    let k = medoids.len();
    let mut assign = vec![0usize; n];
    for _ in 0..30 {
        // Assignment: nearest medoid, ties to the lower cluster index.
        assign = parallel::map(n, |i| (0..k).min_by(|&a, &b| dist(i, medoids[a]).total_cmp(&dist(i, medoids[b])).then(a.cmp(&b))).unwrap_or(0));
        let mut members: Vec<Vec<usize>> = vec![Vec::new(); k];
        for (i, &c) in assign.iter().enumerate() {
            members[c].push(i);
        }
        // Update: the member with the least total distance to its cluster.
        let updated: Vec<usize> = parallel::map(k, |c| {
            let group = &members[c];
            if group.is_empty() {
                return medoids[c];
            }
            let cost = |i: usize| group.iter().map(|&j| dist(i, j)).sum::<f64>();
            group.iter().copied().min_by(|&a, &b| cost(a).total_cmp(&cost(b)).then(a.cmp(&b))).unwrap_or(medoids[c])
        });
        if updated == medoids {
            break;
        }
        medoids = updated;
    }
    let mut sizes = vec![0usize; k];
    for &c in &assign {
        sizes[c] += 1;
    }
    let (medoids, sizes) = medoids.into_iter().zip(sizes).filter(|(_, s)| *s > 0).unzip();
    Clustering { medoids, sizes }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn k_means_finds_separated_clusters_and_their_medoids() {
        let mut pts = Vec::new();
        for c in 0..3 {
            for k in 0..10 {
                pts.push(vec![c as f64 * 10.0 + (k as f64) * 0.01, 0.0]);
            }
        }
        let cl = k_means(&pts, 3, &mut Rng::new(1));
        let mut sizes = cl.sizes.clone();
        sizes.sort();
        assert_eq!(sizes, vec![10, 10, 10]);
        for &m in &cl.medoids {
            assert!(m % 10 == 4 || m % 10 == 5, "medoid {m} is not central");
        }
    }

    #[test]
    fn k_medoids_groups_correlated_items() {
        // Two families of items: those tracking model index and those tracking its reverse.
        let models = 20;
        let vectors: Vec<Vec<f32>> = (0..10)
            .map(|i| {
                let raw: Vec<f64> = (0..models).map(|j| if i < 5 { j as f64 } else { -(j as f64) } + ((i * 7 + j * 3) % 5) as f64 * 0.1).collect();
                let mean = raw.iter().sum::<f64>() / models as f64;
                let norm = raw.iter().map(|x| (x - mean).powi(2)).sum::<f64>().sqrt();
                raw.iter().map(|x| ((x - mean) / norm) as f32).collect()
            })
            .collect();
        let space = CorrelationSpace::new(vectors);
        let cl = k_medoids(10, 2, &mut Rng::new(3), &|i, j| space.distance(i, j));
        let mut meds = cl.medoids.clone();
        meds.sort();
        assert!(meds[0] < 5 && meds[1] >= 5, "{cl:?}");
        assert_eq!(cl.sizes.iter().sum::<usize>(), 10);
    }
}
