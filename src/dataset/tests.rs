use super::*;

fn load(text: &str, format: Option<DatasetFormat>) -> Result<Dataset, DatasetError> {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("data");
    std::fs::write(&path, text).expect("write");
    Dataset::load(&path, format)
}

fn why(e: DatasetError) -> String {
    e.to_string()
}

#[test]
fn openai_lines_are_sent_as_given() {
    let d = load(
        "{\"messages\":[{\"role\":\"system\",\"content\":\"be brief\"},{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":7}\n\n{\"prompt\":\"tell me\"}\n",
        None,
    )
    .expect("valid");
    assert_eq!(d.format, DatasetFormat::Openai);
    assert_eq!(d.entries.len(), 2, "a blank line is no entry");
    assert_eq!(d.entries[0].max_tokens, Some(7));
    let EntryPrompt::Messages(m) = &d.entries[1].prompt else {
        panic!("messages");
    };
    assert_eq!(m[0]["content"], "tell me");
    assert_eq!(d.timeline_ms(), None);
}

#[test]
fn malformed_lines_are_named_with_their_field() {
    let cases = [
        ("{\"messages\":[]}\n", "line 1", "non-empty array"),
        (
            "{\"prompt\":\"a\"}\n{\"messages\":[{\"content\":\"x\"}]}\n",
            "line 2",
            "messages[0]",
        ),
        ("{\"prompt\":\"a\"}\nnot json\n", "line 2", "not JSON"),
        (
            "{\"prompt\":\"a\",\"max_tokens\":0}\n",
            "line 1",
            "`max_tokens`",
        ),
        ("[1,2]\n", "entry 1", "`conversations`"),
    ];
    for (text, at, field) in cases {
        let e = why(load(text, None).expect_err(text));
        assert!(e.contains(at) && e.contains(field), "{text:?}: {e}");
    }
    let e = why(load("{\"input_length\":5}\n{\"input_length\":-1}\n", None).expect_err("neg"));
    assert!(e.contains("line 2") && e.contains("`input_length`"), "{e}");
    let e = why(load("", Some(DatasetFormat::Openai)).expect_err("empty"));
    assert!(e.contains("no usable entry"), "{e}");
}

#[test]
fn sharegpt_takes_the_first_exchange_and_skips_conversations_without_one() {
    let d = load(
        r#"[{"conversations":[{"from":"system","value":"s"},{"from":"human","value":"q one"},{"from":"gpt","value":"a b c"},{"from":"human","value":"later"}]},
            {"conversations":[{"from":"gpt","value":"orphan"}]}]"#,
        None,
    )
    .expect("valid");
    assert_eq!(
        (d.format, d.entries.len(), d.skipped),
        (DatasetFormat::Sharegpt, 1, 1)
    );
    let EntryPrompt::Messages(m) = &d.entries[0].prompt else {
        panic!("messages");
    };
    assert_eq!(m.len(), 2, "system and the first human turn");
    assert_eq!(d.entries[0].reply_text.as_deref(), Some("a b c"));
}

#[test]
fn a_mooncake_trace_keeps_its_blocks_and_timeline() {
    let d = load(
        "{\"timestamp\":100,\"input_length\":700,\"output_length\":20,\"hash_ids\":[1,2]}\n{\"timestamp\":350,\"input_length\":600,\"output_length\":5,\"hash_ids\":[1,3]}\n",
        None,
    )
    .expect("valid");
    assert_eq!(d.format, DatasetFormat::Mooncake);
    assert_eq!(d.timeline_ms(), Some(vec![0.0, 250.0]));
    assert_eq!(
        d.entries[1].prompt,
        EntryPrompt::Blocks {
            hash_ids: vec![1, 3],
            input_length: 600
        }
    );
    let back = "{\"timestamp\":5,\"input_length\":1}\n{\"timestamp\":4,\"input_length\":1}\n";
    let e = why(load(back, None).expect_err("unsorted"));
    assert!(e.contains("entry 2") && e.contains("sort the trace"), "{e}");
    let mixed = "{\"timestamp\":5,\"input_length\":1}\n{\"input_length\":1}\n";
    assert!(why(load(mixed, None).expect_err("mixed")).contains("every entry"));
}

#[test]
fn files_are_bounded_and_must_be_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let e = why(Dataset::load(dir.path(), None).expect_err("a directory"));
    assert!(e.contains("not a regular file"), "{e}");
    let e = why(Dataset::load(&dir.path().join("missing"), None).expect_err("missing"));
    assert!(e.contains("cannot read dataset"), "{e}");
}
