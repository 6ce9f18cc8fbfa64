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
#[allow(clippy::all, clippy::pedantic, dead_code, unused_imports, missing_docs)]
pub mod management {
    include!(concat!(env!("OUT_DIR"), "/management.rs"));
}
/// Not called by vippsctl: the simulator's Order Management answers are checked against it.
#[allow(clippy::all, clippy::pedantic, dead_code, unused_imports, missing_docs)]
pub mod ordermanagement {
    include!(concat!(env!("OUT_DIR"), "/ordermanagement.rs"));
}
/// Not used by vippsctl itself: generated for the simulator's conformance tests and for merchants'
/// integrations written against the same spec.
#[allow(clippy::all, clippy::pedantic, dead_code, unused_imports, missing_docs)]
pub mod epayment {
    include!(concat!(env!("OUT_DIR"), "/epayment.rs"));
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
                    // The whole chain: the cause (e.g. the token endpoint's 401 detail) is
                    // what the user needs, and `Custom` carries only a string.
                    .map_err(|e| progenitor_client::Error::Custom(e.describe()))
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

transport_hooks!(
    accesstoken,
    webhooks,
    qr,
    recurring,
    management,
    ordermanagement,
    epayment
);

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

#[cfg(test)]
mod tests {
    use super::recurring::types::{PricingRequestV3, PricingResponseV3};
    use serde_json::json;

    /// The published `pricing` oneOf lets every variant claim every `type`; the pin pass must make
    /// each JSON decode to its own variant, in requests and responses alike.
    #[test]
    fn each_pricing_type_decodes_to_its_own_variant() {
        let legacy = json!({"type": "LEGACY", "amount": 100, "currency": "NOK"});
        let variable = json!({"type": "VARIABLE", "suggestedMaxAmount": 100, "maxAmount": 200, "currency": "NOK"});
        // A flexible pricing carrying an amount must still not pass for LEGACY.
        let flexible = json!({"type": "FLEXIBLE", "currency": "EUR", "amount": 100});
        let response =
            |v: &serde_json::Value| serde_json::from_value::<PricingResponseV3>(v.clone());
        assert!(matches!(
            response(&legacy),
            Ok(PricingResponseV3::LegacyPricingResponseV3(_))
        ));
        assert!(matches!(
            response(&variable),
            Ok(PricingResponseV3::VariablePricingResponseV3(_))
        ));
        assert!(matches!(
            response(&flexible),
            Ok(PricingResponseV3::FlexiblePricingResponseV3(_))
        ));
        let request = |v: &serde_json::Value| serde_json::from_value::<PricingRequestV3>(v.clone());
        assert!(matches!(
            request(&legacy),
            Ok(PricingRequestV3::LegacyPricingRequestV3(_))
        ));
        assert!(matches!(
            request(&variable),
            Ok(PricingRequestV3::VariablePricingRequestV3(_))
        ));
        assert!(matches!(
            request(&flexible),
            Ok(PricingRequestV3::FlexiblePricingRequestV3(_))
        ));
        assert!(response(&json!({"type": "OTHER", "currency": "NOK"})).is_err());
    }

    #[test]
    fn spec_versions_name_every_api() {
        for api in [
            "access-token 2.0.0",
            "webhooks v1",
            "qr 1.0",
            "recurring 3.1.2",
            "management 1.1.6",
            "order-management 2.1",
        ] {
            assert!(
                super::SPEC_VERSIONS.contains(api),
                "{}",
                super::SPEC_VERSIONS
            );
        }
    }
}
