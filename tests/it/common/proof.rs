//! Shared by the proof tests (fault soak, crash recovery, concurrency, leaks): a large generated
//! configuration, a client with short timeouts, and the checks every run must pass.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use vippsctl::api::credentials::Credentials;
use vippsctl::api::ratelimit::RateLimits;
use vippsctl::api::retry::RetryPolicy;
use vippsctl::api::{MerchantApi, Transport};
use vippsctl::config::model::Config;
use vippsctl::config::Loaded;
use vippsctl::engine::{PlanRequest, Session, Workspace};
use vippsctl::plan::Plan;
use vippsctl::sim::{SimHandle, SimState};

pub const MSN: &str = "123456";
/// The file every webhook's secret goes to (relative to the config file).
pub const SECRETS_FILE: &str = "secrets.env";
pub const WEBHOOK_EVENTS: [&str; 2] = [
    "epayments.payment.authorized.v1",
    "epayments.payment.captured.v1",
];
/// Seeded before the first apply in kinds that are not pruned: they must survive.
pub const UNMANAGED_CALLBACK_QR: &str = "unmanaged-till";
pub const UNMANAGED_AGREEMENT: &str = "unmanaged-agreement";
/// Seeded in pruned kinds: they must be gone after apply.
pub const STRAY_REDIRECT_QR: &str = "stray-qr";
pub const STRAY_WEBHOOK_URL: &str = "https://stray.example/hook";

/// How many objects of each kind the generated configuration declares.
#[derive(Debug, Clone, Copy)]
pub struct Size {
    /// Besides these, one check-in webhook (the callback QRs need it).
    pub webhooks: usize,
    pub redirect_qrs: usize,
    pub callback_qrs: usize,
    pub agreements: usize,
}

impl Size {
    /// 300 objects in all.
    pub const SOAK: Size = Size {
        webhooks: 20,
        redirect_qrs: 130,
        callback_qrs: 49,
        agreements: 100,
    };

    pub fn total(self) -> usize {
        self.webhooks + 1 + self.redirect_qrs + self.callback_qrs + self.agreements
    }
}

/// The key of webhook `i` in the secrets file; the check-in webhook is `CHECKIN`.
pub fn secret_key(i: Option<usize>) -> String {
    match i {
        Some(i) => format!("WEBHOOK_SECRET_{i:03}"),
        None => "WEBHOOK_SECRET_CHECKIN".into(),
    }
}

pub fn webhook_url(i: usize) -> String {
    format!("https://hooks{i:03}.example/vipps/events")
}

pub const CHECKIN_URL: &str = "https://tills.example/vipps/check-in";

/// A single-merchant configuration of `size`, pruning webhooks and redirect QRs. `phone` is put on
/// every agreement when given (for the leak test).
pub fn config_yaml(size: Size, phone: Option<&str>) -> String {
    config_yaml_v(size, phone, false)
}

/// `changed`: the same objects with every field that can change changed (redirect URLs,
/// callback descriptions, agreement prices) and webhook 0 on other events (a replacement).
pub fn config_yaml_v(size: Size, phone: Option<&str>, changed: bool) -> String {
    let mut y = String::new();
    y.push_str("version: 1\nenvironment: test\nmerchants:\n");
    y.push_str(&format!("  - msn: \"{MSN}\"\n"));
    y.push_str("    prune: [webhooks, redirectQrs]\n    webhooks:\n");
    y.push_str(&format!(
        "      - url: {CHECKIN_URL}\n        events: [user.checked-in.v1]\n        secret: {{ file: {SECRETS_FILE}, key: {} }}\n",
        secret_key(None)
    ));
    for i in 0..size.webhooks {
        let events = if changed && i == 0 {
            WEBHOOK_EVENTS[0].to_string()
        } else {
            WEBHOOK_EVENTS.join(", ")
        };
        y.push_str(&format!(
            "      - url: {}\n        events: [{}]\n        secret: {{ file: {SECRETS_FILE}, key: {} }}\n",
            webhook_url(i),
            events,
            secret_key(Some(i))
        ));
    }
    if size.redirect_qrs > 0 {
        y.push_str("    redirectQrs:\n");
    }
    for i in 0..size.redirect_qrs {
        y.push_str(&format!(
            "      - id: table-{i:03}\n        redirectUrl: https://menu.example/{}table/{i}\n",
            if changed { "v2/" } else { "" }
        ));
    }
    if size.callback_qrs > 0 {
        y.push_str("    callbackQrs:\n");
    }
    for i in 0..size.callback_qrs {
        y.push_str(&format!(
            "      - merchantQrId: till-{i:03}\n        locationDescription: {} {i}\n",
            if changed { "Kasse" } else { "Till" }
        ));
    }
    if size.agreements > 0 {
        y.push_str("    agreements:\n");
    }
    for i in 0..size.agreements {
        y.push_str(&format!(
            "      - externalId: member-{i:03}\n        productName: Coffee club {i}\n        pricing: {{ type: LEGACY, amount: {}, currency: NOK }}\n        interval: {{ unit: MONTH, count: 1 }}\n        merchantRedirectUrl: https://club.example/thanks\n        merchantAgreementUrl: https://club.example/account\n",
            if changed { 20000 + i } else { 10000 + i }
        ));
        if let Some(p) = phone {
            y.push_str(&format!("        phoneNumber: \"{p}\"\n"));
        }
    }
    y
}

