//! Validate HTTP traffic against the **published** Vipps OpenAPI specs in `shared/upstream-openapi/`:
//! status code, content type and body schema of a response; the body schema of a request.
//!
//! OpenAPI 3.0 schemas are turned into JSON Schema 2020-12 first: local `$ref`s inlined,
//! `nullable` as a null alternative, the boolean `exclusiveMinimum/Maximum` dropped, and a
//! `oneOf` whose variants all carry a `type` property selected by that `type` (the discriminator's
//! intent; see `select_by_type`). Reusable: the lead can run the generated clients' requests
//! through `Conformance::request_body`.

use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::path::PathBuf;
use vippsctl::specs::ops::{self, Api};

/// What kind of disagreement with the published spec an allow-list entry covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviationKind {
    /// The spec does not list this status for the operation.
    UndeclaredStatus,
    /// The spec lists the status without content, but the API sends a body.
    UndocumentedBody,
    /// The spec lists content for the status, but no body is sent.
    MissingBody,
    /// The response schema's `required` names this property, which it no longer defines.
    RequiredButUndefined(&'static str),
}

#[derive(Debug)]
pub struct Deviation {
    /// Stable operation names (`specs::ops`).
    pub ops: &'static [&'static str],
    pub status: u16,
    pub kind: DeviationKind,
    pub why: &'static str,
}

const WEBHOOK_OPS: &[&str] = &["list_webhooks", "register_webhook", "delete_webhook"];
const QR_OPS: &[&str] = &[
    "list_redirect_qrs",
    "create_redirect_qr",
    "get_redirect_qr",
    "update_redirect_qr",
    "delete_redirect_qr",
    "list_callback_qrs",
    "get_callback_qr",
    "put_callback_qr",
    "delete_callback_qr",
];
const RECURRING_OPS: &[&str] = &[
    "list_agreements",
    "draft_agreement",
    "fetch_agreement",
    "update_agreement",
    "accept_agreement",
];

const ORDER_MANAGEMENT_OPS: &[&str] = &[
    "put_order_category",
    "add_order_lines",
    "get_order",
    "create_category",
    "list_categories",
    "get_category",
    "delete_category",
];

const CHARGE_OPS: &[&str] = &[
    "list_charges",
    "create_charge",
    "fetch_charge",
    "cancel_charge",
    "capture_charge",
    "refund_charge",
    "fetch_charge_by_id",
];

/// Where a published *schema* is wrong about what the API sends: each entry changes one keyword
/// of the published document before it is used, with the reason. Like [`DEVIATIONS`], nothing
/// else is tolerated.
pub struct SchemaDeviation {
    pub api: Api,
    /// JSON pointer into the published document.
    pub pointer: &'static str,
    /// What to put there (`None`: remove the keyword).
    pub value: Option<&'static str>,
    pub why: &'static str,
}

pub const SCHEMA_DEVIATIONS: &[SchemaDeviation] = &[
    SchemaDeviation {
        api: Api::Recurring,
        pointer: "/components/schemas/ChargeResponseV3/properties/transactionId/nullable",
        value: Some("true"),
        why: "its own description: \"Contains null until the status has reached DUE\" (API-FACTS traps)",
    },
    SchemaDeviation {
        api: Api::Recurring,
        pointer: "/components/schemas/ChargeResponseV3/properties/externalId/nullable",
        value: Some("true"),
        why: "required in the response but optional at create: a charge created without one has none (API-FACTS traps)",
    },
    SchemaDeviation {
        api: Api::Recurring,
        pointer: "/components/schemas/ChargeResponseV3/properties/id/maxLength",
        value: None,
        why: "the create's orderId (up to 64 characters) becomes the charge id, which the response limits to 15 (API-FACTS 8)",
    },
    SchemaDeviation {
        api: Api::Recurring,
        pointer: "/components/schemas/ChargeReference/properties/chargeId/maxLength",
        value: None,
        why: "the same orderId-as-chargeId, in the create's answer",
    },
];

