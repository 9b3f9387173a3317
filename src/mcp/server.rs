//! The MCP handler: catalog and benchmark tools over any transport. Tools
//! that start, cancel or delete are left out with `--read-only`; a toolset
//! limits the server to the catalog or the benchmark tools.

use std::sync::Arc;

use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::tool::ToolCallContext;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, CancelTaskParams, ContentBlock,
    GetPromptRequestParams, GetPromptResponse, GetPromptResult, GetTaskParams, GetTaskResult,
    Implementation, ListPromptsResult, ListResourceTemplatesResult, ListResourcesResult,
    PaginatedRequestParams, PromptMessage, ReadResourceRequestParams, ReadResourceResponse,
    ReadResourceResult, Resource, ResourceContents, ResourceTemplate, Role, ServerCapabilities,
    ServerConfig, UpdateTaskParams,
};
use rmcp::service::RequestContext;
use rmcp::{tool, tool_handler, tool_router, ErrorData, Json, RoleServer, ServerHandler};

use super::params::*;
use super::prompts::{self, PROMPTS};
use super::results::{self, CompareArgs, CompareOut, QueryArgs, QueryOut};
use super::tool_error::ToolError;
use super::{cleanup, ops, stage, start, tasks, wait};
use crate::catalog::Catalog;
use crate::domain::ServerPolicy;
use crate::jobs::Jobs;

/// Which tools a server offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Toolset {
    /// list_workloads and get_workload_profile (ml-container-creator's
    /// `workload-picker`).
    Catalog,
    /// The benchmark tools only.
    Benchmark,
    /// Everything.
    All,
}

/// Tools of the catalog toolset.
pub const CATALOG_TOOLS: [&str; 2] = ["list_workloads", "get_workload_profile"];
/// Tools that change something (absent in read-only mode).
pub const WRITE_TOOLS: [&str; 5] = [
    "start_benchmark",
    "find_capacity",
    "stage_model",
    "cancel_benchmark",
    "clean",
];

/// Shared by every session; the HTTP transport builds one handler per
/// session, so all state lives here, behind an `Arc`.
#[derive(Debug)]
pub struct Shared {
    /// The workload catalog.
    pub catalog: Catalog,
    /// The runs.
    pub jobs: Jobs,
    /// What the operator lets tool calls reach.
    pub policy: ServerPolicy,
    /// Bounds on each `query_results` query.
    pub query_limits: crate::storage::QueryLimits,
    /// The default project (`serve --project`, else the server's working
    /// directory; absolute, symlinks resolved), always an allowed
    /// directory; `None` when it cannot be read, and then only the
    /// operator's directories are allowed.
    pub cwd: Option<std::path::PathBuf>,
    /// The project the operator named (`serve --project`): also the
    /// default `project_dir` of stage_model.
    pub project: Option<std::path::PathBuf>,
}

impl Shared {
    /// A server's shared state with the default (closed) policy.
    pub fn new(catalog: Catalog, jobs: Jobs) -> Self {
        Self::with_policy(catalog, jobs, ServerPolicy::default())
    }

    /// A server's shared state with the operator's allowances.
    pub fn with_policy(catalog: Catalog, jobs: Jobs, policy: ServerPolicy) -> Self {
        let cwd = std::env::current_dir().and_then(std::fs::canonicalize).ok();
        Self {
            catalog,
            jobs,
            policy,
            query_limits: crate::storage::QueryLimits::default(),
            cwd,
            project: None,
        }
    }
}

/// The MCP server.
#[derive(Debug, Clone)]
pub struct BenchServer {
    shared: Arc<Shared>,
    tool_router: ToolRouter<Self>,
    /// Offers no tool that writes and writes nothing itself (no comparison
    /// report).
    read_only: bool,
    /// The catalog toolset: no run resources either.
    catalog_only: bool,
}

