//! `vippsctl import`: what it writes plans to no changes, and it is careful with files and secrets.

use crate::common;

use common::binary::{run, start_sim, stderr, stdout, writes};
use std::collections::BTreeMap;
use vippsctl::domain::Secret;
use vippsctl::sim::{
    Agreement, AgreementStatus, CallbackQr, Interval, MerchantState, Pricing, PricingType,
    RedirectQr, SimHandle, Webhook,
};

const MSN: &str = "123456";
const OTHER: &str = "234567";

fn agreement(
    sim: &SimHandle,
    id: &str,
    ext: Option<&str>,
    status: AgreementStatus,
    pricing: Pricing,
) -> Agreement {
    Agreement {
        id: id.into(),
        uuid: uuid::Uuid::new_v4(),
        status,
        product_name: "Avis: \"Gull\" # no comment".into(),
        product_description: Some("Papir og digitalt".into()),
        pricing,
        interval: Some(Interval {
            unit: "MONTH".into(),
            count: 1,
        }),
        merchant_agreement_url: Some("https://avis.example/konto".into()),
        merchant_redirect_url: "https://avis.example/takk".into(),
        external_id: ext.map(str::to_string),
        campaign: None,
        phone_number: Some(vippsctl::sim::Msisdn("4791234567".into())),
        created: sim.now(),
        start: None,
        stop: None,
    }
}

fn legacy(amount: i64) -> Pricing {
    Pricing {
        kind: PricingType::Legacy,
        currency: "NOK".into(),
        amount: Some(amount),
        suggested_max_amount: None,
        max_amount: None,
    }
}

