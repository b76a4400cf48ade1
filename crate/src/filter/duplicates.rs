//! Stage 3: near-duplicate items by cosine similarity of embeddings or of
//! hashed n-gram features of their texts.

use super::{DuplicateOptions, Removed, Shared, Sift, Stage, Vectors};
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

/// Removes all but one item of every group of near-duplicates among
/// `sift`'s kept ones; returns the stage and every pair found.
pub(super) fn run(s: &Shared, d: &DuplicateOptions, v: &Vectors, sift: &mut Sift) -> Result<(Stage, Vec<NamedPair>)> {
    let n_items = s.m.n_items();
    let (ids, texts, fit, family) = (s.m.item_ids(), &s.m.items().text, s.fit, s.irt.family());
    if v.has_vector.len() != n_items || v.data.len() != n_items * v.dims {
        return Err(Error::invalid("internal: vectors do not match the items"));
    }
    let rows: Vec<usize> = (0..n_items).filter(|&i| sift.alive[i] && v.has_vector[i]).collect();
    let mut data = Vec::with_capacity(rows.len() * v.dims);
    for &i in &rows {
        data.extend_from_slice(&v.data[i * v.dims..(i + 1) * v.dims]);
    }
    let unit = similar::normalize(&data, v.dims);
    let (threshold, given) = match d.threshold {
        Some(t) => (t, true),
        None if rows.len() >= 2 => {
            let (nb, _) = similar::search(&unit, v.dims, 1, None, 0)?;
            let mut nearest: Vec<f32> = nb.cosine.iter().copied().filter(|c| c.is_finite()).collect();
            (if nearest.is_empty() { 0.95 } else { fence(&mut nearest) }, false)
        }
        None => (0.95, false),
    };
    let pairs = if rows.len() >= 2 { similar::search(&unit, v.dims, 0, Some(threshold), 5_000_000)?.1 } else { Vec::new() };
    let local: Vec<(usize, usize)> = pairs.iter().map(|p| (p.a as usize, p.b as usize)).collect();
    let groups = components(rows.len(), &local);
    // Fisher information over the models' abilities: the group's most useful item stays.
    let info = |i: usize| -> f64 { fit.theta.iter().map(|&t| fit.items[i].information(t, family)).sum() };
    let best_cos = |a: usize, b: usize| -> Option<f32> { pairs.iter().find(|p| (p.a as usize, p.b as usize) == (a.min(b), a.max(b))).map(|p| p.cosine) };
    let mut n_removed = 0;
    let mut out: Vec<(usize, Removed)> = Vec::new();
    for g in &groups {
        let keep = g.iter().copied().max_by(|&a, &b| info(rows[a]).total_cmp(&info(rows[b])).then(b.cmp(&a))).unwrap_or(g[0]);
        for &member in g {
            if member == keep {
                continue;
            }
            let i = rows[member];
            let mut r = Removed::new(&ids[i], "duplicate");
            r.duplicate_of = Some(ids[rows[keep]].clone());
            r.cosine =
                best_cos(member, keep).or_else(|| pairs.iter().filter(|p| p.a as usize == member || p.b as usize == member).map(|p| p.cosine).reduce(f32::max));
            sift.alive[i] = false;
            out.push((i, r));
            n_removed += 1;
        }
    }
    out.sort_by_key(|(i, _)| *i);
    sift.removed.extend(out.into_iter().map(|(_, r)| r));
    let text = |i: usize| texts.get(i).cloned().flatten().filter(|t| !t.trim().is_empty());
    let mut sorted = pairs.clone();
    sorted.sort_by(|x, y| y.cosine.total_cmp(&x.cosine).then(x.a.cmp(&y.a)).then(x.b.cmp(&y.b)));
    let duplicate_pairs = sorted
        .iter()
        .map(|p| {
            let (a, b) = (rows[p.a as usize], rows[p.b as usize]);
            NamedPair { a: ids[a].clone(), b: ids[b].clone(), cosine: p.cosine, a_text: text(a), b_text: text(b) }
        })
        .collect();
    let stage = Stage {
        stage: "duplicates",
        ran: true,
        considered: rows.len(),
        removed: n_removed,
        rule: format!(
            "cosine ≥ {threshold} of {} ({}); one item kept per connected group, the most informative under the {} fit",
            v.features,
            if given { "given" } else { "Q3 + 3·IQR of the nearest-neighbour cosines, clamped into [0.8, 0.95]" },
            s.irt.as_str()
        ),
        threshold: Some(threshold as f64),
        flagged: None,
        pairs: Some(pairs.len()),
        groups: Some(groups.len()),
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
