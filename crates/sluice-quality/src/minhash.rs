//! Near-duplicate texts: MinHash signatures, LSH banding, verification, union-find clusters.
//!
//! ```text
//! text ─normalise─> shingles ─xxh3─> u64 hashes ─k hash functions, min─> signature (k x u32)
//!                                                                            │
//!   identical normalised texts are joined at once (similarity 1) and only one of them is banded
//!                                                                            v
//! signature ─split into b bands of r rows─> bucket key per band ─rows sharing a key─> candidate pairs
//!   candidate pair ─estimated Jaccard >= t - 4σ (prefilter)─> exact Jaccard of the shingle sets >= t
//!                 ─> union-find ─> clusters
//! ```
//!
//! * **Shingling.** A text is lowercased, trimmed, and every run of whitespace becomes one space; its
//!   shingles are the overlapping windows of `shingle` characters (default 5, characters not bytes). A
//!   text shorter than that is one shingle. This is the measure `sluice synth` records for its near
//!   duplicates (5-character shingles of the lowercased text), so the threshold means the same in both.
//! * **MinHash** (Broder 1997). Each shingle is hashed once with XXH3-64; hash function `i` is the
//!   multiply-add-shift map `h_i(x) = (a_i x + b_i) mod 2^64 >> 32` (Dietzfelbinger 1996) with `a_i` odd
//!   and `a_i, b_i` from a seeded SplitMix64, and the signature keeps each function's minimum as a `u32`
//!   (4 bytes per permutation and row). `P[sig_i(A) = sig_i(B)] ≈ J(A, B)`, so the share of equal slots
//!   estimates the Jaccard similarity with standard deviation `sqrt(J (1 - J) / k)`.
//! * **LSH banding** (Indyk & Motwani 1998; Leskovec, Rajaraman & Ullman, *Mining of Massive Datasets*,
//!   ch. 3.4). With `b` bands of `r` rows, a pair of similarity `s` shares a bucket in some band with
//!   probability `1 - (1 - s^r)^b`. Sluice picks the largest `r` (fewest spurious candidates) whose
//!   probability at the threshold is still at least 0.9, with `b = k / r`: for `t = 0.8`, `k = 128` that is
//!   `b = 16, r = 8`, which catches a pair at 0.8 with probability 0.947 and at 0.85 with 0.994.
//!   datasketch's `MinHashLSH` instead minimises equal-weighted false-positive and false-negative areas
//!   (`b = 9, r = 13` here, 0.40 at 0.8); Sluice leans to recall because every candidate is verified.
//! * **Verification.** A candidate pair is accepted when its Jaccard similarity is at least the threshold:
//!   by default the exact similarity of the two shingle-hash sets (recomputed for the pair, after a cheap
//!   prefilter on the signatures' estimate at `t - 4σ`), or with [`Verify::Estimated`] the signatures'
//!   estimate alone. Exact verification makes the result independent of the estimate's noise near the
//!   threshold, where most generated near duplicates lie.
//! * **Clusters.** Accepted pairs are joined with union-find (path halving, union by size). Within a band,
//!   pairs already in one cluster are not verified again (pairs are verified in parallel chunks of 4,096,
//!   and each chunk drops the pairs earlier chunks joined). A bucket of more than `max_bucket` rows (a
//!   boilerplate text) compares each row with the `max_bucket` rows after it only, so the work stays
//!   `O(n · max_bucket)` per band instead of quadratic.

use std::collections::HashMap;

use rayon::prelude::*;
use xxhash_rust::xxh3::{xxh3_64, xxh3_128};

use crate::report::Cluster;

/// How candidate pairs are verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Verify {
    /// The exact Jaccard similarity of the two shingle sets (after a prefilter on the estimate).
    #[default]
    Exact,
    /// The share of equal signature slots (MinHash's estimate).
    Estimated,
}

/// Near-duplicate search settings.
#[derive(Debug, Clone, PartialEq)]
pub struct NearDupConfig {
    /// Jaccard similarity at or above which two texts are near duplicates (default 0.8).
    pub threshold: f64,
    /// Hash functions ("permutations") per signature (default 128).
    pub num_perm: usize,
    /// Characters per shingle (default 5).
    pub shingle: usize,
    /// `(bands, rows per band)`; `None` chooses them from the threshold (see the module docs).
    pub bands: Option<(usize, usize)>,
    /// Verification of candidate pairs.
    pub verify: Verify,
    /// Largest bucket compared pairwise in full.
    pub max_bucket: usize,
    /// Seed of the hash functions.
    pub seed: u64,
}