fn apply_schema_deviations(api: Api, spec: &mut Value) {
    for d in SCHEMA_DEVIATIONS.iter().filter(|d| d.api == api) {
        let (parent, key) = d.pointer.rsplit_once('/').unwrap_or(("", d.pointer));
        let Some(Value::Object(obj)) = spec.pointer_mut(parent) else {
            panic!(
                "schema deviation {}: {parent} is not in the published spec",
                d.pointer
            );
        };
        match d.value {
            Some(v) => {
                obj.insert(
                    key.to_string(),
                    serde_json::from_str(v).unwrap_or(Value::Null),
                );
            }
            None => {
                assert!(
                    obj.remove(key).is_some(),
                    "schema deviation {}: nothing to remove",
                    d.pointer
                );
            }
        }
    }
}

const EPAYMENT_OPS: &[&str] = &[
    "create_payment",
    "get_payment",
    "get_payment_events",
    "capture_payment",
    "refund_payment",
    "cancel_payment",
    "force_approve_payment",
];

/// THE allow-list: every place where we (and the simulator) knowingly disagree with a published
/// spec, because the spec is wrong or silent about what the real API does. Nothing else is
/// tolerated.
pub const DEVIATIONS: &[Deviation] = &[
    // Authentication failures come from the API gateway (Azure APIM) in front of every API, in its
    // own JSON shape (documented only as Recurring's `ErrorFromAzure`).
    Deviation {
        ops: WEBHOOK_OPS,
        status: 401,
        kind: DeviationKind::UndeclaredStatus,
        why: "the webhooks spec documents no 401 (API-FACTS, validator notes)",
    },
    Deviation {
        ops: RECURRING_OPS,
        status: 401,
        kind: DeviationKind::UndeclaredStatus,
        why: "recurring defines ErrorFromAzure but attaches no 401 to the agreement operations",
    },
    Deviation {
        ops: QR_OPS,
        status: 401,
        kind: DeviationKind::UndocumentedBody,
        why: "QR declares 401 description-only; the gateway still sends its JSON error",
    },
    Deviation {
        ops: &["fetch_access_token", "fetch_management_token"],
        status: 401,
        kind: DeviationKind::UndocumentedBody,
        why: "the token spec declares 401 without content; Azure AD answers with an OAuth error body",
    },
    // Documented rate limits (RECG "Rate limiting") answer 429, which the spec does not list.
    Deviation {
        ops: &["list_agreements", "update_agreement", "fetch_agreement", "draft_agreement"],
        status: 429,
        kind: DeviationKind::UndeclaredStatus,
        why: "the recurring guide documents 429 + Retry-After; the spec lists no 429",
    },
    Deviation {
        ops: &["list_agreements"],
        status: 400,
        kind: DeviationKind::UndeclaredStatus,
        why: "ListAgreementsV3 declares only 200, yet its status/pageSize parameters have constraints",
    },
    Deviation {
        ops: &["list_redirect_qrs", "get_redirect_qr"],
        status: 400,
        kind: DeviationKind::UndeclaredStatus,
        why: "Accept is a required header of these reads, yet the spec lists no error for them",
    },
    Deviation {
        ops: &["fetch_access_token", "fetch_management_token"],
        status: 400,
        kind: DeviationKind::UndocumentedBody,
        why: "the token spec declares 400 without content; Azure AD answers with an OAuth error body",
    },
    Deviation {
        ops: &["list_sales_units", "get_sales_unit", "list_merchant_sales_units"],
        status: 401,
        kind: DeviationKind::UndeclaredStatus,
        why: "authentication fails at the API gateway, in its JSON shape, not Management's problem+json default",
    },
    Deviation {
        ops: &["delete_webhook"],
        status: 404,
        kind: DeviationKind::UndeclaredStatus,
        why: "deleting an unknown webhook id; the spec lists only 204 and 400",
    },
    Deviation {
        ops: EPAYMENT_OPS,
        status: 401,
        kind: DeviationKind::UndeclaredStatus,
        why: "ePayment documents no 401; authentication fails at the API gateway, in its JSON shape",
    },
    Deviation {
        ops: &["get_payment", "get_payment_events", "force_approve_payment"],
        status: 404,
        kind: DeviationKind::UndeclaredStatus,
        why: "these declare only 200, yet they name a payment by reference, which may not exist",
    },
    Deviation {
        ops: &["get_payment", "get_payment_events", "force_approve_payment"],
        status: 400,
        kind: DeviationKind::UndeclaredStatus,
        why: "these declare only 200, yet the Reference path parameter has a pattern (and force approve a body)",
    },
    Deviation {
        ops: &["force_approve_payment"],
        status: 409,
        kind: DeviationKind::UndeclaredStatus,
        why: "force approve declares only 200; a payment that is not CREATED cannot be approved",
    },
    Deviation {
        ops: &["get_payment", "get_payment_events", "capture_payment", "refund_payment", "cancel_payment"],
        status: 429,
        kind: DeviationKind::UndeclaredStatus,
        why: "the ePayment guide documents per-reference rate limits; the spec lists no 429",
    },
    Deviation {
        ops: &["get_payment_events"],
        status: 200,
        kind: DeviationKind::RequiredButUndefined("paymentAction"),
        why: "PaymentEvent still requires paymentAction, which 1.2.0 removed in favour of name (SOURCES.md)",
    },
    Deviation {
        ops: ORDER_MANAGEMENT_OPS,
        status: 401,
        kind: DeviationKind::UndocumentedBody,
        why: "Order Management declares 401 description-only; the gateway still sends its JSON error",
    },
    Deviation {
        ops: &["upload_image"],
        status: 401,
        kind: DeviationKind::UndeclaredStatus,
        why: "the image upload declares only 200; authentication fails at the gateway all the same",
    },
    Deviation {
        ops: &["upload_image"],
        status: 400,
        kind: DeviationKind::UndeclaredStatus,
        why: "the image upload declares only 200, yet its body has required fields, a pattern and the size and format rules of src",
    },
    Deviation {
        ops: CHARGE_OPS,
        status: 401,
        kind: DeviationKind::UndeclaredStatus,
        why: "recurring attaches no 401 to the charge operations either",
    },
    Deviation {
        ops: CHARGE_OPS,
        status: 429,
        kind: DeviationKind::UndeclaredStatus,
        why: "the charge rate limits (RECG \"Rate limiting\") answer 429; the spec lists none",
    },
    Deviation {
        ops: &["list_charges"],
        status: 400,
        kind: DeviationKind::UndeclaredStatus,
        why: "ListChargesV3 declares 200 and 404, yet its status parameter is an enum and its Continuation-Tokens expire",
    },
    Deviation {
        ops: &["accept_agreement"],
        status: 204,
        kind: DeviationKind::MissingBody,
        why: "the spec gives 204 an application/json body; a 204 cannot carry one",
    },
];

