//! Near-duplicate texts: MinHash signatures, LSH banding, verification, union-find clusters.
//!
//! ```text
//! text ─normalise─> shingles ─hash─> sorted set of u64 ─k hash functions, min─> signature (k x u32)
//!                                        │ (kept)                                 │
//!   identical normalised texts are joined at once (similarity 1) and only one of them is banded
//!                                        │                                        v
//!                                        │        signature ─b bands of r slots─> bucket key per band
//!                                        │                  └─top 16 bits of each slot─> fingerprint
//!                                        v
//! rows sharing a bucket in a band, and in no earlier band ─> candidate pairs
//!   candidate ─fingerprint estimate >= t - 4σ─> exact Jaccard of the kept sets (merge) >= t
//!             ─> union-find ─> clusters
//! ```
//!
//! * **Shingling.** A text is lowercased, trimmed, and every run of whitespace becomes one space; its
//!   shingles are the overlapping windows of `shingle` characters (default 5, characters not bytes). A
//!   text shorter than that is one shingle. This is the measure `sluice synth` records for its near
//!   duplicates (5-character shingles of the lowercased text), so the threshold means the same in both.
//!   A window of up to 7 bytes is hashed by packing its bytes (and length) into a `u64` and applying
//!   MurmurHash3's finaliser, a bijection, so distinct short shingles never collide (an ASCII text rolls
//!   the packed window along, one shift per character); longer windows take XXH3-64. Each row's set
//!   (sorted, repeats dropped) is computed once and kept for the verification.
//! * **MinHash** (Broder 1997). Hash function `i` is the multiply-add-shift map
//!   `h_i(x) = (a_i x + b_i) mod 2^64 >> 32` on the low 32 bits `x` of a shingle hash, with `a_i, b_i`
//!   64-bit (`a_i` odd) from a seeded SplitMix64: Dietzfelbinger's (1996) 2-independent family for
//!   32-bit keys. The signature keeps each function's minimum as a `u32`. `P[sig_i(A) = sig_i(B)] ≈
//!   J(A, B)`, so the share of equal slots estimates the Jaccard similarity with standard deviation
//!   `sqrt(J (1 - J) / k)`. The `k x |set|` products are the hot loop: 8 functions are computed
//!   together so their minima stay in vector registers, and the loop is compiled three times (portable,
//!   AVX2, AVX-512) with the widest the CPU has chosen at run time (the crate's only `unsafe`).
//! * **LSH banding** (Indyk & Motwani 1998; Leskovec, Rajaraman & Ullman, *Mining of Massive Datasets*,
//!   ch. 3.4). With `b` bands of `r` rows, a pair of similarity `s` shares a bucket in some band with
//!   probability `1 - (1 - s^r)^b`. Sluice picks the largest `r` (fewest spurious candidates) whose
//!   probability at the threshold is still at least 0.9, with `b = k / r`: for `t = 0.8`, `k = 128` that is
//!   `b = 16, r = 8`, which catches a pair at 0.8 with probability 0.947 and at 0.85 with 0.994.
//!   datasketch's `MinHashLSH` instead minimises equal-weighted false-positive and false-negative areas
//!   (`b = 9, r = 13` here, 0.40 at 0.8); Sluice leans to recall because every candidate is verified.
//!   A pair is a candidate only in the first band where its rows share a bucket (each row keeps its
//!   band keys, so "no earlier band" is `b` comparisons): a pair of similar texts shares most bands and
//!   would otherwise be generated and checked up to `b` times.
//! * **Verification.** A candidate pair is accepted when its Jaccard similarity is at least the threshold:
//!   by default the exact similarity of the two kept shingle sets (a branch-free merge of sorted `u64`s
//!   that stops once the intersection `J >= t` needs, `t (|A| + |B|) / (1 + t)`, is out of reach), after
//!   two cheap filters: the sizes (`J <= min / max`, never wrong) and the signatures' estimate at
//!   `t - 4σ` (which drops a pair at exactly `t` with probability 3e-5). The estimate compares 16-bit
//!   fingerprints of the slots (b-bit minwise hashing, Li & König 2010, b = 16: two different minima
//!   agree with probability 2^-16, a bias far below σ), half the memory the full signatures would
//!   take and read. With [`Verify::Estimated`] the estimate alone decides, at `t`. Exact
//!   verification makes the result independent of the estimate's noise near the threshold, where most
//!   generated near duplicates lie.
//! * **Clusters.** Accepted pairs are joined with union-find (path halving, union by size). Within a band,
//!   pairs already in one cluster are not verified again (pairs are verified in parallel chunks of 4,096,
//!   and each chunk drops the pairs earlier chunks joined). A bucket of more than `max_bucket` rows (a
//!   boilerplate text) compares each row with the `max_bucket` rows after it only, so the work stays
//!   `O(n · max_bucket)` per band instead of quadratic (a pair out of reach in the first band its rows
//!   share is not taken up by a later band either).
//! * **Memory** per text row: `2k` bytes of fingerprints, `8b` of band keys and 8 per distinct shingle
//!   (about 1 KB for 80-character texts at the defaults); the full signatures are never stored.

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

