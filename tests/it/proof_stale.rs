//! A saved plan whose live objects changed before `apply PLAN` (someone edited a QR code in the
//! portal, or another run applied first) is refused, naming each object that changed, and
//! nothing is written.

use crate::proof;

use proof::Size;
use vippsctl::sim::SimConfig;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_saved_plan_is_refused_and_names_what_changed() {
    let sim = vippsctl::sim::start(SimConfig::test(), ([127, 0, 0, 1], 0).into())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let size = Size {
        webhooks: 1,
        redirect_qrs: 3,
        callback_qrs: 1,
        agreements: 1,
    };
    proof::write_config_text(d, &proof::config_yaml(size, None));
    let mut apply = proof::cli(d, &sim.base_url());
    apply.args(["apply", "--auto-approve", "setup.yaml"]);
    assert_eq!(proof::run(apply).await.0, 0);
    // Now plan a change and save it.
    proof::write_config_text(d, &proof::config_yaml_v(size, None, true));
    let mut plan = proof::cli(d, &sim.base_url());
    plan.args(["plan", "--out", "plan.json", "setup.yaml"]);
    assert_eq!(proof::run(plan).await.0, 0);
    // The live state changes behind the plan's back: one QR edited, one deleted.
    sim.update(|s| {
        let m = s.merchants.get_mut(proof::MSN).unwrap();
        m.redirect_qrs.get_mut("table-001").unwrap().redirect_url =
            "https://portal.example/".into();
        m.redirect_qrs.remove("table-002");
    });
    let before = sim.state();
    sim.clear_calls();
    let mut apply = proof::cli(d, &sim.base_url());
    apply.args(["apply", "plan.json"]);
    let (code, out, err) = proof::run(apply).await;
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(err.contains("is stale"), "{err}");
    assert!(err.contains("123456.redirectQrs[table-001]"), "{err}");
    assert!(err.contains("123456.redirectQrs[table-002]"), "{err}");
    assert!(
        !err.contains("redirectQrs[table-000]"),
        "an unchanged object was named:\n{err}"
    );
    assert_eq!(sim.state(), before, "a stale plan wrote something");
    assert!(
        sim.calls()
            .iter()
            .all(|c| c.method == "GET" || c.operation == "fetch_access_token"),
        "writes were sent"
    );
    sim.shutdown().await;
}
