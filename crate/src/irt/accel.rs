//! What makes EM fast: the parameter expansion (PX-EM; Liu, Rubin & Wu
//! 1998) inside every step, and SQUAREM's extrapolation (Varadhan & Roland
//! 2008) across steps, which works on all free parameters packed into one
//! vector.

use super::estep::PosteriorSummary;
use super::item::{self, Family, Free, ItemParams};
use super::options::{FitOptions, IrtModel};
use super::prior::{items_log_prior, shared_a_log_prior};

/// All free item parameters (and the shared ln a of a 1PL) as one vector.
pub(super) fn pack_all(items: &[ItemParams], family: Family, free: Free) -> Vec<f64> {
    let mut out = Vec::with_capacity(items.len() * item::packed_len(family, free) + 1);
    for p in items {
        item::pack_into(p, family, free, &mut out);
    }
    out.push(crate::math::ln(items[0].a));
    out
}

pub(super) fn unpack_all(v: &[f64], base: &[ItemParams], family: Family, free: Free, shared_a: bool) -> Vec<ItemParams> {
    let k = item::packed_len(family, free);
    let shared = shared_a;
    let shared_a = crate::math::exp(v[v.len() - 1].clamp(-5.0, 5.0));
    base.iter()
        .enumerate()
        .map(|(i, p)| {
            let mut q = item::unpack(&v[i * k..(i + 1) * k], p, family, free);
            if shared {
                q.a = shared_a;
            }
            q
        })
        .collect()
}

/// SQUAREM's jump from three successive parameter vectors p0 → p1 → p2 (two
/// EM steps): the secant step length α = −‖r‖/‖v‖ (r = p1 − p0, v = p2 −
/// 2p1 + p0), kept in [−50, −1], and p0 − 2αr + α²v.
pub(super) fn squarem_jump(p0: &[f64], p1: &[f64], p2: &[f64]) -> Vec<f64> {
    let (mut rr, mut vv) = (0.0, 0.0);
    for k in 0..p0.len() {
        let r = p1[k] - p0[k];
        let v = p2[k] - 2.0 * p1[k] + p0[k];
        rr += r * r;
        vv += v * v;
    }
    let alpha = if vv > 0.0 { -(rr / vv).sqrt() } else { -1.0 };
    let alpha = alpha.clamp(-50.0, -1.0);
    (0..p0.len()).map(|k| p0[k] - 2.0 * alpha * (p1[k] - p0[k]) + alpha * alpha * (p2[k] - 2.0 * p1[k] + p0[k])).collect()
}

/// The population shift m and ln scale ℓ that maximise
/// Σ_j E[ln N(θ_j; m, e^{2ℓ})] + Σ_i ln prior(item_i mapped back), by
/// Newton's method on the two numbers (Rasch: shift only, since a = 1
/// fixes the scale).
pub(super) fn expansion(items: &[ItemParams], posteriors: &[PosteriorSummary], options: &FitOptions, scale_free_items: &[bool]) -> (f64, f64) {
    let (family, free, priors) = (options.model.family(), options.free(), &options.priors);
    let scale_free = options.model != IrtModel::Rasch;
    let objective = |shift: f64, log_scale: f64| -> f64 {
        let s = crate::math::exp(log_scale);
        let population: f64 = posteriors.iter().map(|p| -((p.sd * p.sd + (p.mean - shift) * (p.mean - shift)) / (2.0 * s * s)) - log_scale).sum();
        // The b prior's centre is maximised with (m, s): the mapped items' mean b.
        let mapped: Vec<ItemParams> = items.iter().map(|p| ItemParams { a: p.a * s, b: (p.b - shift) / s, ..*p }).collect();
        let prior = items_log_prior(&mapped, family, free, priors, scale_free_items, options.model);
        population + prior + shared_a_log_prior(options.model, items[0].a * s, priors)
    };
    let (mut x, mut y) = (0.0f64, 0.0f64);
    let h = 1e-4;
    for _ in 0..20 {
        let f0 = objective(x, y);
        let (fx1, fx0) = (objective(x + h, y), objective(x - h, y));
        let gx = (fx1 - fx0) / (2.0 * h);
        let hxx = (fx1 - 2.0 * f0 + fx0) / (h * h);
        let (step_x, step_y) = if scale_free {
            let (fy1, fy0) = (objective(x, y + h), objective(x, y - h));
            let gy = (fy1 - fy0) / (2.0 * h);
            let hyy = (fy1 - 2.0 * f0 + fy0) / (h * h);
            let hxy = (objective(x + h, y + h) - fx1 - objective(x, y + h) + f0) / (h * h);
            let (mut hxx, mut hyy) = (hxx, hyy);
            if !(hxx < 0.0 && hxx * hyy - hxy * hxy > 0.0) {
                // Not concave here: lower the Hessian's spectrum below
                // zero, a Levenberg–Marquardt step, and let the line
                // search below keep only an ascent. Giving up instead
                // left θ's location and scale to drift. (With the b
                // prior's centre fixed, WMT's 460 segments against 13
                // systems made the mapped b priors non-concave in the
                // shift and fired this branch three times per fit;
                // with it estimated they do not depend on the shift,
                // and the branch is a safeguard: the population term
                // itself is not jointly concave far from its maximum.)
                let (mid, radius) = (0.5 * (hxx + hyy), (0.25 * (hxx - hyy) * (hxx - hyy) + hxy * hxy).sqrt());
                let lower = mid + radius + (mid - radius).abs().max(1.0) * 1e-3 + 1e-9;
                if !lower.is_finite() {
                    break;
                }
                hxx -= lower;
                hyy -= lower;
            }
            let det = hxx * hyy - hxy * hxy;
            ((-hyy * gx + hxy * gy) / det, (hxy * gx - hxx * gy) / det)
        } else {
            if hxx >= 0.0 {
                break;
            }
            (-gx / hxx, 0.0)
        };
        // At most 0.5 in either coordinate, scaled as a whole: clamping
        // each coordinate alone can turn an ascent direction into a
        // descent one, and the line search then finds nothing.
        let longest = step_x.abs().max(step_y.abs());
        if !longest.is_finite() {
            break;
        }
        let shrink = if longest > 0.5 { 0.5 / longest } else { 1.0 };
        let (step_x, step_y) = (step_x * shrink, step_y * shrink);
        let mut t = 1.0;
        let mut moved = false;
        for _ in 0..20 {
            if objective(x + t * step_x, y + t * step_y) >= f0 {
                x += t * step_x;
                y += t * step_y;
                moved = true;
                break;
            }
            t *= 0.5;
        }
        if !moved || (t * step_x).abs().max((t * step_y).abs()) < 1e-10 {
            break;
        }
    }
    (x, y)
}