/// Computes MinHash signatures and the sorted shingle-hash sets they are drawn from.
#[derive(Debug, Clone)]
pub struct MinHasher {
    a: Vec<u64>,
    b: Vec<u64>,
    shingle: usize,
    kernel: Kernel,
}

/// Which compilation of [`min_hashes`] runs: the same code, built for the widest vector unit the CPU
/// has (detected at run time, so one binary runs everywhere).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kernel {
    Portable,
    #[cfg(target_arch = "x86_64")]
    Avx2,
    #[cfg(target_arch = "x86_64")]
    Avx512,
}

impl Kernel {
    fn detect() -> Self {
        #[cfg(target_arch = "x86_64")]
        {
            if is_x86_feature_detected!("avx512f") && is_x86_feature_detected!("avx512dq") {
                return Kernel::Avx512;
            }
            if is_x86_feature_detected!("avx2") {
                return Kernel::Avx2;
            }
        }
        Kernel::Portable
    }
}

/// The MinHash slots of a shingle-hash set: `out[j] = min over x of (a[j] x + b[j]) mod 2^64 >> 32`, `x`
/// being the low 32 bits of a shingle hash. Permutations are taken [`PERM_BLOCK`] at a time so their
/// running minima stay in vector registers while the set streams past once per block.
#[inline(always)]
fn min_hashes(a: &[u64], b: &[u64], set: &[u64], out: &mut [u32]) {
    let blocks = a
        .chunks(PERM_BLOCK)
        .zip(b.chunks(PERM_BLOCK))
        .zip(out.chunks_mut(PERM_BLOCK));
    for ((a, b), out) in blocks {
        if let (Ok(a), Ok(b)) = (<&[u64; PERM_BLOCK]>::try_from(a), <&[u64; PERM_BLOCK]>::try_from(b)) {
            let mut m = [u32::MAX; PERM_BLOCK];
            for &x in set {
                let x = u64::from(x as u32);
                for l in 0..PERM_BLOCK {
                    m[l] = m[l].min((a[l].wrapping_mul(x).wrapping_add(b[l]) >> 32) as u32);
                }
            }
            out.copy_from_slice(&m);
        } else {
            for ((&a, &b), slot) in a.iter().zip(b).zip(out) {
                *slot = set
                    .iter()
                    .map(|&x| (a.wrapping_mul(u64::from(x as u32)).wrapping_add(b) >> 32) as u32)
                    .min()
                    .unwrap_or(u32::MAX);
            }
        }
    }
}

/// [`min_hashes`] compiled with AVX2 and with AVX-512 (F + DQ: 64-bit multiplies in 8 lanes).
#[cfg(target_arch = "x86_64")]
mod x86 {
    #[target_feature(enable = "avx2")]
    pub(super) fn min_hashes_avx2(a: &[u64], b: &[u64], set: &[u64], out: &mut [u32]) {
        super::min_hashes(a, b, set, out)
    }

    #[target_feature(enable = "avx512f,avx512dq")]
    pub(super) fn min_hashes_avx512(a: &[u64], b: &[u64], set: &[u64], out: &mut [u32]) {
        super::min_hashes(a, b, set, out)
    }
}

/// Reusable per-thread buffers, so hashing a text allocates nothing once warm.
#[derive(Debug, Default)]
pub struct Scratch {
    text: String,
    hashes: Vec<u64>,
}

