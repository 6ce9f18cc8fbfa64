//! Thin adapters from the generated clients to vippsctl's domain types (`domain::model`), one
//! [`MerchantApi`] per merchant.
//!
//! Requests are built as JSON and converted into the generated body type (which checks the spec's
//! limits before anything is sent). Success bodies are decoded once, straight from the bytes into
//! the types in [`wire`]: build.rs has the generated clients return those for every operation in
//! `specs::ops::WIRE_RESPONSES`. Neither side depends on how typify names and wraps fields, so this
//! file compiles unchanged against every published spec version `.ci/published-specs.sh` builds
//! (see `openapi/README.md`).

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Map, Value};

use crate::api::error::{elide_quoted, ApiError};
use crate::api::generated::{management, qr, recurring, webhooks};
use crate::api::transport::Transport;
use crate::domain::model::{
    AgreementPatch, AgreementStatus, DraftAgreement, DraftedAgreement, ImageFormat, Interval,
    LiveAgreement, LiveCallbackQr, LiveRedirectQr, LiveWebhook, Pricing, SalesUnit,
    SalesUnitConfiguration, SalesUnitDetails,
};
use crate::domain::Secret;

/// The webhooks, QR and recurring clients of one merchant, sharing one [`Transport`].
#[derive(Clone, Debug)]
pub struct MerchantApi {
    webhooks: webhooks::Client,
    qr: qr::Client,
    recurring: recurring::Client,
}

/// Await a generated call and map its error.
macro_rules! call {
    ($op:expr, $request:expr) => {
        match $request.await {
            Ok(v) => v.into_inner(),
            Err(e) => return Err(ApiError::from_generated($op, e).await),
        }
    };
}

fn to_json<T: Serialize>(op: &str, value: T) -> Result<Value, ApiError> {
    serde_json::to_value(value).map_err(|e| ApiError::Decode {
        operation: op.to_string(),
        status: None,
        message: elide_quoted(&e.to_string()),
    })
}

/// Build a generated request type from JSON; the spec's limits are checked here.
fn body<T: DeserializeOwned>(op: &str, value: Value) -> Result<T, ApiError> {
    serde_json::from_value(value).map_err(|e| ApiError::InvalidRequest {
        operation: op.to_string(),
        message: elide_quoted(&e.to_string()),
    })
}

fn missing(op: &str, what: &str) -> ApiError {
    ApiError::Decode {
        operation: op.to_string(),
        status: None,
        message: format!("the response lacks `{what}`"),
    }
}

/// A field the adapter needs: absent or null is a decode error naming it.
fn need<T>(op: &str, value: Option<T>, key: &str) -> Result<T, ApiError> {
    value.ok_or_else(|| missing(op, key))
}

fn accept(format: ImageFormat) -> &'static str {
    match format {
        ImageFormat::Png => "image/png",
        ImageFormat::Svg => "image/svg+xml",
    }
}

fn callback_format(format: ImageFormat) -> &'static str {
    match format {
        ImageFormat::Png => "PNG",
        ImageFormat::Svg => "SVG",
    }
}

fn redirect_qr(op: &str, q: wire::RedirectQr) -> Result<LiveRedirectQr, ApiError> {
    Ok(LiveRedirectQr {
        id: need(op, q.id, "id")?,
        redirect_url: need(op, q.redirect_url, "redirectUrl")?,
        url: q.url,
        expires_in: q.expires_in,
    })
}

fn callback_qr(op: &str, q: wire::CallbackQr) -> Result<LiveCallbackQr, ApiError> {
    Ok(LiveCallbackQr {
        merchant_qr_id: need(op, q.merchant_qr_id, "merchantQrId")?,
        location_description: q.location_description,
        qr_image_url: q.qr_image_url,
        qr_content: q.qr_content,
    })
}

fn interval_json(i: &Interval) -> Value {
    json!({"unit": i.unit, "count": i.count})
}

fn pricing(op: &str, p: wire::Pricing) -> Result<Pricing, ApiError> {
    let currency = need(op, p.currency, "pricing.currency")?;
    Ok(match need(op, p.kind, "pricing.type")? {
        wire::PricingType::Legacy => Pricing::Legacy {
            amount: need(op, p.amount, "pricing.amount")?,
            currency,
        },
        wire::PricingType::Variable => Pricing::Variable {
            suggested_max_amount: need(op, p.suggested_max_amount, "pricing.suggestedMaxAmount")?,
            currency,
            max_amount: p.max_amount,
        },
        wire::PricingType::Flexible => Pricing::Flexible { currency },
    })
}

