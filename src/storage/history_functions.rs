//! Aggregates the embedded engine lacks and Athena queries use:
//! `approx_percentile(x, fraction)` (Athena's name; here exact, by linear
//! interpolation between the two nearest values) and `median(x)`.
//! Each group's values are held until it ends, so the number of values a
//! group may hold is capped: a query cannot grow memory past its budget.

use rusqlite::functions::{Aggregate, Context, FunctionFlags};
use rusqlite::types::ValueRef;
use rusqlite::{Connection, Error, Result};

/// One group's values and the fraction asked for.
#[derive(Default)]
struct Values {
    values: Vec<f64>,
    fraction: f64,
}

/// A percentile aggregate: the fraction comes from the second argument, or
/// is fixed (`median`).
struct Percentile {
    name: &'static str,
    fixed: Option<f64>,
    max_values: usize,
}

/// Registers the aggregates on `db`; a group may hold `max_values` values.
pub(super) fn register(db: &Connection, max_values: usize) -> Result<()> {
    let flags = FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC;
    let percentile = |name, fixed| Percentile {
        name,
        fixed,
        max_values,
    };
    db.create_aggregate_function(
        "approx_percentile",
        2,
        flags,
        percentile("approx_percentile", None),
    )?;
    db.create_aggregate_function("median", 1, flags, percentile("median", Some(0.5)))
}

impl Aggregate<Values, Option<f64>> for Percentile {
    fn init(&self, _: &mut Context<'_>) -> Result<Values> {
        Ok(Values::default())
    }

    fn step(&self, ctx: &mut Context<'_>, acc: &mut Values) -> Result<()> {
        acc.fraction = match self.fixed {
            Some(f) => f,
            None => self.fraction(ctx.get_raw(1))?,
        };
        let Some(value) = self.number(ctx.get_raw(0))? else {
            return Ok(());
        };
        if acc.values.len() >= self.max_values {
            return Err(self.error(format!(
                "one group holds more than {} values; group more finely or filter",
                self.max_values
            )));
        }
        acc.values.push(value);
        Ok(())
    }

    fn finalize(&self, _: &mut Context<'_>, acc: Option<Values>) -> Result<Option<f64>> {
        Ok(acc.and_then(|mut a| percentile_of(&mut a.values, a.fraction)))
    }
}

impl Percentile {
    fn number(&self, v: ValueRef<'_>) -> Result<Option<f64>> {
        match v {
            ValueRef::Null => Ok(None),
            ValueRef::Integer(i) => Ok(Some(i as f64)),
            ValueRef::Real(f) if f.is_nan() => Ok(None),
            ValueRef::Real(f) => Ok(Some(f)),
            _ => Err(self.error("takes numbers; cast text columns first".into())),
        }
    }

    fn fraction(&self, v: ValueRef<'_>) -> Result<f64> {
        match self.number(v)? {
            Some(f) if (0.0..=1.0).contains(&f) => Ok(f),
            other => Err(self.error(format!(
                "takes a fraction between 0 and 1 as its second argument (0.99 for p99), not {}",
                other.map_or("null".into(), |f| f.to_string())
            ))),
        }
    }

    fn error(&self, what: String) -> Error {
        Error::UserFunctionError(format!("{}: {what}", self.name).into())
    }
}

/// The `fraction` percentile of `values`, interpolating linearly between
/// the two nearest ranks (`None` for no values).
fn percentile_of(values: &mut [f64], fraction: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let rank = fraction * (values.len() - 1) as f64;
    let (lo, hi) = (rank.floor() as usize, rank.ceil() as usize);
    let (a, b) = (values[lo], values[hi]);
    Some(a + (b - a) * (rank - lo as f64))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(db: &Connection, sql: &str) -> Result<Option<f64>> {
        db.query_row(sql, [], |r| r.get(0))
    }

    #[test]
    fn percentiles_interpolate_between_ranks() {
        let db = Connection::open_in_memory().expect("db");
        register(&db, 100).expect("register");
        let values = "(VALUES (1.0), (2.0), (3.0), (4.0), (NULL))";
        let p = |q: &str| one(&db, &format!("SELECT {q} FROM {values}")).expect(q);
        assert_eq!(p("median(column1)"), Some(2.5));
        assert_eq!(p("approx_percentile(column1, 0.0)"), Some(1.0));
        assert_eq!(p("approx_percentile(column1, 1)"), Some(4.0));
        assert_eq!(p("approx_percentile(column1, 0.9)"), Some(3.7));
        assert_eq!(one(&db, "SELECT median(1) WHERE 0").expect("empty"), None);
    }

    #[test]
    fn bad_arguments_and_oversized_groups_are_errors() {
        let db = Connection::open_in_memory().expect("db");
        register(&db, 3).expect("register");
        let e = one(&db, "SELECT approx_percentile(1, 99)").expect_err("fraction");
        assert!(e.to_string().contains("between 0 and 1"), "{e}");
        let e = one(&db, "SELECT median('a')").expect_err("text");
        assert!(e.to_string().contains("takes numbers"), "{e}");
        let e = one(
            &db,
            "SELECT median(column1) FROM (VALUES (1), (2), (3), (4))",
        )
        .expect_err("cap");
        assert!(e.to_string().contains("more than 3 values"), "{e}");
    }
}