/// Permutations computed together: their running minima stay in registers (and SIMD lanes) while the
/// shingle hashes stream past once per block instead of once per permutation.
const PERM_BLOCK: usize = 8;

impl MinHasher {
    /// `num_perm` hash functions from `seed`, shingles of `shingle` characters.
    pub fn new(num_perm: usize, shingle: usize, seed: u64) -> Self {
        let mut state = seed;
        let a = (0..num_perm).map(|_| splitmix64(&mut state) | 1).collect();
        let b = (0..num_perm).map(|_| splitmix64(&mut state)).collect();
        MinHasher {
            a,
            b,
            shingle,
            kernel: Kernel::detect(),
        }
    }

    /// Permutations per signature.
    pub fn num_perm(&self) -> usize {
        self.a.len()
    }

    /// The set of `text`'s shingle hashes, sorted ascending without repeats, into `scratch.hashes`;
    /// returns `false` for a text that is empty after normalisation.
    fn shingle_set(&self, text: &str, scratch: &mut Scratch) -> bool {
        normalise(text, &mut scratch.text);
        scratch.hashes.clear();
        let hashes = &mut scratch.hashes;
        for_each_shingle_hash(&scratch.text, self.shingle, |h| hashes.push(h));
        hashes.sort_unstable();
        hashes.dedup();
        !hashes.is_empty()
    }

    /// The signature (length `num_perm`) of a shingle-hash set into `out`.
    #[allow(unsafe_code)]
    pub fn signature_of_set(&self, set: &[u64], out: &mut [u32]) {
        match self.kernel {
            Kernel::Portable => min_hashes(&self.a, &self.b, set, out),
            // SAFETY: `Kernel::detect` picks these only on CPUs that have the features they enable.
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2 => unsafe { x86::min_hashes_avx2(&self.a, &self.b, set, out) },
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx512 => unsafe { x86::min_hashes_avx512(&self.a, &self.b, set, out) },
        }
    }

    /// Writes `text`'s signature into `out` (length `num_perm`); returns the XXH3-128 of the normalised
    /// text, or `None` (and leaves `out` alone) for an empty text. The text's shingle set is left in
    /// `scratch` for [`Scratch::shingles`].
    pub fn signature(&self, text: &str, scratch: &mut Scratch, out: &mut [u32]) -> Option<u128> {
        if !self.shingle_set(text, scratch) {
            return None;
        }
        self.signature_of_set(&scratch.hashes, out);
        Some(xxh3_128(scratch.text.as_bytes()))
    }

    /// The exact Jaccard similarity of two texts' shingle sets (as hashed: distinct shingles of up to 7
    /// bytes never collide, longer ones under XXH3-64 with probability about 2^-64 per pair).
    pub fn jaccard(&self, a: &str, b: &str, scratch: &mut Scratch) -> f64 {
        if !self.shingle_set(a, scratch) {
            return 0.0;
        }
        let sa = std::mem::take(&mut scratch.hashes);
        let j = if self.shingle_set(b, scratch) {
            jaccard_sorted(&sa, &scratch.hashes)
        } else {
            0.0
        };
        scratch.hashes = sa;
        j
    }
}

impl Scratch {
    /// The shingle set of the last text [`MinHasher::signature`] hashed (sorted, no repeats).
    pub fn shingles(&self) -> &[u64] {
        &self.hashes
    }
}

/// `|A ∩ B|` of two sorted, repeat-free sets (a branch-free merge).
fn intersection(a: &[u64], b: &[u64]) -> usize {
    let (mut i, mut j, mut inter) = (0, 0, 0);
    while i < a.len() && j < b.len() {
        let (x, y) = (a[i], b[j]);
        inter += usize::from(x == y);
        i += usize::from(x <= y);
        j += usize::from(y <= x);
    }
    inter
}

/// The Jaccard similarity of two sorted, repeat-free sets (0 when both are empty).
pub fn jaccard_sorted(a: &[u64], b: &[u64]) -> f64 {
    if a.is_empty() && b.is_empty() {
        return 0.0;
    }
    let inter = intersection(a, b);
    inter as f64 / (a.len() + b.len() - inter) as f64
}

