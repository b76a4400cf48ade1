//! Stage 3: near-duplicate items by cosine similarity of embeddings or of
//! hashed n-gram features of their texts.

use super::{DuplicateOptions, Removed, Shared, Sift, Stage, StageTask, Vectors};
use crate::error::{Error, Result};
use crate::similar::{self, NamedPair};

/// Item indices sorted into groups (connected components of `pairs`), each
/// group in ascending order, groups by their first member.
fn components(n: usize, pairs: &[(usize, usize)]) -> Vec<Vec<usize>> {
    let mut parent: Vec<usize> = (0..n).collect();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    for &(a, b) in pairs {
        let (ra, rb) = (root(&mut parent, a), root(&mut parent, b));
        if ra != rb {
            parent[ra.max(rb)] = ra.min(rb);
        }
    }
    let mut groups: std::collections::BTreeMap<usize, Vec<usize>> = std::collections::BTreeMap::new();
    let touched: std::collections::BTreeSet<usize> = pairs.iter().flat_map(|&(a, b)| [a, b]).collect();
    for i in touched {
        let r = root(&mut parent, i);
        groups.entry(r).or_default().push(i);
    }
    groups.into_values().collect()
}

/// Q3 + 3·IQR of the values, clamped into [0.8, 0.95].
fn fence(values: &mut [f32]) -> f32 {
    values.sort_by(|a, b| a.total_cmp(b));
    let q = |p: f64| -> f64 {
        let pos = p * (values.len() - 1) as f64;
        let lo = pos.floor() as usize;
        let hi = (lo + 1).min(values.len() - 1);
        values[lo] as f64 + (pos - lo as f64) * (values[hi] as f64 - values[lo] as f64)
    };
    let (q1, q3) = (q(0.25), q(0.75));
    ((q3 + 3.0 * (q3 - q1)) as f32).clamp(0.8, 0.95)
}

