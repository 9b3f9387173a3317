use std::fs;
use std::path::Path;

use super::*;

fn write(dir: &Path, rel: &str, text: &str) {
    let path = dir.join(rel);
    fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    fs::write(path, text).expect("write");
}

fn project(config: &str) -> (tempfile::TempDir, Project) {
    let dir = tempfile::tempdir().expect("tmp");
    write(dir.path(), "do/config", config);
    let p = Project::load(dir.path()).expect("project");
    (dir, p)
}

const BASE: &str = "export PROJECT_NAME=\"Qwen3_Test\"\nexport ENDPOINT_NAME=\"qwen-ep\"\n\
                    export HF_MODEL_ID=\"Qwen/Qwen3-0.6B\"\nexport MODEL_NAME=\"s3://m/models/Qwen/Qwen3-0.6B/\"\n";

#[test]
fn target_precedence_is_adapter_then_ic_then_first_ic_then_legacy() {
    let (dir, p) = project(&format!("{BASE}INFERENCE_COMPONENT_NAME=legacy-ic\n"));
    let t = p.resolve_target(None, None).expect("legacy");
    assert_eq!(t.inference_component.as_deref(), Some("legacy-ic"));
    assert!(t.chosen_by.ends_with("do/config"));

    write(dir.path(), "do/ic/b-main.conf", "IC_DEPLOYED_NAME='ic-b'\n");
    write(dir.path(), "do/ic/a-undeployed.conf", "IC_DEPLOYED_NAME=\n");
    write(
        dir.path(),
        "do/ic/c.conf",
        "export IC_DEPLOYED_NAME=\"ic-c\" # deployed\n",
    );
    let t = p.resolve_target(None, None).expect("first deployed");
    assert_eq!(t.inference_component.as_deref(), Some("ic-b"));
    assert!(t.chosen_by.ends_with("do/ic/b-main.conf"));

    let t = p.resolve_target(Some("c"), None).expect("named ic");
    assert_eq!(t.inference_component.as_deref(), Some("ic-c"));

    write(
        dir.path(),
        "do/adapters/sft.conf",
        "ADAPTER_IC_NAME=\"ic-sft\"\n",
    );
    let t = p
        .resolve_target(Some("c"), Some("sft"))
        .expect("adapter wins");
    assert_eq!(t.inference_component.as_deref(), Some("ic-sft"));
    assert_eq!(t.adapter.as_deref(), Some("sft"));
    assert_eq!(t.uri(), "sagemaker://qwen-ep/ic-sft");
}

#[test]
fn the_endpoint_alone_when_no_component_is_configured() {
    let (_dir, p) = project(BASE);
    let t = p.resolve_target(None, None).expect("endpoint only");
    assert_eq!(t.inference_component, None);
    assert_eq!(t.uri(), "sagemaker://qwen-ep");
}

#[test]
fn missing_keys_and_names_say_which_key_and_which_file() {
    let (dir, p) = project("PROJECT_NAME=x\n");
    let e = p.resolve_target(None, None).expect_err("no endpoint");
    assert!(
        e.to_string().starts_with("ENDPOINT_NAME is not set in "),
        "{e}"
    );
    assert!(e.to_string().contains("do/config"), "{e}");

    let (dir2, p2) = project(BASE);
    let e = p2
        .resolve_target(Some("nope"), None)
        .expect_err("unknown ic");
    assert!(
        e.to_string()
            .contains("no inference component named \"nope\""),
        "{e}"
    );
    write(dir2.path(), "do/ic/x.conf", "OTHER=1\n");
    let e = p2
        .resolve_target(Some("x"), None)
        .expect_err("undeployed ic");
    assert!(
        e.to_string().starts_with("IC_DEPLOYED_NAME is not set in "),
        "{e}"
    );
    assert!(e.to_string().contains("do/ic/x.conf"), "{e}");
    write(dir2.path(), "do/adapters/a.conf", "X=1\n");
    let e = p2
        .resolve_target(None, Some("a"))
        .expect_err("undeployed adapter");
    assert!(
        e.to_string().starts_with("ADAPTER_IC_NAME is not set in "),
        "{e}"
    );

    let e = Project::load(&dir.path().join("missing")).expect_err("no project");
    assert!(e.to_string().contains("no do/config"), "{e}");
}

