//! No input makes the simulator fail: arbitrary path parameters, queries, headers and JSON bodies
//! on every operation get an answer below 500 (faults are off), and the server keeps serving.

use crate::common;

use common::Client;
use proptest::prelude::*;
use serde_json::Value;
use vippsctl::sim::{percent_encode, SimConfig};
use vippsctl::specs::ops::OPERATIONS;

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        ".{0,50}".prop_map(Value::String),
        prop_oneof![
            Just("LEGACY"),
            Just("VARIABLE"),
            Just("STOPPED"),
            Just("https://example.com/x"),
            Just("NOK")
        ]
        .prop_map(|s| Value::String(s.to_string())),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec(
                (
                    prop_oneof![
                        Just("id".to_string()),
                        Just("redirectUrl".to_string()),
                        Just("ttl".to_string()),
                        Just("url".to_string()),
                        Just("events".to_string()),
                        Just("pricing".to_string()),
                        Just("type".to_string()),
                        Just("amount".to_string()),
                        Just("productName".to_string()),
                        Just("status".to_string()),
                        Just("interval".to_string()),
                        Just("campaign".to_string()),
                        Just("locationDescription".to_string()),
                        "[a-zA-Z]{1,8}",
                    ],
                    inner
                ),
                0..6
            )
            .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 150, ..ProptestConfig::default() })]

    #[test]
    fn any_request_gets_a_non_5xx_answer(
        op_index in 0..OPERATIONS.len(),
        param in ".{0,40}",
        query in "[a-zA-Z=&%0-9]{0,30}",
        key in ".{0,45}",
        accept in prop_oneof![Just("image/png"), Just("text/targetUrl"), Just("*/*"), Just("")],
        body in json_value(),
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        rt.block_on(async {
            let sim = common::start(SimConfig::test()).await;
            let c = Client::new(&sim).await;
            let op = &OPERATIONS[op_index];
            let encoded = percent_encode(&param);
            let mut path = op.path.to_string();
            for name in ["{id}", "{merchantQrId}", "{agreementId}"] {
                path = path.replace(name, if encoded.is_empty() { "x" } else { &encoded });
            }
            if !query.is_empty() {
                path = format!("{path}?{query}");
            }
            let mut rb = c.req(op.method, &path).json(&body);
            if let Ok(v) = reqwest::header::HeaderValue::from_str(&key) {
                rb = rb.header("Idempotency-Key", v);
            }
            if !accept.is_empty() {
                rb = rb.header("Accept", accept);
            }
            let r = common::send(rb).await;
            prop_assert!(r.status < 500, "{} {} -> {} {}", op.method, path, r.status, String::from_utf8_lossy(&r.body));
            // Still serving.
            let again = common::send(c.req("GET", "/webhooks/v1/webhooks")).await;
            prop_assert_eq!(again.status, 200);
            sim.shutdown().await;
            Ok(())
        })?;
    }
}
