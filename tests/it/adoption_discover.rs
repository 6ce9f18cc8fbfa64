//! `vippsctl import --all`: a partner's sales units discovered through the Management API (token
//! from `/miami/v1/token`), imported whole or by shard; and the simulator's Management rules.

use crate::common;

use common::cli::Sim;
use std::collections::BTreeSet;
use vippsctl::domain::model::SalesUnit;
use vippsctl::engine::discover::{list_sales_units, management_transport, DiscoverError};
use vippsctl::sim::{SimConfig, SimCredentials};

/// 50 sales units besides the sandbox's own 123456, all the sandbox keys' as a partner's.
fn fifty() -> Vec<String> {
    (0..50).map(|i| format!("{}", 700_000 + i * 37)).collect()
}

fn partner_sim() -> Sim {
    Sim::with_config(SimConfig::test().with_merchants(fifty()))
}

/// The MSNs a written configuration declares (`  - msn: "..."`).
fn msns_in(yaml: &str) -> Vec<String> {
    yaml.lines()
        .filter_map(|l| l.trim().strip_prefix("- msn: "))
        .map(|m| m.trim_matches('"').to_string())
        .collect()
}

fn all_msns() -> BTreeSet<String> {
    let mut all: BTreeSet<String> = fifty().into_iter().collect();
    all.insert(vippsctl::sim::SANDBOX_MSN.to_string());
    all
}

#[test]
fn import_all_with_partner_keys_writes_every_sales_unit_from_one_list() {
    let sim = partner_sim();
    let run = sim.run(&[
        "import", "--all", "--kinds", "webhooks", "--out", "all.yaml",
    ]);
    assert!(run.success(), "{run}");
    let written = sim.read("all.yaml");
    let msns: BTreeSet<String> = msns_in(&written).into_iter().collect();
    assert_eq!(msns, all_msns(), "{written}");
    assert!(written.contains("name: \"Sales unit 700000\""), "{written}");
    assert!(
        run.stderr
            .contains("The Management API lists 51 sales units"),
        "{run}"
    );
    // One Management token and one list (the spec defines no paging), then one token for the
    // partner keys' API calls, one webhook list per merchant, and one without an MSN: the
    // partner's own registrations (partner webhooks).
    let calls = sim.calls();
    let ops: Vec<String> = calls.iter().map(|c| c.operation.clone()).collect();
    let count = |op: &str| ops.iter().filter(|o| *o == op).count();
    assert_eq!(count("fetch_management_token"), 1, "{ops:?}");
    assert_eq!(count("list_sales_units"), 1, "{ops:?}");
    assert_eq!(count("fetch_access_token"), 1, "{ops:?}");
    assert_eq!(count("list_webhooks"), 52, "{ops:?}");
    let partner_level = calls
        .iter()
        .filter(|c| c.operation == "list_webhooks" && c.msn.is_none())
        .count();
    assert_eq!(partner_level, 1, "{calls:?}");
    assert_eq!(ops[0], "fetch_management_token", "{ops:?}");
    assert_eq!(ops[1], "list_sales_units", "{ops:?}");
}

#[test]
fn shards_of_import_all_cover_every_sales_unit_exactly_once() {
    let sim = partner_sim();
    let mut seen: Vec<String> = Vec::new();
    for i in 1..=3 {
        let shard = format!("{i}/3");
        let out = format!("shard-{i}.yaml");
        let run = sim.run(&[
            "import", "--all", "--shard", &shard, "--kinds", "webhooks", "--out", &out,
        ]);
        assert!(run.success(), "{run}");
        let msns = msns_in(&sim.read(&out));
        assert!(!msns.is_empty(), "shard {shard} is empty: {run}");
        seen.extend(msns);
    }
    let unique: BTreeSet<String> = seen.iter().cloned().collect();
    assert_eq!(
        unique.len(),
        seen.len(),
        "a sales unit in two shards: {seen:?}"
    );
    assert_eq!(unique, all_msns());
}

