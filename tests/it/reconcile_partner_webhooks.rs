//! Partner webhooks through the real binary: declared once under `partner:`, registered with the
//! partner's keys and no `Merchant-Serial-Number`, planned and applied like a merchant's, and
//! delivered by the simulator for every merchant of the partner (API-FACTS 6), with the
//! sales unit's own `user.checked-in.v1` registration winning where both exist.

use crate::common::cli::{dotenv_value, Run, Sim};
use crate::sim_delivery::{control, forward, receiver, settled, verify};
use serde_json::{json, Value};
use vippsctl::api::credentials::Credentials;
use vippsctl::api::vipps::MerchantApi;
use vippsctl::api::Transport;
use vippsctl::sim::{
    SimConfig, SimCredentials, SANDBOX_PARTNER_CLIENT_ID, SANDBOX_PARTNER_CLIENT_SECRET,
    SANDBOX_PARTNER_SUBSCRIPTION_KEY,
};

const A: &str = "123456";
const B: &str = "234567";
const PAYMENTS: &str = "https://partner.example.com/vipps/payments";
const PARTNER_CHECK_IN: &str = "https://partner.example.com/vipps/check-in";
const OWN_CHECK_IN: &str = "https://kaffe.example.com/vipps/check-in";

/// Two sales units with their own keys (A has the sandbox's), and partner keys acting for both.
fn partner_sim() -> Sim {
    Sim::with_config(SimConfig::test().with_sales_units([A, B]).with_partner())
}

/// The variables the configurations below name: B's own keys and the partner's.
fn env() -> Vec<(&'static str, String)> {
    let b = SimCredentials::for_sales_unit(B);
    vec![
        ("B_ID", b.client_id.clone()),
        ("B_SECRET", b.client_secret.expose().to_string()),
        ("B_KEY", b.subscription_key.expose().to_string()),
        ("P_ID", SANDBOX_PARTNER_CLIENT_ID.to_string()),
        ("P_SECRET", SANDBOX_PARTNER_CLIENT_SECRET.to_string()),
        ("P_KEY", SANDBOX_PARTNER_SUBSCRIPTION_KEY.to_string()),
    ]
}

fn run(sim: &Sim, args: &[&str]) -> Run {
    let env = env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    sim.run_env(&sim.base_url(), &env, args)
}

/// `partner_webhooks` is the YAML list under `partner.webhooks`; `a_extra` goes under merchant A.
fn config(partner_webhooks: &str, a_extra: &str, b_extra: &str) -> String {
    format!(
        r#"version: 1
partner:
  credentials: {{ clientId: P_ID, clientSecret: P_SECRET, subscriptionKey: P_KEY }}
  webhooks:
{partner_webhooks}
merchants:
  - msn: "{A}"
{a_extra}
  - msn: "{B}"
    credentials: {{ clientId: B_ID, clientSecret: B_SECRET, subscriptionKey: B_KEY }}
{b_extra}
"#
    )
}

fn payments_hook(events: &str) -> String {
    format!(
        "    - url: {PAYMENTS}\n      events: [{events}]\n      secret: {{ file: partner.env, key: PARTNER_PAYMENTS }}"
    )
}

fn partner_hooks(sim: &Sim) -> Vec<vippsctl::sim::Webhook> {
    sim.state()
        .partner_webhooks
        .get(SANDBOX_PARTNER_CLIENT_ID)
        .cloned()
        .unwrap_or_default()
}

fn sales_unit_hooks(sim: &Sim, msn: &str) -> Vec<vippsctl::sim::Webhook> {
    sim.state()
        .merchants
        .get(msn)
        .map(|m| m.webhooks.clone())
        .unwrap_or_default()
}

