//! The results history end to end: completed runs land as Parquet files
//! (read back by pyarrow, an independent reader), SQL over them through the
//! embedded engine, comparisons, and — against moto on 127.0.0.1 — the S3
//! upload, the Athena DDL and partition statements, Athena queries, and
//! failures that stay warnings.

mod bin;
mod emulator;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use bin::BIN;
use emulator::{python, start_moto, Service};
use serde_json::{json, Value};

const MODEL: &str = "Qwen/Qwen3-0.6B";

/// A home (`$MCC_BENCH_HOME` = `home/state`, `$HOME` = `home`) without a
/// bootstrap profile: local history only.
struct Home {
    dir: tempfile::TempDir,
}

impl Home {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("home"),
        }
    }

    fn state(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(BIN);
        cmd.args(args)
            .env("HOME", self.dir.path())
            .env("MCC_BENCH_HOME", self.state())
            .env_remove("MCC_BENCH_CATALOG")
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_ENDPOINT_URL");
        cmd
    }

    /// A simulator run of `levels` concurrency levels, written to `out`.
    fn sim_run(&self, out: &Path, levels: &str, extra: &[&str]) -> Output {
        let out_s = out.display().to_string();
        let mut args = vec![
            "run",
            "--endpoint",
            "sim",
            "--model",
            MODEL,
            "-c",
            levels,
            "-n",
            "12",
            "--input-tokens",
            "32",
            "--output-tokens",
            "8",
            "--output-dir",
            &out_s,
        ];
        args.extend_from_slice(extra);
        let o = self.command(&args).output().expect("runs");
        assert!(
            o.status.success(),
            "run failed: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        o
    }

    fn query(&self, sql: &str) -> Output {
        self.command(&["query", "--json", sql])
            .output()
            .expect("query runs")
    }
}

fn json_out(o: &Output) -> Value {
    assert!(
        o.status.success(),
        "failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).expect("JSON on stdout")
}

fn parquet_files(root: &Path) -> Vec<PathBuf> {
    mcc_bench::storage::files_under(root)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|x| x == "parquet"))
        .collect()
}

/// Equal, doubles up to the last bits (results.json's text round trip
/// through serde_json's fast float parser may differ in the last ulp).
fn same_cell(key: &str, got: &mcc_bench::domain::Cell, want: &mcc_bench::domain::Cell) {
    use mcc_bench::domain::Cell;
    match (got, want) {
        (Cell::Double(g), Cell::Double(w)) => {
            assert!(
                (g - w).abs() <= 1e-12 * w.abs().max(1.0),
                "{key}: {g} vs {w}"
            )
        }
        _ => assert_eq!(got, want, "{key}"),
    }
}

fn history_of(dir: &Path) -> Value {
    let text = std::fs::read_to_string(dir.join("history.json")).expect("history.json");
    serde_json::from_str(&text).expect("json")
}

