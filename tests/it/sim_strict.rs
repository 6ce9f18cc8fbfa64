//! Strict conformance: the real binary's whole lifecycle (plan, apply, consent accepted, rejected
//! and expired, import, a stop, a webhook rotation with --replace, drift) against
//!
//! - A: the simulator with every rule on (its defaults, with the documented rate limits), and
//! - B: a test double written here from the published specs alone: a proxy in front of a
//!   simulator with every leniency on, which itself applies the rules that leniency switched
//!   off (no `status` lists ACTIVE agreements only, keys act only for their sales units,
//!   merchant-redirect QR reads need an Accept header).
//!
//! Both must yield the same plans. A reconciler that relied on the simulator's old leniency
//! (listing agreements without a status) drafts rejected agreements again and never converges
//! here.

use crate::common;

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use common::cli::{Run, Sim, MSN};
use std::time::Duration;
use vippsctl::sim::{AgreementStatus, Leniency, RateLimits, SimConfig};

const OTHER: &str = "234567";

fn strict() -> SimConfig {
    SimConfig {
        rate_limits: RateLimits::documented(),
        ..common::test_config()
    }
}

// --- the test double ----------------------------------------------------------------------------

/// What the proxy knows about keys: the sales units each subscription key may act for, and
/// whether they are a partner's (MSN required on every call).
#[derive(Clone)]
struct Keys {
    subscription_key: String,
    msns: Vec<String>,
    partner: bool,
}

fn gateway(status: StatusCode, message: &str) -> Response {
    let body = serde_json::json!({
        "responseInfo": {"responseCode": status.as_u16(), "responseMessage": status.canonical_reason()},
        "result": {"message": message},
    });
    (
        status,
        [("content-type", "application/json")],
        body.to_string(),
    )
        .into_response()
}

fn problem(status: StatusCode, content_type: &'static str, detail: &str) -> Response {
    let body = serde_json::json!({"title": status.canonical_reason(), "status": status.as_u16(), "detail": detail, "instance": "proxy"});
    (status, [("content-type", content_type)], body.to_string()).into_response()
}

/// The rules the lenient backend leaves out, from the published specs' descriptions.
fn refuse(method: &Method, uri: &Uri, headers: &HeaderMap, keys: &[Keys]) -> Option<Response> {
    let path = uri.path();
    if path == "/accesstoken/get" || path.starts_with("/_sim") {
        return None;
    }
    let header = |n: &str| headers.get(n).and_then(|v| v.to_str().ok());
    // "Requested image format. Supported values: {image/*,image/png, image/svg+xml,
    // text/targetUrl}" (a required header) on the merchant-redirect reads.
    if path.starts_with("/qr/v1/merchant-redirect") && method == Method::GET {
        let ok = header("Accept").is_some_and(|a| {
            a.split(',').any(|m| {
                let m = m
                    .split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase();
                matches!(
                    m.as_str(),
                    "image/*" | "image/png" | "image/svg+xml" | "text/targeturl"
                )
            })
        });
        if !ok {
            return Some(problem(
                StatusCode::BAD_REQUEST,
                "application/json",
                "Accept is required",
            ));
        }
    }
    // Keys belong to their sales unit; partners must always send the MSN.
    let k = keys
        .iter()
        .find(|k| header("Ocp-Apim-Subscription-Key") == Some(k.subscription_key.as_str()))?;
    match header("Merchant-Serial-Number") {
        None if k.partner => Some(problem(
            StatusCode::BAD_REQUEST,
            "application/json",
            "Merchant-Serial-Number is required for partners",
        )),
        Some(m) if !k.msns.iter().any(|x| x == m) => {
            let documented_403 = path.starts_with("/qr/v1/merchant-callback")
                || (method == Method::POST && path == "/recurring/v3/agreements");
            Some(if documented_403 {
                problem(
                    StatusCode::FORBIDDEN,
                    "application/json",
                    "not this sales unit",
                )
            } else {
                gateway(StatusCode::UNAUTHORIZED, "Access denied")
            })
        }
        _ => None,
    }
}