/// The Jaccard similarity of two sorted, repeat-free sets if it is at least `t`, else `None`. Sets
/// whose sizes alone rule it out (`J <= min / max`) are not merged, and the merge stops as soon as the
/// intersection `J >= t` needs (`|A ∩ B| >= t (|A| + |B|) / (1 + t)`) is out of reach.
fn jaccard_at_least(a: &[u64], b: &[u64], t: f64) -> Option<f64> {
    let (small, large) = if a.len() <= b.len() {
        (a.len(), b.len())
    } else {
        (b.len(), a.len())
    };
    if large == 0 || (small as f64) < t * large as f64 - 1e-9 {
        return None;
    }
    let need = ((t * (a.len() + b.len()) as f64 / (1.0 + t)) - 1e-9).ceil() as usize;
    let (mut i, mut j, mut inter) = (0, 0, 0);
    while i < a.len() && j < b.len() {
        if inter + (a.len() - i).min(b.len() - j) < need {
            return None;
        }
        for _ in 0..16 {
            if i == a.len() || j == b.len() {
                break;
            }
            let (x, y) = (a[i], b[j]);
            inter += usize::from(x == y);
            i += usize::from(x <= y);
            j += usize::from(y <= x);
        }
    }
    let s = inter as f64 / (a.len() + b.len() - inter) as f64;
    (s >= t).then_some(s)
}

/// The share of equal slots of two signatures: MinHash's estimate of their Jaccard similarity.
pub fn estimated_jaccard<T: PartialEq + Copy>(a: &[T], b: &[T]) -> f64 {
    // Counted in 16 narrow lanes so the comparison vectorises.
    let mut lanes = [0u32; 16];
    let (ca, cb) = (a.chunks_exact(16), b.chunks_exact(16));
    let rest: u32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| u32::from(x == y))
        .sum();
    for (x, y) in ca.zip(cb) {
        for l in 0..16 {
            lanes[l] += u32::from(x[l] == y[l]);
        }
    }
    (lanes.iter().sum::<u32>() + rest) as f64 / a.len() as f64
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

/// Longest window hashed by packing its bytes (longer ones take XXH3-64).
const PACKED_MAX: usize = 7;

/// MurmurHash3's 64-bit finaliser (Appleby): a bijection of `u64` that mixes every input bit into
/// every output bit.
fn fmix64(mut x: u64) -> u64 {
    x ^= x >> 33;
    x = x.wrapping_mul(0xFF51_AFD7_ED55_8CCD);
    x ^= x >> 33;
    x = x.wrapping_mul(0xC4CE_B9FE_1A85_EC53);
    x ^ (x >> 33)
}

/// The hash of a window's bytes. Up to [`PACKED_MAX`] bytes: the bytes big-endian with the length in
/// the top byte, through [`fmix64`], so distinct short windows never collide; longer: XXH3-64.
fn window_hash(w: &[u8]) -> u64 {
    if w.len() <= PACKED_MAX {
        let packed = w.iter().fold(0u64, |v, &b| (v << 8) | u64::from(b));
        fmix64(packed | ((w.len() as u64) << 56))
    } else {
        xxh3_64(w)
    }
}

