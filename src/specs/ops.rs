//! The operations vippsctl uses, one row each. This list is the contract between the specs in
//! `openapi/`, `build.rs` (which keeps only these operations and gives them these stable names),
//! the spec surface snapshots and `specs diff`, and the HTTP layer's rate limits.
//!
//! This file is compiled by `build.rs` too (`#[path]`), so it must only use `core`/`std`.

/// One API that vippsctl generates a client for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Api {
    AccessToken,
    Webhooks,
    Qr,
    Recurring,
    /// The Management API (sales units), for partners discovering their merchants.
    Management,
    /// The Order Management API (categories, images, order lines): a merchant integration's API
    /// that vippsctl does not call; generated so the simulator's answers are checked against it.
    OrderManagement,
    /// The ePayment API: not called by vippsctl itself, but served by the simulator for the
    /// payment integrations of merchants (and generated, so their requests are checked too).
    Epayment,
}

impl Api {
    pub const ALL: [Api; 7] = [
        Api::AccessToken,
        Api::Webhooks,
        Api::Qr,
        Api::Recurring,
        Api::Management,
        Api::OrderManagement,
        Api::Epayment,
    ];

    /// The spec's file name in `openapi/` (and in `VIPPSCTL_OPENAPI_DIR`), without `.yaml`.
    pub fn file_stem(self) -> &'static str {
        match self {
            Api::AccessToken => "access-token",
            Api::Webhooks => "webhooks",
            Api::Qr => "qr",
            Api::Recurring => "recurring",
            Api::Management => "management",
            Api::OrderManagement => "order-management",
            Api::Epayment => "epayment",
        }
    }

    /// The Rust module the client is generated into (`crate::api::generated::<module>`).
    pub fn module(self) -> &'static str {
        match self {
            Api::AccessToken => "accesstoken",
            Api::Webhooks => "webhooks",
            Api::Qr => "qr",
            Api::Recurring => "recurring",
            Api::Management => "management",
            Api::OrderManagement => "ordermanagement",
            Api::Epayment => "epayment",
        }
    }
}

/// One operation vippsctl calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Operation {
    pub api: Api,
    /// Upper-case HTTP method.
    pub method: &'static str,
    /// The path as the client sends it, below the host (server path prefixes such as `/qr` and
    /// `/webhooks` folded in).
    pub path: &'static str,
    /// The stable name build.rs gives the operation; generated method names derive from it, so
    /// they do not change when Vipps renames (or omits) an operationId.
    pub name: &'static str,
    /// The operationId in the published spec, where it has one.
    pub published_id: Option<&'static str>,
}

const fn op(
    api: Api,
    method: &'static str,
    path: &'static str,
    name: &'static str,
    published_id: Option<&'static str>,
) -> Operation {
    Operation {
        api,
        method,
        path,
        name,
        published_id,
    }
}