/// "If no query status is supplied it will default to only retrieving active agreements."
fn default_query(method: &Method, uri: &Uri) -> Option<String> {
    let query = uri.query().map(str::to_string);
    if method == Method::GET && uri.path() == "/recurring/v3/agreements" {
        let has_status = query
            .as_deref()
            .is_some_and(|q| q.split('&').any(|p| p.starts_with("status=")));
        if !has_status {
            return Some(match query {
                Some(q) if !q.is_empty() => format!("{q}&status=ACTIVE"),
                _ => "status=ACTIVE".into(),
            });
        }
    }
    query
}

/// Start the proxy on the simulator's runtime; answers on the returned base URL.
fn start_proxy(sim: &Sim, backend: String, keys: Vec<Keys>) -> String {
    sim.block_on(async move {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        let app = axum::Router::new().fallback(
            move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                let (http, backend, keys) = (http.clone(), backend.clone(), keys.clone());
                async move {
                    if let Some(r) = refuse(&method, &uri, &headers, &keys) {
                        return r;
                    }
                    let mut url = format!("{backend}{}", uri.path());
                    if let Some(q) = default_query(&method, &uri) {
                        url.push('?');
                        url.push_str(&q);
                    }
                    let mut rb = http.request(method, url).body(body);
                    for (k, v) in &headers {
                        if k != "host" && k != "content-length" {
                            rb = rb.header(k, v);
                        }
                    }
                    match rb.send().await {
                        Ok(r) => {
                            let status = r.status();
                            let mut out = HeaderMap::new();
                            for (k, v) in r.headers() {
                                if k != "content-length" && k != "transfer-encoding" {
                                    out.insert(k.clone(), v.clone());
                                }
                            }
                            let body = r.bytes().await.unwrap_or_default();
                            (status, out, body).into_response()
                        }
                        Err(e) => (StatusCode::BAD_GATEWAY, e.to_string()).into_response(),
                    }
                }
            },
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        format!("http://{addr}")
    })
}

// --- the lifecycle ------------------------------------------------------------------------------

const V1: &str = r#"version: 1
merchants:
  - msn: "123456"
    prune: [webhooks, redirectQrs, callbackQrs]
    webhooks:
      - url: https://hooks.example/events
        events: [epayments.payment.captured.v1]
      - url: https://hooks.example/checkin
        events: [user.checked-in.v1]
    redirectQrs:
      - id: menu
        redirectUrl: https://shop.example/menu
      - id: summer
        redirectUrl: https://shop.example/summer
        ttl: 7200
    callbackQrs:
      - merchantQrId: till-1
        locationDescription: Kasse 1
    agreements:
      - externalId: gold-accept
        productName: Gold
        pricing: { type: LEGACY, amount: 29900, currency: NOK }
        interval: { unit: MONTH, count: 1 }
        merchantRedirectUrl: https://shop.example/thanks
        merchantAgreementUrl: https://shop.example/account
      - externalId: gold-reject
        productName: Gold
        pricing: { type: LEGACY, amount: 29900, currency: NOK }
        interval: { unit: MONTH, count: 1 }
        merchantRedirectUrl: https://shop.example/thanks
        merchantAgreementUrl: https://shop.example/account
      - externalId: gold-expire
        productName: Gold
        pricing: { type: LEGACY, amount: 29900, currency: NOK }
        interval: { unit: MONTH, count: 1 }
        merchantRedirectUrl: https://shop.example/thanks
        merchantAgreementUrl: https://shop.example/account
      - externalId: power
        productName: Power
        pricing: { type: VARIABLE, suggestedMaxAmount: 150000, currency: NOK }
        interval: { unit: MONTH, count: 1 }
        merchantRedirectUrl: https://shop.example/thanks
        merchantAgreementUrl: https://shop.example/account
  - msn: "234567"
    redirectQrs:
      - id: door
        redirectUrl: https://bakery.example/
    agreements:
      - externalId: bread
        productName: Bread
        pricing: { type: FLEXIBLE, currency: NOK }
        merchantRedirectUrl: https://bakery.example/thanks
        merchantAgreementUrl: https://bakery.example/account
