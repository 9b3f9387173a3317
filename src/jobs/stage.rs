//! Staging runs in the job layer: planning one from the request and the
//! ml-container-creator project, recording it (the plan in `engine_refs`),
//! and executing it in a runner — downloading from the Hub first when that
//! is the source, then uploading with live progress in
//! `stage_progress.json`, and writing `stage_result.json`. Re-running a
//! plan is the resume: finished files are skipped.

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use super::{JobError, Jobs};
use crate::aws::AwsCloud;
use crate::domain::{
    ApiKind, EndpointSpec, Engine, ProcessingSpec, RunRecord, RunStatus, StagePlan, StageReport,
    StageSource,
};
use crate::engine::stage::{self, processing, source, StageError, StageProgress, DEFAULT_PARALLEL};
use crate::project::{self, Bootstrap, Project};

/// Live counters of a staging run, in its run directory.
pub const STAGE_PROGRESS_JSON: &str = "stage_progress.json";
/// The report of a finished staging run, in its run directory.
pub const STAGE_RESULT_JSON: &str = "stage_result.json";

/// What was asked for; unset values come from the project.
#[derive(Debug, Clone, Default)]
pub struct StageRequest {
    /// Hugging Face model id; default `HF_MODEL_ID`.
    pub model_id: Option<String>,
    /// Take the files from this folder.
    pub local_dir: Option<PathBuf>,
    /// Destination bucket; default the bootstrap profile's models bucket.
    pub bucket: Option<String>,
    /// Hub revision.
    pub revision: Option<String>,
    /// Upload every file again.
    pub force: bool,
    /// The project (holding `do/config`); default: the working directory
    /// when it is one.
    pub project_dir: Option<PathBuf>,
    /// Run the download and sync in a SageMaker Processing Job.
    pub processing_job: bool,
    /// Processing job instance type (default ml.m5.xlarge).
    pub instance_type: Option<String>,
    /// Processing job volume, GB (default 2048).
    pub volume_gb: Option<i32>,
    /// Processing job image (default ml-container-creator's).
    pub image: Option<String>,
    /// Buckets allowed besides the profile's models bucket; `None` allows
    /// any (the operator at the command line).
    pub allowed_buckets: Option<Vec<String>>,
}

/// Resolves a request into a plan, or says what is missing and where.
pub fn plan_stage(req: &StageRequest) -> Result<StagePlan, String> {
    let project = match &req.project_dir {
        Some(d) => Some(Project::load(d).map_err(|e| e.to_string())?),
        None => Project::load(Path::new(".")).ok(),
    };
    let from_project = |k: &str| {
        project
            .as_ref()
            .and_then(|p| p.config.get(k).map(str::to_owned))
    };
    let model_id = req.model_id.clone().or_else(|| from_project("HF_MODEL_ID")).ok_or(
        "say which model: model_id (a Hugging Face id such as Qwen/Qwen3-0.6B), or project_dir of a project with HF_MODEL_ID in do/config",
    )?;
    check_model_id(&model_id)?;
    let bootstrap = Bootstrap::load(&Bootstrap::default_path()).map_err(|e| e.to_string())?;
    let default_bucket = project::models_bucket(&bootstrap).ok();
    let bucket = match (&req.bucket, &default_bucket) {
        (Some(b), _) => b.clone(),
        (None, Some(d)) => d.clone(),
        (None, None) => project::models_bucket(&bootstrap).map_err(|e| e.to_string())?,
    };
    if let Some(extra) = &req.allowed_buckets {
        if default_bucket.as_deref() != Some(bucket.as_str()) && !extra.contains(&bucket) {
            return Err(format!(
                "bucket {bucket:?} is not the profile's models bucket ({}); the operator can allow                  it with `mcc-bench serve --allow-bucket {bucket}`",
                default_bucket.as_deref().unwrap_or("none configured")
            ));
        }
    }
    let region = from_project("AWS_REGION").or_else(env_region);
    let processing = if req.processing_job {
        let name = from_project("PROJECT_NAME").unwrap_or_else(|| model_id.replace('/', "-"));
        let token = from_project("HF_TOKEN_ARN");
        Some(processing_spec(
            req,
            &bootstrap,
            &name,
            region.as_deref(),
            token,
        )?)
    } else {
        None
    };
    let source = if processing.is_some() {
        hub()
    } else {
        source_of(req, &model_id)?
    };
    Ok(StagePlan {
        source,
        processing,
        prefix: format!("models/{model_id}/"),
        model_id,
        revision: req.revision.clone(),
        bucket,
        force: req.force,
        region,
        project_dir: project.map(|p| absolute(&p.dir).display().to_string()),
    })
}

