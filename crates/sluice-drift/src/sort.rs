//! LSD radix sort of `f64` values (finite, no NaN), the hot spot of exact numeric drift.
//!
//! Comparison sorting a million doubles takes ~60 ms; six 11-bit counting passes over the
//! order-preserving integer image (histograms of all passes in one read; 2048 buckets keep the
//! scatter in cache) take ~10 ms and skip passes whose digit is constant (common
//! for integer-valued columns). Written here because the crates that offer it either pull in a
//! second `rand`/`rayon` generation or sort through trait objects.

/// Sorts `values` ascending (`-0.0` before `0.0`, as `f64::total_cmp`).
pub fn sort_f64(values: &mut [f64]) {
    if values.len() < 2048 {
        values.sort_unstable_by(f64::total_cmp);
        return;
    }
    const BITS: u32 = 11;
    const PASSES: usize = 6;
    const RADIX: usize = 1 << BITS;
    let mut keys: Vec<u64> = values.iter().map(|&v| key(v)).collect();
    // Every pass's histogram in one read of the keys.
    let mut counts = vec![[0usize; RADIX]; PASSES];
    for &k in &keys {
        for (p, c) in counts.iter_mut().enumerate() {
            c[((k >> (p as u32 * BITS)) & (RADIX as u64 - 1)) as usize] += 1;
        }
    }
    let mut buf = vec![0u64; keys.len()];
    for (p, c) in counts.iter_mut().enumerate() {
        if c.contains(&keys.len()) {
            continue;
        }
        let mut sum = 0;
        for x in c.iter_mut() {
            let n = *x;
            *x = sum;
            sum += n;
        }
        let shift = p as u32 * BITS;
        for &k in &keys {
            let d = ((k >> shift) & (RADIX as u64 - 1)) as usize;
            buf[c[d]] = k;
            c[d] += 1;
        }
        std::mem::swap(&mut keys, &mut buf);
    }
    for (v, k) in values.iter_mut().zip(&keys) {
        *v = value(*k);
    }
}

/// The order-preserving image of a double: flip all bits of negatives, the sign bit of the rest.
fn key(v: f64) -> u64 {
    let b = v.to_bits();
    if b >> 63 == 1 { !b } else { b | (1 << 63) }
}

fn value(k: u64) -> f64 {
    f64::from_bits(if k >> 63 == 1 { k & !(1 << 63) } else { !k })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    #[test]
    fn sorts_like_total_cmp() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        for n in [0usize, 1, 5, 3000, 100_000] {
            let mut v: Vec<f64> = (0..n)
                .map(|i| match i % 5 {
                    0 => rng.random_range(-1e9..1e9),
                    1 => f64::from(rng.random_range(-3i32..3)),
                    2 => -0.0,
                    3 => rng.random::<f64>() * 1e-300,
                    _ => rng.random_range(-1.0..1.0),
                })
                .collect();
            let mut want = v.clone();
            want.sort_unstable_by(f64::total_cmp);
            sort_f64(&mut v);
            assert_eq!(
                v.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
                want.iter().map(|x| x.to_bits()).collect::<Vec<_>>()
            );
        }
    }

    #[test]
    fn constant_digits_are_skipped_without_changing_order() {
        let mut v: Vec<f64> = (0..10_000).rev().map(f64::from).collect();
        sort_f64(&mut v);
        assert!(v.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(v[0], 0.0);
        assert_eq!(v[9_999], 9_999.0);
    }
}
