//! Loading and validating a generated 10,000-object config, against a bound measured in the same
//! run: serde_yaml parsing the same text into an untyped value (no checks, no positions).
//!
//! Run: `cargo bench --bench validate` (or `cargo bench --profile dev --bench validate` to skip
//! the optimised build; the ratio is the figure to compare).

use std::path::PathBuf;
use std::time::{Duration, Instant};

const MERCHANTS: usize = 100;

/// 100 merchants x 100 objects: 10 webhooks, 40 redirect QRs, 30 callback QRs, 20 agreements.
fn generate() -> String {
    let mut y = String::from("# yaml-language-server: $schema=docs/vippsctl.schema.json\nversion: 1\nenvironment: test\nmerchants:\n");
    for m in 0..MERCHANTS {
        let msn = 100_000 + m;
        y.push_str(&format!("  - msn: \"{msn}\"\n    name: Shop {m}\n    prune: [webhooks, redirectQrs, callbackQrs]\n    webhooks:\n"));
        y.push_str(&format!("      - url: https://hooks.example/{msn}/checkin\n        events: [user.checked-in.v1]\n        secret: {{ file: secrets/{msn}.env, key: CHECKIN }}\n"));
        for w in 1..10 {
            y.push_str(&format!(
                "      - url: https://hooks.example/{msn}/{w}\n        events: [epayments.payment.captured.v1, epayments.payment.refunded.v1]\n"
            ));
        }
        y.push_str("    redirectQrs:\n");
        for q in 0..40 {
            y.push_str(&format!("      - id: table {q}\n        redirectUrl: https://shop{m}.example/menu?table={q}\n"));
            if q % 4 == 0 {
                y.push_str("        ttl: 86400\n");
            }
        }
        y.push_str("    callbackQrs:\n");
        for c in 0..30 {
            y.push_str(&format!(
                "      - merchantQrId: till-{c}\n        locationDescription: Till {c}\n"
            ));
        }
        y.push_str("    agreements:\n");
        for a in 0..20 {
            y.push_str(&format!(
                "      - externalId: member-{a}\n        productName: Club {a}\n        pricing: {{ type: LEGACY, amount: {}, currency: NOK }}\n        interval: {{ unit: MONTH, count: 1 }}\n        merchantRedirectUrl: https://shop{m}.example/thanks\n        merchantAgreementUrl: https://shop{m}.example/account\n",
                9900 + a
            ));
        }
    }
    y
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn time<T>(runs: usize, mut f: impl FnMut() -> T) -> Duration {
    let _ = f(); // warm-up
    median(
        (0..runs)
            .map(|_| {
                let start = Instant::now();
                std::hint::black_box(f());
                start.elapsed()
            })
            .collect(),
    )
}

fn main() {
    let text = generate();
    let sources = vec![(PathBuf::from("generated.yaml"), text.clone())];
    let no_env = |_: &str| None;
    let objects = match vippsctl::config::load_sources(&sources, &no_env) {
        Ok(l) => l.object_count(),
        Err(d) => {
            eprintln!("the generated config is invalid:\n{}", d.render(false));
            std::process::exit(1);
        }
    };
    assert_eq!(
        objects, 10_000,
        "the generator should produce 10,000 objects"
    );
    let runs = 7;
    let ours = time(runs, || {
        vippsctl::config::load_sources(&sources, &no_env).is_ok()
    });
    let bound = time(runs, || {
        serde_yaml::from_str::<serde_yaml::Value>(&text).is_ok()
    });
    let typed = time(runs, || {
        serde_yaml::from_str::<vippsctl::config::Config>(&text).is_ok()
    });
    println!(
        "validate: {objects} objects, {} KiB of YAML, median of {runs} runs",
        text.len() / 1024
    );
    println!(
        "  load + validate (vippsctl):        {:>9.1} ms",
        ours.as_secs_f64() * 1e3
    );
    println!(
        "  serde_yaml -> Value (bound):       {:>9.1} ms",
        bound.as_secs_f64() * 1e3
    );
    println!(
        "  serde_yaml -> Config (no checks):  {:>9.1} ms",
        typed.as_secs_f64() * 1e3
    );
    println!(
        "  ratio load+validate / bound:       {:>9.2}x",
        ours.as_secs_f64() / bound.as_secs_f64()
    );
}