#[test]
fn local_runs_land_in_the_history_and_sql_reads_them_back() {
    let home = Home::new();
    let runs = tempfile::tempdir().expect("runs");
    let (a, b) = (runs.path().join("a"), runs.path().join("b"));
    home.sim_run(&a, "1,2", &[]);
    home.sim_run(&b, "2,4", &[]);
    let files = parquet_files(&home.state().join("results"));
    assert_eq!(files.len(), 2, "{files:?}");
    let rel = files[0]
        .strip_prefix(home.state())
        .expect("under home")
        .display()
        .to_string();
    assert!(
        rel.starts_with("results/model=Qwen_Qwen3-0.6B/instance=unknown/target=unknown/run-"),
        "{rel}"
    );
    let h = history_of(&a);
    assert_eq!(h["rows"], 2);
    assert!(
        h["s3_parquet"].is_null() && h["warnings"].as_array().is_some_and(Vec::is_empty),
        "{h}"
    );
    assert!(
        a.join("report.html").is_file(),
        "the run's report is written"
    );

    // Read back with arrow, the file equals the rows built from the result.
    let result: mcc_bench::domain::RunResult =
        serde_json::from_str(&std::fs::read_to_string(a.join("results.json")).expect("results"))
            .expect("parse");
    let context = mcc_bench::domain::ResultContext::default();
    let src = mcc_bench::jobs::history::RowSource {
        result: &result,
        context: &context,
        engine: mcc_bench::domain::Engine::Local,
        job_names: &[],
    };
    let back = mcc_bench::storage::read_history_file(Path::new(
        h["local_parquet"].as_str().expect("path"),
    ))
    .expect("read");
    let built = mcc_bench::jobs::history::history_rows(src);
    assert_eq!(back.len(), 2);
    assert_eq!(back.len(), built.len());
    for (got, want) in back.iter().zip(&built) {
        assert_eq!(
            got.keys().collect::<Vec<_>>(),
            want.keys().collect::<Vec<_>>()
        );
        for (k, w) in want {
            same_cell(k, &got[k], w);
        }
    }
    assert!(
        back[0].len() > 30,
        "most columns are filled: {:?}",
        back[0].keys()
    );

    // The query an Athena user would type, unchanged.
    let sql = "SELECT concurrency, count(*) AS runs, avg(request_throughput_rps) > 0 AS measured \
               FROM mlcc_ci.benchmark_results WHERE model = 'Qwen_Qwen3-0.6B' \
               GROUP BY concurrency ORDER BY concurrency";
    let q = json_out(&home.query(sql));
    assert_eq!(q["columns"], json!(["concurrency", "runs", "measured"]));
    assert_eq!(
        q["rows"],
        json!([
            {"concurrency": 1, "runs": 1, "measured": true},
            {"concurrency": 2, "runs": 2, "measured": true},
            {"concurrency": 4, "runs": 1, "measured": true}
        ])
    );
    assert_eq!(q["truncated"], false);

    let q = json_out(&home.command(&["query", "--json", "--limit", "2",
        "SELECT model_name, streaming, input_tokens_mean, error_rate, run_type, metrics_source, instance \
         FROM benchmark_results ORDER BY run_timestamp, concurrency"]).output().expect("runs"));
    assert_eq!(q["rows"].as_array().map(Vec::len), Some(2));
    assert_eq!(q["truncated"], true);
    assert_eq!(
        q["rows"][0],
        json!({"model_name": MODEL, "streaming": true, "input_tokens_mean": 32, "error_rate": 0.0,
               "run_type": "local", "metrics_source": "mcc-bench", "instance": "unknown"})
    );
}

#[test]
fn anything_but_a_query_is_refused_and_bad_sql_says_why() {
    let home = Home::new();
    for sql in [
        "DROP TABLE mlcc_ci.benchmark_results",
        "INSERT INTO benchmark_results (concurrency) VALUES (1)",
        "SELECT 1; DELETE FROM benchmark_results",
        "ATTACH DATABASE '/tmp/x.db' AS x",
        "PRAGMA query_only = 0",
        "SELECT load_extension('/tmp/x.so')",
    ] {
        let o = home.query(sql);
        assert!(!o.status.success(), "{sql} was accepted");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains("only queries") || err.contains("one query"),
            "{sql}: {err}"
        );
    }
    let o = home.query("SELECT no_such_column FROM benchmark_results");
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("no_such_column"));
    let q = json_out(&home.query("SELECT count(*) AS n FROM mlcc_ci.benchmark_results"));
    assert_eq!(
        q["rows"],
        json!([{"n": 0}]),
        "an empty history is an empty table"
    );
}