#[test]
fn merchant_keys_get_a_clear_error_and_no_list() {
    // The sandbox keys as a sales unit's own keys, not a partner's.
    let sim = Sim::with_config(SimConfig::test());
    let run = sim.run(&["import", "--all"]);
    assert!(!run.success(), "{run}");
    assert_eq!(run.code, Some(1), "{run}");
    assert!(
        run.stderr
            .contains("error: could not get a Management API token"),
        "{run}"
    );
    assert!(run.stderr.contains("/miami/v1/token"), "{run}");
    assert!(run.stderr.contains("partner"), "{run}");
    assert!(run.stderr.contains("--msn"), "{run}");
    for secret in [
        vippsctl::sim::SANDBOX_CLIENT_SECRET,
        vippsctl::sim::SANDBOX_SUBSCRIPTION_KEY,
    ] {
        assert!(!run.stderr.contains(secret), "{run}");
        assert!(!run.stdout.contains(secret), "{run}");
    }
    let ops: Vec<String> = sim.calls().into_iter().map(|c| c.operation).collect();
    assert_eq!(ops, vec!["fetch_management_token".to_string()], "{ops:?}");
}

/// Separate partner management keys: `VIPPS_MANAGEMENT_CLIENT_ID/SECRET` get the Management token
/// when both are set; the API calls keep using the partner keys.
#[test]
fn management_keys_from_their_own_variables_get_the_token() {
    use vippsctl::sim::{
        SANDBOX_PARTNER_CLIENT_ID as ID, SANDBOX_PARTNER_CLIENT_SECRET as SECRET,
        SANDBOX_PARTNER_SUBSCRIPTION_KEY as KEY,
    };
    let sim = Sim::with_config(
        SimConfig::test()
            .with_sales_units(["345678", "456789"])
            .with_partner(),
    );
    let partner = [
        ("VIPPS_CLIENT_ID", ID),
        ("VIPPS_CLIENT_SECRET", SECRET),
        ("VIPPS_SUBSCRIPTION_KEY", KEY),
    ];
    let mut env = partner.to_vec();
    env.extend([
        ("VIPPS_MANAGEMENT_CLIENT_ID", ID),
        ("VIPPS_MANAGEMENT_CLIENT_SECRET", SECRET),
    ]);
    let run = sim.run_env(
        &sim.base_url(),
        &env,
        &["import", "--all", "--kinds", "webhooks"],
    );
    assert!(run.success(), "{run}");
    assert_eq!(msns_in(&run.stdout), vec!["345678", "456789"]);
    // Wrong management keys fail the token, although the partner keys are right.
    let mut env = partner.to_vec();
    env.extend([
        ("VIPPS_MANAGEMENT_CLIENT_ID", ID),
        ("VIPPS_MANAGEMENT_CLIENT_SECRET", "not-the-secret"),
    ]);
    let run = sim.run_env(&sim.base_url(), &env, &["import", "--all"]);
    assert!(!run.success(), "{run}");
    assert!(run.stderr.contains("/miami/v1/token answered 401"), "{run}");
    assert!(!run.stderr.contains("not-the-secret"), "{run}");
}

#[test]
fn import_all_refuses_msn_outside_the_sandbox_and_import_needs_one_or_the_other() {
    let sim = partner_sim();
    let run = sim.run(&["import", "--all", "--msn", "123456"]);
    assert!(!run.success(), "{run}");
    assert!(
        run.stderr.contains("--all lists the sales units itself"),
        "{run}"
    );
    let run = sim.run(&["import"]);
    assert!(!run.success(), "{run}");
    assert!(run.stderr.contains("--msn, or --all"), "{run}");
    assert!(sim.calls().is_empty(), "{:?}", sim.calls());
}

#[test]
fn sandbox_import_all_discovers_the_default_or_the_given_sales_units() {
    let sim = partner_sim();
    let run = sim.run(&["import", "--all", "--sandbox", "--out", "default.yaml"]);
    assert!(run.success(), "{run}");
    assert_eq!(
        msns_in(&sim.read("default.yaml")),
        vippsctl::sim::SANDBOX_PARTNER_MSNS
            .map(String::from)
            .to_vec()
    );
    let run = sim.run(&[
        "import",
        "--all",
        "--sandbox",
        "--msn",
        "111111",
        "--msn",
        "222222",
        "--out",
        "given.yaml",
    ]);
    assert!(run.success(), "{run}");
    assert_eq!(msns_in(&sim.read("given.yaml")), vec!["111111", "222222"]);
    // The sandbox runs in-process: nothing reached the simulator behind --base-url.
    assert!(sim.calls().is_empty(), "{:?}", sim.calls());
}

