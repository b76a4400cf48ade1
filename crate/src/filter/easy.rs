//! Stage 1: items that (nearly) every strong model answers correctly.

use super::{EasyOptions, Removed, Shared, Sift, Stage, fraction_words};

/// Removes the easy items of `sift`'s kept ones (see the module doc of
/// `filter`).
pub(super) fn run(s: &Shared, e: &EasyOptions, sift: &mut Sift) -> Stage {
    let (n_models, n_items, strongest) = (s.m.n_models(), s.m.n_items(), s.strongest);
    let (ids, x, fit) = (s.m.item_ids(), s.x, s.fit);
    let k = e.top_k.unwrap_or(n_models).min(n_models);
    let top = &strongest[..k];
    // (easiness for ordering, evidence) of every easy item.
    let mut easy: Vec<(usize, f64, Removed)> = Vec::new();
    for i in 0..n_items {
        let mut r = Removed::new(&ids[i], "easy");
        let easiness = match e.probability {
            None => {
                let (mut correct, mut seen) = (0usize, 0usize);
                for &j in top {
                    let v = x[j * n_items + i];
                    if !v.is_nan() {
                        seen += 1;
                        correct += (v >= 0.5) as usize;
                    }
                }
                if seen == 0 {
                    continue;
                }
                let f = correct as f64 / seen as f64;
                if f < e.min_fraction {
                    continue;
                }
                r.top_fraction_correct = Some(f);
                f
            }
            Some(t) => {
                let p = top.iter().map(|&j| fit.items[i].expected(fit.theta[j])).fold(f64::INFINITY, f64::min);
                if p < t {
                    continue;
                }
                r.min_probability = Some(p);
                p
            }
        };
        easy.push((i, easiness, r));
    }
    // Keep the least easy ones: most easy first, removed first.
    easy.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let flagged = easy.len();
    let keep = (e.keep_fraction * flagged as f64).round() as usize;
    let n_remove = flagged - keep.min(flagged);
    let mut out: Vec<(usize, Removed)> = easy.into_iter().take(n_remove).map(|(i, _, r)| (i, r)).collect();
    out.sort_by_key(|(i, _)| *i);
    for (i, r) in out {
        sift.alive[i] = false;
        sift.removed.push(r);
    }
    let rule = match e.probability {
        None => format!(
            "{} of the {k} strongest models (by mean score) answer correctly; {} of the easy items kept",
            if e.min_fraction == 1.0 { "all".to_string() } else { format!("at least {}", fraction_words(e.min_fraction)) },
            fraction_words(e.keep_fraction)
        ),
        Some(t) => format!(
            "{} predicts P(correct) ≥ {t} for each of the {k} strongest models; {} of the easy items kept",
            s.irt.as_str(),
            fraction_words(e.keep_fraction)
        ),
    };
    Stage {
        stage: "easy",
        ran: true,
        considered: n_items,
        removed: n_remove,
        rule,
        threshold: Some(e.probability.unwrap_or(e.min_fraction)),
        flagged: Some(flagged),
        pairs: None,
        groups: None,
    }
}
