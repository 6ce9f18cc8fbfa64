//! Running the real binary against an in-process simulator.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};
use vippsctl::sim::{self, SimHandle};

pub async fn start_sim() -> SimHandle {
    sim::start(super::test_config(), ([127, 0, 0, 1], 0).into())
        .await
        .expect("the simulator starts")
}

/// A simulator that also has the sales units `msns` (the sandbox keys act for them all).
pub async fn start_sim_for(msns: &[String]) -> SimHandle {
    let config = super::test_config().with_merchants(
        super::MSNS
            .iter()
            .copied()
            .map(String::from)
            .chain(msns.iter().cloned()),
    );
    sim::start(config, ([127, 0, 0, 1], 0).into())
        .await
        .expect("the simulator starts")
}

/// `vippsctl ARGS --base-url SIM` with the sandbox credentials, in `dir`.
pub async fn run(sim: &SimHandle, dir: &Path, args: &[&str]) -> Output {
    let base = sim.base_url();
    let dir = dir.to_path_buf();
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_vippsctl"))
            .args(&args)
            .args(["--base-url", &base, "--no-color"])
            .current_dir(&dir)
            .env("VIPPS_CLIENT_ID", sim::SANDBOX_CLIENT_ID)
            .env("VIPPS_CLIENT_SECRET", sim::SANDBOX_CLIENT_SECRET)
            .env("VIPPS_SUBSCRIPTION_KEY", sim::SANDBOX_SUBSCRIPTION_KEY)
            .env_remove("VIPPSCTL_ENV")
            .env_remove("VIPPSCTL_BASE_URL")
            .env_remove("NO_COLOR")
            .output()
            .expect("the binary runs")
    })
    .await
    .expect("joined")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Calls that change state (anything but reads and token fetches).
pub fn writes(sim: &SimHandle) -> Vec<String> {
    sim.calls()
        .into_iter()
        .filter(|c| c.method != "GET" && c.operation != "fetch_access_token")
        .map(|c| format!("{} {}", c.method, c.path))
        .collect()
}
