//! Folding one batch of values into the sketches at once instead of value by value.
//!
//! Profiling spends its time in the sketches, not in reading, when values go in one at a time:
//! the KLL sketch compacts its bottom level every few values (each compaction sorts and
//! allocates), the frequent-items sketch allocates an owned key for every value it has not seen
//! and purges every couple of hundred new keys, and the HLL sketch hashes every repeat of a
//! value. Each batch (8,192 rows from DataFusion) is therefore summarised first and the summary
//! folded in with the sketches' own merge, which keeps each sketch's guarantee:
//!
//! | sketch | what a batch contributes | why the guarantee holds |
//! |---|---|---|
//! | HLL | each distinct value once | HLL registers keep a maximum: repeats never change them |
//! | frequent items | exact counts, reduced Misra-Gries style to the 192 largest, as a sketch merged in | a valid sketch of the batch (see [`fold_counts`]); merging sketches keeps the error bound |
//! | KLL | the batch sorted and compacted once to level 1 (every other value from a random start, weight 2), merged as a sketch | one compaction of a sorted run, the operation KLL itself performs; see [`kll_update`] |
//! | moments | count, mean, squared deviations and extremes of the batch (two passes) | merged with Chan's formula, as partitions are |
//!
//! The one-value-at-a-time path remains where it matters: a KLL sketch still in exact mode (its
//! first few hundred values) takes values one by one, so small tables keep exact quantiles.

use datasketches::frequencies::FrequentItemsSketch;
use datasketches::kll::{KllFloat, KllSketch};

use crate::state::{FREQ_MAP_SIZE, Moments};

/// Items a frequent-items sketch of [`FREQ_MAP_SIZE`] keeps before it purges (3/4 of the map).
const FREQ_CAPACITY: usize = FREQ_MAP_SIZE * 3 / 4;

impl Moments {
    /// The moments of a batch of values, by two passes (mean first, then squared deviations
    /// from it), which is exact to rounding and avoids Welford's division per value.
    pub fn of_iter(values: impl Iterator<Item = f64> + Clone) -> Moments {
        let (mut n, mut sum, mut min, mut max) = (0u64, 0.0, f64::INFINITY, f64::NEG_INFINITY);
        for x in values.clone() {
            n += 1;
            sum += x;
            min = min.min(x);
            max = max.max(x);
        }
        if n == 0 {
            return Moments::default();
        }
        let mean = sum / n as f64;
        let m2 = values.map(|x| (x - mean) * (x - mean)).sum();
        Moments { n, mean, m2, min, max }
    }

    /// The moments of a batch given as sorted keys ([`sort_keys`]), `value` mapping a key back
    /// to its value. Key order is value order, so min and max are the ends; the two passes sum
    /// in four independent lanes, so the adds do not wait on one another (the single running sum
    /// of [`Moments::of_iter`] is bound by the latency of one add per value).
    pub fn of_sorted_keys(keys: &[u64], value: impl Fn(u64) -> f64) -> Moments {
        let (Some(&first), Some(&last)) = (keys.first(), keys.last()) else {
            return Moments::default();
        };
        let n = keys.len() as u64;
        let mean = lane_sum(keys, &value, |x| x) / n as f64;
        let m2 = lane_sum(keys, &value, |x| (x - mean) * (x - mean));
        Moments {
            n,
            mean,
            m2,
            min: value(first),
            max: value(last),
        }
    }

    /// The moments of a batch given as (value, how many times) pairs.
    pub fn of_weighted(values: impl Iterator<Item = (f64, u64)> + Clone) -> Moments {
        let (mut n, mut sum, mut min, mut max) = (0u64, 0.0, f64::INFINITY, f64::NEG_INFINITY);
        for (x, c) in values.clone() {
            n += c;
            sum += x * c as f64;
            min = min.min(x);
            max = max.max(x);
        }
        if n == 0 {
            return Moments::default();
        }
        let mean = sum / n as f64;
        let m2 = values.map(|(x, c)| c as f64 * (x - mean) * (x - mean)).sum();
        Moments { n, mean, m2, min, max }
    }
}

/// The sum of `f(value(k))` over `keys`, in four lanes.
#[inline]
fn lane_sum(keys: &[u64], value: &impl Fn(u64) -> f64, f: impl Fn(f64) -> f64) -> f64 {
    let mut s = [0.0f64; 4];
    let chunks = keys.chunks_exact(4);
    let rest = chunks.remainder();
    for c in chunks {
        for j in 0..4 {
            s[j] += f(value(c[j]));
        }
    }
    for &k in rest {
        s[0] += f(value(k));
    }
    (s[0] + s[1]) + (s[2] + s[3])
}

