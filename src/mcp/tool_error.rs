//! The one error a tool returns: what could not be done, why, and what the
//! caller can do about it. It becomes a tool result with `isError: true`
//! (an agent can act on it); protocol faults stay JSON-RPC errors.

use rmcp::model::{ContentBlock, IntoContents};

use crate::jobs::JobError;
use crate::storage::{QueryError, StorageError};

/// A `ToolError` from a format string: `tool_err!("run {id} is gone")`.
macro_rules! tool_err {
    ($($arg:tt)*) => {
        $crate::mcp::tool_error::ToolError::new(format!($($arg)*))
    };
}
pub(crate) use tool_err;

/// A tool's failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ToolError {
    /// What could not be done (the tool, once known).
    what: Option<&'static str>,
    /// Why: the cause, naming the values involved.
    why: String,
    /// What the caller can do about it, when the cause does not say.
    fix: Option<String>,
}

impl ToolError {
    /// A failure for `why`.
    pub(crate) fn new(why: impl Into<String>) -> Self {
        Self {
            what: None,
            why: why.into(),
            fix: None,
        }
    }

    /// The same failure with what to do about it.
    pub(crate) fn fix(mut self, fix: impl Into<String>) -> Self {
        self.fix = Some(fix.into());
        self
    }

    /// The same failure, as the failure of `tool`.
    pub(crate) fn during(mut self, tool: &'static str) -> Self {
        self.what.get_or_insert(tool);
        self
    }
}

impl std::fmt::Display for ToolError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(what) = self.what {
            write!(f, "{what} failed: ")?;
        }
        f.write_str(&self.why)?;
        if let Some(fix) = &self.fix {
            write!(f, ". What to do: {fix}")?;
        }
        Ok(())
    }
}

impl IntoContents for ToolError {
    fn into_contents(self) -> Vec<ContentBlock> {
        vec![ContentBlock::text(self.to_string())]
    }
}

impl From<String> for ToolError {
    fn from(why: String) -> Self {
        Self::new(why)
    }
}

impl From<&str> for ToolError {
    fn from(why: &str) -> Self {
        Self::new(why)
    }
}

impl From<JobError> for ToolError {
    fn from(e: JobError) -> Self {
        let fix = match &e {
            JobError::UnknownRun(_) => None,
            JobError::Storage(_) => Some("check the server's home directory (--home)"),
            JobError::Spawn(_) => Some("check that the server's binary can still be run"),
            JobError::Input(_) | JobError::Cloud(_) => None,
        };
        let err = Self::new(e.to_string());
        match fix {
            Some(f) => err.fix(f),
            None => err,
        }
    }
}

impl From<crate::project::ProjectError> for ToolError {
    fn from(e: crate::project::ProjectError) -> Self {
        Self::new(e.to_string())
    }
}

impl From<StorageError> for ToolError {
    fn from(e: StorageError) -> Self {
        Self::new(e.to_string())
    }
}

impl From<QueryError> for ToolError {
    fn from(e: QueryError) -> Self {
        Self::new(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn says_what_why_and_what_to_do() {
        let e = ToolError::new("run x is still running")
            .fix("wait for it")
            .during("fetch_results");
        assert_eq!(
            e.to_string(),
            "fetch_results failed: run x is still running. What to do: wait for it"
        );
        let plain: ToolError = JobError::UnknownRun("x".into()).into();
        assert!(plain.to_string().contains("list_benchmarks"));
    }
}
