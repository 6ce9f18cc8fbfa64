//! Thin adapters from the generated clients to vippsctl's domain types (`api::model`), one
//! [`MerchantApi`] per merchant.
//!
//! Requests are built as JSON and converted into the generated body type (which checks the spec's
//! limits before anything is sent); responses are read back through their JSON form. That keeps
//! this file independent of how typify names and wraps fields, so it compiles unchanged against
//! every published spec version `.ci/published-specs.sh` builds (see `openapi/README.md`).

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Map, Value};

use crate::api::error::{elide_quoted, ApiError};
use crate::api::generated::{qr, recurring, webhooks};
use crate::api::model::{
    AgreementPatch, AgreementStatus, DraftAgreement, DraftedAgreement, ImageFormat, Interval,
    LiveAgreement, LiveCallbackQr, LiveRedirectQr, LiveWebhook, Pricing,
};
use crate::api::transport::Transport;
use crate::api::Secret;

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

fn str_field(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_string)
}

fn required_str(op: &str, v: &Value, key: &str) -> Result<String, ApiError> {
    str_field(v, key).ok_or_else(|| missing(op, key))
}

fn array(op: &str, v: Value, key: Option<&str>) -> Result<Vec<Value>, ApiError> {
    let v = match key {
        // Generated types skip empty lists when serialised, so an absent list is an empty one.
        Some(k) => v.get(k).cloned().unwrap_or(Value::Array(Vec::new())),
        None => v,
    };
    match v {
        Value::Array(items) => Ok(items),
        _ => Err(missing(op, key.unwrap_or("a list"))),
    }
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

fn redirect_qr(op: &str, v: &Value) -> Result<LiveRedirectQr, ApiError> {
    Ok(LiveRedirectQr {
        id: required_str(op, v, "id")?,
        redirect_url: required_str(op, v, "redirectUrl")?,
        url: str_field(v, "url"),
        expires_in: v.get("expiresIn").and_then(Value::as_i64),
    })
}

fn callback_qr(op: &str, v: &Value) -> Result<LiveCallbackQr, ApiError> {
    Ok(LiveCallbackQr {
        merchant_qr_id: required_str(op, v, "merchantQrId")?,
        location_description: str_field(v, "locationDescription"),
        qr_image_url: str_field(v, "qrImageUrl"),
        qr_content: str_field(v, "qrContent"),
    })
}

fn interval_json(i: &Interval) -> Value {
    json!({"unit": i.unit, "count": i.count})
}

fn agreement(op: &str, v: &Value) -> Result<LiveAgreement, ApiError> {
    let field = |key: &str| -> Result<Value, ApiError> {
        v.get(key)
            .filter(|x| !x.is_null())
            .cloned()
            .ok_or_else(|| missing(op, key))
    };
    let decode = |key: &str, e: serde_json::Error| ApiError::Decode {
        operation: op.to_string(),
        status: None,
        message: format!("`{key}`: {}", elide_quoted(&e.to_string())),
    };
    let status: AgreementStatus =
        serde_json::from_value(field("status")?).map_err(|e| decode("status", e))?;
    let pricing: Pricing =
        serde_json::from_value(field("pricing")?).map_err(|e| decode("pricing", e))?;
    // Pay-per-use agreements have no interval, and some responses carry only its text.
    let interval = v
        .get("interval")
        .and_then(|i| serde_json::from_value::<Interval>(i.clone()).ok());
    Ok(LiveAgreement {
        id: required_str(op, v, "id")?,
        status,
        external_id: str_field(v, "externalId"),
        product_name: required_str(op, v, "productName")?,
        product_description: str_field(v, "productDescription"),
        pricing,
        interval,
        merchant_redirect_url: str_field(v, "merchantRedirectUrl"),
        merchant_agreement_url: str_field(v, "merchantAgreementUrl"),
        created: match v.get("created") {
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Number(n)) => Some(n.to_string()),
            _ => None,
        },
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
        let resp = to_json(OP, call!(OP, self.webhooks.list_webhooks().send()))?;
        array(OP, resp, Some("webhooks"))?
            .iter()
            .map(|w| {
                Ok(LiveWebhook {
                    id: required_str(OP, w, "id")?,
                    url: required_str(OP, w, "url")?,
                    events: w
                        .get("events")
                        .and_then(Value::as_array)
                        .map(|e| {
                            e.iter()
                                .filter_map(|x| x.as_str().map(str::to_string))
                                .collect()
                        })
                        .unwrap_or_default(),
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
        let resp = to_json(
            OP,
            call!(OP, self.webhooks.register_webhook().body(request).send()),
        )?;
        let id = required_str(OP, &resp, "id")?;
        let secret = required_str(OP, &resp, "secret").map(Secret::new)?;
        Ok((id, secret))
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
        let resp = to_json(OP, call!(OP, request))?;
        array(OP, resp, None)?
            .iter()
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
        redirect_qr(OP, &to_json(OP, call!(OP, request))?)
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
        redirect_qr(OP, &to_json(OP, call!(OP, send))?)
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
        redirect_qr(OP, &to_json(OP, call!(OP, request.send()))?)
    }

    // --- QR: merchant callback ----------------------------------------------------------------

    pub async fn list_callback_qrs(&self) -> Result<Vec<LiveCallbackQr>, ApiError> {
        const OP: &str = "list_callback_qrs";
        let resp = to_json(OP, call!(OP, self.qr.list_callback_qrs().send()))?;
        array(OP, resp, None)?
            .iter()
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
        callback_qr(OP, &to_json(OP, call!(OP, request.send()))?)
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
        let resp = to_json(OP, call!(OP, request.send()))?;
        array(OP, resp, None)?
            .iter()
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
        let resp = to_json(OP, call!(OP, send))?;
        Ok(DraftedAgreement {
            agreement_id: required_str(OP, &resp, "agreementId")?,
            vipps_confirmation_url: required_str(OP, &resp, "vippsConfirmationUrl")?,
        })
    }

    pub async fn fetch_agreement(&self, id: &str) -> Result<LiveAgreement, ApiError> {
        const OP: &str = "fetch_agreement";
        let send = self.recurring.fetch_agreement().agreement_id(id).send();
        agreement(OP, &to_json(OP, call!(OP, send))?)
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