/// Every operation vippsctl uses.
pub const OPERATIONS: &[Operation] = &[
    op(
        Api::AccessToken,
        "POST",
        "/accesstoken/get",
        "fetch_access_token",
        Some("fetchAuthorizationTokenUsingPost"),
    ),
    op(
        Api::Webhooks,
        "GET",
        "/webhooks/v1/webhooks",
        "list_webhooks",
        None,
    ),
    op(
        Api::Webhooks,
        "POST",
        "/webhooks/v1/webhooks",
        "register_webhook",
        None,
    ),
    op(
        Api::Webhooks,
        "DELETE",
        "/webhooks/v1/webhooks/{id}",
        "delete_webhook",
        None,
    ),
    op(
        Api::Qr,
        "GET",
        "/qr/v1/merchant-redirect",
        "list_redirect_qrs",
        Some("GetAllMerchantRedirectQrs"),
    ),
    op(
        Api::Qr,
        "POST",
        "/qr/v1/merchant-redirect",
        "create_redirect_qr",
        Some("CreateMerchantRedirectQr"),
    ),
    op(
        Api::Qr,
        "GET",
        "/qr/v1/merchant-redirect/{id}",
        "get_redirect_qr",
        Some("GetMerchantRedirectQrById"),
    ),
    op(
        Api::Qr,
        "PUT",
        "/qr/v1/merchant-redirect/{id}",
        "update_redirect_qr",
        Some("UpdateMerchantRedirectUrl"),
    ),
    op(
        Api::Qr,
        "DELETE",
        "/qr/v1/merchant-redirect/{id}",
        "delete_redirect_qr",
        Some("DeleteMerchantRedirectQr"),
    ),
    op(
        Api::Qr,
        "GET",
        "/qr/v1/merchant-callback",
        "list_callback_qrs",
        Some("GetMerchantCallbackQrs"),
    ),
    op(
        Api::Qr,
        "GET",
        "/qr/v1/merchant-callback/{merchantQrId}",
        "get_callback_qr",
        Some("GetMerchantCallbackById"),
    ),
    op(
        Api::Qr,
        "PUT",
        "/qr/v1/merchant-callback/{merchantQrId}",
        "put_callback_qr",
        Some("PutMerchantCallbackQr"),
    ),
    op(
        Api::Qr,
        "DELETE",
        "/qr/v1/merchant-callback/{merchantQrId}",
        "delete_callback_qr",
        Some("DeleteMerchantCallbackQr"),
    ),
    op(
        Api::Recurring,
        "GET",
        "/recurring/v3/agreements",
        "list_agreements",
        Some("ListAgreementsV3"),
    ),
    op(
        Api::Recurring,
        "POST",
        "/recurring/v3/agreements",
        "draft_agreement",
        Some("DraftAgreementV3"),
    ),
    op(
        Api::Recurring,
        "GET",
        "/recurring/v3/agreements/{agreementId}",
        "fetch_agreement",
        Some("FetchAgreementV3"),
    ),
    op(
        Api::Recurring,
        "PATCH",
        "/recurring/v3/agreements/{agreementId}",
        "update_agreement",
        Some("UpdateAgreementPatchV3"),
    ),
    op(
        Api::Recurring,
        "PATCH",
        "/recurring/v3/agreements/{agreementId}/accept",
        "accept_agreement",
        Some("acceptUsingPATCHV3"),
    ),
    // Charges: vippsctl does not call them (they are operational); the simulator serves them.
    op(
        Api::Recurring,
        "GET",
        "/recurring/v3/agreements/{agreementId}/charges",
        "list_charges",
        Some("ListChargesV3"),
    ),
    op(
        Api::Recurring,
        "POST",
        "/recurring/v3/agreements/{agreementId}/charges",
        "create_charge",
        Some("CreateChargeV3"),
    ),
    op(
        Api::Recurring,
        "GET",
        "/recurring/v3/agreements/{agreementId}/charges/{chargeId}",
        "fetch_charge",
        Some("FetchChargeV3"),
    ),
    op(
        Api::Recurring,
        "DELETE",
        "/recurring/v3/agreements/{agreementId}/charges/{chargeId}",
        "cancel_charge",
        Some("CancelChargeV3"),
    ),
    op(
        Api::Recurring,
        "POST",
        "/recurring/v3/agreements/{agreementId}/charges/{chargeId}/capture",
        "capture_charge",
        Some("CaptureChargeV3"),
    ),
    op(
        Api::Recurring,
        "POST",
        "/recurring/v3/agreements/{agreementId}/charges/{chargeId}/refund",
        "refund_charge",
        Some("RefundChargeV3"),
    ),
    op(
        Api::Recurring,
        "GET",
        "/recurring/v3/charges/{chargeId}",
        "fetch_charge_by_id",
        Some("FetchChargeByIdV3"),
    ),
    // Management 1.1.6: only the operations that are not marked "Idea/proposal".
    op(
        Api::Management,
        "GET",
        "/management/v1/sales-units",
        "list_sales_units",
        Some("getAllSalesUnits"),
    ),
    op(
        Api::Management,
        "GET",
        "/management/v1/sales-units/{msn}",
        "get_sales_unit",
        Some("getMsn"),
    ),
    op(
        Api::Management,
        "GET",
        "/management/v1/merchants/{scheme}/{id}/sales-units",
        "list_merchant_sales_units",
        Some("getMerchantSalesUnits"),
    ),
    // Order Management 2.1: the operations that are not deprecated (the v1 transactionId ones are).
    op(
        Api::OrderManagement,
        "POST",
        "/order-management/v1/images",
        "upload_image",
        Some("post-image"),
    ),
    op(
        Api::OrderManagement,
        "PUT",
        "/order-management/v2/{paymentType}/categories/{orderId}",
        "put_order_category",
        Some("put-category-v2"),
    ),
    op(
        Api::OrderManagement,
        "POST",
        "/order-management/v2/{paymentType}/receipts/{orderId}",
        "add_order_lines",
        Some("post-receipt-v2"),
    ),
    op(
        Api::OrderManagement,
        "GET",
        "/order-management/v2/{paymentType}/{orderId}",
        "get_order",
        Some("get-order-v2"),
    ),
    op(
        Api::OrderManagement,
        "POST",
        "/order-management/v3/categories",
        "create_category",
        Some("post-category-v3"),
    ),
    op(
        Api::OrderManagement,
        "GET",
        "/order-management/v3/categories",
        "list_categories",
        Some("get-categories-v3"),
    ),
    op(
        Api::OrderManagement,
        "GET",
        "/order-management/v3/categories/{categoryId}",
        "get_category",
        Some("get-category-v3"),
    ),
    op(
        Api::OrderManagement,
        "DELETE",
        "/order-management/v3/categories/{categoryId}",
        "delete_category",
        Some("delete-category-v3"),
    ),
    // ePayment 1.8.1: what a merchant's payment integration calls. The merchant-side dynamic
    // shipping callback is not here: Vipps calls it, the simulator sends it (sim::epayment).
    op(
        Api::Epayment,
        "POST",
        "/epayment/v1/payments",
        "create_payment",
        Some("createPayment"),
    ),
    op(
        Api::Epayment,
        "GET",
        "/epayment/v1/payments/{Reference}",
        "get_payment",
        Some("getPayment"),
    ),
    op(
        Api::Epayment,
        "GET",
        "/epayment/v1/payments/{Reference}/events",
        "get_payment_events",
        Some("getPaymentEventLog"),
    ),
    op(
        Api::Epayment,
        "POST",
        "/epayment/v1/payments/{Reference}/capture",
        "capture_payment",
        Some("capturePayment"),
    ),
    op(
        Api::Epayment,
        "POST",
        "/epayment/v1/payments/{Reference}/refund",
        "refund_payment",
        Some("refundPayment"),
    ),
    op(
        Api::Epayment,
        "POST",
        "/epayment/v1/payments/{Reference}/cancel",
        "cancel_payment",
        Some("cancelPayment"),
    ),
    op(
        Api::Epayment,
        "POST",
        "/epayment/v1/test/payments/{Reference}/approve",
        "force_approve_payment",
        Some("forceApprove"),
    ),
];

