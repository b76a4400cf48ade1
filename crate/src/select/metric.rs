//! subset2evaluate's selectors (Zouhar et al. 2025, "How to Select
//! Datapoints for Efficient Human Evaluation of NLG Models?", PyPI
//! `subset2evaluate` 1.0.27, `methods.py`), with their definitions:
//!
//! - `metric-avg`: utility = −(mean of the metric over models): items the
//!   models do badly on first.
//! - `metric-var`: utility = the population variance (NumPy's `np.var`,
//!   ddof 0) of the metric over models: items that separate models first.
//! - `metric-cons`: utility = Kendall's τ-c (scipy's `variant="c"`) between
//!   the models' metric scores on the item and the models' mean metric over
//!   all items (their `metric_target` defaults to the metric itself); a
//!   constant side gives 0 (their NaN → 0).
//! - `diversity` (their `diversity_unigram`): utility = −(mean over model
//!   pairs of the unigram overlap 2·|A∩B| / (|A|+|B|) of the two models'
//!   outputs, multiset counts of whitespace tokens; 1 when either output is
//!   empty; 0 with fewer than two outputs): items whose outputs differ first.
//!
//! Items are ranked by utility, highest first; equal utilities keep item
//! order (Python's `sort(reverse=True)` is stable), and the first k are the
//! subset, each weighted 1/k (their protocol scores a subset by its mean).
//!
//! "The metric" is an automatic metric's models × items matrix given
//! alongside the responses (`--metric-scores`), or, without one, the training
//! models' own responses. Only the metric's rows for training models are used
//! (matched by id); when no id matches (a metric file of other systems) all
//! its rows are. Beyond subset2evaluate, which needs complete data, missing
//! cells are skipped: means and variances over the observed models, and τ-c
//! over the models observed on the item.

use crate::matrix::ResponseMatrix;

/// An automatic metric's scores, aligned to a response matrix's items.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricScores {
    pub model_ids: Vec<String>,
    /// `rows[r][i]`: metric model r's score on matrix item i.
    pub rows: Vec<Vec<Option<f64>>>,
}

impl MetricScores {
    /// Aligns `metric` (any models, items matched by id) to `m`'s items.
    pub fn align(metric: &ResponseMatrix, m: &ResponseMatrix) -> crate::error::Result<MetricScores> {
        let index: std::collections::HashMap<&str, usize> = metric.item_ids().iter().enumerate().map(|(i, id)| (id.as_str(), i)).collect();
        let columns: Vec<Option<usize>> = m.item_ids().iter().map(|id| index.get(id.as_str()).copied()).collect();
        let matched = columns.iter().filter(|c| c.is_some()).count();
        if matched == 0 {
            return Err(crate::error::Error::invalid(format!(
                "none of the responses' {} items is among the metric scores' {} items",
                m.n_items(),
                metric.n_items()
            )));
        }
        let rows = (0..metric.n_models()).map(|r| columns.iter().map(|c| c.and_then(|c| metric.get(r, c)).map(f64::from)).collect()).collect();
        Ok(MetricScores { model_ids: metric.model_ids().to_vec(), rows })
    }
}

/// The metric rows a selection may use: those of training models, or all
/// rows of a metric file that shares no model id with the responses.
pub(crate) fn rows_for<'a>(metric: &'a MetricScores, m: &ResponseMatrix, train: &[usize]) -> Vec<&'a [Option<f64>]> {
    let train_ids: std::collections::HashSet<&str> = train.iter().map(|&j| m.model_ids()[j].as_str()).collect();
    let chosen: Vec<&[Option<f64>]> =
        metric.model_ids.iter().zip(&metric.rows).filter(|(id, _)| train_ids.contains(id.as_str())).map(|(_, r)| r.as_slice()).collect();
    if !chosen.is_empty() {
        return chosen;
    }
    let all_ids: std::collections::HashSet<&str> = m.model_ids().iter().map(String::as_str).collect();
    if metric.model_ids.iter().any(|id| all_ids.contains(id.as_str())) {
        // The metric covers the responses' models but no training model.
        return Vec::new();
    }
    metric.rows.iter().map(Vec::as_slice).collect()
}