/// The library function: a miami token (no `/accesstoken/get`, no subscription key needed),
/// then one list; the MSNs sorted, each once.
#[test]
fn list_sales_units_uses_the_management_token() {
    let sim = partner_sim();
    let creds = vippsctl::api::Credentials::new(
        vippsctl::sim::SANDBOX_CLIENT_ID,
        vippsctl::sim::SANDBOX_CLIENT_SECRET,
        "",
    );
    let t = management_transport(&sim.base_url(), creds, std::time::Duration::from_secs(5))
        .expect("transport");
    let units: Vec<SalesUnit> = sim.block_on(list_sales_units(&t)).expect("listed");
    let msns: Vec<String> = units.iter().map(|u| u.msn.clone()).collect();
    assert_eq!(msns, all_msns().into_iter().collect::<Vec<_>>());
    let ops: Vec<String> = sim.calls().into_iter().map(|c| c.operation).collect();
    assert_eq!(ops, vec!["fetch_management_token", "list_sales_units"]);
    // The same keys' merchant token does not open the Management token flow's door: keys that
    // are no partner's are refused at the token, as a typed error.
    let own = Sim::with_config(SimConfig::test());
    let creds = vippsctl::api::Credentials::new(
        vippsctl::sim::SANDBOX_CLIENT_ID,
        vippsctl::sim::SANDBOX_CLIENT_SECRET,
        "",
    );
    let t = management_transport(&own.base_url(), creds, std::time::Duration::from_secs(5))
        .expect("transport");
    let err = own.block_on(list_sales_units(&t)).unwrap_err();
    assert!(matches!(err, DiscoverError::Token(_)), "{err:?}");
    assert!(err.hint().contains("partner"), "{}", err.hint());
}

// --- the simulator's Management rules ------------------------------------------------------

async fn miami(http: &reqwest::Client, base: &str, id: &str, secret: &str) -> reqwest::Response {
    http.post(format!("{base}/miami/v1/token"))
        .basic_auth(id, Some(secret))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials")
        .send()
        .await
        .expect("token call")
}

#[tokio::test]
async fn the_management_token_takes_basic_credentials_and_a_form_for_partner_keys_only() {
    let sim = common::start(SimConfig::test().with_merchants(["234567"])).await;
    let base = sim.base_url();
    let http = reqwest::Client::new();
    let ok = miami(
        &http,
        &base,
        vippsctl::sim::SANDBOX_CLIENT_ID,
        vippsctl::sim::SANDBOX_CLIENT_SECRET,
    )
    .await;
    assert_eq!(ok.status(), 200);
    let v: serde_json::Value = ok.json().await.expect("json");
    assert_eq!(v["token_type"], "Bearer");
    assert_eq!(v["expires_in"], "900");
    // Without the form body: 400; credentials in headers (the /accesstoken/get way): 401.
    let no_form = http
        .post(format!("{base}/miami/v1/token"))
        .basic_auth(
            vippsctl::sim::SANDBOX_CLIENT_ID,
            Some(vippsctl::sim::SANDBOX_CLIENT_SECRET),
        )
        .send()
        .await
        .expect("call");
    assert_eq!(no_form.status(), 400);
    let headers = http
        .post(format!("{base}/miami/v1/token"))
        .header("client_id", vippsctl::sim::SANDBOX_CLIENT_ID)
        .header("client_secret", vippsctl::sim::SANDBOX_CLIENT_SECRET)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials")
        .send()
        .await
        .expect("call");
    assert_eq!(headers.status(), 401);
    let wrong = miami(&http, &base, vippsctl::sim::SANDBOX_CLIENT_ID, "nope").await;
    assert_eq!(wrong.status(), 401);
    // A sales unit's own keys are not partner keys.
    let own = SimCredentials::for_sales_unit("345678");
    let sim2 = common::start(SimConfig::test().with_sales_units(["345678"])).await;
    let r = miami(
        &http,
        &sim2.base_url(),
        &own.client_id,
        own.client_secret.expose(),
    )
    .await;
    assert_eq!(r.status(), 401);
    let text = r.text().await.unwrap_or_default();
    assert!(text.contains("not partner management keys"), "{text}");
}