/// `POST /miami/v1/token`: the token partner management keys get for the Management API
/// (API-FACTS 2). Like `/accesstoken/get` it is sent by the HTTP layer itself, never through a
/// generated client; unlike it, it is not in [`OPERATIONS`], because the published access-token
/// versions `.ci/published-specs.sh` builds from do not all have it (it came in 2023-11).
pub const MANAGEMENT_TOKEN: Operation = op(
    Api::AccessToken,
    "POST",
    "/miami/v1/token",
    "fetch_management_token",
    Some("fetchToken"),
);

/// The operations of one API.
pub fn operations(api: Api) -> impl Iterator<Item = &'static Operation> {
    OPERATIONS.iter().filter(move |o| o.api == api)
}

/// Look an operation up by its stable name.
pub fn by_name(name: &str) -> Option<&'static Operation> {
    OPERATIONS.iter().find(|o| o.name == name)
}

/// An operation whose JSON success body vippsctl decodes into its own type: build.rs points the
/// body at the component `Vippsctl<wire_type>` (`normalize::wire_responses`) and has progenitor
/// use `crate::api::vipps::wire::<wire_type>` for it, so the generated client decodes the bytes
/// once, straight into what the adapters read, whatever the published spec names its types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WireResponse {
    /// The stable operation name ([`Operation::name`]).
    pub operation: &'static str,
    /// The type in `crate::api::vipps::wire`.
    pub wire_type: &'static str,
    /// The body is a JSON array of `wire_type`.
    pub list: bool,
}

const fn wire(operation: &'static str, wire_type: &'static str, list: bool) -> WireResponse {
    WireResponse {
        operation,
        wire_type,
        list,
    }
}

/// Every operation whose success body the adapters read. Writes whose answer vippsctl ignores
/// (`update_redirect_qr`, `put_callback_qr`) keep the generated type.
pub const WIRE_RESPONSES: &[WireResponse] = &[
    wire("list_webhooks", "WebhookList", false),
    wire("register_webhook", "RegisteredWebhook", false),
    wire("list_redirect_qrs", "RedirectQr", true),
    wire("get_redirect_qr", "RedirectQr", false),
    wire("create_redirect_qr", "RedirectQr", false),
    wire("list_callback_qrs", "CallbackQr", true),
    wire("get_callback_qr", "CallbackQr", false),
    wire("list_agreements", "Agreement", true),
    wire("fetch_agreement", "Agreement", false),
    wire("draft_agreement", "DraftedAgreement", false),
    wire("list_sales_units", "SalesUnitInfo", true),
    wire("list_merchant_sales_units", "SalesUnitInfo", true),
    wire("get_sales_unit", "SalesUnit", false),
];

/// The wire responses of one API's operations.
pub fn wire_responses(api: Api) -> impl Iterator<Item = &'static WireResponse> {
    WIRE_RESPONSES
        .iter()
        .filter(move |w| by_name(w.operation).is_some_and(|o| o.api == api))
}
