//! The MAP objective's prior terms: every item's prior with the b prior's
//! centre estimated (decision 15), and a 1PL's one shared discrimination.

use super::item::{self, Family, Free, ItemParams, Priors};
use super::options::IrtModel;

/// The MAP objective's item prior: every item's, with b's prior centred on
/// the items' own mean difficulty (see [`centred_priors`]); items flagged in
/// `skip` (set aside) are left out.
pub(super) fn items_log_prior(items: &[ItemParams], family: Family, free: Free, priors: &Priors, skip: &[bool], model: IrtModel) -> f64 {
    let centred = centred_priors(priors, items, skip, model);
    items.iter().enumerate().filter(|(i, _)| !skip.get(*i).copied().unwrap_or(false)).map(|(_, p)| item::log_prior(p, family, free, &centred)).sum()
}

/// A 1PL's prior on its one shared ln a (counted once, not per item); 0 for
/// the other models, whose per-item a priors `item::log_prior` counts.
pub(super) fn shared_a_log_prior(model: IrtModel, shared_a: f64, priors: &Priors) -> f64 {
    if model != IrtModel::OnePl {
        return 0.0;
    }
    let (mean, sd) = priors.ln_a;
    let la = crate::math::ln(shared_a);
    -0.5 * (la - mean) * (la - mean) / (sd * sd)
}

/// `priors` with the b prior's mean at the mean difficulty of `items` (those
/// not flagged in `skip`): the b prior's location is a parameter with a flat
/// hyperprior, estimated with the items (b_i ~ N(μ_b, σ_b²); its conditional
/// maximum is the items' mean b, so EM stays an exact ECM). Why: a fixed
/// location competes with θ ~ N(0, 1) for the origin of the scale, and with
/// few models it wins — WMT23 MQM's 460 mostly easy segments against 13
/// systems put θ's mean at +2.2. With the location estimated the b prior
/// only holds the difficulties together, and the population alone places θ.
///
/// A 1PL's b prior is on the logit scale, a·b ~ N(a·μ_b, σ_b²), so its sd in
/// θ units is σ_b / a: its one shared a cannot resist the items' b priors
/// the way 2PL's per-item a priors do, and with b's sd fixed in θ units the
/// MAP shrank θ to a point and blew a up to make every b small (MMLU-Pro:
/// θ's variance 0.003, a = 15.8, a log-likelihood 567 below Rasch's). On
/// the logit scale the b prior does not change when θ is stretched and a
/// shrunk, so the population alone sets θ's scale too.
pub(super) fn centred_priors(priors: &Priors, items: &[ItemParams], skip: &[bool], model: IrtModel) -> Priors {
    let (sum, n) = items.iter().enumerate().filter(|(i, _)| !skip.get(*i).copied().unwrap_or(false)).fold((0.0, 0usize), |(s, n), (_, p)| (s + p.b, n + 1));
    let sd = match (model, items.first()) {
        (IrtModel::OnePl, Some(p)) => priors.b.1 / p.a,
        _ => priors.b.1,
    };
    Priors { b: (if n > 0 { sum / n as f64 } else { priors.b.0 }, sd), ..*priors }
}

/// Σ (b_i − mean b)² / σ_b² over `items`: what a 1PL's logit-scale b prior
/// contributes to its shared-a step, −a²·this/2.
pub(super) fn b_spread(items: &[ItemParams], priors: &Priors) -> f64 {
    let mean = items.iter().map(|p| p.b).sum::<f64>() / items.len().max(1) as f64;
    items.iter().map(|p| (p.b - mean) * (p.b - mean)).sum::<f64>() / (priors.b.1 * priors.b.1)
}
