//! The saved-plan reader (`apply PLAN` reads a file someone else may have written or edited) on
//! hostile input: random bytes, valid plans with values swapped for wrong types, extreme numbers,
//! control characters and huge strings, deep nesting and a huge file. It never panics, never
//! recurses without bound, and its memory stays proportional to the input. Whatever it accepts
//! can be rendered. Deterministic: proptest runs a fixed number of cases from a fixed seed.

use crate::proof;

use proptest::prelude::*;
use proptest::test_runner::{Config as PropConfig, RngAlgorithm, TestRng, TestRunner};
use serde_json::Value;
use vippsctl::plan::render::{json, markdown, text};
use vippsctl::plan::{DiffOptions, LiveMerchant, PlanContext};

/// A real plan for 40 objects, as `plan --out` writes it.
fn saved_plan() -> String {
    let dir = tempfile::tempdir().unwrap();
    let size = proof::Size {
        webhooks: 4,
        redirect_qrs: 15,
        callback_qrs: 5,
        agreements: 15,
    };
    let (_, config) = proof::write_config(dir.path(), size, Some("4791234567"));
    let live = LiveMerchant {
        msn: proof::MSN.into(),
        webhooks: Some(vec![]),
        redirect_qrs: Some(vec![]),
        callback_qrs: Some(vec![]),
        agreements: Some(vec![]),
    };
    let ctx = PlanContext {
        environment: vippsctl::domain::Environment::Test,
        base_url: "https://apitest.vipps.no".into(),
        config_files: vec!["setup.yaml".into()],
        config_digest: "abc".into(),
        spec_versions: "test".into(),
    };
    let plan =
        vippsctl::plan::diff(&config.config, &[live], &ctx, &DiffOptions::default()).unwrap();
    json::render(&plan)
}

/// Read, and render whatever was accepted: neither may panic.
fn read_and_render(input: &str) {
    if let Ok(plan) = json::read("fuzz.json", input) {
        let _ = text::render(&plan, text::Style { color: true });
        let _ = markdown::render(&plan);
        let _ = json::render(&plan);
    }
}

fn runner(cases: u32) -> TestRunner {
    TestRunner::new_with_rng(
        PropConfig {
            cases,
            failure_persistence: None,
            // Shrinking 70 kB strings takes minutes; the failing case is reported unshrunk.
            max_shrink_iters: 20,
            ..PropConfig::default()
        },
        TestRng::from_seed(RngAlgorithm::ChaCha, &[7; 32]),
    )
}

#[test]
fn random_bytes_never_panic() {
    runner(500)
        .run(&prop::collection::vec(any::<u8>(), 0..2000), |bytes| {
            read_and_render(&String::from_utf8_lossy(&bytes));
            Ok(())
        })
        .unwrap();
}

/// Replacement values: wrong types, extremes, text that terminals and markdown treat specially.
fn hostile_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        Just(Value::Bool(true)),
        Just(serde_json::json!(-1)),
        Just(serde_json::json!(u64::MAX)),
        Just(serde_json::json!(i64::MIN)),
        Just(serde_json::json!(1.0e308)),
        Just(serde_json::json!([])),
        Just(serde_json::json!({})),
        Just(serde_json::json!("")),
        Just(serde_json::json!(
            "\u{1b}[31mred\u{1b}[0m\r\n| --- |\u{0}\u{202e}"
        )),
        Just(serde_json::json!("x".repeat(3_000))),
        Just(serde_json::json!("123456.webhooks[https://evil.example/]")),
        "[a-z_]{1,12}".prop_map(Value::String),
        any::<i64>().prop_map(|n| serde_json::json!(n)),
    ]
}

/// Pick the `n`-th node of the document (pre-order) and replace it (or drop it from its parent).
fn mutate(v: &mut Value, n: &mut usize, with: &Value, drop: bool) -> bool {
    if *n == 0 {
        *v = with.clone();
        return true;
    }
    *n -= 1;
    match v {
        Value::Array(items) => {
            for i in 0..items.len() {
                if *n == 0 && drop {
                    items.remove(i);
                    return true;
                }
                if mutate(&mut items[i], n, with, drop) {
                    return true;
                }
            }
        }
        Value::Object(map) => {
            let keys: Vec<String> = map.keys().cloned().collect();
            for k in keys {
                if *n == 0 && drop {
                    map.remove(&k);
                    return true;
                }
                if let Some(child) = map.get_mut(&k) {
                    if mutate(child, n, with, drop) {
                        return true;
                    }
                }
            }
        }
        _ => {}
    }
    false
}

#[test]
fn mutated_saved_plans_never_panic() {
    let base: Value = serde_json::from_str(&saved_plan()).unwrap();
    let accepted = std::cell::Cell::new(0u32);
    let mut runner = runner(400);
    runner
        .run(
            &prop::collection::vec((any::<usize>(), hostile_value(), any::<bool>()), 1..4),
            |edits| {
                let mut doc = base.clone();
                for (at, with, drop) in &edits {
                    let mut n = at % 2000;
                    mutate(&mut doc, &mut n, with, *drop);
                }
                let text = serde_json::to_string(&doc).unwrap();
                if json::read("fuzz.json", &text).is_ok() {
                    accepted.set(accepted.get() + 1);
                }
                read_and_render(&text);
                // The same document cut short anywhere is an error, never a panic.
                let cut = text.len() * (edits.len() % 3 + 1) / 4;
                let cut = (0..=cut)
                    .rev()
                    .find(|i| text.is_char_boundary(*i))
                    .unwrap_or(0);
                assert!(json::read("fuzz.json", &text[..cut]).is_err());
                Ok(())
            },
        )
        .unwrap();
    // Some mutations keep the plan valid (a changed string): the reader is exercised past its
    // version check, not only on its first error.
    assert!(accepted.get() > 0);
}