fn agreement(op: &str, a: wire::Agreement) -> Result<LiveAgreement, ApiError> {
    Ok(LiveAgreement {
        id: need(op, a.id, "id")?,
        status: need(op, a.status, "status")?,
        external_id: a.external_id,
        product_name: need(op, a.product_name, "productName")?,
        product_description: a.product_description,
        pricing: pricing(op, need(op, a.pricing, "pricing")?)?,
        // Only a text (pay-per-use) or a count out of range reads as no interval.
        interval: a.interval.and_then(|i| {
            Some(Interval {
                unit: i.unit?,
                count: u32::try_from(i.count?).ok()?,
            })
        }),
        merchant_redirect_url: a.merchant_redirect_url,
        merchant_agreement_url: a.merchant_agreement_url,
        created: a.created,
    })
}

/// Insert `key: value` when there is a value.
fn put(map: &mut Map<String, Value>, key: &str, value: Option<Value>) {
    if let Some(v) = value {
        map.insert(key.to_string(), v);
    }
}

impl MerchantApi {
    pub fn new(transport: Transport) -> Self {
        let base = transport.base_url().to_string();
        let http = transport.http().clone();
        MerchantApi {
            webhooks: webhooks::Client::new_with_client(&base, http.clone(), transport.clone()),
            qr: qr::Client::new_with_client(&base, http.clone(), transport.clone()),
            recurring: recurring::Client::new_with_client(&base, http, transport),
        }
    }

    // --- webhooks -----------------------------------------------------------------------------

    pub async fn list_webhooks(&self) -> Result<Vec<LiveWebhook>, ApiError> {
        const OP: &str = "list_webhooks";
        let resp = call!(OP, self.webhooks.list_webhooks().send());
        resp.webhooks
            .unwrap_or_default()
            .into_iter()
            .map(|w| {
                Ok(LiveWebhook {
                    id: need(OP, w.id, "id")?,
                    url: need(OP, w.url, "url")?,
                    events: w.events.unwrap_or_default(),
                })
            })
            .collect()
    }

    /// Registers a webhook; returns its id and its secret (the only time the API reveals it).
    pub async fn register_webhook(
        &self,
        url: &str,
        events: &[String],
    ) -> Result<(String, Secret), ApiError> {
        const OP: &str = "register_webhook";
        let request: webhooks::types::RegisterRequest =
            body(OP, json!({"url": url, "events": events}))?;
        let resp = call!(OP, self.webhooks.register_webhook().body(request).send());
        Ok((need(OP, resp.id, "id")?, need(OP, resp.secret, "secret")?))
    }

    pub async fn delete_webhook(&self, id: &str) -> Result<(), ApiError> {
        const OP: &str = "delete_webhook";
        call!(OP, self.webhooks.delete_webhook().id(id).send());
        Ok(())
    }

    // --- QR: merchant redirect ----------------------------------------------------------------

    pub async fn list_redirect_qrs(&self) -> Result<Vec<LiveRedirectQr>, ApiError> {
        const OP: &str = "list_redirect_qrs";
        let request = self
            .qr
            .list_redirect_qrs()
            .accept(accept(ImageFormat::Svg))
            .send();
        call!(OP, request)
            .into_iter()
            .map(|q| redirect_qr(OP, q))
            .collect()
    }

    pub async fn get_redirect_qr(&self, id: &str) -> Result<LiveRedirectQr, ApiError> {
        const OP: &str = "get_redirect_qr";
        let request = self
            .qr
            .get_redirect_qr()
            .id(id)
            .accept(accept(ImageFormat::Svg))
            .send();
        redirect_qr(OP, call!(OP, request))
    }

