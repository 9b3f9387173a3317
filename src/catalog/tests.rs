use super::*;

fn p<'a>(c: &'a Catalog, name: &str) -> &'a WorkloadProfile {
    c.get(name).expect("profile")
}

#[test]
fn builtin_catalog_has_the_seeds_numbers() {
    let c = Catalog::builtin();
    assert!(c.warnings().is_empty(), "{:?}", c.warnings());
    let want = [
        ("multi_turn_chat", 10, 550, 150, true),
        ("rag_document_qa", 8, 2048, 256, true),
        ("agent_tool_calling", 4, 800, 100, false),
        ("long_context_scaling", 2, 8192, 512, true),
        ("production_traffic_mix", 16, 1024, 200, true),
        ("shared_system_prompt", 12, 300, 150, true),
        ("sample", 2, 100, 100, true),
    ];
    assert_eq!(c.names().len(), want.len());
    for (name, conc, isl, osl, streaming) in want {
        let w = p(&c, name);
        assert_eq!(
            (
                w.concurrency,
                w.input_tokens_mean,
                w.output_tokens_mean,
                w.streaming
            ),
            (conc, isl, osl, streaming),
            "{name}"
        );
        assert!(
            w.concurrency_levels.contains(&conc),
            "{name}: sweep must include the default"
        );
        assert_eq!((w.request_count, w.dataset.as_str()), (100, "synthetic"));
        if name != "production_traffic_mix" {
            assert_eq!((w.input_tokens_stddev, w.output_tokens_stddev), (0, 0));
        }
        assert!(!w.description.is_empty() && !w.use_case.is_empty());
        assert_eq!(w.name, name);
    }
    assert_eq!(
        p(&c, "multi_turn_chat").concurrency_levels,
        [1, 4, 8, 10, 16]
    );
    assert_eq!(
        p(&c, "agent_tool_calling").concurrency_levels,
        [1, 4, 8, 16, 32]
    );
    let shared = p(&c, "shared_system_prompt");
    assert!(
        shared.shared_prefix_tokens > 0 && shared.shared_prefix_tokens < shared.input_tokens_mean
    );
}

#[test]
fn hyphenated_and_cased_names_resolve_to_the_same_profile() {
    let c = Catalog::builtin();
    assert_eq!(p(&c, "multi-turn-chat"), p(&c, "multi_turn_chat"));
    assert_eq!(p(&c, " Multi-Turn-Chat "), p(&c, "multi_turn_chat"));
}

#[test]
fn unknown_names_list_the_catalog_and_the_closest_match() {
    let c = Catalog::builtin();
    let err = c.get("multi-turn-caht").expect_err("unknown");
    let CatalogError::UnknownWorkload {
        available, closest, ..
    } = &err;
    assert_eq!(closest.as_deref(), Some("multi_turn_chat"));
    assert_eq!(available.len(), 7);
    let msg = err.to_string();
    assert!(
        msg.contains("did you mean \"multi_turn_chat\"") && msg.contains("rag_document_qa"),
        "{msg}"
    );
    let CatalogError::UnknownWorkload { closest, .. } =
        c.get("zzzzzzzzzzzzzz").expect_err("unknown");
    assert_eq!(closest, None);
}

fn write(dir: &tempfile::TempDir, text: &str) -> std::path::PathBuf {
    let path = dir.path().join("user.json");
    std::fs::write(&path, text).expect("write");
    path
}

#[test]
fn user_catalog_in_our_format_overrides_and_adds() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write(
        &dir,
        r#"{"profiles": {
        "multi-turn-chat": {"request_count": 20},
        "tiny": {"description": "d", "use_case": "u", "concurrency": 3, "concurrency_levels": [1, 3],
                 "input_tokens_mean": 10, "output_tokens_mean": 5, "streaming": false}}}"#,
    );
    let c = Catalog::load(Some(&path));
    assert!(c.warnings().is_empty(), "{:?}", c.warnings());
    let chat = p(&c, "multi_turn_chat");
    assert_eq!(
        (chat.request_count, chat.input_tokens_mean, chat.concurrency),
        (20, 550, 10)
    );
    let tiny = p(&c, "tiny");
    assert_eq!(
        (tiny.concurrency, tiny.request_count, tiny.dataset.as_str()),
        (3, 100, "synthetic")
    );
    assert_eq!(c.names().len(), 8);
}

