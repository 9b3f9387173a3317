//! `mcc-bench call`: a small MCP client. It reads `mcp.json` (the
//! `mcpServers` format of Claude Code, Cursor and Claude Desktop), starts a
//! stdio server or connects to an HTTP `url` entry, performs the full
//! initialize handshake, and lists tools or calls one.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rmcp::model::{CallToolRequestParams, JsonObject};
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::transport::{ConfigureCommandExt, StreamableHttpClientTransport, TokioChildProcess};
use rmcp::ServiceExt;
use serde::Deserialize;
use serde_json::Value;

/// One `mcpServers` entry.
#[derive(Debug, Clone, Deserialize)]
pub struct ServerEntry {
    /// Executable of a stdio server.
    pub command: Option<String>,
    /// Its arguments.
    #[serde(default)]
    pub args: Vec<String>,
    /// Extra environment for it.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// URL of a streamable HTTP server.
    pub url: Option<String>,
    /// HTTP headers (an `Authorization: Bearer …` header is used as the token).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Transport named by the entry (`stdio`, `http`, `sse`), when given.
    #[serde(default, rename = "type")]
    pub transport: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ConfigFile {
    #[serde(rename = "mcpServers")]
    mcp_servers: BTreeMap<String, ServerEntry>,
}

/// Where `mcp.json` is looked for, in order, unless a path is given.
pub fn config_candidates() -> Vec<PathBuf> {
    let mut c = vec![
        PathBuf::from("mcp.json"),
        PathBuf::from("config/mcp.json"),
        PathBuf::from(".mcp.json"),
    ];
    let env = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    if let Some(dir) = env("XDG_CONFIG_HOME").or_else(|| env("HOME").map(|h| h.join(".config"))) {
        c.push(dir.join("mcc-bench/mcp.json"));
    }
    c
}

/// The entry `name` from the first config found (or `explicit`), with the
/// path it came from.
pub fn find_server(explicit: Option<&Path>, name: &str) -> Result<(PathBuf, ServerEntry), String> {
    let candidates = explicit.map_or_else(config_candidates, |p| vec![p.to_path_buf()]);
    let path = candidates.iter().find(|p| p.is_file()).ok_or_else(|| {
        let tried: Vec<String> = candidates.iter().map(|p| p.display().to_string()).collect();
        format!(
            "no mcp.json found (tried {}); pass --config PATH",
            tried.join(", ")
        )
    })?;
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let file: ConfigFile = serde_json::from_str(&text)
        .map_err(|e| format!("{} is not an mcpServers config ({e})", path.display()))?;
    let names: Vec<String> = file.mcp_servers.keys().cloned().collect();
    let mut entry = file.mcp_servers.get(name).cloned().ok_or_else(|| {
        format!(
            "{} has no server {name:?}; it has: {}",
            path.display(),
            names.join(", ")
        )
    })?;
    if let (Some(cmd), Some(dir)) = (&entry.command, path.parent()) {
        if cmd.contains('/') && !Path::new(cmd).is_absolute() {
            entry.command = Some(dir.join(cmd).display().to_string());
        }
    }
    Ok((path.clone(), entry))
}

/// What a call produced.
#[derive(Debug)]
pub struct CallOutcome {
    /// The structured result, or the text content as a JSON string.
    pub value: Value,
    /// The tool reported `isError`.
    pub is_error: bool,
}

/// Lists the tools of `entry` (name → description) or calls `tool`.
pub async fn call(
    entry: &ServerEntry,
    tool: Option<&str>,
    args: JsonObject,
) -> Result<CallOutcome, String> {
    let client = connect(entry).await?;
    let outcome = match tool {
        None => {
            let tools = client
                .list_all_tools()
                .await
                .map_err(|e| format!("tools/list failed: {e}"))?;
            let list: Vec<Value> = tools
                .iter()
                .map(|t| serde_json::json!({"name": t.name, "description": t.description}))
                .collect();
            CallOutcome {
                value: serde_json::json!({ "tools": list }),
                is_error: false,
            }
        }
        Some(name) => {
            let r = client
                .call_tool(CallToolRequestParams::new(name.to_owned()).with_arguments(args))
                .await
                .map_err(|e| format!("tools/call {name} failed: {e}"))?;
            let text: Vec<String> = r
                .content
                .iter()
                .filter_map(|c| c.as_text().map(|t| t.text.clone()))
                .collect();
            let value = r
                .structured_content
                .clone()
                .unwrap_or_else(|| Value::String(text.join("\n")));
            CallOutcome {
                value,
                is_error: r.is_error == Some(true),
            }
        }
    };
    let _ = client.cancel().await;
    Ok(outcome)
}

async fn connect(
    entry: &ServerEntry,
) -> Result<rmcp::service::RunningService<rmcp::RoleClient, ()>, String> {
    if let Some(url) = &entry.url {
        if entry.transport.as_deref() == Some("sse") || url.trim_end_matches('/').ends_with("/sse")
        {
            return Err(format!(
                "{url} is a legacy HTTP+SSE entry; `mcc-bench call` speaks streamable HTTP: use the server's /mcp URL instead"
            ));
        }
        let mut config = StreamableHttpClientTransportConfig::with_uri(url.as_str());
        let bearer = entry
            .headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("authorization"))
            .and_then(|(_, v)| v.strip_prefix("Bearer "))
            .map(str::to_owned)
            .or_else(|| {
                std::env::var("MCC_BENCH_AUTH_TOKEN")
                    .ok()
                    .filter(|t| !t.is_empty())
            });
        if let Some(token) = bearer {
            config = config.auth_header(token);
        }
        return ().serve(StreamableHttpClientTransport::from_config(config))
            .await
            .map_err(|e| format!("cannot initialize with {url}: {e}"));
    }
    let command = entry
        .command
        .as_deref()
        .ok_or("the server entry has neither \"command\" nor \"url\"")?;
    let transport =
        TokioChildProcess::new(tokio::process::Command::new(command).configure(|cmd| {
            cmd.args(&entry.args).envs(&entry.env);
        }))
        .map_err(|e| format!("cannot start {command}: {e}"))?;
    ().serve(transport)
        .await
        .map_err(|e| format!("cannot initialize with {command}: {e}"))
}

