//! `vippsctl sim serve` as a user runs it: it prints the base URL and credentials, answers the
//! API with them, exposes `/_sim/`, and keeps state in `--state FILE` across restarts.

use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

struct Served {
    child: Child,
    fields: Vec<(String, String)>,
}

impl Served {
    fn field(&self, name: &str) -> String {
        self.fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.split(' ').next().unwrap_or_default().to_string())
            .unwrap_or_else(|| panic!("`{name}:` not printed; got {:?}", self.fields))
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(args: &[&str]) -> Served {
    let mut child = Command::new(env!("CARGO_BIN_EXE_vippsctl"))
        .args(["sim", "serve", "--port", "0"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("vippsctl starts");
    let stdout = child.stdout.take().expect("stdout");
    let mut fields = Vec::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("line");
        if let Some((k, v)) = line.split_once(": ") {
            fields.push((k.to_string(), v.to_string()));
        }
        if line.starts_with("control:") {
            break;
        }
    }
    Served { child, fields }
}

/// `Bearer <token>` for the keys `served` printed.
async fn bearer(http: &reqwest::Client, served: &Served) -> String {
    let base = served.field("base_url");
    let token: Value = http
        .post(format!("{base}/accesstoken/get"))
        .header("client_id", served.field("client_id"))
        .header("client_secret", served.field("client_secret"))
        .header(
            "Ocp-Apim-Subscription-Key",
            served.field("subscription_key"),
        )
        .send()
        .await
        .expect("token")
        .json()
        .await
        .expect("json");
    format!(
        "Bearer {}",
        token["access_token"].as_str().unwrap_or_default()
    )
}

#[tokio::test]
async fn serve_prints_credentials_that_work_and_keeps_state() {
    let dir = tempfile::tempdir().expect("tempdir");
    let state = dir.path().join("sandbox.json");
    let state_arg = state.to_string_lossy().to_string();
    let http = reqwest::Client::new();

    let served = serve(&["--state", &state_arg, "--seed", "3"]);
    let base = served.field("base_url");
    let key = served.field("subscription_key");
    let bearer = bearer(&http, &served).await;
    let r = http
        .put(format!("{base}/qr/v1/merchant-callback/till-1"))
        .header("Authorization", &bearer)
        .header("Ocp-Apim-Subscription-Key", &key)
        .header("Merchant-Serial-Number", "123456")
        .json(&json!({"locationDescription": "Kasse 1"}))
        .send()
        .await
        .expect("put");
    assert_eq!(r.status().as_u16(), 200);
    let calls: Value = http
        .get(format!("{base}/_sim/calls"))
        .send()
        .await
        .expect("calls")
        .json()
        .await
        .expect("json");
    assert_eq!(calls[1]["operation"], "put_callback_qr");
    assert_eq!(calls[1]["msn"], "123456");
    drop(served);

    let served = serve(&["--state", &state_arg]);
    let st: Value = http
        .get(format!("{}/_sim/state", served.field("base_url")))
        .send()
        .await
        .expect("state")
        .json()
        .await
        .expect("json");
    assert_eq!(
        st["merchants"]["123456"]["callback_qrs"]["till-1"]["location_description"],
        "Kasse 1"
    );
}

#[test]
fn a_bad_fault_rate_is_refused() {
    let out = Command::new(env!("CARGO_BIN_EXE_vippsctl"))
        .args(["sim", "serve", "--fault-rate", "2"])
        .output()
        .expect("runs");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("between 0.0 and 1.0"));
}

#[test]
fn a_corrupt_state_file_is_reported_not_overwritten() {
    let dir = tempfile::tempdir().expect("tempdir");
    let state = dir.path().join("sandbox.json");
    std::fs::write(&state, "{not json").expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_vippsctl"))
        .args(["sim", "serve", "--state"])
        .arg(&state)
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("error: the simulator state file") && err.contains("hint:"),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(&state).expect("read"), "{not json");
}

/// The keys printed for each `merchant_serial_number:` block.
fn sales_units(served: &Served) -> Vec<(String, String, String, String)> {
    let mut out = Vec::new();
    let mut msn = None;
    let mut id = None;
    let mut secret = None;
    for (k, v) in &served.fields {
        match k.as_str() {
            "merchant_serial_number" => msn = Some(v.clone()),
            "client_id" => id = Some(v.clone()),
            "client_secret" => secret = Some(v.clone()),
            "subscription_key" => {
                if let (Some(m), Some(i), Some(s)) = (msn.take(), id.take(), secret.take()) {
                    out.push((m, i, s, v.clone()));
                }
            }
            _ => {}
        }
    }
    out
}

async fn status_of(
    http: &reqwest::Client,
    base: &str,
    (id, secret, key): (&str, &str, &str),
    msn: &str,
) -> u16 {
    let token: Value = http
        .post(format!("{base}/accesstoken/get"))
        .header("client_id", id)
        .header("client_secret", secret)
        .header("Ocp-Apim-Subscription-Key", key)
        .send()
        .await
        .expect("token")
        .json()
        .await
        .expect("json");
    http.get(format!("{base}/webhooks/v1/webhooks"))
        .header(
            "Authorization",
            format!(
                "Bearer {}",
                token["access_token"].as_str().unwrap_or_default()
            ),
        )
        .header("Ocp-Apim-Subscription-Key", key)
        .header("Merchant-Serial-Number", msn)
        .send()
        .await
        .expect("list")
        .status()
        .as_u16()
}