#[tokio::test]
async fn management_reads_need_a_token_see_only_the_keys_sales_units_and_answer_404_otherwise() {
    let sim = common::start(SimConfig::test().with_merchants(["234567"])).await;
    let base = sim.base_url();
    let http = reqwest::Client::new();
    let r = miami(
        &http,
        &base,
        vippsctl::sim::SANDBOX_CLIENT_ID,
        vippsctl::sim::SANDBOX_CLIENT_SECRET,
    )
    .await;
    let v: serde_json::Value = r.json().await.expect("json");
    let token = v["access_token"].as_str().unwrap_or_default().to_string();
    let get = |path: &str, bearer: Option<&str>| {
        let mut rb = http.get(format!("{base}{path}"));
        if let Some(b) = bearer {
            rb = rb.header("Authorization", format!("Bearer {b}"));
        }
        rb.send()
    };
    assert_eq!(
        get("/management/v1/sales-units", None)
            .await
            .expect("call")
            .status(),
        401
    );
    let list: serde_json::Value = get("/management/v1/sales-units", Some(&token))
        .await
        .expect("call")
        .json()
        .await
        .expect("json");
    let msns: Vec<&str> = list
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|u| u["msn"].as_str())
        .collect();
    assert_eq!(msns, vec!["123456", "234567"]);
    let one = get("/management/v1/sales-units/234567", Some(&token))
        .await
        .expect("call");
    assert_eq!(one.status(), 200);
    let one: serde_json::Value = one.json().await.expect("json");
    assert_eq!(one["configuration"]["recurringAllowed"], true);
    assert_eq!(one["businessIdentifier"]["scheme"], "business:NO:ORG");
    let other = get("/management/v1/sales-units/999999", Some(&token))
        .await
        .expect("call");
    assert_eq!(other.status(), 404);
    assert_eq!(
        other
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/problem+json")
    );
    assert_eq!(
        get("/management/v1/sales-units/12", Some(&token))
            .await
            .expect("call")
            .status(),
        400
    );
    // A Management token opens nothing else.
    let webhooks = http
        .get(format!("{base}/webhooks/v1/webhooks"))
        .header("Authorization", format!("Bearer {token}"))
        .header(
            "Ocp-Apim-Subscription-Key",
            vippsctl::sim::SANDBOX_SUBSCRIPTION_KEY,
        )
        .header("Merchant-Serial-Number", "234567")
        .send()
        .await
        .expect("call");
    assert_eq!(webhooks.status(), 401);
    // The token runs out after 15 minutes on the simulated clock.
    sim.advance_clock(std::time::Duration::from_secs(15 * 60));
    assert_eq!(
        get("/management/v1/sales-units", Some(&token))
            .await
            .expect("call")
            .status(),
        401
    );
}

#[tokio::test]
async fn a_merchant_sees_its_own_sales_unit_with_its_ordinary_token_and_subscription_key() {
    let sim = common::start(SimConfig::test().with_sales_units(["345678", "456789"])).await;
    let base = sim.base_url();
    let http = reqwest::Client::new();
    let own = SimCredentials::for_sales_unit("345678");
    let r = http
        .post(format!("{base}/accesstoken/get"))
        .header("client_id", &own.client_id)
        .header("client_secret", own.client_secret.expose())
        .header("Ocp-Apim-Subscription-Key", own.subscription_key.expose())
        .send()
        .await
        .expect("token");
    let v: serde_json::Value = r.json().await.expect("json");
    let token = v["access_token"].as_str().unwrap_or_default().to_string();
    let list = |key: Option<String>| {
        let mut rb = http
            .get(format!("{base}/management/v1/sales-units"))
            .header("Authorization", format!("Bearer {token}"));
        if let Some(k) = key {
            rb = rb.header("Ocp-Apim-Subscription-Key", k);
        }
        rb.send()
    };
    // An ordinary token needs its subscription key, as on every API.
    assert_eq!(list(None).await.expect("call").status(), 401);
    let body: serde_json::Value = list(Some(own.subscription_key.expose().to_string()))
        .await
        .expect("call")
        .json()
        .await
        .expect("json");
    assert_eq!(
        body,
        serde_json::json!([{"msn": "345678", "name": "Sales unit 345678"}])
    );
}