/// Builds tool arguments from `--args JSON` and `key=value` pairs; dotted
/// keys nest (`endpoint.url=sim`); values parse as JSON when they can.
pub fn build_args(json: Option<&str>, pairs: &[String]) -> Result<JsonObject, String> {
    let mut obj = match json {
        None => JsonObject::new(),
        Some(t) => match serde_json::from_str::<Value>(t) {
            Ok(Value::Object(m)) => m,
            Ok(_) => return Err("--args must be a JSON object".into()),
            Err(e) => return Err(format!("--args is not valid JSON: {e}")),
        },
    };
    for pair in pairs {
        let (key, raw) = pair
            .split_once('=')
            .ok_or_else(|| format!("argument {pair:?} must be key=value"))?;
        let value = serde_json::from_str(raw).unwrap_or_else(|_| Value::String(raw.to_owned()));
        insert_path(&mut obj, key, value)?;
    }
    Ok(obj)
}

fn insert_path(obj: &mut JsonObject, key: &str, value: Value) -> Result<(), String> {
    let mut parts = key.split('.').peekable();
    let mut cur = obj;
    while let Some(part) = parts.next() {
        if part.is_empty() {
            return Err(format!("argument key {key:?} has an empty segment"));
        }
        if parts.peek().is_none() {
            cur.insert(part.to_owned(), value);
            return Ok(());
        }
        let slot = cur
            .entry(part.to_owned())
            .or_insert_with(|| Value::Object(JsonObject::new()));
        cur = slot
            .as_object_mut()
            .ok_or_else(|| format!("argument {key:?}: {part:?} is already a value"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_value_arguments_nest_and_parse() {
        let a = build_args(
            Some(r#"{"label":"x"}"#),
            &[
                "endpoint.url=sim".into(),
                "overrides.request_count=5".into(),
                "force=true".into(),
            ],
        )
        .expect("args");
        assert_eq!(
            Value::Object(a),
            serde_json::json!({"label":"x","endpoint":{"url":"sim"},"overrides":{"request_count":5},"force":true})
        );
        assert!(build_args(None, &["novalue".into()]).is_err());
        assert!(build_args(Some("[1]"), &[]).is_err());
        assert!(build_args(None, &["a=1".into(), "a.b=2".into()]).is_err());
    }
}
