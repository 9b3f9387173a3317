//! Staging model weights into S3 against moto's S3 server on 127.0.0.1
//! (SeaweedFS's for the part-level resume, where moto's ListParts fails):
//! a local folder (with a multipart file), idempotency, a changed file, the
//! do/config update, the Hub path against tests/emulator/hub.py, a killed
//! run that resumes, the MCP tool, and each error message. Needs
//! MCC_BENCH_PY (scripts/test sets it).

mod bin;
mod emulator;
mod mcp_client;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use bin::BIN;
use emulator::{python, start_moto, Service, BUCKET};
use mcp_client::call;

/// moto, a home with a bootstrap profile naming the models bucket, and a
/// project whose do/config names the model.
struct Stage {
    moto: Service,
    home: tempfile::TempDir,
    project: tempfile::TempDir,
    model: tempfile::TempDir,
}

const CONFIG: &str = "#!/bin/bash\r\n# project config\nexport PROJECT_NAME=\"tiny\"\nexport HF_MODEL_ID=\"tiny-org/tiny-model\"\nexport MODEL_NAME=\"tiny-org/tiny-model\"\n  # trailing comment, no newline";

fn setup() -> Stage {
    setup_on(start_moto())
}

fn setup_on(moto: Service) -> Stage {
    let home = tempfile::tempdir().expect("home");
    let profile = home.path().join(".ml-container-creator");
    std::fs::create_dir_all(&profile).expect("mkdir");
    std::fs::write(
        profile.join("config.json"),
        json!({"profiles": {"default": {"modelsS3Bucket": BUCKET}}}).to_string(),
    )
    .expect("profile");
    let project = tempfile::tempdir().expect("project");
    std::fs::create_dir_all(project.path().join("do")).expect("mkdir");
    std::fs::write(project.path().join("do/config"), CONFIG).expect("config");
    let model = tempfile::tempdir().expect("model");
    write_model(model.path());
    Stage {
        moto,
        home,
        project,
        model,
    }
}

