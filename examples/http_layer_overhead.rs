//! What the HTTP layer costs per request on top of plain reqwest, against a local axum server.
//! `cargo run --example http_layer_overhead [requests]` (numbers from a debug build are an upper
//! bound; the real cost of a run is Vipps round trips and rate limits).

use axum::routing::{get, post};
use axum::Router;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;
use vippsctl::api::ratelimit::RateLimits;
use vippsctl::api::retry::RetryPolicy;
use vippsctl::api::{Credentials, Transport};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: u32 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(2000);
    let token_calls = Arc::new(AtomicUsize::new(0));
    let counter = token_calls.clone();
    let app = Router::new()
        .route(
            "/accesstoken/get",
            post(move || {
                counter.fetch_add(1, Ordering::SeqCst);
                async { r#"{"expires_in":"3599","access_token":"bench-token"}"# }
            }),
        )
        .route("/webhooks/v1/webhooks", get(|| async { "[]" }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });
    let url = format!("{base}/webhooks/v1/webhooks");

    let raw = reqwest::Client::new();
    let start = Instant::now();
    for _ in 0..n {
        raw.get(&url).send().await?.bytes().await?;
    }
    let raw_us = start.elapsed().as_micros() as f64 / f64::from(n);

    let t = Transport::builder(base.as_str())
        .credentials(Credentials::new("id", "secret", "key"))
        .merchant("123456")
        .retry(RetryPolicy::default())
        .rate_limits(RateLimits::unlimited())
        .build()?;
    let start = Instant::now();
    for _ in 0..n {
        let mut req = t.http().get(&url).build()?;
        t.prepare(&mut req, "list_webhooks").await?;
        t.execute(req, "list_webhooks").await?.bytes().await?;
    }
    let layer_us = start.elapsed().as_micros() as f64 / f64::from(n);

    println!("requests: {n}, sequential, loopback");
    println!("plain reqwest:         {raw_us:8.1} us/request");
    println!("through the Transport: {layer_us:8.1} us/request");
    println!(
        "token fetches:         {}",
        token_calls.load(Ordering::SeqCst)
    );
    Ok(())
}