    /// Creates the QR; an existing id answers 409 (`ApiError::is_conflict`).
    pub async fn create_redirect_qr(
        &self,
        id: &str,
        redirect_url: &str,
        ttl: Option<u64>,
    ) -> Result<LiveRedirectQr, ApiError> {
        const OP: &str = "create_redirect_qr";
        let mut fields = Map::new();
        fields.insert("id".into(), json!(id));
        fields.insert("redirectUrl".into(), json!(redirect_url));
        put(&mut fields, "ttl", ttl.map(|t| json!(t)));
        let request: qr::types::MerchantRedirectQrRequest = body(OP, Value::Object(fields))?;
        let send = self
            .qr
            .create_redirect_qr()
            .accept(accept(ImageFormat::Svg))
            .body(request)
            .send();
        redirect_qr(OP, call!(OP, send))
    }

    pub async fn update_redirect_qr(&self, id: &str, redirect_url: &str) -> Result<(), ApiError> {
        const OP: &str = "update_redirect_qr";
        let request: qr::types::MerchantRedirectQrUpdateRequest =
            body(OP, json!({"redirectUrl": redirect_url}))?;
        let send = self
            .qr
            .update_redirect_qr()
            .id(id)
            .accept(accept(ImageFormat::Svg))
            .body(request)
            .send();
        call!(OP, send);
        Ok(())
    }

    pub async fn delete_redirect_qr(&self, id: &str) -> Result<(), ApiError> {
        const OP: &str = "delete_redirect_qr";
        call!(OP, self.qr.delete_redirect_qr().id(id).send());
        Ok(())
    }

    /// The URL of the QR's image in `format` (`size` in pixels, PNG only).
    pub async fn redirect_qr_image(
        &self,
        id: &str,
        format: ImageFormat,
        size: Option<u32>,
    ) -> Result<String, ApiError> {
        let q = self.redirect_qr_with_image(id, format, size).await?;
        q.url.ok_or_else(|| missing("get_redirect_qr", "url"))
    }

    /// The QR as [`MerchantApi::get_redirect_qr`] reads it, with `url` the image in `format`.
    pub async fn redirect_qr_with_image(
        &self,
        id: &str,
        format: ImageFormat,
        size: Option<u32>,
    ) -> Result<LiveRedirectQr, ApiError> {
        const OP: &str = "get_redirect_qr";
        let mut request = self.qr.get_redirect_qr().id(id).accept(accept(format));
        if let (ImageFormat::Png, Some(size)) = (format, size) {
            request = request.size(size);
        }
        redirect_qr(OP, call!(OP, request.send()))
    }

    // --- QR: merchant callback ----------------------------------------------------------------

    pub async fn list_callback_qrs(&self) -> Result<Vec<LiveCallbackQr>, ApiError> {
        const OP: &str = "list_callback_qrs";
        call!(OP, self.qr.list_callback_qrs().send())
            .into_iter()
            .map(|q| callback_qr(OP, q))
            .collect()
    }

    pub async fn get_callback_qr(
        &self,
        id: &str,
        format: ImageFormat,
        size: Option<u32>,
    ) -> Result<LiveCallbackQr, ApiError> {
        const OP: &str = "get_callback_qr";
        let mut request = self
            .qr
            .get_callback_qr()
            .merchant_qr_id(id)
            .qr_image_format(callback_format(format));
        if let (ImageFormat::Png, Some(size)) = (format, size) {
            request = request.qr_image_size(size);
        }
        callback_qr(OP, call!(OP, request.send()))
    }

    /// Creates or updates (upsert) the QR's location text.
    pub async fn put_callback_qr(
        &self,
        id: &str,
        location_description: &str,
    ) -> Result<(), ApiError> {
        const OP: &str = "put_callback_qr";
        let request: qr::types::MerchantCallbackPutRequest =
            body(OP, json!({"locationDescription": location_description}))?;
        call!(
            OP,
            self.qr
                .put_callback_qr()
                .merchant_qr_id(id)
                .body(request)
                .send()
        );
        Ok(())
    }

    pub async fn delete_callback_qr(&self, id: &str) -> Result<(), ApiError> {
        const OP: &str = "delete_callback_qr";
        call!(OP, self.qr.delete_callback_qr().merchant_qr_id(id).send());
        Ok(())
    }

    // --- recurring ----------------------------------------------------------------------------