fn allowed(op: &str, status: u16, kind: DeviationKind) -> bool {
    DEVIATIONS
        .iter()
        .any(|d| d.status == status && d.kind == kind && d.ops.contains(&op))
}

/// `$VIPPSCTL_SHARED_DIR`, else `$CARGO_MANIFEST_DIR/../shared`.
pub fn shared_dir() -> Option<PathBuf> {
    let dir = match std::env::var_os("VIPPSCTL_SHARED_DIR") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared"),
    };
    dir.join("upstream-openapi").is_dir().then_some(dir)
}

pub struct Conformance {
    specs: HashMap<Api, Value>,
}

impl Conformance {
    /// `None` (after saying so) when the shared folder is absent.
    pub fn load() -> Option<Self> {
        let Some(dir) = shared_dir() else {
            eprintln!("shared/ not found, skipping (set VIPPSCTL_SHARED_DIR)");
            return None;
        };
        let mut specs = HashMap::new();
        for api in Api::ALL {
            let path = dir
                .join("upstream-openapi")
                .join(api.file_stem())
                .join("latest.yaml");
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
            let yaml: serde_yaml::Value = serde_yaml::from_str(&text)
                .unwrap_or_else(|e| panic!("parsing {}: {e}", path.display()));
            let mut json = serde_json::to_value(yaml)
                .unwrap_or_else(|e| panic!("converting {}: {e}", path.display()));
            apply_schema_deviations(api, &mut json);
            specs.insert(api, json);
        }
        Some(Conformance { specs })
    }

