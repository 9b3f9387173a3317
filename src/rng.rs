//! Seeded pseudo-random numbers and the few distributions the load generator
//! needs. Our own small generator (xoshiro256**) keeps a seed's output stable
//! across dependency upgrades, so a run is reproducible from its `run_spec.json`.

/// A xoshiro256** generator seeded through SplitMix64.
#[derive(Debug, Clone)]
pub struct Rng {
    s: [u64; 4],
}

impl Rng {
    /// A generator whose whole output is determined by `seed`.
    pub fn new(seed: u64) -> Self {
        let mut sm = seed;
        let mut next = || {
            sm = sm.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = sm;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        };
        Self {
            s: [next(), next(), next(), next()],
        }
    }

    /// An independent stream derived from this seed and a label, so that
    /// prompts, arrivals and faults do not shift when one of them changes.
    pub fn derive(seed: u64, stream: u64) -> Self {
        Self::new(seed ^ stream.wrapping_mul(0xA076_1D64_78BD_642F))
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let result = self.s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = self.s[1] << 17;
        self.s[2] ^= self.s[0];
        self.s[3] ^= self.s[1];
        self.s[1] ^= self.s[2];
        self.s[0] ^= self.s[3];
        self.s[2] ^= t;
        self.s[3] = self.s[3].rotate_left(45);
        result
    }

    /// Uniform in `[0, 1)`.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform integer in `[0, n)`; `n` must be positive.
    pub fn below(&mut self, n: usize) -> usize {
        ((self.next_u64() as u128 * n as u128) >> 64) as usize
    }

    /// Exponentially distributed with the given mean (inter-arrival gaps of a
    /// Poisson process).
    pub fn exponential(&mut self, mean: f64) -> f64 {
        // 1 - U lies in (0, 1], so the logarithm is finite.
        -(1.0 - self.next_f64()).ln() * mean
    }

    /// Normally distributed (Box–Muller).
    pub fn normal(&mut self, mean: f64, stddev: f64) -> f64 {
        if stddev <= 0.0 {
            return mean;
        }
        let u1 = 1.0 - self.next_f64();
        let u2 = self.next_f64();
        let z = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
        mean + stddev * z
    }

    /// A token count drawn from N(mean, stddev), rounded and kept at least `min`.
    pub fn token_count(&mut self, mean: u32, stddev: u32, min: u32) -> u32 {
        let v = self.normal(f64::from(mean), f64::from(stddev)).round();
        (v.max(f64::from(min))).min(f64::from(u32::MAX)) as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_stream_and_different_seeds_differ() {
        let a: Vec<u64> = (0..5)
            .map({
                let mut r = Rng::new(7);
                move |_| r.next_u64()
            })
            .collect();
        let b: Vec<u64> = (0..5)
            .map({
                let mut r = Rng::new(7);
                move |_| r.next_u64()
            })
            .collect();
        let c: Vec<u64> = (0..5)
            .map({
                let mut r = Rng::new(8);
                move |_| r.next_u64()
            })
            .collect();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn distributions_hit_their_moments() {
        let mut r = Rng::new(42);
        let n = 200_000;
        let exp_mean: f64 = (0..n).map(|_| r.exponential(2.0)).sum::<f64>() / n as f64;
        assert!((exp_mean - 2.0).abs() < 0.03, "exponential mean {exp_mean}");
        let xs: Vec<f64> = (0..n).map(|_| r.normal(10.0, 3.0)).collect();
        let mean = xs.iter().sum::<f64>() / n as f64;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64;
        assert!((mean - 10.0).abs() < 0.03, "normal mean {mean}");
        assert!((var.sqrt() - 3.0).abs() < 0.03, "normal std {}", var.sqrt());
        let u: f64 = (0..n).map(|_| r.next_f64()).sum::<f64>() / n as f64;
        assert!((u - 0.5).abs() < 0.005);
        assert!((0..1000).all(|_| r.below(7) < 7));
    }

    #[test]
    fn token_counts_respect_the_floor() {
        let mut r = Rng::new(1);
        assert!((0..1000).all(|_| r.token_count(3, 10, 1) >= 1));
        assert_eq!(r.token_count(550, 0, 1), 550);
    }
}
