//! The workload catalog: the built-in profiles (embedded from
//! `catalog/workload-profiles.json`) with an optional user catalog merged
//! over them, field by field. A user catalog may be in our format
//! (`{"profiles": {name: {...}}}`) or ml-container-creator's
//! (`{"workloads": {name: {input_tokens_mean, ...}}}`). Names are matched
//! case-insensitively with `-` and `_` equivalent.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Map, Value};
use thiserror::Error;

use crate::domain::WorkloadProfile;

/// The built-in catalog, compiled into the binary.
pub const BUILTIN_JSON: &str = include_str!("../catalog/workload-profiles.json");

/// Catalog failures.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum CatalogError {
    /// No profile has that name.
    #[error("unknown workload {name:?}{}; available: {}", closest.as_ref().map(|c| format!(" (did you mean {c:?}?)")).unwrap_or_default(), available.join(", "))]
    UnknownWorkload {
        /// The name asked for.
        name: String,
        /// Every profile name.
        available: Vec<String>,
        /// The nearest name, when one is close.
        closest: Option<String>,
    },
}

/// An immutable set of profiles plus the warnings met while loading it.
#[derive(Debug, Clone)]
pub struct Catalog {
    profiles: BTreeMap<String, WorkloadProfile>,
    warnings: Vec<String>,
}

/// Canonical form of a profile name: lower case, `-` → `_`, trimmed.
pub fn normalize(name: &str) -> String {
    name.trim().to_ascii_lowercase().replace('-', "_")
}

impl Catalog {
    /// Only the built-in profiles.
    pub fn builtin() -> Self {
        let mut c = Self {
            profiles: BTreeMap::new(),
            warnings: Vec::new(),
        };
        match serde_json::from_str::<Value>(BUILTIN_JSON) {
            Ok(v) => c.merge_document(&v, "built-in catalog"),
            Err(e) => c.warnings.push(format!("built-in catalog is invalid: {e}")),
        }
        c
    }

    /// The built-in profiles with `user` merged over them. An unreadable or
    /// invalid user catalog is a warning; the built-in catalog still serves.
    pub fn load(user: Option<&Path>) -> Self {
        let mut c = Self::builtin();
        let Some(path) = user else { return c };
        let shown = path.display().to_string();
        match std::fs::read_to_string(path) {
            Err(e) => c.warnings.push(format!(
                "cannot read user catalog {shown}: {e}; using the built-in catalog"
            )),
            Ok(text) => match serde_json::from_str::<Value>(&text) {
                Err(e) => c.warnings.push(format!(
                    "user catalog {shown} is not valid JSON ({e}); using the built-in catalog"
                )),
                Ok(v) => c.merge_document(&v, &shown),
            },
        }
        c
    }

    /// Warnings from loading (unreadable files, skipped entries).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// Every profile, by name.
    pub fn profiles(&self) -> impl Iterator<Item = &WorkloadProfile> {
        self.profiles.values()
    }

    /// Every profile name.
    pub fn names(&self) -> Vec<String> {
        self.profiles.keys().cloned().collect()
    }

    /// The profile called `name` (any spelling), or an error naming the
    /// available profiles and the closest match.
    pub fn get(&self, name: &str) -> Result<&WorkloadProfile, CatalogError> {
        let key = normalize(name);
        self.profiles
            .get(&key)
            .ok_or_else(|| CatalogError::UnknownWorkload {
                name: name.to_owned(),
                available: self.names(),
                closest: closest(&key, self.profiles.keys()),
            })
    }

    fn merge_document(&mut self, doc: &Value, source: &str) {
        let entries = doc
            .get("profiles")
            .or_else(|| doc.get("workloads"))
            .and_then(Value::as_object);
        let Some(entries) = entries else {
            self.warnings.push(format!(
                "{source}: expected an object with \"profiles\" (mcc-bench) or \"workloads\" (ml-container-creator); nothing merged"
            ));
            return;
        };
        for (name, entry) in entries {
            match self.merge_entry(name, entry) {
                Ok(()) => {}
                Err(why) => self
                    .warnings
                    .push(format!("{source}: profile {name:?} skipped: {why}")),
            }
        }
    }

    fn merge_entry(&mut self, name: &str, entry: &Value) -> Result<(), String> {
        let key = normalize(name);
        let fields = entry.as_object().ok_or("entry is not a JSON object")?;
        let mut merged = match self.profiles.get(&key) {
            Some(p) => to_object(p),
            None => to_object(&WorkloadProfile {
                description: String::new(),
                use_case: String::new(),
                ..WorkloadProfile::seed_defaults()
            }),
        };
        for (k, v) in fields {
            if WorkloadProfile::FIELDS.contains(&k.as_str()) {
                merged.insert(k.clone(), v.clone());
            } else {
                self.warnings
                    .push(format!("profile {name:?}: unknown field {k:?} ignored"));
            }
        }
        align_concurrency(&mut merged, fields);
        merged.insert("name".into(), Value::String(key.clone()));
        let profile: WorkloadProfile =
            serde_json::from_value(Value::Object(merged)).map_err(|e| e.to_string())?;
        let problems = profile.problems();
        if !problems.is_empty() {
            return Err(problems.join("; "));
        }
        self.profiles.insert(key, profile);
        Ok(())
    }
}

/// An ml-container-creator entry gives levels but no default concurrency:
/// keep the inherited default if it is one of the new levels, else take the
/// first level (what `do/benchmark` does).
fn align_concurrency(merged: &mut Map<String, Value>, given: &Map<String, Value>) {
    if given.contains_key("concurrency") || !given.contains_key("concurrency_levels") {
        return;
    }
    let levels: Vec<u64> = merged
        .get("concurrency_levels")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_u64).collect())
        .unwrap_or_default();
    let current = merged.get("concurrency").and_then(Value::as_u64);
    if let (Some(&first), false) = (levels.first(), current.is_some_and(|c| levels.contains(&c))) {
        merged.insert("concurrency".into(), Value::from(first));
    }
}

fn to_object(p: &WorkloadProfile) -> Map<String, Value> {
    match serde_json::to_value(p) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    }
}

/// The name at the smallest edit distance, if it is reasonably close.
fn closest<'a>(key: &str, names: impl Iterator<Item = &'a String>) -> Option<String> {
    names
        .map(|n| {
            let d = if n.contains(key) && !key.is_empty() {
                0
            } else {
                strsim::levenshtein(key, n)
            };
            (d, n)
        })
        .min()
        .filter(|(d, n)| *d <= (n.len() / 2).max(3))
        .map(|(_, n)| n.clone())
}

#[cfg(test)]
mod tests;