#[test]
fn apply_registers_the_partner_webhook_without_an_msn_and_a_second_plan_has_no_changes() {
    let sim = partner_sim();
    sim.write(
        "setup.yaml",
        &config(&payments_hook("epayments.payment.captured.v1"), "", ""),
    );
    let plan = run(&sim, &["plan", "setup.yaml"]);
    assert!(plan.success(), "{plan}");
    assert!(
        plan.stdout
            .contains(&format!("+ partner.webhooks[{PAYMENTS}]")),
        "{plan}"
    );
    assert!(plan.stdout.contains("partner level"), "{plan}");

    sim.clear_calls();
    let applied = run(&sim, &["apply", "setup.yaml", "--auto-approve"]);
    assert!(applied.success(), "{applied}");
    let registers: Vec<_> = sim
        .calls()
        .into_iter()
        .filter(|c| c.operation == "register_webhook")
        .collect();
    assert_eq!(registers.len(), 1, "{registers:?}");
    assert_eq!(
        registers[0].msn, None,
        "sent without Merchant-Serial-Number"
    );
    let hooks = partner_hooks(&sim);
    assert_eq!(hooks.len(), 1, "{hooks:?}");
    assert_eq!(hooks[0].events, ["epayments.payment.captured.v1"]);
    // In the partner's bucket, not in a sales unit's.
    assert!(sales_unit_hooks(&sim, A).is_empty() && sales_unit_hooks(&sim, B).is_empty());
    assert_eq!(
        dotenv_value(&sim.read("partner.env"), "PARTNER_PAYMENTS").as_deref(),
        Some(hooks[0].secret.expose())
    );

    let again = run(&sim, &["plan", "setup.yaml", "--detailed-exitcode"]);
    assert_eq!(again.code, Some(0), "{again}");
    assert!(again.stdout.contains("No changes."), "{again}");
}

#[test]
fn a_changed_event_set_replaces_the_partner_webhook_create_first_with_the_new_secret_in_the_sink() {
    let sim = partner_sim();
    sim.write(
        "setup.yaml",
        &config(&payments_hook("epayments.payment.captured.v1"), "", ""),
    );
    assert!(run(&sim, &["apply", "setup.yaml", "--auto-approve"]).success());
    let old = partner_hooks(&sim)[0].clone();

    sim.write(
        "setup.yaml",
        &config(
            &payments_hook("epayments.payment.captured.v1, epayments.payment.authorized.v1"),
            "",
            "",
        ),
    );
    let plan = run(&sim, &["plan", "setup.yaml"]);
    assert!(
        plan.stdout
            .contains(&format!("+/- partner.webhooks[{PAYMENTS}]")),
        "{plan}"
    );
    sim.clear_calls();
    let applied = run(&sim, &["apply", "setup.yaml", "--auto-approve"]);
    assert!(applied.success(), "{applied}");
    let writes: Vec<(String, Option<String>)> = sim
        .writes()
        .into_iter()
        .map(|c| (c.operation, c.msn))
        .collect();
    assert_eq!(
        writes,
        [
            ("register_webhook".to_string(), None),
            ("delete_webhook".to_string(), None)
        ],
        "create first, then delete, both at partner level"
    );
    let hooks = partner_hooks(&sim);
    assert_eq!(hooks.len(), 1, "{hooks:?}");
    assert_ne!(hooks[0].id, old.id);
    let stored = dotenv_value(&sim.read("partner.env"), "PARTNER_PAYMENTS");
    assert_eq!(stored.as_deref(), Some(hooks[0].secret.expose()));
    assert_ne!(stored.as_deref(), Some(old.secret.expose()));

    // A secret lost from the sink is evidence too: the next plan replaces the registration.
    sim.write("partner.env", "");
    let plan = run(&sim, &["plan", "setup.yaml"]);
    assert!(
        plan.stdout
            .contains(&format!("+/- partner.webhooks[{PAYMENTS}]")),
        "{plan}"
    );
    // And `--replace` takes the partner address.
    assert!(run(&sim, &["apply", "setup.yaml", "--auto-approve"]).success());
    let rotated = run(
        &sim,
        &[
            "plan",
            "setup.yaml",
            "--replace",
            &format!("partner.webhooks[{PAYMENTS}]"),
        ],
    );
    assert!(rotated.success(), "{rotated}");
    assert!(rotated.stdout.contains("1 to replace"), "{rotated}");
}

