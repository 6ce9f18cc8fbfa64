//! `vippsctl validate` reports every problem at once and each cause once: a type error does not
//! hide the checks of the objects around it, an unset `${VAR}` is not also reported as a bad
//! value, a secret sink that mixes its two forms says so, and agreement policies that certainly
//! disagree are caught offline, not only by `plan`.

use crate::common::cli::{Run, Sim};

fn validate(sim: &Sim, yaml: &str) -> Run {
    sim.write("setup.yaml", yaml);
    sim.run(&["validate", "setup.yaml"])
}

/// The `file:line:col: severity: message` lines of a validate run.
fn headlines(run: &Run) -> Vec<String> {
    run.stdout
        .lines()
        .filter(|l| l.starts_with("setup.yaml:"))
        .map(str::to_string)
        .collect()
}

#[test]
fn a_type_error_does_not_hide_the_other_checks() {
    let sim = Sim::start();
    // Each object has a type error (unquoted MSN, events not a list, a quoted amount) and a
    // problem that only the cross-object rules see (http URLs, a duplicate, an unknown event).
    let out = validate(
        &sim,
        r#"version: 1
merchants:
  - msn: 123456
    webhooks:
      - url: http://shop.example/hook
        events: epayments.payment.capturd.v1
      - url: http://shop.example/hook
        events: [epayments.payment.capturd.v1]
    agreements:
      - externalId: a1
        productName: Gold
        pricing: { type: LEGACY, amount: "100", currency: NOK }
        merchantRedirectUrl: http://shop.example/r
        merchantAgreementUrl: https://shop.example/account
"#,
    );
    assert_eq!(out.code, Some(1), "{out}");
    let lines = headlines(&out);
    for expected in [
        "setup.yaml:3:10: error: `msn`: expected a string",
        "setup.yaml:5:14: error: webhook `url` must use https, not http",
        "setup.yaml:6:17: error: `events`: expected a list",
        "setup.yaml:7:9: error: webhook with this url and events [epayments.payment.capturd.v1] is declared twice",
        "setup.yaml:8:18: warning: unknown webhook event `epayments.payment.capturd.v1`",
        "setup.yaml:12:42: error: `amount`: expected a whole number",
        "setup.yaml:13:30: error: `merchantRedirectUrl` must use https, not http",
    ] {
        assert!(
            lines.iter().any(|l| l.starts_with(expected)),
            "missing `{expected}`:\n{out}"
        );
    }
    sim.settings()
        .bind(|| insta::assert_snapshot!("type_error_and_rules", out.to_string()));
}

#[test]
fn an_unset_variable_is_one_problem_not_two() {
    let sim = Sim::start();
    let out = validate(
        &sim,
        r#"version: 1
merchants:
  - msn: "123456"
    webhooks:
      - url: ${HOOK_URL}
        events: [epayments.payment.captured.v1]
    redirectQrs:
      - id: t1
        redirectUrl: https://${SHOP_HOST_UNSET}/menu
    agreements:
      - externalId: a1
        productName: Gold
        pricing: { type: LEGACY, amount: 100, currency: NOK }
        merchantRedirectUrl: ${RETURN_URL}
        merchantAgreementUrl: https://shop.example/account
"#,
    );
    assert_eq!(out.code, Some(1), "{out}");
    let lines = headlines(&out);
    assert_eq!(lines.len(), 3, "one diagnostic per unset variable:\n{out}");
    assert!(
        lines.iter().all(|l| l.contains("is not set")),
        "a value with an unset variable is also reported as invalid:\n{out}"
    );
    sim.settings()
        .bind(|| insta::assert_snapshot!("unset_variables", out.to_string()));
}

#[test]
fn a_sink_with_file_and_command_names_its_two_forms() {
    let sim = Sim::start();
    let out = validate(
        &sim,
        r#"version: 1
merchants:
  - msn: "123456"
    webhooks:
      - url: https://shop.example/hook
        events: [epayments.payment.captured.v1]
        secret: { file: s.env, key: HOOK, command: [pass, insert, hook] }
"#,
    );
    assert_eq!(out.code, Some(1), "{out}");
    assert!(
        out.stdout
            .contains("a secret sink takes one of `{ file, key }` or `{ command }`"),
        "{out}"
    );
    assert!(!out.stdout.contains("unknown field"), "{out}");
    sim.settings()
        .bind(|| insta::assert_snapshot!("sink_with_two_forms", out.to_string()));
}

#[test]
fn policies_that_certainly_disagree_fail_validate() {
    let sim = Sim::start();
    let policies = |second_select: &str| {
        format!(
            r#"version: 1
merchants:
  - msn: "123456"
    agreementPolicies:
      - name: gold-2027
        select: {{ productName: Gold, pricingType: LEGACY }}
        set: {{ amount: 34900 }}
      - name: gold-campaign
        select: {second_select}
        set: {{ amount: 29900, productName: Gold }}
"#
        )
    };
    // The second selects a subset of the first's agreements (same product, ACTIVE, a prefix):
    // every agreement it selects would get two prices.
    let out = validate(
        &sim,
        &policies("{ productName: Gold, pricingType: LEGACY, externalIdPrefix: camp- }"),
    );
    assert_eq!(out.code, Some(1), "{out}");
    assert!(
        out.stdout.contains("every agreement that policy `gold-campaign` selects is also selected by `gold-2027`, and they set `amount` differently"),
        "{out}"
    );
    sim.settings()
        .bind(|| insta::assert_snapshot!("policies_disagree", out.to_string()));

    // Selections that may not overlap (two product names) are left to plan, which sees the
    // live agreements.
    let out = validate(
        &sim,
        &policies("{ productName: Silver, pricingType: LEGACY }"),
    );
    assert_eq!(out.code, Some(0), "{out}");
    // Overlapping selections that set the same value agree.
    let agree = policies("{ productName: Gold, pricingType: LEGACY }")
        .replace("amount: 29900, productName: Gold", "amount: 34900");
    let out = validate(&sim, &agree);
    assert_eq!(out.code, Some(0), "{out}");
}

/// The Recurring spec requires `merchantAgreementUrl` for Norwegian merchants and the sandbox
/// refuses a draft without it: validate says so before a plan is made (and `--strict` fails),
/// for agreements to draft only (a declared STOPPED one is never drafted).
#[test]
fn an_agreement_to_draft_without_merchant_agreement_url_is_warned_about() {
    let sim = Sim::start();
    let yaml = r#"version: 1
merchants:
  - msn: "123456"
    agreements:
      - externalId: a1
        productName: Gold
        pricing: { type: LEGACY, amount: 100, currency: NOK }
        merchantRedirectUrl: https://shop.example/r
      - externalId: a2
        productName: Gold
        pricing: { type: LEGACY, amount: 100, currency: NOK }
        merchantRedirectUrl: https://shop.example/r
        status: STOPPED
"#;
    let out = validate(&sim, yaml);
    assert_eq!(out.code, Some(0), "{out}");
    let lines = headlines(&out);
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.contains("merchantAgreementUrl"))
            .count(),
        1,
        "{out}"
    );
    assert!(
        lines.iter().any(|l| l
            .starts_with("setup.yaml:5:9: warning: agreement `a1` has no `merchantAgreementUrl`")),
        "{out}"
    );
    let strict = sim.run(&["validate", "--strict", "setup.yaml"]);
    assert_eq!(strict.code, Some(1), "{strict}");
}