/// Folds a batch's exact counts into a frequent-items sketch.
///
/// When the batch has more distinct values than the sketch keeps ([`FREQ_CAPACITY`]), the counts
/// are first reduced as in Misra and Gries (1982): with `d` the count of the (capacity + 1)-th
/// most frequent value, every count is lowered by `d` and the values left at zero are dropped.
/// Every value's true batch count then lies in `[kept, kept + d]`, and `d` is at most the batch
/// size over capacity + 1, below the sketch's own error rate (3.5 / map size = 1 / 73 of the weight): this is a
/// valid frequent-items sketch of the batch with offset `d`. It is merged the way
/// `FrequentItemsSketch::merge` merges (the kept counts go in as weighted updates; the total
/// weight and the offset add up), so the merged sketch keeps the sketch's error bound.
pub(crate) fn fold_counts<K>(
    freq: &mut FrequentItemsSketch<String>,
    mut counts: Vec<(K, u64)>,
    total: u64,
    key: impl Fn(&K, &mut String),
) {
    let offset = if counts.len() > FREQ_CAPACITY {
        counts.select_nth_unstable_by(FREQ_CAPACITY, |a, b| b.1.cmp(&a.1));
        let d = counts[FREQ_CAPACITY].1;
        counts.truncate(FREQ_CAPACITY);
        counts.retain_mut(|(_, c)| {
            *c -= d.min(*c);
            *c > 0
        });
        d
    } else {
        0
    };
    let mut buf = String::new();
    let mut kept = 0;
    for (k, c) in &counts {
        buf.clear();
        key(k, &mut buf);
        freq.update_with_count_ref(buf.as_str(), *c);
        kept += c;
    }
    if total > kept {
        freq.merge(&weight_only_sketch(total - kept, offset));
    }
}

/// A frequent-items sketch with no items, a stream weight and an offset (maximum error): the part
/// of a reduced batch that [`fold_counts`] did not insert item by item. Built from its serialised
/// image because the sketch has no other way to set an offset. The layout is DataSketches'
/// frequent-items format (datasketches-java `ItemsSketch`, preamble of 4 longs): bytes 0-7
/// preamble longs, serial version 1, family 10, lg max and current map size, flags, unused;
/// 8-15 active items (0) and unused; 16-23 stream weight; 24-31 offset; then no items.
fn weight_only_sketch(weight: u64, offset: u64) -> FrequentItemsSketch<String> {
    let lg_max = FREQ_MAP_SIZE.trailing_zeros() as u8;
    let mut image = vec![4u8, 1, 10, lg_max, 3, 0, 0, 0];
    image.extend_from_slice(&[0; 8]);
    image.extend_from_slice(&weight.to_le_bytes());
    image.extend_from_slice(&offset.to_le_bytes());
    FrequentItemsSketch::deserialize(&image).expect("bug: hand-built frequent-items image rejected")
}

thread_local! {
    static RANDOM: std::cell::Cell<u64> = const { std::cell::Cell::new(0x9E37_79B9_7F4A_7C15) };
}

/// One random bit (xorshift64*), for the compaction's offset.
fn random_bit() -> bool {
    RANDOM.with(|r| {
        let mut x = r.get();
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        r.set(x);
        (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 63) == 1
    })
}

/// Largest run compacted as one sketch: its level 1 must fit the capacity of a two-level KLL
/// sketch with the largest k (65,535 + 43,690 items).
const KLL_CHUNK: usize = 1 << 16;
/// Below this many values a batch goes in value by value.
const KLL_MIN_BATCH: usize = 64;

