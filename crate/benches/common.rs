//! Inputs shared by the benchmarks: the real MMLU-Pro matrix (from
//! ../shared/data when present, else the copy bundled in www/data) and
//! synthetic matrices with known parameters.

#![allow(dead_code)]

use std::io::Read;
use std::path::Path;

use benchsift::ResponseMatrix;
use benchsift::irt::ItemParams;
use benchsift::matrix::MatrixBuilder;
use benchsift::rng::Rng;

/// The MMLU-Pro responses CSV as plain bytes (29 × 12,032, 770 KB).
pub fn mmlu_pro_csv() -> Vec<u8> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let shared = root.join("../shared/data/mmlu_pro_29models/responses.csv");
    if let Ok(bytes) = std::fs::read(&shared) {
        return bytes;
    }
    let gz = std::fs::read(root.join("www/data/mmlu_pro/responses.csv.gz")).expect("bundled MMLU-Pro");
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(&gz[..]).read_to_end(&mut out).unwrap();
    out
}

pub fn mmlu_pro() -> ResponseMatrix {
    let bytes = mmlu_pro_csv();
    let input = benchsift::read::Input::new("responses.csv", &bytes);
    benchsift::read::read_responses(&[input], &Default::default()).unwrap().matrix
}

/// A 2PL matrix: θ ~ N(0,1), b ~ N(0,1), a ~ LogNormal(0, 0.3).
pub fn synthetic_2pl(models: usize, items: usize, seed: u64) -> ResponseMatrix {
    let mut rng = Rng::new(seed);
    let params: Vec<ItemParams> = (0..items).map(|_| ItemParams::new(rng.log_normal(0.0, 0.3), rng.normal())).collect();
    let mut b = MatrixBuilder::new((0..items).map(|i| format!("i{i}")).collect());
    let mut row = vec![None; items];
    for j in 0..models {
        let theta = rng.normal();
        for (slot, p) in row.iter_mut().zip(&params) {
            *slot = Some((rng.uniform() < p.expected(theta)) as u8 as f32);
        }
        b.push_row_unchecked(format!("m{j}"), &row);
    }
    b.into_matrix()
}