    /// The published operation object for a stable operation name.
    fn operation(&self, name: &str) -> Result<(&Value, &Value), String> {
        self.operation_and_path(name).map(|(spec, o, _)| (spec, o))
    }

    /// The operation with its path item (whose `parameters` apply to it too, as in ePayment).
    fn operation_and_path(&self, name: &str) -> Result<(&Value, &Value, &Value), String> {
        let op = ops::by_name(name)
            .or((name == ops::MANAGEMENT_TOKEN.name).then_some(&ops::MANAGEMENT_TOKEN))
            .ok_or_else(|| format!("unknown operation {name}"))?;
        let spec = &self.specs[&op.api];
        let server = spec["servers"][0]["url"].as_str().unwrap_or("");
        let prefix = server
            .split_once("://")
            .map(|(_, rest)| rest.find('/').map_or("", |i| &rest[i..]))
            .unwrap_or("");
        let path = op.path.strip_prefix(prefix).unwrap_or(op.path);
        let item = &spec["paths"][path];
        let o = &item[op.method.to_lowercase()];
        if o.is_null() {
            return Err(format!(
                "{name}: {} {path} is not in the published spec",
                op.method
            ));
        }
        Ok((spec, o, item))
    }

    /// Check one response. `content_type` as sent; `body` raw.
    pub fn response(
        &self,
        op: &str,
        status: u16,
        content_type: Option<&str>,
        body: &[u8],
    ) -> Result<(), String> {
        let (spec, o) = self.operation(op)?;
        let mut resp = &o["responses"][status.to_string()];
        if resp.is_null() {
            // `default` stands for every status the operation does not list (Management's only
            // error response); an allow-listed status is still exempt from it.
            let default = &o["responses"]["default"];
            return if allowed(op, status, DeviationKind::UndeclaredStatus) {
                Ok(())
            } else if !default.is_null() {
                self.check_response(spec, op, status, default, content_type, body)
            } else {
                Err(format!(
                    "{op}: status {status} is not declared by the published spec"
                ))
            };
        }
        if let Some(r) = resp.get("$ref").and_then(Value::as_str) {
            resp = resolve(spec, r).ok_or_else(|| format!("{op}: unresolved {r}"))?;
        }
        self.check_response(spec, op, status, resp, content_type, body)
    }

    /// Check a response against one response object of the spec.
    fn check_response(
        &self,
        spec: &Value,
        op: &str,
        status: u16,
        resp: &Value,
        content_type: Option<&str>,
        body: &[u8],
    ) -> Result<(), String> {
        let content = resp.get("content").and_then(Value::as_object);
        let content = content.filter(|c| !c.is_empty());
        let Some(content) = content else {
            return if body.is_empty() || allowed(op, status, DeviationKind::UndocumentedBody) {
                Ok(())
            } else {
                Err(format!(
                    "{op} {status}: the spec declares no body, but one was sent: {}",
                    String::from_utf8_lossy(body)
                ))
            };
        };
        if body.is_empty() {
            return if allowed(op, status, DeviationKind::MissingBody) {
                Ok(())
            } else {
                Err(format!(
                    "{op} {status}: the spec declares a body, none was sent"
                ))
            };
        }
        let ct = content_type.ok_or_else(|| format!("{op} {status}: no Content-Type"))?;
        let norm = |s: &str| s.replace(' ', "").to_ascii_lowercase();
        let Some((_, media)) = content.iter().find(|(k, _)| norm(k) == norm(ct)) else {
            return Err(format!(
                "{op} {status}: Content-Type {ct} is not one of {:?}",
                content.keys().collect::<Vec<_>>()
            ));
        };
        let instance: Value = serde_json::from_slice(body)
            .map_err(|e| format!("{op} {status}: body is not JSON: {e}"))?;
        let mut schema = convert(spec, &media["schema"], 0);
        for d in DEVIATIONS {
            if let DeviationKind::RequiredButUndefined(prop) = d.kind {
                if d.status == status && d.ops.contains(&op) {
                    unrequire_undefined(&mut schema, prop);
                }
            }
        }
        validate_converted(&schema, &instance).map_err(|e| format!("{op} {status}: {e}"))
    }

