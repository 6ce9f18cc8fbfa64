//! The clients progenitor generates at build time (see `build.rs`), one module per API, never
//! edited by hand. Each `Client` holds a [`Transport`], which adds credentials and sends requests.

use crate::api::transport::Transport;

#[allow(clippy::all, clippy::pedantic, dead_code, unused_imports, missing_docs)]
pub mod accesstoken {
    include!(concat!(env!("OUT_DIR"), "/accesstoken.rs"));
}
#[allow(clippy::all, clippy::pedantic, dead_code, unused_imports, missing_docs)]
pub mod webhooks {
    include!(concat!(env!("OUT_DIR"), "/webhooks.rs"));
}
#[allow(clippy::all, clippy::pedantic, dead_code, unused_imports, missing_docs)]
pub mod qr {
    include!(concat!(env!("OUT_DIR"), "/qr.rs"));
}
#[allow(clippy::all, clippy::pedantic, dead_code, unused_imports, missing_docs)]
pub mod recurring {
    include!(concat!(env!("OUT_DIR"), "/recurring.rs"));
}

/// The spec versions the clients were generated from (`access-token 2.0.0, webhooks v1, ...`).
pub const SPEC_VERSIONS: &str = env!("VIPPSCTL_SPEC_VERSIONS");

/// Routes every generated request through the [`Transport`]: `pre` adds credentials (a failure
/// there aborts the call before anything is sent), `exec` sends with the layer's retry policy.
macro_rules! transport_hooks {
    ($($module:ident),+) => {$(
        impl progenitor_client::ClientHooks<Transport> for $module::Client {
            async fn pre<E>(
                &self,
                request: &mut reqwest::Request,
                info: &progenitor_client::OperationInfo,
            ) -> Result<(), progenitor_client::Error<E>> {
                use progenitor_client::ClientInfo as _;
                self.inner()
                    .prepare(request, info.operation_id)
                    .await
                    .map_err(|e| progenitor_client::Error::Custom(e.to_string()))
            }

            async fn exec(
                &self,
                request: reqwest::Request,
                info: &progenitor_client::OperationInfo,
            ) -> reqwest::Result<reqwest::Response> {
                use progenitor_client::ClientInfo as _;
                self.inner().execute(request, info.operation_id).await
            }
        }
    )+};
}

transport_hooks!(accesstoken, webhooks, qr, recurring);

/// A generated client of each API, all on one [`Transport`].
pub fn clients(
    transport: &Transport,
) -> (
    accesstoken::Client,
    webhooks::Client,
    qr::Client,
    recurring::Client,
) {
    let base = transport.base_url();
    let http = transport.http().clone();
    (
        accesstoken::Client::new_with_client(base, http.clone(), transport.clone()),
        webhooks::Client::new_with_client(base, http.clone(), transport.clone()),
        qr::Client::new_with_client(base, http.clone(), transport.clone()),
        recurring::Client::new_with_client(base, http, transport.clone()),
    )
}
