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

#[tokio::test]
async fn serve_prints_credentials_that_work_and_keeps_state() {
    let dir = tempfile::tempdir().expect("tempdir");
    let state = dir.path().join("sandbox.json");
    let state_arg = state.to_string_lossy().to_string();
    let http = reqwest::Client::new();

    let served = serve(&["--state", &state_arg, "--seed", "3"]);
    let base = served.field("base_url");
    let key = served.field("subscription_key");
    let token: Value = http
        .post(format!("{base}/accesstoken/get"))
        .header("client_id", served.field("client_id"))
        .header("client_secret", served.field("client_secret"))
        .header("Ocp-Apim-Subscription-Key", &key)
        .send()
        .await
        .expect("token")
        .json()
        .await
        .expect("json");
    let bearer = format!(
        "Bearer {}",
        token["access_token"].as_str().unwrap_or_default()
    );
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