/// The training models' own responses as metric rows.
pub(crate) fn response_rows(m: &ResponseMatrix, train: &[usize], stratum: &[usize]) -> Vec<Vec<Option<f64>>> {
    let n = m.n_items();
    train
        .iter()
        .map(|&j| {
            let mut row = vec![None; n];
            for &i in stratum {
                row[i] = m.get(j, i).map(f64::from);
            }
            row
        })
        .collect()
}

/// NumPy's float64 `add.reduce` (pairwise summation: plain below 8
/// values, eight interleaved partial sums up to 128, halves above), so that
/// means and variances, and hence ties and orders, match subset2evaluate's
/// `np.average` / `np.var` bit for bit.
pub fn numpy_sum(a: &[f64]) -> f64 {
    let n = a.len();
    if n < 8 {
        let mut res = 0.0;
        for &x in a {
            res += x;
        }
        res
    } else if n <= 128 {
        let mut r = [a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7]];
        let mut i = 8;
        while i < n - n % 8 {
            for j in 0..8 {
                r[j] += a[i + j];
            }
            i += 8;
        }
        let mut res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        while i < n {
            res += a[i];
            i += 1;
        }
        res
    } else {
        let mut n2 = n / 2;
        n2 -= n2 % 8;
        numpy_sum(&a[..n2]) + numpy_sum(&a[n2..])
    }
}

fn numpy_mean(a: &[f64]) -> f64 {
    numpy_sum(a) / a.len() as f64
}

/// −mean over models, per stratum item (−∞ where no model has a score).
pub(crate) fn metric_avg(rows: &[&[Option<f64>]], stratum: &[usize]) -> Vec<f64> {
    stratum
        .iter()
        .map(|&i| {
            let values: Vec<f64> = rows.iter().filter_map(|r| r[i]).collect();
            if values.is_empty() { f64::NEG_INFINITY } else { -numpy_mean(&values) }
        })
        .collect()
}

/// Population variance over models, per stratum item.
pub(crate) fn metric_var(rows: &[&[Option<f64>]], stratum: &[usize]) -> Vec<f64> {
    stratum
        .iter()
        .map(|&i| {
            let values: Vec<f64> = rows.iter().filter_map(|r| r[i]).collect();
            if values.is_empty() {
                return f64::NEG_INFINITY;
            }
            // np.var: mean, squared deviations, their mean.
            let mean = numpy_mean(&values);
            let squares: Vec<f64> = values.iter().map(|x| (x - mean) * (x - mean)).collect();
            numpy_mean(&squares)
        })
        .collect()
}

/// τ-c between each stratum item's scores and the models' mean over
/// `scope` (the stratum, or the group a difficulty bin was cut from: the
/// ranking an item should agree with is the group's, not a narrow bin's).
pub(crate) fn metric_cons(rows: &[&[Option<f64>]], stratum: &[usize], scope: &[usize]) -> Vec<f64> {
    let target: Vec<Option<f64>> = rows
        .iter()
        .map(|r| {
            let values: Vec<f64> = scope.iter().filter_map(|&i| r[i]).collect();
            (!values.is_empty()).then(|| numpy_mean(&values))
        })
        .collect();
    stratum
        .iter()
        .map(|&i| {
            let (x, y): (Vec<f64>, Vec<f64>) = rows.iter().zip(&target).filter_map(|(r, t)| Some((r[i]?, (*t)?))).unzip();
            kendall_tau_c(&x, &y).unwrap_or(0.0)
        })
        .collect()
}