/// Adds a sorted batch of values to a KLL sketch, given as keys that sort in the values' order
/// (integers as themselves, floats as [`float_key`]: sorting integers is about twice as fast as
/// sorting floats with `total_cmp`) and `value` to turn a key into the value.
///
/// Once the sketch is in estimation mode (it has compacted at least once), a batch is sorted and
/// compacted once, as KLL's own compactor does (Karnin, Lang and Liberty 2016, section 3: keep
/// the items at even or odd positions of a sorted run, chosen at random, each now weighing 2),
/// and the result is merged in as a two-level sketch. Compacting a sorted run moves any rank by
/// at most its weight (1 at level 0) with mean zero, the same as the sketch's own level-0
/// compactions, of which value-by-value updates would have done one every 8 values or so (the
/// bottom level's capacity at large n); the merge then compacts each higher level at most
/// once. So a batch goes through fewer compactions than it would one value at a time and the
/// sketch's rank error stays within its stated bound (checked against exact ranks in tests).
pub(crate) fn kll_update<K: Copy + Ord>(kll: &mut KllSketch<KllFloat<f64>>, keys: &[K], value: impl Fn(K) -> f64) {
    debug_assert!(keys.is_sorted(), "kll_update takes sorted keys");
    let item = |k: K| KllFloat::<f64>::new(value(k)).expect("NaN is never passed to the KLL sketch");
    // Value by value until the sketch first compacts (exact quantiles for small inputs).
    let mut exact = 0;
    while exact < keys.len() && !kll.is_estimation_mode() {
        kll.update(item(keys[exact]));
        exact += 1;
    }
    let keys = &keys[exact..];
    if keys.len() < KLL_MIN_BATCH {
        for &k in keys.iter() {
            kll.update(item(k));
        }
        return;
    }
    for chunk in keys.chunks(KLL_CHUNK) {
        let mut chunk = chunk;
        if chunk.len() % 2 == 1 {
            // The odd one out goes in alone; which one does not matter for the ranks.
            let (last, rest) = chunk.split_last().expect("odd length is not empty");
            kll.update(item(*last));
            chunk = rest;
        }
        if chunk.is_empty() {
            continue;
        }
        let start = usize::from(random_bit());
        let level1: Vec<f64> = chunk.iter().skip(start).step_by(2).map(|&k| value(k)).collect();
        let part = two_level_sketch(
            chunk.len() as u64,
            value(chunk[0]),
            value(chunk[chunk.len() - 1]),
            &level1,
        );
        kll.merge(&part).expect("bug: KLL merge of a batch failed");
    }
}

const SIGN: u64 = 1 << 63;

/// An integer as an unsigned key that sorts as the integer does.
pub(crate) fn int_key(v: i64) -> u64 {
    (v as u64) ^ SIGN
}

/// The integer of an [`int_key`].
pub(crate) fn key_int(k: u64) -> i64 {
    (k ^ SIGN) as i64
}

/// Bits per radix digit: 2,048 counters per pass fit in L1 cache.
const RADIX_BITS: u32 = 11;

/// Sorts keys ascending. Batches of thousands of keys are sorted by least-significant-digit
/// radix sort on the keys' offsets from the smallest key, so only the bits that vary are sorted
/// (a column of ages takes one pass, timestamps within a month four): about twice as fast as a
/// comparison sort on 8,192 keys.
pub(crate) fn sort_keys(keys: &mut Vec<u64>) {
    if keys.len() < 256 {
        keys.sort_unstable();
        return;
    }
    let (lo, hi) = keys.iter().fold((u64::MAX, 0), |(lo, hi), &k| (lo.min(k), hi.max(k)));
    let bits = 64 - (hi - lo).leading_zeros();
    let passes = bits.div_ceil(RADIX_BITS) as usize;
    let mask = (1u64 << RADIX_BITS) - 1;
    let mut counts = vec![[0u32; 1 << RADIX_BITS]; passes];
    for &k in keys.iter() {
        let d = k - lo;
        for (p, c) in counts.iter_mut().enumerate() {
            c[((d >> (p as u32 * RADIX_BITS)) & mask) as usize] += 1;
        }
    }
    let mut other = vec![0u64; keys.len()];
    for (p, c) in counts.iter_mut().enumerate() {
        let shift = p as u32 * RADIX_BITS;
        if c.iter().any(|&n| n as usize == keys.len()) {
            continue; // every key has the same digit here
        }
        let mut start = 0;
        for n in c.iter_mut() {
            (*n, start) = (start, start + *n);
        }
        for &k in keys.iter() {
            let slot = &mut c[(((k - lo) >> shift) & mask) as usize];
            other[*slot as usize] = k;
            *slot += 1;
        }
        std::mem::swap(keys, &mut other);
    }
}

/// A float's bits as an integer that sorts as the float does (negative floats have all bits
/// flipped, others only the sign bit; -0.0 sorts just below 0.0).
pub(crate) fn float_key(x: f64) -> u64 {
    let b = x.to_bits();
    if b & SIGN != 0 { !b } else { b | SIGN }
}

/// The float of a [`float_key`].
pub(crate) fn key_float(k: u64) -> f64 {
    f64::from_bits(if k & SIGN != 0 { k & !SIGN } else { !k })
}

