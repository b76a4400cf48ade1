//! The JSON form of a fit: what `benchsift fit` writes and `estimate` reads.

use serde::{Deserialize, Serialize};

use super::IrtFit;
use super::item::ItemParams;
use super::multi;
use super::options::{IrtModel, Scale};
use crate::backend::Backend;
use crate::error::{Error, Result};

/// The JSON form of a fit (what `benchsift fit` writes and `estimate` reads).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FitJson {
    pub irt: IrtModel,
    pub dims: usize,
    /// How a multidimensional fit was made (`gvem`); absent for 1-D fits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    pub items: Vec<ItemJson>,
    pub models: Vec<ModelJson>,
    pub log_likelihood: f64,
    pub iterations: usize,
    pub converged: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale: Option<Scale>,
    /// Nodes of the 1-D grid; 0 for a multidimensional (variational) fit.
    pub quadrature_points: usize,
    pub backend: Backend,
}

/// One number per dimension: a bare number for 1-D fits (as they have
/// always been written), an array for multidimensional ones.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum PerDim {
    One(f64),
    Many(Vec<f64>),
}

impl PerDim {
    fn one(&self) -> Option<f64> {
        match self {
            PerDim::One(x) => Some(*x),
            PerDim::Many(_) => None,
        }
    }

    fn many(&self, dims: usize) -> Option<&[f64]> {
        match self {
            PerDim::Many(v) if v.len() == dims => Some(v),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ItemJson {
    pub id: String,
    /// Discrimination; for dims > 1 the loadings a (P = σ(aᵀθ + d)).
    pub a: PerDim,
    /// Difficulty; for dims > 1 MDIFF = −d/‖a‖.
    pub b: f64,
    /// The intercept d of a multidimensional item.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intercept: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub c: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub d: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phi: Option<f64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ModelJson {
    pub id: String,
    pub theta: PerDim,
    pub se: PerDim,
}

impl IrtFit {
    /// A fit read back from its JSON (what `estimate` does with model.json).
    pub fn from_json(json: FitJson) -> Result<IrtFit> {
        if json.dims > 1 {
            return Self::from_multi_json(json);
        }
        if json.dims == 0 {
            return Err(Error::invalid("a fit with 0 latent dimensions"));
        }
        let one = |v: &PerDim, what: &str, id: &str| {
            v.one().ok_or_else(|| Error::invalid(format!("'{}': {what} must be a number in a 1-dimensional fit", crate::error::truncate(id, 40))))
        };
        let items = json
            .items
            .iter()
            .map(|i| {
                let p = ItemParams { a: one(&i.a, "a", &i.id)?, b: i.b, c: i.c.unwrap_or(0.0), d: i.d.unwrap_or(1.0), phi: i.phi.unwrap_or(f64::NAN) };
                let ok = p.a.is_finite()
                    && p.a > 0.0
                    && p.b.is_finite()
                    && (0.0..1.0).contains(&p.c)
                    && p.d > p.c
                    && p.d <= 1.0
                    && (json.irt != IrtModel::Beta || (p.phi.is_finite() && p.phi > 0.0));
                if ok { Ok(p) } else { Err(Error::invalid(format!("item '{}' has invalid parameters", crate::error::truncate(&i.id, 40)))) }
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(IrtFit {
            model: json.irt,
            item_ids: json.items.into_iter().map(|i| i.id).collect(),
            items,
            model_ids: json.models.iter().map(|m| m.id.clone()).collect(),
            theta: json.models.iter().map(|m| one(&m.theta, "theta", &m.id)).collect::<Result<_>>()?,
            theta_se: json.models.iter().map(|m| one(&m.se, "se", &m.id)).collect::<Result<_>>()?,
            log_likelihood: json.log_likelihood,
            iterations: json.iterations,
            converged: json.converged,
            scale: json.scale,
            quadrature_points: json.quadrature_points,
            backend: json.backend,
            multi: None,
        })
    }

    fn from_multi_json(json: FitJson) -> Result<IrtFit> {
        let d = json.dims;
        if d > multi::MAX_DIMS {
            return Err(Error::invalid(format!("a {d}-dimensional fit: at most {} dimensions are supported", multi::MAX_DIMS)));
        }
        if json.irt != IrtModel::TwoPl {
            return Err(Error::invalid(format!("a {d}-dimensional fit must be 2pl, not {}", json.irt.as_str())));
        }
        let bad = |what: &str, id: &str| Error::invalid(format!("'{}': {what} must be {d} finite numbers", crate::error::truncate(id, 40)));
        let mut f = multi::MultiFit { dims: d, a: Vec::new(), intercept: Vec::new(), theta: Vec::new(), theta_se: Vec::new() };
        for i in &json.items {
            let a = i.a.many(d).filter(|a| a.iter().all(|x| x.is_finite())).ok_or_else(|| bad("a", &i.id))?;
            let norm = a.iter().map(|x| x * x).sum::<f64>().sqrt();
            // The intercept is written exactly; b = MDIFF recovers it otherwise.
            let intercept = i.intercept.unwrap_or(-i.b * norm);
            if !intercept.is_finite() {
                return Err(bad("intercept", &i.id));
            }
            f.a.extend_from_slice(a);
            f.intercept.push(intercept);
        }
        for m in &json.models {
            let t = m.theta.many(d).filter(|t| t.iter().all(|x| x.is_finite())).ok_or_else(|| bad("theta", &m.id))?;
            let s = m.se.many(d).filter(|s| s.iter().all(|x| *x >= 0.0)).ok_or_else(|| bad("se", &m.id))?;
            f.theta.extend_from_slice(t);
            f.theta_se.extend_from_slice(s);
        }
        Ok(IrtFit {
            model: json.irt,
            items: (0..json.items.len()).map(|i| ItemParams::new(f.mdisc(i), f.mdiff(i))).collect(),
            item_ids: json.items.into_iter().map(|i| i.id).collect(),
            model_ids: json.models.iter().map(|m| m.id.clone()).collect(),
            theta: f.theta.chunks(d).map(|t| t[0]).collect(),
            theta_se: f.theta_se.chunks(d).map(|t| t[0]).collect(),
            log_likelihood: json.log_likelihood,
            iterations: json.iterations,
            converged: json.converged,
            scale: json.scale,
            quadrature_points: json.quadrature_points,
            backend: json.backend,
            multi: Some(f),
        })
    }

    /// Latent dimensions of the fit.
    pub fn dims(&self) -> usize {
        self.multi.as_ref().map_or(1, |f| f.dims)
    }

    pub fn to_json(&self) -> FitJson {
        if let Some(f) = &self.multi {
            return self.to_multi_json(f);
        }
        let three = matches!(self.model, IrtModel::ThreePl | IrtModel::FourPl);
        FitJson {
            irt: self.model,
            dims: 1,
            method: None,
            items: self
                .item_ids
                .iter()
                .zip(&self.items)
                .map(|(id, p)| ItemJson {
                    id: id.clone(),
                    a: PerDim::One(p.a),
                    b: p.b,
                    intercept: None,
                    c: three.then_some(p.c),
                    d: (self.model == IrtModel::FourPl).then_some(p.d),
                    phi: (self.model == IrtModel::Beta).then_some(p.phi),
                })
                .collect(),
            models: self
                .model_ids
                .iter()
                .zip(self.theta.iter().zip(&self.theta_se))
                .map(|(id, (t, s))| ModelJson { id: id.clone(), theta: PerDim::One(*t), se: PerDim::One(*s) })
                .collect(),
            log_likelihood: self.log_likelihood,
            iterations: self.iterations,
            converged: self.converged,
            scale: self.scale,
            quadrature_points: self.quadrature_points,
            backend: self.backend.clone(),
        }
    }

    fn to_multi_json(&self, f: &multi::MultiFit) -> FitJson {
        let d = f.dims;
        FitJson {
            irt: self.model,
            dims: d,
            method: Some("gvem".into()),
            items: self
                .item_ids
                .iter()
                .enumerate()
                .map(|(i, id)| ItemJson {
                    id: id.clone(),
                    a: PerDim::Many(f.loadings(i).to_vec()),
                    b: f.mdiff(i),
                    intercept: Some(f.intercept[i]),
                    c: None,
                    d: None,
                    phi: None,
                })
                .collect(),
            models: self
                .model_ids
                .iter()
                .enumerate()
                .map(|(j, id)| ModelJson {
                    id: id.clone(),
                    theta: PerDim::Many(f.theta_of(j).to_vec()),
                    se: PerDim::Many(f.theta_se[j * d..(j + 1) * d].to_vec()),
                })
                .collect(),
            log_likelihood: self.log_likelihood,
            iterations: self.iterations,
            converged: self.converged,
            scale: self.scale,
            quadrature_points: self.quadrature_points,
            backend: self.backend.clone(),
        }
    }
}
