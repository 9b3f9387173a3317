//! ml-container-creator projects, read as they are: `do/config`,
//! `do/ic/<name>.conf`, `do/adapters/<name>.conf`, and the bootstrap
//! profile `~/.ml-container-creator/config.json`. Resolves what a SageMaker
//! benchmark targets and where its outputs go. Every missing value is an
//! error naming the key and the file it was expected in.

mod bootstrap;
mod config_edit;
mod context;
mod shell;

use std::path::{Path, PathBuf};

pub use bootstrap::Bootstrap;
pub use config_edit::{remove_config_var, set_config_var};
pub use context::result_context;
pub use shell::{ShellError, ShellVars};

use crate::domain::{SageMakerPlan, SageMakerTarget};

/// Why a project could not be used.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ProjectError {
    /// No `do/config` where a project was expected.
    #[error("{dir} is not an ml-container-creator project (no do/config); pass project_dir pointing at one")]
    NotAProject {
        /// The directory.
        dir: PathBuf,
    },
    /// A file could not be parsed.
    #[error(transparent)]
    Shell(#[from] ShellError),
    /// A required key is missing or empty.
    #[error("{key} is not set in {file}; {hint}")]
    MissingKey {
        /// The variable or JSON key.
        key: String,
        /// Where it was expected.
        file: PathBuf,
        /// How to fix it.
        hint: String,
    },
    /// A named IC or adapter has no file.
    #[error("no {kind} named {name:?}: {file} does not exist (known: {known})")]
    UnknownName {
        /// `inference component` or `adapter`.
        kind: &'static str,
        /// The name given.
        name: String,
        /// The file looked for.
        file: PathBuf,
        /// Names that do exist.
        known: String,
    },
    /// The bootstrap profile is unreadable or malformed.
    #[error("{file}: {reason}")]
    Bootstrap {
        /// The file.
        file: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

/// An ml-container-creator project directory.
#[derive(Debug, Clone)]
pub struct Project {
    /// The project root (the directory holding `do/`).
    pub dir: PathBuf,
    /// `do/config`.
    pub config: ShellVars,
}

impl Project {
    /// Reads `dir/do/config`.
    pub fn load(dir: &Path) -> Result<Self, ProjectError> {
        let path = dir.join("do").join("config");
        if !path.is_file() {
            return Err(ProjectError::NotAProject {
                dir: dir.to_owned(),
            });
        }
        Ok(Self {
            dir: dir.to_owned(),
            config: ShellVars::load(&path)?,
        })
    }

    /// True when `dir` holds a `do/config` naming an endpoint.
    pub fn has_endpoint(dir: &Path) -> bool {
        Self::load(dir).is_ok_and(|p| p.config.get("ENDPOINT_NAME").is_some())
    }

    /// A `do/config` value that must be set.
    pub fn require(&self, key: &str, hint: &str) -> Result<String, ProjectError> {
        self.config
            .get(key)
            .map(str::to_owned)
            .ok_or_else(|| ProjectError::MissingKey {
                key: key.to_owned(),
                file: self.config.path.clone(),
                hint: hint.to_owned(),
            })
    }

    /// The endpoint and inference component: `adapter` → its IC; `ic` →
    /// that IC; neither → the first `do/ic/*.conf` (alphabetically) with
    /// `IC_DEPLOYED_NAME`, else `INFERENCE_COMPONENT_NAME`, else the
    /// endpoint alone.
    pub fn resolve_target(
        &self,
        ic: Option<&str>,
        adapter: Option<&str>,
    ) -> Result<SageMakerTarget, ProjectError> {
        let endpoint = self.require(
            "ENDPOINT_NAME",
            "deploy the project first (./do/deploy) or set ENDPOINT_NAME",
        )?;
        let config_file = self.config.path.display().to_string();
        let (component, adapter, chosen_by) = if let Some(name) = adapter {
            let (vars, file) = self.named_conf("adapters", "adapter", name)?;
            let ic = required(
                &vars,
                "ADAPTER_IC_NAME",
                "deploy the adapter first (./do/adapter)",
            )?;
            (Some(ic), Some(name.to_owned()), file)
        } else if let Some(name) = ic {
            let (vars, file) = self.named_conf("ic", "inference component", name)?;
            let ic = required(
                &vars,
                "IC_DEPLOYED_NAME",
                "deploy this inference component first",
            )?;
            (Some(ic), None, file)
        } else if let Some((ic, file)) = self.first_deployed_ic()? {
            (Some(ic), None, file)
        } else if let Some(ic) = self.config.get("INFERENCE_COMPONENT_NAME") {
            (Some(ic.to_owned()), None, config_file)
        } else {
            (None, None, config_file)
        };
        Ok(SageMakerTarget {
            endpoint,
            inference_component: component,
            adapter,
            chosen_by,
        })
    }

    /// `HF_MODEL_ID`, else `MODEL_NAME` unless it is an S3 URI.
    pub fn tokenizer(&self) -> Result<String, ProjectError> {
        if let Some(id) = self.config.get("HF_MODEL_ID") {
            return Ok(id.to_owned());
        }
        match self.config.get("MODEL_NAME") {
            Some(m) if !m.starts_with("s3://") => Ok(m.to_owned()),
            _ => Err(ProjectError::MissingKey {
                key: "HF_MODEL_ID".into(),
                file: self.config.path.clone(),
                hint: "set it to the Hugging Face model id (MODEL_NAME is an S3 URI once the model is staged, and cannot name a tokenizer)".into(),
            }),
        }
    }

    /// Everything a SageMaker benchmark needs from this project and
    /// `bootstrap`, with `stamp` (UTC `YYYYmmdd-HHMMSS`) for names.
    pub fn sagemaker_plan(
        &self,
        bootstrap: &Bootstrap,
        ic: Option<&str>,
        adapter: Option<&str>,
        stamp: &str,
    ) -> Result<SageMakerPlan, ProjectError> {
        Ok(SageMakerPlan {
            project: self.require(
                "PROJECT_NAME",
                "it names the benchmark jobs and the S3 prefix",
            )?,
            project_dir: self.dir.display().to_string(),
            target: self.resolve_target(ic, adapter)?,
            tokenizer: self.tokenizer()?,
            region: self.config.get("AWS_REGION").map(str::to_owned),
            role_arn: bootstrap.require("roleArn")?,
            output_bucket: bootstrap.require("benchmarkS3Bucket")?,
            hf_token_arn: self
                .config
                .get("HF_TOKEN_ARN")
                .map(str::to_owned)
                .or_else(|| bootstrap.hf_token_arn()),
            stamp: stamp.to_owned(),
        })
    }

    fn named_conf(
        &self,
        sub: &str,
        kind: &'static str,
        name: &str,
    ) -> Result<(ShellVars, String), ProjectError> {
        let file = self.dir.join("do").join(sub).join(format!("{name}.conf"));
        // A name is one file of do/<sub>/: a path in it would read any
        // `.conf` on the machine (the name can come from a tool call).
        let plain = !name.is_empty()
            && !name.starts_with('.')
            && !name.contains(['/', '\\'])
            && !name.contains('\0');
        if !plain || !file.is_file() {
            return Err(ProjectError::UnknownName {
                kind,
                name: name.to_owned(),
                known: self.conf_names(sub).join(", "),
                file,
            });
        }
        Ok((ShellVars::load(&file)?, file.display().to_string()))
    }

    fn conf_names(&self, sub: &str) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.dir.join("do").join(sub))
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| {
                e.file_name()
                    .to_str()
                    .and_then(|n| n.strip_suffix(".conf"))
                    .map(str::to_owned)
            })
            .collect();
        names.sort();
        names
    }

    fn first_deployed_ic(&self) -> Result<Option<(String, String)>, ProjectError> {
        for name in self.conf_names("ic") {
            let file = self.dir.join("do").join("ic").join(format!("{name}.conf"));
            if let Some(ic) = ShellVars::load(&file)?.get("IC_DEPLOYED_NAME") {
                return Ok(Some((ic.to_owned(), file.display().to_string())));
            }
        }
        Ok(None)
    }
}