/// scipy's `kendalltau(x, y, variant="c")`: 2(C − D) / (n²(m − 1)/m) with m
/// the smaller number of distinct values; `None` where scipy gives NaN
/// (fewer than two pairs, or a constant side).
pub fn kendall_tau_c(x: &[f64], y: &[f64]) -> Option<f64> {
    let n = x.len();
    if n < 2 || y.len() != n {
        return None;
    }
    let mut con_minus_dis: i64 = 0;
    for a in 0..n {
        for b in a + 1..n {
            let s = (x[a] - x[b]).signum_or_zero() * (y[a] - y[b]).signum_or_zero();
            con_minus_dis += s as i64;
        }
    }
    let distinct = |v: &[f64]| {
        let mut s = v.to_vec();
        s.sort_by(f64::total_cmp);
        s.dedup();
        s.len()
    };
    let m = distinct(x).min(distinct(y));
    if m < 2 {
        return None;
    }
    // Same operation order as scipy: size**2 * (m - 1) / m, then 2*(C-D) / that.
    let denominator = (n * n * (m - 1)) as f64 / m as f64;
    Some((2 * con_minus_dis) as f64 / denominator)
}

trait SignumOrZero {
    fn signum_or_zero(self) -> f64;
}

impl SignumOrZero for f64 {
    fn signum_or_zero(self) -> f64 {
        if self > 0.0 {
            1.0
        } else if self < 0.0 {
            -1.0
        } else {
            0.0
        }
    }
}

/// Every model's output text per item (`texts[model][item]`), aligned to a
/// response matrix's items.
#[derive(Debug, Clone, PartialEq)]
pub struct Outputs {
    pub model_ids: Vec<String>,
    pub texts: Vec<Vec<Option<String>>>,
}

/// −mean pairwise unigram overlap of the models' outputs, per stratum item.
/// Model pairs follow the outputs file's row order, as subset2evaluate's
/// `itertools.combinations` over the item's outputs does.
pub(crate) fn diversity_unigram(outputs: &Outputs, rows: &[usize], stratum: &[usize]) -> Vec<f64> {
    stratum
        .iter()
        .map(|&i| {
            let bags: Vec<std::collections::HashMap<&str, usize>> = rows
                .iter()
                .filter_map(|&r| outputs.texts[r][i].as_deref())
                .map(|t| {
                    let mut bag = std::collections::HashMap::new();
                    for w in t.split_whitespace() {
                        *bag.entry(w).or_insert(0usize) += 1;
                    }
                    bag
                })
                .collect();
            let mut overlaps = Vec::new();
            for a in 0..bags.len() {
                for b in a + 1..bags.len() {
                    let (ta, tb): (usize, usize) = (bags[a].values().sum(), bags[b].values().sum());
                    if ta == 0 || tb == 0 {
                        overlaps.push(1.0);
                    } else {
                        let common: usize = bags[a].iter().map(|(w, &c)| c.min(bags[b].get(w).copied().unwrap_or(0))).sum();
                        overlaps.push(2.0 * common as f64 / (ta + tb) as f64);
                    }
                }
            }
            if overlaps.is_empty() { -0.0 } else { -numpy_mean(&overlaps) }
        })
        .collect()
}

/// Output rows a selection may use (training models by id; all rows when no
/// id matches), as indices into `outputs.texts`.
pub(crate) fn output_rows(outputs: &Outputs, m: &ResponseMatrix, train: &[usize]) -> Vec<usize> {
    let train_ids: std::collections::HashSet<&str> = train.iter().map(|&j| m.model_ids()[j].as_str()).collect();
    let chosen: Vec<usize> = (0..outputs.model_ids.len()).filter(|&r| train_ids.contains(outputs.model_ids[r].as_str())).collect();
    if chosen.is_empty() { (0..outputs.model_ids.len()).collect() } else { chosen }
}

