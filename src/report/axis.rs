//! Linear axes with "nice" ticks (1, 2 or 5 × 10ⁿ) and tick label formatting.
//! Total: non-finite or extreme inputs give a usable axis, never a panic.

/// Largest magnitude an axis accepts; beyond this, arithmetic would overflow.
const LIMIT: f64 = 1e300;

/// The "nice" step (1, 2 or 5 × 10ⁿ) nearest above `raw`.
pub(crate) fn nice_step(raw: f64) -> f64 {
    if !(raw.is_finite() && raw > 0.0) {
        return 1.0;
    }
    let mag = 10f64.powf(raw.log10().floor());
    let f = raw / mag;
    let nf = if f <= 1.0 {
        1.0
    } else if f <= 2.0 {
        2.0
    } else if f <= 5.0 {
        5.0
    } else {
        10.0
    };
    nf * mag
}

/// A linear axis: its domain and tick positions.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Axis {
    /// Domain start (the first tick).
    pub(crate) lo: f64,
    /// Domain end (the last tick).
    pub(crate) hi: f64,
    /// Distance between ticks.
    pub(crate) step: f64,
    /// Tick values, ascending.
    pub(crate) ticks: Vec<f64>,
}

impl Axis {
    /// A nice axis covering `lo..=hi` with about `target` intervals.
    pub(crate) fn nice(lo: f64, hi: f64, target: usize) -> Self {
        let (mut lo, mut hi) = (clamp_finite(lo), clamp_finite(hi));
        if hi < lo {
            std::mem::swap(&mut lo, &mut hi);
        }
        if hi - lo <= hi.abs().max(lo.abs()) * 1e-12 {
            let pad = if lo == 0.0 { 1.0 } else { lo.abs() * 0.1 };
            (lo, hi) = if lo >= 0.0 && lo - pad < 0.0 {
                (0.0, hi + pad)
            } else {
                (lo - pad, hi + pad)
            };
        }
        let step = nice_step((hi - lo) / target.max(1) as f64);
        let start = (lo / step).floor() * step;
        let end = (hi / step).ceil() * step;
        let n = (((end - start) / step).round() as usize).clamp(1, 100);
        let ticks = (0..=n)
            .map(|i| clean(start + i as f64 * step, step))
            .collect();
        Self {
            lo: start,
            hi: start + n as f64 * step,
            step,
            ticks,
        }
    }

    /// A nice axis covering every finite value (0 included when asked), with
    /// `headroom` (a fraction of the span) added above the largest value.
    pub(crate) fn for_values(values: &[f64], include_zero: bool, headroom: f64) -> Self {
        let mut finite = values.iter().copied().filter(|v| v.is_finite());
        let Some(first) = finite.next() else {
            return Self::nice(0.0, 1.0, 5);
        };
        let (mut lo, mut hi) = finite.fold((first, first), |(a, b), v| (a.min(v), b.max(v)));
        if include_zero {
            lo = lo.min(0.0);
            hi = hi.max(0.0);
        }
        let hi = clamp_finite(hi) + (clamp_finite(hi) - clamp_finite(lo)) * headroom;
        Self::nice(lo, hi, 6)
    }

    /// Tick label for `v` with as many decimals as the step needs.
    pub(crate) fn label(&self, v: f64) -> String {
        fmt_tick(v, self.step)
    }

    /// Position of `v` in the domain as a fraction (0 = lo, 1 = hi).
    pub(crate) fn frac(&self, v: f64) -> f64 {
        let span = self.hi - self.lo;
        if !(span.is_finite() && span > 0.0 && v.is_finite()) {
            return 0.0;
        }
        ((v - self.lo) / span).clamp(-0.05, 1.05)
    }
}

fn clamp_finite(v: f64) -> f64 {
    if v.is_finite() {
        v.clamp(-LIMIT, LIMIT)
    } else {
        0.0
    }
}

