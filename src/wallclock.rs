//! Converts monotonic instants into wall-clock time for exports. One anchor
//! (an `Instant` and the `SystemTime` read next to it) is taken per run, so
//! every exported timestamp keeps the monotonic clock's spacing.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use chrono::{DateTime, SecondsFormat, Utc};

/// A pairing of the monotonic and the wall clock.
#[derive(Debug, Clone, Copy)]
pub struct Anchor {
    instant: Instant,
    epoch_ns: i128,
}

impl Anchor {
    /// Reads both clocks now.
    pub fn now() -> Self {
        let instant = Instant::now();
        let epoch_ns = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as i128);
        Self { instant, epoch_ns }
    }

    /// Nanoseconds since the Unix epoch of `t`.
    pub fn epoch_ns(&self, t: Instant) -> i128 {
        if t >= self.instant {
            self.epoch_ns + (t - self.instant).as_nanos() as i128
        } else {
            self.epoch_ns - (self.instant - t).as_nanos() as i128
        }
    }

    /// RFC 3339 (UTC, microseconds) of `t`.
    pub fn rfc3339(&self, t: Instant) -> String {
        let ns = self.epoch_ns(t);
        let secs = ns.div_euclid(1_000_000_000) as i64;
        let nanos = ns.rem_euclid(1_000_000_000) as u32;
        DateTime::<Utc>::from_timestamp(secs, nanos).map_or_else(String::new, |d| {
            d.to_rfc3339_opts(SecondsFormat::Micros, true)
        })
    }
}

/// A compact UTC timestamp for ids and names: `20261128T041500Z`.
pub fn compact_utc_now() -> String {
    Utc::now().format("%Y%m%dT%H%M%SZ").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn instants_map_to_wall_clock_with_their_spacing() {
        let a = Anchor::now();
        let later = a.instant + Duration::from_millis(1500);
        assert_eq!(a.epoch_ns(later) - a.epoch_ns(a.instant), 1_500_000_000);
        let s = a.rfc3339(later);
        assert!(s.ends_with('Z') && s.len() == 27, "{s}");
        assert_eq!(compact_utc_now().len(), 16);
    }
}
