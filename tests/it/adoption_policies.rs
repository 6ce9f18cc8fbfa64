//! `agreementPolicies`: located validation, one summary line per policy, conflicts named, apply
//! patches exactly the agreements still different, and declared agreements win.

use crate::common;

use common::binary::{run, start_sim, stderr, stdout, writes};
use std::path::Path;
use vippsctl::sim::{Agreement, AgreementStatus, Interval, Pricing, PricingType, SimHandle};

const MSN: &str = "123456";
const GOLD: usize = 240;

fn agreement(
    now: chrono::DateTime<chrono::Utc>,
    i: usize,
    product: &str,
    status: AgreementStatus,
    amount: i64,
) -> Agreement {
    Agreement {
        id: format!("agr_{i:05}"),
        uuid: uuid::Uuid::new_v4(),
        status,
        product_name: product.into(),
        product_description: None,
        pricing: Pricing {
            kind: PricingType::Legacy,
            currency: "NOK".into(),
            amount: Some(amount),
            suggested_max_amount: None,
            max_amount: None,
        },
        interval: Some(Interval {
            unit: "MONTH".into(),
            count: 1,
        }),
        merchant_agreement_url: None,
        merchant_redirect_url: "https://avis.example/takk".into(),
        external_id: Some(format!("{}-{i}", product.to_lowercase())),
        campaign: None,
        phone_number: None,
        created: now,
        start: None,
        stop: None,
    }
}

/// GOLD active Gold subscribers at 29900, 20 Silver ones, and a stopped Gold one.
fn seed(sim: &SimHandle) {
    // Read the clock first: `update` holds the simulator's lock.
    let now = sim.now();
    sim.update(|s| {
        let m = s.merchants.entry(MSN.into()).or_default();
        for i in 0..GOLD {
            let a = agreement(now, i, "Gold", AgreementStatus::Active, 29900);
            m.agreements.insert(a.id.clone(), a);
        }
        for i in GOLD..GOLD + 20 {
            let a = agreement(now, i, "Silver", AgreementStatus::Active, 19900);
            m.agreements.insert(a.id.clone(), a);
        }
        let a = agreement(now, 9999, "Gold", AgreementStatus::Stopped, 29900);
        m.agreements.insert(a.id.clone(), a);
    });
}

fn amounts(sim: &SimHandle) -> std::collections::BTreeMap<String, i64> {
    sim.state().merchants[MSN]
        .agreements
        .values()
        .map(|a| (a.id.clone(), a.pricing.amount.unwrap_or(0)))
        .collect()
}

const POLICY: &str = r#"version: 1
merchants:
  - msn: "123456"
    agreements:
      # Declared explicitly: wins over the policy.
      - externalId: gold-0
        productName: Gold
        pricing: { type: LEGACY, amount: 29900, currency: NOK }
        interval: { unit: MONTH, count: 1 }
        merchantRedirectUrl: https://avis.example/takk
    agreementPolicies:
      - name: gold-2027
        select: { productName: Gold, pricingType: LEGACY }
        set: { amount: 34900 }