#[test]
fn user_catalog_in_ml_container_creators_format() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write(
        &dir,
        r#"{"workloads": {
        "rag-document-qa": {"description": "RAG", "input_tokens_mean": 2000, "output_tokens_mean": 500,
                            "streaming": true, "dataset": "synthetic", "concurrency_levels": [1, 4, 8], "use_case": "RAG"},
        "agent_tool_calling": {"input_tokens_mean": 200, "concurrency_levels": [2, 6]},
        "batchy": {"description": "b", "use_case": "b", "input_tokens_mean": 64, "output_tokens_mean": 64,
                   "streaming": false, "concurrency_levels": [5, 50]}}}"#,
    );
    let c = Catalog::load(Some(&path));
    assert!(c.warnings().is_empty(), "{:?}", c.warnings());
    let rag = p(&c, "rag_document_qa");
    assert_eq!(
        (
            rag.input_tokens_mean,
            rag.output_tokens_mean,
            rag.concurrency
        ),
        (2000, 500, 8)
    );
    let agent = p(&c, "agent_tool_calling");
    assert_eq!(
        (agent.input_tokens_mean, agent.concurrency, agent.streaming),
        (200, 2, false)
    );
    let batchy = p(&c, "batchy");
    assert_eq!((batchy.concurrency, batchy.request_count), (5, 100));
}

#[test]
fn bad_user_catalogs_warn_and_the_builtin_still_serves() {
    let c = Catalog::load(Some(Path::new("/nonexistent/catalog.json")));
    assert_eq!(c.warnings().len(), 1);
    assert!(c.warnings()[0].contains("cannot read user catalog"));
    assert!(c.get("sample").is_ok());

    let dir = tempfile::tempdir().expect("tempdir");
    let c = Catalog::load(Some(&write(&dir, "{not json")));
    assert!(
        c.warnings()[0].contains("not valid JSON"),
        "{:?}",
        c.warnings()
    );
    assert_eq!(c.names().len(), 7);

    let c = Catalog::load(Some(&write(&dir, r#"{"something": 1}"#)));
    assert!(
        c.warnings()[0].contains("expected an object"),
        "{:?}",
        c.warnings()
    );

    let c = Catalog::load(Some(&write(
        &dir,
        r#"{"profiles": {"sample": {"concurrency": -3}, "x": 5,
        "multi_turn_chat": {"colour": "blue"}}}"#,
    )));
    assert_eq!(
        p(&c, "sample").concurrency,
        2,
        "invalid override is skipped"
    );
    let w = c.warnings().join("\n");
    assert!(
        w.contains("\"sample\" skipped")
            && w.contains("\"x\" skipped")
            && w.contains("unknown field \"colour\""),
        "{w}"
    );
}

#[test]
fn a_user_entry_may_define_a_mixture_and_a_bad_one_is_skipped() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("c.json");
    std::fs::write(
        &path,
        r#"{"profiles": {
        "mixed": {"description": "d", "use_case": "u", "concurrency": 2, "concurrency_levels": [2],
                  "input_tokens_mean": 100, "output_tokens_mean": 10, "streaming": true,
                  "mixture": [{"weight": 3, "input_tokens_mean": 50, "output_tokens_mean": 5},
                              {"weight": 1, "input_tokens_mean": 250, "output_tokens_mean": 25}]},
        "broken": {"description": "d", "use_case": "u", "concurrency": 2, "concurrency_levels": [2],
                   "input_tokens_mean": 100, "output_tokens_mean": 10, "streaming": true,
                   "mixture": [{"weight": 0, "input_tokens_mean": 50, "output_tokens_mean": 5}]}}}"#,
    )
    .expect("write");
    let c = Catalog::load(Some(&path));
    assert_eq!(p(&c, "mixed").mixture.len(), 2);
    assert!(c.get("broken").is_err());
    assert!(
        c.warnings()
            .iter()
            .any(|w| w.contains("broken") && w.contains("mixture[0]")),
        "{:?}",
        c.warnings()
    );
}
