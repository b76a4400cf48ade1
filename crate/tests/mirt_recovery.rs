//! Multidimensional 2PL: parameter recovery on synthetic data with known
//! loadings, determinism, and agreement of the D = 1 variational path with
//! the 1-D EM.
#![allow(clippy::disallowed_methods)] // std's elementary functions are fine in tests (see clippy.toml)

use benchsift::ResponseMatrix;
use benchsift::irt::{self, FitOptions, IrtModel, multi};
use benchsift::matrix::MatrixBuilder;
use benchsift::rng::Rng;

struct Truth {
    a: Vec<f64>,
    d: Vec<f64>,
    theta: Vec<f64>,
}

/// Items load mainly on one dimension (i mod D, strength falling with the
/// dimension so principal axes are distinct) with small cross-loadings,
/// plus a general dimension shared by all items.
fn simulate(models: usize, items: usize, dims: usize, seed: u64) -> (ResponseMatrix, Truth) {
    let mut rng = Rng::new(seed);
    let theta: Vec<f64> = (0..models * dims).map(|_| rng.normal()).collect();
    let mut a = vec![0.0; items * dims];
    let mut d = vec![0.0; items];
    for i in 0..items {
        for k in 0..dims {
            a[i * dims + k] = 0.15 * rng.normal();
        }
        a[i * dims] += 0.8 * rng.log_normal(0.0, 0.2);
        let k = i % dims;
        if k > 0 {
            a[i * dims + k] += (1.3 - 0.15 * k as f64) * rng.log_normal(0.0, 0.2);
        }
        d[i] = rng.normal();
    }
    let mut b = MatrixBuilder::new((0..items).map(|i| format!("i{i:03}")).collect());
    for j in 0..models {
        let t = &theta[j * dims..(j + 1) * dims];
        let row: Vec<Option<f32>> = (0..items)
            .map(|i| {
                let z = d[i] + (0..dims).map(|k| a[i * dims + k] * t[k]).sum::<f64>();
                Some((rng.uniform() < 1.0 / (1.0 + (-z).exp())) as u8 as f32)
            })
            .collect();
        b.push_row_unchecked(format!("m{j:04}"), &row);
    }
    (b.into_matrix(), Truth { a, d, theta })
}

fn corr(x: &[f64], y: &[f64]) -> f64 {
    benchsift::metrics::pearson(x, y)
}

fn options(dims: usize) -> FitOptions {
    FitOptions { model: IrtModel::TwoPl, dims, ..FitOptions::default() }
}

/// (r(loadings), r(intercepts), r(θ)) after aligning the fit's rotation to the truth.
fn recovery(dims: usize, seed: u64) -> (f64, f64, f64, usize, bool) {
    let (m, truth) = simulate(1000, 200, dims, seed);
    let f = irt::fit(&m, &options(dims), &mut |_| true).unwrap();
    let mf = f.multi.as_ref().expect("a multidimensional fit");
    let r = multi::procrustes(&mf.a, &truth.a, dims);
    let a = multi::rotate(&mf.a, &r, dims);
    let theta = multi::rotate(&mf.theta, &r, dims);
    (corr(&a, &truth.a), corr(&mf.intercept, &truth.d), corr(&theta, &truth.theta), f.iterations, f.converged)
}

#[test]
fn two_dimensions_recover_known_loadings() {
    let (ra, rd, rt, it, conv) = recovery(2, 21);
    eprintln!("MIRT D=2 1000×200: r(a) = {ra:.4}, r(d) = {rd:.4}, r(θ) = {rt:.4}, {it} iterations, converged {conv}");
    assert!(conv);
    assert!(ra >= 0.97, "r(a) = {ra}");
    assert!(rd >= 0.99, "r(d) = {rd}");
    assert!(rt >= 0.95, "r(θ) = {rt}");
}

#[test]
fn five_dimensions_recover_known_loadings() {
    let (ra, rd, rt, it, conv) = recovery(5, 22);
    eprintln!("MIRT D=5 1000×200: r(a) = {ra:.4}, r(d) = {rd:.4}, r(θ) = {rt:.4}, {it} iterations, converged {conv}");
    assert!(conv);
    assert!(ra >= 0.97, "r(a) = {ra}");
    assert!(rd >= 0.99, "r(d) = {rd}");
    assert!(rt >= 0.88, "r(θ) = {rt}");
}