#[test]
fn events_of_every_partner_merchant_reach_the_partner_webhook_signed_with_its_secret() {
    let sim = partner_sim();
    let rx = receiver(&sim);
    forward(&sim, &rx.url);
    sim.write(
        "setup.yaml",
        &config(&payments_hook("epayments.payment.captured.v1"), "", ""),
    );
    assert!(run(&sim, &["apply", "setup.yaml", "--auto-approve"]).success());
    let secret = dotenv_value(&sim.read("partner.env"), "PARTNER_PAYMENTS").expect("secret");
    for msn in [A, B] {
        let t = control(
            &sim,
            "trigger",
            json!({"event": "epayments.payment.captured.v1", "msn": msn}),
        );
        assert_eq!(t["deliveries"], 1, "{msn}: {t}");
    }
    let got = rx.wait_for(2);
    settled(&sim);
    let msns: Vec<String> = got
        .iter()
        .map(|r| r.json()["msn"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(msns, [A, B]);
    for r in &got {
        assert!(verify(r, &secret), "signed with the partner secret");
    }
    let deliveries = sim.handle.deliveries().deliveries;
    assert!(deliveries.iter().all(|d| d.partner), "{deliveries:?}");
}

fn check_in_config() -> String {
    config(
        &format!(
            "    - url: {PARTNER_CHECK_IN}\n      events: [user.checked-in.v1]\n      secret: {{ file: partner.env, key: PARTNER_CHECK_IN }}"
        ),
        &format!(
            "    webhooks:\n      - url: {OWN_CHECK_IN}\n        events: [user.checked-in.v1]\n        secret: {{ file: kaffe.env, key: KAFFE_CHECK_IN }}\n    callbackQrs:\n      - merchantQrId: till-a\n        locationDescription: Kasse A"
        ),
        // B relies on the partner's check-in webhook alone.
        "    callbackQrs:\n      - merchantQrId: till-b\n        locationDescription: Kasse B",
    )
}

#[test]
fn the_sales_unit_check_in_webhook_wins_in_the_plan_and_in_delivery() {
    let sim = partner_sim();
    sim.write("setup.yaml", &check_in_config());
    let valid = run(&sim, &["validate", "setup.yaml", "--strict"]);
    assert!(
        valid.success(),
        "a partner check-in webhook covers B's callback QR: {valid}"
    );

    let plan = run(&sim, &["plan", "setup.yaml"]);
    assert!(plan.success(), "{plan}");
    assert!(
        plan.stdout.contains(&format!(
            "user.checked-in.v1: merchant {A} has its own registration, which wins over the partner's"
        )),
        "{plan}"
    );
    assert!(
        plan.stdout
            .contains(vippsctl::resources::webhook::NOTE_SALES_UNIT_CHECK_IN_WINS),
        "{plan}"
    );
    let md = run(&sim, &["plan", "setup.yaml", "--markdown", "plan.md"]);
    assert!(md.success(), "{md}");
    let md = sim.read("plan.md");
    assert!(
        md.contains(vippsctl::resources::webhook::NOTE_SALES_UNIT_CHECK_IN_WINS)
            && md.contains("partner.webhooks["),
        "{md}"
    );

    let rx = receiver(&sim);
    forward(&sim, &rx.url);
    let applied = run(&sim, &["apply", "setup.yaml", "--auto-approve"]);
    assert!(applied.success(), "{applied}");
    let own = dotenv_value(&sim.read("kaffe.env"), "KAFFE_CHECK_IN").expect("own secret");
    let partner = dotenv_value(&sim.read("partner.env"), "PARTNER_CHECK_IN").expect("secret");

    let scan = |msn: &str, qr: &str| control(&sim, "scan", json!({"msn": msn, "merchantQrId": qr}));
    assert_eq!(
        scan(A, "till-a")["deliveries"],
        1,
        "A's own registration only"
    );
    assert_eq!(scan(B, "till-b")["deliveries"], 1, "the partner's, for B");
    let got = rx.wait_for(2);
    settled(&sim);
    let a = got
        .iter()
        .find(|r| r.json()["msn"] == A)
        .expect("A's check-in");
    let b = got
        .iter()
        .find(|r| r.json()["msn"] == B)
        .expect("B's check-in");
    assert!(
        verify(a, &own) && !verify(a, &partner),
        "A's went to A's registration"
    );
    assert!(verify(b, &partner), "B's went to the partner's");
    let deliveries = sim.handle.deliveries().deliveries;
    assert_eq!(
        deliveries
            .iter()
            .map(|d| (d.msn.as_str(), d.partner))
            .collect::<Vec<_>>(),
        [(A, false), (B, true)]
    );

    // Nothing left to change, and the plan still says whose check-ins the partner never gets.
    let again = run(&sim, &["plan", "setup.yaml", "--detailed-exitcode"]);
    assert_eq!(again.code, Some(0), "no changes: {again}");
    assert!(
        again.stdout.contains(&format!(
            "user.checked-in.v1: merchant {A} has its own registration, which wins over the partner's"
        )),
        "the steady state keeps the precedence note: {again}"
    );
}

#[test]
fn the_json_plan_carries_the_partner_level_and_every_key_is_documented() {
    let sim = partner_sim();
    sim.write("setup.yaml", &check_in_config());
    let json = run(&sim, &["plan", "setup.yaml", "--json"]);
    assert!(json.success(), "{json}");
    let v: Value = serde_json::from_str(&json.stdout).expect("json");
    let rc = v["resource_changes"]
        .as_array()
        .expect("changes")
        .iter()
        .find(|c| c["msn"] == "partner")
        .expect("a partner change");
    assert_eq!(
        rc["address"],
        format!("partner.webhooks[{PARTNER_CHECK_IN}]")
    );
    assert_eq!(rc["level"], "partner");
    assert_eq!(rc["kind"], "webhooks");
    assert_eq!(rc["change"]["actions"], json!(["create"]));
    assert_eq!(rc["vippsctl"]["desired"]["kind"], "webhook");
    let merchants: Vec<(&str, Option<&str>)> = v["merchants"]
        .as_array()
        .expect("merchants")
        .iter()
        .map(|m| (m["msn"].as_str().unwrap_or(""), m["level"].as_str()))
        .collect();
    assert!(
        merchants.contains(&("partner", Some("partner"))),
        "{merchants:?}"
    );
    assert!(merchants.contains(&(A, None)), "{merchants:?}");

    let doc = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/plan-format.md"),
    )
    .expect("docs/plan-format.md");
    let missing = crate::cli_reconcile::undocumented_plan_keys(&v, &doc);
    assert!(
        missing.is_empty(),
        "not in docs/plan-format.md: {missing:?}"
    );

    // Saved and shown again, the plan reads back with its partner level.
    let saved = run(&sim, &["plan", "setup.yaml", "--out", "plan.json"]);
    assert!(saved.success(), "{saved}");
    let shown = run(&sim, &["show", "plan.json"]);
    assert!(
        shown
            .stdout
            .contains(&format!("partner.webhooks[{PARTNER_CHECK_IN}]")),
        "{shown}"
    );
    let applied = run(&sim, &["apply", "plan.json"]);
    assert!(applied.success(), "{applied}");
    assert_eq!(partner_hooks(&sim).len(), 1);
}

#[test]
fn partner_webhooks_are_planned_in_shard_one_only_and_never_under_msn() {
    let sim = partner_sim();
    sim.write(
        "setup.yaml",
        &config(&payments_hook("epayments.payment.captured.v1"), "", ""),
    );
    let address = format!("partner.webhooks[{PAYMENTS}]");
    let has = |args: &[&str]| {
        let r = run(&sim, args);
        assert!(r.success(), "{args:?}: {r}");
        r.stdout.contains(&address)
    };
    assert!(has(&["plan", "setup.yaml", "--shard", "1/3"]));
    assert!(!has(&["plan", "setup.yaml", "--shard", "2/3"]));
    assert!(!has(&["plan", "setup.yaml", "--shard", "3/3"]));
    assert!(!has(&["plan", "setup.yaml", "--msn", A]));
    assert!(!has(&["plan", "setup.yaml", "--exclude", "partner"]));
    let only = run(&sim, &["plan", "setup.yaml", "--target", "partner"]);
    assert!(only.stdout.contains(&address), "{only}");
    assert!(!only.stdout.contains(&format!("merchant {A}")), "{only}");
    assert!(has(&["plan", "setup.yaml", "--target", &address]));
    assert!(has(&["plan", "setup.yaml", "--target", "partner.webhooks"]));

    // Names that match nothing stop the run, as elsewhere.
    let typo = run(
        &sim,
        &[
            "plan",
            "setup.yaml",
            "--target",
            &format!("partner.webhooks[{PAYMENTS}/]"),
        ],
    );
    assert_eq!(typo.code, Some(1), "{typo}");
    assert!(
        typo.stderr.contains("matches no object of this run"),
        "{typo}"
    );
    assert!(
        typo.stderr.contains(&format!("did you mean `{address}`")),
        "{typo}"
    );
    let narrowed = run(
        &sim,
        &["plan", "setup.yaml", "--msn", A, "--target", "partner"],
    );
    assert_eq!(narrowed.code, Some(1), "{narrowed}");
    assert!(
        narrowed
            .stderr
            .contains("the partner level is not part of this run"),
        "{narrowed}"
    );
    let other_shard = run(
        &sim,
        &[
            "plan",
            "setup.yaml",
            "--shard",
            "2/2",
            "--target",
            "partner",
        ],
    );
    assert_eq!(other_shard.code, Some(1), "{other_shard}");
    let no_kind = run(
        &sim,
        &["plan", "setup.yaml", "--target", "partner.redirectQrs"],
    );
    assert_eq!(no_kind.code, Some(1), "{no_kind}");
    assert!(no_kind.stderr.contains("webhooks only"), "{no_kind}");

    // A saved shard-1 plan re-plans the partner level; applying shard 2 leaves it alone.
    assert!(run(
        &sim,
        &["plan", "setup.yaml", "--shard", "2/2", "--out", "s2.json"]
    )
    .success());
    assert!(run(&sim, &["apply", "s2.json"]).success());
    assert!(partner_hooks(&sim).is_empty());
    assert!(run(
        &sim,
        &["plan", "setup.yaml", "--shard", "1/2", "--out", "s1.json"]
    )
    .success());
    let applied = run(&sim, &["apply", "s1.json"]);
    assert!(applied.success(), "{applied}");
    assert_eq!(partner_hooks(&sim).len(), 1);
}

#[test]
fn validate_refuses_partner_webhooks_without_the_partner_keys() {
    let sim = partner_sim();
    sim.write(
        "setup.yaml",
        &format!(
            "version: 1\npartner:\n  webhooks:\n{}\nmerchants:\n  - msn: \"{A}\"\n",
            payments_hook("epayments.payment.captured.v1")
        ),
    );
    let r = run(&sim, &["validate", "setup.yaml"]);
    assert_eq!(r.code, Some(1), "{r}");
    assert!(
        r.stdout
            .contains("setup.yaml:3:3: error: partner webhooks need the partner's keys")
            || r.stderr
                .contains("setup.yaml:3:3: error: partner webhooks need the partner's keys"),
        "{r}"
    );
    assert!(format!("{r}").contains("partner.credentials"), "{r}");
    let plan = run(&sim, &["plan", "setup.yaml"]);
    assert_eq!(plan.code, Some(1), "{plan}");
    assert!(sim.writes().is_empty());
}

#[test]
fn import_all_with_partner_keys_emits_the_partner_webhooks() {
    let sim = partner_sim();
    sim.write(
        "setup.yaml",
        &config(&payments_hook("epayments.payment.captured.v1"), "", ""),
    );
    assert!(run(&sim, &["apply", "setup.yaml", "--auto-approve"]).success());
    // `import --all` runs with the partner keys in the default variables.
    let partner_keys = [
        ("VIPPS_CLIENT_ID", SANDBOX_PARTNER_CLIENT_ID),
        ("VIPPS_CLIENT_SECRET", SANDBOX_PARTNER_CLIENT_SECRET),
        ("VIPPS_SUBSCRIPTION_KEY", SANDBOX_PARTNER_SUBSCRIPTION_KEY),
    ];
    let imported = sim.run_env(
        &sim.base_url(),
        &partner_keys,
        &["import", "--all", "--kinds", "webhooks"],
    );
    assert!(imported.success(), "{imported}");
    assert!(imported.stdout.contains("partner:"), "{imported}");
    assert!(imported.stdout.contains(PAYMENTS), "{imported}");
    sim.write("imported.yaml", &imported.stdout);
    let valid = run(&sim, &["validate", "imported.yaml"]);
    assert!(valid.success(), "{valid}");
    // Planned with the same keys, the import is what exists.
    let plan = sim.run_env(
        &sim.base_url(),
        &partner_keys,
        &["plan", "imported.yaml", "--detailed-exitcode"],
    );
    assert_eq!(plan.code, Some(0), "{plan}");
}

fn partner_keys() -> Credentials {
    Credentials::new(
        SANDBOX_PARTNER_CLIENT_ID,
        SANDBOX_PARTNER_CLIENT_SECRET,
        SANDBOX_PARTNER_SUBSCRIPTION_KEY,
    )
}

fn api(sim: &Sim, keys: Credentials, msn: Option<&str>) -> MerchantApi {
    let t = Transport::builder(sim.base_url())
        .credentials(keys)
        .build()
        .expect("transport");
    let t = match msn {
        Some(m) => t.for_merchant(m).expect("msn"),
        None => t,
    };
    MerchantApi::new(t)
}

#[test]
fn a_merchant_key_cannot_create_or_see_partner_registrations_and_the_buckets_are_apart() {
    let sim = partner_sim();
    let partner = api(&sim, partner_keys(), None);
    let own = SimCredentials::for_sales_unit(A);
    let own_keys = || {
        Credentials::new(
            &own.client_id,
            own.client_secret.expose(),
            own.subscription_key.expose(),
        )
    };
    let merchant_no_msn = api(&sim, own_keys(), None);
    let merchant = api(&sim, own_keys(), Some(A));
    let check_in = ["user.checked-in.v1".to_string()];

    sim.block_on(partner.register_webhook(PARTNER_CHECK_IN, &check_in))
        .expect("partner registration");
    // A merchant's keys without the MSN reach no partner registration: the MSN is required.
    let refused = sim.block_on(merchant_no_msn.list_webhooks());
    assert!(refused.is_err(), "{refused:?}");
    let refused = sim.block_on(merchant_no_msn.register_webhook(OWN_CHECK_IN, &check_in));
    assert!(refused.is_err(), "{refused:?}");
    assert_eq!(partner_hooks(&sim).len(), 1);
    // With it, the sales unit sees its own bucket only, which has its own check-in slot.
    assert!(sim
        .block_on(merchant.list_webhooks())
        .expect("list")
        .is_empty());
    sim.block_on(merchant.register_webhook(OWN_CHECK_IN, &check_in))
        .expect("the sales unit's own check-in registration beside the partner's");
    assert_eq!(
        sim.block_on(partner.list_webhooks()).expect("list").len(),
        1
    );
    // The partner bucket has the same limits: one check-in registration.
    let second = sim.block_on(partner.register_webhook(PAYMENTS, &check_in));
    assert!(second.is_err(), "{second:?}");
    // And the partner keys with an MSN act on that sales unit's bucket, as before.
    let on_behalf = api(&sim, partner_keys(), Some(B));
    assert!(sim
        .block_on(on_behalf.list_webhooks())
        .expect("list")
        .is_empty());
}

#[test]
fn validate_checks_partner_webhooks_with_the_merchant_rules_at_file_line_column() {
    let sim = partner_sim();
    sim.write(
        "bad.yaml",
        "version: 1\npartner:\n  credentials: { clientId: P_ID, clientSecret: P_SECRET, subscriptionKey: P_KEY }\n  webhook: []\n  webhooks:\n    - url: http://partner.example.com/x\n      events: [user.checked-in.v1]\n    - url: https://partner.example.com/y\n      events: [user.checked-in.v1]\n      secret: { file: s.env, key: K }\n    - url: https://partner.example.com/z\n      events: [epayments.payment.captured.v1]\n      secret: { file: s.env, key: K }\nmerchants:\n  - msn: \"123456\"\n",
    );
    let r = run(&sim, &["validate", "bad.yaml"]);
    assert_eq!(r.code, Some(1), "{r}");
    let text = format!("{r}");
    for expected in [
        "bad.yaml:4:3: error: unknown field `webhook`",
        "bad.yaml:6:12: error: webhook `url` must use https",
        "bad.yaml:9:16: error: more than one webhook on `user.checked-in.v1` for the partner level",
        "bad.yaml:13:17: error: this webhook's secret goes to key `K` of s.env, like the secret of the webhook of the partner level at bad.yaml:10:17",
    ] {
        assert!(text.contains(expected), "{expected}:\n{text}");
    }
}

#[test]
fn a_failed_partner_registration_is_resumed_from_the_results_file_alone() {
    let sim = partner_sim();
    sim.write(
        "setup.yaml",
        &config(
            &payments_hook("epayments.payment.captured.v1"),
            "    redirectQrs:\n      - id: menu\n        redirectUrl: https://kaffe.example.com/meny",
            "",
        ),
    );
    // Every partner registration answers 500 (three tries: unknown outcome, looked up, retried).
    sim.handle.set_faults(vippsctl::sim::FaultConfig::once_on(
        "register_webhook",
        vippsctl::sim::FaultKind::Status500,
        3,
    ));
    let failed = run(
        &sim,
        &[
            "apply",
            "setup.yaml",
            "--auto-approve",
            "--results",
            "results.json",
        ],
    );
    assert_eq!(failed.code, Some(1), "{failed}");
    let results: Value = serde_json::from_str(&sim.read("results.json")).expect("results");
    let outcome = |msn: &str| {
        results["merchants"]
            .as_array()
            .and_then(|m| m.iter().find(|m| m["msn"] == msn))
            .map(|m| m["outcome"].as_str().unwrap_or_default().to_string())
    };
    assert_eq!(outcome("partner").as_deref(), Some("failed"), "{results}");
    assert_eq!(outcome(A).as_deref(), Some("succeeded"), "{results}");

    sim.clear_calls();
    let resumed = run(
        &sim,
        &[
            "apply",
            "setup.yaml",
            "--auto-approve",
            "--msn-from",
            "results.json",
            "--only",
            "failed",
        ],
    );
    assert!(resumed.success(), "{resumed}");
    assert!(
        sim.calls().iter().all(|c| c.msn.is_none()),
        "only the partner level is read and written: {:?}",
        sim.calls()
    );
    assert_eq!(partner_hooks(&sim).len(), 1);
}

#[test]
fn wrong_partner_keys_are_named_as_the_partner_level_before_any_read() {
    let sim = partner_sim();
    sim.write(
        "setup.yaml",
        &config(&payments_hook("epayments.payment.captured.v1"), "", ""),
    );
    let mut env = env();
    for (k, v) in env.iter_mut() {
        if *k == "P_SECRET" {
            *v = "not-the-partner-secret".into();
        }
    }
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = sim.run_env(&sim.base_url(), &env, &["plan", "setup.yaml"]);
    assert_eq!(r.code, Some(1), "{r}");
    assert!(
        r.stderr
            .contains("caused by: the partner level (P_ID, P_SECRET, P_KEY):"),
        "{r}"
    );
    assert!(!r.stderr.contains("not-the-partner-secret"), "{r}");
    assert!(
        !sim.calls().iter().any(|c| c.operation == "list_webhooks"),
        "nothing is read with a set of keys that failed"
    );
}

#[test]
fn moving_the_partner_check_in_webhook_needs_prune_and_then_deletes_first() {
    let sim = partner_sim();
    let hook = |url: &str| {
        format!(
            "    - url: {url}\n      events: [user.checked-in.v1]\n      secret: {{ file: partner.env, key: PARTNER_CHECK_IN }}"
        )
    };
    sim.write("setup.yaml", &config(&hook(PARTNER_CHECK_IN), "", ""));
    assert!(run(&sim, &["apply", "setup.yaml", "--auto-approve"]).success());
    let moved = "https://partner.example.com/vipps/check-in-2";
    sim.write("setup.yaml", &config(&hook(moved), "", ""));
    // The live one, unmanaged, still holds the partner's one check-in slot.
    let refused = run(&sim, &["plan", "setup.yaml"]);
    assert_eq!(refused.code, Some(1), "{refused}");
    assert!(
        refused.stderr.contains("partner webhook registrations")
            && refused.stderr.contains("prune: [webhooks]"),
        "{refused}"
    );
    sim.write(
        "setup.yaml",
        &config(&hook(moved), "", "").replacen(
            "  webhooks:\n",
            "  prune: [webhooks]\n  webhooks:\n",
            1,
        ),
    );
    sim.clear_calls();
    let applied = run(&sim, &["apply", "setup.yaml", "--auto-approve"]);
    assert!(applied.success(), "{applied}");
    let writes: Vec<String> = sim.writes().into_iter().map(|c| c.operation).collect();
    assert_eq!(writes, ["delete_webhook", "register_webhook"], "{applied}");
    let hooks = partner_hooks(&sim);
    assert_eq!(hooks.len(), 1);
    assert_eq!(hooks[0].url, moved);

    sim.write(
        "bad.yaml",
        &config(&hook(moved), "", "").replacen(
            "  webhooks:\n",
            "  prune: [redirectQrs]\n  webhooks:\n",
            1,
        ),
    );
    let bad = run(&sim, &["validate", "bad.yaml"]);
    assert_eq!(bad.code, Some(1), "{bad}");
    assert!(
        bad.stdout.contains("the partner level has webhooks only"),
        "{bad}"
    );
}