#[tool_router]
impl BenchServer {
    /// A handler offering `toolset`, without write tools when `read_only`.
    pub fn new(shared: Arc<Shared>, toolset: Toolset, read_only: bool) -> Self {
        let mut tool_router = Self::tool_router();
        let names: Vec<String> = tool_router
            .list_all()
            .into_iter()
            .map(|t| t.name.to_string())
            .collect();
        for name in names {
            let catalog = CATALOG_TOOLS.contains(&name.as_str());
            let keep = match toolset {
                Toolset::Catalog => catalog,
                Toolset::Benchmark => !catalog,
                Toolset::All => true,
            } && !(read_only && WRITE_TOOLS.contains(&name.as_str()));
            if !keep {
                tool_router.remove_route(&name);
            }
        }
        Self {
            shared,
            tool_router,
            read_only,
            catalog_only: toolset == Toolset::Catalog,
        }
    }

    /// Names of the tools this handler offers.
    pub fn tool_names(&self) -> Vec<String> {
        self.tool_router
            .list_all()
            .into_iter()
            .map(|t| t.name.to_string())
            .collect()
    }

    #[tool(
        title = "List workload profiles",
        description = "List every workload profile of the catalog with its numbers: concurrency and sweep levels, input/output tokens, streaming, request count.",
        annotations(read_only_hint = true, idempotent_hint = true, open_world_hint = false)
    )]
    async fn list_workloads(&self, Parameters(_): Parameters<Empty>) -> Json<WorkloadList> {
        Json(WorkloadList {
            workloads: self.shared.catalog.profiles().map(Workload::from).collect(),
        })
    }

    #[tool(
        title = "Get a workload profile",
        description = "Get one workload profile by name (hyphens or underscores).",
        annotations(read_only_hint = true, idempotent_hint = true, open_world_hint = false)
    )]
    async fn get_workload_profile(
        &self,
        Parameters(a): Parameters<WorkloadName>,
    ) -> Result<Json<Workload>, ToolError> {
        self.shared
            .catalog
            .get(&a.workload)
            .map(|p| Json(Workload::from(p)))
            .map_err(|e| ToolError::new(e.to_string()))
    }

    #[tool(
        title = "Start a benchmark",
        description = "Start a benchmark of an OpenAI-compatible endpoint (or `sim`, the built-in simulated endpoint). Returns a run_id at once; the run continues in its own process even if this server exits. Follow with get_status (use wait_seconds) and fetch_results. If a run for the same target and workload is active it is returned (reused: true) unless force is set.",
        annotations(
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = false,
            open_world_hint = true
        )
    )]
    async fn start_benchmark(
        &self,
        Parameters(a): Parameters<StartArgs>,
    ) -> Result<Json<Started>, ToolError> {
        start::start(&self.shared, a, None)
            .map(Json)
            .map_err(|e| e.during("start_benchmark"))
    }

    #[tool(
        title = "Find capacity within SLOs",
        description = "Find the highest load the endpoint serves within service-level targets (slo: ttft_p99_ms, ttft_p90_ms, itl_p99_ms, e2e_p99_ms, error_rate). Probes concurrency (or request rate) by doubling, then bisecting between the last pass and the first failure; stops a probe early once a target is lost beyond doubt and probes again when a pass is within 10% of a target. Returns a run_id at once; get_status shows the probes so far; fetch_results gives capacity {max_concurrency or max_rate, goodput_rps, figures at capacity and at the first failure, confidence} and every probe as a level. A probe limited by the client is no answer and says so. With engine sagemaker (or no endpoint in a SageMaker project) each probe is a SageMaker AI benchmark job at one concurrency, judged the same way (no early stop).",
        annotations(
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = false,
            open_world_hint = true
        )
    )]
    async fn find_capacity(
        &self,
        Parameters(a): Parameters<CapacityArgs>,
    ) -> Result<Json<Started>, ToolError> {
        start::find_capacity(&self.shared, a)
            .map(Json)
            .map_err(|e| e.during("find_capacity"))
    }

    #[tool(
        title = "Stage model weights in S3",
        description = "Put a model's weights into S3 at s3://{bucket}/models/{org}/{name}/ — from local_dir, the local Hugging Face cache, or the Hub — so deploys and benchmarks start in seconds. Returns a run_id at once; follow with get_status (files and bytes done, throughput, then the report) and stop with cancel_benchmark. Idempotent: when config.json and every file are already there with the same content the run ends already_staged without uploading; a run cut short is finished by starting it again (only missing or changed files go up). Records STAGED_MODEL_PATH in the project's do/config.",
        annotations(
            read_only_hint = false,
            destructive_hint = true,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn stage_model(
        &self,
        Parameters(a): Parameters<stage::StageArgs>,
    ) -> Result<Json<stage::StageStarted>, ToolError> {
        stage::start(&self.shared, a)
            .map(Json)
            .map_err(|e| e.during("stage_model"))
    }

    #[tool(
        title = "Run status and progress",
        description = "State and live progress of a run (the most recent when run_id is omitted). With wait_seconds (up to 50) the call returns as soon as the state changes, or with timed_out: true, so there is no need to poll quickly.",
        annotations(read_only_hint = true, idempotent_hint = true, open_world_hint = false)
    )]
    async fn get_status(
        &self,
        Parameters(a): Parameters<StatusArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Status>, ToolError> {
        let r = ops::find(&self.shared.jobs, a.run_id.as_deref())?;
        let wait = a.wait_seconds.unwrap_or(0.0);
        if !(0.0..=ops::MAX_WAIT_S).contains(&wait) {
            return Err(ToolError::new(format!(
                "wait_seconds must be between 0 and {}",
                ops::MAX_WAIT_S
            )));
        }
        if wait == 0.0 || !r.status.is_active() {
            return Ok(Json(ops::status(&r, false)));
        }
        wait::until_change(&self.shared.jobs, &r, wait, &ctx)
            .await
            .map(Json)
    }

    #[tool(
        title = "Fetch run results",
        description = "Results of a finished run: per level throughput, latency / TTFT / ITL percentiles, the validity certificate (client_bound), error summary, key indicators and the paths of the AIPerf export files, plus a resource_link to its HTML report. detail: \"full\" adds the complete result document.",
        annotations(read_only_hint = true, idempotent_hint = true, open_world_hint = false),
        output_schema = rmcp::handler::server::common::schema_for_output::<Results>()
    )]
    async fn fetch_results(
        &self,
        Parameters(a): Parameters<ResultsArgs>,
    ) -> Result<CallToolResult, ToolError> {
        let r = ops::results(&self.shared.jobs, &a).map_err(|e| e.during("fetch_results"))?;
        with_report_link(&r)
    }

    #[tool(
        title = "Query the results history (SQL)",
        description = "Run one read-only SQL query (SELECT / WITH) over the results history: table mlcc_ci.benchmark_results, one row per concurrency level of every completed run, with ml-container-creator's columns (model_name, instance_type, adapter_name, workload, concurrency, request_throughput_rps, output_token_throughput_tps, ttft_p50_ms / ttft_p99_ms, itl_p50_ms, e2e_latency_p50_ms / _p99_ms, error_rate, run_timestamp, benchmark_job_name, …) and partition columns model, instance, target. target \"local\" (default) runs it here on the local history; \"athena\" runs the same text on the shared Athena table. Rows come back as JSON objects, at most limit (default 100).",
        annotations(read_only_hint = true, idempotent_hint = true, open_world_hint = true)
    )]
    async fn query_results(
        &self,
        Parameters(a): Parameters<QueryArgs>,
        context: RequestContext<RoleServer>,
    ) -> Result<Json<QueryOut>, ToolError> {
        let limits = self.shared.query_limits;
        results::query(&self.shared.jobs, limits, a, context.ct)
            .await
            .map(Json)
            .map_err(|e| e.during("query_results"))
    }

    #[tool(
        title = "Compare runs (regression gate)",
        description = "Compare finished runs side by side per load level: throughput, TTFT, ITL and latency percentiles of each candidate against a baseline, with delta, percent and a better / worse / same verdict (changes under noise_threshold_percent count as the same), and each run's validity. Give run_ids (the first is the baseline), or baseline + candidates, or project_dir to use the project's pinned baseline (BENCHMARK_PINNED_BASELINE). Writes a self-contained HTML report with plots and returns its path.",
        annotations(
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = false,
            open_world_hint = false
        )
    )]
    async fn compare_results(
        &self,
        Parameters(a): Parameters<CompareArgs>,
    ) -> Result<Json<CompareOut>, ToolError> {
        let shared = Arc::clone(&self.shared);
        let read_only = self.read_only;
        // Reading results files and rendering the report is blocking work.
        tokio::task::spawn_blocking(move || results::compare_runs(&shared, read_only, a))
            .await
            .map_err(|e| format!("the comparison failed: {e}"))?
            .map(Json)
            .map_err(|e| e.during("compare_results"))
    }

    #[tool(
        title = "List runs",
        description = "History of runs, newest first, filtered by status, workload, engine, model, instance type, adapter or label, paginated with cursor / next_cursor.",
        annotations(read_only_hint = true, idempotent_hint = true, open_world_hint = false)
    )]
    async fn list_benchmarks(
        &self,
        Parameters(a): Parameters<ListArgs>,
    ) -> Result<Json<RunList>, ToolError> {
        ops::list(&self.shared.jobs, &a)
            .map(Json)
            .map_err(|e| e.during("list_benchmarks"))
    }

    #[tool(
        title = "Cancel a run",
        description = "Stop an active run: no new requests; requests in flight get the grace period; partial results are kept and the run becomes cancelled.",
        annotations(
            read_only_hint = false,
            destructive_hint = true,
            idempotent_hint = true,
            open_world_hint = false
        )
    )]
    async fn cancel_benchmark(
        &self,
        Parameters(a): Parameters<RunId>,
    ) -> Result<Json<Cancelled>, ToolError> {
        ops::cancel(&self.shared.jobs, &a.run_id)
            .map(Json)
            .map_err(|e| e.during("cancel_benchmark"))
    }

    #[tool(
        title = "Clean finished runs",
        description = "Remove finished runs from the history (one run_id, or finished: true for all), optionally deleting their files. Active runs are never touched unless force is set.",
        annotations(
            read_only_hint = false,
            destructive_hint = true,
            idempotent_hint = true,
            open_world_hint = false
        )
    )]
    async fn clean(
        &self,
        Parameters(a): Parameters<CleanArgs>,
    ) -> Result<Json<Cleaned>, ToolError> {
        cleanup::clean(&self.shared.jobs, &a)
            .await
            .map(Json)
            .map_err(|e| e.during("clean"))
    }
}

