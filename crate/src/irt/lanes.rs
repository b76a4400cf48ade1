//! A one-dimensional 2PL model's log-likelihood, score and information at θ,
//! in fixed lanes the compiler turns into SIMD: the Newton refinement of every
//! narrow posterior (a model answering thousands of items) sums these over
//! all of its items three times per E-step, and with one `libm::exp` and a
//! bitset lookup per item that was 60% of a 6,000 × 30,000 fit.
//!
//! The lanes are fixed at [`LANES`] whatever the hardware's vector width, and
//! each lane sums its own items in order, so the result is the same bits on
//! SSE2, AVX2 and wasm simd128 (Rust never fuses a multiply and an add).

use crate::math::ln;

/// Items summed side by side: item j goes to lane j mod LANES.
pub(crate) const LANES: usize = 8;

// fdlibm's constants, by their bits (as libm has them).
const LN2_HI: f64 = f64::from_bits(0x3fe6_2e42_fee0_0000);
const LN2_LO: f64 = f64::from_bits(0x3dea_39ef_3579_3c76);
const INV_LN2: f64 = f64::from_bits(0x3ff7_1547_652b_82fe);
const P1: f64 = f64::from_bits(0x3fc5_5555_5555_553e);
const P2: f64 = f64::from_bits(0xbf66_c16c_16be_bd93);
const P3: f64 = f64::from_bits(0x3f11_566a_af25_de2c);
const P4: f64 = f64::from_bits(0xbebb_bd41_c5d2_6bf1);
const P5: f64 = f64::from_bits(0x3e66_3769_72be_a4d0);
/// 1.5 · 2⁵²: adding it rounds a double of magnitude < 2⁵¹ to an integer,
/// which then sits in the low bits of the sum's representation.
const ROUND: f64 = 6_755_399_441_055_744.0;

/// e^x for x ≤ 0 without branches: fdlibm's reduction and rational
/// approximation (the algorithm `libm::exp` uses, < 1 ulp), with k found by
/// the rounding constant instead of a float-to-int conversion so that it
/// vectorises. Arguments below −708 give e^−708 (≈ 3·10⁻³⁰⁸), where libm
/// would go subnormal: every use here adds e^x to 1.
#[inline(always)]
pub(crate) fn exp_nonpositive(x: f64) -> f64 {
    let x = x.max(-708.0);
    let shifted = x * INV_LN2 + ROUND;
    let k = shifted - ROUND;
    let hi = x - k * LN2_HI;
    let lo = k * LN2_LO;
    let r = hi - lo;
    let rr = r * r;
    let c = r - rr * (P1 + rr * (P2 + rr * (P3 + rr * (P4 + rr * P5))));
    let y = 1.0 + (r * c / (2.0 - c) - lo + hi);
    // 2^k from k's bits: the low 52 bits of `shifted` hold 2⁵¹ + k.
    let k_bits = shifted.to_bits().wrapping_sub(ROUND.to_bits());
    let scale = f64::from_bits(k_bits.wrapping_add(1023) << 52);
    y * scale
}

/// One model's observed items, gathered so that the sums over them stream
/// through contiguous arrays: discrimination, difficulty and score.
#[derive(Default)]
pub(crate) struct TwoPlItems {
    pub a: Vec<f64>,
    pub b: Vec<f64>,
    pub x: Vec<f64>,
}

impl TwoPlItems {
    pub fn clear(&mut self) {
        self.a.clear();
        self.b.clear();
        self.x.clear();
    }

    pub fn push(&mut self, a: f64, b: f64, x: f64) {
        self.a.push(a);
        self.b.push(b);
        self.x.push(x);
    }

    /// (Σ ln p(xⱼ | θ), its derivative in θ, the Fisher information) over
    /// the items, for a 2PL: ln p(x) = x·z − softplus(z) with z = a(θ − b).
    pub fn sums_at(&self, theta: f64) -> (f64, f64, f64) {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2, the only feature the function enables.
            return unsafe { self.sums_at_avx2(theta) };
        }
        self.sums_at_portable(theta)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn sums_at_avx2(&self, theta: f64) -> (f64, f64, f64) {
        self.sums_at_portable(theta)
    }

