//! Elementary functions from the `libm` crate on every target. Native `f64::exp`
//! calls the platform's libm and wasm calls a Rust port, which can differ in
//! the last bit; using one implementation everywhere keeps CLI, Node and
//! browser results byte-identical.

#[inline]
pub fn exp(x: f64) -> f64 {
    libm::exp(x)
}

#[inline]
pub fn ln(x: f64) -> f64 {
    libm::log(x)
}

#[inline]
pub fn ln_1p(x: f64) -> f64 {
    libm::log1p(x)
}

#[inline]
pub fn pow(x: f64, y: f64) -> f64 {
    libm::pow(x, y)
}
