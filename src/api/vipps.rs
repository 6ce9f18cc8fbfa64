//! TEMPORARY contract stub, replaced by the codegen branch's adapters at merge.
#![allow(unused_variables)]
use super::error::ApiError;
use super::model::*;
use super::Secret;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageFormat {
    Png,
    Svg,
}

pub struct MerchantApi;

fn todo<T>() -> Result<T, ApiError> {
    Err(ApiError::Stub)
}

impl MerchantApi {
    pub async fn list_webhooks(&self) -> Result<Vec<LiveWebhook>, ApiError> {
        todo()
    }
    pub async fn register_webhook(
        &self,
        url: &str,
        events: &[String],
    ) -> Result<(String, Secret), ApiError> {
        todo()
    }
    pub async fn delete_webhook(&self, id: &str) -> Result<(), ApiError> {
        todo()
    }
    pub async fn list_redirect_qrs(&self) -> Result<Vec<LiveRedirectQr>, ApiError> {
        todo()
    }
    pub async fn get_redirect_qr(&self, id: &str) -> Result<LiveRedirectQr, ApiError> {
        todo()
    }
    pub async fn create_redirect_qr(
        &self,
        id: &str,
        redirect_url: &str,
        ttl: Option<u64>,
    ) -> Result<LiveRedirectQr, ApiError> {
        todo()
    }
    pub async fn update_redirect_qr(&self, id: &str, redirect_url: &str) -> Result<(), ApiError> {
        todo()
    }
    pub async fn delete_redirect_qr(&self, id: &str) -> Result<(), ApiError> {
        todo()
    }
    pub async fn list_callback_qrs(&self) -> Result<Vec<LiveCallbackQr>, ApiError> {
        todo()
    }
    pub async fn put_callback_qr(
        &self,
        id: &str,
        location_description: &str,
    ) -> Result<(), ApiError> {
        todo()
    }
    pub async fn delete_callback_qr(&self, id: &str) -> Result<(), ApiError> {
        todo()
    }
    pub async fn list_agreements(
        &self,
        status: Option<AgreementStatus>,
        created_after: Option<i64>,
        page_number: u32,
        page_size: u32,
    ) -> Result<Vec<LiveAgreement>, ApiError> {
        todo()
    }
    pub async fn draft_agreement(
        &self,
        draft: &DraftAgreement,
        idempotency_key: &str,
    ) -> Result<DraftedAgreement, ApiError> {
        todo()
    }
    pub async fn fetch_agreement(&self, id: &str) -> Result<LiveAgreement, ApiError> {
        todo()
    }
    pub async fn update_agreement(
        &self,
        id: &str,
        patch: &AgreementPatch,
        idempotency_key: &str,
    ) -> Result<(), ApiError> {
        todo()
    }
    pub async fn stop_agreement(&self, id: &str, idempotency_key: &str) -> Result<(), ApiError> {
        todo()
    }
}