    /// Check a value against a component schema of a published spec (webhook payloads, which
    /// no operation describes).
    pub fn component(&self, api: Api, name: &str, instance: &Value) -> Result<(), String> {
        let spec = &self.specs[&api];
        let schema = &spec["components"]["schemas"][name];
        if schema.is_null() {
            return Err(format!("{api:?}: no component schema {name}"));
        }
        validate(spec, schema, instance).map_err(|e| format!("{name}: {e}"))
    }

    /// Check what Vipps sends to a merchant's callback (`callbacks.<name>` of operation `op`):
    /// the request body, or with `status` the merchant's answer.
    pub fn callback(
        &self,
        op: &str,
        name: &str,
        status: Option<u16>,
        body: &Value,
    ) -> Result<(), String> {
        let (spec, o) = self.operation(op)?;
        let cb = o["callbacks"][name]
            .as_object()
            .and_then(|m| m.values().next())
            .and_then(|item| item.get("post"))
            .ok_or_else(|| format!("{op}: no callback {name}"))?;
        let content = match status {
            None => &cb["requestBody"]["content"],
            Some(s) => {
                let mut r = &cb["responses"][s.to_string()];
                if let Some(x) = r.get("$ref").and_then(Value::as_str) {
                    r = resolve(spec, x).ok_or_else(|| format!("{op}: unresolved {x}"))?;
                }
                &r["content"]
            }
        };
        let media = content
            .as_object()
            .and_then(|c| c.iter().find(|(k, _)| k.starts_with("application/json")))
            .map(|(_, m)| m)
            .ok_or_else(|| format!("{op} callback {name}: no JSON body"))?;
        validate(spec, &media["schema"], body).map_err(|e| format!("{op} callback {name}: {e}"))
    }

    /// Check a request's header and query parameters: every required one present, every
    /// declared one that is present valid against its schema (header names case-insensitive).
    pub fn request_params(
        &self,
        op: &str,
        headers: &[(String, String)],
        query: &[(String, String)],
    ) -> Result<(), String> {
        let (spec, o, item) = self.operation_and_path(op)?;
        let mut problems = Vec::new();
        let params = item["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .chain(o["parameters"].as_array().into_iter().flatten());
        for p in params {
            let p = match p.get("$ref").and_then(Value::as_str) {
                Some(r) => resolve(spec, r).ok_or_else(|| format!("{op}: unresolved {r}"))?,
                None => p,
            };
            let name = p["name"].as_str().unwrap_or_default();
            let place = p["in"].as_str().unwrap_or_default();
            let found = match place {
                "header" => headers
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(name))
                    .map(|(_, v)| v),
                "query" => query.iter().find(|(k, _)| k == name).map(|(_, v)| v),
                _ => continue,
            };
            let Some(value) = found else {
                if p["required"].as_bool() == Some(true) {
                    problems.push(format!("required {place} parameter {name} missing"));
                }
                continue;
            };
            let schema = &p["schema"];
            let kind = schema["type"].as_str().unwrap_or("string");
            let instance = match kind {
                "integer" | "number" | "boolean" => {
                    serde_json::from_str(value).unwrap_or(Value::String(value.clone()))
                }
                _ => Value::String(value.clone()),
            };
            if let Err(e) = validate(spec, schema, &instance) {
                problems.push(format!("{place} parameter {name}: {e}"));
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(format!("{op} request: {}", problems.join("; ")))
        }
    }

    /// Check a request body against the operation's published request schema.
    pub fn request_body(&self, op: &str, body: &Value) -> Result<(), String> {
        let (spec, o) = self.operation(op)?;
        let content = o["requestBody"]["content"]
            .as_object()
            .ok_or_else(|| format!("{op}: the spec declares no request body"))?;
        let media = content
            .iter()
            .find(|(k, _)| k.starts_with("application/json"))
            .map(|(_, m)| m)
            .ok_or_else(|| format!("{op}: no application/json request body"))?;
        validate(spec, &media["schema"], body).map_err(|e| format!("{op} request: {e}"))
    }
}

fn resolve<'a>(spec: &'a Value, r: &str) -> Option<&'a Value> {
    let pointer = r.strip_prefix('#')?;
    spec.pointer(pointer)
}

