//! The form of the output schemas clients read: a nullable property is two
//! `anyOf` branches of one `type` each rather than a `type` array, which
//! clients that map schemas onto a single type per property read as well.

use serde_json::{json, Map, Value};

/// Rewrites each `"type": [T, "null"]` property of `schema` as
/// `"anyOf": [{"type": T, …}, {"type": "null"}]` (for `#[schemars(transform)]`).
pub fn nullable_any_of(schema: &mut schemars::Schema) {
    let Some(props) = schema.get_mut("properties").and_then(Value::as_object_mut) else {
        return;
    };
    for prop in props.values_mut() {
        if let Some(obj) = prop.as_object_mut() {
            split_null(obj);
        }
    }
}

fn split_null(obj: &mut Map<String, Value>) {
    let Some(Value::Array(types)) = obj.get("type") else {
        return;
    };
    let rest: Vec<Value> = types.iter().filter(|t| *t != "null").cloned().collect();
    let [single] = rest.as_slice() else {
        return;
    };
    if rest.len() == types.len() {
        return;
    }
    let mut branch = obj.clone();
    branch.insert("type".into(), single.clone());
    // The description stays on the property, not on a branch.
    let description = branch.remove("description");
    obj.clear();
    if let Some(d) = description {
        obj.insert("description".into(), d);
    }
    obj.insert(
        "anyOf".into(),
        json!([Value::Object(branch), {"type": "null"}]),
    );
}

/// A JSON object of any members (for a `serde_json::Value` field that holds
/// a document).
pub fn any_object(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({"type": "object", "additionalProperties": true})
}

/// A JSON object of any members, or null.
pub fn any_object_or_null(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({"anyOf": [
        {"type": "object", "additionalProperties": true},
        {"type": "null"}
    ]})
}

/// A JSON array of objects of any members.
pub fn object_array(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({"type": "array", "items": {"type": "object", "additionalProperties": true}})
}

/// A JSON array of objects of any members, or null.
pub fn object_array_or_null(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({"anyOf": [
        {"type": "array", "items": {"type": "object", "additionalProperties": true}},
        {"type": "null"}
    ]})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nullable_types_become_any_of_branches() {
        let mut s = schemars::Schema::try_from(json!({"type": "object", "properties": {
            "a": {"type": ["string", "null"], "description": "A.", "format": "x"},
            "b": {"type": "integer"},
            "c": {"type": ["string", "integer"]},
        }}))
        .expect("schema");
        nullable_any_of(&mut s);
        let p = &s.as_value()["properties"];
        assert_eq!(
            p["a"],
            json!({"description": "A.", "anyOf": [{"type": "string", "format": "x"}, {"type": "null"}]})
        );
        assert_eq!(p["b"], json!({"type": "integer"}));
        assert_eq!(p["c"], json!({"type": ["string", "integer"]}));
    }
}
