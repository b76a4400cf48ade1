//! benchsift: sift an evaluation benchmark down to the items that matter.
//!
//! The statistical core is plain Rust over slices: it imports neither wgpu nor
//! wasm-bindgen, so it is the CPU fallback and the test oracle for every GPU
//! kernel, and it runs unchanged natively and in WebAssembly. The wgpu path
//! (feature `gpu`, on by default) lives in `gpu/` and calls into the core. The wasm exports
//! live in `wasm.rs` (thin conversions only); the CLI lives in `main.rs`.

// Tests may check against std's elementary functions; the library itself
// takes them from crate::math (clippy.toml says why).
#![cfg_attr(test, allow(clippy::disallowed_methods))]

pub mod adaptive;
pub mod backend;
pub mod calibrate;
pub mod commands;
pub mod dataset;
pub mod error;
pub mod estimate;
pub mod evaluate;
pub mod filter;
#[cfg(feature = "gpu")]
pub mod gpu;
pub mod impute;
pub mod info;
pub mod irt;
pub mod math;
pub mod matrix;
pub mod metrics;
pub mod parallel;
pub mod read;
pub mod rng;
pub mod select;
pub mod similar;
pub mod tasks;
pub(crate) mod wire;

#[cfg(target_arch = "wasm32")]
mod wasm;

pub use dataset::{Dataset, DatasetFiles, LoadOptions};
pub use error::{Error, Location, Result};
pub use matrix::{Kind, ResponseMatrix};