/// Calls `f` with [`window_hash`] of each window of `k` characters of `s` (of the whole of `s` if it is
/// shorter). ASCII texts with short windows roll the packed value instead of re-reading each window.
fn for_each_shingle_hash(s: &str, k: usize, mut f: impl FnMut(u64)) {
    let bytes = s.as_bytes();
    if s.is_ascii() && k <= PACKED_MAX && bytes.len() > k {
        let mask = (1u64 << (8 * k)) - 1;
        let tag = (k as u64) << 56;
        let mut v = 0u64;
        for (i, &b) in bytes.iter().enumerate() {
            v = ((v << 8) | u64::from(b)) & mask;
            if i + 1 >= k {
                f(fmix64(v | tag));
            }
        }
        return;
    }
    for_each_shingle(s, k, |w| f(window_hash(w)));
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

/// Rows hashed per parallel task (their shingle sets are gathered per task, then concatenated).
const ROW_BLOCK: usize = 2_048;

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

/// What the banding and the verification need of each row, computed in one parallel pass.
struct Hashed {
    /// The bucket key of each band, `bands` per row (row-major).
    keys: Vec<u64>,
    /// The top 16 bits of each signature slot, `num_perm` per row: a b-bit signature (b = 16) for the
    /// estimate, half the memory and memory traffic of the full one.
    fingerprints: Vec<u16>,
    /// The rows' shingle sets, concatenated; row `i`'s is `shingles[offsets[i]..offsets[i + 1]]`.
    shingles: Vec<u64>,
    offsets: Vec<usize>,
    /// XXH3-128 of the normalised text; `None` for no text or an empty one.
    text_hashes: Vec<Option<u128>>,
}

/// The bucket key of a band's slots.
fn band_key(band: usize, slots: &[u32]) -> u64 {
    let mut h = (band as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    for &v in slots {
        h = (h ^ u64::from(v)).wrapping_mul(0xFF51_AFD7_ED55_8CCD);
        h ^= h >> 29;
    }
    h
}

/// One parallel task's rows: their shingle sets (concatenated), set sizes and text hashes.
struct Block {
    shingles: Vec<u64>,
    lens: Vec<usize>,
    hashes: Vec<Option<u128>>,
}

fn hash_rows(texts: &[Option<&str>], hasher: &MinHasher, bands: usize, r: usize) -> Hashed {
    let k = hasher.num_perm();
    let mut keys = vec![0u64; texts.len() * bands];
    let mut fingerprints = vec![0u16; texts.len() * k];
    let blocks: Vec<Block> = keys
        .par_chunks_mut(ROW_BLOCK * bands)
        .zip(fingerprints.par_chunks_mut(ROW_BLOCK * k))
        .zip(texts.par_chunks(ROW_BLOCK))
        .map_init(
            || (Scratch::default(), vec![0u32; k]),
            |(scratch, sig), ((keys, fps), texts)| {
                let mut shingles = Vec::new();
                let mut lens = Vec::with_capacity(texts.len());
                let mut hashes = Vec::with_capacity(texts.len());
                let rows = texts.iter().zip(keys.chunks_mut(bands)).zip(fps.chunks_mut(k));
                for ((text, keys), fps) in rows {
                    let h = text.and_then(|t| hasher.signature(t, scratch, sig));
                    if h.is_some() {
                        for (band, key) in keys.iter_mut().enumerate() {
                            *key = band_key(band, &sig[band * r..(band + 1) * r]);
                        }
                        for (fp, &slot) in fps.iter_mut().zip(sig.iter()) {
                            *fp = (slot >> 16) as u16;
                        }
                        shingles.extend_from_slice(scratch.shingles());
                    }
                    lens.push(if h.is_some() { scratch.shingles().len() } else { 0 });
                    hashes.push(h);
                }
                Block { shingles, lens, hashes }
            },
        )
        .collect();
    let mut shingles = Vec::with_capacity(blocks.iter().map(|b| b.shingles.len()).sum());
    let mut offsets = Vec::with_capacity(texts.len() + 1);
    let mut text_hashes = Vec::with_capacity(texts.len());
    offsets.push(0);
    for block in blocks {
        shingles.extend_from_slice(&block.shingles);
        for len in block.lens {
            offsets.push(offsets[offsets.len() - 1] + len);
        }
        text_hashes.extend(block.hashes);
    }
    Hashed {
        keys,
        fingerprints,
        shingles,
        offsets,
        text_hashes,
    }
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

    // 1. Shingle sets and signatures, in parallel over rows.
    let Hashed {
        keys: row_keys,
        fingerprints,
        shingles,
        offsets,
        text_hashes,
    } = hash_rows(texts, &hasher, bands, r);

    // 2. Identical normalised texts: join them to their first occurrence, band only the first.
    let mut uf = UnionFind::new(texts.len());
    let mut min_sim: HashMap<u32, f64> = HashMap::new();
    // The pairs that joined two clusters, with their similarity.
    let mut joins: Vec<(u32, f64)> = Vec::new();
    let mut verified_pairs = 0u64;
    let mut first_of: HashMap<u128, u32> = HashMap::new();
    let mut banded: Vec<u32> = Vec::new();
    for (i, h) in text_hashes.iter().enumerate() {
        let Some(h) = h else { continue };
        match first_of.entry(*h) {
            std::collections::hash_map::Entry::Occupied(e) => {
                uf.union(*e.get(), i as u32);
                joins.push((i as u32, 1.0));
                verified_pairs += 1;
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
    let fp = |i: u32| &fingerprints[i as usize * k..(i as usize + 1) * k];
    let set = |i: u32| &shingles[offsets[i as usize]..offsets[i as usize + 1]];
    let key = |i: u32, band: usize| row_keys[i as usize * bands + band];
    let mut candidates = 0u64;
    let mut entries: Vec<(u64, u32)> = Vec::with_capacity(banded.len());
    let mut roots = vec![0u32; texts.len()];
    let mut pairs: Vec<(u32, u32)> = Vec::new();
    let mut buckets: Vec<(usize, usize)> = Vec::new();
    let mut todo: Vec<(u32, u32)> = Vec::with_capacity(VERIFY_CHUNK);
    let mut verified: Vec<(u32, u32, f64)> = Vec::new();
    for band in 0..bands {
        entries.clear();
        entries.par_extend(banded.par_iter().map(|&i| (key(i, band), i)));
        entries.par_sort_unstable();
        for &i in &banded {
            roots[i as usize] = uf.find(i);
        }
        // Buckets of two or more rows, then their pairs, in parallel (in bucket order).
        buckets.clear();
        let mut start = 0;
        while start < entries.len() {
            let mut end = start + 1;
            while end < entries.len() && entries[end].0 == entries[start].0 {
                end += 1;
            }
            if end - start > 1 {
                buckets.push((start, end));
            }
            start = end;
        }
        pairs.clear();
        let roots = &roots;
        pairs.par_extend(buckets.par_iter().flat_map_iter(|&(start, end)| {
            let bucket = &entries[start..end];
            (0..bucket.len()).flat_map(move |x| {
                let a = bucket[x].1;
                let reach = (x + 1 + cfg.max_bucket).min(bucket.len());
                bucket[x + 1..reach].iter().filter_map(move |&(_, b)| {
                    // A pair that shared a bucket in an earlier band was examined there.
                    (roots[a as usize] != roots[b as usize] && (0..band).all(|e| key(a, e) != key(b, e)))
                        .then_some((a, b))
                })
            })
        }));
        candidates += pairs.len() as u64;
        // Verify in chunks, dropping pairs an earlier chunk already joined: a bucket of m similar texts
        // needs m - 1 joins, not m^2 / 2 verifications.
        for chunk in pairs.chunks(VERIFY_CHUNK) {
            todo.clear();
            todo.extend(chunk.iter().copied().filter(|&(a, b)| uf.find(a) != uf.find(b)));
            verified.clear();
            verified.par_extend(todo.par_iter().filter_map(|&(a, b)| {
                let est = estimated_jaccard(fp(a), fp(b));
                if est < prefilter {
                    return None;
                }
                let s = match cfg.verify {
                    Verify::Estimated => est,
                    Verify::Exact => jaccard_at_least(set(a), set(b), cfg.threshold)?,
                };
                (s >= cfg.threshold).then_some((a, b, s))
            }));
            verified_pairs += verified.len() as u64;
            for &(a, b, s) in &verified {
                if uf.union(a, b) {
                    joins.push((a, s));
                }
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
    for (a, s) in joins {
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
            texts: Vec::new(),
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
    fn rolled_shingle_hashes_equal_hashes_of_each_window() {
        for (text, k) in [
            ("card payment at blue harbor cafe", 5),
            ("héllo wörld, déjà vu", 5),
            ("abc", 5),
            ("abcdefgh", 7),
            ("abcdefghijklmnop", 9),
            ("a", 1),
        ] {
            let mut rolled = Vec::new();
            for_each_shingle_hash(text, k, |h| rolled.push(h));
            let mut direct = Vec::new();
            for_each_shingle(text, k, |w| direct.push(window_hash(w)));
            assert_eq!(rolled, direct, "{text} k={k}");
        }
        // Packed windows of different lengths or bytes never collide (the packing is injective and the
        // finaliser a bijection).
        let windows: Vec<&[u8]> = vec![
            b"", b"\0", b"\0\0", b"a", b"a\0", b"\0a", b"abcde", b"abcdf", b"abcdefg",
        ];
        let hashes: std::collections::HashSet<u64> = windows.iter().map(|w| window_hash(w)).collect();
        assert_eq!(hashes.len(), windows.len());
    }

    #[test]
    fn every_signature_kernel_computes_the_definition() {
        let sets: Vec<Vec<u64>> = vec![vec![], vec![42], (0..97u64).map(|i| fmix64(i) ^ (i << 40)).collect()];
        let mut kernels = vec![Kernel::Portable, Kernel::detect()];
        #[cfg(target_arch = "x86_64")]
        if is_x86_feature_detected!("avx2") {
            kernels.push(Kernel::Avx2);
        }
        for num_perm in [128, 20] {
            let mut h = MinHasher::new(num_perm, 5, 9);
            for set in &sets {
                // The definition, written out independently of the blocked loop.
                let want: Vec<u32> = (0..num_perm)
                    .map(|j| {
                        set.iter()
                            .map(|&x| {
                                let x = x & 0xFFFF_FFFF;
                                (((u128::from(h.a[j]) * u128::from(x) + u128::from(h.b[j])) % (1u128 << 64)) >> 32)
                                    as u32
                            })
                            .min()
                            .unwrap_or(u32::MAX)
                    })
                    .collect();
                for &kernel in &kernels {
                    h.kernel = kernel;
                    let mut got = vec![0u32; num_perm];
                    h.signature_of_set(set, &mut got);
                    assert_eq!(got, want, "{kernel:?}, {num_perm} permutations, set of {}", set.len());
                }
            }
        }
    }

    #[test]
    fn estimate_counts_equal_slots_of_any_width() {
        let a: Vec<u16> = (0..37).collect();
        let mut b = a.clone();
        for i in [0, 5, 16, 36] {
            b[i] += 1;
        }
        assert_eq!(estimated_jaccard(&a, &b), 33.0 / 37.0);
        assert_eq!(estimated_jaccard(&[1u32, 2, 3], &[1u32, 2, 4]), 2.0 / 3.0);
    }

    #[test]
    fn a_rejected_pair_is_examined_in_one_band_only() {
        // Similar (J about 0.9) but below a 0.99 threshold: the pair shares a bucket in several of the
        // 16 bands and is rejected; it is a candidate once, not once per shared band.
        let a = "Card payment at Blue Harbor Cafe 12 Main St Springfield ref 55120 contactless approved";
        let b = "Card payment at Blue Harbor Cafe 12 Main St Springfield ref 55120 contactless approval";
        let cfg = NearDupConfig {
            threshold: 0.99,
            bands: Some((16, 2)),
            ..Default::default()
        };
        let h = MinHasher::new(cfg.num_perm, cfg.shingle, cfg.seed);
        let (mut sa, mut sb) = (vec![0u32; 128], vec![0u32; 128]);
        let mut scratch = Scratch::default();
        h.signature(a, &mut scratch, &mut sa).unwrap();
        h.signature(b, &mut scratch, &mut sb).unwrap();
        let shared = (0..16)
            .filter(|&i| sa[i * 2..i * 2 + 2] == sb[i * 2..i * 2 + 2])
            .count();
        assert!(shared >= 2, "the pair shares {shared} bands");
        let r = near_duplicates(&[Some(a), Some(b)], &cfg).unwrap();
        assert!(r.clusters.is_empty());
        assert_eq!(r.candidate_pairs, 1);
    }

    proptest::proptest! {
        #[test]
        fn early_exit_merge_agrees_with_the_full_merge(
            a in proptest::collection::btree_set(0u64..60, 0..40),
            b in proptest::collection::btree_set(0u64..60, 0..40),
            t in 0.05f64..1.0,
        ) {
            let (a, b): (Vec<u64>, Vec<u64>) = (a.into_iter().collect(), b.into_iter().collect());
            let j = jaccard_sorted(&a, &b);
            let got = jaccard_at_least(&a, &b, t);
            if j >= t {
                proptest::prop_assert_eq!(got, Some(j));
            } else {
                proptest::prop_assert_eq!(got, None);
            }
        }

        #[test]
        fn rolled_hashes_equal_window_hashes(text in "[a-c é]{0,40}", k in 1usize..10) {
            let mut rolled = Vec::new();
            for_each_shingle_hash(&text, k, |h| rolled.push(h));
            let mut direct = Vec::new();
            for_each_shingle(&text, k, |w| direct.push(window_hash(w)));
            proptest::prop_assert_eq!(rolled, direct);
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
