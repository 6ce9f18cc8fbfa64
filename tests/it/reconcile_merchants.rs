//! Several merchants in one run; a merchant that cannot be read stops the plan for all.

use crate::common;
use common::cli::{operations, Sim};

const A: &str = "111111";
const B: &str = "222222";

fn two_merchants(sim: &Sim, b_credentials: &str) {
    sim.write(
        "setup.yaml",
        &format!(
            r#"version: 1
merchants:
  - msn: "{A}"
    redirectQrs:
      - id: menu
        redirectUrl: https://a.example/menu
  - msn: "{B}"
{b_credentials}    redirectQrs:
      - id: menu
        redirectUrl: https://b.example/menu
"#
        ),
    );
}

#[test]
fn each_merchant_gets_its_own_objects() {
    let sim = Sim::start();
    two_merchants(&sim, "");
    let run = sim.run(&["apply", "setup.yaml", "--auto-approve"]);
    assert!(run.success(), "{run}");
    let state = sim.state();
    assert_eq!(
        state.merchants[A].redirect_qrs["menu"].redirect_url,
        "https://a.example/menu"
    );
    assert_eq!(
        state.merchants[B].redirect_qrs["menu"].redirect_url,
        "https://b.example/menu"
    );
    let msns: Vec<_> = sim
        .writes()
        .iter()
        .map(|c| c.msn.clone().unwrap_or_default())
        .collect();
    assert!(msns.contains(&A.to_string()) && msns.contains(&B.to_string()));
    sim.clear_calls();
    let plan = sim.run(&["plan", "setup.yaml", "--detailed-exitcode"]);
    assert_eq!(plan.code, Some(0), "{plan}");
    // One list per kind and merchant.
    assert_eq!(
        operations(&sim.calls()),
        ["list_redirect_qrs", "list_redirect_qrs"]
    );
}

#[test]
fn a_merchant_that_cannot_be_read_stops_the_plan_and_is_named() {
    let sim = Sim::start();
    two_merchants(
        &sim,
        "    credentials:\n      clientId: B_ID\n      clientSecret: B_SECRET\n      subscriptionKey: B_KEY\n",
    );
    let env = [
        ("B_ID", vippsctl::sim::SANDBOX_CLIENT_ID),
        ("B_SECRET", "not-the-secret"),
        ("B_KEY", vippsctl::sim::SANDBOX_SUBSCRIPTION_KEY),
    ];
    let plan = sim.run_env(&sim.base_url(), &env, &["plan", "setup.yaml"]);
    assert_eq!(plan.code, Some(1), "{plan}");
    assert!(plan.stdout.is_empty(), "no plan from partial state: {plan}");
    assert!(plan.stderr.contains(B), "{plan}");
    assert!(!plan.stderr.contains("not-the-secret"), "{plan}");
    let apply = sim.run_env(
        &sim.base_url(),
        &env,
        &["apply", "setup.yaml", "--auto-approve"],
    );
    assert_eq!(apply.code, Some(1), "{apply}");
    assert_eq!(sim.writes(), vec![]);
}