#[test]
fn a_file_from_another_writer_is_read_and_a_damaged_one_is_named() {
    let home = Home::new();
    let part = home
        .state()
        .join("results/model=other/instance=ml.g5.xlarge/target=t");
    std::fs::create_dir_all(&part).expect("partition dir");
    // pyarrow writes what another tool would: a subset of the columns.
    let script = "import sys, pyarrow as pa, pyarrow.parquet as pq\n\
        pq.write_table(pa.table({'model_name': ['m'], 'concurrency': pa.array([7], pa.int32()),\n\
          'streaming': [True], 'ttft_p99_ms': [12.5]}), sys.argv[1])\n";
    let o = Command::new(python())
        .args(["-c", script])
        .arg(part.join("foreign.parquet"))
        .output()
        .expect("python");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    std::fs::write(part.join("broken.parquet"), b"PAR1 not a footer").expect("damaged file");
    let o = home.query("SELECT count(*) AS n FROM benchmark_results");
    assert!(
        !o.status.success(),
        "a damaged file must not be skipped silently"
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("broken.parquet")
            && err.contains("not readable Parquet")
            && err.contains("move them out"),
        "{err}"
    );
    std::fs::remove_file(part.join("broken.parquet")).expect("remove");
    let q = json_out(&home.query(
        "SELECT model, instance, model_name, concurrency, streaming, ttft_p99_ms, error_rate, \
         median(ttft_p99_ms) AS median, approx_percentile(ttft_p99_ms, 0.99) AS p99 \
         FROM benchmark_results GROUP BY 1, 2, 3, 4, 5, 6, 7",
    ));
    assert_eq!(
        q["rows"],
        json!([{"model": "other", "instance": "ml.g5.xlarge", "model_name": "m", "concurrency": 7,
                "streaming": true, "ttft_p99_ms": 12.5, "error_rate": null, "median": 12.5,
                "p99": 12.5}])
    );
}

