//! Diagnostics never show a secret or an unmasked phone number, on any output path: `validate`
//! (text and `--format json`), and `plan` / `apply`, which print the same diagnostics on stderr
//! (errors, and the warnings of a valid config). Canary values are planted wherever a user might
//! paste them; none may appear in any output. And phone numbers are masked by one rule in every
//! output (diagnostics, plans, the simulator's call log).

use crate::common::cli::{Run, Sim, MSN};

/// Values that must never be printed.
const CANARIES: &[&str] = &[
    "4791234567",
    "98765432",
    "whsec_CanarySecret_0001",
    "whsec_CanarySecret_0002",
    "whsec_CanarySecret_0003",
    "Canary/Client+Secret=0004",
    "whsec_CanaryDotenv_0005",
    "whsec_CanaryList_0006",
    "whsec_CanaryEnv_0007",
];

/// A config folder with a canary in every place a diagnostic could quote it.
fn plant(sim: &Sim) {
    sim.write(
        "setup/shop.yaml",
        &format!(
            r#"version: 1
merchants:
  - msn: "{MSN}"
    credentials: {{ clientId: SHOP_ID, clientSecret: "Canary/Client+Secret=0004", subscriptionKey: SHOP_KEY }}
    webhooks:
      - url: https://shop.example/a
        events: [epayments.payment.captured.v1]
        secret: whsec_CanarySecret_0001
      - url: https://shop.example/b
        events: [epayments.payment.captured.v1]
        secret: {{ file: s.env, key: B, value: whsec_CanarySecret_0002 }}
      - url: https://shop.example/c
        events: [epayments.payment.captured.v1]
        secret:
          whsec_CanarySecret_0003
      - url: https://shop.example/d
        events: [epayments.payment.captured.v1]
        secret: ${{PASTED}}
    agreements:
      - externalId: a1
        productName: Gold
        pricing: {{ type: LEGACY, amount: 100, currency: NOK }}
        merchantRedirectUrl: https://shop.example/r
        phoneNumber: 4791234567
      - externalId: a2
        productName: Gold
        pricing: {{ type: LEGACY, amount: 100, currency: NOK }}
        merchantRedirectUrl: https://shop.example/r
        phoneNumber: "+47 987 65 432"
"#
        ),
    );
    // A dotenv secret sink named *.yaml, and a file that is a bare list, in the config folder.
    sim.write(
        "setup/secrets.yaml",
        "#vippsctl-webhook-id:HOOK_SECRET=1\nHOOK_SECRET=whsec_CanaryDotenv_0005\n",
    );
    sim.write("setup/list.yml", "- whsec_CanaryList_0006\n");
}

fn run(sim: &Sim, args: &[&str]) -> Run {
    sim.run_env(&sim.base_url(), &[("PASTED", "whsec_CanaryEnv_0007")], args)
}

fn assert_no_canary(what: &str, run: &Run) {
    for c in CANARIES {
        assert!(
            !run.stdout.contains(c) && !run.stderr.contains(c),
            "{what} shows `{c}`:\n{run}"
        );
    }
}

#[test]
fn validate_text_masks_every_part() {
    let sim = Sim::start();
    plant(&sim);
    let out = run(&sim, &["validate", "setup"]);
    assert_eq!(out.code, Some(1), "{out}");
    assert_no_canary("validate", &out);
    sim.settings()
        .bind(|| insta::assert_snapshot!("validate_text", out.to_string()));
}

#[test]
fn validate_json_masks_every_part() {
    let sim = Sim::start();
    plant(&sim);
    let out = run(&sim, &["validate", "setup", "--format", "json"]);
    assert_eq!(out.code, Some(1), "{out}");
    assert_no_canary("validate --format json", &out);
    let list: serde_json::Value = serde_json::from_str(&out.stdout).expect("JSON");
    assert!(list.as_array().is_some_and(|l| l.len() >= 7), "{out}");
    sim.settings()
        .bind(|| insta::assert_snapshot!("validate_json", out.stdout));
}

#[test]
fn plan_and_apply_mask_the_diagnostics_they_print() {
    let sim = Sim::start();
    plant(&sim);
    for args in [
        &["plan", "setup"][..],
        &["apply", "setup", "--auto-approve"][..],
        &["validate", "setup", "--strict"][..],
    ] {
        let out = run(&sim, args);
        assert_eq!(out.code, Some(1), "{out}");
        assert!(
            out.stdout.contains("error") || out.stderr.contains("error"),
            "{out}"
        );
        assert_no_canary(&args.join(" "), &out);
    }
    assert!(sim.writes().is_empty(), "an invalid config wrote something");
}