    /// One page; the caller loops. `created_after` in epoch ms. Against a spec without paging
    /// parameters (before 3.x) the API returns everything on page 1, and later pages are empty.
    pub async fn list_agreements(
        &self,
        status: Option<AgreementStatus>,
        created_after: Option<i64>,
        page_number: u32,
        page_size: u32,
    ) -> Result<Vec<LiveAgreement>, ApiError> {
        const OP: &str = "list_agreements";
        let mut request = self.recurring.list_agreements();
        if let Some(s) = status {
            request = request.status(s.as_str());
        }
        if let Some(t) = created_after {
            request = request.created_after(t);
        }
        #[cfg(vippsctl_recurring_paging)]
        {
            request = request.page_number(page_number).page_size(page_size);
        }
        #[cfg(not(vippsctl_recurring_paging))]
        {
            let _ = page_size;
            if page_number > 1 {
                return Ok(Vec::new());
            }
        }
        call!(OP, request.send())
            .into_iter()
            .map(|a| agreement(OP, a))
            .collect()
    }

    pub async fn draft_agreement(
        &self,
        draft: &DraftAgreement,
        idempotency_key: &str,
    ) -> Result<DraftedAgreement, ApiError> {
        const OP: &str = "draft_agreement";
        let mut fields = Map::new();
        fields.insert("pricing".into(), to_json(OP, &draft.pricing)?);
        fields.insert("productName".into(), json!(draft.product_name));
        fields.insert(
            "merchantRedirectUrl".into(),
            json!(draft.merchant_redirect_url),
        );
        fields.insert("externalId".into(), json!(draft.external_id));
        put(
            &mut fields,
            "productDescription",
            draft.product_description.as_ref().map(|d| json!(d)),
        );
        put(
            &mut fields,
            "merchantAgreementUrl",
            draft.merchant_agreement_url.as_ref().map(|u| json!(u)),
        );
        put(
            &mut fields,
            "interval",
            draft.interval.as_ref().map(interval_json),
        );
        put(
            &mut fields,
            "phoneNumber",
            draft.phone_number.as_ref().map(|p| json!(p)),
        );
        let request: recurring::types::DraftAgreementV3 = body(OP, Value::Object(fields))?;
        let send = self
            .recurring
            .draft_agreement()
            .idempotency_key(idempotency_key)
            .body(request)
            .send();
        let resp = call!(OP, send);
        Ok(DraftedAgreement {
            agreement_id: need(OP, resp.agreement_id, "agreementId")?,
            vipps_confirmation_url: need(OP, resp.vipps_confirmation_url, "vippsConfirmationUrl")?,
        })
    }

    pub async fn fetch_agreement(&self, id: &str) -> Result<LiveAgreement, ApiError> {
        const OP: &str = "fetch_agreement";
        let send = self.recurring.fetch_agreement().agreement_id(id).send();
        agreement(OP, call!(OP, send))
    }

    pub async fn update_agreement(
        &self,
        id: &str,
        patch: &AgreementPatch,
        idempotency_key: &str,
    ) -> Result<(), ApiError> {
        let mut fields = Map::new();
        let text = |v: &Option<String>| v.as_ref().map(|s| json!(s));
        put(&mut fields, "productName", text(&patch.product_name));
        put(
            &mut fields,
            "productDescription",
            text(&patch.product_description),
        );
        put(
            &mut fields,
            "merchantAgreementUrl",
            text(&patch.merchant_agreement_url),
        );
        put(&mut fields, "externalId", text(&patch.external_id));
        let mut pricing = Map::new();
        put(
            &mut pricing,
            "amount",
            patch.pricing_amount.map(|a| json!(a)),
        );
        put(
            &mut pricing,
            "suggestedMaxAmount",
            patch.pricing_suggested_max_amount.map(|a| json!(a)),
        );
        if !pricing.is_empty() {
            fields.insert("pricing".into(), Value::Object(pricing));
        }
        put(
            &mut fields,
            "interval",
            patch
                .interval
                .as_ref()
                .map(|i| json!({"type": "RECURRING", "period": interval_json(i)})),
        );
        self.patch_agreement(id, Value::Object(fields), idempotency_key)
            .await
    }

    /// Stops the agreement for good (`status: STOPPED`, sent alone as the API requires).
    pub async fn stop_agreement(&self, id: &str, idempotency_key: &str) -> Result<(), ApiError> {
        self.patch_agreement(id, json!({"status": "STOPPED"}), idempotency_key)
            .await
    }

