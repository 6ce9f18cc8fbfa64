//! Helpers shared by the simulator tests: start a simulator, talk to it with plain reqwest.
// Each test crate uses a different subset of these helpers.
#![allow(dead_code)]

pub mod binary;
pub mod cli;
pub mod conformance;
pub mod fixtures;
pub mod proof;
pub mod seed;

use serde_json::Value;
use std::net::SocketAddr;
use vippsctl::sim::{self, SimConfig, SimHandle};

pub const MSN: &str = "123456";

/// The sales units the tests through the real binary use (the examples' and the fixtures'):
/// `SimConfig::test().with_merchants(MSNS)` creates them and lets the sandbox keys act for them,
/// as a partner's keys do. Any other MSN is refused, as Vipps refuses it.
pub const MSNS: [&str; 8] = [
    "123456", "234567", "654321", "111111", "222222", "345678", "456789", "567890",
];

/// The test simulator with the sales units [`MSNS`].
pub fn test_config() -> SimConfig {
    SimConfig::test().with_merchants(MSNS)
}

pub async fn start(config: SimConfig) -> SimHandle {
    let addr: SocketAddr = ([127, 0, 0, 1], 0).into();
    sim::start(config, addr).await.expect("simulator starts")
}

/// An answer, read whole.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub content_type: Option<String>,
    pub headers: reqwest::header::HeaderMap,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "not JSON ({e}): {} {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// A caller with the sandbox credentials and a fresh token.
pub struct Client {
    pub http: reqwest::Client,
    pub base: String,
    pub token: String,
    pub msn: Option<String>,
}

pub async fn token(http: &reqwest::Client, base: &str) -> String {
    let r = http
        .post(format!("{base}/accesstoken/get"))
        .header("client_id", sim::SANDBOX_CLIENT_ID)
        .header("client_secret", sim::SANDBOX_CLIENT_SECRET)
        .header("Ocp-Apim-Subscription-Key", sim::SANDBOX_SUBSCRIPTION_KEY)
        .send()
        .await
        .expect("token call");
    assert_eq!(r.status().as_u16(), 200);
    let v: Value = r.json().await.expect("token json");
    v["access_token"]
        .as_str()
        .expect("access_token")
        .to_string()
}

impl Client {
    pub async fn new(sim: &SimHandle) -> Client {
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(5))
            .build()
            .expect("client");
        let base = sim.base_url();
        let token = token(&http, &base).await;
        Client {
            http,
            base,
            token,
            msn: Some(MSN.to_string()),
        }
    }

    /// A request with the bearer token, subscription key and (if set) the MSN header.
    pub fn req(&self, method: &str, path: &str) -> reqwest::RequestBuilder {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut rb = self
            .http
            .request(method, format!("{}{path}", self.base))
            .header("Authorization", format!("Bearer {}", self.token))
            .header("Ocp-Apim-Subscription-Key", sim::SANDBOX_SUBSCRIPTION_KEY);
        if let Some(m) = &self.msn {
            rb = rb.header("Merchant-Serial-Number", m);
        }
        rb
    }
}

pub async fn send(rb: reqwest::RequestBuilder) -> Resp {
    let r = rb.send().await.expect("request answered");
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let body = r.bytes().await.expect("body").to_vec();
    Resp {
        status,
        content_type,
        headers,
        body,
    }
}

pub async fn send_request(http: &reqwest::Client, req: reqwest::Request) -> Resp {
    let r = http.execute(req).await.expect("request answered");
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let body = r.bytes().await.expect("body").to_vec();
    Resp {
        status,
        content_type,
        headers,
        body,
    }
}

/// Send and return the transport error, for fault tests.
pub async fn send_raw(rb: reqwest::RequestBuilder) -> Result<Resp, reqwest::Error> {
    let r = rb.send().await?;
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let body = r.bytes().await?.to_vec();
    Ok(Resp {
        status,
        content_type,
        headers,
        body,
    })
}

/// A valid ePayment create body: NOK `value` minor units, WALLET, the given user flow (with a
/// customer phone number for PUSH_MESSAGE, which needs one).
pub fn payment_body(reference: &str, value: i64, flow: &str) -> Value {
    let mut v = serde_json::json!({
        "amount": {"currency": "NOK", "value": value},
        "paymentMethod": {"type": "WALLET"},
        "reference": reference,
        "userFlow": flow,
        "returnUrl": "https://shop.example/done",
        "paymentDescription": "Two cups of coffee",
    });
    if flow == "PUSH_MESSAGE" {
        v["customer"] = serde_json::json!({"phoneNumber": "4712345678"});
    }
    v
}

pub fn legacy_draft(name: &str) -> Value {
    serde_json::json!({
        "pricing": {"type": "LEGACY", "amount": 29900, "currency": "NOK"},
        "interval": {"unit": "MONTH", "count": 1},
        "merchantRedirectUrl": "https://example.com/redirect",
        "merchantAgreementUrl": "https://example.com/agreements",
        "productName": name,
    })
}