/// `--check-capabilities`: a sales unit whose configuration does not allow recurring gets a plan
/// problem naming its agreements, before any write; the other merchant's agreements and a plan
/// without the flag are not affected.
#[test]
fn a_sales_unit_without_recurring_is_a_plan_problem_naming_its_agreements() {
    const OK: &str = "123456";
    const NO: &str = "234567";
    let mut config = SimConfig::test().with_merchants([OK, NO]);
    config.sales_units.insert(
        NO.into(),
        vippsctl::sim::SalesUnitProfile {
            recurring_allowed: Some(false),
            ..Default::default()
        },
    );
    let sim = Sim::with_config(config);
    let agreement = |id: &str| {
        format!(
            "      - externalId: {id}\n        productName: Coffee club\n        pricing: {{ type: LEGACY, amount: 100, currency: NOK }}\n        interval: {{ unit: MONTH, count: 1 }}\n        merchantRedirectUrl: https://shop.example/thanks\n        merchantAgreementUrl: https://shop.example/account\n"
        )
    };
    sim.write(
        "setup.yaml",
        &format!(
            "version: 1\nmerchants:\n  - msn: \"{OK}\"\n    agreements:\n{}  - msn: \"{NO}\"\n    agreements:\n{}{}",
            agreement("gold-1"),
            agreement("silver-1"),
            agreement("silver-2")
        ),
    );
    let checked = sim.run(&["plan", "setup.yaml", "--check-capabilities"]);
    assert_eq!(checked.code, Some(1), "{checked}");
    assert!(
        checked.stderr.contains(&format!(
            "merchant {NO}: its sales unit does not allow recurring (recurringAllowed: false), so these agreements and agreement policies would fail: silver-1, silver-2"
        )),
        "{checked}"
    );
    assert!(!checked.stderr.contains("gold-1"), "{checked}");
    assert!(
        sim.calls().iter().any(|c| c.operation == "get_sales_unit"),
        "the sales units were read"
    );
    let apply = sim.run(&[
        "apply",
        "setup.yaml",
        "--auto-approve",
        "--check-capabilities",
    ]);
    assert_eq!(apply.code, Some(1), "{apply}");
    assert!(sim.writes().is_empty(), "nothing was written");
    // Without the flag the plan is made (and the drafts would fail at Vipps).
    let plain = sim.run(&["plan", "setup.yaml", "--out", "p.json"]);
    assert_eq!(plain.code, Some(0), "{plain}");
    assert!(plain.stdout.contains("3 to add"), "{plain}");
    // A saved plan is applied as it was made: the flag is refused next to it, not ignored.
    let saved = sim.run(&["apply", "p.json", "--check-capabilities"]);
    assert_eq!(saved.code, Some(1), "{saved}");
    assert!(
        saved.stderr.contains("does not apply to a saved plan"),
        "{saved}"
    );
    assert!(sim.writes().is_empty(), "nothing was written");
}

