//! Webhook secrets never overwrite each other: two webhooks whose secret goes to the same file
//! and key fail `validate`, the names `apply --secrets-out` makes are unique, and the pull-request
//! comment warns at the top when a secret will have no sink.

use crate::common::cli::{Sim, MSN};

/// `setup.yaml`: the sandbox merchant with these webhook list items.
fn webhooks(sim: &Sim, items: &str) {
    let head = format!("version: 1\nmerchants:\n  - msn: \"{MSN}\"\n    webhooks:\n");
    sim.write("setup.yaml", &(head + items));
}

#[test]
fn two_webhooks_writing_one_file_and_key_fail_validate() {
    let sim = Sim::start();
    // In one file (`./s.env` is `s.env`), and across two files of a folder and two merchants.
    sim.write(
        "setup/a.yaml",
        &format!(
            r#"version: 1
merchants:
  - msn: "{MSN}"
    webhooks:
      - url: https://shop.example/payments
        events: [epayments.payment.captured.v1]
        secret: {{ file: s.env, key: HOOK_SECRET }}
      - url: https://shop.example/agreements
        events: [recurring.agreement-stopped.v1]
        secret: {{ file: ./s.env, key: HOOK_SECRET }}
"#
        ),
    );
    sim.write(
        "setup/b.yaml",
        r#"version: 1
merchants:
  - msn: "654321"
    webhooks:
      - url: https://other.example/payments
        events: [epayments.payment.captured.v1]
        secret: { file: s.env, key: HOOK_SECRET }
      - url: https://other.example/checkins
        events: [user.checked-in.v1]
        secret: { file: s.env, key: CHECKIN_SECRET }
"#,
    );
    let out = sim.run(&["validate", "setup"]);
    assert_eq!(out.code, Some(1), "{out}");
    assert_eq!(
        out.stdout.matches("goes to key `HOOK_SECRET` of").count(),
        2,
        "{out}"
    );
    sim.settings()
        .bind(|| insta::assert_snapshot!("one_file_and_key", out.to_string()));
}

#[test]
fn secrets_out_gives_each_webhook_its_own_key() {
    let sim = Sim::start();
    // One url with two event sets: two registrations, two secrets.
    webhooks(
        &sim,
        "      - url: https://shop.example/hook\n        events: [epayments.payment.captured.v1]\n      - url: https://shop.example/hook\n        events: [recurring.agreement-stopped.v1]\n",
    );
    let run = sim.run(&[
        "apply",
        "setup.yaml",
        "--auto-approve",
        "--secrets-out",
        "out.env",
    ]);
    assert!(run.success(), "{run}");
    let text = sim.read("out.env");
    let hooks = sim.state().merchants[MSN].webhooks.clone();
    assert_eq!(hooks.len(), 2);
    let mut keys = Vec::new();
    for h in &hooks {
        let line = text
            .lines()
            .find(|l| l.ends_with(&format!("={}", h.secret.expose())))
            .unwrap_or_else(|| panic!("the secret of {:?} is not in out.env:\n{text}", h.events));
        keys.push(line.split('=').next().unwrap_or_default().to_string());
    }
    assert_ne!(keys[0], keys[1], "{text}");
    for k in &keys {
        assert!(
            k.starts_with(&format!("VIPPS_WEBHOOK_SECRET_{MSN}_SHOP_EXAMPLE_HOOK_")),
            "{k}"
        );
    }
    let again = sim.run(&["plan", "setup.yaml", "--detailed-exitcode"]);
    assert_eq!(again.code, Some(0), "{again}");
}

#[test]
fn the_markdown_plan_warns_at_the_top_about_a_secret_without_sink() {
    let sim = Sim::start();
    webhooks(
        &sim,
        "      - url: https://shop.example/hook\n        events: [epayments.payment.captured.v1]\n      - url: https://shop.example/stored\n        events: [epayments.payment.captured.v1]\n        secret: { file: s.env, key: STORED }\n",
    );
    let run = sim.run(&["plan", "setup.yaml", "--markdown", "plan.md"]);
    assert!(run.success(), "{run}");
    let md = sim.read("plan.md");
    let head = &md[..md.find("<details>").expect("a merchant section")];
    assert!(head.contains("> [!WARNING]"), "{md}");
    assert!(
        head.contains(&format!(
            "> - `+` `{MSN}.webhooks[https://shop.example/hook]`: no secret sink declared"
        )),
        "{md}"
    );
    assert!(!head.contains("shop.example/stored"), "{md}");
    sim.settings()
        .bind(|| insta::assert_snapshot!("markdown_head", head));
}
