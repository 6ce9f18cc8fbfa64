//! What `plan`, `apply` and `import` share: loading the configuration, reaching the APIs (real or
//! the sandbox simulator), and observing live state for every merchant at once.

use super::{Failure, GlobalArgs};
use crate::api::credentials::Credentials;
use crate::api::transport::Transport;
use crate::api::vipps::MerchantApi;
use crate::api::Environment;
use crate::config::model::{Config, Merchant};
use crate::plan::diff::kinds_to_observe;
use crate::resources::observe::{observe, AgreementLists};
use crate::resources::LiveMerchant;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// One API client per merchant, by MSN.
pub type Apis = HashMap<String, Arc<MerchantApi>>;

/// Where the sandbox keeps its state between commands, below the working directory.
pub const SANDBOX_STATE: &str = ".vippsctl/sandbox.json";

/// The API endpoint a run talks to.
pub struct Target {
    pub environment: Environment,
    /// What a saved plan records: the base URL, or `sandbox` (whose port changes every run).
    pub label: String,
    /// Held, never read: keeps the in-process sandbox running for as long as the target lives.
    #[allow(dead_code)]
    pub sandbox: Option<crate::sim::SimHandle>,
}

/// Load the configuration, printing its warnings; errors end the command with their diagnostics.
pub fn load_config(
    paths: &[PathBuf],
    global: &GlobalArgs,
) -> Result<crate::config::Loaded, Failure> {
    let env = |name: &str| std::env::var(name).ok();
    match crate::config::load(paths, &env) {
        Ok(loaded) => {
            if !loaded.warnings.is_empty() {
                eprint!(
                    "{}",
                    crate::config::render(&loaded.warnings, &loaded.sources, global.color_stderr())
                );
            }
            Ok(loaded)
        }
        Err(diags) => {
            eprint!("{}", diags.render(global.color_stderr()));
            Err(Failure::silent())
        }
    }
}

/// Reach the APIs: the sandbox simulator in-process, or the environment's host with real credentials.
pub async fn connect(
    global: &GlobalArgs,
    config: &Config,
    sandbox: bool,
) -> Result<(Target, HashMap<String, Arc<MerchantApi>>), Failure> {
    if sandbox {
        return connect_sandbox(global, config).await;
    }
    let environment = global
        .environment
        .or(config.environment)
        .unwrap_or(Environment::Test);
    let base_url = global
        .base_url
        .clone()
        .unwrap_or_else(|| environment.base_url().to_string());
    // One transport (one token cache, one set of rate limiters) per credential set: a partner's
    // merchants share one token.
    let mut by_credentials: Vec<CredentialSet> = Vec::new();
    let mut missing = Vec::new();
    for m in &config.merchants {
        let vars = credential_vars(m);
        if let Some(set) = by_credentials.iter_mut().find(|s| s.vars == vars) {
            set.msns.push(m.msn.clone());
            continue;
        }
        let creds = match Credentials::from_env_vars(&vars.0, &vars.1, &vars.2) {
            Ok(c) => c,
            Err(e) => {
                missing.push(e);
                continue;
            }
        };
        let t = Transport::builder(base_url.clone())
            .credentials(creds)
            .timeout(global.timeout)
            .build()
            .map_err(|e| Failure::from_error(&e))?;
        by_credentials.push(CredentialSet {
            vars,
            transport: t,
            msns: vec![m.msn.clone()],
        });
    }
    // Every missing variable at once, not one per run.
    if let Some(e) = crate::api::credentials::CredentialsError::all(missing) {
        return Err(Failure::from_error(&e).hint(
            "export the variables, name others under the merchant's `credentials:`, or try the simulator with --sandbox",
        ));
    }
    authenticate(&by_credentials).await?;
    let mut apis = HashMap::new();
    for m in &config.merchants {
        let vars = credential_vars(m);
        let Some(set) = by_credentials.iter().find(|s| s.vars == vars) else {
            continue;
        };
        let t = set
            .transport
            .for_merchant(m.msn.clone())
            .map_err(|e| Failure::from_error(&e))?;
        apis.insert(m.msn.clone(), Arc::new(MerchantApi::new(t)));
    }
    Ok((
        Target {
            environment,
            label: base_url,
            sandbox: None,
        },
        apis,
    ))
}

/// One set of credential variables, its transport and the merchants that use it.
struct CredentialSet {
    vars: (String, String, String),
    transport: Transport,
    msns: Vec<String>,
}