/// Objects of every kind, with awkward values: a url registered twice with other events, ids
/// with spaces and YAML-special text, an expiring QR, agreements in every status.
fn seed(sim: &SimHandle) {
    let mut m = MerchantState::default();
    for (url, events) in [
        (
            "https://kaffe.example/vipps",
            vec!["epayments.payment.captured.v1"],
        ),
        (
            "https://kaffe.example/vipps",
            vec![
                "epayments.payment.cancelled.v1",
                "epayments.payment.refunded.v1",
            ],
        ),
        ("https://kaffe.example/check-in", vec!["user.checked-in.v1"]),
    ] {
        m.webhooks.push(Webhook {
            id: uuid::Uuid::new_v4(),
            url: url.into(),
            events: events.into_iter().map(str::to_string).collect(),
            secret: Secret::new("whsec-never-printed-9f8e7d"),
        });
    }
    for (id, ttl) in [("bord 1", None), ("no", None), ("sommer", Some(86_400))] {
        m.redirect_qrs.insert(
            id.into(),
            RedirectQr {
                id: id.into(),
                redirect_url: format!("https://kaffe.example/meny?bord={}", id.len()),
                ttl,
                created: sim.now(),
                content: None,
            },
        );
    }
    for (id, text) in [("till-1", "Kasse 1 ved døra"), ("0123", "yes")] {
        m.callback_qrs.insert(
            id.into(),
            CallbackQr {
                merchant_qr_id: id.into(),
                location_description: text.into(),
            },
        );
    }
    let mut agreements = BTreeMap::new();
    for a in [
        agreement(
            sim,
            "agr_1",
            Some("kunde-1"),
            AgreementStatus::Active,
            legacy(29900),
        ),
        agreement(
            sim,
            "agr_2",
            Some("kunde-2"),
            AgreementStatus::Pending,
            legacy(29900),
        ),
        agreement(
            sim,
            "agr_3",
            Some("kunde-3"),
            AgreementStatus::Stopped,
            legacy(19900),
        ),
        agreement(sim, "agr_4", None, AgreementStatus::Active, legacy(100)),
        agreement(
            sim,
            "agr_5",
            Some("kunde-5"),
            AgreementStatus::Active,
            Pricing {
                kind: PricingType::Variable,
                currency: "DKK".into(),
                amount: None,
                suggested_max_amount: Some(50000),
                max_amount: Some(60000),
            },
        ),
    ] {
        agreements.insert(a.id.clone(), a);
    }
    m.agreements = agreements;
    let mut other = MerchantState::default();
    other.redirect_qrs.insert(
        "skilt".into(),
        RedirectQr {
            id: "skilt".into(),
            redirect_url: "https://bakeri.example/".into(),
            ttl: None,
            created: sim.now(),
            content: None,
        },
    );
    sim.update(|s| {
        s.merchants.insert(MSN.into(), m);
        s.merchants.insert(OTHER.into(), other);
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imported_config_validates_and_plans_to_no_changes() {
    let sim = start_sim().await;
    seed(&sim);
    let dir = tempfile::tempdir().unwrap();
    let out = run(
        &sim,
        dir.path(),
        &[
            "import",
            "--msn",
            MSN,
            "--msn",
            OTHER,
            "--agreement-status",
            "ACTIVE,PENDING,STOPPED",
            "--out",
            "imported.yaml",
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(writes(&sim).is_empty(), "import wrote: {:?}", writes(&sim));
    let yaml = std::fs::read_to_string(dir.path().join("imported.yaml")).unwrap();
    assert!(
        yaml.starts_with("# yaml-language-server: $schema="),
        "{yaml}"
    );
    // The secret is never in the output; the file says how to rotate it.
    assert!(!yaml.contains("whsec"), "{yaml}");
    assert!(
        yaml.contains("vippsctl plan --replace '123456.webhooks[https://kaffe.example/check-in]'"),
        "{yaml}"
    );
    assert!(yaml.contains("`secret:` sink"), "{yaml}");
    // Personal data is neither recovered nor leaked.
    assert!(!yaml.contains("4791234567") && yaml.contains("phoneNumber: not returned"));
    assert!(
        yaml.contains("without an externalId were left out"),
        "{yaml}"
    );
    // Merchants in the order asked.
    assert!(yaml.find("msn: \"123456\"") < yaml.find("msn: \"234567\""));

    let valid = run(&sim, dir.path(), &["validate", "imported.yaml"]).await;
    assert_eq!(
        valid.status.code(),
        Some(0),
        "{}{}\n{yaml}",
        stdout(&valid),
        stderr(&valid)
    );

    sim.clear_calls();
    let plan = run(
        &sim,
        dir.path(),
        &["plan", "--detailed-exitcode", "imported.yaml"],
    )
    .await;
    assert_eq!(
        plan.status.code(),
        Some(0),
        "{}{}\n{yaml}",
        stdout(&plan),
        stderr(&plan)
    );
    assert!(stdout(&plan).contains("No changes."), "{}", stdout(&plan));
    assert!(writes(&sim).is_empty());

    // Stable: a second import of the same state is the same text (but for the seconds a QR has
    // left, which the clock moves).
    let again = run(
        &sim,
        dir.path(),
        &[
            "import",
            "--msn",
            MSN,
            "--msn",
            OTHER,
            "--agreement-status",
            "ACTIVE,PENDING,STOPPED",
        ],
    )
    .await;
    let steady = |y: &str| -> String {
        y.lines()
            .filter(|l| !l.contains("ttl") && !l.contains("seconds left"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(steady(&stdout(&again)), steady(&yaml));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_refuses_to_overwrite_without_force() {
    let sim = start_sim().await;
    seed(&sim);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("mine.yaml"), "keep me").unwrap();
    let out = run(
        &sim,
        dir.path(),
        &["import", "--msn", MSN, "--out", "mine.yaml"],
    )
    .await;
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("--force"), "{}", stderr(&out));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("mine.yaml")).unwrap(),
        "keep me"
    );
    let out = run(
        &sim,
        dir.path(),
        &[
            "import",
            "--msn",
            MSN,
            "--out",
            "mine.yaml",
            "--force",
            "--kinds",
            "redirectQrs",
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let yaml = std::fs::read_to_string(dir.path().join("mine.yaml")).unwrap();
    assert!(
        yaml.contains("redirectQrs:") && !yaml.contains("webhooks:"),
        "{yaml}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_filters_agreements_and_rejects_bad_options() {
    let sim = start_sim().await;
    seed(&sim);
    let dir = tempfile::tempdir().unwrap();
    let out = run(
        &sim,
        dir.path(),
        &["import", "--msn", MSN, "--kinds", "agreements"],
    )
    .await;
    let yaml = stdout(&out);
    // Default: ACTIVE and PENDING only.
    assert!(
        yaml.contains("\"kunde-1\"") && yaml.contains("\"kunde-2\""),
        "{yaml}"
    );
    assert!(!yaml.contains("kunde-3"), "{yaml}");
    let out = run(
        &sim,
        dir.path(),
        &[
            "import",
            "--msn",
            MSN,
            "--kinds",
            "agreements",
            "--created-after",
            "2999-01-01",
        ],
    )
    .await;
    assert!(!stdout(&out).contains("kunde-"), "{}", stdout(&out));
    for bad in [
        vec!["import", "--msn", MSN, "--kinds", "qr"],
        vec!["import", "--msn", MSN, "--agreement-status", "DONE"],
        vec!["import", "--msn", MSN, "--created-after", "31.12.2026"],
        vec!["import", "--msn", "12x"],
        vec!["import"],
        vec!["import", "--msn", MSN, "--shard", "0/3"],
    ] {
        let out = run(&sim, dir.path(), &bad).await;
        assert_eq!(out.status.code(), Some(1), "{bad:?}");
        assert!(stderr(&out).contains("error:"), "{bad:?}: {}", stderr(&out));
    }
}