/// Write the configuration into `dir` and load it.
pub fn write_config(dir: &Path, size: Size, phone: Option<&str>) -> (PathBuf, Loaded) {
    write_config_text(dir, &config_yaml(size, phone))
}

pub fn write_config_text(dir: &Path, text: &str) -> (PathBuf, Loaded) {
    let path = dir.join("setup.yaml");
    std::fs::write(&path, text).expect("write config");
    let loaded = vippsctl::engine::load(std::slice::from_ref(&path), &|_| None).unwrap_or_else(
        |e| match e {
            vippsctl::engine::EngineError::Config(d) => {
                panic!("generated config invalid:\n{}", d.render(false))
            }
            e => panic!("{e}"),
        },
    );
    (path, loaded)
}

/// Objects present before the first apply that the configuration does not declare.
pub fn seed_unmanaged(sim: &SimHandle) {
    let now = sim.now();
    sim.update(|s| {
        let m = s.merchants.entry(MSN.to_string()).or_default();
        m.callback_qrs.insert(
            UNMANAGED_CALLBACK_QR.into(),
            vippsctl::sim::CallbackQr {
                merchant_qr_id: UNMANAGED_CALLBACK_QR.into(),
                location_description: "Not ours".into(),
            },
        );
        m.redirect_qrs.insert(
            STRAY_REDIRECT_QR.into(),
            vippsctl::sim::RedirectQr {
                id: STRAY_REDIRECT_QR.into(),
                redirect_url: "https://stray.example/".into(),
                ttl: None,
                created: now,
                content: None,
            },
        );
        m.webhooks.push(vippsctl::sim::Webhook {
            id: uuid::Uuid::from_u128(0x5157_0000_0000_4000_8000_0000_0000_0001),
            url: STRAY_WEBHOOK_URL.into(),
            events: vec![WEBHOOK_EVENTS[0].into()],
            secret: vippsctl::domain::Secret::new("stray-secret"),
        });
        let id = "agr_unmanaged01".to_string();
        m.agreements.insert(
            id.clone(),
            vippsctl::sim::Agreement {
                id,
                uuid: uuid::Uuid::from_u128(0x5157_0000_0000_4000_8000_0000_0000_0002),
                status: vippsctl::sim::AgreementStatus::Active,
                product_name: "Theirs".into(),
                product_description: None,
                pricing: vippsctl::sim::Pricing {
                    kind: vippsctl::sim::PricingType::Legacy,
                    currency: "NOK".into(),
                    amount: Some(100),
                    suggested_max_amount: None,
                    max_amount: None,
                },
                interval: None,
                merchant_agreement_url: None,
                merchant_redirect_url: "https://theirs.example/".into(),
                external_id: Some(UNMANAGED_AGREEMENT.into()),
                campaign: None,
                phone_number: None,
                created: now,
                start: None,
                stop: None,
            },
        );
    });
}

/// Retries that wait milliseconds, not seconds, and a request timeout far below the simulator's
/// hang: a soak of thousands of requests stays fast without weakening what is checked.
pub fn fast_transport(base_url: &str, timeout: Duration) -> Transport {
    Transport::builder(base_url)
        .credentials(Credentials::new(
            vippsctl::sim::SANDBOX_CLIENT_ID,
            vippsctl::sim::SANDBOX_CLIENT_SECRET,
            vippsctl::sim::SANDBOX_SUBSCRIPTION_KEY,
        ))
        .retry(RetryPolicy {
            max_attempts: 6,
            base_delay: Duration::from_millis(5),
            factor: 2.0,
            max_delay: Duration::from_millis(80),
            max_retry_after: Duration::from_millis(100),
        })
        .rate_limits(RateLimits::unlimited())
        .timeout(timeout)
        .connect_timeout(timeout)
        .build()
        .expect("transport")
}