impl Default for NearDupConfig {
    fn default() -> Self {
        NearDupConfig {
            threshold: 0.8,
            num_perm: 128,
            shingle: 5,
            bands: None,
            verify: Verify::Exact,
            max_bucket: 2_000,
            seed: 0x5EED_0F51_C3A5,
        }
    }
}

impl NearDupConfig {
    /// Checks the ranges.
    pub fn validate(&self) -> crate::Result<()> {
        let bad = |option, value: String, expected| {
            Err(crate::Error::InvalidOption {
                option,
                value,
                expected,
            })
        };
        if !(self.threshold > 0.0 && self.threshold <= 1.0) {
            return bad(
                "--threshold",
                self.threshold.to_string(),
                "use a Jaccard similarity in (0, 1], e.g. 0.8",
            );
        }
        if !(8..=1024).contains(&self.num_perm) {
            return bad(
                "--num-perm",
                self.num_perm.to_string(),
                "use 8 to 1024 permutations (128 is usual)",
            );
        }
        if !(1..=32).contains(&self.shingle) {
            return bad(
                "shingle",
                self.shingle.to_string(),
                "use 1 to 32 characters per shingle",
            );
        }
        if let Some((b, r)) = self.bands
            && (b == 0 || r == 0 || b * r > self.num_perm)
        {
            return bad(
                "bands",
                format!("{b}x{r}"),
                "use bands x rows per band of at least 1 each and at most the number of permutations",
            );
        }
        if self.max_bucket < 2 {
            return bad("max_bucket", self.max_bucket.to_string(), "use at least 2");
        }
        Ok(())
    }

    /// `(bands, rows per band)` in use.
    pub fn banding(&self) -> (usize, usize) {
        self.bands.unwrap_or_else(|| lsh_params(self.threshold, self.num_perm))
    }
}

/// Probability that a pair of Jaccard similarity `s` becomes a candidate with `b` bands of `r` rows.
pub fn candidate_probability(s: f64, b: usize, r: usize) -> f64 {
    1.0 - (1.0 - s.powi(r as i32)).powi(b as i32)
}

/// The banding for threshold `t` and `k` permutations: the largest `r` with
/// `candidate_probability(t, k / r, r) >= 0.9` (see the module docs).
pub fn lsh_params(t: f64, k: usize) -> (usize, usize) {
    let mut best = (k, 1);
    for r in 1..=k {
        let b = k / r;
        if b == 0 {
            break;
        }
        if candidate_probability(t, b, r) >= 0.9 {
            best = (b, r);
        }
    }
    best
}

/// SplitMix64 (Steele, Lea & Flood 2014): the seeded stream of hash-function coefficients.
fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Computes MinHash signatures.
#[derive(Debug, Clone)]
pub struct MinHasher {
    a: Vec<u64>,
    b: Vec<u64>,
    shingle: usize,
}

/// Reusable per-thread buffers, so hashing a text allocates nothing once warm.
#[derive(Debug, Default)]
pub struct Scratch {
    text: String,
    hashes: Vec<u64>,
}

impl MinHasher {
    /// `num_perm` hash functions from `seed`, shingles of `shingle` characters.
    pub fn new(num_perm: usize, shingle: usize, seed: u64) -> Self {
        let mut state = seed;
        let a = (0..num_perm).map(|_| splitmix64(&mut state) | 1).collect();
        let b = (0..num_perm).map(|_| splitmix64(&mut state)).collect();
        MinHasher { a, b, shingle }
    }

    /// Permutations per signature.
    pub fn num_perm(&self) -> usize {
        self.a.len()
    }

    /// The XXH3-64 hashes of `text`'s shingles into `scratch.hashes` (with repeats, unsorted); returns
    /// `false` for a text that is empty after normalisation.
    fn shingle_hashes(&self, text: &str, scratch: &mut Scratch) -> bool {
        normalise(text, &mut scratch.text);
        scratch.hashes.clear();
        let hashes = &mut scratch.hashes;
        for_each_shingle(&scratch.text, self.shingle, |w| hashes.push(xxh3_64(w)));
        !hashes.is_empty()
    }