/// `path` made absolute: the runner does not share the caller's working
/// directory.
fn absolute(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_owned())
}

fn check_model_id(id: &str) -> Result<(), String> {
    if crate::domain::hf::is_model_id(id) {
        Ok(())
    } else {
        Err(format!("model_id {id:?} is not a Hugging Face model id (org/name: letters, digits, '-', '_', '.')"))
    }
}

/// `local_dir` as given, else the HF cache's snapshot, else the Hub.
fn source_of(req: &StageRequest, model_id: &str) -> Result<StageSource, String> {
    if let Some(dir) = &req.local_dir {
        stage::model_files(dir).map_err(|e| e.to_string())?;
        return Ok(StageSource::Folder {
            path: absolute(dir).display().to_string(),
        });
    }
    if let Some(snap) = source::hf_cache_snapshot(model_id, req.revision.as_deref()) {
        return Ok(StageSource::HfCache {
            path: snap.display().to_string(),
        });
    }
    Ok(hub())
}

/// The Hub at `HF_ENDPOINT`, else huggingface.co.
fn hub() -> StageSource {
    let endpoint = std::env::var("HF_ENDPOINT")
        .ok()
        .filter(|e| !e.is_empty())
        .unwrap_or_else(|| source::DEFAULT_HUB.to_owned());
    StageSource::Hub { endpoint }
}

fn env_region() -> Option<String> {
    ["AWS_REGION", "AWS_DEFAULT_REGION"]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
}

/// The processing job of a request: ml-container-creator's defaults, the
/// bootstrap role, and a name `mlcc-stage-{project}-{UTC time}`.
fn processing_spec(
    req: &StageRequest,
    bootstrap: &Bootstrap,
    project_name: &str,
    region: Option<&str>,
    project_token_arn: Option<String>,
) -> Result<ProcessingSpec, String> {
    if req.local_dir.is_some() {
        return Err("a processing job downloads from the Hub itself; drop local_dir, or stage locally (mode local)".into());
    }
    let image = match (&req.image, region) {
        (Some(i), _) => i.clone(),
        (None, Some(r)) => processing::default_image(r),
        (None, None) => {
            return Err(
                "the processing image depends on the region: set AWS_REGION (or pass image)".into(),
            )
        }
    };
    let stamp = chrono::Utc::now().format("%Y%m%d-%H%M%S").to_string();
    Ok(ProcessingSpec {
        job_name: project::resource_name(&format!("mlcc-stage-{project_name}"), &stamp),
        image,
        instance_type: req
            .instance_type
            .clone()
            .unwrap_or_else(|| processing::DEFAULT_INSTANCE.into()),
        volume_gb: req.volume_gb.unwrap_or(processing::DEFAULT_VOLUME_GB),
        role_arn: bootstrap.require("roleArn").map_err(|e| e.to_string())?,
        hf_token_arn: project_token_arn.or_else(|| bootstrap.hf_token_arn()),
    })
}

impl Jobs {
    /// Records a staging run and starts its runner.
    pub fn start_stage(
        &self,
        plan: StagePlan,
        label: Option<String>,
    ) -> Result<RunRecord, JobError> {
        let run_id = super::new_run_id(Some("stage"));
        let endpoint = EndpointSpec {
            url: plan.s3_uri(),
            api: ApiKind::Chat,
            model: Some(plan.model_id.clone()),
            api_key: None,
            extra_body: Default::default(),
            simulated: false,
            ..Default::default()
        };
        // Records carry a run spec; a staging run's names what it stages.
        let spec = crate::plan::build(run_id, None, endpoint, &crate::plan::Overrides::none())
            .map_err(JobError::Cloud)?;
        let refs = serde_json::to_value(&plan).map_err(|e| JobError::Cloud(e.to_string()))?;
        let run = super::NewRun {
            label,
            engine: Engine::Stage,
            target: plan.s3_uri(),
            engine_refs: Some(refs),
            context: None,
        };
        self.launch(spec, run)
    }
}

/// The plan of a staging run record.
pub fn stage_plan_of(record: &RunRecord) -> Option<StagePlan> {
    if record.engine != Engine::Stage {
        return None;
    }
    record
        .engine_refs
        .clone()
        .and_then(|v| serde_json::from_value(v).ok())
}