/// A KLL sketch of `n` values holding `level1` (sorted, each of weight 2) and an empty level 0,
/// built from its serialised image (DataSketches' compact KLL format, datasketches-java
/// `KllPreambleUtil`): 8 bytes of preamble (5 preamble ints, serial version 1, family 15, flags
/// with level 0 sorted, k, m = 8, unused), n, min k, level count and unused, the level offsets
/// into a capacity-sized array, min and max item, then the items.
fn two_level_sketch(n: u64, min: f64, max: f64, level1: &[f64]) -> KllSketch<KllFloat<f64>> {
    // The smallest k whose two-level capacity (k + ~2k/3) holds level 1, at least 200.
    let k = ((level1.len() * 3).div_ceil(5) + 2).clamp(200, u16::MAX as usize) as u16;
    let capacity = kll_capacity(k, 2);
    assert!(
        level1.len() <= capacity as usize,
        "bug: KLL batch larger than its sketch"
    );
    let mut image = Vec::with_capacity(40 + level1.len() * 8);
    image.extend_from_slice(&[5, 1, 15, 0b10]);
    image.extend_from_slice(&k.to_le_bytes());
    image.extend_from_slice(&[8, 0]);
    image.extend_from_slice(&n.to_le_bytes());
    image.extend_from_slice(&k.to_le_bytes());
    image.extend_from_slice(&[2, 0]);
    let first = capacity - level1.len() as u32;
    image.extend_from_slice(&first.to_le_bytes());
    image.extend_from_slice(&first.to_le_bytes());
    image.extend_from_slice(&min.to_le_bytes());
    image.extend_from_slice(&max.to_le_bytes());
    for x in level1 {
        image.extend_from_slice(&x.to_le_bytes());
    }
    KllSketch::deserialize(&image).expect("bug: hand-built KLL image rejected")
}