/// Drop `prop` from every `required` list whose object does not define it (a leftover of a
/// removed field; allow-listed per operation).
fn unrequire_undefined(schema: &mut Value, prop: &str) {
    match schema {
        Value::Object(m) => {
            let defined = m
                .get("properties")
                .and_then(Value::as_object)
                .is_some_and(|p| p.contains_key(prop));
            if !defined {
                if let Some(Value::Array(req)) = m.get_mut("required") {
                    req.retain(|r| r.as_str() != Some(prop));
                }
            }
            m.values_mut().for_each(|v| unrequire_undefined(v, prop));
        }
        Value::Array(a) => a.iter_mut().for_each(|v| unrequire_undefined(v, prop)),
        _ => {}
    }
}

fn validate(spec: &Value, schema: &Value, instance: &Value) -> Result<(), String> {
    validate_converted(&convert(spec, schema, 0), instance)
}

fn validate_converted(converted: &Value, instance: &Value) -> Result<(), String> {
    let validator = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .should_validate_formats(true)
        .build(converted)
        .map_err(|e| format!("schema does not compile: {e}"))?;
    let errors: Vec<String> = validator
        .iter_errors(instance)
        .map(|e| format!("at '{}': {e}", e.instance_path()))
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(format!("{} in {instance}", errors.join("; ")))
    }
}

const DROPPED: &[&str] = &[
    "nullable",
    "discriminator",
    "example",
    "examples",
    "xml",
    "externalDocs",
    "deprecated",
];

/// OpenAPI 3.0 schema -> JSON Schema 2020-12, with every local `$ref` inlined.
pub fn convert(spec: &Value, schema: &Value, depth: usize) -> Value {
    assert!(depth < 64, "schema nesting too deep (a cycle?)");
    let Some(obj) = schema.as_object() else {
        return schema.clone();
    };
    let nullable = obj.get("nullable").and_then(Value::as_bool) == Some(true);
    if let Some(r) = obj.get("$ref").and_then(Value::as_str) {
        let target = resolve(spec, r).unwrap_or_else(|| panic!("unresolved $ref {r}"));
        let inner = convert(spec, target, depth + 1);
        // A `nullable` beside `$ref` is meant as "the referenced schema, or null" (validator notes).
        return if nullable {
            json!({"anyOf": [inner, {"type": "null"}]})
        } else {
            inner
        };
    }
    if let Some(selected) =
        select_by_type(spec, obj, depth).or_else(|| select_by_property(spec, obj, depth))
    {
        return if nullable {
            json!({"anyOf": [selected, {"type": "null"}]})
        } else {
            selected
        };
    }
    let mut out = Map::new();
    for (k, v) in obj {
        if DROPPED.contains(&k.as_str()) || k.starts_with("x-") {
            continue;
        }
        let v = match k.as_str() {
            "exclusiveMinimum" | "exclusiveMaximum" => {
                // 3.0's boolean form: true means the bound in minimum/maximum is exclusive.
                if v.as_bool() == Some(true) {
                    let bound = if k == "exclusiveMinimum" {
                        "minimum"
                    } else {
                        "maximum"
                    };
                    if let Some(b) = obj.get(bound) {
                        out.insert(k.clone(), b.clone());
                    }
                }
                continue;
            }
            "properties" => Value::Object(
                v.as_object()
                    .map(|m| {
                        m.iter()
                            .map(|(p, s)| (p.clone(), convert(spec, s, depth + 1)))
                            .collect()
                    })
                    .unwrap_or_default(),
            ),
            "items" | "not" => convert(spec, v, depth + 1),
            "additionalProperties" if v.is_object() => convert(spec, v, depth + 1),
            "allOf" | "anyOf" | "oneOf" => Value::Array(
                v.as_array()
                    .map(|a| a.iter().map(|s| convert(spec, s, depth + 1)).collect())
                    .unwrap_or_default(),
            ),
            _ => v.clone(),
        };
        out.insert(k.clone(), v);
    }
    let mut out = Value::Object(out);
    if nullable {
        if let Some(t) = out.get("type").cloned() {
            out["type"] = json!([t, "null"]);
            if let Some(Value::Array(e)) = out.get_mut("enum") {
                e.push(Value::Null);
            }
        } else {
            out = json!({"anyOf": [out, {"type": "null"}]});
        }
    }
    out
}