/// Executes (or re-runs, which resumes) a staging run.
pub(super) fn execute(
    record: &RunRecord,
    rt: &tokio::runtime::Runtime,
    stop: &CancellationToken,
) -> Result<(RunStatus, Option<String>), String> {
    let plan = stage_plan_of(record).ok_or("the run record has no staging plan; start it again")?;
    let run_dir = PathBuf::from(&record.run_dir);
    let progress = Arc::new(StageProgress::default());
    let writer = spawn_writer(Arc::clone(&progress), run_dir.join(STAGE_PROGRESS_JSON));
    let outcome = rt.block_on(run_plan(&plan, &run_dir, Arc::clone(&progress), stop));
    writer.finish();
    match outcome {
        Ok(report) => {
            let doc = serde_json::to_vec_pretty(&report).map_err(|e| e.to_string())?;
            crate::storage::write_atomic(&run_dir.join(STAGE_RESULT_JSON), &doc)
                .map_err(|e| e.to_string())?;
            let note = (!report.warnings.is_empty()).then(|| report.warnings.join("; "));
            Ok((RunStatus::Completed, note))
        }
        Err(StageError::Cancelled) => Ok((RunStatus::Cancelled, None)),
        Err(e) => Err(e.to_string()),
    }
}

async fn run_plan(
    plan: &StagePlan,
    run_dir: &Path,
    progress: Arc<StageProgress>,
    stop: &CancellationToken,
) -> Result<StageReport, StageError> {
    let api = AwsCloud::from_env(plan.region.as_deref()).await;
    let mut report = match &plan.processing {
        Some(spec) => {
            processing::stage_with_job(&api, plan, spec, stop, super::cloud::backoff()).await?
        }
        None => stage_here(&api, plan, run_dir, progress, stop).await?,
    };
    if let Some(p) = &plan.project_dir {
        let config = Path::new(p).join("do").join("config");
        match project::set_config_var(&config, "STAGED_MODEL_PATH", &plan.s3_uri()) {
            Ok(()) => report.config_updated = Some(config.display().to_string()),
            Err(e) => report
                .warnings
                .push(format!("STAGED_MODEL_PATH not recorded: {e}")),
        }
    }
    Ok(report)
}

/// Download (from the Hub) if needed, then upload from this machine.
async fn stage_here(
    api: &AwsCloud,
    plan: &StagePlan,
    run_dir: &Path,
    progress: Arc<StageProgress>,
    stop: &CancellationToken,
) -> Result<StageReport, StageError> {
    let dir = match &plan.source {
        StageSource::Folder { path } | StageSource::HfCache { path } => PathBuf::from(path),
        StageSource::Hub { endpoint } => {
            let dest = run_dir.join("download");
            let rev = plan.revision.as_deref();
            source::download_from_hub(endpoint, &plan.model_id, rev, &dest, &progress, stop)
                .await?;
            dest
        }
    };
    stage::stage(api, plan, &dir, progress, stop, parallel()).await
}

/// Parallel S3 requests: `MCC_BENCH_STAGE_PARALLEL`, else 8.
fn parallel() -> usize {
    std::env::var("MCC_BENCH_STAGE_PARALLEL")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(DEFAULT_PARALLEL)
}

/// Writes the counters every half second until finished.
struct Writer {
    done: CancellationToken,
    thread: Option<std::thread::JoinHandle<()>>,
}

fn spawn_writer(progress: Arc<StageProgress>, path: PathBuf) -> Writer {
    let done = CancellationToken::new();
    let d = done.clone();
    let thread = std::thread::spawn(move || {
        let started = Instant::now();
        loop {
            let doc = progress_doc(&progress, started.elapsed());
            let _ = crate::storage::write_atomic(&path, doc.to_string().as_bytes());
            if d.is_cancelled() {
                return;
            }
            std::thread::sleep(Duration::from_millis(500));
        }
    });
    Writer {
        done,
        thread: Some(thread),
    }
}

impl Writer {
    fn finish(mut self) {
        self.done.cancel();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn progress_doc(p: &StageProgress, elapsed: Duration) -> serde_json::Value {
    let sent = p
        .bytes_done
        .load(Relaxed)
        .saturating_sub(p.bytes_skipped.load(Relaxed))
        .saturating_sub(p.bytes_resumed.load(Relaxed));
    let secs = elapsed.as_secs_f64();
    serde_json::json!({
        "files_done": p.files_done.load(Relaxed),
        "files_total": p.files_total.load(Relaxed),
        "bytes_done": p.bytes_done.load(Relaxed),
        "bytes_total": p.bytes_total.load(Relaxed),
        "bytes_downloaded": p.bytes_downloaded.load(Relaxed),
        "elapsed_s": secs,
        "mib_per_s": if secs > 0.0 { sent as f64 / 1_048_576.0 / secs } else { 0.0 },
    })
}