"#;

/// Ids, ports, keys and fingerprints out, so the two setups' outputs compare; seconds left on a
/// QR depend on how long each command took.
fn normalise(text: &str) -> String {
    let text: String = text
        .lines()
        .map(|l| match l.find("ttl: ") {
            Some(i) => format!("{}ttl: [SECONDS]\n", &l[..i]),
            None if l.contains("seconds left") => {
                let l: String = l.chars().filter(|c| !c.is_ascii_digit()).collect();
                format!("{l}\n")
            }
            None => format!("{l}\n"),
        })
        .collect();
    let text = uuids_out(&text);
    let text = text.as_str();
    let mut out = String::with_capacity(text.len());
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        let hex = !word.is_empty() && word.chars().all(|c| c.is_ascii_hexdigit());
        let replaced = if word.starts_with("agr_") && word.len() == 11 {
            "[AGREEMENT]".to_string()
        } else if hex && [8, 12, 16, 32, 40, 64].contains(&word.len()) {
            "[HEX]".to_string()
        } else if out.ends_with("127.0.0.1:") && word.chars().all(|c| c.is_ascii_digit()) {
            "[PORT]".to_string()
        } else {
            std::mem::take(word)
        };
        word.clear();
        out.push_str(&replaced);
    };
    for c in text.chars() {
        if c.is_ascii_alphanumeric() || c == '_' {
            word.push(c);
        } else {
            flush(&mut word, &mut out);
            out.push(c);
        }
    }
    flush(&mut word, &mut out);
    out
}