#[tokio::test]
async fn serve_msn_creates_sales_units_whose_keys_act_only_for_themselves() {
    let served = serve(&["--msn", "654321", "--msn", "234567:DK"]);
    let base = served.field("base_url");
    let units = sales_units(&served);
    assert_eq!(
        units.iter().map(|u| u.0.as_str()).collect::<Vec<_>>(),
        ["654321", "234567 (DK)"],
        "{:?}",
        served.fields
    );
    let http = reqwest::Client::new();
    let keys = |i: usize| {
        (
            units[i].1.as_str(),
            units[i].2.as_str(),
            units[i].3.as_str(),
        )
    };
    assert_eq!(status_of(&http, &base, keys(0), "654321").await, 200);
    assert_eq!(status_of(&http, &base, keys(1), "234567").await, 200);
    // One sales unit's keys for another, and an MSN nobody created: refused.
    assert_eq!(status_of(&http, &base, keys(0), "234567").await, 401);
    assert_eq!(status_of(&http, &base, keys(0), "999999").await, 401);
    drop(served);

    let partner = serve(&["--msn", "654321", "--msn", "234567", "--partner-keys"]);
    let base = partner.field("base_url");
    assert!(partner.field("partner_keys_for").starts_with("654321,"));
    let k = (
        partner.field("client_id"),
        partner.field("client_secret"),
        partner.field("subscription_key"),
    );
    let k = (k.0.as_str(), k.1.as_str(), k.2.as_str());
    assert_eq!(status_of(&http, &base, k, "654321").await, 200);
    assert_eq!(status_of(&http, &base, k, "234567").await, 200);
    assert_eq!(status_of(&http, &base, k, "999999").await, 401);
    drop(partner);

    let open = serve(&["--lenient-any-msn"]);
    assert!(open.field("lenient").contains("any"));
    let base = open.field("base_url");
    let k = (
        open.field("client_id"),
        open.field("client_secret"),
        open.field("subscription_key"),
    );
    assert_eq!(
        status_of(&http, &base, (&k.0, &k.1, &k.2), "999999").await,
        200
    );
}

#[tokio::test]
async fn the_documented_fault_names_work_in_the_flag_and_the_control_api() {
    let bad = Command::new(env!("CARGO_BIN_EXE_vippsctl"))
        .args(["sim", "serve", "--fault", "status500"])
        .output()
        .expect("runs");
    assert!(!bad.status.success());
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(
        err.contains("status_500") && err.contains("after_write_drop"),
        "{err}"
    );

    let served = serve(&["--fault", "status_503", "--fault", "after_write_500"]);
    let base = served.field("base_url");
    let http = reqwest::Client::new();
    let faults: Value = http
        .get(format!("{base}/_sim/faults"))
        .send()
        .await
        .expect("faults")
        .json()
        .await
        .expect("json");
    assert_eq!(faults["mix"], json!(["status_503", "after_write_500"]));
    // The example in docs/simulator.md, as written there (hang_ms may be left out).
    for mix in [
        json!(["status_500", "drop", "after_write_500"]),
        json!([
            "status_502",
            "status_503",
            "status_429",
            "timeout",
            "after_write_drop"
        ]),
    ] {
        let r = http
            .put(format!("{base}/_sim/faults"))
            .json(&json!({"rate": 0.1, "mix": mix}))
            .send()
            .await
            .expect("put");
        assert_eq!(r.status().as_u16(), 200, "{mix}");
    }
}

#[tokio::test]
async fn serve_forward_to_sends_triggered_events_to_the_local_receiver() {
    let got = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let store = got.clone();
    let app = axum::Router::new().route(
        "/in",
        axum::routing::post(move |body: String| {
            let store = store.clone();
            async move {
                store.lock().unwrap().push(body);
                axum::http::StatusCode::NO_CONTENT
            }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    let target = format!("http://127.0.0.1:{port}/in");
    let served = serve(&["--forward-to", &target]);
    assert!(served.field("forward_to").starts_with(&target));
    let base = served.field("base_url");
    let key = served.field("subscription_key");
    let http = reqwest::Client::new();
    let bearer = bearer(&http, &served).await;
    let r = http
        .post(format!("{base}/webhooks/v1/webhooks"))
        .header("Authorization", &bearer)
        .header("Ocp-Apim-Subscription-Key", &key)
        .header("Merchant-Serial-Number", "123456")
        .json(&json!({"url": "https://shop.example.com/in", "events": ["login.merchant-initiated.ping.v1"]}))
        .send()
        .await
        .expect("register");
    assert_eq!(r.status().as_u16(), 201);
    let out = Command::new(env!("CARGO_BIN_EXE_vippsctl"))
        .args([
            "sim",
            "trigger",
            "login.merchant-initiated.ping.v1",
            "--msn",
            "123456",
        ])
        .args(["--base-url", &base])
        .output()
        .expect("trigger");
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("deliveries: 1"));
    let started = std::time::Instant::now();
    while got.lock().unwrap().is_empty() {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(60),
            "nothing forwarded"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let body: Value = serde_json::from_str(&got.lock().unwrap()[0]).expect("json");
    assert!(body["auth_req_id"].is_string(), "{body}");

    let refused = Command::new(env!("CARGO_BIN_EXE_vippsctl"))
        .args([
            "sim",
            "serve",
            "--forward-to",
            "https://shop.example.com/in",
        ])
        .output()
        .expect("runs");
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("not a local http or https URL"));
}
