// M-step statistics of Bock–Aitkin EM for binary responses: per item and
// grid node the expected number of models answering, n[i, q] =
// Σ_m post[m, q]·observed[m, i], and answering correctly, s[i, q] =
// Σ_m post[m, q]·correct[m, i] (irt/estep.rs `accumulate` is the oracle).
// The per-item optimisation that follows is small and stays on the host.
//
// One invocation per (node, item); a workgroup spans 64 nodes of one item,
// so posterior reads post[m * q + node] are consecutive across it. Models
// are summed in order, so the result does not depend on scheduling.
// Bitsets as in irt_loglik.wgsl (observed rows, then correct rows).
// Dispatches cover `count` items from `first`.

struct Params {
    models: u32,
    items: u32,
    nodes: u32,
    words: u32,
    first: u32,
    count: u32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> bits: array<u32>;
@group(0) @binding(2) var<storage, read> post: array<f32>;
@group(0) @binding(3) var<storage, read_write> stats: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let node = gid.x;
    let item = p.first + gid.y;
    if (node >= p.nodes || gid.y >= p.count || item >= p.items) {
        return;
    }
    let word = item / 32u;
    let bit = item % 32u;
    var n = 0.0;
    var s = 0.0;
    for (var m = 0u; m < p.models; m++) {
        if (((bits[m * p.words + word] >> bit) & 1u) == 1u) {
            let r = post[m * p.nodes + node];
            n += r;
            if (((bits[(p.models + m) * p.words + word] >> bit) & 1u) == 1u) {
                s += r;
            }
        }
    }
    // Laid out as the CPU's stats: (item · 2 + k) · nodes + node.
    stats[(item * 2u) * p.nodes + node] = n;
    stats[(item * 2u + 1u) * p.nodes + node] = s;
}