fn uuids_out(text: &str) -> String {
    let is_uuid = |w: &[u8]| {
        w.len() == 36
            && w.iter().enumerate().all(|(i, b)| match i {
                8 | 13 | 18 | 23 => *b == b'-',
                _ => b.is_ascii_hexdigit(),
            })
    };
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < bytes.len() {
        if i + 36 <= bytes.len() && is_uuid(&bytes[i..i + 36]) {
            out.push_str("[UUID]");
            i += 36;
        } else {
            let c = text[i..].chars().next().unwrap_or(' ');
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

/// One setup: where the binary talks to, and the simulator behind it.
struct Setup {
    sim: Sim,
    base: String,
}

impl Setup {
    fn a() -> Setup {
        let sim = Sim::with_config(strict());
        let base = sim.base_url();
        Setup { sim, base }
    }

    fn b() -> Setup {
        let sim = Sim::with_config(strict().with_leniency(Leniency::all()));
        let keys = vec![Keys {
            subscription_key: vippsctl::sim::SANDBOX_SUBSCRIPTION_KEY.into(),
            msns: common::MSNS.iter().map(|s| s.to_string()).collect(),
            partner: true,
        }];
        let base = start_proxy(&sim, sim.base_url(), keys);
        Setup { sim, base }
    }

    /// A minute passes (so the list budget of 5 per minute is whole again), then the command.
    fn run(&self, args: &[&str]) -> Run {
        self.sim.handle.advance_clock(Duration::from_secs(61));
        self.sim.run_at(&self.base, args)
    }

    fn agreement(&self, msn: &str, external_id: &str, status: AgreementStatus) -> String {
        self.sim.state().merchants[msn]
            .agreements
            .values()
            .find(|a| a.external_id.as_deref() == Some(external_id) && a.status == status)
            .map(|a| a.id.clone())
            .unwrap_or_else(|| panic!("no {status:?} agreement {external_id}"))
    }
}

/// The lifecycle; returns every command's exit code and normalised stdout, in order.
fn lifecycle(s: &Setup) -> Vec<(String, Option<i32>, String)> {
    let mut log = Vec::new();
    let mut step = |name: &str, run: Run| {
        log.push((name.to_string(), run.code, normalise(&run.stdout)));
        run
    };
    s.sim.write("setup.yaml", V1);
    step("plan from empty", s.run(&["plan", "setup.yaml"]));
    let apply = step("apply", s.run(&["apply", "setup.yaml", "--auto-approve"]));
    assert!(apply.success(), "{apply}");
    // The customers decide.
    let h = &s.sim.handle;
    h.accept_agreement(&s.agreement(MSN, "gold-accept", AgreementStatus::Pending))
        .expect("accept");
    h.accept_agreement_with_max(
        &s.agreement(MSN, "power", AgreementStatus::Pending),
        200_000,
    )
    .expect("accept with a maximum");
    h.stop_agreement(&s.agreement(MSN, "gold-reject", AgreementStatus::Pending))
        .expect("reject");
    h.accept_agreement(&s.agreement(OTHER, "bread", AgreementStatus::Pending))
        .expect("accept");
    let after_consent = step(
        "plan after consent",
        s.run(&["plan", "setup.yaml", "--detailed-exitcode"]),
    );
    assert_eq!(after_consent.code, Some(0), "{after_consent}");
    // gold-expire is left alone until its draft expires.
    h.advance_clock(Duration::from_secs(10 * 60));
    let expired = step("plan after expiry", s.run(&["plan", "setup.yaml"]));
    assert!(expired.stdout.contains("gold-expire"), "{expired}");
    step(
        "apply again",
        s.run(&["apply", "setup.yaml", "--auto-approve"]),
    );
    step("import", s.run(&["import", "--msn", MSN, "--msn", OTHER]));
    // The merchant stops gold-accept.
    s.sim.write(
        "setup.yaml",
        &V1.replacen(
            "        merchantAgreementUrl: https://shop.example/account\n      - externalId: gold-reject",
            "        merchantAgreementUrl: https://shop.example/account\n        status: STOPPED\n      - externalId: gold-reject",
            1,
        ),
    );
    step("plan stop", s.run(&["plan", "setup.yaml"]));
    step(
        "apply stop",
        s.run(&["apply", "setup.yaml", "--auto-approve"]),
    );
    let done = step(
        "plan after stop",
        s.run(&["plan", "setup.yaml", "--detailed-exitcode"]),
    );
    assert_eq!(
        done.code,
        Some(0),
        "a declared STOPPED agreement is done: {done}"
    );
    // A webhook secret leaked: rotate it.
    step(
        "rotate",
        s.run(&[
            "apply",
            "setup.yaml",
            "--replace",
            "123456.webhooks[https://hooks.example/events]",
            "--auto-approve",
        ]),
    );
    step(
        "plan after rotation",
        s.run(&["plan", "setup.yaml", "--detailed-exitcode"]),
    );
    // Drift: the customer stops Power in the app, a webhook is auto-deleted, a QR is edited.
    h.stop_agreement(&s.agreement(MSN, "power", AgreementStatus::Active))
        .expect("customer stops");
    let hook = s.sim.state().merchants[MSN]
        .webhooks
        .iter()
        .find(|w| w.url == "https://hooks.example/checkin")
        .map(|w| w.id.to_string())
        .expect("check-in webhook");
    h.drift(&vippsctl::sim::Drift {
        msn: MSN.into(),
        kind: vippsctl::sim::ObjectKind::Webhook,
        id: hook,
        set: None,
        delete: true,
    })
    .expect("drift");
    h.drift(&vippsctl::sim::Drift {
        msn: OTHER.into(),
        kind: vippsctl::sim::ObjectKind::RedirectQr,
        id: "door".into(),
        set: Some(serde_json::json!({"redirect_url": "https://evil.example/"})),
        delete: false,
    })
    .expect("drift");
    let drift = step(
        "drift check",
        s.run(&["plan", "setup.yaml", "--detailed-exitcode"]),
    );
    assert_eq!(drift.code, Some(2), "{drift}");
    step("repair", s.run(&["apply", "setup.yaml", "--auto-approve"]));
    step(
        "drift check after repair",
        s.run(&["plan", "setup.yaml", "--detailed-exitcode"]),
    );
    // A merchant whose MSN no keys belong to.
    s.sim.write(
        "unknown.yaml",
        "version: 1\nmerchants:\n  - msn: \"999999\"\n    redirectQrs:\n      - id: x\n        redirectUrl: https://x.example/\n",
    );
    let unknown = s.run(&["plan", "unknown.yaml"]);
    assert_eq!(unknown.code, Some(1), "{unknown}");
    assert!(unknown.stderr.contains("401"), "{unknown}");
    log.push(("unknown merchant".into(), unknown.code, String::new()));
    log
}

#[test]
fn the_lifecycle_plans_the_same_against_the_strict_simulator_and_the_spec_double() {
    let a = Setup::a();
    let b = Setup::b();
    let la = lifecycle(&a);
    let lb = lifecycle(&b);
    for ((name, code_a, out_a), (_, code_b, out_b)) in la.iter().zip(&lb) {
        assert_eq!(
            code_a, code_b,
            "{name}: exit codes differ\nA:\n{out_a}\nB:\n{out_b}"
        );
        assert_eq!(out_a, out_b, "{name}: outputs differ");
    }
    assert_eq!(la.len(), lb.len());
    // What the plans say, beyond being equal.
    let by = |name: &str| &la.iter().find(|s| s.0 == name).expect("step").2;
    let consent = by("plan after consent");
    assert!(
        consent.contains("gold-reject") && consent.contains("STOPPED"),
        "a rejected draft is reported, not drafted again:\n{consent}"
    );
    assert!(
        !consent.contains("+ 123456.agreements[gold-reject]"),
        "{consent}"
    );
    assert!(by("plan after expiry").contains("+ 123456.agreements[gold-expire]"));
    assert!(by("import").contains("externalId: \"gold-accept\""));
    assert!(by("plan stop").contains("123456.agreements[gold-accept]"));
    let drift = by("drift check");
    assert!(
        drift.contains("hooks.example/checkin") && drift.contains("door"),
        "{drift}"
    );
    // Every list asked for a status: the spec double never had to fill one in.
    assert!(common::cli::every_agreement_list_asks(
        &a.sim.calls(),
        "status="
    ));
    assert!(
        a.sim.calls().iter().all(|c| c.status != 429),
        "the client paced itself within the documented limits"
    );
}

#[test]
fn a_plan_that_needs_more_than_five_lists_waits_for_the_budget_and_says_so() {
    // 2,000 ACTIVE and 2,000 EXPIRED agreements and one declared agreement without an open
    // one: ACTIVE 2 pages, PENDING 1, STOPPED 1, EXPIRED 2 pages: six lists, one over the budget.
    let sim = Sim::with_config(strict());
    let page = vippsctl::resources::observe::AGREEMENT_PAGE_SIZE as usize;
    let now = sim.handle.now();
    sim.handle.update(|s| {
        let m = s.merchants.entry(MSN.into()).or_default();
        for (i, status) in (0..2 * page).map(|i| {
            (
                i,
                if i < page {
                    AgreementStatus::Active
                } else {
                    AgreementStatus::Expired
                },
            )
        }) {
            let id = format!("agr_{i:07}");
            m.agreements.insert(
                id.clone(),
                vippsctl::sim::Agreement {
                    id,
                    uuid: uuid::Uuid::new_v4(),
                    status,
                    product_name: "Club".into(),
                    product_description: None,
                    pricing: vippsctl::sim::Pricing {
                        kind: vippsctl::sim::PricingType::Flexible,
                        currency: "NOK".into(),
                        amount: None,
                        suggested_max_amount: None,
                        max_amount: None,
                    },
                    interval: None,
                    merchant_agreement_url: Some("https://shop.example/account".into()),
                    merchant_redirect_url: "https://shop.example/thanks".into(),
                    external_id: Some(format!("old-{i}")),
                    campaign: None,
                    phone_number: None,
                    created: now,
                    start: None,
                    stop: None,
                },
            );
        }
    });
    sim.write(
        "setup.yaml",
        &format!(
            "version: 1\nmerchants:\n  - msn: \"{MSN}\"\n    agreements:\n{}",
            common::seed::agreement_yaml("member-1", 100, "")
        ),
    );
    let plan = sim.run(&["plan", "setup.yaml"]);
    assert!(plan.success(), "{plan}");
    assert!(
        plan.stdout.contains("+ 123456.agreements[member-1]"),
        "{plan}"
    );
    let waits: Vec<&str> = plan
        .stderr
        .lines()
        .filter(|l| l.contains("waiting") && l.contains("list_agreements"))
        .collect();
    assert_eq!(
        waits.len(),
        1,
        "one line for the one wait:\n{}",
        plan.stderr
    );
    assert!(
        waits[0].contains("(merchant 123456)") && waits[0].contains("at most 5 calls per minute"),
        "{}",
        waits[0]
    );
    let lists = common::cli::agreement_lists(&sim.calls());
    assert_eq!(
        lists,
        [
            "ACTIVE",
            "ACTIVE page 2",
            "EXPIRED",
            "EXPIRED page 2",
            "PENDING",
            "STOPPED"
        ]
    );
    assert!(
        sim.calls().iter().all(|c| c.status != 429),
        "the sixth list waited for the window instead of collecting a 429"
    );
}

/// The content of the one QR code in an exported PNG.
fn exported_content(sim: &Sim, file: &str) -> String {
    let bytes = std::fs::read(sim.path(file)).expect("the exported image");
    let (_, codes) = crate::printing_common::decode_png(&bytes);
    assert_eq!(codes.len(), 1, "{file}: {codes:?}");
    codes[0].clone()
}

#[test]
fn a_ttl_replacement_kills_the_printed_code_and_plan_and_export_say_so() {
    let sim = Sim::with_config(strict());
    let yaml = |ttl: &str| {
        format!("version: 1\nmerchants:\n  - msn: \"{MSN}\"\n    redirectQrs:\n      - id: poster\n        redirectUrl: https://shop.example/poster\n{ttl}")
    };
    sim.write("setup.yaml", &yaml(""));
    assert!(sim
        .run(&["apply", "setup.yaml", "--auto-approve"])
        .success());
    let export = sim.run(&[
        "qr",
        "export",
        "setup.yaml",
        "--out",
        "before",
        "--format",
        "png",
    ]);
    assert!(export.success(), "{export}");
    let png = std::fs::read_dir(sim.path("before"))
        .expect("exported")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .find(|n| n.ends_with(".png"))
        .expect("a png");
    let printed = exported_content(&sim, &format!("before/{png}"));
    let (status, lead) = sim.block_on(crate::printing_common::follow(&printed));
    assert_eq!(
        (status, lead.as_str()),
        (302, "https://shop.example/poster")
    );

    // A ttl cannot change in place: the QR is deleted and created again.
    sim.write("setup.yaml", &yaml("        ttl: 86400\n"));
    let plan = sim.run(&["plan", "setup.yaml"]);
    assert!(
        plan.stdout.contains("-/+ 123456.redirectQrs[poster]"),
        "{plan}"
    );
    assert!(
        plan.stdout
            .contains("every printed copy of this QR code stops working for good"),
        "the plan says the printed code dies: {plan}"
    );
    assert!(sim
        .run(&["apply", "setup.yaml", "--auto-approve"])
        .success());
    // The printed code is dead for good; the new one must be printed again.
    let (status, _) = sim.block_on(crate::printing_common::follow(&printed));
    assert_eq!(status, 404, "the code printed before the replacement");
    let again = sim.run(&[
        "qr",
        "export",
        "setup.yaml",
        "--out",
        "after",
        "--format",
        "png",
    ]);
    assert!(again.success(), "{again}");
    let reprinted = exported_content(&sim, &format!("after/{png}"));
    assert_ne!(reprinted, printed, "a re-created id gets new content");
    let (status, lead) = sim.block_on(crate::printing_common::follow(&reprinted));
    assert_eq!(
        (status, lead.as_str()),
        (302, "https://shop.example/poster")
    );
}

#[test]
fn import_lists_exactly_the_statuses_it_is_asked_for() {
    let sim = Sim::with_config(strict());
    let h = &sim.handle;
    common::seed::agreement(h, MSN, "agr_Active1", "a", AgreementStatus::Active, 100);
    common::seed::agreement(h, MSN, "agr_Stoppd1", "s", AgreementStatus::Stopped, 100);
    common::seed::agreement(h, MSN, "agr_Expird1", "e", AgreementStatus::Expired, 100);
    sim.clear_calls();
    let default = sim.run(&["import", "--msn", MSN, "--kinds", "agreements"]);
    assert!(default.success(), "{default}");
    assert_eq!(
        common::cli::agreement_lists(&sim.calls()),
        ["ACTIVE", "PENDING"]
    );
    assert!(default.stdout.contains("externalId: \"a\""), "{default}");
    sim.clear_calls();
    let ended = sim.run(&[
        "import",
        "--msn",
        MSN,
        "--kinds",
        "agreements",
        "--agreement-status",
        "STOPPED,EXPIRED",
        "--created-after",
        "2020-01-01",
    ]);
    assert!(ended.success(), "{ended}");
    assert_eq!(
        common::cli::agreement_lists(&sim.calls()),
        ["EXPIRED", "STOPPED"]
    );
    // The day is sent as the instant before it (the API lists agreements created after it).
    let since = chrono::NaiveDate::from_ymd_opt(2020, 1, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc().timestamp_millis() - 1)
        .expect("a date");
    assert!(common::cli::every_agreement_list_asks(
        &sim.calls(),
        &format!("createdAfter={since}")
    ));
    assert!(
        ended.stdout.contains("externalId: \"s\"") && ended.stdout.contains("externalId: \"e\"")
    );
    assert!(!ended.stdout.contains("externalId: \"a\""), "{ended}");
}

#[test]
fn the_sandbox_needs_no_credentials_and_creates_the_configured_sales_units() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("setup.yaml"),
        "version: 1\nmerchants:\n  - msn: \"777001\"\n    redirectQrs:\n      - id: a\n        redirectUrl: https://a.example/\n  - msn: \"777002\"\n    callbackQrs:\n      - merchantQrId: t\n        locationDescription: T\n    webhooks:\n      - url: https://hooks.example/checkin\n        events: [user.checked-in.v1]\n",
    )
    .expect("write");
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_vippsctl"))
            .args(args)
            .current_dir(dir.path())
            .env_remove("VIPPS_CLIENT_ID")
            .env_remove("VIPPS_CLIENT_SECRET")
            .env_remove("VIPPS_SUBSCRIPTION_KEY")
            .env_remove("VIPPSCTL_BASE_URL")
            .env("NO_COLOR", "1")
            .output()
            .expect("runs")
    };
    let apply = run(&["apply", "setup.yaml", "--sandbox", "--auto-approve"]);
    assert!(
        apply.status.success(),
        "{}",
        String::from_utf8_lossy(&apply.stderr)
    );
    let plan = run(&["plan", "setup.yaml", "--sandbox", "--detailed-exitcode"]);
    assert_eq!(plan.status.code(), Some(0));
    let state: serde_json::Value = serde_json::from_slice(
        &std::fs::read(dir.path().join(".vippsctl/sandbox.json")).expect("sandbox state"),
    )
    .expect("json");
    assert!(state["merchants"]["777001"]["redirect_qrs"]["a"].is_object());
    assert!(state["merchants"]["777002"]["callback_qrs"]["t"].is_object());
}
