//! Domain types shared by every layer: workload profiles, the resolved run
//! specification, per-request records, run results (with their per-level
//! metrics and statistics) and model staging. No I/O lives here, and nothing
//! here depends on another module of the crate.

mod capacity;
mod cloud;
mod compare;
pub mod hf;
mod history;
mod level_metrics;
mod policy;
mod profile;
mod progress;
mod record;
mod result;
mod run;
pub mod schema;
mod sim;
mod spec;
mod stage;
mod stats;

pub use capacity::{Capacity, CapacitySearch, Probe, SearchMode, Slo, SloFigures};
pub use cloud::{CloudJob, RuntimeTarget, SageMakerPlan, SageMakerRefs, SageMakerTarget};
pub use compare::{
    Better, CandidateComparison, Comparison, LevelComparison, MetricDelta, RepeatedDelta,
    RunSummary, Verdict,
};
pub use history::{
    Cell, ColumnType, HistoryRow, Partition, QueryTarget, ResultContext, HISTORY_COLUMNS,
    HISTORY_DATABASE, HISTORY_TABLE, PARTITION_COLUMNS,
};
pub use level_metrics::{LevelMetrics, SessionMetrics, TurnMetrics};
pub use policy::{url_has_prefix, AllowedEndpoint, KeyChoice, ServerPolicy, DEFAULT_KEY_ENV};
pub use profile::WorkloadProfile;
pub use progress::ProgressSnapshot;
pub use record::{BenchmarkPhase, ErrorKind, RequestError, RequestRecord, SessionTurn, Usage};
pub use result::{
    ErrorSummaryEntry, Indicator, LevelResult, RunResult, RunStatus, TokenCountCheck, Validity,
};
pub use run::{Engine, RunRecord, RunState, Starter};
pub use sim::SimSettings;
pub use spec::{
    ApiKind, ArrivalPattern, DatasetFormat, DatasetSpec, EndpointSpec, LengthDistribution,
    LoadLevel, MixComponent, PromptSpec, RunSpec, SecretHeaders, SessionSpec, StopCondition,
    TlsSpec, TokenCountSource,
};
pub use stage::{ProcessingSpec, StageOutcome, StagePlan, StageReport, StageSource};
pub use stats::{Stats, PERCENTILES};