/// `plan --all-merchants`: a partner plans what it declares and sees, from the same Management
/// list as `import --all`, every sales unit it does not declare yet. Exit 2 with
/// `--detailed-exitcode` until they are in the configuration, then 0.
#[test]
fn plan_all_merchants_names_the_sales_units_the_configuration_leaves_out() {
    let sim = partner_sim();
    let declared = &fifty()[..3];
    let mut y = String::from("version: 1\nmerchants:\n");
    for m in declared {
        y.push_str(&format!("  - msn: \"{m}\"\n"));
    }
    sim.write("setup/some.yaml", &y);
    let run = sim.run(&["plan", "setup/", "--all-merchants", "--detailed-exitcode"]);
    assert_eq!(
        run.code,
        Some(2),
        "uncovered sales units are a difference: {run}"
    );
    assert!(
        run.stdout
            .contains("The Management API lists 51 sales units for the partner keys."),
        "{run}"
    );
    assert!(
        run.stdout.contains("48 are not in the configuration"),
        "{run}"
    );
    assert!(
        run.stdout
            .contains("(48 sales units not in the configuration)"),
        "the summary line says it: {run}"
    );
    for m in &fifty()[3..] {
        assert!(run.stdout.contains(m.as_str()), "{m} is named: {run}");
    }
    for m in declared {
        assert!(
            !run.stdout.contains(&format!("{m} (Sales unit")),
            "a declared merchant is not listed as left out: {run}"
        );
    }
    let ops: Vec<String> = sim.calls().into_iter().map(|c| c.operation).collect();
    assert_eq!(ops[0], "fetch_management_token", "listed first: {ops:?}");

    // The JSON plan carries the same, every unit, for tools.
    let run = sim.run(&["plan", "setup/", "--all-merchants", "--json"]);
    assert!(run.success(), "{run}");
    let v: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON plan");
    assert_eq!(v["coverage"]["listed"], 51, "{v}");
    let left: BTreeSet<String> = v["coverage"]["not_in_configuration"]
        .as_array()
        .expect("a list")
        .iter()
        .map(|u| u["msn"].as_str().unwrap_or_default().to_string())
        .collect();
    let mut expected: BTreeSet<String> = fifty()[3..].iter().cloned().collect();
    expected.insert(vippsctl::sim::SANDBOX_MSN.to_string());
    assert_eq!(left, expected);
    assert_eq!(v["coverage"]["not_listed"], serde_json::json!([]));

    // Shards split the list as they split merchants: each unit is named by exactly one shard.
    let mut named: Vec<String> = Vec::new();
    let mut listed = 0;
    for i in 1..=3 {
        let shard = format!("{i}/3");
        let run = sim.run(&[
            "plan",
            "setup/",
            "--all-merchants",
            "--json",
            "--shard",
            &shard,
        ]);
        assert!(run.success(), "{run}");
        let v: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON plan");
        listed += v["coverage"]["listed"].as_u64().unwrap_or_default();
        named.extend(
            v["coverage"]["not_in_configuration"]
                .as_array()
                .expect("a list")
                .iter()
                .map(|u| u["msn"].as_str().unwrap_or_default().to_string()),
        );
    }
    assert_eq!(listed, 51);
    let unique: BTreeSet<String> = named.iter().cloned().collect();
    assert_eq!(unique.len(), named.len(), "a unit in two shards: {named:?}");
    assert_eq!(unique, expected);

    // Adopted: everything is covered and the plan says so.
    let run = sim.run(&[
        "import",
        "--all",
        "--kinds",
        "webhooks",
        "--out",
        "setup/all.yaml",
    ]);
    assert!(run.success(), "{run}");
    std::fs::remove_file(sim.write("setup/some.yaml", "")).expect("remove");
    let run = sim.run(&["plan", "setup/", "--all-merchants", "--detailed-exitcode"]);
    assert_eq!(run.code, Some(0), "{run}");
    assert!(
        run.stdout
            .contains("Every one of them is in the configuration."),
        "{run}"
    );
}

#[test]
fn plan_all_merchants_with_merchant_keys_fails_before_any_read_and_takes_no_msn() {
    let sim = Sim::with_config(SimConfig::test());
    sim.write(
        "setup.yaml",
        "version: 1\nmerchants:\n  - msn: \"123456\"\n",
    );
    let run = sim.run(&["plan", "setup.yaml", "--all-merchants"]);
    assert_eq!(run.code, Some(1), "{run}");
    assert!(
        run.stderr
            .contains("error: could not get a Management API token"),
        "{run}"
    );
    let ops: Vec<String> = sim.calls().into_iter().map(|c| c.operation).collect();
    assert!(
        !ops.iter().any(|o| o.starts_with("list_")),
        "nothing was read: {ops:?}"
    );
    let run = sim.run(&["plan", "setup.yaml", "--all-merchants", "--msn", "123456"]);
    assert_eq!(run.code, Some(1), "{run}");
    assert!(run.stderr.contains("cannot be used with"), "{run}");
}