    async fn patch_agreement(
        &self,
        id: &str,
        fields: Value,
        idempotency_key: &str,
    ) -> Result<(), ApiError> {
        const OP: &str = "update_agreement";
        let request: recurring::types::PatchAgreementV3 = body(OP, fields)?;
        let send = self
            .recurring
            .update_agreement()
            .agreement_id(id)
            .idempotency_key(idempotency_key)
            .body(request)
            .send();
        call!(OP, send);
        Ok(())
    }

    /// Test environment only: accept a drafted agreement as the customer with this phone number.
    pub async fn accept_agreement(
        &self,
        id: &str,
        phone_number: &str,
        idempotency_key: &str,
    ) -> Result<(), ApiError> {
        const OP: &str = "accept_agreement";
        let request: recurring::types::ForceAcceptAgreementV3 =
            body(OP, json!({"phoneNumber": phone_number}))?;
        let send = self
            .recurring
            .accept_agreement()
            .agreement_id(id)
            .idempotency_key(idempotency_key)
            .body(request)
            .send();
        call!(OP, send);
        Ok(())
    }
}

/// What the adapters read from each success body, decoded once from the bytes. build.rs makes the
/// generated clients return these (see `specs::ops::WIRE_RESPONSES`), so the field names here are
/// the wire names of the API, never typify's. Every field is optional: the adapters name the ones
/// they need in a decode error; unknown fields are ignored, as new API versions add some.
/// Public only because the generated clients name these types.
/// The Management API client of a partner (or a merchant), on a [`Transport`] whose token comes
/// from `/miami/v1/token` for partner management keys ([`crate::api::token::TokenFlow`]).
#[derive(Clone, Debug)]
pub struct ManagementApi {
    management: management::Client,
}

fn sales_unit(op: &str, u: wire::SalesUnitInfo) -> Result<SalesUnit, ApiError> {
    Ok(SalesUnit {
        msn: need(op, u.msn, "msn")?,
        name: u.name.unwrap_or_default(),
    })
}

impl ManagementApi {
    pub fn new(transport: Transport) -> Self {
        let base = transport.base_url().to_string();
        let http = transport.http().clone();
        ManagementApi {
            management: management::Client::new_with_client(&base, http, transport),
        }
    }

    /// Every sales unit the keys have access to. The spec defines no paging: one call, one list.
    pub async fn list_sales_units(&self) -> Result<Vec<SalesUnit>, ApiError> {
        const OP: &str = "list_sales_units";
        call!(OP, self.management.list_sales_units().send())
            .into_iter()
            .map(|u| sales_unit(OP, u))
            .collect()
    }

    /// The sales units of the merchant with this business identifier (a partner sees only its
    /// own).
    pub async fn list_merchant_sales_units(
        &self,
        scheme: &str,
        id: &str,
    ) -> Result<Vec<SalesUnit>, ApiError> {
        const OP: &str = "list_merchant_sales_units";
        let request = self
            .management
            .list_merchant_sales_units()
            .scheme(scheme)
            .id(id)
            .send();
        call!(OP, request)
            .into_iter()
            .map(|u| sales_unit(OP, u))
            .collect()
    }

    /// One sales unit, with its `configuration` where the API gives it.
    pub async fn get_sales_unit(&self, msn: &str) -> Result<SalesUnitDetails, ApiError> {
        const OP: &str = "get_sales_unit";
        let u = call!(OP, self.management.get_sales_unit().msn(msn).send());
        let c = u.configuration;
        Ok(SalesUnitDetails {
            msn: need(OP, u.msn, "msn")?,
            name: u.name.unwrap_or_default(),
            business_identifier: u.business_identifier.and_then(|b| Some((b.scheme?, b.id?))),
            configuration: c
                .map(|c| SalesUnitConfiguration {
                    payment_allowed: c.payment_allowed,
                    capture_type: c.capture_type,
                    skip_landing_page_allowed: c.skip_landing_page_allowed,
                    recurring_allowed: c.recurring_allowed,
                })
                .unwrap_or_default(),
        })
    }
}

pub mod wire {
    use serde::de::{self, Deserializer, IgnoredAny};
    use serde::Deserialize;

    use crate::domain::model::{AgreementStatus, IntervalUnit};
    use crate::domain::Secret;

