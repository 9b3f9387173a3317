//! Reads ml-container-creator's shell configuration files (`do/config`,
//! `do/ic/*.conf`, `do/adapters/*.conf`) as bash would assign them:
//! `KEY=value`, optional `export`, single and double quotes, backslash
//! escapes, `#` comments, and `$VAR` / `${VAR}` / `${VAR:-default}` expanded
//! from earlier assignments, or from the environment for the few variables
//! of `ENV_ALLOWED` only: a value read from a project can be shown to an MCP
//! client, so the server's environment (credentials) never leaks through
//! one. Lines that are not assignments (conditionals, function calls) are
//! skipped, never guessed at.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Environment variables a project file may expand (none is a secret).
pub(super) const ENV_ALLOWED: [&str; 4] = ["HOME", "USER", "AWS_REGION", "AWS_DEFAULT_REGION"];

/// `name` from the environment, if it is one a project may expand.
fn allowed_env(name: &str) -> Option<String> {
    ENV_ALLOWED
        .contains(&name)
        .then(|| std::env::var(name).ok())
        .flatten()
}

/// The assignments of one file.
#[derive(Debug, Clone, Default)]
pub struct ShellVars {
    /// Where they were read from (named in error messages).
    pub path: PathBuf,
    vars: BTreeMap<String, String>,
}

/// Why a file could not be read.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ShellError {
    /// The file could not be opened.
    #[error("cannot read {path}: {reason}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The OS error.
        reason: String,
    },
    /// A quote was opened and never closed.
    #[error("{path}:{line}: unterminated {quote} quote in the value of {key}; close the quote")]
    Unterminated {
        /// The file.
        path: PathBuf,
        /// 1-based line of the assignment.
        line: usize,
        /// The variable.
        key: String,
        /// `single` or `double`.
        quote: &'static str,
    },
}

impl ShellVars {
    /// Reads and parses `path`.
    pub fn load(path: &Path) -> Result<Self, ShellError> {
        let text = std::fs::read_to_string(path).map_err(|e| ShellError::Read {
            path: path.to_owned(),
            reason: e.to_string(),
        })?;
        Self::parse(path, &text)
    }

    /// Parses `text` (read from `path`).
    pub fn parse(path: &Path, text: &str) -> Result<Self, ShellError> {
        let mut out = Self {
            path: path.to_owned(),
            vars: BTreeMap::new(),
        };
        let chars: Vec<char> = text.chars().collect();
        let mut p = Parser {
            s: &chars,
            i: 0,
            line: 1,
        };
        while p.i < chars.len() {
            p.skip_blanks();
            match p.assignment_key() {
                Some(key) => {
                    let line = p.line;
                    let value = p
                        .value(&out, &key)
                        .map_err(|quote| ShellError::Unterminated {
                            path: path.to_owned(),
                            line,
                            key: key.clone(),
                            quote,
                        })?;
                    out.vars.insert(key, value);
                }
                None => p.skip_line(),
            }
        }
        Ok(out)
    }

    /// A variable's value, `None` when unset or empty.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.vars
            .get(key)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// Every set, non-empty variable whose name starts with `prefix`.
    pub fn with_prefix<'a>(&'a self, prefix: &'a str) -> impl Iterator<Item = (&'a str, &'a str)> {
        self.vars
            .iter()
            .filter(move |(k, v)| k.starts_with(prefix) && !v.is_empty())
            .map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Expansion source: this file's earlier assignments, then the environment.
    fn lookup(&self, key: &str) -> String {
        self.vars
            .get(key)
            .cloned()
            .or_else(|| allowed_env(key))
            .unwrap_or_default()
    }
}

