//! Reaching the APIs: the environment's host with real credentials (one transport, so one token
//! cache and one set of rate limiters, per credential set), or the sandbox simulator in-process.

use super::{EngineError, Workspace};
use crate::api::credentials::Credentials;
use crate::api::transport::Transport;
use crate::api::vipps::{ManagementApi, MerchantApi};
use crate::config::model::{Config, Merchant};
use crate::domain::Environment;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// One API client per merchant, by MSN.
pub type Apis = HashMap<String, Arc<MerchantApi>>;

/// How to reach the APIs.
#[derive(Debug, Clone)]
pub struct Connect<'a> {
    /// The in-process simulator (state in the workspace) instead of the Vipps APIs.
    pub sandbox: bool,
    /// Overrides the configuration's `environment:`.
    pub environment: Option<Environment>,
    /// Overrides the environment's host.
    pub base_url: Option<String>,
    /// Per request.
    pub timeout: Duration,
    /// A cap on the requests per second made with one set of keys, beside the documented
    /// per-merchant limits (a gateway limit a partner was given); already this run's share when
    /// shards run at once.
    pub max_requests_per_second: Option<u32>,
    pub workspace: &'a Workspace,
}

impl Connect<'_> {
    /// One transport for one set of keys: its own token cache and limiters.
    fn transport(&self, base_url: &str, creds: Credentials) -> Result<Transport, EngineError> {
        Transport::builder(base_url)
            .credentials(creds)
            .timeout(self.timeout)
            .rate_limits(self.limits())
            .build()
            .map_err(|e| EngineError::from_error(&e))
    }

    fn limits(&self) -> crate::api::ratelimit::RateLimits {
        use crate::api::ratelimit::{Limit, RateLimits};
        match self.max_requests_per_second {
            // Paced, without a burst: a burst of n would put up to 2n into one sliding second.
            Some(n) => RateLimits::documented().with_global(Limit {
                requests: 1,
                per: Duration::from_secs_f64(1.0 / f64::from(n.max(1))),
                scope: crate::api::ratelimit::Scope::Global,
            }),
            None => RateLimits::documented(),
        }
    }
}

/// A connected run: the API clients and what a saved plan records of the target.
pub struct Session {
    pub environment: Environment,
    /// The base URL, or `sandbox` (whose port changes every run).
    pub label: String,
    pub apis: Apis,
    /// The Management API with each merchant's keys (sales unit configuration, for
    /// `--check-capabilities`); empty for a prepared session.
    pub management: HashMap<String, Arc<ManagementApi>>,
    /// Keeps the in-process sandbox running for as long as the session lives.
    _sandbox: Option<crate::sim::SimHandle>,
}

impl Session {
    /// A session over clients made elsewhere (tests and benches with their own transports).
    pub fn prepared(environment: Environment, label: impl Into<String>, apis: Apis) -> Session {
        Session {
            environment,
            label: label.into(),
            apis,
            management: HashMap::new(),
            _sandbox: None,
        }
    }
}

