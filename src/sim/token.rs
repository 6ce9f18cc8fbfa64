//! `POST /accesstoken/get`: an empty body, credentials in headers (either subscription key of
//! the pair), the published response shape with every numeric field as a string, and the
//! lifetime of the environment (`SimConfig::token_ttl`: 1 hour in test, 24 in production).

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
    let token = format!(
        "sim.{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    inner.tokens.insert(
        token.clone(),
        TokenInfo {
            credential: index,
            expires_at,
        },
    );
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
