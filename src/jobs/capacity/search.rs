//! Where the capacity search probes next, decided from the probes so far:
//! the load doubles from the minimum until a probe fails (bracketing), then
//! the range between the highest pass and the lowest failure is halved until
//! neighbours are reached (bisection: integers for concurrency; for rates,
//! within 5%). A pass whose figures came within noise of a target is probed
//! once more before it counts.

use crate::domain::{CapacitySearch, SearchMode};

/// Rates whose ratio is below this are neighbours.
const RATE_RESOLUTION: f64 = 1.05;

/// How a probe went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Every target met; `near`: some figure within noise of its target.
    Pass { near: bool },
    /// A target missed.
    Fail,
    /// The client, not the endpoint, was the bottleneck: no answer here.
    ClientBound,
}

/// The search's state.
#[derive(Debug, Clone)]
pub(crate) struct Search {
    mode: SearchMode,
    min: f64,
    max: f64,
    /// Highest load that passed.
    pub(crate) pass: Option<f64>,
    /// Lowest load that failed.
    pub(crate) fail: Option<f64>,
    /// A near pass waiting for its repeat.
    repeat: Option<f64>,
    /// Loads already repeated.
    repeated: Vec<f64>,
    /// A client-bound probe ended the search.
    pub(crate) client_bound: bool,
}

impl Search {
    pub(crate) fn new(spec: &CapacitySearch) -> Self {
        let whole = |v: f64| match spec.mode {
            SearchMode::Concurrency => v.round().max(1.0),
            SearchMode::Rate => v,
        };
        Self {
            mode: spec.mode,
            min: whole(spec.min),
            max: whole(spec.max.max(spec.min)),
            pass: None,
            fail: None,
            repeat: None,
            repeated: Vec::new(),
            client_bound: false,
        }
    }

    /// The next load to probe, or `None` when the answer is known.
    pub(crate) fn next(&self) -> Option<f64> {
        if self.client_bound {
            return None;
        }
        if let Some(r) = self.repeat {
            return Some(r);
        }
        match (self.pass, self.fail) {
            (None, None) => Some(self.min),
            (Some(p), None) if p >= self.max => None,
            (Some(p), None) => Some(self.grow(p)),
            (None, Some(_)) => None,
            (Some(p), Some(f)) => self.between(p, f),
        }
    }

    /// Notes how the probe at `load` went.
    pub(crate) fn record(&mut self, load: f64, outcome: Outcome) {
        self.repeat = None;
        match outcome {
            Outcome::ClientBound => self.client_bound = true,
            Outcome::Pass { near: true } if !self.repeated.contains(&load) => {
                self.repeated.push(load);
                self.repeat = Some(load);
            }
            Outcome::Pass { .. } => self.pass = Some(self.pass.map_or(load, |p| p.max(load))),
            Outcome::Fail => self.fail = Some(self.fail.map_or(load, |f| f.min(load))),
        }
    }

    /// True when `load` is being probed again.
    pub(crate) fn is_repeat(&self, load: f64) -> bool {
        self.repeated.contains(&load)
    }

    fn grow(&self, p: f64) -> f64 {
        (p * 2.0).min(self.max)
    }

    fn between(&self, p: f64, f: f64) -> Option<f64> {
        match self.mode {
            SearchMode::Concurrency if f - p > 1.0 => Some(((p + f) / 2.0).floor()),
            SearchMode::Rate if f / p > RATE_RESOLUTION => Some((p * f).sqrt()),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Slo;

    fn spec(min: f64, max: f64) -> CapacitySearch {
        CapacitySearch {
            slo: Slo::default(),
            mode: SearchMode::Concurrency,
            min,
            max,
            budget_s: 60.0,
        }
    }

    /// Runs the search against an endpoint whose true capacity is `cap`.
    fn probes(cap: f64, spec: &CapacitySearch) -> (Vec<f64>, Search) {
        let mut s = Search::new(spec);
        let mut seen = Vec::new();
        while let Some(load) = s.next() {
            seen.push(load);
            let near = load == cap;
            let o = if load <= cap {
                Outcome::Pass { near }
            } else {
                Outcome::Fail
            };
            s.record(load, o);
            assert!(seen.len() < 40, "the search ends");
        }
        (seen, s)
    }

    #[test]
    fn brackets_then_bisects_to_the_true_capacity() {
        let (seen, s) = probes(4.0, &spec(1.0, 256.0));
        assert_eq!(seen, [1.0, 2.0, 4.0, 4.0, 8.0, 6.0, 5.0]);
        assert_eq!((s.pass, s.fail), (Some(4.0), Some(5.0)));
        let (seen, s) = probes(37.0, &spec(1.0, 256.0));
        assert_eq!((s.pass, s.fail), (Some(37.0), Some(38.0)));
        assert!(seen.len() <= 14, "{seen:?}");
    }

    #[test]
    fn the_ends_of_the_range_and_a_client_bound_probe_stop_it() {
        let (seen, s) = probes(0.0, &spec(1.0, 64.0));
        assert_eq!((seen, s.pass, s.fail), (vec![1.0], None, Some(1.0)));
        let (_, s) = probes(1_000.0, &spec(1.0, 64.0));
        assert_eq!((s.pass, s.fail), (Some(64.0), None));
        let mut s = Search::new(&spec(1.0, 64.0));
        s.record(1.0, Outcome::ClientBound);
        assert_eq!(s.next(), None);
    }

    #[test]
    fn rates_bisect_geometrically_to_five_percent() {
        let mut sp = spec(1.0, 1000.0);
        sp.mode = SearchMode::Rate;
        let mut s = Search::new(&sp);
        while let Some(r) = s.next() {
            s.record(
                r,
                if r <= 37.5 {
                    Outcome::Pass { near: false }
                } else {
                    Outcome::Fail
                },
            );
        }
        let (p, f) = (s.pass.expect("pass"), s.fail.expect("fail"));
        assert!(p <= 37.5 && f > 37.5 && f / p <= RATE_RESOLUTION, "{p} {f}");
    }
}