fn required(vars: &ShellVars, key: &str, hint: &str) -> Result<String, ProjectError> {
    vars.get(key)
        .map(str::to_owned)
        .ok_or_else(|| ProjectError::MissingKey {
            key: key.to_owned(),
            file: vars.path.clone(),
            hint: hint.to_owned(),
        })
}

/// The plan of a new SageMaker run from the project in `dir` and the
/// bootstrap profile. Names carry the UTC time and `salt` (part of the run
/// id), so runs started in the same second never share a job name.
pub fn plan_run(
    dir: &Path,
    ic: Option<&str>,
    adapter: Option<&str>,
    salt: &str,
) -> Result<SageMakerPlan, ProjectError> {
    let project = Project::load(dir)?;
    let bootstrap = Bootstrap::load(&Bootstrap::default_path())?;
    let stamp = format!("{}-{salt}", chrono::Utc::now().format("%Y%m%d-%H%M%S"));
    project.sagemaker_plan(&bootstrap, ic, adapter, &stamp)
}

/// The bucket models are staged into: the bootstrap profile's
/// `modelsS3Bucket`, else `coreS3Bucket`.
pub fn models_bucket(bootstrap: &Bootstrap) -> Result<String, ProjectError> {
    bootstrap
        .get("modelsS3Bucket")
        .or_else(|| bootstrap.get("coreS3Bucket"))
        .ok_or_else(|| ProjectError::MissingKey {
            key: "modelsS3Bucket".into(),
            file: bootstrap.path.clone(),
            hint: "run `ml-container-creator bootstrap`, add the key to that file, or pass bucket"
                .into(),
        })
}

/// The project's endpoint as a local-engine target through the SageMaker
/// runtime API: `sagemaker://endpoint[/component]`.
pub fn runtime_url(
    dir: &Path,
    ic: Option<&str>,
    adapter: Option<&str>,
) -> Result<String, ProjectError> {
    Ok(Project::load(dir)?.resolve_target(ic, adapter)?.uri())
}

/// A SageMaker resource name: lower case (DeleteAIWorkloadConfig lowercases
/// names), `[a-z0-9-]`, no leading/trailing or doubled hyphens, at most 63
/// characters with `suffix` always kept whole.
pub fn resource_name(prefix: &str, suffix: &str) -> String {
    let clean = |s: &str| -> String {
        let mut out = String::new();
        for c in s.chars() {
            let c = c.to_ascii_lowercase();
            let c = if c.is_ascii_alphanumeric() { c } else { '-' };
            if !(c == '-' && (out.is_empty() || out.ends_with('-'))) {
                out.push(c);
            }
        }
        out.trim_end_matches('-').to_owned()
    };
    let suffix = clean(suffix);
    let room = 63usize.saturating_sub(suffix.len() + 1);
    let mut prefix = clean(prefix);
    prefix.truncate(room);
    let prefix = prefix.trim_end_matches('-');
    if prefix.is_empty() {
        suffix
    } else {
        format!("{prefix}-{suffix}")
    }
}

#[cfg(test)]
mod tests;
