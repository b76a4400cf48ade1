//! Replays the fuzz targets' seed corpus and every input that once broke a
//! target (`crate/fuzz/corpus/<target>/`, `crate/fuzz/regressions/<target>/`)
//! on stable Rust, so CI keeps them fixed without libFuzzer. The bodies are
//! the fuzz targets' own (`crate/fuzz/bodies.rs`).

use std::fs;
use std::path::Path;

include!("../fuzz/bodies.rs");

fn replay(target: &str, body: fn(&[u8])) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut count = 0;
    for folder in ["corpus", "regressions"] {
        let dir = root.join(folder).join(target);
        let Ok(entries) = fs::read_dir(&dir) else { continue };
        let mut paths: Vec<_> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        paths.sort();
        for path in paths {
            let data = fs::read(&path).unwrap();
            let outcome = std::panic::catch_unwind(|| body(&data));
            assert!(outcome.is_ok(), "{target} panics on {}", path.display());
            count += 1;
        }
    }
    assert!(count > 0, "no inputs for {target}: run crate/fuzz/make_corpus.py");
}

#[test]
fn read_responses_inputs() {
    replay("read_responses", read_responses);
}

#[test]
fn read_meta_inputs() {
    replay("read_meta", read_meta);
}

#[test]
fn read_npy_inputs() {
    replay("read_npy", read_npy);
}

#[test]
fn estimate_json_inputs() {
    replay("estimate_json", estimate_json);
}

#[test]
fn similar_items_inputs() {
    replay("similar_items", similar_items);
}