/// Total capacity of a KLL sketch with `levels` levels and m = 8 (DataSketches
/// `KllHelper.computeTotalItemCapacity`: level at depth d holds max(8, round(k (2/3)^d))).
fn kll_capacity(k: u16, levels: usize) -> u32 {
    (0..levels)
        .map(|depth| {
            let scaled = ((k as u64) << (depth + 1)) / 3u64.pow(depth as u32);
            (((scaled + 1) >> 1) as u32).max(8)
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use datasketches::common::SearchCriteria;
    use datasketches::frequencies::ErrorType;

    #[test]
    fn batched_kll_stays_within_the_stated_rank_error() {
        // 2M values in batches of 8,192, against exact ranks.
        let mut values: Vec<f64> = (0..2_000_000u64)
            .map(|i| ((i * 2_654_435_761) % 1_000_003) as f64 + (i % 7) as f64 * 0.25)
            .collect();
        let mut kll = KllSketch::new(200).unwrap();
        let keys: Vec<u64> = values.iter().map(|&x| float_key(x)).collect();
        for chunk in keys.chunks(8192) {
            let mut chunk = chunk.to_vec();
            chunk.sort_unstable();
            kll_update(&mut kll, &chunk, key_float);
        }
        assert_eq!(kll.n(), values.len() as u64);
        assert!(kll.num_retained() < 1000, "retained {}", kll.num_retained());
        values.sort_by(f64::total_cmp);
        let eps = kll.normalized_rank_error();
        for r in [0.001, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 0.999] {
            let q = *kll.quantile(r, SearchCriteria::Inclusive).unwrap().unwrap();
            let below = values.partition_point(|x| *x < q) as f64 / values.len() as f64;
            let at = values.partition_point(|x| *x <= q) as f64 / values.len() as f64;
            assert!(below - eps <= r && r <= at + eps, "rank {r}: [{below}, {at}] eps {eps}");
        }
        assert_eq!(**kll.min_item().unwrap(), values[0]);
        assert_eq!(**kll.max_item().unwrap(), values[values.len() - 1]);
        // The merged state serialises and reads back like any other.
        let back = KllSketch::<KllFloat<f64>>::deserialize(&kll.serialize()).unwrap();
        assert_eq!(back.n(), kll.n());
    }

    #[test]
    fn small_inputs_stay_exact() {
        let mut kll = KllSketch::new(200).unwrap();
        let values: Vec<i64> = (0..150).collect();
        kll_update(&mut kll, &values, |v| v as f64);
        assert!(!kll.is_estimation_mode());
        assert_eq!(*kll.quantile(0.5, SearchCriteria::Inclusive).unwrap().unwrap(), 74.0);
    }

    #[test]
    fn radix_sort_sorts() {
        let mut x = 0x2545_F491_4F6C_DD1Du64;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for (n, range) in [(10, u64::MAX), (300, 7), (8192, 1 << 40), (8192, u64::MAX), (5000, 1)] {
            let mut keys: Vec<u64> = (0..n).map(|_| (1 << 20) + next() % range.max(1)).collect();
            let mut expected = keys.clone();
            expected.sort_unstable();
            sort_keys(&mut keys);
            assert_eq!(keys, expected, "n {n} range {range}");
        }
        let mut ints: Vec<u64> = [5i64, -3, i64::MIN, 0, i64::MAX, -1]
            .iter()
            .map(|&v| int_key(v))
            .collect();
        ints.sort_unstable();
        assert_eq!(
            ints.iter().map(|&k| key_int(k)).collect::<Vec<_>>(),
            [i64::MIN, -3, -1, 0, 5, i64::MAX]
        );
    }

    #[test]
    fn float_keys_sort_as_floats() {
        let mut xs = vec![
            3.5,
            -0.0,
            0.0,
            -1e300,
            f64::MIN_POSITIVE,
            -2.25,
            1e-310,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ];
        let mut keys: Vec<u64> = xs.iter().map(|&x| float_key(x)).collect();
        keys.sort_unstable();
        xs.sort_by(f64::total_cmp);
        let back: Vec<u64> = keys.iter().map(|&k| key_float(k).to_bits()).collect();
        assert_eq!(back, xs.iter().map(|x| x.to_bits()).collect::<Vec<_>>());
    }

    #[test]
    fn capacity_matches_the_sketch() {
        // A sketch that compacted once has two levels; its image round-trips only if our
        // capacity agrees with the library's.
        for k in [200u16, 1000, 4917, 65535] {
            let n = (kll_capacity(k, 2) as usize).min(20_000);
            let level1: Vec<f64> = (0..n).map(|i| i as f64).collect();
            let s = two_level_sketch(2 * n as u64, 0.0, (n - 1) as f64, &level1);
            assert_eq!(s.n(), 2 * n as u64);
            assert_eq!(s.num_retained(), n);
        }
    }

    #[test]
    fn folded_counts_keep_the_frequent_items_bounds() {
        // Batches with a few heavy values and many singletons.
        let mut freq = FrequentItemsSketch::<String>::new(FREQ_MAP_SIZE).unwrap();
        let mut truth = std::collections::HashMap::<u64, u64>::new();
        let mut total = 0;
        for b in 0..50u64 {
            let mut counts: Vec<(u64, u64)> = (0..5).map(|h| (h, 100 + h * 37 + b)).collect();
            counts.extend((0..3000).map(|i| (1000 + b * 10_000 + i, 1 + i % 3)));
            let batch: u64 = counts.iter().map(|c| c.1).sum();
            for (k, c) in &counts {
                *truth.entry(*k).or_default() += c;
            }
            total += batch;
            fold_counts(&mut freq, counts, batch, |k, s| {
                use std::fmt::Write as _;
                let _ = write!(s, "{k}");
            });
        }
        assert_eq!(freq.total_weight(), total);
        assert!(freq.maximum_error() as f64 <= 3.5 / FREQ_MAP_SIZE as f64 * total as f64);
        let rows = freq.frequent_items(ErrorType::NoFalseNegatives);
        for h in 0..5u64 {
            assert!(
                rows.iter().any(|r| r.item() == &h.to_string()),
                "heavy item {h} missing"
            );
        }
        for r in rows {
            let t = truth[&r.item().parse::<u64>().unwrap()];
            assert!(r.lower_bound() <= t && t <= r.upper_bound(), "{}: {t}", r.item());
        }
    }

    #[test]
    fn weighted_moments_equal_expanded_ones() {
        let w = Moments::of_weighted([(1.0, 3), (4.0, 1), (2.5, 2)].into_iter());
        let e = Moments::of_iter([1.0, 1.0, 1.0, 4.0, 2.5, 2.5].into_iter());
        let mut keys: Vec<u64> = [1.0, 1.0, 1.0, 4.0, 2.5, 2.5, -3.0]
            .into_iter()
            .map(float_key)
            .collect();
        sort_keys(&mut keys);
        let k = Moments::of_sorted_keys(&keys, key_float);
        let direct = Moments::of_iter([1.0, 1.0, 1.0, 4.0, 2.5, 2.5, -3.0].into_iter());
        assert_eq!((k.n, k.min, k.max), (7, -3.0, 4.0));
        assert!((k.mean - direct.mean).abs() < 1e-15 && (k.m2 - direct.m2).abs() < 1e-12);
        assert_eq!(w.n, e.n);
        assert!((w.mean - e.mean).abs() < 1e-12 && (w.m2 - e.m2).abs() < 1e-12);
        assert_eq!((w.min, w.max), (1.0, 4.0));
    }
}
