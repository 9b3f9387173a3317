//! What an agent workload sends besides its prompts: a small, realistic set
//! of OpenAI function tools (the kind a coding or support agent declares),
//! and a JSON-schema response format for structured output. Both are fixed,
//! so runs compare across servers and releases.

use serde_json::{json, Value};

/// The tools sent with every request of a tool-calling workload.
pub(crate) fn tool_set() -> Value {
    json!([
        function(
            "search_documents",
            "Search the knowledge base and return the most relevant passages.",
            json!({
                "query": {"type": "string", "description": "What to search for."},
                "top_k": {"type": "integer", "minimum": 1, "maximum": 20, "description": "How many passages to return."}
            }),
            &["query"],
        ),
        function(
            "get_weather",
            "Get the current weather for a city.",
            json!({
                "city": {"type": "string", "description": "City name, e.g. Paris."},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}
            }),
            &["city"],
        ),
        function(
            "run_sql",
            "Run a read-only SQL query against the analytics database.",
            json!({
                "query": {"type": "string", "description": "A single SELECT statement."}
            }),
            &["query"],
        ),
        function(
            "create_ticket",
            "Open a support ticket.",
            json!({
                "title": {"type": "string"},
                "priority": {"type": "string", "enum": ["low", "normal", "high"]},
                "body": {"type": "string"}
            }),
            &["title", "body"],
        ),
    ])
}

fn function(name: &str, description: &str, properties: Value, required: &[&str]) -> Value {
    json!({
        "type": "function",
        "function": {
            "name": name,
            "description": description,
            "parameters": {
                "type": "object",
                "properties": properties,
                "required": required,
            }
        }
    })
}

/// The structured-output request: an answer object with a fixed schema
/// (OpenAI's `json_schema` form, which vLLM and SGLang accept too).
pub(crate) fn response_format() -> Value {
    json!({
        "type": "json_schema",
        "json_schema": {
            "name": "agent_answer",
            "schema": {
                "type": "object",
                "properties": {
                    "answer": {"type": "string"},
                    "confidence": {"type": "number"},
                    "sources": {"type": "array", "items": {"type": "string"}}
                },
                "required": ["answer"]
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tools_are_well_formed_openai_functions() {
        let tools = tool_set();
        let tools = tools.as_array().expect("array");
        assert_eq!(tools.len(), 4);
        for t in tools {
            assert_eq!(t["type"], "function");
            let f = &t["function"];
            assert!(f["name"].as_str().is_some_and(|n| !n.is_empty()));
            assert_eq!(f["parameters"]["type"], "object");
            for r in f["parameters"]["required"].as_array().expect("required") {
                let r = r.as_str().expect("name");
                assert!(f["parameters"]["properties"].get(r).is_some(), "{r}");
            }
        }
        assert_eq!(response_format()["type"], "json_schema");
    }
}
