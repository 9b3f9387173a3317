//! `mcc-bench query`, `compare` and `report`: the results history from the
//! shell.

use std::path::PathBuf;
use std::process::ExitCode;

use super::args::{CompareArgs, QueryArgs, ReportArgs};
use super::{exit, jobs_at, runtime, CliError};
use crate::domain::{Comparison, QueryTarget, Verdict};
use crate::jobs::compare::{compare as build, load_run, pin_baseline, CompareRequest};
use crate::jobs::history;

/// `mcc-bench query "<sql>"`.
pub(crate) fn query(args: &QueryArgs) -> Result<ExitCode, CliError> {
    let jobs = jobs_at(args.home.as_deref())?;
    let limit = args.limit.max(1);
    let target = QueryTarget::parse(Some(&args.target)).map_err(CliError::Input)?;
    let rows = runtime()?.block_on(async {
        match target {
            QueryTarget::Local => {
                let limits = crate::storage::QueryLimits::default();
                jobs.query(&args.sql, limit, limits, Default::default())
                    .await
                    .map_err(|e| e.to_string())
            }
            QueryTarget::Athena => history::athena_query(&args.sql, limit).await,
        }
    });
    let rows = rows.map_err(CliError::Input)?;
    if args.json {
        let text =
            serde_json::to_string_pretty(&rows).map_err(|e| CliError::System(e.to_string()))?;
        println!("{text}");
    } else {
        print!("{}", rows_table(&rows.columns, &rows.rows));
        if rows.truncated {
            eprintln!("(more rows than --limit {limit}; raise it or narrow the query)");
        }
    }
    Ok(ExitCode::from(exit::OK))
}

/// Rows as an aligned text table.
fn rows_table(columns: &[String], rows: &[serde_json::Map<String, serde_json::Value>]) -> String {
    let cell = |v: Option<&serde_json::Value>| match v {
        None | Some(serde_json::Value::Null) => "NULL".to_owned(),
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(serde_json::Value::Number(n)) => match n.as_f64() {
            Some(f) if n.is_f64() => format!("{f:.3}"),
            _ => n.to_string(),
        },
        Some(v) => v.to_string(),
    };
    let body: Vec<Vec<String>> = rows
        .iter()
        .map(|r| columns.iter().map(|c| cell(r.get(c))).collect())
        .collect();
    let mut out = super::text_table::render(columns, &body, "");
    out.push_str(&format!(
        "({} row{})\n",
        body.len(),
        if body.len() == 1 { "" } else { "s" }
    ));
    out
}

/// `mcc-bench compare RUN…`.
pub(crate) fn compare(args: &CompareArgs) -> Result<ExitCode, CliError> {
    let jobs = jobs_at(args.home.as_deref())?;
    if let Some(dir) = &args.project {
        if args.set_baseline.is_some() || args.clear_baseline {
            pin_baseline(&jobs, dir, args.set_baseline.as_deref())?;
            match &args.set_baseline {
                Some(id) => println!("pinned {id} as the baseline of {}", dir.display()),
                None => println!("cleared the pinned baseline of {}", dir.display()),
            }
            return Ok(ExitCode::from(exit::OK));
        }
    }
    if !(args.threshold.is_finite() && (0.0..=100.0).contains(&args.threshold)) {
        return Err(CliError::Input(format!(
            "--threshold {} must be between 0 and 100",
            args.threshold
        )));
    }
    let req = CompareRequest {
        runs: args.runs.clone(),
        baseline: args.baseline.clone(),
        project_dir: args.project.clone(),
        noise_percent: args.threshold,
        allow_paths: true,
        baseline_runs: args.baseline_runs.clone(),
        candidate_runs: args.candidate_runs.clone(),
    };
    let (comparison, loaded) = build(&jobs, &req)?;
    let results: Vec<_> = loaded.into_iter().map(|l| l.result).collect();
    let path = args.report.clone().unwrap_or_else(|| {
        history::default_comparison_path(jobs.home(), &comparison.baseline.run_id)
    });
    history::comparison_report_file(&path, &comparison, &results)
        .map_err(|e| CliError::System(e.to_string()))?;
    if args.json {
        let doc =
            serde_json::json!({"comparison": comparison, "report": path.display().to_string()});
        println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
    } else {
        print!("{}", comparison_text(&comparison));
        println!("report: {}", path.display());
    }
    if comparison.regressed {
        eprintln!(
            "REGRESSION: a candidate is worse than the baseline beyond the {}% noise threshold (gate figures: {})",
            comparison.noise_threshold_percent,
            crate::metrics::gate::GATE_FIGURES.join(", ")
        );
        return Ok(ExitCode::from(exit::ERROR));
    }
    Ok(ExitCode::from(exit::OK))
}