/// A `oneOf` of `$ref`ed object variants that each define their own properties and require none
/// (ePayment's `Customer`: phoneNumber, personalQr or customerToken, "specifying more than one of
/// these will result in an error"). Taken literally every object matches all of them, so a
/// strict `oneOf` rejects every customer; each variant is read as requiring its own properties.
fn select_by_property(spec: &Value, obj: &Map<String, Value>, depth: usize) -> Option<Value> {
    let variants = obj.get("oneOf")?.as_array()?;
    let mut branches = Vec::new();
    for v in variants {
        let target = resolve(spec, v.get("$ref")?.as_str()?)?;
        if target.get("required").is_some() {
            return None;
        }
        let props: Vec<Value> = target
            .get("properties")?
            .as_object()?
            .keys()
            .map(|k| json!(k))
            .collect();
        if props.is_empty() || props.iter().any(|p| p == "type") {
            return None;
        }
        let variant = convert(spec, v, depth + 1);
        branches.push(json!({"allOf": [variant, {"required": props}]}));
    }
    Some(json!({"oneOf": branches}))
}

/// A `oneOf` of `$ref`ed variants that each have a `type` property: recurring's pricing (with a
/// mapping-less discriminator) and campaigns (no discriminator, overlapping `type` enums). A
/// strict `oneOf` rejects valid objects there because several variants match, so pick the variant
/// by `type`: the value `LEGACY` selects `LegacyPricing...`, `PRICE_CAMPAIGN` selects
/// `priceCampaign...` (the variant's name starts with the value's first word).
fn select_by_type(spec: &Value, obj: &Map<String, Value>, depth: usize) -> Option<Value> {
    let variants = obj.get("oneOf")?.as_array()?;
    let mut names = Vec::new();
    let mut values: Vec<String> = Vec::new();
    for v in variants {
        let r = v.get("$ref")?.as_str()?;
        let target = resolve(spec, r)?;
        let mut prop = target.get("properties")?.get("type")?;
        if let Some(pr) = prop.get("$ref").and_then(Value::as_str) {
            prop = resolve(spec, pr)?;
        }
        for e in prop.get("enum")?.as_array()? {
            let e = e.as_str()?.to_string();
            if !values.contains(&e) {
                values.push(e);
            }
        }
        names.push((r.rsplit('/').next()?.to_lowercase(), r));
    }
    let mut branches =
        vec![json!({"required": ["type"], "properties": {"type": {"enum": values}}})];
    for value in &values {
        let word = value.split('_').next().unwrap_or(value).to_lowercase();
        let matching: Vec<&&str> = names
            .iter()
            .filter(|(n, _)| n.starts_with(&word))
            .map(|(_, r)| r)
            .collect();
        let [r] = matching.as_slice() else {
            panic!("oneOf: no single variant for type {value}");
        };
        let variant = convert(spec, &json!({"$ref": r}), depth + 1);
        branches.push(json!({
            "if": {"properties": {"type": {"const": value}}, "required": ["type"]},
            "then": variant,
        }));
    }
    Some(json!({"allOf": branches}))
}