pub fn apis(t: &Transport, config: &Config) -> HashMap<String, Arc<MerchantApi>> {
    config
        .merchants
        .iter()
        .map(|m| {
            (
                m.msn.clone(),
                Arc::new(MerchantApi::new(
                    t.for_merchant(m.msn.clone()).expect("msn"),
                )),
            )
        })
        .collect()
}

/// A session over the test's own clients (short timeouts), labelled as a saved plan records it.
pub fn session(apis: &HashMap<String, Arc<MerchantApi>>) -> Session {
    Session::prepared(vippsctl::domain::Environment::Test, "sim", apis.clone())
}

/// `vippsctl plan`, in-process: the engine's pipeline, with the workspace (lost-secrets record)
/// in `workspace`.
pub async fn plan(
    loaded: &Loaded,
    apis: &HashMap<String, Arc<MerchantApi>>,
    workspace: &Path,
) -> Result<Plan, String> {
    vippsctl::engine::plan(
        loaded,
        &session(apis),
        &Workspace::at(workspace),
        &PlanRequest::default(),
    )
    .await
    .map_err(|e| match e {
        vippsctl::engine::EngineError::Failed {
            message, causes, ..
        } => {
            format!("{message}: {}", causes.join(": "))
        }
        e => format!("{e:?}"),
    })
}

/// `vippsctl apply`'s writes, in-process: the engine's apply, which records lost secrets.
pub async fn apply(
    plan: &Plan,
    loaded: &Loaded,
    apis: &HashMap<String, Arc<MerchantApi>>,
    workspace: &Path,
    opts: &vippsctl::apply::ApplyOptions,
) -> vippsctl::apply::ApplyReport {
    let applied = vippsctl::engine::apply(
        plan,
        loaded,
        &session(apis),
        &Workspace::at(workspace),
        opts,
        &vippsctl::apply::Silent,
    )
    .await;
    if let Some(e) = applied.record_error {
        panic!("the lost-secrets record could not be written: {e}");
    }
    applied.report
}

/// Parse a dotenv secrets file strictly: every line `KEY=value` (value possibly double-quoted),
/// no key twice.
pub fn parse_dotenv(text: &str) -> Result<BTreeMap<String, String>, String> {
    let mut out = BTreeMap::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        let (k, v) = line
            .split_once('=')
            .ok_or_else(|| format!("line {}: no `=`: {line:?}", n + 1))?;
        let k = k.trim();
        if k.is_empty() || !k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(format!("line {}: bad key {k:?}", n + 1));
        }
        let v = if let Some(inner) = v.strip_prefix('"') {
            let inner = inner
                .strip_suffix('"')
                .ok_or_else(|| format!("line {}: unterminated quote", n + 1))?;
            inner.replace("\\\"", "\"").replace("\\\\", "\\")
        } else {
            v.to_string()
        };
        if out.insert(k.to_string(), v).is_some() {
            return Err(format!("line {}: key {k} appears twice", n + 1));
        }
    }
    Ok(out)
}

