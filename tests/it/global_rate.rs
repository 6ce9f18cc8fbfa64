//! A gateway-wide request cap (the simulator's `global_per_second`) and the client-side global
//! limiter that keeps vippsctl under it. Redirect QR creates are POSTs without an idempotency key,
//! so a 429 on one is not retried: pacing is the only way such an apply has no failed action.

use std::time::Duration;
use vippsctl::api::credentials::Credentials;
use vippsctl::api::ratelimit::{Limit, RateLimits, Scope};
use vippsctl::api::transport::Transport;
use vippsctl::api::vipps::MerchantApi;
use vippsctl::sim::{self, SimConfig};

const RATE: u32 = 20;
const CREATES: usize = 30;

async fn simulator() -> sim::SimHandle {
    let config = SimConfig {
        rate_limits: sim::RateLimits {
            global_per_second: Some(RATE),
            ..sim::RateLimits::off()
        },
        ..SimConfig::test()
    };
    sim::start(config, ([127, 0, 0, 1], 0).into())
        .await
        .expect("simulator starts")
}

fn api(base_url: &str, limits: RateLimits) -> MerchantApi {
    let t = Transport::builder(base_url.to_string())
        .credentials(Credentials::new(
            sim::SANDBOX_CLIENT_ID,
            sim::SANDBOX_CLIENT_SECRET,
            sim::SANDBOX_SUBSCRIPTION_KEY,
        ))
        .rate_limits(limits)
        .merchant(sim::SANDBOX_MSN)
        .build()
        .expect("transport builds");
    MerchantApi::new(t)
}

/// Creates `CREATES` QRs, eight at a time; returns how many failed.
async fn create_all(api: &MerchantApi) -> usize {
    use futures::StreamExt;
    futures::stream::iter(0..CREATES)
        .map(|i| async move {
            api.create_redirect_qr(&format!("q{i}"), "https://example.com/menu", None)
                .await
        })
        .buffer_unordered(8)
        .filter(|r| std::future::ready(r.is_err()))
        .count()
        .await
}

#[tokio::test]
async fn simulator_answers_429_beyond_its_global_cap() {
    let sim = simulator().await;
    let failed = create_all(&api(&sim.base_url(), RateLimits::unlimited())).await;
    let throttled = sim.calls().iter().filter(|c| c.status == 429).count();
    assert!(
        throttled > 0,
        "{CREATES} unpaced creates should exceed {RATE}/s"
    );
    // A 429 means the request was refused unprocessed, so even a POST is retried after the wait.
    assert!(failed < throttled, "{failed} failed, {throttled} throttled");
    assert_eq!(
        sim.state().merchants[sim::SANDBOX_MSN].redirect_qrs.len(),
        CREATES - failed
    );
}

#[tokio::test]
async fn a_client_paced_to_the_cap_gets_no_429() {
    let sim = simulator().await;
    // No burst, and 10% under the cap so scheduling jitter cannot put RATE + 1 requests into one
    // sliding second.
    let paced = Limit {
        requests: 1,
        per: Duration::from_secs_f64(1.1 / f64::from(RATE)),
        scope: Scope::Global,
    };
    let api = api(&sim.base_url(), RateLimits::documented().with_global(paced));
    assert_eq!(create_all(&api).await, 0);
    let calls = sim.calls();
    assert!(calls.iter().all(|c| c.status != 429), "{calls:#?}");
    assert_eq!(
        sim.state().merchants[sim::SANDBOX_MSN].redirect_qrs.len(),
        CREATES
    );
}

/// Two shards of one run at once, with one set of keys, against a gateway that allows 20
/// requests per second: `--max-requests-per-second 16` gives each shard 8, so together they stay
/// under the cap and no create (a POST a 429 would fail) fails.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shards_of_one_run_share_the_request_cap() {
    let msns: Vec<String> = (0..6).map(|i| format!("{}", 820000 + i * 7)).collect();
    let config = SimConfig {
        rate_limits: sim::RateLimits {
            global_per_second: Some(RATE),
            ..sim::RateLimits::off()
        },
        ..SimConfig::test().with_merchants(msns.clone())
    };
    let sim = sim::start(config, ([127, 0, 0, 1], 0).into())
        .await
        .expect("simulator starts");
    let dir = tempfile::tempdir().unwrap();
    let mut y = String::from("version: 1\nmerchants:\n");
    for m in &msns {
        y.push_str(&format!("  - msn: \"{m}\"\n    redirectQrs:\n"));
        for q in 0..8 {
            y.push_str(&format!(
                "      - id: q{q}\n        redirectUrl: https://example.com/{m}/{q}\n"
            ));
        }
    }
    std::fs::write(dir.path().join("setup.yaml"), y).unwrap();
    for s in ["1/2", "2/2"] {
        assert!(
            msns.iter()
                .any(|m| vippsctl::plan::scope::shard_of(m, 2).to_string()
                    == s.split('/').next().unwrap()),
            "shard {s} has merchants"
        );
    }
    let shard = |s: &'static str| {
        let (sim, dir) = (&sim, dir.path());
        async move {
            crate::common::binary::run(
                sim,
                dir,
                &[
                    "apply",
                    "setup.yaml",
                    "--auto-approve",
                    "--shard",
                    s,
                    "--max-requests-per-second",
                    "16",
                    "--lock-timeout",
                    "5m",
                ],
            )
            .await
        }
    };
    let (a, b) = tokio::join!(shard("1/2"), shard("2/2"));
    for o in [&a, &b] {
        assert_eq!(
            o.status.code(),
            Some(0),
            "{}",
            crate::common::binary::stderr(o)
        );
    }
    let calls = sim.calls();
    assert!(
        calls.iter().all(|c| c.status != 429),
        "a shard was throttled"
    );
    let state = sim.state();
    for m in &msns {
        assert_eq!(state.merchants[m].redirect_qrs.len(), 8, "{m}");
    }
}