/// Fetch one token per credential set before anything else, so that a wrong secret, an
/// unreachable host or a proxy page is reported once, with its cause and a hint that fits it,
/// rather than as a failed read of every kind of every merchant.
async fn authenticate(sets: &[CredentialSet]) -> Result<(), Failure> {
    let fetches = sets.iter().map(|s| async move {
        s.transport
            .authenticate()
            .await
            .map_err(|e| (&s.vars, &s.msns, e))
    });
    let failed: Vec<_> = futures::future::join_all(fetches)
        .await
        .into_iter()
        .filter_map(Result::err)
        .collect();
    let Some((_, _, first)) = failed.first() else {
        return Ok(());
    };
    let hint = first.hint();
    let mut f = Failure::new(if failed.len() == 1 {
        "could not get a Vipps access token".to_string()
    } else {
        format!(
            "could not get a Vipps access token for {} credential sets",
            failed.len()
        )
    });
    for ((id, secret, key), msns, e) in &failed {
        f = f.caused_by(format!(
            "merchant {} ({id}, {secret}, {key}): {}",
            msns.join(", "),
            crate::error_chain::causes(e).join(": ")
        ));
    }
    Err(f.hint(hint))
}

fn credential_vars(m: &Merchant) -> (String, String, String) {
    match &m.credentials {
        Some(c) => (
            c.client_id.clone(),
            c.client_secret.clone(),
            c.subscription_key.clone(),
        ),
        None => (
            "VIPPS_CLIENT_ID".into(),
            "VIPPS_CLIENT_SECRET".into(),
            "VIPPS_SUBSCRIPTION_KEY".into(),
        ),
    }
}

/// The sandbox: an in-process simulator with one sales unit per merchant the configuration
/// declares, each with its own keys (the simulator's, derived from the MSN), so no credentials are
/// needed and every merchant still acts only with its own keys, as in production.
async fn connect_sandbox(
    global: &GlobalArgs,
    config: &Config,
) -> Result<(Target, HashMap<String, Arc<MerchantApi>>), Failure> {
    let state = Path::new(SANDBOX_STATE);
    if let Some(dir) = state.parent() {
        std::fs::create_dir_all(dir).map_err(|e| {
            Failure::new(format!("could not create {}", dir.display())).caused_by(e)
        })?;
    }
    let msns: Vec<&str> = config.merchants.iter().map(|m| m.msn.as_str()).collect();
    let mut sim_config = crate::sim::SimConfig::sandbox().with_sales_units(msns);
    sim_config.state_file = Some(state.to_path_buf());
    let keys = sim_config.credentials.clone();
    let handle = crate::sim::start(sim_config, ([127, 0, 0, 1], 0).into())
        .await
        .map_err(|e| {
            Failure::from_error(&e).hint(format!(
                "delete {SANDBOX_STATE} to start the sandbox afresh"
            ))
        })?;
    let base_url = handle.base_url();
    let mut apis = HashMap::new();
    for m in &config.merchants {
        let Some(k) = keys.iter().find(|k| k.msns.contains(&m.msn)) else {
            return Err(Failure::new(format!(
                "the sandbox has no sales unit {}",
                m.msn
            )));
        };
        let creds = Credentials::new(
            &k.client_id,
            k.client_secret.expose(),
            k.subscription_key.expose(),
        );
        let t = Transport::builder(base_url.clone())
            .credentials(creds)
            .timeout(global.timeout)
            .build()
            .and_then(|t| t.for_merchant(m.msn.clone()))
            .map_err(|e| Failure::from_error(&e))?;
        apis.insert(m.msn.clone(), Arc::new(MerchantApi::new(t)));
    }
    Ok((
        Target {
            environment: Environment::Test,
            label: "sandbox".into(),
            sandbox: Some(handle),
        },
        apis,
    ))
}

/// Read the live state of every merchant concurrently. A merchant that cannot be read fails the
/// whole run: no plan is made from partial live state.
pub async fn observe_all(
    config: &Config,
    apis: &HashMap<String, Arc<MerchantApi>>,
) -> Result<Vec<LiveMerchant>, Failure> {
    observe_kinds(config, apis, |m| {
        (kinds_to_observe(m), crate::plan::diff::agreement_lists(m))
    })
    .await
}