    /// Writes `text`'s signature into `out` (length `num_perm`); returns the XXH3-128 of the normalised
    /// text, or `None` (and leaves `out` alone) for an empty text.
    pub fn signature(&self, text: &str, scratch: &mut Scratch, out: &mut [u32]) -> Option<u128> {
        if !self.shingle_hashes(text, scratch) {
            return None;
        }
        for (j, slot) in out.iter_mut().enumerate() {
            let (a, b) = (self.a[j], self.b[j]);
            let mut m = u32::MAX;
            for &x in &scratch.hashes {
                m = m.min((a.wrapping_mul(x).wrapping_add(b) >> 32) as u32);
            }
            *slot = m;
        }
        Some(xxh3_128(scratch.text.as_bytes()))
    }

    /// The exact Jaccard similarity of two texts' shingle sets (as hashed; a collision of two distinct
    /// shingles under XXH3-64 has probability about 2^-64 per pair).
    pub fn jaccard(&self, a: &str, b: &str, scratch: &mut Scratch) -> f64 {
        let mut sa = if self.shingle_hashes(a, scratch) {
            std::mem::take(&mut scratch.hashes)
        } else {
            Vec::new()
        };
        sa.sort_unstable();
        sa.dedup();
        if !self.shingle_hashes(b, scratch) || sa.is_empty() {
            scratch.hashes = sa;
            return 0.0;
        }
        let sb = &mut scratch.hashes;
        sb.sort_unstable();
        sb.dedup();
        let (mut i, mut j, mut inter) = (0, 0, 0usize);
        while i < sa.len() && j < sb.len() {
            match sa[i].cmp(&sb[j]) {
                std::cmp::Ordering::Less => i += 1,
                std::cmp::Ordering::Greater => j += 1,
                std::cmp::Ordering::Equal => {
                    inter += 1;
                    i += 1;
                    j += 1;
                }
            }
        }
        inter as f64 / (sa.len() + sb.len() - inter) as f64
    }
}

/// The share of equal slots of two signatures: MinHash's estimate of their Jaccard similarity.
pub fn estimated_jaccard(a: &[u32], b: &[u32]) -> f64 {
    let equal = a.iter().zip(b).filter(|(x, y)| x == y).count();
    equal as f64 / a.len() as f64
}

/// Lowercase, trim, collapse whitespace runs to one space.
fn normalise(text: &str, out: &mut String) {
    out.clear();
    let mut space = false;
    for c in text.chars() {
        if c.is_whitespace() {
            space = !out.is_empty();
            continue;
        }
        if space {
            out.push(' ');
            space = false;
        }
        if c.is_ascii() {
            out.push(c.to_ascii_lowercase());
        } else {
            out.extend(c.to_lowercase());
        }
    }
}

/// Calls `f` with the bytes of each window of `k` characters of `s` (the whole of `s` if it is shorter).
fn for_each_shingle(s: &str, k: usize, mut f: impl FnMut(&[u8])) {
    let bytes = s.as_bytes();
    if bytes.is_empty() {
        return;
    }
    if s.is_ascii() {
        if bytes.len() <= k {
            f(bytes);
        } else {
            bytes.windows(k).for_each(f);
        }
        return;
    }
    // ring[n % k] holds the byte offset where character n starts.
    let mut ring = [0usize; 32];
    let mut n = 0usize;
    for (offset, _) in s.char_indices() {
        if n >= k {
            f(&bytes[ring[n % k]..offset]);
        }
        ring[n % k] = offset;
        n += 1;
    }
    if n >= k {
        f(&bytes[ring[n % k]..]);
    } else {
        f(bytes);
    }
}

/// Union-find over `0..n` with path halving and union by size.
#[derive(Debug, Clone)]
pub struct UnionFind {
    parent: Vec<u32>,
    size: Vec<u32>,
}

impl UnionFind {
    /// `n` singletons.
    pub fn new(n: usize) -> Self {
        UnionFind {
            parent: (0..n as u32).collect(),
            size: vec![1; n],
        }
    }

    /// The representative of `x`'s set.
    pub fn find(&mut self, mut x: u32) -> u32 {
        while self.parent[x as usize] != x {
            let grand = self.parent[self.parent[x as usize] as usize];
            self.parent[x as usize] = grand;
            x = grand;
        }
        x
    }