/// Reads a wide CSV of output texts (`model,<item ids…>`, one row per model;
/// gzip accepted) and aligns it to `m`'s items by id.
pub fn read_outputs(input: &crate::read::Input, m: &ResponseMatrix, max_bytes: u64) -> crate::error::Result<Outputs> {
    use crate::error::{Error, Location};
    let bytes = crate::read::decode(input, max_bytes)?;
    let name = input.name.strip_suffix(".gz").unwrap_or(input.name);
    let delimiter = crate::read::sniff_delimiter(name, &bytes);
    let mut reader = csv::ReaderBuilder::new().delimiter(delimiter).has_headers(true).flexible(false).from_reader(&bytes[..]);
    let header = reader.headers().map_err(|e| Error::input(Location::line(name, 1), format!("not a CSV header: {e}")))?.clone();
    if header.len() < 2 {
        return Err(Error::input(Location::line(name, 1), "expected a header 'model,<item ids…>'"));
    }
    let index: std::collections::HashMap<&str, usize> = m.item_ids().iter().enumerate().map(|(i, id)| (id.as_str(), i)).collect();
    let columns: Vec<Option<usize>> = header.iter().skip(1).map(|h| index.get(h.trim()).copied()).collect();
    if columns.iter().all(Option::is_none) {
        return Err(Error::input(Location::line(name, 1), "no column is an item of the responses"));
    }
    let (mut model_ids, mut texts) = (Vec::new(), Vec::new());
    for (r, record) in reader.records().enumerate() {
        let record = record.map_err(|e| Error::input(Location::line(name, r as u64 + 2), format!("not a CSV row: {e}")))?;
        let mut row = vec![None; m.n_items()];
        for (c, field) in columns.iter().zip(record.iter().skip(1)) {
            if let Some(i) = c {
                row[*i] = Some(field.to_string());
            }
        }
        model_ids.push(record.get(0).unwrap_or("").trim().to_string());
        texts.push(row);
    }
    if model_ids.is_empty() {
        return Err(Error::input(Location::file(name), "no models"));
    }
    Ok(Outputs { model_ids, texts })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tau_c_matches_scipy_values() {
        // Values from scipy 1.14.1: kendalltau(x, y, variant="c").correlation.
        assert_eq!(kendall_tau_c(&[1.0, 2.0, 3.0, 4.0], &[1.0, 2.0, 4.0, 3.0]), Some(0.6666666666666666));
        assert_eq!(kendall_tau_c(&[1.0, 1.0, 2.0, 2.0], &[1.0, 2.0, 3.0, 4.0]), Some(1.0));
        assert_eq!(kendall_tau_c(&[1.0, 2.0, 3.0, 4.0, 5.0], &[2.0, 1.0, 1.0, 3.0, 3.0]), Some(0.48));
        assert_eq!(kendall_tau_c(&[1.0, 1.0, 1.0], &[1.0, 2.0, 3.0]), None);
    }

    #[test]
    fn numpy_summation_order() {
        // np.add.reduce of [0.1]*10 = 1.0 (pairwise); a plain loop gives 0.9999999999999999.
        assert_eq!(numpy_sum(&[0.1; 10]), 1.0);
        assert_eq!([0.1f64; 10].iter().sum::<f64>(), 0.9999999999999999);
        // Above 128 values the halves are summed separately: np.add.reduce(np.full(300, 0.1)).
        assert_eq!(numpy_sum(&[0.1; 300]), 29.999999999999996);
    }

    #[test]
    fn unigram_overlap_of_identical_and_disjoint_outputs() {
        let t = |s: &str| Some(s.to_string());
        let outputs = Outputs { model_ids: vec!["a".into(), "b".into()], texts: vec![vec![t("x y z"), t("p q"), t("")], vec![t("x y z"), t("r s"), t("w")]] };
        let u = diversity_unigram(&outputs, &[0, 1], &[0, 1, 2]);
        assert_eq!(u, vec![-1.0, -0.0, -1.0]);
    }
}
