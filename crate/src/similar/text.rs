//! Built-in text features for items without embeddings: word uni- and
//! bigrams and character 3–5-grams, hashed with signs into a dense vector
//! (the hashing trick; Weinberger et al. 2009), weighted by TF-IDF and
//! L2-normalised. No model, no download: near-identical texts get cosine
//! near 1, which is what duplicate detection needs; paraphrases are
//! MiniLM's job when the user has its vectors.

/// Dimensions of the hashed features.
pub const DIMS: usize = 512;

/// 64-bit FNV-1a: stable across platforms and runs, so features are too.
fn fnv1a(bytes: &[u8], seed: u64) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64 ^ seed;
    for &b in bytes {
        h ^= b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// The n-grams of one text, as hashes.
fn grams(text: &str) -> Vec<u64> {
    let lower = text.to_lowercase();
    let words: Vec<&str> = lower.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).collect();
    let mut out = Vec::new();
    for (i, w) in words.iter().enumerate() {
        out.push(fnv1a(w.as_bytes(), 1));
        if let Some(next) = words.get(i + 1) {
            out.push(fnv1a(format!("{w} {next}").as_bytes(), 2));
        }
    }
    let chars: Vec<char> = format!(" {} ", words.join(" ")).chars().collect();
    for n in 3..=5 {
        for window in chars.windows(n) {
            let s: String = window.iter().collect();
            out.push(fnv1a(s.as_bytes(), 10 + n as u64));
        }
    }
    out
}

/// n × DIMS L2-normalised TF-IDF hashed features of `texts` (an empty text
/// gives a zero row, similar to nothing).
pub fn features(texts: &[&str]) -> Vec<f32> {
    let per_text: Vec<Vec<u64>> = texts.iter().map(|t| grams(t)).collect();
    // Document frequency per hashed gram (on the hash, before folding).
    let mut df: std::collections::HashMap<u64, u32> = std::collections::HashMap::new();
    for g in &per_text {
        let mut unique = g.clone();
        unique.sort_unstable();
        unique.dedup();
        for h in unique {
            *df.entry(h).or_insert(0) += 1;
        }
    }
    let n = texts.len() as f64;
    let mut out = vec![0.0f32; texts.len() * DIMS];
    for (row, g) in out.chunks_mut(DIMS).zip(&per_text) {
        let mut tf: std::collections::HashMap<u64, u32> = std::collections::HashMap::new();
        for &h in g {
            *tf.entry(h).or_insert(0) += 1;
        }
        let mut entries: Vec<(u64, u32)> = tf.into_iter().collect();
        entries.sort_unstable();
        for (h, count) in entries {
            let idf = crate::math::ln((1.0 + n) / (1.0 + df[&h] as f64)) + 1.0;
            let weight = (1.0 + crate::math::ln(count as f64)) * idf;
            let sign = if h >> 63 == 1 { -1.0 } else { 1.0 };
            row[(h % DIMS as u64) as usize] += (sign * weight) as f32;
        }
    }
    super::normalize(&out, DIMS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_texts_match_and_unrelated_ones_do_not() {
        let texts = [
            "What is the capital of France?\nA. Paris B. Lyon",
            "What is the capital of France?\nA. Paris B. Lyon",
            "What is the capital of Spain?\nA. Madrid B. Lyon",
            "Integrate x squared from zero to one.",
            "",
        ];
        let f = features(&texts);
        let cos = |i: usize, j: usize| super::super::dot(&f[i * DIMS..(i + 1) * DIMS], &f[j * DIMS..(j + 1) * DIMS]);
        assert!((cos(0, 1) - 1.0).abs() < 1e-6);
        assert!(cos(0, 2) > 0.3 && cos(0, 2) < 0.95, "near-duplicate {}", cos(0, 2));
        assert!(cos(0, 2) > 2.0 * cos(0, 3), "near-duplicates score well above unrelated texts");
        assert!(cos(0, 3) < 0.3, "unrelated {}", cos(0, 3));
        assert_eq!(cos(4, 0), 0.0);
    }
}