#[test]
fn pyarrow_reads_the_file_with_the_expected_columns_and_types() {
    let home = Home::new();
    let runs = tempfile::tempdir().expect("runs");
    home.sim_run(&runs.path().join("a"), "1,3", &[]);
    let file = parquet_files(&home.state().join("results"))
        .pop()
        .expect("a file");
    let script = "import sys, json, pyarrow.parquet as pq\n\
        t = pq.read_table(sys.argv[1])\n\
        md = pq.ParquetFile(sys.argv[1]).metadata\n\
        print(json.dumps({'types': {f.name: str(f.type) for f in t.schema}, 'rows': t.num_rows,\n\
          'codec': md.row_group(0).column(0).compression,\n\
          'concurrency': t.column('concurrency').to_pylist(),\n\
          'model': t.column('model_name').to_pylist()}))\n";
    let o = Command::new(python())
        .args(["-c", script])
        .arg(&file)
        .output()
        .expect("python");
    assert!(
        o.status.success(),
        "pyarrow: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v: Value = serde_json::from_slice(&o.stdout).expect("json");
    let types = v["types"].as_object().expect("types");
    assert_eq!(
        types.len(),
        68,
        "ml-container-creator's 67 columns, then goodput_rps"
    );
    for (col, t) in [
        ("project_name", "string"),
        ("model_name", "string"),
        ("tensor_parallel_degree", "int32"),
        ("gpu_memory_gb", "double"),
        ("enable_lora", "bool"),
        ("concurrency", "int32"),
        ("streaming", "bool"),
        ("request_count", "double"),
        ("ttft_p99_ms", "double"),
        ("run_timestamp", "string"),
        ("metrics_source", "string"),
    ] {
        assert_eq!(types[col], t, "{col}");
    }
    assert!(
        !types.contains_key("model"),
        "partition columns are not stored"
    );
    assert_eq!(v["rows"], 2);
    assert_eq!(v["codec"], "SNAPPY");
    assert_eq!(v["concurrency"], json!([1, 3]));
    assert_eq!(v["model"], json!([MODEL, MODEL]));
}

#[test]
fn compare_matches_levels_and_writes_a_report() {
    let home = Home::new();
    let runs = tempfile::tempdir().expect("runs");
    let (a, b) = (runs.path().join("a"), runs.path().join("b"));
    home.sim_run(&a, "1,2", &[]);
    home.sim_run(&b, "2,4", &[]);
    let report = runs.path().join("cmp.html");
    let o = home
        .command(&["compare", "--json", "-o"])
        .arg(&report)
        .arg(&a)
        .arg(&b)
        .output()
        .expect("compare");
    let v = json_out(&o);
    let c = &v["comparison"];
    assert_eq!(c["baseline_source"], "first run id");
    let cand = &c["candidates"][0];
    assert_eq!(cand["levels"].as_array().map(Vec::len), Some(1));
    assert_eq!(cand["levels"][0]["level"], "c2");
    assert_eq!(
        cand["unmatched_levels"],
        json!(["c1 (baseline only)", "c4 (candidate only)"])
    );
    let tput = cand["levels"][0]["metrics"]
        .as_array()
        .and_then(|m| m.iter().find(|x| x["metric"] == "request_throughput"))
        .expect("throughput compared");
    let (base, cand_v) = (
        tput["baseline"].as_f64().expect("b"),
        tput["candidate"].as_f64().expect("c"),
    );
    assert!((tput["delta"].as_f64().expect("d") - (cand_v - base)).abs() < 1e-9);
    assert!(std::fs::read_to_string(&report)
        .expect("report")
        .contains("<svg"));
}

#[test]
fn the_pinned_baseline_of_a_project_is_used_and_can_be_cleared() {
    let home = Home::new();
    let runs = tempfile::tempdir().expect("runs");
    let (a, b) = (runs.path().join("a"), runs.path().join("b"));
    home.sim_run(&a, "1", &[]);
    home.sim_run(&b, "1", &[]);
    let project = tempfile::tempdir().expect("project");
    std::fs::create_dir_all(project.path().join("do")).expect("mkdir");
    let config = project.path().join("do/config");
    std::fs::write(&config, "export PROJECT_NAME=\"p\"\n").expect("config");
    let a_s = a.display().to_string();
    let p_s = project.path().display().to_string();
    let o = home
        .command(&["compare", "--project", &p_s, "--set-baseline", &a_s])
        .output()
        .expect("pin");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = std::fs::read_to_string(&config).expect("config");
    assert!(
        text.contains(&format!("export BENCHMARK_PINNED_BASELINE=\"{a_s}\"")),
        "{text}"
    );
    let v = json_out(
        &home
            .command(&["compare", "--json", "--project", &p_s])
            .arg(&b)
            .output()
            .expect("cmp"),
    );
    assert!(v["comparison"]["baseline_source"]
        .as_str()
        .is_some_and(|s| s.starts_with("BENCHMARK_PINNED_BASELINE")));
    let o = home
        .command(&["compare", "--project", &p_s, "--clear-baseline"])
        .output()
        .expect("clear");
    assert!(o.status.success());
    assert_eq!(
        std::fs::read_to_string(&config).expect("config"),
        "export PROJECT_NAME=\"p\"\n"
    );
}

/// moto plus a project and bootstrap profile naming a results bucket and a
/// benchmark bucket.
struct Cloud {
    moto: Service,
    home: Home,
    project: tempfile::TempDir,
}

const CI_BUCKET: &str = "ci-results";
const JSON_BUCKET: &str = "bench-json";

fn cloud() -> Cloud {
    let moto = start_moto();
    let home = Home::new();
    let profile = home.dir.path().join(".ml-container-creator");
    std::fs::create_dir_all(&profile).expect("mkdir");
    std::fs::write(
        profile.join("config.json"),
        json!({"ciBenchmarkResultsBucket": CI_BUCKET, "benchmarkS3Bucket": JSON_BUCKET})
            .to_string(),
    )
    .expect("profile");
    let project = tempfile::tempdir().expect("project");
    std::fs::create_dir_all(project.path().join("do")).expect("mkdir");
    std::fs::write(
        project.path().join("do/config"),
        format!(
            "export PROJECT_NAME=\"qwen-test\"\nexport HF_MODEL_ID=\"{MODEL}\"\n\
                 export INSTANCE_TYPE=\"ml.g5.xlarge\"\nexport AWS_REGION=\"us-east-1\"\n\
                 export VLLM_MAX_MODEL_LEN=\"4096\"\n"
        ),
    )
    .expect("config");
    let c = Cloud {
        moto,
        home,
        project,
    };
    c.boto(&format!(
        "for b in ['{CI_BUCKET}', '{JSON_BUCKET}']: s3.create_bucket(Bucket=b)"
    ));
    c
}

impl Cloud {
    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = self.home.command(args);
        cmd.env("AWS_ENDPOINT_URL", &self.moto.url)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_EC2_METADATA_DISABLED", "true");
        cmd
    }

    fn run(&self, out: &Path, extra_env: &[(&str, &str)]) -> Value {
        let out_s = out.display().to_string();
        let project = self.project.path().display().to_string();
        let o = self
            .command(&[
                "run",
                "--endpoint",
                "sim",
                "--model",
                MODEL,
                "--project",
                &project,
                "-c",
                "1,2",
                "-n",
                "10",
                "--output-tokens",
                "8",
                "--output-dir",
                &out_s,
            ])
            .envs(extra_env.iter().copied())
            .output()
            .expect("runs");
        assert!(
            o.status.success(),
            "run failed: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        history_of(out)
    }

    /// Runs Python with `s3` and `athena` boto3 clients bound to moto;
    /// returns its stdout.
    fn boto(&self, body: &str) -> String {
        let script = format!(
            "import boto3, json\n\
             kw = dict(endpoint_url='{}', region_name='us-east-1', aws_access_key_id='testing', aws_secret_access_key='testing')\n\
             s3 = boto3.client('s3', **kw)\nathena = boto3.client('athena', **kw)\n{body}\n",
            self.moto.url
        );
        let o = Command::new(python())
            .args(["-c", &script])
            .output()
            .expect("python");
        assert!(
            o.status.success(),
            "boto3: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    fn athena_statements(&self) -> Vec<String> {
        let out = self.boto(
            "ids = athena.list_query_executions()['QueryExecutionIds']\n\
             print(json.dumps([athena.get_query_execution(QueryExecutionId=i)['QueryExecution']['Query'] for i in ids]))",
        );
        serde_json::from_str(&out).expect("json")
    }
}

#[test]
fn with_a_results_bucket_the_file_goes_to_s3_and_athena_registers_its_partition() {
    let c = cloud();
    let out = tempfile::tempdir().expect("out");
    let h = c.run(out.path(), &[]);
    assert_eq!(h["warnings"], json!([]), "{h}");
    let s3 = h["s3_parquet"].as_str().expect("uploaded");
    let prefix = format!("s3://{CI_BUCKET}/results/model=Qwen_Qwen3-0.6B/instance=ml.g5.xlarge/target=realtime-inference/run-qwen-test-");
    assert!(s3.starts_with(&prefix) && s3.ends_with("Z.parquet"), "{s3}");
    assert_eq!(
        h["athena_partition"],
        "model=Qwen_Qwen3-0.6B/instance=ml.g5.xlarge/target=realtime-inference"
    );
    let keys = c.boto(&format!(
        "print(json.dumps([o['Key'] for b in ['{CI_BUCKET}', '{JSON_BUCKET}'] for o in s3.list_objects_v2(Bucket=b).get('Contents', [])]))"
    ));
    let keys: Vec<String> = serde_json::from_str(&keys).expect("json");
    let key = s3.trim_start_matches(&format!("s3://{CI_BUCKET}/"));
    assert!(keys.iter().any(|k| k == key), "{keys:?}");
    assert!(
        keys.iter()
            .any(|k| k.starts_with("qwen-test/") && k.ends_with("/results.json")),
        "{keys:?}"
    );

    let statements = c.athena_statements();
    assert!(
        statements
            .iter()
            .any(|s| s == "CREATE DATABASE IF NOT EXISTS mlcc_ci"),
        "{statements:?}"
    );
    let ddl = statements
        .iter()
        .find(|s| s.starts_with("CREATE EXTERNAL TABLE"))
        .expect("table DDL");
    assert!(
        ddl.contains("`output_token_throughput_tps` DOUBLE")
            && ddl.contains("LOCATION 's3://ci-results/results/'")
    );
    let alter = statements
        .iter()
        .find(|s| s.starts_with("ALTER TABLE"))
        .expect("partition statement");
    assert!(alter.contains("ADD IF NOT EXISTS PARTITION (model='Qwen_Qwen3-0.6B', instance='ml.g5.xlarge', target='realtime-inference')"), "{alter}");

    // The uploaded object is the local file, byte for byte.
    let local = std::fs::read(h["local_parquet"].as_str().expect("local")).expect("read");
    let remote_len = c.boto(&format!(
        "print(s3.head_object(Bucket='{CI_BUCKET}', Key='{key}')['ContentLength'])"
    ));
    assert_eq!(remote_len.trim(), local.len().to_string());

    // The row carries the project's facts.
    let q = json_out(&c.command(&["query", "--json",
        "SELECT project_name, instance_type, instance_family, model_family, max_model_len, serving_config, region \
         FROM mlcc_ci.benchmark_results LIMIT 1"]).output().expect("query"));
    assert_eq!(
        q["rows"][0],
        json!({"project_name": "qwen-test", "instance_type": "ml.g5.xlarge", "instance_family": "g5",
               "model_family": "qwen3", "max_model_len": 4096, "serving_config": "{\"max_model_len\":\"4096\"}",
               "region": "us-east-1"})
    );
}

#[test]
fn an_athena_failure_is_a_warning_and_the_benchmark_still_completes() {
    let c = cloud();
    let out = tempfile::tempdir().expect("out");
    let dead = format!("http://127.0.0.1:{}", emulator::free_port());
    let h = c.run(out.path(), &[("AWS_ENDPOINT_URL_ATHENA", dead.as_str())]);
    assert!(h["s3_parquet"].is_string(), "{h}");
    assert!(h["athena_partition"].is_null());
    let w = h["warnings"].to_string();
    assert!(
        w.contains("Athena partition was not registered") && w.contains("MSCK REPAIR TABLE"),
        "{w}"
    );
    assert!(out.path().join("results.json").is_file());
}

#[test]
fn the_same_query_runs_on_athena_with_typed_rows() {
    let c = cloud();
    c.boto(
        "import urllib.request\n\
         rows = [{'Data': [{'VarCharValue': 'model_name'}, {'VarCharValue': 'concurrency'}, {'VarCharValue': 'ttft_p99_ms'}]},\n\
                 {'Data': [{'VarCharValue': 'Qwen/Qwen3-0.6B'}, {'VarCharValue': '8'}, {'VarCharValue': '41.5'}]}]\n\
         cols = [{'Name': 'model_name', 'Type': 'varchar'}, {'Name': 'concurrency', 'Type': 'integer'}, {'Name': 'ttft_p99_ms', 'Type': 'double'}]\n\
         body = json.dumps({'account_id': '123456789012', 'region': 'us-east-1', 'results': [{'rows': rows, 'column_info': cols}]}).encode()\n\
         req = urllib.request.Request(kw['endpoint_url'] + '/moto-api/static/athena/query-results', data=body, method='POST', headers={'Content-Type': 'application/json'})\n\
         urllib.request.urlopen(req).read()",
    );
    let sql = "SELECT model_name, concurrency, ttft_p99_ms FROM mlcc_ci.benchmark_results WHERE concurrency = 8";
    let q = json_out(
        &c.command(&["query", "--json", "--target", "athena", sql])
            .output()
            .expect("query"),
    );
    assert_eq!(
        q["rows"],
        json!([{"model_name": MODEL, "concurrency": 8, "ttft_p99_ms": 41.5}])
    );
    assert!(
        c.athena_statements().iter().any(|s| s == sql),
        "the text sent is the text given"
    );
    let o = c
        .command(&[
            "query",
            "--target",
            "athena",
            "DROP TABLE mlcc_ci.benchmark_results",
        ])
        .output()
        .expect("q");
    assert!(!o.status.success(), "refused before reaching Athena");
    assert!(!c.athena_statements().iter().any(|s| s.starts_with("DROP")));
}
