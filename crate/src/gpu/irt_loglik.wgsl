// E-step of Bock–Aitkin EM for binary responses: each model's
// log-likelihood at every grid node, ll[m, q] = Σ_{i observed} t0[i, q] +
// Σ_{i correct} t1[i, q], where t0 = ln(1 − P) and t1 = ln P − ln(1 − P)
// are the item × node tables the CPU builds (irt/estep.rs `Tables`). This
// is the E-step's heavy part (models × items × nodes); the posterior
// normalisation per model is cheap and stays on the host.
//
// One invocation per (node, model); a workgroup spans 64 nodes of one
// model, so the model's bit words are read by every invocation alike and the
// table reads t0[i * q + node] are consecutive across the workgroup.
// The bitsets are the matrix's u64 words split into little-endian u32 pairs:
// bits[m * words + w] observed, bits[(models + m) * words + w] correct; the
// tables are t0 then t1, each items × nodes. (Two buffers, not four: the
// downlevel limit is four storage buffers per stage.) Dispatches cover
// `count` models from `first` (at most 65,535 per dispatch).

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
@group(0) @binding(2) var<storage, read> tables: array<f32>;
@group(0) @binding(3) var<storage, read_write> ll: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let node = gid.x;
    let model = p.first + gid.y;
    if (node >= p.nodes || gid.y >= p.count || model >= p.models) {
        return;
    }
    let t1 = p.items * p.nodes;
    var sum = 0.0;
    for (var w = 0u; w < p.words; w++) {
        var obs = bits[model * p.words + w];
        let cor = bits[(p.models + model) * p.words + w];
        while (obs != 0u) {
            let bit = countTrailingZeros(obs);
            obs &= obs - 1u;
            let at = (w * 32u + bit) * p.nodes + node;
            sum += tables[at];
            if (((cor >> bit) & 1u) == 1u) {
                sum += tables[t1 + at];
            }
        }
    }
    ll[model * p.nodes + node] = sum;
}