/// The comparison as text: one block per candidate, one line per figure.
fn comparison_text(c: &Comparison) -> String {
    let mut out = format!(
        "baseline {} ({}){}\n",
        c.baseline.run_id,
        c.baseline_source,
        if c.baseline.valid {
            ""
        } else {
            "  [NOT VALID]"
        }
    );
    for w in &c.warnings {
        out.push_str(&format!("warning: {w}\n"));
    }
    for cand in &c.candidates {
        let valid = if cand.run.valid { "" } else { "  [NOT VALID]" };
        out.push_str(&format!("\ncandidate {}{valid}\n", cand.run.run_id));
        for level in &cand.levels {
            out.push_str(&format!("  {}\n", level.level));
            for m in &level.metrics {
                out.push_str(&metric_line(m));
            }
        }
        for u in &cand.unmatched_levels {
            out.push_str(&format!("  unmatched level {u}\n"));
        }
    }
    if !c.repeated.is_empty() {
        out.push_str("\nrepeated runs (Welch's t-test, 95% confidence interval of the delta):\n");
        for d in &c.repeated {
            out.push_str(&format!(
                "  {:<6} {:<24} {:>10.2} → {:>10.2} {:<8} Δ {:+.2} [{:+.2}, {:+.2}] ({}×{} runs) {:?}\n",
                d.level, d.metric, d.baseline_mean, d.candidate_mean, d.unit, d.delta,
                d.ci95_low, d.ci95_high, d.baseline_runs, d.candidate_runs, d.verdict
            ));
        }
    }
    out.push_str(&format!(
        "\nregression gate: {}\n",
        if c.regressed { "REGRESSED" } else { "passed" }
    ));
    out
}

fn metric_line(m: &crate::domain::MetricDelta) -> String {
    let num = |v: Option<f64>| v.map_or_else(|| "—".to_owned(), |v| format!("{v:.2}"));
    let pct = m
        .percent
        .map_or_else(String::new, |p| format!(" ({p:+.1}%)"));
    let verdict = match m.verdict {
        Verdict::Better => "better",
        Verdict::Worse => "WORSE",
        Verdict::Same => "same",
        Verdict::Missing => "n/a",
    };
    format!(
        "    {:<24} {:>10} → {:>10} {}{pct}  {verdict}\n",
        format!("{} ({})", m.metric, m.unit),
        num(m.baseline),
        num(m.candidate),
        m.unit
    )
}

/// `mcc-bench report [RUN]`.
pub(crate) fn report(args: &ReportArgs) -> Result<ExitCode, CliError> {
    let jobs = jobs_at(args.home.as_deref())?;
    let id = match &args.run {
        Some(id) => id.clone(),
        None => jobs
            .list()?
            .into_iter()
            .find(|r| r.engine != crate::domain::Engine::Stage)
            .map(|r| r.run_id)
            .ok_or_else(|| {
                CliError::Input(
                    "no recorded runs; name a run id or a `mcc-bench run` output directory".into(),
                )
            })?,
    };
    let run = load_run(&jobs, &id, true)?;
    let ctx = match &run.record {
        Some(r) => history::report_context(
            &r.context.clone().unwrap_or_default(),
            r.label.clone(),
            r.engine,
            &r.target,
        ),
        None => history::report_context(
            &Default::default(),
            None,
            crate::domain::Engine::Local,
            &run.result.spec.endpoint.url,
        ),
    };
    let dir = PathBuf::from(&run.result.output_dir);
    let path = match &args.output {
        Some(p) => {
            let points = history::request_points(&run.result);
            let html = crate::report::run_report(&run.result, &points, &ctx);
            crate::storage::write_atomic(p, html.as_bytes())
                .map_err(|e| CliError::System(e.to_string()))?;
            p.clone()
        }
        None => history::write_run_report(&dir, &run.result, &ctx)
            .map_err(|e| CliError::System(e.to_string()))?,
    };
    println!("{}", path.display());
    Ok(ExitCode::from(exit::OK))
}