/// Removes all but one item of every group of near-duplicates among each
/// task's kept items; returns the stage and every pair found.
pub(super) fn run(s: &Shared, d: &DuplicateOptions, v: &Vectors, sift: &mut Sift) -> Result<(Stage, Vec<NamedPair>)> {
    let n_items = s.m.n_items();
    let (ids, texts, fit, family) = (s.m.item_ids(), &s.m.items().text, s.fit, s.irt.family());
    if v.has_vector.len() != n_items || v.data.len() != n_items * v.dims {
        return Err(Error::invalid("internal: vectors do not match the items"));
    }
    // Each task's items with vectors, as unit rows.
    let per_task: Vec<(Vec<usize>, Vec<f32>)> = s
        .tasks
        .iter()
        .map(|t| {
            let rows: Vec<usize> = t.items.iter().copied().filter(|&i| sift.alive[i] && v.has_vector[i]).collect();
            let mut data = Vec::with_capacity(rows.len() * v.dims);
            for &i in &rows {
                data.extend_from_slice(&v.data[i * v.dims..(i + 1) * v.dims]);
            }
            let unit = similar::normalize(&data, v.dims);
            (rows, unit)
        })
        .collect();
    let (threshold, given) = match d.threshold {
        Some(t) => (t, true),
        None => {
            // The fence over every item's nearest neighbour within its task.
            let mut nearest: Vec<f32> = Vec::new();
            for (rows, unit) in per_task.iter().filter(|(rows, _)| rows.len() >= 2) {
                let (nb, _) = similar::search(unit, v.dims, 1, None, 0)?;
                nearest.extend(nb.cosine.iter().copied().filter(|c| c.is_finite()));
                debug_assert_eq!(nb.cosine.len(), rows.len());
            }
            (if nearest.is_empty() { 0.95 } else { fence(&mut nearest) }, false)
        }
    };
    // Fisher information over the models' abilities: the group's most useful item stays.
    let info = |i: usize| -> f64 { fit.theta.iter().map(|&t| fit.items[i].information(t, family)).sum() };
    let text = |i: usize| texts.get(i).cloned().flatten().filter(|t| !t.trim().is_empty());
    let (mut considered, mut flagged_total, mut removed_total, mut n_pairs, mut n_groups) = (0, 0, 0, 0, 0);
    let mut tasks = Vec::new();
    let mut duplicate_pairs = Vec::new();
    for (task, (rows, unit)) in s.tasks.iter().zip(&per_task) {
        let pairs = if rows.len() >= 2 { similar::search(unit, v.dims, 0, Some(threshold), 5_000_000)?.1 } else { Vec::new() };
        let local: Vec<(usize, usize)> = pairs.iter().map(|p| (p.a as usize, p.b as usize)).collect();
        let groups = components(rows.len(), &local);
        let best_cos = |a: usize, b: usize| -> Option<f32> { pairs.iter().find(|p| (p.a as usize, p.b as usize) == (a.min(b), a.max(b))).map(|p| p.cosine) };
        let mut remove: Vec<(usize, Removed)> = Vec::new();
        for g in &groups {
            let keep = g.iter().copied().max_by(|&a, &b| info(rows[a]).total_cmp(&info(rows[b])).then(b.cmp(&a))).unwrap_or(g[0]);
            for &member in g.iter().filter(|&&member| member != keep) {
                let i = rows[member];
                let mut r = Removed::new(&ids[i], "duplicate", task.name.as_deref());
                r.duplicate_of = Some(ids[rows[keep]].clone());
                r.cosine = best_cos(member, keep)
                    .or_else(|| pairs.iter().filter(|p| p.a as usize == member || p.b as usize == member).map(|p| p.cosine).reduce(f32::max));
                remove.push((i, r));
            }
        }
        let flagged = remove.len();
        let capped = sift.remove_capped(s, "duplicates", task, remove);
        let removed = if capped { 0 } else { flagged };
        let mut sorted = pairs.clone();
        sorted.sort_by(|x, y| y.cosine.total_cmp(&x.cosine).then(x.a.cmp(&y.a)).then(x.b.cmp(&y.b)));
        duplicate_pairs.extend(sorted.iter().map(|p| {
            let (a, b) = (rows[p.a as usize], rows[p.b as usize]);
            NamedPair { a: ids[a].clone(), b: ids[b].clone(), cosine: p.cosine, a_text: text(a), b_text: text(b) }
        }));
        considered += rows.len();
        flagged_total += flagged;
        removed_total += removed;
        n_pairs += pairs.len();
        n_groups += groups.len();
        tasks.push(StageTask { task: task.label(), items: task.items.len(), considered: rows.len(), flagged, removed, capped });
    }
    duplicate_pairs.sort_by(|x, y| y.cosine.total_cmp(&x.cosine));
    let brief = format!("cosine ≥ {threshold:.2} to another item{}", if given { "" } else { " (an automatic threshold)" });
    let stage = Stage {
        brief,
        stage: "duplicates",
        ran: true,
        considered,
        removed: removed_total,
        rule: format!(
            "cosine ≥ {threshold:.3} of {} ({}){}; one item kept per connected group, the most informative under the {} fit",
            v.features,
            if given {
                "given"
            } else {
                "far above how alike an item and its nearest neighbour usually are: Q3 + 3·IQR of those cosines, kept within [0.8, 0.95]"
            },
            if s.tasks.len() > 1 { ", within each task" } else { "" },
            s.irt.as_str()
        ),
        threshold: Some(threshold as f64),
        flagged: Some(flagged_total),
        pairs: Some(n_pairs),
        groups: Some(n_groups),
        tasks,
        examples: Vec::new(),
        flagged_by_top_k: None,
    };
    Ok((stage, duplicate_pairs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn components_and_fence() {
        assert_eq!(components(6, &[(4, 1), (1, 3), (0, 5)]), vec![vec![0, 5], vec![1, 3, 4]]);
        let mut v = vec![0.5f32, 0.55, 0.6, 0.62, 0.58, 0.99];
        let t = fence(&mut v);
        assert!((0.8..=0.95).contains(&t));
    }
}
