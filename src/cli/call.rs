//! `mcc-bench call <server> <tool> [key=value …]` and `--list`.

use std::fmt::Write as _;
use std::io::Write;
use std::process::ExitCode;

use serde_json::Value;

use super::args::{CallArgs, Format};
use super::{exit, CliError};
use crate::mcp::client;

/// Calls the tool and prints its result; exit 1 on `isError`.
pub(crate) fn call(args: &CallArgs) -> Result<ExitCode, CliError> {
    let (_, entry) =
        client::find_server(args.config.as_deref(), &args.server).map_err(CliError::Input)?;
    let tool = match (&args.tool, args.list) {
        (_, true) => None,
        (Some(t), false) => Some(t.as_str()),
        (None, false) => {
            return Err(CliError::Input(
                "name a tool to call, or pass --list".into(),
            ))
        }
    };
    let tool_args =
        client::build_args(args.args.as_deref(), &args.pairs).map_err(CliError::Input)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::System(format!("cannot start the async runtime: {e}")))?;
    let outcome = rt
        .block_on(client::call(&entry, tool, tool_args))
        .map_err(CliError::System)?;
    let text = match args.format {
        Format::Json => serde_json::to_string_pretty(&outcome.value).unwrap_or_default(),
        Format::Table => table(&outcome.value),
    };
    if outcome.is_error {
        eprintln!("error: {}", outcome.value.as_str().unwrap_or(&text));
        return Ok(ExitCode::from(exit::ERROR));
    }
    let _ = writeln!(std::io::stdout().lock(), "{text}");
    Ok(ExitCode::SUCCESS)
}

/// Scalars as `key: value`; arrays of objects as aligned columns.
fn table(v: &Value) -> String {
    let mut out = String::new();
    match v {
        Value::Object(map) => {
            for (k, val) in map {
                match val {
                    Value::Array(items)
                        if items.iter().all(Value::is_object) && !items.is_empty() =>
                    {
                        let _ = writeln!(out, "{k}:\n{}", rows(items));
                    }
                    Value::Object(_) | Value::Array(_) => {
                        let _ = writeln!(out, "{k}: {val}");
                    }
                    Value::String(s) => {
                        let _ = writeln!(out, "{k}: {s}");
                    }
                    other => {
                        let _ = writeln!(out, "{k}: {other}");
                    }
                }
            }
        }
        Value::String(s) => out.push_str(s),
        other => out.push_str(&other.to_string()),
    }
    out.trim_end().to_owned()
}

fn rows(items: &[Value]) -> String {
    let mut cols: Vec<String> = Vec::new();
    for it in items.iter().filter_map(Value::as_object) {
        for (k, v) in it {
            if !v.is_object() && !v.is_array() && !cols.contains(k) {
                cols.push(k.clone());
            }
        }
    }
    let cell = |it: &Value, c: &str| match it.get(c) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(v) => v.to_string(),
    };
    let body: Vec<Vec<String>> = items
        .iter()
        .map(|it| cols.iter().map(|c| cell(it, c)).collect())
        .collect();
    super::text_table::render(&cols, &body, "  ")
        .trim_end()
        .to_owned()
}
