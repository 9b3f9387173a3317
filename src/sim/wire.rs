//! Response bytes in the OpenAI wire format, written directly (the values
//! never need JSON escaping: words come from the built-in vocabulary).

use bytes::Bytes;

use crate::domain::ApiKind;
use crate::text::WORDS;

/// Identity of one response, repeated in each chunk.
#[derive(Debug, Clone)]
pub(crate) struct Wire {
    pub(crate) api: ApiKind,
    pub(crate) id: u64,
    pub(crate) created: u64,
    pub(crate) model: String,
    pub(crate) prompt_tokens: u32,
    pub(crate) include_usage: bool,
    /// Answer with a call of this tool (the request offered tools and its
    /// last message is the user's) instead of text.
    pub(crate) tool: Option<String>,
}

/// Name and id of the call a tool reply makes.
fn call_head(tool: &str, id: u64) -> String {
    format!(
        r#""id":"call_sim_{id}","type":"function","function":{{"name":{}"#,
        serde_json::Value::from(tool)
    )
}

impl Wire {
    fn head(&self) -> String {
        let (prefix, object) = match self.api {
            ApiKind::Chat => ("chatcmpl", "chat.completion.chunk"),
            ApiKind::Completions => ("cmpl", "text_completion"),
        };
        format!(
            r#"{{"id":"{prefix}-sim-{}","object":"{object}","created":{},"model":{}"#,
            self.id,
            self.created,
            serde_json::Value::from(self.model.as_str())
        )
    }

    pub(crate) fn has_role_chunk(&self) -> bool {
        self.api == ApiKind::Chat
    }

    /// The role-only first chunk of a chat stream (not a content response).
    pub(crate) fn role_chunk(&self) -> Bytes {
        Bytes::from(format!(
            "data: {},\"choices\":[{{\"index\":0,\"delta\":{{\"role\":\"assistant\",\"content\":\"\"}},\"finish_reason\":null}}]}}\n\n",
            self.head()
        ))
    }

    /// One content chunk carrying one vocabulary word (one token); for a
    /// tool reply, an argument fragment (the first also names the call).
    pub(crate) fn token_chunk(&self, word: usize, first: bool) -> Bytes {
        let w = WORDS[word % WORDS.len()];
        let body = match (self.api, &self.tool) {
            (ApiKind::Chat, Some(tool)) => {
                let call = if first {
                    format!("{},\"arguments\":\" {w}\"}}", call_head(tool, self.id))
                } else {
                    format!("\"function\":{{\"arguments\":\" {w}\"}}")
                };
                format!("\"choices\":[{{\"index\":0,\"delta\":{{\"tool_calls\":[{{\"index\":0,{call}}}]}},\"finish_reason\":null}}]")
            }
            (ApiKind::Chat, None) => format!("\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\" {w}\"}},\"finish_reason\":null}}]"),
            (ApiKind::Completions, _) => format!("\"choices\":[{{\"index\":0,\"text\":\" {w}\",\"finish_reason\":null}}]"),
        };
        Bytes::from(format!("data: {},{body}}}\n\n", self.head()))
    }

    /// Finish chunk, optional usage chunk and `[DONE]`.
    pub(crate) fn tail(&self, completion_tokens: u32) -> Bytes {
        let finish = match self.api {
            ApiKind::Chat if self.tool.is_some() => {
                "\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]"
            }
            ApiKind::Chat => {
                "\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"length\"}]"
            }
            ApiKind::Completions => {
                "\"choices\":[{\"index\":0,\"text\":\"\",\"finish_reason\":\"length\"}]"
            }
        };
        let mut s = format!("data: {},{finish}}}\n\n", self.head());
        if self.include_usage {
            s.push_str(&format!(
                "data: {},\"choices\":[],\"usage\":{}}}\n\n",
                self.head(),
                self.usage(completion_tokens)
            ));
        }
        s.push_str("data: [DONE]\n\n");
        Bytes::from(s)
    }

    /// Usage of a reply of `completion_tokens` words (a tool reply's name
    /// counts too, as a client counting the call's text sees it).
    fn usage(&self, completion_tokens: u32) -> String {
        let name = self.tool.as_deref().map_or(0, crate::text::builtin_count);
        let completion_tokens = completion_tokens + name;
        format!(
            r#"{{"prompt_tokens":{},"completion_tokens":{completion_tokens},"total_tokens":{}}}"#,
            self.prompt_tokens,
            self.prompt_tokens + completion_tokens
        )
    }

    /// A whole non-streaming response.
    pub(crate) fn whole(&self, words: &[usize]) -> Bytes {
        let text: String = words
            .iter()
            .map(|&w| format!(" {}", WORDS[w % WORDS.len()]))
            .collect();
        let (object, choice) = match self.api {
            ApiKind::Chat if self.tool.is_some() => (
                "chat.completion",
                format!(
                    r#"{{"index":0,"message":{{"role":"assistant","content":null,"tool_calls":[{{{},"arguments":"{text}"}}}}]}},"finish_reason":"tool_calls"}}"#,
                    call_head(self.tool.as_deref().unwrap_or_default(), self.id)
                ),
            ),
            ApiKind::Chat => (
                "chat.completion",
                format!(
                    r#"{{"index":0,"message":{{"role":"assistant","content":"{text}"}},"finish_reason":"length"}}"#
                ),
            ),
            ApiKind::Completions => (
                "text_completion",
                format!(r#"{{"index":0,"text":"{text}","finish_reason":"length"}}"#),
            ),
        };
        Bytes::from(format!(
            r#"{{"id":"sim-{}","object":"{object}","created":{},"model":{},"choices":[{choice}],"usage":{}}}"#,
            self.id,
            self.created,
            serde_json::Value::from(self.model.as_str()),
            self.usage(words.len() as u32)
        ))
    }

    /// An error event inside a 200 stream.
    pub(crate) fn error_event() -> Bytes {
        Bytes::from_static(
            b"event: error\ndata: {\"error\":{\"message\":\"simulated engine failure\",\"type\":\"InternalServerError\",\"code\":500}}\n\n",
        )
    }

    /// A chunk that is not valid JSON.
    pub(crate) fn malformed_chunk() -> Bytes {
        Bytes::from_static(b"data: {\"choices\":[{\"delta\":{\"content\": garbage\n\n")
    }
}
