//! Summary statistics exactly as AIPerf computes them: NaNs dropped, values
//! sorted, percentiles by linear interpolation between closest ranks (numpy's
//! default `method="linear"`), population standard deviation (`ddof=0`).
//! The [`Stats`] type itself is a domain type.

use crate::domain::Stats;

/// Percentile `q` (0–100) of an ascending slice by linear interpolation:
/// `idx = q/100 · (n−1)`, between `floor(idx)` and the next rank.
pub fn percentile_sorted(sorted: &[f64], q: f64) -> Option<f64> {
    let n = sorted.len();
    if n == 0 {
        return None;
    }
    let idx = q / 100.0 * (n - 1) as f64;
    let lo = idx.floor() as usize;
    let hi = (lo + 1).min(n - 1);
    let frac = idx - lo as f64;
    Some(sorted[lo] + (sorted[hi] - sorted[lo]) * frac)
}

impl Stats {
    /// Statistics of `values`, or `None` when no finite value is present.
    pub fn from_values(values: &[f64]) -> Option<Self> {
        let mut v: Vec<f64> = values.iter().copied().filter(|x| !x.is_nan()).collect();
        if v.is_empty() {
            return None;
        }
        v.sort_by(f64::total_cmp);
        let n = v.len() as f64;
        let sum: f64 = v.iter().sum();
        let avg = sum / n;
        let var = v.iter().map(|x| (x - avg) * (x - avg)).sum::<f64>() / n;
        let p = |q| percentile_sorted(&v, q).unwrap_or(f64::NAN);
        Some(Self {
            avg,
            min: v[0],
            max: v[v.len() - 1],
            std: var.sqrt(),
            p1: p(1.0),
            p5: p(5.0),
            p10: p(10.0),
            p25: p(25.0),
            p50: p(50.0),
            p75: p(75.0),
            p90: p(90.0),
            p95: p(95.0),
            p99: p(99.0),
            count: v.len() as u64,
            sum,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::PERCENTILES;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9 * b.abs().max(1.0)
    }

    // Reference values computed with numpy 2.x:
    //   np.percentile(x, q) (method="linear"), np.std(x) (ddof=0).
    #[test]
    fn matches_numpy_linear_on_known_vectors() {
        let x = [15.0, 20.0, 35.0, 40.0, 50.0];
        let s = Stats::from_values(&x).expect("values");
        // np.percentile([15,20,35,40,50],[1,5,10,25,50,75,90,95,99])
        let want = [15.2, 16.0, 17.0, 20.0, 35.0, 40.0, 46.0, 48.0, 49.6];
        for ((name, _), w) in PERCENTILES.iter().zip(want) {
            assert!(close(s.percentile(name).expect("known"), w), "{name}");
        }
        assert!(close(s.avg, 32.0));
        assert!(close(s.std, 12.884098726725126)); // np.std(x)
        assert_eq!(s.count, 5);
        assert!(close(s.sum, 160.0));
    }

    #[test]
    fn unsorted_input_and_even_length() {
        let x = [7.0, 1.0, 3.0, 10.0];
        let s = Stats::from_values(&x).expect("values");
        // np.percentile([7,1,3,10], 50) = 5.0 ; 90 -> 9.1 ; 1 -> 1.06 ; 99 -> 9.91
        assert!(close(s.p50, 5.0));
        assert!(close(s.p90, 9.1));
        assert!(close(s.p1, 1.06));
        assert!(close(s.p99, 9.91));
        assert!(close(s.std, 3.491060010942235)); // np.std([7,1,3,10])
        assert_eq!((s.min, s.max), (1.0, 10.0));
    }

    #[test]
    fn single_value_empty_and_nan() {
        let s = Stats::from_values(&[4.2]).expect("one value");
        assert_eq!((s.p1, s.p50, s.p99, s.std), (4.2, 4.2, 4.2, 0.0));
        assert!(Stats::from_values(&[]).is_none());
        assert!(Stats::from_values(&[f64::NAN]).is_none());
        let s = Stats::from_values(&[f64::NAN, 2.0, 4.0]).expect("nan dropped");
        assert_eq!(s.count, 2);
        assert!(close(s.p50, 3.0));
    }

    #[test]
    fn hundred_values_percentiles() {
        let x: Vec<f64> = (1..=100).map(f64::from).collect();
        let s = Stats::from_values(&x).expect("values");
        // np.percentile(np.arange(1,101), [1,25,99]) = [1.99, 25.75, 99.01]
        assert!(close(s.p1, 1.99));
        assert!(close(s.p25, 25.75));
        assert!(close(s.p99, 99.01));
        assert!(close(s.p50, 50.5));
    }
}