/// config.json, a 20 MiB weights file (two parts), small files, and files
/// that are not part of a model.
fn write_model(dir: &Path) {
    std::fs::create_dir_all(dir.join("sub")).expect("mkdir");
    std::fs::write(dir.join("config.json"), br#"{"model_type": "tiny"}"#).expect("w");
    std::fs::write(dir.join("tokenizer.json"), b"{\"v\": 1}").expect("w");
    let big: Vec<u8> = (0..20u32 << 20).map(|i| (i % 251) as u8).collect();
    std::fs::write(dir.join("model.safetensors"), big).expect("w");
    std::fs::write(dir.join("sub/extra.bin"), vec![7u8; 4096]).expect("w");
    std::fs::write(dir.join("model.safetensors.lock"), b"").expect("w");
    std::fs::write(dir.join(".gitattributes"), b"*.bin lfs").expect("w");
}

impl Stage {
    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(BIN);
        cmd.args(args)
            .env("HOME", self.home.path())
            .env("MCC_BENCH_HOME", self.home.path().join("state"))
            .env("HF_HOME", self.home.path().join("hf"))
            .env("AWS_ENDPOINT_URL_S3", &self.moto.url)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_ENDPOINT_URL")
            .env_remove("HF_HUB_CACHE")
            .env_remove("HF_TOKEN");
        cmd
    }

    /// `mcc-bench stage ARGS --json`: exit code, report, stderr.
    fn stage(&self, args: &[&str]) -> (Option<i32>, Value, String) {
        let out = self
            .command(&["stage", "--json"])
            .args(args)
            .output()
            .expect("stage runs");
        let report = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
        (
            out.status.code(),
            report,
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    fn project_arg(&self) -> String {
        self.project.path().display().to_string()
    }

    fn model_arg(&self) -> String {
        self.model.path().display().to_string()
    }

    /// Every object under `prefix`: key → {size, sha256 of the body, meta}.
    fn objects(&self, prefix: &str) -> Value {
        let script = format!(
            "import boto3, hashlib, json\n\
             s3 = boto3.client('s3', endpoint_url='{}', region_name='us-east-1', aws_access_key_id='testing', aws_secret_access_key='testing')\n\
             out = {{}}\n\
             for o in s3.list_objects_v2(Bucket='{BUCKET}', Prefix='{prefix}').get('Contents', []):\n\
             \x20   g = s3.get_object(Bucket='{BUCKET}', Key=o['Key'])\n\
             \x20   body = g['Body'].read()\n\
             \x20   out[o['Key']] = {{'size': len(body), 'sha256': hashlib.sha256(body).hexdigest(), 'meta': g.get('Metadata', {{}})}}\n\
             print(json.dumps(out))",
            self.moto.url
        );
        let out = Command::new(python())
            .args(["-c", &script])
            .output()
            .expect("boto3");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("json")
    }
}

fn sha(path: &Path) -> String {
    mcc_bench::engine::stage::sha256_hex(path).expect("sha")
}

const PREFIX: &str = "models/tiny-org/tiny-model/";

#[test]
fn a_folder_is_staged_once_and_only_changes_go_up_again() {
    let s = setup();
    let (project, model) = (s.project_arg(), s.model_arg());
    let (code, r, err) = s.stage(&["--project", &project, "--local-dir", &model]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(r["outcome"], "staged", "{r}");
    assert_eq!(r["s3_uri"], format!("s3://{BUCKET}/{PREFIX}"));
    assert_eq!(
        (r["files_total"].as_u64(), r["files_uploaded"].as_u64()),
        (Some(4), Some(4))
    );

    // Keys, sizes and content as on disk; lock files and .gitattributes stay behind.
    let objects = s.objects(PREFIX);
    let mut keys: Vec<&String> = objects.as_object().expect("objects").keys().collect();
    keys.sort();
    let want = [
        "config.json",
        "model.safetensors",
        "sub/extra.bin",
        "tokenizer.json",
    ];
    assert_eq!(
        keys,
        want.map(|k| format!("{PREFIX}{k}"))
            .iter()
            .collect::<Vec<_>>()
    );
    for k in want {
        let local = s.model.path().join(k);
        let o = &objects[format!("{PREFIX}{k}")];
        assert_eq!(
            o["size"].as_u64(),
            Some(std::fs::metadata(&local).expect("m").len()),
            "{k}"
        );
        assert_eq!(o["sha256"], sha(&local), "{k}");
        assert_eq!(o["meta"]["sha256"], sha(&local), "{k}: checksum metadata");
    }

    // do/config gains STAGED_MODEL_PATH; every other byte is unchanged.
    let config = std::fs::read_to_string(s.project.path().join("do/config")).expect("config");
    assert_eq!(
        config,
        format!("{CONFIG}\nexport STAGED_MODEL_PATH=\"s3://{BUCKET}/{PREFIX}\"\n")
    );

    // Again: nothing to do.
    let (code, r, err) = s.stage(&["--project", &project, "--local-dir", &model]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(r["outcome"], "already_staged", "{r}");
    assert_eq!(r["files_uploaded"], 0);
    let config2 = std::fs::read_to_string(s.project.path().join("do/config")).expect("config");
    assert_eq!(
        config2, config,
        "recording the same path twice changes nothing"
    );

    // A file changed in place (same size): only it goes up.
    std::fs::write(s.model.path().join("tokenizer.json"), b"{\"v\": 2}").expect("w");
    let (_, r, err) = s.stage(&["--project", &project, "--local-dir", &model]);
    assert_eq!(
        (r["files_uploaded"].as_u64(), r["files_skipped"].as_u64()),
        (Some(1), Some(3)),
        "{r}{err}"
    );
    assert_eq!(
        s.objects(PREFIX)[format!("{PREFIX}tokenizer.json")]["sha256"],
        sha(&s.model.path().join("tokenizer.json"))
    );

    // force sends everything.
    let (_, r, _) = s.stage(&["--project", &project, "--local-dir", &model, "--force"]);
    assert_eq!(r["files_uploaded"], 4, "{r}");
}

fn start_hub(models: &Path) -> Service {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/emulator/hub.py");
    emulator::start_script(&script, &[&models.display().to_string()])
}

#[test]
fn the_hub_path_downloads_then_uploads_and_explains_refusals() {
    let s = setup();
    let hub_root = tempfile::tempdir().expect("hub");
    let tiny = hub_root.path().join("tiny-org/tiny-model");
    write_model(&tiny);
    let gated = hub_root.path().join("tiny-org/gated");
    write_model(&gated);
    std::fs::write(gated.join("GATED"), b"").expect("w");
    let hub = start_hub(hub_root.path());
    let project = s.project_arg();
    let run = |extra: &[&str], token: Option<&str>| {
        let mut cmd = s.command(&["stage", "--json", "--project", &project]);
        cmd.args(extra).env("HF_ENDPOINT", &hub.url);
        if let Some(t) = token {
            cmd.env("HF_TOKEN", t);
        }
        let out = cmd.output().expect("runs");
        let report: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
        (
            out.status.code(),
            report,
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, r, err) = run(&[], None);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(r["files_uploaded"], 4, "{r}");
    assert_eq!(
        s.objects(PREFIX)[format!("{PREFIX}model.safetensors")]["sha256"],
        sha(&tiny.join("model.safetensors"))
    );

    let (code, _, err) = run(&["--model-id", "tiny-org/gated", "--bucket", BUCKET], None);
    assert_eq!(code, Some(1));
    assert!(
        err.contains("gated or private") && err.contains("HF_TOKEN"),
        "{err}"
    );
    let (code, r, err) = run(&["--model-id", "tiny-org/gated"], Some("hf_test"));
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(r["s3_uri"], format!("s3://{BUCKET}/models/tiny-org/gated/"));
    let (code, _, err) = run(&["--model-id", "tiny-org/absent"], None);
    assert_eq!(code, Some(1));
    assert!(err.contains("was not found on the Hub"), "{err}");
}

#[test]
fn errors_say_what_is_wrong_and_how_to_fix_it() {
    let s = setup();
    let model = s.model_arg();
    let (code, _, err) = s.stage(&[
        "--model-id",
        "o/m",
        "--local-dir",
        &model,
        "--bucket",
        "no-such-bucket",
    ]);
    assert_eq!(code, Some(1));
    assert!(
        err.contains("bucket no-such-bucket does not exist"),
        "{err}"
    );
    let (code, _, err) = s.stage(&["--model-id", "o/m", "--local-dir", "/nonexistent/model"]);
    assert_eq!(code, Some(1));
    assert!(err.contains("is not a folder"), "{err}");
    std::fs::remove_file(s.model.path().join("config.json")).expect("rm");
    let (_, _, err) = s.stage(&["--model-id", "o/m", "--local-dir", &model]);
    assert!(err.contains("has no config.json"), "{err}");
    let (_, _, err) = s.stage(&["--model-id", "../etc", "--local-dir", &model]);
    assert!(err.contains("is not a Hugging Face model id"), "{err}");
    let empty = tempfile::tempdir().expect("empty");
    let out = s
        .command(&["stage", "--local-dir", &model])
        .current_dir(empty.path())
        .output()
        .expect("runs");
    assert!(String::from_utf8_lossy(&out.stderr).contains("say which model"));
    let out = s
        .command(&["stage", "--model-id", "o/m", "--local-dir", &model])
        .env("HOME", empty.path())
        .output()
        .expect("runs");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("modelsS3Bucket") && err.contains("config.json"),
        "{err}"
    );
    std::fs::write(s.model.path().join("config.json"), b"{}").expect("w");
    let out = s
        .command(&["stage", "--model-id", "o/m", "--local-dir", &model])
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env("AWS_SHARED_CREDENTIALS_FILE", empty.path().join("none"))
        .env("AWS_CONFIG_FILE", empty.path().join("none"))
        .output()
        .expect("runs");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("no AWS credentials were found"), "{err}");
}

/// The run record of the newest staging run.
fn newest_run(home: &Path) -> Option<Value> {
    emulator::run_records(home).pop()
}

/// Starts `mcc-bench stage` on the model folder with one request in
/// flight, waits until the runner's progress `field` reaches `at_least`,
/// and SIGKILLs the runner. Returns the following command (which replaces
/// the runner) and the run directory.
fn stage_then_kill_runner(
    s: &Stage,
    field: &str,
    at_least: u64,
    within_s: u64,
) -> (std::process::Child, PathBuf) {
    let (project, model) = (s.project_arg(), s.model_arg());
    let child = s
        .command(&[
            "stage",
            "--json",
            "--project",
            &project,
            "--local-dir",
            &model,
        ])
        .env("MCC_BENCH_STAGE_PARALLEL", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starts");
    let deadline = Instant::now() + Duration::from_secs(within_s);
    let (pid, run_dir) = loop {
        assert!(Instant::now() < deadline, "no progress");
        std::thread::sleep(Duration::from_millis(20));
        let Some(r) = newest_run(s.home.path()) else {
            continue;
        };
        let dir = PathBuf::from(r["run_dir"].as_str().unwrap_or_default());
        let done = std::fs::read(dir.join("stage_progress.json"))
            .ok()
            .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
            .and_then(|p| p[field].as_u64())
            .unwrap_or(0);
        if let (true, Some(pid)) = (done >= at_least, r["runner_pid"].as_i64()) {
            break (pid, dir);
        }
    };
    let killed = Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    (child, run_dir)
}

#[test]
fn a_killed_run_resumes_and_uploads_only_the_rest() {
    let s = setup();
    for i in 0..40 {
        std::fs::write(
            s.model.path().join(format!("shard-{i:02}.bin")),
            vec![i as u8; 256 << 10],
        )
        .expect("w");
    }
    let (child, run_dir) = stage_then_kill_runner(&s, "files_done", 5, 60);
    // The follower notices, a new runner takes over and finishes.
    let out = child.wait_with_output().expect("stage ends");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: Value = serde_json::from_slice(&out.stdout).expect("report");
    let skipped = r["files_skipped"].as_u64().expect("skipped");
    assert!(
        skipped >= 5,
        "files finished before the kill are not sent again: {r}"
    );
    assert_eq!(
        skipped + r["files_uploaded"].as_u64().expect("up"),
        44,
        "{r}"
    );
    assert!(run_dir.join("stage_result.json").is_file());
    assert_eq!(s.objects(PREFIX).as_object().map(|o| o.len()), Some(44));
}

#[tokio::test(flavor = "multi_thread")]
async fn stage_model_is_a_tracked_run_over_mcp() {
    let s = setup();
    let (project, model) = (s.project_arg(), s.model_arg());
    let cmd = s.command(&["serve"]);
    let envs: Vec<(String, String)> = cmd
        .get_envs()
        .filter_map(|(k, v)| Some((k.to_str()?.to_owned(), v?.to_str()?.to_owned())))
        .collect();
    let tmp = std::env::temp_dir();
    let tmp = tmp.to_str().expect("the temporary directory is UTF-8");
    let c = mcp_client::connect_in(
        &["--allow-dir", tmp],
        envs,
        &["AWS_PROFILE", "AWS_ENDPOINT_URL"],
    )
    .await;
    let started = call(
        &c,
        "stage_model",
        json!({"project_dir": project, "local_dir": model}),
    )
    .await;
    let started = started.structured_content.expect("structured");
    assert_eq!(started["source"], "folder", "{started}");
    assert_eq!(started["s3_uri"], format!("s3://{BUCKET}/{PREFIX}"));
    let id = started["run_id"].as_str().expect("id").to_owned();
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        let r = call(&c, "get_status", json!({"run_id": id, "wait_seconds": 5})).await;
        let st = r.structured_content.expect("structured");
        if st["status"] != "queued" && st["status"] != "running" {
            break st;
        }
        assert!(Instant::now() < deadline, "{st}");
    };
    assert_eq!(status["status"], "completed", "{status}");
    assert_eq!(status["engine"], "stage");
    let staging = &status["staging"];
    assert_eq!(staging["files_done"], 4, "{status}");
    assert_eq!(staging["bytes_done"], staging["bytes_total"], "{status}");
    assert_eq!(staging["result"]["outcome"], "staged", "{status}");

    let listed = call(&c, "list_benchmarks", json!({"engine": "stage"}))
        .await
        .structured_content
        .expect("structured");
    assert_eq!(listed["runs"][0]["run_id"], id.as_str(), "{listed}");
    assert_eq!(listed["runs"][0]["engine"], "stage");
    let none = call(&c, "list_benchmarks", json!({"engine": "local"}))
        .await
        .structured_content
        .expect("structured");
    assert_eq!(none["runs"], json!([]), "{none}");

    let no_results = call(&c, "fetch_results", json!({"run_id": id})).await;
    assert_eq!(no_results.is_error, Some(true));
    assert!(format!("{no_results:?}").contains("staging report"));

    let refused = call(
        &c,
        "stage_model",
        json!({"local_dir": model, "model_id": "o/m", "mode": "remote"}),
    )
    .await;
    assert_eq!(refused.is_error, Some(true));
    assert!(
        format!("{refused:?}").contains("processing_job"),
        "the message lists the modes"
    );
    c.cancel().await.expect("close");
}

/// Every processing job moto knows, described.
fn processing_jobs(s: &Stage) -> Value {
    let script = format!(
        "import boto3, json\n\
         sm = boto3.client('sagemaker', endpoint_url='{}', region_name='us-east-1', aws_access_key_id='testing', aws_secret_access_key='testing')\n\
         names = [j['ProcessingJobName'] for j in sm.list_processing_jobs()['ProcessingJobSummaries']]\n\
         print(json.dumps([sm.describe_processing_job(ProcessingJobName=n) for n in names], default=str))",
        s.moto.url
    );
    let out = Command::new(python())
        .args(["-c", &script])
        .output()
        .expect("boto3");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("json")
}

fn put_object(s: &Stage, key: &str) {
    let script = format!(
        "import boto3\n\
         boto3.client('s3', endpoint_url='{}', region_name='us-east-1', aws_access_key_id='testing', aws_secret_access_key='testing').put_object(Bucket='{BUCKET}', Key='{key}', Body=b'{{}}')",
        s.moto.url
    );
    assert!(Command::new(python())
        .args(["-c", &script])
        .status()
        .expect("boto3")
        .success());
}

#[test]
fn processing_job_mode_submits_the_job_and_checks_its_output() {
    let s = setup();
    std::fs::write(
        s.home.path().join(".ml-container-creator/config.json"),
        json!({"modelsS3Bucket": BUCKET, "roleArn": "arn:aws:iam::123456789012:role/stage",
               "secrets": {"hfToken": "arn:aws:secretsmanager:us-east-1:123456789012:secret:hf"}})
        .to_string(),
    )
    .expect("profile");
    let project = s.project_arg();
    let run = |extra: &[&str]| {
        let out = s
            .command(&[
                "stage",
                "--json",
                "--project",
                &project,
                "--mode",
                "processing-job",
            ])
            .args(extra)
            .env("AWS_ENDPOINT_URL_SAGEMAKER", &s.moto.url)
            .env("MCC_BENCH_POLL_MAX_S", "0.2")
            .output()
            .expect("runs");
        let report: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
        (
            out.status.code(),
            report,
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    // moto completes jobs at once without running them: no config.json
    // appears, and the run says so.
    let (code, _, err) = run(&[]);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("completed but") && err.contains("config.json is not there"),
        "{err}"
    );
    let jobs = processing_jobs(&s);
    let job = &jobs[0];
    let name = job["ProcessingJobName"].as_str().expect("name");
    assert!(
        name.starts_with("mlcc-stage-tiny-") && name.len() <= 63,
        "{name}"
    );
    // moto describes a job without its resources or environment; those are
    // checked in the unit tests of engine::stage::processing.
    assert_eq!(job["RoleArn"], "arn:aws:iam::123456789012:role/stage");
    assert_eq!(job["StoppingCondition"]["MaxRuntimeInSeconds"], 86400);
    assert_eq!(
        job["AppSpecification"]["ImageUri"],
        "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-training:2.1.0-cpu-py310-ubuntu20.04-sagemaker"
    );
    let command = job["AppSpecification"]["ContainerEntrypoint"][2]
        .as_str()
        .unwrap_or_default();
    assert!(
        command.contains(&format!("s3://{BUCKET}/staging-jobs/{name}/entrypoint.sh")),
        "{command}"
    );
    let entry = s.objects(&format!("staging-jobs/{name}/"));
    assert!(
        entry
            .get(format!("staging-jobs/{name}/entrypoint.sh"))
            .is_some(),
        "{entry}"
    );

    // With config.json there: already staged, no new job.
    put_object(&s, &format!("{PREFIX}config.json"));
    let (code, r, err) = run(&[]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(r["outcome"], "already_staged");
    assert_eq!(processing_jobs(&s).as_array().map(Vec::len), Some(1));
    // force: a new job, whose output is checked, and do/config is updated.
    std::thread::sleep(Duration::from_millis(1100));
    let (code, r, err) = run(&["--force", "--instance-type", "ml.m5.4xlarge"]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(r["outcome"], "staged", "{r}");
    assert!(r["config_updated"].is_string(), "{r}");
    let jobs = processing_jobs(&s);
    assert_eq!(jobs.as_array().map(Vec::len), Some(2));
}

#[test]
fn a_large_file_cut_mid_upload_keeps_its_finished_parts() {
    // SeaweedFS: moto's ListParts reply is malformed for the AWS SDK.
    let s = setup_on(emulator::start_seaweed());
    // One 256 MiB file: 16 parts of 16 MiB, one request at a time.
    let big: Vec<u8> = (0..256u32 << 20).map(|i| (i / 4096 % 253) as u8).collect();
    std::fs::write(s.model.path().join("model.safetensors"), big).expect("w");
    let (child, run_dir) = stage_then_kill_runner(&s, "bytes_done", 64 << 20, 120);
    let out = child.wait_with_output().expect("stage ends");
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        std::fs::read_to_string(run_dir.join("runner.log")).unwrap_or_default()
    );
    let r: Value = serde_json::from_slice(&out.stdout).expect("report");
    let resumed = r["bytes_resumed"].as_u64().expect("resumed");
    assert!(
        resumed >= 32 << 20 && resumed.is_multiple_of(16 << 20),
        "whole parts from before the kill are kept: {r}\n{}",
        std::fs::read_to_string(run_dir.join("runner.log")).unwrap_or_default()
    );
    let local = s.model.path().join("model.safetensors");
    let o = &s.objects(PREFIX)[format!("{PREFIX}model.safetensors")];
    assert_eq!(o["sha256"], sha(&local), "the assembled object is the file");
}