#[test]
fn warnings_of_a_valid_config_are_masked_too() {
    let sim = Sim::start();
    // An unquoted `yes` is a warning (YAML 1.1 tools read it as a boolean), here on the line that
    // holds the phone number.
    sim.write(
        "setup.yaml",
        &format!(
            "version: 1\nmerchants:\n  - msn: \"{MSN}\"\n    agreements:\n      - {{ externalId: a1, productName: yes, pricing: {{ type: LEGACY, amount: 100, currency: NOK }}, merchantRedirectUrl: https://shop.example/r, phoneNumber: \"4791234567\" }}\n"
        ),
    );
    for args in [&["validate", "setup.yaml"][..], &["plan", "setup.yaml"][..]] {
        let out = run(&sim, args);
        assert!(out.success(), "{out}");
        assert!(
            out.stdout.contains("warning") || out.stderr.contains("warning"),
            "{out}"
        );
        assert_no_canary(&args.join(" "), &out);
    }
}

#[test]
fn plan_time_diagnostics_are_masked_too() {
    let sim = Sim::start();
    // A callback QR with no check-in webhook is a plan-time problem at the QR's line, and this
    // line happens to hold the number that is a customer's phone number elsewhere in the file.
    sim.write(
        "setup.yaml",
        &format!(
            "version: 1\nmerchants:\n  - msn: \"{MSN}\"\n    callbackQrs:\n      - {{ merchantQrId: till-1, locationDescription: \"Ring 4791234567\" }}\n    agreements:\n      - externalId: a1\n        productName: Gold\n        pricing: {{ type: LEGACY, amount: 100, currency: NOK }}\n        merchantRedirectUrl: https://shop.example/r\n        phoneNumber: \"4791234567\"\n"
        ),
    );
    let out = run(&sim, &["plan", "setup.yaml"]);
    assert_eq!(out.code, Some(1), "{out}");
    assert!(out.stderr.contains("the plan cannot be made"), "{out}");
    assert!(out.stderr.contains("Ring ********67"), "{out}");
    assert_no_canary("plan (plan-time problem)", &out);
}

#[test]
fn phone_numbers_are_masked_by_one_rule_everywhere() {
    let sim = Sim::start();
    let config = |phone: &str| {
        format!(
            "version: 1\nmerchants:\n  - msn: \"{MSN}\"\n    agreements:\n      - externalId: a1\n        productName: Gold\n        pricing: {{ type: LEGACY, amount: 100, currency: NOK }}\n        merchantRedirectUrl: https://shop.example/r\n        merchantAgreementUrl: https://shop.example/account\n        phoneNumber: {phone}\n"
        )
    };
    // The rule: the last two digits stay, everything else is `*` (docs/concepts.md).
    const MASKED: &str = "********67";
    // Unquoted, the number is a type error: message, hint and source line show it masked.
    sim.write("setup.yaml", &config("4791234567"));
    let diagnostic = run(&sim, &["validate", "setup.yaml"]);
    assert!(
        diagnostic.stdout.matches(MASKED).count() >= 3,
        "{diagnostic}"
    );
    sim.write("setup.yaml", &config("\"4791234567\""));
    let plan = run(&sim, &["plan", "setup.yaml"]);
    assert!(plan.stdout.contains(MASKED), "{plan}");
    let json = run(&sim, &["plan", "setup.yaml", "--json"]);
    assert!(json.stdout.contains(MASKED), "{json}");
    let md = sim.path("plan.md");
    let md_arg = md.display().to_string();
    assert!(run(&sim, &["plan", "setup.yaml", "--markdown", &md_arg]).success());
    assert!(sim.read("plan.md").contains(MASKED));
    let apply = run(&sim, &["apply", "setup.yaml", "--auto-approve"]);
    assert!(apply.success(), "{apply}");
    let logged: Vec<String> = sim
        .calls()
        .iter()
        .filter_map(|c| {
            c.body
                .as_ref()?
                .get("phoneNumber")?
                .as_str()
                .map(str::to_string)
        })
        .collect();
    assert_eq!(logged, [MASKED], "the simulator's call log");
    for out in [&diagnostic, &plan, &json, &apply] {
        assert!(!out.stdout.contains("4791234567") && !out.stderr.contains("4791234567"));
        // The other rule that existed (first two and last two digits) is gone.
        assert!(!out.stdout.contains("47******67"), "{out}");
    }
    let state = format!("{:?}", sim.state());
    assert!(state.contains(MASKED) && !state.contains("4791234567"));
}