"#;

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_policy_plans_one_line_and_applies_to_every_selected_agreement() {
    let sim = start_sim().await;
    seed(&sim);
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "setup.yaml", POLICY);
    let changed = GOLD - 1; // gold-0 is declared

    let out = run(
        &sim,
        dir.path(),
        &["plan", "setup.yaml", "--detailed-exitcode"],
    )
    .await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains(&format!(
            "~ {changed} agreements (policy gold-2027): pricing.amount 29900 -> 34900"
        )),
        "{text}"
    );
    assert!(text.contains("tell your customers"), "{text}");
    assert!(
        !text.contains("agr_00001"),
        "agreements are listed only with --detail:\n{text}"
    );
    assert!(
        text.contains(&format!("Plan: 0 to add, {changed} to change")),
        "{text}"
    );
    // Selected agreements are managed; the 20 Silver are left alone. Ended agreements are not
    // counted: Vipps lists one status per call, and a plan lists STOPPED and EXPIRED only when a
    // declared agreement needs them.
    assert!(
        text.contains("20 agreements not in the configuration"),
        "{text}"
    );

    let out = run(&sim, dir.path(), &["plan", "setup.yaml", "--detail"]).await;
    let text = stdout(&out);
    assert!(
        text.contains("~ 123456.agreements[agr_00001] (agr_00001)"),
        "{text}"
    );
    assert!(!text.contains("agreements[agr_00000]"), "{text}");

    // The pull-request comment summarises too.
    let out = run(
        &sim,
        dir.path(),
        &["plan", "setup.yaml", "--markdown", "plan.md"],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let md = std::fs::read_to_string(dir.path().join("plan.md")).unwrap();
    assert!(
        md.contains(&format!("~ {changed} agreements (policy gold-2027)")),
        "{md}"
    );
    assert!(!md.contains("agr_00001"), "{md}");

    // The JSON plan lists each change with its policy.
    let out = run(&sim, dir.path(), &["plan", "setup.yaml", "--json"]).await;
    assert_eq!(
        stdout(&out).matches("\"policy\": \"gold-2027\"").count(),
        changed
    );

    // An interrupted apply: 20 agreements already have the new price.
    sim.update(|s| {
        let m = s.merchants.get_mut(MSN).unwrap();
        for i in 1..=20 {
            if let Some(a) = m.agreements.get_mut(&format!("agr_{i:05}")) {
                a.pricing.amount = Some(34900);
            }
        }
    });
    let remaining = changed - 20;
    let out = run(&sim, dir.path(), &["plan", "setup.yaml"]).await;
    assert!(
        stdout(&out).contains(&format!("~ {remaining} agreements (policy gold-2027)")),
        "{}",
        stdout(&out)
    );
    sim.clear_calls();
    let out = run(&sim, dir.path(), &["apply", "setup.yaml", "--auto-approve"]).await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    let patches = writes(&sim);
    assert_eq!(patches.len(), remaining, "{patches:?}");
    assert!(patches
        .iter()
        .all(|p| p.starts_with("PATCH /recurring/v3/agreements/")));
    // Progress for a large run: counts, not one line per agreement.
    assert!(
        stderr(&out).contains(&format!("{remaining}/{remaining} done")),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).lines().count() < 40, "{}", stderr(&out));

    let after = amounts(&sim);
    for i in 1..GOLD {
        assert_eq!(after[&format!("agr_{i:05}")], 34900);
    }
    assert_eq!(after["agr_00000"], 29900, "the declared agreement wins");
    assert_eq!(
        after["agr_09999"], 29900,
        "stopped agreements are not selected"
    );
    assert_eq!(
        after[&format!("agr_{:05}", GOLD)],
        19900,
        "Silver is not selected"
    );

    let out = run(
        &sim,
        dir.path(),
        &["plan", "setup.yaml", "--detailed-exitcode"],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overlapping_policies_that_disagree_are_a_plan_error_naming_both() {
    let sim = start_sim().await;
    seed(&sim);
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "{POLICY}      - name: gold-early\n        select: {{ externalIdPrefix: gold-1, pricingType: LEGACY }}\n        set: {{ amount: 39900, productDescription: Early bird }}\n"
    );
    write(dir.path(), "setup.yaml", &text);
    let out = run(&sim, dir.path(), &["plan", "setup.yaml"]).await;
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let err = stderr(&out);
    assert!(err.contains("`gold-2027` and `gold-early`"), "{err}");
    assert!(err.contains("set pricing.amount differently"), "{err}");
    assert!(err.contains("setup.yaml:"), "located: {err}");
    assert!(writes(&sim).is_empty());

    // Policies that agree, or set different fields, combine.
    let text = format!(
        "{POLICY}      - name: gold-text\n        select: {{ externalIdPrefix: gold-1, pricingType: LEGACY }}\n        set: {{ amount: 34900, productDescription: Early bird }}\n"
    );
    write(dir.path(), "setup.yaml", &text);
    let out = run(&sim, dir.path(), &["plan", "setup.yaml"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("(policy gold-2027+gold-text): pricing.amount 29900 -> 34900; productDescription (none) -> \"Early bird\""), "{}", stdout(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn policies_are_validated_with_locations() {
    let sim = start_sim().await;
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "bad.yaml",
        r#"version: 1
merchants:
  - msn: "123456"
    agreementPolicies:
      - name: p1
        select: { productName: Gold }
        set: { amount: 34900 }
      - name: p1
        select: { productName: Gold, pricingType: VARIABLE }
        set: {}
      - name: p3
        select: { status: [STOPPED] }
        set: { productName: Gold }
      - name: p4
        select: { status: [PENDING] }
        set: { merchantAgreementUrl: "http://avis.example/konto" }
"#,
    );
    let out = run(&sim, dir.path(), &["validate", "bad.yaml"]).await;
    assert_eq!(out.status.code(), Some(1));
    let text = format!("{}{}", stdout(&out), stderr(&out));
    for want in [
        "bad.yaml:7:24: error: agreement policy `p1` sets `amount`, which only LEGACY agreements have",
        "bad.yaml:8:15: error: merchant 123456: agreement policy `p1` is declared twice",
        "bad.yaml:10:14: error: agreement policy `p1` sets nothing",
        "bad.yaml:12:28: error: `status` `STOPPED` is not one of ACTIVE, PENDING",
        "bad.yaml:16:38: error: `merchantAgreementUrl` must use https",
        "bad.yaml:15:19: warning: agreement policy `p4` selects every agreement",
    ] {
        assert!(text.contains(want), "missing {want:?} in:\n{text}");
    }
}