    /// Joins the sets of `a` and `b`; returns whether they were apart.
    pub fn union(&mut self, a: u32, b: u32) -> bool {
        let (mut ra, mut rb) = (self.find(a), self.find(b));
        if ra == rb {
            return false;
        }
        if self.size[ra as usize] < self.size[rb as usize] {
            std::mem::swap(&mut ra, &mut rb);
        }
        self.parent[rb as usize] = ra;
        self.size[ra as usize] += self.size[rb as usize];
        true
    }
}

/// Candidate pairs verified in parallel between two rounds of skipping pairs already joined.
const VERIFY_CHUNK: usize = 4_096;

/// What [`near_duplicates`] found. Indices are positions in the input slice.
#[derive(Debug, Clone, PartialEq)]
pub struct NearDupResult {
    /// Clusters of two or more texts, largest first, then by first index.
    pub clusters: Vec<Cluster>,
    /// Bands in use.
    pub bands: usize,
    /// Rows per band in use.
    pub rows_per_band: usize,
    /// Candidate pairs examined.
    pub candidate_pairs: u64,
    /// Pairs accepted (identical texts included).
    pub verified_pairs: u64,
}

/// Clusters the near-duplicate texts among `texts` (`None` = no text, never in a cluster).
pub fn near_duplicates(texts: &[Option<&str>], cfg: &NearDupConfig) -> crate::Result<NearDupResult> {
    cfg.validate()?;
    if texts.len() >= u32::MAX as usize {
        return Err(crate::Error::Usage(format!(
            "near-duplicate search handles at most {} rows per column; sample the table",
            u32::MAX - 1
        )));
    }
    let k = cfg.num_perm;
    let (bands, r) = cfg.banding();
    let hasher = MinHasher::new(k, cfg.shingle, cfg.seed);

    // 1. Signatures, in parallel over rows.
    let mut sigs = vec![0u32; texts.len() * k];
    let text_hashes: Vec<Option<u128>> = sigs
        .par_chunks_mut(k)
        .zip(texts.par_iter())
        .map_init(Scratch::default, |scratch, (sig, text)| {
            text.and_then(|t| hasher.signature(t, scratch, sig))
        })
        .collect();

    // 2. Identical normalised texts: join them to their first occurrence, band only the first.
    let mut uf = UnionFind::new(texts.len());
    let mut min_sim: HashMap<u32, f64> = HashMap::new();
    let mut accepted: Vec<(u32, u32, f64)> = Vec::new();
    let mut first_of: HashMap<u128, u32> = HashMap::new();
    let mut banded: Vec<u32> = Vec::new();
    for (i, h) in text_hashes.iter().enumerate() {
        let Some(h) = h else { continue };
        match first_of.entry(*h) {
            std::collections::hash_map::Entry::Occupied(e) => {
                uf.union(*e.get(), i as u32);
                accepted.push((*e.get(), i as u32, 1.0));
            }
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(i as u32);
                banded.push(i as u32);
            }
        }
    }
    drop(first_of);

    // 3. Bands: bucket, generate candidate pairs, verify in parallel, join.
    let sigma = (cfg.threshold * (1.0 - cfg.threshold) / k as f64).sqrt();
    let prefilter = match cfg.verify {
        Verify::Exact => cfg.threshold - 4.0 * sigma,
        Verify::Estimated => cfg.threshold,
    };
    let sig = |i: u32| &sigs[i as usize * k..(i as usize + 1) * k];
    let mut candidates = 0u64;
    let mut keys: Vec<(u64, u32)> = Vec::with_capacity(banded.len());
    for band in 0..bands {
        keys.clear();
        keys.par_extend(banded.par_iter().map(|&i| {
            let slots = &sig(i)[band * r..(band + 1) * r];
            let mut h = (band as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
            for &v in slots {
                h = (h ^ u64::from(v)).wrapping_mul(0xFF51_AFD7_ED55_8CCD);
                h ^= h >> 29;
            }
            (h, i)
        }));
        keys.par_sort_unstable();
        let roots: Vec<u32> = {
            let mut out = vec![0u32; texts.len()];
            for &i in &banded {
                out[i as usize] = uf.find(i);
            }
            out
        };
        let mut pairs: Vec<(u32, u32)> = Vec::new();
        let mut start = 0;
        while start < keys.len() {
            let mut end = start + 1;
            while end < keys.len() && keys[end].0 == keys[start].0 {
                end += 1;
            }
            let bucket = &keys[start..end];
            for x in 0..bucket.len() {
                let reach = (x + 1 + cfg.max_bucket).min(bucket.len());
                for y in x + 1..reach {
                    let (a, b) = (bucket[x].1, bucket[y].1);
                    if roots[a as usize] != roots[b as usize] {
                        pairs.push((a.min(b), a.max(b)));
                    }
                }
            }
            start = end;
        }
        pairs.par_sort_unstable();
        pairs.dedup();
        candidates += pairs.len() as u64;
        // Verify in chunks, dropping pairs an earlier chunk already joined: a bucket of m similar texts
        // needs m - 1 joins, not m^2 / 2 verifications.
        for chunk in pairs.chunks(VERIFY_CHUNK) {
            let todo: Vec<(u32, u32)> = chunk
                .iter()
                .copied()
                .filter(|&(a, b)| uf.find(a) != uf.find(b))
                .collect();
            let verified: Vec<(u32, u32, f64)> = todo
                .par_iter()
                .map_init(Scratch::default, |scratch, &(a, b)| {
                    let est = estimated_jaccard(sig(a), sig(b));
                    if est < prefilter {
                        return None;
                    }
                    let s = match cfg.verify {
                        Verify::Estimated => est,
                        Verify::Exact => hasher.jaccard(
                            texts[a as usize].unwrap_or_default(),
                            texts[b as usize].unwrap_or_default(),
                            scratch,
                        ),
                    };
                    (s >= cfg.threshold).then_some((a, b, s))
                })
                .flatten()
                .collect();
            for (a, b, s) in verified {
                uf.union(a, b);
                accepted.push((a, b, s));
            }
        }
    }

    // 4. Clusters.
    let mut members: HashMap<u32, Vec<u64>> = HashMap::new();
    for (i, h) in text_hashes.iter().enumerate() {
        if h.is_some() {
            let root = uf.find(i as u32);
            members.entry(root).or_default().push(i as u64);
        }
    }
    let verified_pairs = accepted.len() as u64;
    for (a, _, s) in accepted {
        let root = uf.find(a);
        let m = min_sim.entry(root).or_insert(1.0);
        *m = m.min(s);
    }
    let mut clusters: Vec<Cluster> = members
        .into_iter()
        .filter(|(_, rows)| rows.len() > 1)
        .map(|(root, rows)| Cluster {
            rows,
            min_similarity: min_sim.get(&root).copied().unwrap_or(1.0),
        })
        .collect();
    clusters.sort_by(|x, y| y.rows.len().cmp(&x.rows.len()).then(x.rows[0].cmp(&y.rows[0])));
    Ok(NearDupResult {
        clusters,
        bands,
        rows_per_band: r,
        candidate_pairs: candidates,
        verified_pairs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    /// An independent Jaccard: Rust sets of shingle strings.
    fn naive_jaccard(a: &str, b: &str, k: usize) -> f64 {
        let sh = |s: &str| -> HashSet<String> {
            let mut t = String::new();
            normalise(s, &mut t);
            let c: Vec<char> = t.chars().collect();
            if c.len() < k {
                return HashSet::from([t]);
            }
            c.windows(k).map(|w| w.iter().collect()).collect()
        };
        let (x, y) = (sh(a), sh(b));
        x.intersection(&y).count() as f64 / x.union(&y).count() as f64
    }

    #[test]
    fn shingles_are_character_windows() {
        let mut got = Vec::new();
        for_each_shingle("héllo wörld", 5, |w| got.push(String::from_utf8(w.to_vec()).unwrap()));
        assert_eq!(got.first().unwrap(), "héllo");
        assert_eq!(got.last().unwrap(), "wörld");
        assert_eq!(got.len(), 11 - 5 + 1);
        let mut got = Vec::new();
        for_each_shingle("abc", 5, |w| got.push(w.to_vec()));
        assert_eq!(got, vec![b"abc".to_vec()]);
        let mut ascii = Vec::new();
        for_each_shingle("abcdefg", 3, |w| ascii.push(w.to_vec()));
        assert_eq!(ascii.len(), 5);
    }

    #[test]
    fn normalise_lowercases_and_collapses_whitespace() {
        let mut s = String::new();
        normalise("  Café\t\tAU  Lait ", &mut s);
        assert_eq!(s, "café au lait");
    }

    #[test]
    fn exact_jaccard_matches_sets_of_strings() {
        let h = MinHasher::new(16, 5, 1);
        let mut scratch = Scratch::default();
        for (a, b) in [
            (
                "Card payment at Blue Harbor Café ref 12345",
                "Card payment at Blue Harbour Café ref 12345",
            ),
            ("one two three four", "four three two one"),
            ("abc", "abc"),
            ("abc", "abd"),
        ] {
            assert_eq!(h.jaccard(a, b, &mut scratch), naive_jaccard(a, b, 5), "{a} / {b}");
        }
    }

    #[test]
    fn estimate_is_within_four_sigma_of_the_exact_similarity() {
        let h = MinHasher::new(256, 5, 7);
        let mut scratch = Scratch::default();
        let a = "Online purchase from Northwind Traders order 481516 ship to Boston ref 23421 tip included";
        let b = "Online purchase from Northwind Traders order 481516 ship to Boston ref 23421 tip incl";
        let (mut sa, mut sb) = (vec![0u32; 256], vec![0u32; 256]);
        h.signature(a, &mut scratch, &mut sa).unwrap();
        h.signature(b, &mut scratch, &mut sb).unwrap();
        let j = naive_jaccard(a, b, 5);
        let sd = (j * (1.0 - j) / 256.0).sqrt();
        assert!((estimated_jaccard(&sa, &sb) - j).abs() <= 4.0 * sd, "{j}");
    }

    #[test]
    fn banding_for_the_default_threshold() {
        assert_eq!(lsh_params(0.8, 128), (16, 8));
        assert!(candidate_probability(0.8, 16, 8) > 0.94);
        let (b, r) = lsh_params(0.5, 128);
        assert!(candidate_probability(0.5, b, r) >= 0.9);
        assert!(candidate_probability(0.5, 128 / (r + 1), r + 1) < 0.9);
    }

    #[test]
    fn clusters_join_near_duplicates_and_leave_others_alone() {
        let texts = [
            Some("Card payment at Blue Harbor Cafe 12 Main St Springfield ref 55120 contactless approved"),
            Some("Online purchase from Northwind order 848121 ship to Boston ref 99811 tip included"),
            Some("Card payment at Blue Harbor Cafe 12 Main St Springfield ref 55120 contactles approved"),
            None,
            Some("card payment at blue harbor cafe 12 main st springfield ref 55120 contactless approved "),
            Some("Mobile wallet payment to Acme Hardware Denver in app ref 10001 loyalty points earned"),
            Some(""),
        ];
        for verify in [Verify::Exact, Verify::Estimated] {
            let cfg = NearDupConfig {
                verify,
                ..Default::default()
            };
            let r = near_duplicates(&texts, &cfg).unwrap();
            assert_eq!(r.clusters.len(), 1, "{verify:?}: {:?}", r.clusters);
            assert_eq!(r.clusters[0].rows, vec![0, 2, 4]);
            assert!(r.clusters[0].min_similarity >= 0.8 && r.clusters[0].min_similarity < 1.0);
        }
    }

    proptest::proptest! {
        #[test]
        fn exact_jaccard_equals_the_set_definition(a in "[a-cé ]{0,30}", b in "[a-cé ]{0,30}") {
            let h = MinHasher::new(8, 3, 2);
            let mut scratch = Scratch::default();
            let (mut na, mut nb) = (String::new(), String::new());
            normalise(&a, &mut na);
            normalise(&b, &mut nb);
            proptest::prop_assume!(!na.is_empty() && !nb.is_empty());
            let want = {
                let sh = |t: &str| -> HashSet<String> {
                    let c: Vec<char> = t.chars().collect();
                    if c.len() < 3 { HashSet::from([t.to_owned()]) } else { c.windows(3).map(|w| w.iter().collect()).collect() }
                };
                let (x, y) = (sh(&na), sh(&nb));
                x.intersection(&y).count() as f64 / x.union(&y).count() as f64
            };
            proptest::prop_assert_eq!(h.jaccard(&a, &b, &mut scratch), want);
        }
    }

    #[test]
    fn config_is_validated() {
        let bad = |c: NearDupConfig| near_duplicates(&[], &c).unwrap_err().to_string();
        assert!(
            bad(NearDupConfig {
                threshold: 1.5,
                ..Default::default()
            })
            .contains("--threshold")
        );
        assert!(
            bad(NearDupConfig {
                num_perm: 2,
                ..Default::default()
            })
            .contains("--num-perm")
        );
        assert!(
            bad(NearDupConfig {
                bands: Some((20, 8)),
                ..Default::default()
            })
            .contains("bands")
        );
    }
}