/// Read the kinds and agreement lists `wants` names for each merchant (import reads what it is
/// asked for).
pub async fn observe_kinds(
    config: &Config,
    apis: &HashMap<String, Arc<MerchantApi>>,
    wants: impl Fn(&Merchant) -> (Vec<crate::resources::Kind>, AgreementLists),
) -> Result<Vec<LiveMerchant>, Failure> {
    let wants = &wants;
    let reads = config.merchants.iter().map(|m| async move {
        let api = apis.get(&m.msn).expect("a client per merchant");
        let (kinds, lists) = wants(m);
        observe(api, &m.msn, &kinds, &lists).await
    });
    let results = futures::future::join_all(reads).await;
    let mut live = Vec::new();
    let mut failures = Vec::new();
    for r in results {
        match r {
            Ok(l) => live.push(l),
            Err(e) => failures.push(e),
        }
    }
    if failures.is_empty() {
        return Ok(live);
    }
    let mut f = Failure::new(format!(
        "could not read the live state of {} {}; no plan was made",
        failures.len(),
        if failures.len() == 1 {
            "merchant"
        } else {
            "merchants"
        }
    ));
    for e in &failures {
        f = f.caused_by(crate::error_chain::one_line(e));
    }
    let hint = failures.iter().find_map(|e| e.source.hint());
    Err(f.hint(match hint {
        Some(h) => format!("{h}; run again with -v for the API calls made"),
        None => "run again with -v for the API calls made".into(),
    }))
}

/// Render plan-time problems as located diagnostics.
pub fn problems_failure(
    problems: &[crate::plan::Problem],
    loaded: &crate::config::Loaded,
    global: &GlobalArgs,
) -> Failure {
    let diags: Vec<crate::config::Diagnostic> = problems
        .iter()
        .map(|p| {
            let mut d = match &p.origin {
                Some(o) => crate::config::Diagnostic::error(o, p.message.clone()),
                None => crate::config::Diagnostic::unlocated(p.message.clone()),
            };
            if let Some(h) = &p.hint {
                d = d.with_hint(h.clone());
            }
            d
        })
        .collect();
    eprint!(
        "{}",
        crate::config::render(&diags, &loaded.sources, global.color_stderr())
    );
    Failure::new(format!(
        "the plan cannot be made: {} {}",
        problems.len(),
        if problems.len() == 1 {
            "problem"
        } else {
            "problems"
        }
    ))
}

/// Webhooks whose one-time secret an earlier apply may have lost, by API target: the next plan
/// replaces them. Live state cannot show a lost secret, so only this file remembers it.
pub const LOST_SECRETS: &str = ".vippsctl/lost-secrets.json";

#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
struct LostSecrets {
    /// Target label (base URL or `sandbox`) -> addresses.
    #[serde(default)]
    targets: std::collections::BTreeMap<String, Vec<crate::resources::Address>>,
}

fn read_lost() -> LostSecrets {
    std::fs::read_to_string(LOST_SECRETS)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default()
}

/// The webhooks to replace because an earlier apply against `target` lost their secret.
pub fn lost_secrets(target: &str) -> Vec<crate::resources::Address> {
    read_lost().targets.remove(target).unwrap_or_default()
}

/// Forget the webhooks whose registration succeeded now, remember the ones lost now.
pub fn record_lost_secrets(
    target: &str,
    succeeded: &[crate::resources::Address],
    lost: &[crate::resources::Address],
) -> Result<(), Failure> {
    let mut all = read_lost();
    let entry = all.targets.entry(target.to_string()).or_default();
    let before = entry.clone();
    entry.retain(|a| !succeeded.contains(a));
    for a in lost {
        if !entry.contains(a) {
            entry.push(a.clone());
        }
    }
    if *entry == before {
        return Ok(());
    }
    if entry.is_empty() {
        all.targets.remove(target);
    }
    if all.targets.is_empty() {
        return match std::fs::remove_file(LOST_SECRETS) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(Failure::new(format!("could not update {LOST_SECRETS}")).caused_by(e))
            }
            _ => Ok(()),
        };
    }
    // A crash-safety record: written atomically and fsynced like a secret sink.
    let text = serde_json::to_string_pretty(&all).unwrap_or_default();
    crate::fsutil::write_atomic(
        Path::new(LOST_SECRETS),
        text.as_bytes(),
        crate::fsutil::PRIVATE,
    )
    .map_err(|e| Failure::new(format!("could not write {LOST_SECRETS}")).caused_by(e))
}
