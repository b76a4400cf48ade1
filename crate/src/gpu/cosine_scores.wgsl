// Cosine scores of one slab: rows [row0, row0 + rows) against columns
// [col0, col0 + cols) of the row-normalised matrix, so a score is a dot
// product. Rows are padded to a multiple of 4 floats on the host and read as
// vec4. Each invocation computes a 4 × 4 block of scores from registers with
// no workgroup memory and no barriers (faster than shared-memory tiling on
// the software adapters we test on, and simple on real GPUs).
//
// The slab is stored column-major (score (r, c) at c * rows + r) so that the
// top-k pass, one invocation per row, reads consecutive addresses across a
// workgroup.

struct Params {
    n: u32,
    dims4: u32,
    row0: u32,
    rows: u32,
    col0: u32,
    cols: u32,
    k: u32,
    use_threshold: u32,
    threshold: f32,
    pair_capacity: u32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> unit: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> slab: array<f32>;

fn store(r: u32, c: u32, s: vec4<f32>) {
    if (r >= p.rows) {
        return;
    }
    for (var q = 0u; q < 4u; q++) {
        if (c + q < p.cols) {
            slab[(c + q) * p.rows + r] = s[q];
        }
    }
}

@compute @workgroup_size(16, 16)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let r = gid.y * 4u;
    let c = gid.x * 4u;
    if (r >= p.rows || c >= p.cols) {
        return;
    }
    // Out-of-range rows and columns read the last row (in bounds) and are
    // never stored.
    let last = p.n - 1u;
    let a0 = min(p.row0 + r, last) * p.dims4;
    let a1 = min(p.row0 + r + 1u, last) * p.dims4;
    let a2 = min(p.row0 + r + 2u, last) * p.dims4;
    let a3 = min(p.row0 + r + 3u, last) * p.dims4;
    let b0 = min(p.col0 + c, last) * p.dims4;
    let b1 = min(p.col0 + c + 1u, last) * p.dims4;
    let b2 = min(p.col0 + c + 2u, last) * p.dims4;
    let b3 = min(p.col0 + c + 3u, last) * p.dims4;
    var s0 = vec4<f32>(0.0);
    var s1 = vec4<f32>(0.0);
    var s2 = vec4<f32>(0.0);
    var s3 = vec4<f32>(0.0);
    for (var d = 0u; d < p.dims4; d++) {
        let x0 = unit[a0 + d];
        let x1 = unit[a1 + d];
        let x2 = unit[a2 + d];
        let x3 = unit[a3 + d];
        let y0 = unit[b0 + d];
        let y1 = unit[b1 + d];
        let y2 = unit[b2 + d];
        let y3 = unit[b3 + d];
        s0 += vec4<f32>(dot(x0, y0), dot(x0, y1), dot(x0, y2), dot(x0, y3));
        s1 += vec4<f32>(dot(x1, y0), dot(x1, y1), dot(x1, y2), dot(x1, y3));
        s2 += vec4<f32>(dot(x2, y0), dot(x2, y1), dot(x2, y2), dot(x2, y3));
        s3 += vec4<f32>(dot(x3, y0), dot(x3, y1), dot(x3, y2), dot(x3, y3));
    }
    store(r, c, s0);
    store(r + 1u, c, s1);
    store(r + 2u, c, s2);
    store(r + 3u, c, s3);
}
