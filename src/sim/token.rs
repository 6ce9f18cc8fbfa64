//! `POST /accesstoken/get`: an empty body, credentials in headers (either subscription key of
//! the pair), the published response shape with every numeric field as a string, and the
//! lifetime of the environment (`SimConfig::token_ttl`: 1 hour in test, 24 in production).
//!
//! `POST /miami/v1/token` (AT `fetchToken`, API-FACTS 2): `Authorization: Basic
//! base64(client_id:client_secret)`, a form body `grant_type=client_credentials`, no
//! subscription key; for partner keys only, 15 minutes, `TokenResponse`.

use super::core::{Inner, TokenInfo};
use super::wire::{api_error, Reply, Req};
use crate::specs::ops::Api;
use serde_json::json;

pub(crate) fn fetch(inner: &mut Inner, req: &Req) -> Reply {
    let unauthorized = |detail: &str| api_error(Api::AccessToken, 401, detail, &req.path, &[]);
    let (Some(id), Some(secret), Some(key)) = (
        req.header("client_id"),
        req.header("client_secret"),
        req.header("Ocp-Apim-Subscription-Key"),
    ) else {
        return unauthorized(
            "The client_id, client_secret and Ocp-Apim-Subscription-Key headers are required.",
        );
    };
    if !req.body.is_empty() {
        return api_error(
            Api::AccessToken,
            400,
            "The request body must be empty; the credentials go in headers.",
            &req.path,
            &[],
        );
    }
    let Some(index) = inner.config.credentials.iter().position(|c| {
        c.client_id == id && c.client_secret.expose() == secret && c.has_subscription_key(key)
    }) else {
        return unauthorized("Invalid client_id, client_secret or subscription key.");
    };
    let now = inner.now();
    let ttl = chrono::Duration::from_std(inner.config.token_ttl)
        .unwrap_or_else(|_| chrono::Duration::hours(1));
    let expires_at = now + ttl;
    let token = issue(inner, index, ttl, false);
    Reply::typed(
        200,
        "application/json;charset=UTF-8",
        &json!({
            "token_type": "Bearer",
            "expires_in": ttl.num_seconds().to_string(),
            "ext_expires_in": ttl.num_seconds().to_string(),
            "expires_on": expires_at.timestamp().to_string(),
            "not_before": now.timestamp().to_string(),
            "resource": "00000002-0000-0000-c000-000000000000",
            "access_token": token,
        }),
    )
}

pub(crate) fn fetch_management(inner: &mut Inner, req: &Req) -> Reply {
    use base64::Engine as _;
    let refuse =
        |status: u16, detail: &str| api_error(Api::AccessToken, status, detail, &req.path, &[]);
    let Some(basic) = req
        .header("Authorization")
        .and_then(|a| a.strip_prefix("Basic "))
    else {
        return refuse(
            401,
            "The Authorization header must be 'Basic base64(client_id:client_secret)'.",
        );
    };
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(basic.trim())
        .ok()
        .and_then(|b| String::from_utf8(b).ok());
    let Some((id, secret)) = decoded.as_deref().and_then(|d| d.split_once(':')) else {
        return refuse(
            401,
            "The Basic credentials are not base64 of 'client_id:client_secret'.",
        );
    };
    let form = req.header("Content-Type").is_some_and(|t| {
        t.to_ascii_lowercase()
            .starts_with("application/x-www-form-urlencoded")
    });
    let body = String::from_utf8_lossy(&req.body);
    let grant = body
        .split('&')
        .filter_map(|p| p.split_once('='))
        .find(|(k, _)| *k == "grant_type")
        .map(|(_, v)| v);
    if !form || grant != Some("client_credentials") {
        return refuse(
            400,
            "The body must be the form grant_type=client_credentials (application/x-www-form-urlencoded).",
        );
    }
    let Some(index) = inner
        .config
        .credentials
        .iter()
        .position(|c| c.client_id == id && c.client_secret.expose() == secret)
    else {
        return refuse(401, "Invalid client_id or client_secret.");
    };
    if !inner.config.credentials[index].partner {
        return refuse(
            401,
            "These keys are not partner management keys; a sales unit's own keys get their token from /accesstoken/get.",
        );
    }
    let ttl = chrono::Duration::from_std(super::config::MANAGEMENT_TOKEN_TTL)
        .unwrap_or_else(|_| chrono::Duration::minutes(15));
    let token = issue(inner, index, ttl, true);
    Reply::typed(
        200,
        "application/json;charset=UTF-8",
        &json!({
            "token_type": "Bearer",
            "expires_in": ttl.num_seconds().to_string(),
            "access_token": token,
        }),
    )
}

/// A new bearer token for credential `index`, valid for `ttl` on the simulated clock; Management
/// tokens (`/miami/v1/token`) are told apart from the others by their prefix and their record.
fn issue(inner: &mut Inner, index: usize, ttl: chrono::Duration, management: bool) -> String {
    let token = format!(
        "sim.{}{}{}",
        if management { "mgmt." } else { "" },
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    let expires_at = inner.now() + ttl;
    inner.tokens.insert(
        token.clone(),
        TokenInfo {
            credential: index,
            expires_at,
            management,
        },
    );
    token
}