    #[inline(always)]
    fn sums_at_portable(&self, theta: f64) -> (f64, f64, f64) {
        let n = self.a.len();
        let (mut ll, mut g, mut info) = ([0.0f64; LANES], [0.0f64; LANES], [0.0f64; LANES]);
        // Σ softplus(z) = Σ max(z, 0) + Σ ln(1 + e^−|z|), the second as the
        // log of a running product per lane: each factor lies in [1, 2], so
        // one ln per lane per block replaces one per item.
        let mut log_product = [0.0f64; LANES];
        const BLOCK: usize = 64 * LANES;
        let whole = n / LANES * LANES;
        for start in (0..whole).step_by(BLOCK) {
            let end = (start + BLOCK).min(whole);
            let mut product = [1.0f64; LANES];
            for j in (start..end).step_by(LANES) {
                let (a, b, x) = (&self.a[j..j + LANES], &self.b[j..j + LANES], &self.x[j..j + LANES]);
                for l in 0..LANES {
                    let z = a[l] * (theta - b[l]);
                    let e = exp_nonpositive(-z.abs());
                    let s = if z >= 0.0 { 1.0 } else { e } / (1.0 + e);
                    ll[l] += x[l] * z - z.max(0.0);
                    product[l] *= 1.0 + e;
                    g[l] += a[l] * (x[l] - s);
                    info[l] += a[l] * a[l] * (s * (1.0 - s));
                }
            }
            for l in 0..LANES {
                log_product[l] += ln(product[l]);
            }
        }
        // The last n mod LANES items, one lane each.
        for (l, j) in (whole..n).enumerate() {
            let (a, b, x) = (self.a[j], self.b[j], self.x[j]);
            let z = a * (theta - b);
            let e = exp_nonpositive(-z.abs());
            let s = if z >= 0.0 { 1.0 } else { e } / (1.0 + e);
            ll[l] += x * z - z.max(0.0);
            log_product[l] += ln(1.0 + e);
            g[l] += a * (x - s);
            info[l] += a * a * (s * (1.0 - s));
        }
        let total = |v: [f64; LANES]| v.iter().sum::<f64>();
        (total(ll) - total(log_product), total(g), total(info))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    #[test]
    fn the_branch_free_exp_is_libms_to_the_bit() {
        let mut rng = Rng::new(3);
        let mut values: Vec<f64> = (0..200_000).map(|_| -rng.uniform() * 708.0).collect();
        values.extend((0..200_000).map(|_| -rng.uniform() * 3.0));
        values.extend((0..10_000).map(|_| -rng.uniform() * 1e-6));
        values.extend([0.0, -0.0, -0.5 * std::f64::consts::LN_2, -1.5 * std::f64::consts::LN_2, -1.0, -700.0, -708.0]);
        for x in values {
            assert_eq!(exp_nonpositive(x).to_bits(), libm::exp(x).to_bits(), "e^{x}");
        }
        // Below 2⁻²⁸ libm returns 1 + x; the polynomial's 1 + (x + x²/2) can
        // round the other way, one ulp off.
        for x in (0..10_000).map(|_| -rng.uniform() * 3e-9).chain([-1e-300]) {
            assert!(exp_nonpositive(x).to_bits().abs_diff(libm::exp(x).to_bits()) <= 1, "e^{x}");
        }
        // Below the clamp: e^−708, a normal number, where libm goes subnormal.
        assert_eq!(exp_nonpositive(-1000.0), libm::exp(-708.0));
        assert_eq!(exp_nonpositive(f64::NEG_INFINITY), libm::exp(-708.0));
    }

    #[test]
    fn lane_sums_equal_a_direct_sum_and_do_not_depend_on_the_vector_unit() {
        let mut rng = Rng::new(8);
        for n in [0, 1, 7, 8, 9, 513, 4_099] {
            let mut items = TwoPlItems::default();
            for _ in 0..n {
                let a = (0.4 * rng.normal()).exp();
                let b = 2.0 * rng.normal();
                items.push(a, b, if rng.uniform() < 0.5 { 1.0 } else { 0.0 });
            }
            for theta in [-3.0, 0.1, 2.5] {
                let (ll, g, info) = items.sums_at(theta);
                let (mut dll, mut dg, mut dinfo) = (0.0, 0.0, 0.0);
                for j in 0..n {
                    let (a, b, x) = (items.a[j], items.b[j], items.x[j]);
                    let z = a * (theta - b);
                    let p = 1.0 / (1.0 + (-z).exp());
                    dll += x * z - (z.max(0.0) + (-z.abs()).exp().ln_1p());
                    dg += a * (x - p);
                    dinfo += a * a * p * (1.0 - p);
                }
                let close = |u: f64, v: f64| (u - v).abs() <= 1e-12 * (1.0 + v.abs());
                assert!(close(ll, dll) && close(g, dg) && close(info, dinfo), "n {n} θ {theta}: {ll} {g} {info} vs {dll} {dg} {dinfo}");
                assert_eq!((ll, g, info), items.sums_at_portable(theta), "n {n}: the AVX2 build differs from the portable one");
            }
        }
    }
}