impl BenchServer {
    /// Tasks back the tools that start runs, so the extension is offered
    /// only where one of them is.
    fn offers_tasks(&self) -> bool {
        tasks::TASK_TOOLS
            .iter()
            .any(|t| self.tool_router.has_route(t))
    }

    /// Prompts drive start_benchmark, so they exist only where it does.
    fn offers_prompts(&self) -> bool {
        self.tool_router.has_route("start_benchmark")
    }
}

/// A run's results as structured content, with a `resource_link` to its
/// HTML report when it has one (read it with resources/read).
pub(super) fn with_report_link(r: &Results) -> Result<CallToolResult, ToolError> {
    let value = serde_json::to_value(r)
        .map_err(|e| ToolError::new(format!("cannot encode the results: {e}")))?;
    let mut out = CallToolResult::structured(value);
    if let Some(uri) = &r.report_uri {
        let link = Resource::new(uri.clone(), format!("{} report", r.run_id))
            .with_description("Self-contained HTML report of this run.")
            .with_mime_type(ops::HTML_MIME);
        out.content.push(ContentBlock::resource_link(link));
    }
    Ok(out)
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for BenchServer {
    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let as_task = tasks::TASK_TOOLS.contains(&request.name.as_ref())
            && context
                .client_capabilities()
                .is_some_and(|caps| caps.supports_tasks());
        let call = ToolCallContext::new(self, request, context);
        let response = self.tool_router.call(call).await?;
        Ok(if as_task {
            tasks::into_task(&self.shared.jobs, response)
        } else {
            response
        })
    }

    async fn get_task(
        &self,
        request: GetTaskParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<GetTaskResult, ErrorData> {
        tasks::get(&self.shared.jobs, &request.task_id).map(GetTaskResult::new)
    }

    async fn update_task(
        &self,
        request: UpdateTaskParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        tasks::update(&self.shared.jobs, &request.task_id)
    }

    async fn cancel_task(
        &self,
        request: CancelTaskParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        tasks::cancel(&self.shared.jobs, &request.task_id)
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, ErrorData> {
        let resources = ops::resources(&self.shared.jobs)
            .into_iter()
            .filter(|r| !self.catalog_only || r.uri == ops::CATALOG_URI)
            .map(|r| {
                Resource::new(r.uri, r.name)
                    .with_description(r.description)
                    .with_mime_type(r.mime)
            })
            .collect();
        Ok(ListResourcesResult::with_all_items(resources))
    }

    async fn list_resource_templates(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, ErrorData> {
        let templates = if self.catalog_only {
            Vec::new()
        } else {
            ops::RUN_TEMPLATES
                .iter()
                .map(|(uri, name, description, mime)| {
                    ResourceTemplate::new(*uri, *name)
                        .with_description(*description)
                        .with_mime_type(*mime)
                })
                .collect()
        };
        Ok(ListResourceTemplatesResult::with_all_items(templates))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, ErrorData> {
        if self.catalog_only && request.uri != ops::CATALOG_URI {
            return Err(ErrorData::resource_not_found(
                "this server offers the catalog only (--toolset catalog)",
                Some(serde_json::json!({ "uri": request.uri })),
            ));
        }
        let (text, mime) =
            ops::read_resource(&self.shared.catalog, &self.shared.jobs, &request.uri).map_err(
                |e| {
                    ErrorData::resource_not_found(
                        e.to_string(),
                        Some(serde_json::json!({ "uri": request.uri })),
                    )
                },
            )?;
        let contents = ResourceContents::text(text, request.uri).with_mime_type(mime);
        Ok(ReadResourceResult::new(vec![contents]).into())
    }

    async fn list_prompts(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListPromptsResult, ErrorData> {
        let listed = if self.offers_prompts() {
            PROMPTS.iter().map(prompts::entry).collect()
        } else {
            Vec::new()
        };
        Ok(ListPromptsResult::with_all_items(listed))
    }

    async fn get_prompt(
        &self,
        request: GetPromptRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, ErrorData> {
        if !self.offers_prompts() {
            return Err(ErrorData::invalid_params(
                "this server offers no prompts (catalog toolset or read-only mode)",
                None,
            ));
        }
        let text = prompts::render(&request.name, request.arguments.as_ref())
            .map_err(|e| ErrorData::invalid_params(e.to_string(), None))?;
        let def = PROMPTS.iter().find(|p| p.name == request.name);
        let mut result = GetPromptResult::new(vec![PromptMessage::new_text(Role::User, text)]);
        result.description = def.map(|d| d.description.to_owned());
        Ok(result.into())
    }

    fn get_info(&self) -> ServerConfig {
        let mut caps = ServerCapabilities::builder()
            .enable_tools()
            .enable_resources();
        if self.offers_tasks() {
            caps = caps.enable_tasks();
        }
        let caps = if self.offers_prompts() {
            caps.enable_prompts().build()
        } else {
            caps.build()
        };
        ServerConfig::new(caps)
            .with_server_info(Implementation::new("mcc-bench", env!("CARGO_PKG_VERSION")).with_title("mcc-bench"))
            .with_instructions(
                "Benchmark LLM inference endpoints. list_workloads shows the traffic profiles; start_benchmark \
                 returns a run_id at once (runs survive this server); get_status with wait_seconds waits for \
                 progress; fetch_results gives the figures and whether the client limited them (client_bound).",
            )
    }
}