struct Parser<'a> {
    s: &'a [char],
    i: usize,
    line: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<char> {
        self.s.get(self.i).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.i += 1;
        if c == '\n' {
            self.line += 1;
        }
        Some(c)
    }

    fn skip_blanks(&mut self) {
        while matches!(self.peek(), Some(' ' | '\t' | '\r')) {
            self.bump();
        }
    }

    fn skip_line(&mut self) {
        while let Some(c) = self.bump() {
            if c == '\n' {
                break;
            }
        }
    }

    fn rest_starts_with(&self, word: &str) -> bool {
        word.chars()
            .enumerate()
            .all(|(k, c)| self.s.get(self.i + k) == Some(&c))
    }

    /// `[export ]NAME=` at the cursor: consumes it and returns NAME.
    fn assignment_key(&mut self) -> Option<String> {
        let start = self.i;
        if self.rest_starts_with("export ") || self.rest_starts_with("export\t") {
            self.i += 7;
            self.skip_blanks();
        }
        let name_start = self.i;
        while matches!(self.peek(), Some(c) if c == '_' || c.is_ascii_alphanumeric()) {
            self.i += 1;
        }
        let name: String = self.s[name_start..self.i].iter().collect();
        let valid = name
            .chars()
            .next()
            .is_some_and(|c| c == '_' || c.is_ascii_alphabetic());
        if valid && self.peek() == Some('=') {
            self.i += 1;
            Some(name)
        } else {
            self.i = start;
            None
        }
    }

    /// The value up to an unquoted blank, `#` comment or newline.
    fn value(&mut self, vars: &ShellVars, key: &str) -> Result<String, &'static str> {
        let mut out = String::new();
        while let Some(c) = self.peek() {
            match c {
                '\n' | ' ' | '\t' | '\r' => break,
                '\'' => {
                    self.bump();
                    self.single_quoted(&mut out)?;
                }
                '"' => {
                    self.bump();
                    self.double_quoted(vars, &mut out)?;
                }
                '\\' => {
                    self.bump();
                    match self.bump() {
                        Some('\n') | None => {}
                        Some(e) => out.push(e),
                    }
                }
                '$' => {
                    self.bump();
                    out.push_str(&self.expansion(vars, key));
                }
                _ => {
                    self.bump();
                    out.push(c);
                }
            }
        }
        self.skip_line();
        Ok(out)
    }

    fn single_quoted(&mut self, out: &mut String) -> Result<(), &'static str> {
        loop {
            match self.bump() {
                Some('\'') => return Ok(()),
                Some(c) => out.push(c),
                None => return Err("single"),
            }
        }
    }

    fn double_quoted(&mut self, vars: &ShellVars, out: &mut String) -> Result<(), &'static str> {
        loop {
            match self.bump() {
                Some('"') => return Ok(()),
                Some('\\') => match self.bump() {
                    Some(e @ ('"' | '\\' | '$' | '`')) => out.push(e),
                    Some('\n') => {}
                    Some(e) => {
                        out.push('\\');
                        out.push(e);
                    }
                    None => return Err("double"),
                },
                Some('$') => out.push_str(&self.expansion(vars, "")),
                Some(c) => out.push(c),
                None => return Err("double"),
            }
        }
    }

    /// After a `$`: `NAME`, `{NAME}` or `{NAME:-default}`; a lone `$` stays.
    fn expansion(&mut self, vars: &ShellVars, _key: &str) -> String {
        if self.peek() == Some('{') {
            let start = self.i;
            self.bump();
            let mut body = String::new();
            while let Some(c) = self.bump() {
                if c == '}' {
                    return expand_braced(vars, &body);
                }
                body.push(c);
            }
            self.i = start;
            return "$".to_owned();
        }
        let start = self.i;
        while matches!(self.peek(), Some(c) if c == '_' || c.is_ascii_alphanumeric()) {
            self.i += 1;
        }
        if self.i == start {
            return "$".to_owned();
        }
        let name: String = self.s[start..self.i].iter().collect();
        vars.lookup(&name)
    }
}

/// `NAME`, `NAME:-default` or `NAME-default`.
fn expand_braced(vars: &ShellVars, body: &str) -> String {
    if let Some((name, default)) = body.split_once(":-") {
        let v = vars.lookup(name);
        return if v.is_empty() { default.to_owned() } else { v };
    }
    if let Some((name, default)) = body.split_once('-') {
        return vars
            .vars
            .get(name)
            .cloned()
            .or_else(|| allowed_env(name))
            .unwrap_or_else(|| default.to_owned());
    }
    vars.lookup(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> ShellVars {
        ShellVars::parse(Path::new("do/config"), text).expect("parses")
    }

    #[test]
    fn only_allowed_environment_variables_expand() {
        // PATH is always set, and is not one a project may read.
        let v = parse("A=${PATH}\nB=$PATH\nC=${PATH:-none}\nD=${HOME:-x}\n");
        assert_eq!(v.get("A").unwrap_or_default(), "");
        assert_eq!(v.get("B").unwrap_or_default(), "");
        assert_eq!(v.get("C"), Some("none"));
        assert_ne!(v.get("D"), Some(""), "HOME is on the allow-list");
    }

    #[test]
    fn assignments_as_bash_reads_them() {
        let v = parse(
            "#!/bin/bash\n# comment\nexport PROJECT_NAME=\"qwen-test\"\nENDPOINT_NAME='${PROJECT_NAME}-ep'\n\
             MODEL_NAME=s3://bucket/models/x # staged\n  export  HF_MODEL_ID=\"Qwen/Qwen3-0.6B\"\n\
             IC=\"${PROJECT_NAME}-ic\"\nREGION=${AWS_NOPE_REGION:-us-west-2}\nEMPTY=\nQ=\"a \\\"b\\\" \\$c\"\n\
             if [ -n \"$X\" ]; then\n  echo hi\nfi\nMULTI=\"line1\nline2\"\nMIXED=a'b c'\"d\"\n",
        );
        assert_eq!(v.get("PROJECT_NAME"), Some("qwen-test"));
        assert_eq!(v.get("ENDPOINT_NAME"), Some("${PROJECT_NAME}-ep"));
        assert_eq!(v.get("MODEL_NAME"), Some("s3://bucket/models/x"));
        assert_eq!(v.get("HF_MODEL_ID"), Some("Qwen/Qwen3-0.6B"));
        assert_eq!(v.get("IC"), Some("qwen-test-ic"));
        assert_eq!(v.get("REGION"), Some("us-west-2"));
        assert_eq!(v.get("EMPTY"), None);
        assert_eq!(v.get("Q"), Some("a \"b\" $c"));
        assert_eq!(v.get("MULTI"), Some("line1\nline2"));
        assert_eq!(v.get("MIXED"), Some("ab cd"));
        assert_eq!(v.get("echo"), None);
    }

    #[test]
    fn an_unterminated_quote_names_file_line_and_key() {
        let err = ShellVars::parse(Path::new("do/config"), "A=1\nB=\"open\nC=2\n")
            .expect_err("unterminated");
        assert_eq!(
            err.to_string(),
            "do/config:2: unterminated double quote in the value of B; close the quote"
        );
    }
}