/// Removes floating-point noise from a tick value (0.30000000000000004 → 0.3).
fn clean(v: f64, step: f64) -> f64 {
    let digits = (-step.log10().floor()).clamp(0.0, 15.0) as i32 + 1;
    let p = 10f64.powi(digits);
    let r = (v * p).round() / p;
    if r.is_finite() && r != 0.0 {
        r
    } else if r == 0.0 {
        0.0
    } else {
        v
    }
}

/// Formats a tick value: thousands separators, decimals from the step,
/// scientific notation for extreme magnitudes.
pub(crate) fn fmt_tick(v: f64, step: f64) -> String {
    if !v.is_finite() {
        return "—".to_owned();
    }
    if v == 0.0 {
        return "0".to_owned();
    }
    if v.abs() >= 1e9 || v.abs() < 1e-6 {
        return format!("{v:.2e}");
    }
    let decimals = if step >= 1.0 || !step.is_finite() || step <= 0.0 {
        0
    } else {
        ((-step.log10().floor()) as usize).min(6)
    };
    group_thousands(&format!("{v:.decimals$}"))
}

/// Inserts `,` every three digits of the integer part of a formatted number.
pub(crate) fn group_thousands(s: &str) -> String {
    let (sign, rest) = s.strip_prefix('-').map_or(("", s), |r| ("-", r));
    let (int, frac) = rest
        .split_once('.')
        .map_or((rest, None), |(i, f)| (i, Some(f)));
    if int.len() <= 3 || !int.bytes().all(|b| b.is_ascii_digit()) {
        return s.to_owned();
    }
    let mut out = String::from(sign);
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if let Some(f) = frac {
        out.push('.');
        out.push_str(f);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nice_steps_are_1_2_5() {
        assert_eq!(nice_step(0.7), 1.0);
        assert_eq!(nice_step(1.3), 2.0);
        assert_eq!(nice_step(3.0), 5.0);
        assert_eq!(nice_step(7.0), 10.0);
        assert_eq!(nice_step(230.0), 500.0);
        assert_eq!(nice_step(f64::NAN), 1.0);
        assert_eq!(nice_step(-3.0), 1.0);
    }

    #[test]
    fn zero_based_ticks_cover_the_data() {
        let a = Axis::for_values(&[120.0, 870.0, 455.0], true, 0.0);
        assert_eq!(a.ticks, vec![0.0, 200.0, 400.0, 600.0, 800.0, 1000.0]);
        assert_eq!((a.lo, a.hi), (0.0, 1000.0));
        let b = Axis::nice(0.0, 1.0, 5);
        assert_eq!(b.ticks, vec![0.0, 0.2, 0.4, 0.6, 0.8, 1.0]);
        assert_eq!(b.label(0.6), "0.6");
    }

    #[test]
    fn degenerate_axes_do_not_panic() {
        for vals in [
            vec![],
            vec![f64::NAN],
            vec![5.0],
            vec![0.0],
            vec![-3.0],
            vec![f64::INFINITY, 1e308, -1e308],
        ] {
            let a = Axis::for_values(&vals, true, 0.05);
            assert!(a.hi > a.lo, "{vals:?} -> {a:?}");
            assert!(!a.ticks.is_empty() && a.ticks.len() <= 101);
            assert!(a.ticks.iter().all(|t| t.is_finite()));
        }
        let a = Axis::for_values(&[5.0], false, 0.0);
        assert!(a.lo <= 5.0 && a.hi >= 5.0);
    }

    #[test]
    fn tick_labels() {
        assert_eq!(fmt_tick(12000.0, 2000.0), "12,000");
        assert_eq!(fmt_tick(-1500.5, 0.5), "-1,500.5");
        assert_eq!(fmt_tick(0.25, 0.05), "0.25");
        assert_eq!(fmt_tick(3e12, 1e12), "3.00e12");
        assert_eq!(fmt_tick(f64::NAN, 1.0), "—");
    }
}
