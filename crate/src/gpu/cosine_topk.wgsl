// Merges one slab of cosine scores (written by cosine_scores.wgsl) into each
// row's running top-k list, and appends the pairs at or above the threshold.
//
// One invocation per row walks the slab's columns in ascending order and
// inserts with the same rule as the CPU search (a score must beat the k-th
// strictly; equal scores keep the earlier column first), and slabs are
// dispatched in ascending column order, so ties resolve exactly as on the
// CPU. Pairs are appended through an atomic counter; the host sorts them.
// The counter keeps counting past the buffer's capacity, so the host learns
// the true number and can retry with a larger buffer or refuse.

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

struct Best {
    score: f32,
    index: u32,
}

struct Pair {
    a: u32,
    b: u32,
    cosine: f32,
}

struct Pairs {
    count: atomic<u32>,
    items: array<Pair>,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> slab: array<f32>;
@group(0) @binding(2) var<storage, read_write> best: array<Best>;
@group(0) @binding(3) var<storage, read_write> pairs: Pairs;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let r = gid.x;
    if (r >= p.rows || p.row0 + r >= p.n) {
        return;
    }
    let i = p.row0 + r;
    let base = i * p.k;
    // The k-th best so far; the host fills empty slots with -3.4e38.
    var kth = -3.4e38;
    if (p.k > 0u) {
        kth = best[base + p.k - 1u].score;
    }
    for (var c = 0u; c < p.cols; c++) {
        let j = p.col0 + c;
        if (j == i) {
            continue;
        }
        let s = slab[c * p.rows + r];
        if (p.k > 0u && s > kth) {
            var pos = p.k - 1u;
            while (pos > 0u && best[base + pos - 1u].score < s) {
                best[base + pos] = best[base + pos - 1u];
                pos -= 1u;
            }
            best[base + pos] = Best(s, j);
            kth = best[base + p.k - 1u].score;
        }
        if (p.use_threshold != 0u && j > i && s >= p.threshold) {
            let at = atomicAdd(&pairs.count, 1u);
            if (at < p.pair_capacity) {
                pairs.items[at] = Pair(i, j, s);
            }
        }
    }
}
