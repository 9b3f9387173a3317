//! Data preparation for the plots: histogram binning with a tail cut-off and
//! deterministic downsampling. Pure and total (no panics on any input).

use super::axis::nice_step;
use crate::metrics::percentile_sorted;

/// The most bins a histogram draws.
const MAX_BINS: usize = 200;

/// Values of one metric counted into equal-width bins, per series.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Histogram {
    /// Left edge of the first bin.
    pub(crate) start: f64,
    /// Bin width.
    pub(crate) width: f64,
    /// `counts[bin][series]`.
    pub(crate) counts: Vec<Vec<u64>>,
    /// Values above the last bin's right edge, counted in the last bin.
    pub(crate) overflow: u64,
}

impl Histogram {
    /// Bins `values` (`(series index, value)`; non-finite values dropped)
    /// into about `target` bins. Past the 99th percentile a long tail (max
    /// more than twice p99, with at least 50 values) is folded into the last
    /// bin so the body of the distribution stays readable. `None` when no
    /// finite value is given.
    pub(crate) fn build(values: &[(usize, f64)], series: usize, target: usize) -> Option<Self> {
        let mut sorted: Vec<f64> = values
            .iter()
            .map(|v| v.1)
            .filter(|v| v.is_finite())
            .collect();
        sorted.sort_by(f64::total_cmp);
        let (Some(&lo), Some(&max)) = (sorted.first(), sorted.last()) else {
            return None;
        };
        let (lo, max) = (lo.clamp(-1e300, 1e300), max.clamp(-1e300, 1e300));
        let p99 = percentile_sorted(&sorted, 99.0).unwrap_or(max);
        let cut = sorted.len() >= 50 && p99 > lo && (max - lo) > 2.0 * (p99 - lo);
        let hi = if cut { p99 } else { max };
        let width = if hi > lo {
            nice_step((hi - lo) / target.max(1) as f64)
        } else {
            nice_step((lo.abs() / 10.0).max(1e-9))
        };
        let start = (lo / width).floor() * width;
        let bins = (((hi - start) / width).floor() as usize + 1).clamp(1, MAX_BINS);
        let series = series.max(1);
        let mut h = Self {
            start,
            width,
            counts: vec![vec![0; series]; bins],
            overflow: 0,
        };
        for &(s, v) in values.iter().filter(|v| v.1.is_finite()) {
            let raw = ((v - start) / width).floor();
            if raw >= bins as f64 {
                h.overflow += 1;
            }
            let bin = (raw.max(0.0) as usize).min(bins - 1);
            h.counts[bin][s.min(series - 1)] += 1;
        }
        Some(h)
    }

    /// Left and right edge of bin `i`.
    pub(crate) fn edges(&self, i: usize) -> (f64, f64) {
        let l = self.start + i as f64 * self.width;
        (l, l + self.width)
    }

    /// The tallest stacked bar.
    pub(crate) fn max_total(&self) -> u64 {
        self.counts
            .iter()
            .map(|c| c.iter().sum::<u64>())
            .max()
            .unwrap_or(0)
    }

    /// Right edge of the last bin.
    pub(crate) fn end(&self) -> f64 {
        self.edges(self.counts.len().saturating_sub(1)).1
    }
}

/// Indices of at most `max` items out of `n`, evenly spaced and deterministic
/// (all of them, in order, when `n <= max`).
pub(crate) fn sample_indices(n: usize, max: usize) -> Vec<usize> {
    if n <= max {
        return (0..n).collect();
    }
    (0..max)
        .map(|i| ((i as u128 * n as u128) / max as u128) as usize)
        .collect()
}

/// The distinct labels in first-seen order (pass the run's own levels first,
/// so levels keep the run's order and colours).
pub(crate) fn label_order<S: AsRef<str>>(labels: impl IntoIterator<Item = S>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for l in labels {
        let l = l.as_ref();
        if !out.iter().any(|o| o == l) {
            out.push(l.to_owned());
        }
    }
    out
}

/// Index of `label` in `order` (the last slot when absent, which cannot
/// happen when `order` came from [`label_order`]).
pub(crate) fn index_of(order: &[String], label: &str) -> usize {
    order
        .iter()
        .position(|o| o == label)
        .unwrap_or(order.len().saturating_sub(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn downsampling_is_bounded_and_deterministic() {
        assert_eq!(sample_indices(3, 10), vec![0, 1, 2]);
        let s = sample_indices(12_345, 5_000);
        assert_eq!(s.len(), 5_000);
        assert_eq!(s, sample_indices(12_345, 5_000));
        assert!(s.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(s[0], 0);
        assert!(*s.last().unwrap_or(&0) < 12_345);
        assert!(sample_indices(10, 0).is_empty());
    }

    #[test]
    fn histogram_counts_everything_once() {
        let vals: Vec<(usize, f64)> = (0..100).map(|i| (i % 3, i as f64)).collect();
        let h = Histogram::build(&vals, 3, 10).expect("values");
        let total: u64 = h.counts.iter().flatten().sum();
        assert_eq!(total, 100);
        assert_eq!(h.width, 10.0);
        assert_eq!(h.start, 0.0);
        assert_eq!(h.overflow, 0);
    }

    #[test]
    fn histogram_folds_long_tail() {
        let mut vals: Vec<(usize, f64)> =
            (0..200).map(|i| (0, 100.0 + f64::from(i % 10))).collect();
        vals.push((0, 1e6));
        let h = Histogram::build(&vals, 1, 20).expect("values");
        assert_eq!(h.overflow, 1);
        assert!(h.end() < 1000.0);
        assert_eq!(h.counts.iter().flatten().sum::<u64>(), 201);
    }

    #[test]
    fn histogram_degenerate_inputs() {
        assert!(Histogram::build(&[], 1, 10).is_none());
        assert!(Histogram::build(&[(0, f64::NAN)], 1, 10).is_none());
        let h = Histogram::build(&[(5, 7.0), (0, 7.0)], 1, 10).expect("one value");
        assert_eq!(h.max_total(), 2);
        let h = Histogram::build(&[(0, 0.0)], 1, 10).expect("zero");
        assert_eq!(h.max_total(), 1);
        let h = Histogram::build(&[(0, -1e308), (0, 1e308)], 1, 10).expect("huge");
        assert!(h.counts.len() <= MAX_BINS);
    }

    #[test]
    fn labels_keep_known_order() {
        let o = label_order(["c1", "c4", "c4", "x", "c1", "x"]);
        assert_eq!(o, vec!["c1", "c4", "x"]);
        assert_eq!(index_of(&o, "x"), 2);
    }
}