#[test]
fn the_tokenizer_is_hf_model_id_never_an_s3_model_name() {
    let (_d, p) = project(BASE);
    assert_eq!(p.tokenizer().expect("id"), "Qwen/Qwen3-0.6B");
    let (_d, p) = project("MODEL_NAME=s3://bucket/models/x/\n");
    let e = p.tokenizer().expect_err("s3 uri");
    assert!(e.to_string().starts_with("HF_MODEL_ID is not set"), "{e}");
    let (_d, p) = project("MODEL_NAME=Qwen/Qwen3-0.6B\n");
    assert_eq!(p.tokenizer().expect("model name"), "Qwen/Qwen3-0.6B");
}

#[test]
fn the_bootstrap_profile_supplies_role_bucket_and_token() {
    let (dir, p) = project(&format!("{BASE}AWS_REGION=us-west-2\n"));
    let file = dir.path().join("config.json");
    fs::write(
        &file,
        r#"{"benchmarkS3Bucket":"bench-b","roleArn":"arn:aws:iam::1:role/r","secrets":{"hfToken":"arn:secret"}}"#,
    )
    .expect("write");
    let b = Bootstrap::load(&file).expect("bootstrap");
    let plan = p
        .sagemaker_plan(&b, None, None, "20261128-101500-ab12")
        .expect("plan");
    assert_eq!(plan.project, "Qwen3_Test");
    assert_eq!(plan.output_bucket, "bench-b");
    assert_eq!(plan.region.as_deref(), Some("us-west-2"));
    assert_eq!(plan.hf_token_arn.as_deref(), Some("arn:secret"));

    fs::write(
        &file,
        r#"{"profiles":{"dev":{"benchmarkS3Bucket":"dev-b"}},"activeProfile":"dev"}"#,
    )
    .expect("write");
    let b = Bootstrap::load(&file).expect("profiles");
    assert_eq!(b.get("benchmarkS3Bucket").as_deref(), Some("dev-b"));
    let e = p.sagemaker_plan(&b, None, None, "s").expect_err("no role");
    assert!(e.to_string().starts_with("roleArn is not set in "), "{e}");
    assert!(e.to_string().contains("bootstrap"), "{e}");

    let b = Bootstrap::load(&dir.path().join("absent.json")).expect("absent is empty");
    let e = p.sagemaker_plan(&b, None, None, "s").expect_err("no role");
    assert!(e.to_string().contains("absent.json"), "{e}");
    fs::write(&file, "{not json").expect("write");
    let e = Bootstrap::load(&file).expect_err("malformed");
    assert!(e.to_string().contains("not valid JSON"), "{e}");
}

#[test]
fn resource_names_are_valid_and_keep_their_suffix() {
    assert_eq!(
        resource_name("Qwen3_Test", "benchmark-20261128-101500-c8"),
        "qwen3-test-benchmark-20261128-101500-c8"
    );
    let long = resource_name(&"a".repeat(80), "benchmark-20261128-101500-c16");
    assert_eq!(long.len(), 63);
    assert!(long.ends_with("-benchmark-20261128-101500-c16"));
    assert_eq!(resource_name("--My..Proj--", "x"), "my-proj-x");
    for name in [long.as_str(), "my-proj-x"] {
        assert!(name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'));
        assert!(!name.starts_with('-') && !name.ends_with('-') && !name.contains("--"));
    }
}

#[test]
fn an_ic_or_adapter_name_is_one_file_of_its_folder() {
    let (dir, p) = project(BASE);
    write(
        dir.path(),
        "do/ic/main.conf",
        "IC_DEPLOYED_NAME='ic-main'\n",
    );
    // A .conf outside do/ic/ that a path in the name would reach.
    write(dir.path(), "outside.conf", "IC_DEPLOYED_NAME='stolen'\n");
    for name in ["../../outside", "/etc/ld.so", "", ".hidden", "a\\b"] {
        let e = p.resolve_target(Some(name), None).expect_err(name);
        assert!(
            matches!(e, ProjectError::UnknownName { .. }),
            "{name:?}: {e}"
        );
        assert!(!e.to_string().contains("stolen"), "{e}");
    }
    let e = p
        .resolve_target(None, Some("../../outside"))
        .expect_err("adapter");
    assert!(matches!(e, ProjectError::UnknownName { .. }), "{e}");
    assert_eq!(
        p.resolve_target(Some("main"), None)
            .expect("plain name")
            .inference_component
            .as_deref(),
        Some("ic-main")
    );
}