/// Regression: a field name longer than a format width may be (u16::MAX) panicked the text
/// renderer. Found by `mutated_saved_plans_never_panic`. Field names are a closed set now: such a
/// name is refused as not a plan, and a key that long (which any address may have) renders.
#[test]
fn a_field_name_or_key_longer_than_any_format_width_is_no_panic() {
    let text = saved_plan();
    let mut doc: Value = serde_json::from_str(&text).unwrap();
    let field = doc
        .pointer_mut("/resource_changes/0/vippsctl/fields/0/field")
        .expect("a plan with fields");
    *field = Value::String("f".repeat(70_000));
    let err = json::read("p.json", &doc.to_string()).unwrap_err();
    assert!(err.to_string().contains("not a vippsctl plan"), "{err}");

    let mut doc: Value = serde_json::from_str(&text).unwrap();
    let long = "k".repeat(70_000);
    let rc = doc.pointer_mut("/resource_changes/0").expect("a change");
    let address = format!(
        "{}.{}[{long}]",
        rc["msn"].as_str().unwrap(),
        rc["kind"].as_str().unwrap()
    );
    rc["key"] = Value::String(long.clone());
    rc["address"] = Value::String(address);
    let plan = json::read("p.json", &doc.to_string()).unwrap();
    let out = text::render(&plan, text::Style { color: false });
    assert!(out.contains(&long));
}

#[test]
fn the_untouched_plan_reads_back() {
    let text = saved_plan();
    let plan = json::read("plan.json", &text).unwrap();
    assert_eq!(json::render(&plan), text);
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    for open in ["[", "{\"a\":"] {
        let doc = format!(
            "{{\"format_version\":\"2\",\"merchants\":{}",
            open.repeat(200_000)
        );
        let err = json::read("deep.json", &doc).unwrap_err();
        assert!(err.to_string().contains("not a vippsctl plan"), "{err}");
    }
    let deep_first = format!("{}1{}", "[".repeat(200_000), "]".repeat(200_000));
    assert!(json::read("deep.json", &deep_first).is_err());
}

#[test]
fn versions_and_numbers_out_of_range_are_clear_errors() {
    let base = saved_plan();
    for v in [
        "1",
        "2",
        "\"3\"",
        "0",
        "-1",
        "1e400",
        "18446744073709551616",
        "\"1\"",
        "null",
    ] {
        let doc = base.replacen(
            "\"format_version\": \"2\"",
            &format!("\"format_version\": {v}"),
            1,
        );
        let err = json::read("p.json", &doc).unwrap_err().to_string();
        assert!(
            err.contains("format version") || err.contains("not a vippsctl plan"),
            "{v}: {err}"
        );
    }
}

/// Peak resident memory of this process in KiB (Linux).
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

const HUGE_MIB: usize = 48;

/// Runs in its own process (see the next test) so its peak memory is its own.
#[test]
fn huge_plan_is_read_in_memory_proportional_to_it() {
    let base = saved_plan();
    // A valid plan whose one string field is HUGE_MIB long, and one with a huge array of junk.
    let long = "y".repeat(HUGE_MIB << 20);
    let doc = base.replacen(
        "\"config_digest\": \"abc\"",
        &format!("\"config_digest\": \"{long}\""),
        1,
    );
    drop(long);
    let plan = json::read("huge.json", &doc).expect("a long field is still a plan");
    assert_eq!(plan.config_digest.len(), HUGE_MIB << 20);
    drop(plan);
    drop(doc);
    let junk = format!(
        "{{\"format_version\":\"2\",\"merchants\":[{}0]}}",
        "{\"msn\":\"1\"},".repeat((HUGE_MIB << 20) / 14)
    );
    assert!(json::read("junk.json", &junk).is_err());
    if let Some(kib) = peak_rss_kib() {
        println!("PEAK_RSS_KIB={kib}");
    }
}

#[test]
fn huge_plan_peak_memory_is_bounded() {
    let Some(_) = peak_rss_kib() else {
        eprintln!("no /proc/self/status here; skipping the memory measurement");
        return;
    };
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "proof_fuzz::huge_plan_is_read_in_memory_proportional_to_it",
            "--nocapture",
            "--test-threads=1",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let kib: u64 = stdout
        .split("PEAK_RSS_KIB=")
        .nth(1)
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("peak not printed:\n{stdout}"));
    eprintln!("peak RSS reading a {HUGE_MIB} MiB plan: {} MiB", kib / 1024);
    // The input, one copy of it in the parsed plan, and slack: not a multiple of the input.
    let bound_mib = 4 * HUGE_MIB as u64 + 64;
    assert!(
        kib / 1024 < bound_mib,
        "peak {} MiB >= {bound_mib} MiB",
        kib / 1024
    );
}