    #[derive(Debug, Deserialize)]
    pub struct WebhookList {
        pub webhooks: Option<Vec<Webhook>>,
    }

    #[derive(Debug, Deserialize)]
    pub struct Webhook {
        pub id: Option<String>,
        pub url: Option<String>,
        pub events: Option<Vec<String>>,
    }

    #[derive(Debug, Deserialize)]
    pub struct RegisteredWebhook {
        pub id: Option<String>,
        /// Shown once by the API; never held as a plain string.
        #[serde(default, deserialize_with = "secret")]
        pub secret: Option<Secret>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct RedirectQr {
        pub id: Option<String>,
        pub redirect_url: Option<String>,
        pub url: Option<String>,
        pub expires_in: Option<i64>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct CallbackQr {
        pub merchant_qr_id: Option<String>,
        pub location_description: Option<String>,
        pub qr_image_url: Option<String>,
        pub qr_content: Option<String>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct Agreement {
        pub id: Option<String>,
        pub status: Option<AgreementStatus>,
        pub external_id: Option<String>,
        pub product_name: Option<String>,
        pub product_description: Option<String>,
        pub pricing: Option<Pricing>,
        /// Pay-per-use agreements have no interval, and some responses carry only its text.
        pub interval: Option<Interval>,
        pub merchant_redirect_url: Option<String>,
        pub merchant_agreement_url: Option<String>,
        /// Epoch milliseconds or RFC 3339, kept as text for display.
        #[serde(default, deserialize_with = "created")]
        pub created: Option<String>,
    }

    /// Recurring v3 pricing: the fields of every `type` side by side (decoded without buffering,
    /// unlike an internally tagged enum); the adapter checks that `type` has what it needs.
    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct Pricing {
        #[serde(rename = "type")]
        pub kind: Option<PricingType>,
        pub currency: Option<String>,
        pub amount: Option<i64>,
        pub suggested_max_amount: Option<i64>,
        pub max_amount: Option<i64>,
    }

    #[derive(Debug, Clone, Copy, Deserialize)]
    #[serde(rename_all = "SCREAMING_SNAKE_CASE")]
    pub enum PricingType {
        Legacy,
        Variable,
        Flexible,
    }

    #[derive(Debug, Deserialize)]
    pub struct Interval {
        pub unit: Option<IntervalUnit>,
        pub count: Option<i64>,
    }

    /// A sales unit in a Management list (`MsnInfo`).
    #[derive(Debug, Deserialize)]
    pub struct SalesUnitInfo {
        pub msn: Option<String>,
        pub name: Option<String>,
    }

    /// One sales unit (Management `SalesUnit`).
    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct SalesUnit {
        pub msn: Option<String>,
        pub name: Option<String>,
        pub business_identifier: Option<BusinessIdentifier>,
        pub configuration: Option<SalesUnitConfiguration>,
    }

    #[derive(Debug, Deserialize)]
    pub struct BusinessIdentifier {
        pub scheme: Option<String>,
        pub id: Option<String>,
    }

    /// Every property may be missing ("it doesn't mean that those details don't apply").
    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct SalesUnitConfiguration {
        pub payment_allowed: Option<bool>,
        pub capture_type: Option<String>,
        pub skip_landing_page_allowed: Option<bool>,
        pub recurring_allowed: Option<bool>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct DraftedAgreement {
        pub agreement_id: Option<String>,
        pub vipps_confirmation_url: Option<String>,
    }

    fn secret<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Secret>, D::Error> {
        Ok(Option::<String>::deserialize(d)?.map(Secret::new))
    }

    /// A string as it is, a number as its decimal text, anything else as none.
    fn created<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        struct Text;
        impl<'de> de::Visitor<'de> for Text {
            type Value = Option<String>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a timestamp")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Some(v.to_string()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Some(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                Ok(Some(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                Ok(Some(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
                Ok(serde_json::Number::from_f64(v).map(|n| n.to_string()))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
                d.deserialize_any(Text)
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut a: A) -> Result<Self::Value, A::Error> {
                while a.next_element::<IgnoredAny>()?.is_some() {}
                Ok(None)
            }
            fn visit_map<A: de::MapAccess<'de>>(self, mut a: A) -> Result<Self::Value, A::Error> {
                while a.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(None)
            }
        }
        d.deserialize_option(Text)
    }
}
