//! Discovering a partner's sales units through the Management API (`import --all`).
//!
//! The token comes from `/miami/v1/token` ([`TokenFlow::Management`]), fetched before the list so
//! that keys that are not a partner's are reported as such. `GET /management/v1/sales-units`
//! defines no paging in Management 1.1.6: the whole list is one answer, so discovery is two
//! requests (the token and the list) however many sales units there are.

use super::{Connect, EngineError};
use crate::api::credentials::{Credentials, CredentialsError};
use crate::api::token::TokenFlow;
use crate::api::{ApiError, ManagementApi, Transport, TransportError};
use crate::domain::model::SalesUnit;
use crate::domain::Environment;

/// Optional variables naming separate partner management keys; without them the partner keys
/// (`VIPPS_CLIENT_ID`, `VIPPS_CLIENT_SECRET`) are used.
pub const MANAGEMENT_CLIENT_ID_VAR: &str = "VIPPS_MANAGEMENT_CLIENT_ID";
pub const MANAGEMENT_CLIENT_SECRET_VAR: &str = "VIPPS_MANAGEMENT_CLIENT_SECRET";

#[derive(Debug, thiserror::Error)]
pub enum DiscoverError {
    #[error("could not read the partner keys")]
    Credentials(#[source] CredentialsError),
    #[error("could not get a Management API token")]
    Token(#[source] TransportError),
    #[error("could not list the sales units through the Management API")]
    List(#[source] ApiError),
    #[error("the Management API lists no sales units for these keys")]
    NoSalesUnits,
}

impl DiscoverError {
    /// What to try, fitting the cause.
    pub fn hint(&self) -> String {
        match self {
            DiscoverError::Credentials(_) => format!(
                "export the partner keys (VIPPS_CLIENT_ID, VIPPS_CLIENT_SECRET, or {MANAGEMENT_CLIENT_ID_VAR} and {MANAGEMENT_CLIENT_SECRET_VAR}), or try the simulator with --sandbox"
            ),
            DiscoverError::Token(e) => e.hint(),
            DiscoverError::List(e) => e
                .hint()
                .unwrap_or("run again with -v for the API calls made")
                .to_string(),
            DiscoverError::NoSalesUnits => {
                "these keys have no sales units: check that they are the partner's keys for this environment".into()
            }
        }
    }
}

impl From<DiscoverError> for EngineError {
    fn from(e: DiscoverError) -> Self {
        let hint = e.hint();
        EngineError::from_error(&e).hint(hint)
    }
}

/// A transport for the Management API with `credentials`: the Management token flow, no
/// subscription key.
pub fn management_transport(
    base_url: &str,
    credentials: Credentials,
    timeout: std::time::Duration,
) -> Result<Transport, TransportError> {
    Transport::builder(base_url)
        .credentials(credentials)
        .token_flow(TokenFlow::Management)
        .timeout(timeout)
        .build()
}

/// Every sales unit the transport's keys have access to, by MSN, each once.
pub async fn list_sales_units(transport: &Transport) -> Result<Vec<SalesUnit>, DiscoverError> {
    transport
        .authenticate()
        .await
        .map_err(DiscoverError::Token)?;
    let api = ManagementApi::new(transport.clone());
    let mut units = api.list_sales_units().await.map_err(DiscoverError::List)?;
    units.sort_by(|a, b| a.msn.cmp(&b.msn));
    units.dedup_by(|a, b| a.msn == b.msn);
    if units.is_empty() {
        return Err(DiscoverError::NoSalesUnits);
    }
    Ok(units)
}

/// The partner keys for the Management token: the management variables when both are set, else
/// the default client id and secret.
pub fn partner_credentials() -> Result<Credentials, DiscoverError> {
    let set = |v: &str| std::env::var_os(v).is_some_and(|x| !x.is_empty());
    let (id, secret) = if set(MANAGEMENT_CLIENT_ID_VAR) && set(MANAGEMENT_CLIENT_SECRET_VAR) {
        (MANAGEMENT_CLIENT_ID_VAR, MANAGEMENT_CLIENT_SECRET_VAR)
    } else {
        (
            crate::api::credentials::CLIENT_ID_VAR,
            crate::api::credentials::CLIENT_SECRET_VAR,
        )
    };
    Credentials::client_from_env_vars(id, secret).map_err(DiscoverError::Credentials)
}

/// Discover the sales units: through the Management API of the environment (or `--base-url`)
/// with the partner keys from the environment, or, with `how.sandbox`, of an in-process sandbox
/// whose partner has the sales units `sandbox_units` (the same client code against the
/// simulator, which then stops; the sandbox `connect` starts later knows the same units).
pub async fn discover(
    how: &Connect<'_>,
    environment: Option<Environment>,
    sandbox_units: &[String],
) -> Result<Vec<SalesUnit>, EngineError> {
    if how.sandbox {
        let config = crate::sim::SimConfig::sandbox()
            .with_sales_units(sandbox_units.iter().cloned())
            .with_partner();
        let handle = crate::sim::start(config, ([127, 0, 0, 1], 0).into())
            .await
            .map_err(|e| EngineError::from_error(&e))?;
        let credentials = Credentials::new(
            crate::sim::SANDBOX_PARTNER_CLIENT_ID,
            crate::sim::SANDBOX_PARTNER_CLIENT_SECRET,
            "",
        );
        let transport = management_transport(&handle.base_url(), credentials, how.timeout)
            .map_err(|e| EngineError::from_error(&e))?;
        let units = list_sales_units(&transport).await;
        handle.shutdown().await;
        return Ok(units?);
    }
    let environment = how.environment.or(environment).unwrap_or(Environment::Test);
    let base_url = how
        .base_url
        .clone()
        .unwrap_or_else(|| environment.base_url().to_string());
    let credentials = partner_credentials()?;
    let transport = management_transport(&base_url, credentials, how.timeout)
        .map_err(|e| EngineError::from_error(&e))?;
    Ok(list_sales_units(&transport).await?)
}
