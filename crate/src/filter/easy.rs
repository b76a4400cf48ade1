//! Stage 1: items that (nearly) every strong model of their task answers
//! correctly (see the module doc of `filter`).

use super::{EasyOptions, ReferenceModels, Removed, Shared, Sift, Stage, StageTask, fraction_words};

/// The numbers of reference models the report counts flags for.
const TOP_K_STEPS: [usize; 8] = [1, 3, 5, 7, 10, 20, 50, 100];

/// The first `k` of `strongest` that answered item `i` (fewer when fewer did).
pub(super) fn references(x: &[f32], n_items: usize, strongest: &[usize], i: usize, k: usize) -> Vec<usize> {
    strongest.iter().copied().filter(|&j| !x[j * n_items + i].is_nan()).take(k).collect()
}

/// The easy rule on one item's scores by its reference models: the fraction
/// of them correct (score ≥ confidence) if it is at least `min_fraction`.
pub(super) fn fraction_correct(scores: impl Iterator<Item = f32>, rule: &ReferenceModels) -> Option<f64> {
    let (mut correct, mut seen) = (0usize, 0usize);
    for v in scores {
        seen += 1;
        correct += usize::from(v as f64 >= rule.confidence);
    }
    let f = correct as f64 / seen.max(1) as f64;
    (seen > 0 && f >= rule.min_fraction).then_some(f)
}

/// Removes each task's easy items, but the least easy `keep_fraction` of them.
pub(super) fn run(s: &Shared, e: &EasyOptions, sift: &mut Sift) -> Stage {
    let (n_items, ids, x, fit, rule) = (s.m.n_items(), s.m.item_ids(), s.x, s.fit, s.reference);
    let (mut considered, mut flagged_total, mut removed_total) = (0, 0, 0);
    let mut by_k = vec![0usize; TOP_K_STEPS.len()];
    let mut tasks = Vec::new();
    let mut k_used = 0;
    for task in s.tasks {
        let strongest = s.strongest(task);
        let k = rule.top_k.min(strongest.len());
        k_used = k_used.max(k);
        let items: Vec<usize> = task.items.iter().copied().filter(|&i| sift.alive[i]).collect();
        // (easiness for ordering, evidence) of every easy item.
        let mut easy: Vec<(usize, (f64, f64), Removed)> = Vec::new();
        for &i in &items {
            for (count, &steps) in by_k.iter_mut().zip(&TOP_K_STEPS) {
                let refs = references(x, n_items, &strongest, i, steps);
                if fraction_correct(refs.iter().map(|&j| x[j * n_items + i]), rule).is_some() {
                    *count += 1;
                }
            }
            let refs = references(x, n_items, &strongest, i, k);
            if refs.is_empty() {
                continue;
            }
            let mut r = Removed::new(&ids[i], "easy", task.name.as_deref());
            let easiness = match e.probability {
                None => {
                    let Some(f) = fraction_correct(refs.iter().map(|&j| x[j * n_items + i]), rule) else { continue };
                    r.top_fraction_correct = Some(f);
                    (f, refs.iter().map(|&j| x[j * n_items + i] as f64).sum::<f64>() / refs.len() as f64)
                }
                Some(t) => {
                    let p = refs.iter().map(|&j| fit.items[i].expected(fit.theta[j])).fold(f64::INFINITY, f64::min);
                    if p < t {
                        continue;
                    }
                    r.min_probability = Some(p);
                    (p, p)
                }
            };
            easy.push((i, easiness, r));
        }
        // Keep the least easy ones: most easy first, removed first.
        easy.sort_by(|a, b| b.1.0.total_cmp(&a.1.0).then(b.1.1.total_cmp(&a.1.1)).then(a.0.cmp(&b.0)));
        let flagged = easy.len();
        let keep = (e.keep_fraction * flagged as f64).round() as usize;
        let remove: Vec<(usize, Removed)> = easy.into_iter().take(flagged - keep.min(flagged)).map(|(i, _, r)| (i, r)).collect();
        let n_remove = remove.len();
        let capped = sift.remove_capped(s, "easy", task, remove);
        let removed = if capped { 0 } else { n_remove };
        considered += items.len();
        flagged_total += flagged;
        removed_total += removed;
        tasks.push(StageTask { task: task.label(), items: task.items.len(), considered: items.len(), flagged, removed, capped });
    }
    let per_task = if s.tasks.len() > 1 { " of its task" } else { "" };
    let rule_text = match e.probability {
        None => format!(
            "{} of the {k_used} strongest models{per_task} (by mean score) answer correctly{}; {} of the easy items kept (the least easy)",
            if rule.min_fraction == 1.0 { "all".to_string() } else { format!("at least {}", fraction_words(rule.min_fraction)) },
            if s.m.kind() == crate::matrix::Kind::Binary { String::new() } else { format!(" (a score of at least {})", rule.confidence) },
            fraction_words(e.keep_fraction)
        ),
        Some(t) => format!(
            "the {} fit predicts P(correct) ≥ {t} for each of the {k_used} strongest models{per_task}; {} of the easy items kept",
            s.irt.as_str(),
            fraction_words(e.keep_fraction)
        ),
    };
    let who = if rule.min_fraction == 1.0 { "all".to_string() } else { format!("at least {}", fraction_words(rule.min_fraction)) };
    let brief = match e.probability {
        None => format!("right for {who} of the {k_used} strongest models"),
        Some(t) => format!("P(correct) ≥ {t} for the {k_used} strongest models"),
    };
    Stage {
        stage: "easy",
        ran: true,
        considered,
        removed: removed_total,
        rule: rule_text,
        brief,
        threshold: Some(e.probability.unwrap_or(rule.min_fraction)),
        flagged: Some(flagged_total),
        pairs: None,
        groups: None,
        tasks,
        examples: Vec::new(),
        flagged_by_top_k: Some(TOP_K_STEPS.iter().copied().zip(by_k).filter(|&(k, _)| k <= s.m.n_models()).collect()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rule_counts_scores_at_the_confidence_and_needs_an_answer() {
        let rule = ReferenceModels { top_k: 3, min_fraction: 1.0, confidence: 0.8 };
        assert_eq!(fraction_correct([1.0f32, 0.85, 0.8].into_iter(), &rule), Some(1.0));
        assert_eq!(fraction_correct([1.0f32, 0.79].into_iter(), &rule), None);
        assert_eq!(fraction_correct(std::iter::empty(), &rule), None);
        let most = ReferenceModels { min_fraction: 0.5, ..rule };
        assert_eq!(fraction_correct([1.0f32, 0.0].into_iter(), &most), Some(0.5));
        // A model that did not answer is replaced by the next strongest that did.
        let x = [f32::NAN, 1.0, 1.0, 0.0];
        assert_eq!(references(&x, 1, &[0, 1, 2, 3], 0, 2), vec![1, 2]);
    }
}