/// Everything that must hold after a converged apply; returns the violations.
pub fn violations(state: &SimState, config: &Config, secrets_path: &Path) -> Vec<String> {
    let mut v = Vec::new();
    let Some(m) = state.merchants.get(MSN) else {
        return vec!["merchant missing from the simulator".into()];
    };
    let declared = &config.merchants[0];

    // Webhooks: each declared url+events exactly once, nothing else (they are pruned).
    let mut seen: BTreeMap<String, Vec<&vippsctl::sim::Webhook>> = BTreeMap::new();
    for w in &m.webhooks {
        seen.entry(vippsctl::resources::webhook::key(&w.url, &w.events))
            .or_default()
            .push(w);
    }
    let secrets = match std::fs::read_to_string(secrets_path) {
        Ok(t) => match parse_dotenv(&t) {
            Ok(s) => s,
            Err(e) => {
                v.push(format!("secrets file corrupt: {e}"));
                BTreeMap::new()
            }
        },
        Err(e) => {
            v.push(format!("secrets file unreadable: {e}"));
            BTreeMap::new()
        }
    };
    let mut declared_keys = BTreeSet::new();
    for w in &declared.webhooks {
        let key = vippsctl::resources::webhook::desired_key(w);
        declared_keys.insert(key.clone());
        let live = seen.get(&key).map(Vec::as_slice).unwrap_or(&[]);
        if live.len() != 1 {
            v.push(format!("webhook {key}: {} registrations", live.len()));
            continue;
        }
        let sink_key = match &w.secret {
            Some(vippsctl::config::model::SecretSink::File { key, .. }) => key.clone(),
            other => {
                v.push(format!("webhook {key}: unexpected sink {other:?}"));
                continue;
            }
        };
        match secrets.get(&sink_key) {
            Some(s) if s == live[0].secret.expose() => {}
            Some(_) => v.push(format!(
                "webhook {key}: secret in sink differs from the live one"
            )),
            None => v.push(format!("webhook {key}: no secret in sink under {sink_key}")),
        }
    }
    for key in seen.keys() {
        if !declared_keys.contains(key) {
            v.push(format!(
                "webhook {key}: not in the config (should be pruned)"
            ));
        }
    }

    // Redirect QRs: exactly the declared ones, with their URLs.
    let want: BTreeMap<&str, &str> = declared
        .redirect_qrs
        .iter()
        .map(|q| (q.id.as_str(), q.redirect_url.as_str()))
        .collect();
    for (id, q) in &m.redirect_qrs {
        match want.get(id.as_str()) {
            Some(url) if *url == q.redirect_url => {}
            Some(_) => v.push(format!("redirect QR {id}: wrong url {}", q.redirect_url)),
            None => v.push(format!("redirect QR {id}: not in the config")),
        }
    }
    for id in want.keys() {
        if !m.redirect_qrs.contains_key(*id) {
            v.push(format!("redirect QR {id}: missing"));
        }
    }

    // Callback QRs: the declared ones plus the seeded unmanaged one (not pruned).
    let mut want_cb: BTreeMap<&str, &str> = declared
        .callback_qrs
        .iter()
        .map(|q| (q.merchant_qr_id.as_str(), q.location_description.as_str()))
        .collect();
    want_cb.insert(UNMANAGED_CALLBACK_QR, "Not ours");
    for (id, q) in &m.callback_qrs {
        match want_cb.get(id.as_str()) {
            Some(d) if *d == q.location_description => {}
            Some(_) => v.push(format!("callback QR {id}: wrong description")),
            None => v.push(format!("callback QR {id}: not in the config")),
        }
    }
    for id in want_cb.keys() {
        if !m.callback_qrs.contains_key(*id) {
            v.push(format!("callback QR {id}: missing"));
        }
    }

    // Agreements: exactly one per declared externalId (in any status: a second one, even
    // stopped, is a duplicate draft), plus the unmanaged one untouched.
    let mut by_ext: BTreeMap<String, Vec<&vippsctl::sim::Agreement>> = BTreeMap::new();
    for a in m.agreements.values() {
        by_ext
            .entry(a.external_id.clone().unwrap_or_default())
            .or_default()
            .push(a);
    }
    let mut want_ext: BTreeSet<String> = declared
        .agreements
        .iter()
        .map(|a| a.external_id.clone())
        .collect();
    want_ext.insert(UNMANAGED_AGREEMENT.into());
    for (ext, list) in &by_ext {
        if !want_ext.contains(ext) {
            v.push(format!("agreement {ext:?}: not in the config"));
        } else if list.len() != 1 {
            v.push(format!("agreement {ext}: {} agreements", list.len()));
        } else if list[0].status.is_terminal() {
            v.push(format!("agreement {ext}: {}", list[0].status.as_str()));
        }
    }
    for ext in &want_ext {
        if !by_ext.contains_key(ext) {
            v.push(format!("agreement {ext}: missing"));
        }
    }
    v
}

/// `vippsctl` (the binary under test) with the simulator's credentials, in `dir`.
pub fn cli(dir: &Path, base_url: &str) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_vippsctl"));
    cmd.current_dir(dir)
        .env("VIPPS_CLIENT_ID", vippsctl::sim::SANDBOX_CLIENT_ID)
        .env("VIPPS_CLIENT_SECRET", vippsctl::sim::SANDBOX_CLIENT_SECRET)
        .env(
            "VIPPS_SUBSCRIPTION_KEY",
            vippsctl::sim::SANDBOX_SUBSCRIPTION_KEY,
        )
        .env("NO_COLOR", "1")
        .env_remove("VIPPSCTL_ENV")
        .env_remove("VIPPSCTL_LOG")
        .env("VIPPSCTL_BASE_URL", base_url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    cmd
}

/// Run to the end; (exit code, stdout, stderr).
pub async fn run(mut cmd: tokio::process::Command) -> (i32, String, String) {
    let out = cmd.output().await.expect("run vippsctl");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A deterministic stream of numbers from a seed (splitmix64), so kill points and mutations are
/// reproducible without pulling an RNG crate's version into the tests' meaning.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next() % n
        }
    }
}
