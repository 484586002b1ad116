//! Zipf-like sampling that is reproducible bit for bit on every machine and cheap for huge ranges.

use rand::Rng;

/// Ranks up to this one get their own bucket (sampled exactly).
const EXACT_RANKS: u64 = 1024;
/// Beyond [`EXACT_RANKS`], a bucket starting at rank `k` spans `k / BUCKET_SPAN_DIVISOR` ranks, so the
/// weight varies by less than 1/64 inside a bucket and the number of buckets grows with `64 * ln(n)`.
const BUCKET_SPAN_DIVISOR: u64 = 64;

/// 2^-32, to turn 32 random bits into a number in `[0, 1)`.
const TWO_POW_MINUS_32: f64 = 1.0 / 4_294_967_296.0;

/// Draws ranks `1..=n` with probability proportional to `1 / (k + q)` (Zipf with exponent 1, shifted by
/// `q` to flatten the head: `q = 0` is classic Zipf).
///
/// Ranks are grouped into buckets (one per rank up to [`EXACT_RANKS`], then geometrically wider); a bucket is
/// picked with Vose's alias method and a rank uniformly inside it. A draw costs O(1) and the table
/// O(1024 + 64 ln n) memory, so `n = 50_000_000` is fine. Only `+ - * /` are used to build the table, so it
/// is identical everywhere (unlike `powf`/`ln`, whose last bit depends on the C library).
#[derive(Debug, Clone)]
pub(crate) struct ZipfTable {
    start: Vec<u64>,
    width: Vec<u64>,
    prob: Vec<f64>,
    alias: Vec<u32>,
}

impl ZipfTable {
    /// A table over ranks `1..=n` (`n = 0` is treated as 1) with weights `1 / (k + q)`, `q >= 0`.
    pub(crate) fn new(n: u64, q: f64) -> Self {
        let n = n.max(1);
        let mut start = Vec::new();
        let mut width = Vec::new();
        let mut mass = Vec::new();
        let mut k = 1u64;
        while k <= n {
            let w = if k <= EXACT_RANKS {
                1
            } else {
                (k / BUCKET_SPAN_DIVISOR).clamp(1, n - k + 1)
            };
            let center = k as f64 + (w - 1) as f64 / 2.0;
            start.push(k);
            width.push(w);
            mass.push(w as f64 / (center + q));
            k += w;
        }
        let (prob, alias) = vose(&mass);
        ZipfTable {
            start,
            width,
            prob,
            alias,
        }
    }

    /// Draws one rank in `1..=n`.
    pub(crate) fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> u64 {
        // One 64-bit draw: the high half picks a column by multiply-shift (bias < len / 2^32), the low
        // half is the uniform number compared with the column's probability.
        let bits = rng.next_u64();
        let i = (((bits >> 32) * self.prob.len() as u64) >> 32) as usize;
        let coin = (bits & 0xffff_ffff) as f64 * TWO_POW_MINUS_32;
        let bucket = if coin < self.prob[i] {
            i
        } else {
            self.alias[i] as usize
        };
        let w = self.width[bucket];
        self.start[bucket] + if w > 1 { rng.gen_range(0..w) } else { 0 }
    }
}

/// Vose's alias tables for the given (unnormalised) weights.
fn vose(mass: &[f64]) -> (Vec<f64>, Vec<u32>) {
    let m = mass.len();
    let total: f64 = mass.iter().sum();
    let mut scaled: Vec<f64> = mass.iter().map(|w| w * m as f64 / total).collect();
    let mut prob = vec![1.0; m];
    let mut alias: Vec<u32> = (0..m as u32).collect();
    let (mut small, mut large): (Vec<u32>, Vec<u32>) =
        (0..m as u32).partition(|&i| scaled[i as usize] < 1.0);
    while let (Some(s), Some(&l)) = (small.pop(), large.last()) {
        prob[s as usize] = scaled[s as usize];
        alias[s as usize] = l;
        scaled[l as usize] = (scaled[l as usize] + scaled[s as usize]) - 1.0;
        if scaled[l as usize] < 1.0 {
            large.pop();
            small.push(l);
        }
    }
    (prob, alias)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn classic_zipf_head() {
        let table = ZipfTable::new(10_000, 0.0);
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mut counts = vec![0u32; 10_001];
        let draws = 400_000;
        for _ in 0..draws {
            let k = table.sample(&mut rng);
            assert!((1..=10_000).contains(&k));
            counts[k as usize] += 1;
        }
        // P(1) = 1 / H(10000) ~ 0.1021; P(1) / P(2) = 2; P(1) / P(10) = 10.
        let p1 = f64::from(counts[1]) / f64::from(draws);
        assert!((p1 - 0.1021).abs() < 0.005, "P(1) = {p1}");
        let r2 = f64::from(counts[1]) / f64::from(counts[2]);
        assert!((r2 - 2.0).abs() < 0.1, "P(1)/P(2) = {r2}");
        let r10 = f64::from(counts[1]) / f64::from(counts[10]);
        assert!((r10 - 10.0).abs() < 1.0, "P(1)/P(10) = {r10}");
        // The tail (beyond the exact buckets) gets its share: sum_{1025..=10000} 1/k / H ~ 0.232.
        let tail: u32 = counts[1025..].iter().sum();
        let p_tail = f64::from(tail) / f64::from(draws);
        assert!((p_tail - 0.232).abs() < 0.01, "P(tail) = {p_tail}");
    }

    #[test]
    fn huge_range_is_cheap_and_in_bounds() {
        let n = 50_000_000;
        let table = ZipfTable::new(n, 0.0);
        assert!(table.prob.len() < 2_000);
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let max = (0..100_000).map(|_| table.sample(&mut rng)).max().unwrap();
        assert!(max <= n && max > 1_000_000);
    }

    #[test]
    fn single_rank() {
        let table = ZipfTable::new(1, 0.0);
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        assert!((0..100).all(|_| table.sample(&mut rng) == 1));
    }
}