/// Reach the APIs: the sandbox simulator in-process, or the environment's host with real credentials.
pub async fn connect(config: &Config, how: &Connect<'_>) -> Result<Session, EngineError> {
    if how.sandbox {
        return connect_sandbox(config, how).await;
    }
    let environment = how
        .environment
        .or(config.environment)
        .unwrap_or(Environment::Test);
    let base_url = how
        .base_url
        .clone()
        .unwrap_or_else(|| environment.base_url().to_string());
    // One transport (one token cache, one set of rate limiters) per credential set: a partner's
    // merchants share one token.
    let mut by_credentials: Vec<CredentialSet> = Vec::new();
    let mut missing = Vec::new();
    for m in &config.merchants {
        if m.is_partner() && m.credentials.is_none() {
            // `validate` refuses this too; a run never falls back to merchant keys for it.
            return Err(EngineError::failed(
                "partner webhooks need the partner's keys, and the configuration names none",
            )
            .hint("set `partner.credentials: { clientId: VAR, clientSecret: VAR, subscriptionKey: VAR }` naming the variables that hold the partner keys"));
        }
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
        let t = how.transport(&base_url, creds)?;
        by_credentials.push(CredentialSet {
            vars,
            transport: t,
            msns: vec![m.msn.clone()],
        });
    }
    // Every missing variable at once, not one per run.
    if let Some(e) = crate::api::credentials::CredentialsError::all(missing) {
        return Err(EngineError::from_error(&e).hint(
            "export the variables, name others under the merchant's `credentials:`, or try the simulator with --sandbox",
        ));
    }
    authenticate(&by_credentials).await?;
    let mut apis = HashMap::new();
    let mut management = HashMap::new();
    for m in &config.merchants {
        let vars = credential_vars(m);
        let Some(set) = by_credentials.iter().find(|s| s.vars == vars) else {
            continue;
        };
        if m.is_partner() {
            // Partner-level registrations are the ones made without a Merchant-Serial-Number.
            apis.insert(
                m.msn.clone(),
                Arc::new(MerchantApi::new(set.transport.clone())),
            );
            continue;
        }
        let t = set
            .transport
            .for_merchant(m.msn.clone())
            .map_err(|e| EngineError::from_error(&e))?;
        management.insert(m.msn.clone(), Arc::new(ManagementApi::new(t.clone())));
        apis.insert(m.msn.clone(), Arc::new(MerchantApi::new(t)));
    }
    Ok(Session {
        environment,
        label: base_url,
        apis,
        management,
        _sandbox: None,
    })
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
async fn authenticate(sets: &[CredentialSet]) -> Result<(), EngineError> {
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
    let mut f = EngineError::failed(if failed.len() == 1 {
        "could not get a Vipps access token".to_string()
    } else {
        format!(
            "could not get a Vipps access token for {} credential sets",
            failed.len()
        )
    });
    for ((id, secret, key), msns, e) in &failed {
        // The partner level is named as such, not as a merchant `partner`.
        let merchants: Vec<&str> = msns
            .iter()
            .map(String::as_str)
            .filter(|m| *m != crate::config::model::PARTNER)
            .collect();
        let mut units = Vec::new();
        if merchants.len() < msns.len() {
            units.push("the partner level".to_string());
        }
        if !merchants.is_empty() {
            units.push(format!("merchant {}", merchants.join(", ")));
        }
        f = f.caused_by(format!(
            "{} ({id}, {secret}, {key}): {}",
            units.join(" and "),
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
async fn connect_sandbox(config: &Config, how: &Connect<'_>) -> Result<Session, EngineError> {
    let state = how.workspace.sandbox_state();
    let state = state.as_path();
    if let Some(dir) = state.parent() {
        std::fs::create_dir_all(dir).map_err(|e| {
            EngineError::failed(format!("could not create {}", dir.display())).caused_by(e)
        })?;
    }
    let msns: Vec<&str> = config
        .merchants
        .iter()
        .filter(|m| !m.is_partner())
        .map(|m| m.msn.as_str())
        .collect();
    // The sandbox partner's keys act for the sales units of the configuration, as `import --all
    // --sandbox` discovers them.
    let mut sim_config = crate::sim::SimConfig::sandbox()
        .with_sales_units(msns)
        .with_partner();
    sim_config.state_file = Some(state.to_path_buf());
    let keys = sim_config.credentials.clone();
    let handle = crate::sim::start(sim_config, ([127, 0, 0, 1], 0).into())
        .await
        .map_err(|e| {
            EngineError::from_error(&e).hint(format!(
                "delete {} to start the sandbox afresh",
                state.display()
            ))
        })?;
    let base_url = handle.base_url();
    let mut apis = HashMap::new();
    let mut management = HashMap::new();
    for m in &config.merchants {
        if m.is_partner() {
            let creds = Credentials::new(
                crate::sim::SANDBOX_PARTNER_CLIENT_ID,
                crate::sim::SANDBOX_PARTNER_CLIENT_SECRET,
                crate::sim::SANDBOX_PARTNER_SUBSCRIPTION_KEY,
            );
            let t = how.transport(&base_url, creds)?;
            apis.insert(m.msn.clone(), Arc::new(MerchantApi::new(t)));
            continue;
        }
        let Some(k) = keys.iter().find(|k| !k.partner && k.msns.contains(&m.msn)) else {
            return Err(EngineError::failed(format!(
                "the sandbox has no sales unit {}",
                m.msn
            )));
        };
        let creds = Credentials::new(
            &k.client_id,
            k.client_secret.expose(),
            k.subscription_key.expose(),
        );
        let t = how
            .transport(&base_url, creds)?
            .for_merchant(m.msn.clone())
            .map_err(|e| EngineError::from_error(&e))?;
        management.insert(m.msn.clone(), Arc::new(ManagementApi::new(t.clone())));
        apis.insert(m.msn.clone(), Arc::new(MerchantApi::new(t)));
    }
    Ok(Session {
        environment: Environment::Test,
        label: "sandbox".into(),
        management,
        apis,
        _sandbox: Some(handle),
    })
}
