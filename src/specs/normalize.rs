//! The spec passes that turn a published (or our own) OpenAPI document into one progenitor can
//! generate a usable client from. Every pass is a general transformation of the parsed document,
//! never a text edit for one spec, and returns one line per change so spec drift stays visible.
//!
//! This file is compiled twice: as `crate::specs::normalize` and by `build.rs` through `#[path]`.
//! It may therefore use only std, serde_yaml, serde_json, openapiv3 and indexmap.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use openapiv3::{
    MediaType, OpenAPI, Operation, Parameter, PathItem, ReferenceOr, Response, Responses,
    StatusCode,
};
use serde_json::Value;

/// One operation to keep: matched by method and (server-folded) path, renamed to `name`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wanted<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub name: &'a str,
}

#[derive(Debug)]
pub enum NormalizeError {
    /// The text is not an OpenAPI 3.0 document openapiv3 understands.
    Parse(String),
    /// The spec lacks an operation vippsctl needs.
    MissingOperation {
        spec: String,
        method: String,
        path: String,
        name: String,
    },
    /// A pass met a document it cannot transform (e.g. a broken `$ref`).
    Invalid(String),
}

impl fmt::Display for NormalizeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NormalizeError::Parse(m) => write!(f, "not an OpenAPI 3.0 document: {m}"),
            NormalizeError::MissingOperation {
                spec,
                method,
                path,
                name,
            } => write!(
                f,
                "{spec}: lacks the operation {method} {path} that vippsctl needs (as `{name}`)"
            ),
            NormalizeError::Invalid(m) => write!(f, "{m}"),
        }
    }
}

impl std::error::Error for NormalizeError {}

/// The normalised document and what every pass changed.
#[derive(Debug, Clone)]
pub struct Normalized {
    pub doc: OpenAPI,
    pub notes: Vec<String>,
}

/// Parse YAML (or JSON) text into an OpenAPI 3.0 document.
pub fn parse(text: &str) -> Result<OpenAPI, NormalizeError> {
    let doc: OpenAPI =
        serde_yaml::from_str(text).map_err(|e| NormalizeError::Parse(e.to_string()))?;
    if !doc.openapi.starts_with("3.0") {
        return Err(NormalizeError::Parse(format!(
            "OpenAPI version {} (only 3.0.x is supported)",
            doc.openapi
        )));
    }
    Ok(doc)
}

/// Run every pass in order. `spec` names the document in errors and notes.
pub fn normalize(spec: &str, text: &str, wanted: &[Wanted]) -> Result<Normalized, NormalizeError> {
    let mut doc = parse(text)?;
    let mut notes = Vec::new();
    notes.extend(drop_component_titles(&mut doc));
    notes.extend(non_null_component_enums(&mut doc));
    notes.extend(drop_closed_objects(&mut doc)?);
    notes.extend(fold_servers_notes(&mut doc));
    notes.extend(restrict(&mut doc, spec, wanted)?);
    notes.extend(drop_injected_headers(&mut doc));
    notes.extend(json_media(&mut doc));
    notes.extend(unify_responses(&mut doc));
    notes.extend(pin_discriminators(&mut doc)?);
    notes.extend(relax_responses(&mut doc)?);
    notes.extend(prune(&mut doc)?);
    Ok(Normalized { doc, notes })
}

// ---------------------------------------------------------------------------------------------
// servers

/// Move the first server's path (`/qr`, `/webhooks`) into every path, so that one base URL (the
/// bare host) serves every generated client.
pub fn fold_servers(doc: &mut OpenAPI) {
    fold_servers_notes(doc);
}

fn fold_servers_notes(doc: &mut OpenAPI) -> Vec<String> {
    let Some(first) = doc.servers.first() else {
        return Vec::new();
    };
    let prefix = server_path(&first.url).trim_end_matches('/').to_string();
    if prefix.is_empty() {
        return Vec::new();
    }
    for server in &mut doc.servers {
        let path = server_path(&server.url).to_string();
        if let Some(host) = server.url.strip_suffix(path.as_str()) {
            server.url = host.to_string();
        }
    }
    let paths = std::mem::take(&mut doc.paths.paths);
    let n = paths.len();
    for (path, item) in paths {
        doc.paths.paths.insert(format!("{prefix}{path}"), item);
    }
    vec![format!("servers: folded `{prefix}` into {n} paths")]
}

/// The path part of a server URL (`https://host/qr` -> `/qr`, `/qr` -> `/qr`).
/// The path part of a server URL (`https://api.vipps.no/qr` -> `/qr`); shared with the spec surface.
pub fn server_path(url: &str) -> &str {
    match url.find("://") {
        Some(i) => {
            let rest = &url[i + 3..];
            match rest.find('/') {
                Some(j) => &rest[j..],
                None => "",
            }
        }
        None => url,
    }
}

// ---------------------------------------------------------------------------------------------
// restrict to the operations vippsctl uses

/// `{anything}` -> `{}`, so parameter renames between versions do not break matching.
fn path_shape(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut in_param = false;
    for c in path.chars() {
        match c {
            '{' => {
                in_param = true;
                out.push('{');
            }
            '}' => {
                in_param = false;
                out.push('}');
            }
            _ if in_param => {}
            _ => out.push(c),
        }
    }
    out.trim_end_matches('/').to_string()
}

fn operations_mut(item: &mut PathItem) -> [(&'static str, &mut Option<Operation>); 8] {
    [
        ("GET", &mut item.get),
        ("PUT", &mut item.put),
        ("POST", &mut item.post),
        ("DELETE", &mut item.delete),
        ("OPTIONS", &mut item.options),
        ("HEAD", &mut item.head),
        ("PATCH", &mut item.patch),
        ("TRACE", &mut item.trace),
    ]
}

/// Keep only the wanted operations, each renamed to its stable name; fail naming the first one
/// the spec lacks.
pub fn restrict(
    doc: &mut OpenAPI,
    spec: &str,
    wanted: &[Wanted],
) -> Result<Vec<String>, NormalizeError> {
    let mut notes = Vec::new();
    let mut found = vec![false; wanted.len()];
    let mut dropped = 0usize;
    let paths = std::mem::take(&mut doc.paths.paths);
    for (path, item) in paths {
        let ReferenceOr::Item(mut item) = item else {
            dropped += 1;
            continue;
        };
        let shape = path_shape(&path);
        let mut kept = 0;
        for (method, slot) in operations_mut(&mut item) {
            let Some(op) = slot.as_mut() else { continue };
            let hit = wanted
                .iter()
                .position(|w| w.method.eq_ignore_ascii_case(method) && path_shape(w.path) == shape);
            match hit {
                Some(i) if !found[i] => {
                    found[i] = true;
                    let name = wanted[i].name;
                    if op.operation_id.as_deref() != Some(name) {
                        notes.push(format!(
                            "restrict: {method} {path}: operationId {} -> {name}",
                            op.operation_id.as_deref().unwrap_or("(none)")
                        ));
                    }
                    op.operation_id = Some(name.to_string());
                    kept += 1;
                }
                _ => {
                    *slot = None;
                    dropped += 1;
                }
            }
        }
        if kept > 0 {
            doc.paths.paths.insert(path, ReferenceOr::Item(item));
        }
    }
    if let Some(i) = found.iter().position(|f| !f) {
        let w = wanted[i];
        return Err(NormalizeError::MissingOperation {
            spec: spec.to_string(),
            method: w.method.to_string(),
            path: w.path.to_string(),
            name: w.name.to_string(),
        });
    }
    if dropped > 0 {
        notes.push(format!(
            "restrict: dropped {dropped} operations vippsctl does not use"
        ));
    }
    Ok(notes)
}

// ---------------------------------------------------------------------------------------------
// headers the HTTP layer injects

fn is_injected_header(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    matches!(
        n.as_str(),
        "authorization" | "ocp-apim-subscription-key" | "merchant-serial-number" | "content-type"
    ) || n.starts_with("vipps-system-")
}

fn param_name_and_place(doc: &OpenAPI, p: &ReferenceOr<Parameter>) -> Option<(String, bool)> {
    let param = match p {
        ReferenceOr::Item(p) => p,
        ReferenceOr::Reference { reference } => {
            let name = reference.strip_prefix("#/components/parameters/")?;
            match doc.components.as_ref()?.parameters.get(name)? {
                ReferenceOr::Item(p) => p,
                ReferenceOr::Reference { .. } => return None,
            }
        }
    };
    let header = matches!(param, Parameter::Header { .. });
    Some((param.parameter_data_ref().name.clone(), header))
}

/// Drop the header parameters that `Transport` sets on every request; a generated method would
/// otherwise ask for the token, key and MSN on every call.
pub fn drop_injected_headers(doc: &mut OpenAPI) -> Vec<String> {
    let mut dropped: BTreeMap<String, usize> = BTreeMap::new();
    let snapshot = doc.clone();
    let mut filter = |params: &mut Vec<ReferenceOr<Parameter>>| {
        params.retain(|p| match param_name_and_place(&snapshot, p) {
            Some((name, true)) if is_injected_header(&name) => {
                *dropped.entry(name).or_default() += 1;
                false
            }
            _ => true,
        });
    };
    for item in doc.paths.paths.values_mut() {
        if let ReferenceOr::Item(item) = item {
            filter(&mut item.parameters);
            for (_, op) in operations_mut(item) {
                if let Some(op) = op {
                    filter(&mut op.parameters);
                }
            }
        }
    }
    dropped
        .into_iter()
        .map(|(name, n)| {
            format!("headers: dropped `{name}` from {n} places (the HTTP layer sets it)")
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// media types

/// problem+json and `application/json;charset=...` become `application/json`, which is the only
/// media type progenitor decodes into a typed body.
fn json_media_map(
    content: &mut indexmap::IndexMap<String, MediaType>,
    at: &str,
    notes: &mut Vec<String>,
) {
    let keys: Vec<String> = content.keys().cloned().collect();
    for key in keys {
        let lower = key.to_ascii_lowercase();
        let base = lower.split(';').next().unwrap_or("").trim().to_string();
        let jsonish = base == "application/json" || base == "application/problem+json";
        if !jsonish || key == "application/json" {
            continue;
        }
        if let Some(media) = content.shift_remove(&key) {
            if content.contains_key("application/json") {
                notes.push(format!(
                    "media: {at}: dropped `{key}` (already has application/json)"
                ));
            } else {
                content.insert("application/json".to_string(), media);
                notes.push(format!("media: {at}: `{key}` -> application/json"));
            }
        }
    }
}

pub fn json_media(doc: &mut OpenAPI) -> Vec<String> {
    let mut notes = Vec::new();
    for (path, item) in doc.paths.paths.iter_mut() {
        let ReferenceOr::Item(item) = item else {
            continue;
        };
        for (method, op) in operations_mut(item) {
            let Some(op) = op else { continue };
            let at = format!("{method} {path}");
            if let Some(ReferenceOr::Item(body)) = op.request_body.as_mut() {
                json_media_map(&mut body.content, &at, &mut notes);
            }
            for_each_response(&mut op.responses, |code, r| {
                if let ReferenceOr::Item(r) = r {
                    json_media_map(&mut r.content, &format!("{at} {code}"), &mut notes);
                }
            });
        }
    }
    if let Some(c) = doc.components.as_mut() {
        for (name, r) in c.responses.iter_mut() {
            if let ReferenceOr::Item(r) = r {
                json_media_map(&mut r.content, &format!("response {name}"), &mut notes);
            }
        }
        for (name, b) in c.request_bodies.iter_mut() {
            if let ReferenceOr::Item(b) = b {
                json_media_map(&mut b.content, &format!("request body {name}"), &mut notes);
            }
        }
    }
    notes
}

fn code_label(code: &StatusCode) -> String {
    match code {
        StatusCode::Code(c) => c.to_string(),
        StatusCode::Range(r) => format!("{r}XX"),
    }
}

fn for_each_response(
    responses: &mut Responses,
    mut f: impl FnMut(&str, &mut ReferenceOr<Response>),
) {
    if let Some(d) = responses.default.as_mut() {
        f("default", d);
    }
    for (code, r) in responses.responses.iter_mut() {
        f(&code_label(code), r);
    }
}

// ---------------------------------------------------------------------------------------------
// responses: one success kind and one error kind per operation

fn resolve_response(doc: &OpenAPI, r: &ReferenceOr<Response>) -> Option<Response> {
    match r {
        ReferenceOr::Item(r) => Some(r.clone()),
        ReferenceOr::Reference { reference } => {
            let name = reference.strip_prefix("#/components/responses/")?;
            match doc.components.as_ref()?.responses.get(name)? {
                ReferenceOr::Item(r) => Some(r.clone()),
                ReferenceOr::Reference { .. } => None,
            }
        }
    }
}

/// What progenitor makes of a response: no body, a typed JSON body (keyed by its schema), or raw.
fn response_kind(r: &Response) -> String {
    if r.content.is_empty() {
        return "none".to_string();
    }
    match r
        .content
        .get("application/json")
        .and_then(|m| m.schema.as_ref())
    {
        Some(schema) => format!("json:{}", serde_json::to_string(schema).unwrap_or_default()),
        None => "raw".to_string(),
    }
}

fn is_error_code(code: &StatusCode) -> bool {
    match code {
        StatusCode::Code(c) => *c >= 400,
        StatusCode::Range(r) => *r >= 4,
    }
}

fn is_success_code(code: &StatusCode) -> bool {
    match code {
        StatusCode::Code(c) => (200..300).contains(c),
        StatusCode::Range(r) => *r == 2,
    }
}

/// progenitor allows one success and one error type per operation, treats `default` as both, and
/// would try to decode a body declared on a 204. This pass: strips bodies of 204/205/304, turns
/// `default` into 4XX + 5XX when explicit 2xx exist, keeps the most common typed error schema
/// (dropping error codes of another kind, which then surface as unexpected responses with their
/// status), and does the same for success codes when exactly one typed schema exists.
pub fn unify_responses(doc: &mut OpenAPI) -> Vec<String> {
    let mut notes = Vec::new();
    let snapshot = doc.clone();
    for (path, item) in doc.paths.paths.iter_mut() {
        let ReferenceOr::Item(item) = item else {
            continue;
        };
        for (method, op) in operations_mut(item) {
            let Some(op) = op else { continue };
            let at = format!("{method} {path}");
            let responses = &mut op.responses;

            for (code, r) in responses.responses.iter_mut() {
                if matches!(code, StatusCode::Code(204 | 205 | 304)) {
                    if let Some(mut resolved) = resolve_response(&snapshot, r) {
                        if !resolved.content.is_empty() {
                            resolved.content.clear();
                            *r = ReferenceOr::Item(resolved);
                            notes.push(format!(
                                "responses: {at}: dropped the body declared on {}",
                                code_label(code)
                            ));
                        }
                    }
                }
            }

            let has_2xx = responses.responses.keys().any(is_success_code);
            if has_2xx {
                if let Some(default) = responses.default.take() {
                    for range in [4u16, 5] {
                        responses
                            .responses
                            .entry(StatusCode::Range(range))
                            .or_insert_with(|| default.clone());
                    }
                    notes.push(format!("responses: {at}: default -> 4XX + 5XX"));
                }
            }

            let kinds: Vec<(StatusCode, String)> = responses
                .responses
                .iter()
                .filter_map(|(c, r)| {
                    resolve_response(&snapshot, r).map(|r| (c.clone(), response_kind(&r)))
                })
                .collect();
            for (label, pick) in [
                ("error", is_error_code as fn(&StatusCode) -> bool),
                ("success", is_success_code),
            ] {
                let group: Vec<&(StatusCode, String)> =
                    kinds.iter().filter(|(c, _)| pick(c)).collect();
                let distinct: BTreeSet<&String> = group.iter().map(|(_, k)| k).collect();
                if distinct.len() <= 1 {
                    continue;
                }
                let typed: Vec<&String> = group
                    .iter()
                    .map(|(_, k)| k)
                    .filter(|k| k.starts_with("json:"))
                    .collect();
                let keep = if label == "success" {
                    let typed_set: BTreeSet<&String> = typed.iter().copied().collect();
                    if typed_set.len() != 1 {
                        notes.push(format!("responses: {at}: several success kinds left alone"));
                        continue;
                    }
                    typed[0].clone()
                } else {
                    let pool = if typed.is_empty() {
                        group.iter().map(|(_, k)| k).collect::<Vec<_>>()
                    } else {
                        typed
                    };
                    most_common(&pool)
                };
                for (code, kind) in &group {
                    if *kind != keep {
                        responses.responses.shift_remove(code);
                        notes.push(format!(
                            "responses: {at}: dropped {} {} (another {label} kind than the rest)",
                            code_label(code),
                            kind.split(':').next().unwrap_or("")
                        ));
                    }
                }
            }
        }
    }
    notes
}

fn most_common(pool: &[&String]) -> String {
    let mut best: Option<(&String, usize)> = None;
    for k in pool {
        let n = pool.iter().filter(|x| *x == k).count();
        if best.is_none_or(|(_, bn)| n > bn) {
            best = Some((k, n));
        }
    }
    best.map(|(k, _)| k.clone()).unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------
// schema passes

/// typify names a nullable enum and its `Option` wrapper both after the title (E0428).
pub fn drop_component_titles(doc: &mut OpenAPI) -> Vec<String> {
    let mut n = 0;
    if let Some(c) = doc.components.as_mut() {
        for s in c.schemas.values_mut() {
            if let ReferenceOr::Item(s) = s {
                if s.schema_data.title.take().is_some() {
                    n += 1;
                }
            }
        }
    }
    if n == 0 {
        Vec::new()
    } else {
        vec![format!(
            "titles: dropped the title of {n} component schemas"
        )]
    }
}

/// A component enum with `nullable: true` at its root becomes `struct X(Option<X>)` in typify: a
/// recursive type of infinite size that does not compile (order-management's `CategoryEnum`,
/// `CurrencyEnum`, ...). Such an enum is made non-nullable; where it is referenced from an
/// optional field, that field is still an `Option`.
pub fn non_null_component_enums(doc: &mut OpenAPI) -> Vec<String> {
    let mut names = Vec::new();
    if let Some(c) = doc.components.as_mut() {
        for (name, s) in c.schemas.iter_mut() {
            if let ReferenceOr::Item(s) = s {
                let is_enum = match &s.schema_kind {
                    openapiv3::SchemaKind::Type(openapiv3::Type::String(t)) => {
                        !t.enumeration.is_empty()
                    }
                    openapiv3::SchemaKind::Type(openapiv3::Type::Integer(t)) => {
                        !t.enumeration.is_empty()
                    }
                    _ => false,
                };
                if is_enum && s.schema_data.nullable {
                    s.schema_data.nullable = false;
                    names.push(name.clone());
                }
            }
        }
    }
    if names.is_empty() {
        Vec::new()
    } else {
        vec![format!(
            "nullable: made {} component enums non-nullable: {}",
            names.len(),
            names.join(", ")
        )]
    }
}

fn to_value(doc: &OpenAPI) -> Result<Value, NormalizeError> {
    serde_json::to_value(doc)
        .map_err(|e| NormalizeError::Invalid(format!("cannot serialise the document: {e}")))
}

fn from_value(v: Value) -> Result<OpenAPI, NormalizeError> {
    serde_json::from_value(v)
        .map_err(|e| NormalizeError::Invalid(format!("a pass produced an invalid document: {e}")))
}

const NOT_SCHEMA_KEYS: [&str; 3] = ["example", "examples", "x-examples"];

fn walk_schemas(v: &mut Value, f: &mut dyn FnMut(&mut serde_json::Map<String, Value>)) {
    match v {
        Value::Object(map) => {
            f(map);
            for (k, child) in map.iter_mut() {
                if !NOT_SCHEMA_KEYS.contains(&k.as_str()) {
                    walk_schemas(child, f);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|c| walk_schemas(c, f)),
        _ => {}
    }
}

/// `additionalProperties: false` becomes `deny_unknown_fields`, so any field Vipps adds later
/// would break decoding.
pub fn drop_closed_objects(doc: &mut OpenAPI) -> Result<Vec<String>, NormalizeError> {
    let mut v = to_value(doc)?;
    let mut n = 0;
    walk_schemas(&mut v, &mut |m| {
        if m.get("additionalProperties") == Some(&Value::Bool(false)) {
            m.remove("additionalProperties");
            n += 1;
        }
    });
    if n == 0 {
        return Ok(Vec::new());
    }
    *doc = from_value(v)?;
    Ok(vec![format!(
        "open: dropped `additionalProperties: false` from {n} schemas"
    )])
}

fn collect_refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                if k == "$ref" {
                    if let Value::String(s) = child {
                        out.push(s.clone());
                    }
                } else {
                    collect_refs(child, out);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|c| collect_refs(c, out)),
        _ => {}
    }
}

/// `#/components/schemas/X` -> ("schemas", "X").
fn split_ref(r: &str) -> Option<(&str, &str)> {
    let rest = r.strip_prefix("#/components/")?;
    rest.split_once('/')
}

fn component<'v>(doc: &'v Value, r: &str) -> Option<&'v Value> {
    let (kind, name) = split_ref(r)?;
    doc.get("components")?.get(kind)?.get(name)
}

/// Every `$ref` reachable from `roots`, following references transitively.
fn closure(doc: &Value, roots: &[&Value]) -> BTreeSet<String> {
    let mut todo = Vec::new();
    for r in roots {
        collect_refs(r, &mut todo);
    }
    let mut seen = BTreeSet::new();
    while let Some(r) = todo.pop() {
        if !seen.insert(r.clone()) {
            continue;
        }
        if let Some(target) = component(doc, &r) {
            collect_refs(target, &mut todo);
        }
    }
    seen
}

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// (request side, response side) roots of every operation.
fn operation_roots(v: &Value) -> (Vec<&Value>, Vec<&Value>) {
    let mut req = Vec::new();
    let mut resp = Vec::new();
    if let Some(paths) = v.get("paths").and_then(Value::as_object) {
        for item in paths.values() {
            if let Some(p) = item.get("parameters") {
                req.push(p);
            }
            for m in METHODS {
                if let Some(op) = item.get(m) {
                    if let Some(p) = op.get("parameters") {
                        req.push(p);
                    }
                    if let Some(b) = op.get("requestBody") {
                        req.push(b);
                    }
                    if let Some(r) = op.get("responses") {
                        resp.push(r);
                    }
                }
            }
        }
    }
    (req, resp)
}

/// Delete the components no kept operation can reach; otherwise progenitor emits a type for each.
pub fn prune(doc: &mut OpenAPI) -> Result<Vec<String>, NormalizeError> {
    let mut v = to_value(doc)?;
    let (req, resp) = operation_roots(&v);
    let mut roots = req;
    roots.extend(resp);
    let reachable = closure(&v, &roots);
    let mut notes = Vec::new();
    if let Some(components) = v.get_mut("components").and_then(Value::as_object_mut) {
        for kind in [
            "schemas",
            "parameters",
            "responses",
            "requestBodies",
            "headers",
            "examples",
        ] {
            if let Some(map) = components.get_mut(kind).and_then(Value::as_object_mut) {
                let before = map.len();
                map.retain(|name, _| reachable.contains(&format!("#/components/{kind}/{name}")));
                if map.len() < before {
                    notes.push(format!(
                        "prune: dropped {} unreachable {kind}",
                        before - map.len()
                    ));
                }
            }
        }
    }
    if !notes.is_empty() {
        *doc = from_value(v)?;
    }
    Ok(notes)
}

fn normalized_name(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// The enum values of a property schema, following one `$ref` to a component.
fn enum_values(doc: &Value, prop: &Value) -> Vec<String> {
    let target = match prop.get("$ref").and_then(Value::as_str) {
        Some(r) => component(doc, r),
        None => Some(prop),
    };
    target
        .and_then(|t| t.get("enum"))
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// A `oneOf` with a discriminator but variants whose tag property allows every value (a shared
/// enum) decodes as an untagged enum, where the first variant that fits wins. Pin each variant's
/// tag to its own value: from the discriminator mapping, else the enum value the variant's schema
/// name starts with (`LegacyPricingResponseV3` -> `LEGACY`). Then the generated enum is tagged.
pub fn pin_discriminators(doc: &mut OpenAPI) -> Result<Vec<String>, NormalizeError> {
    let v = to_value(doc)?;
    let Some(schemas) = v.pointer("/components/schemas").and_then(Value::as_object) else {
        return Ok(Vec::new());
    };
    // (variant schema name, tag property, pinned value)
    let mut pins: Vec<(String, String, String, String)> = Vec::new();
    for (owner, schema) in schemas {
        let Some(prop) = schema
            .pointer("/discriminator/propertyName")
            .and_then(Value::as_str)
        else {
            continue;
        };
        let Some(variants) = schema.get("oneOf").and_then(Value::as_array) else {
            continue;
        };
        let mapping = schema
            .pointer("/discriminator/mapping")
            .and_then(Value::as_object);
        for variant in variants {
            let Some(r) = variant.get("$ref").and_then(Value::as_str) else {
                continue;
            };
            let Some(("schemas", name)) = split_ref(r) else {
                continue;
            };
            let Some(tag) = schemas
                .get(name)
                .and_then(|s| s.pointer(&format!("/properties/{prop}")))
            else {
                continue;
            };
            let values = enum_values(&v, tag);
            if values.len() <= 1 {
                continue;
            }
            let from_mapping = mapping.and_then(|m| {
                m.iter()
                    .find(|(_, target)| target.as_str() == Some(r))
                    .map(|(value, _)| value.clone())
            });
            let by_name = || {
                let n = normalized_name(name);
                values
                    .iter()
                    .filter(|val| n.starts_with(&normalized_name(val)))
                    .max_by_key(|val| val.len())
                    .cloned()
            };
            match from_mapping.or_else(by_name) {
                Some(value) => {
                    pins.push((name.to_string(), prop.to_string(), value, owner.clone()))
                }
                None => {
                    return Err(NormalizeError::Invalid(format!(
                        "pin: cannot tell which `{prop}` value variant {name} of {owner} has"
                    )))
                }
            }
        }
    }
    if pins.is_empty() {
        return Ok(Vec::new());
    }
    let mut v = v;
    let mut notes = Vec::new();
    for (name, prop, value, owner) in pins {
        let Some(schema) = v.pointer_mut(&format!("/components/schemas/{name}")) else {
            continue;
        };
        if let Some(props) = schema.get_mut("properties").and_then(Value::as_object_mut) {
            props.insert(
                prop.clone(),
                serde_json::json!({"type": "string", "enum": [value]}),
            );
        }
        if let Some(obj) = schema.as_object_mut() {
            let req = obj
                .entry("required")
                .or_insert_with(|| Value::Array(Vec::new()));
            if let Value::Array(list) = req {
                if !list.iter().any(|x| x.as_str() == Some(prop.as_str())) {
                    list.push(Value::String(prop.clone()));
                }
            }
        }
        notes.push(format!(
            "pin: {owner}: variant {name} has `{prop}: {value}`"
        ));
    }
    *doc = from_value(v)?;
    Ok(notes)
}

fn is_single_value_enum(v: &Value) -> bool {
    v.get("enum")
        .and_then(Value::as_array)
        .is_some_and(|a| a.len() == 1)
}

/// Loosen one response schema (not following `$ref`s): no pattern or length limits, and no
/// required fields except single-valued tags, unless `keep_required` (oneOf variants, where the
/// required fields are what tells the variants apart).
fn relax_schema(schema: &mut Value, keep_required: bool, changes: &mut usize) {
    let Some(map) = schema.as_object_mut() else {
        return;
    };
    for key in ["pattern", "minLength", "maxLength"] {
        if map.remove(key).is_some() {
            *changes += 1;
        }
    }
    if !keep_required {
        let tags: BTreeSet<String> = map
            .get("properties")
            .and_then(Value::as_object)
            .map(|p| {
                p.iter()
                    .filter(|(_, s)| is_single_value_enum(s))
                    .map(|(k, _)| k.clone())
                    .collect()
            })
            .unwrap_or_default();
        if let Some(Value::Array(req)) = map.get_mut("required") {
            let before = req.len();
            req.retain(|x| x.as_str().is_some_and(|s| tags.contains(s)));
            *changes += before - req.len();
            if req.is_empty() {
                map.remove("required");
            }
        }
    }
    if let Some(props) = map.get_mut("properties").and_then(Value::as_object_mut) {
        for p in props.values_mut() {
            relax_schema(p, false, changes);
        }
    }
    for key in ["items", "additionalProperties", "not"] {
        if let Some(child) = map.get_mut(key) {
            relax_schema(child, false, changes);
        }
    }
    for key in ["oneOf", "anyOf", "allOf"] {
        if let Some(Value::Array(list)) = map.get_mut(key) {
            for child in list {
                relax_schema(child, key != "allOf", changes);
            }
        }
    }
}

/// Response bodies are validated on decode, and the published limits do not hold for real
/// responses (API-FACTS "Traps": patterns and lengths on ids, required fields that are null).
/// Loosen every schema that only responses reach; schemas shared with requests stay strict.
pub fn relax_responses(doc: &mut OpenAPI) -> Result<Vec<String>, NormalizeError> {
    let mut v = to_value(doc)?;
    let (req, resp) = operation_roots(&v);
    let request_side = closure(&v, &req);
    let response_side = closure(&v, &resp);
    let variants: BTreeSet<String> = {
        let mut s = BTreeSet::new();
        if let Some(schemas) = v.pointer("/components/schemas").and_then(Value::as_object) {
            for schema in schemas.values() {
                for key in ["oneOf", "anyOf"] {
                    if let Some(list) = schema.get(key).and_then(Value::as_array) {
                        for x in list {
                            if let Some(r) = x.get("$ref").and_then(Value::as_str) {
                                s.insert(r.to_string());
                            }
                        }
                    }
                }
            }
        }
        s
    };
    let mut notes = Vec::new();
    for r in response_side.difference(&request_side) {
        let Some(("schemas", name)) = split_ref(r) else {
            continue;
        };
        let Some(schema) = v.pointer_mut(&format!("/components/schemas/{name}")) else {
            continue;
        };
        let mut changes = 0;
        relax_schema(schema, variants.contains(r), &mut changes);
        if changes > 0 {
            notes.push(format!(
                "relax: {name}: {changes} response-only constraints dropped"
            ));
        }
    }
    // Inline response schemas (e.g. a top-level array) are response-only by construction.
    if let Some(paths) = v.get_mut("paths").and_then(Value::as_object_mut) {
        for (path, item) in paths.iter_mut() {
            for m in METHODS {
                let Some(responses) = item
                    .get_mut(m)
                    .and_then(|op| op.get_mut("responses"))
                    .and_then(Value::as_object_mut)
                else {
                    continue;
                };
                for (code, r) in responses.iter_mut() {
                    let Some(content) = r.get_mut("content").and_then(Value::as_object_mut) else {
                        continue;
                    };
                    for media in content.values_mut() {
                        if let Some(schema) = media.get_mut("schema") {
                            let mut changes = 0;
                            relax_schema(schema, false, &mut changes);
                            if changes > 0 {
                                notes.push(format!(
                                    "relax: {} {path} {code}: {changes} inline constraints dropped",
                                    m.to_ascii_uppercase()
                                ));
                            }
                        }
                    }
                }
            }
        }
    }
    if !notes.is_empty() {
        *doc = from_value(v)?;
    }
    Ok(notes)
}

/// Whether the (normalised) operation `name` takes a parameter called `param`.
pub fn has_parameter(doc: &OpenAPI, name: &str, param: &str) -> bool {
    for item in doc.paths.paths.values() {
        let ReferenceOr::Item(item) = item else {
            continue;
        };
        for (_, op) in item.iter() {
            if op.operation_id.as_deref() != Some(name) {
                continue;
            }
            return op
                .parameters
                .iter()
                .chain(item.parameters.iter())
                .filter_map(|p| param_name_and_place(doc, p))
                .any(|(n, _)| n == param);
        }
    }
    false
}

// ---------------------------------------------------------------------------------------------
// wire responses: success bodies decoded straight into vippsctl's own types

/// One operation whose JSON success body is decoded into a type of vippsctl's own (build.rs
/// replaces the component with it); the table is `ops::WIRE_RESPONSES`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireBody {
    /// The (stable) operationId.
    pub operation: String,
    /// The component the body is pointed at.
    pub component: String,
    /// The body is a JSON array of the component.
    pub list: bool,
    /// The Rust type that replaces the component in the generated client.
    pub rust_type: String,
}

/// The wire bodies of one API (`ops::WIRE_RESPONSES`), each pointed at `Vippsctl<wire type>`
/// and replaced by `crate::api::vipps::wire::<wire type>`.
pub fn wire_bodies(api: super::ops::Api) -> Vec<WireBody> {
    super::ops::wire_responses(api)
        .map(|w| WireBody {
            operation: w.operation.to_string(),
            component: format!("Vippsctl{}", w.wire_type),
            list: w.list,
            rust_type: format!("crate::api::vipps::wire::{}", w.wire_type),
        })
        .collect()
}

/// Point each operation's JSON success bodies at `component` (an array of it for a list) and add
/// that component as a placeholder, so that the generator decodes the body once into the type
/// that replaces it, whatever the published spec names its own types. The published schemas stay
/// in the document (and generated), unused by these bodies. Fails naming the operation when it is
/// missing or has no JSON success body, and when a component of that name already exists.
pub fn wire_responses(
    doc: &mut OpenAPI,
    bodies: &[WireBody],
) -> Result<Vec<String>, NormalizeError> {
    let mut notes = Vec::new();
    let snapshot = doc.clone();
    let existing: BTreeSet<String> = doc
        .components
        .as_ref()
        .map(|c| c.schemas.keys().cloned().collect())
        .unwrap_or_default();
    let mut added = BTreeSet::new();
    for body in bodies {
        if existing.contains(&body.component) {
            return Err(NormalizeError::Invalid(format!(
                "wire: the spec already has a schema named {}",
                body.component
            )));
        }
        let reference = format!("#/components/schemas/{}", body.component);
        let schema: ReferenceOr<openapiv3::Schema> = if body.list {
            serde_json::from_value(
                serde_json::json!({"type": "array", "items": {"$ref": reference}}),
            )
            .map_err(|e| NormalizeError::Invalid(format!("wire: {e}")))?
        } else {
            ReferenceOr::Reference { reference }
        };
        let mut replaced = Vec::new();
        for (path, item) in doc.paths.paths.iter_mut() {
            let ReferenceOr::Item(item) = item else {
                continue;
            };
            for (method, op) in operations_mut(item) {
                let Some(op) = op else { continue };
                if op.operation_id.as_deref() != Some(body.operation.as_str()) {
                    continue;
                }
                for (code, r) in op.responses.responses.iter_mut() {
                    if !is_success_code(code) {
                        continue;
                    }
                    let Some(mut resolved) = resolve_response(&snapshot, r) else {
                        continue;
                    };
                    let Some(media) = resolved.content.get_mut("application/json") else {
                        continue;
                    };
                    if media.schema.is_none() {
                        continue;
                    }
                    media.schema = Some(schema.clone());
                    *r = ReferenceOr::Item(resolved);
                    replaced.push(format!("{method} {path} {}", code_label(code)));
                }
            }
        }
        if replaced.is_empty() {
            return Err(NormalizeError::Invalid(format!(
                "wire: operation `{}` has no JSON success body to decode into {}",
                body.operation, body.component
            )));
        }
        for at in replaced {
            notes.push(format!(
                "wire: {at}: the body is decoded into {}{}",
                body.component,
                if body.list { " (a list)" } else { "" }
            ));
        }
        if added.insert(body.component.as_str()) {
            let placeholder: openapiv3::Schema = serde_json::from_value(serde_json::json!({
                "description": "Replaced by vippsctl's own type (build.rs, api::vipps::wire)."
            }))
            .map_err(|e| NormalizeError::Invalid(format!("wire: {e}")))?;
            doc.components
                .get_or_insert_with(Default::default)
                .schemas
                .insert(body.component.clone(), ReferenceOr::Item(placeholder));
        }
    }
    Ok(notes)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str = "openapi: 3.0.0\ninfo: {title: t, version: '1'}\n";

    fn doc(body: &str) -> OpenAPI {
        match parse(&format!("{HEAD}{body}")) {
            Ok(d) => d,
            Err(e) => panic!("test document does not parse: {e}"),
        }
    }

    fn json(d: &OpenAPI) -> Value {
        serde_json::to_value(d).unwrap_or(Value::Null)
    }

    #[test]
    fn parse_rejects_swagger_2_and_garbage() {
        assert!(matches!(
            parse("swagger: '2.0'\ninfo: {title: t, version: '1'}\npaths: {}"),
            Err(NormalizeError::Parse(_))
        ));
        assert!(matches!(
            parse("openapi: 3.1.0\ninfo: {title: t, version: '1'}\npaths: {}"),
            Err(NormalizeError::Parse(_))
        ));
        assert!(parse(": : :").is_err());
    }

    #[test]
    fn servers_prefix_moves_into_paths() {
        let mut d = doc("servers: [{url: 'https://api.vipps.no/qr'}, {url: 'https://apitest.vipps.no/qr/'}]\npaths:\n  /v1/x: {get: {responses: {'200': {description: ok}}}}\n");
        let notes = fold_servers_notes(&mut d);
        assert_eq!(notes.len(), 1);
        assert!(d.paths.paths.contains_key("/qr/v1/x"));
        assert_eq!(d.servers[0].url, "https://api.vipps.no");
        assert_eq!(d.servers[1].url, "https://apitest.vipps.no");
        // A bare host changes nothing.
        let mut d = doc("servers: [{url: 'https://api.vipps.no'}]\npaths:\n  /v1/x: {get: {responses: {'200': {description: ok}}}}\n");
        assert!(fold_servers_notes(&mut d).is_empty());
        assert!(d.paths.paths.contains_key("/v1/x"));
    }

    const TWO_OPS: &str = "paths:\n  /a/{id}:\n    get: {operationId: getA, responses: {'200': {description: ok}}}\n    delete: {responses: {'204': {description: ok}}}\n  /b:\n    get: {operationId: getB, responses: {'200': {description: ok}}}\n";

    #[test]
    fn restrict_keeps_renames_and_synthesises_missing_ids() {
        let mut d = doc(TWO_OPS);
        let wanted = [
            Wanted {
                method: "DELETE",
                path: "/a/{other}",
                name: "delete_a",
            },
            Wanted {
                method: "GET",
                path: "/a/{id}",
                name: "get_a",
            },
        ];
        let notes = restrict(&mut d, "t.yaml", &wanted).unwrap_or_default();
        assert!(!d.paths.paths.contains_key("/b"));
        let Some(ReferenceOr::Item(a)) = d.paths.paths.get("/a/{id}") else {
            panic!("path /a kept")
        };
        assert_eq!(
            a.get.as_ref().and_then(|o| o.operation_id.as_deref()),
            Some("get_a")
        );
        assert_eq!(
            a.delete.as_ref().and_then(|o| o.operation_id.as_deref()),
            Some("delete_a")
        );
        assert!(notes.iter().any(|n| n.contains("(none) -> delete_a")));
    }

    #[test]
    fn restrict_names_spec_method_path_and_name_of_a_missing_operation() {
        let mut d = doc(TWO_OPS);
        let wanted = [Wanted {
            method: "PUT",
            path: "/a/{id}",
            name: "put_a",
        }];
        let err = restrict(&mut d, "qr.yaml", &wanted)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            err.contains("qr.yaml") && err.contains("PUT /a/{id}") && err.contains("put_a"),
            "{err}"
        );
    }

    #[test]
    fn injected_headers_go_and_meaningful_ones_stay() {
        let mut d = doc("paths:\n  /a:\n    parameters: [{$ref: '#/components/parameters/Msn'}]\n    get:\n      parameters:\n        - {name: authorization, in: header, required: true, schema: {type: string}}\n        - {name: Vipps-System-Name, in: header, schema: {type: string}}\n        - {name: Content-Type, in: header, schema: {type: string}}\n        - {name: Idempotency-Key, in: header, required: true, schema: {type: string}}\n        - {name: Accept, in: header, schema: {type: string}}\n        - {name: Authorization, in: query, schema: {type: string}}\n      responses: {'200': {description: ok}}\ncomponents:\n  parameters:\n    Msn: {name: Merchant-Serial-Number, in: header, schema: {type: string}}\n");
        let notes = drop_injected_headers(&mut d);
        assert_eq!(notes.len(), 4, "{notes:?}");
        let Some(ReferenceOr::Item(a)) = d.paths.paths.get("/a") else {
            panic!()
        };
        assert!(a.parameters.is_empty());
        let names: Vec<String> = a
            .get
            .as_ref()
            .map(|o| {
                o.parameters
                    .iter()
                    .filter_map(|p| param_name_and_place(&d, p).map(|x| x.0))
                    .collect()
            })
            .unwrap_or_default();
        assert_eq!(names, ["Idempotency-Key", "Accept", "Authorization"]);
    }

    #[test]
    fn problem_json_and_charset_media_become_application_json() {
        let mut d = doc("paths:\n  /a:\n    get:\n      responses:\n        '200': {description: ok, content: {'application/json;charset=UTF-8': {schema: {type: string}}}}\n        '400': {$ref: '#/components/responses/Bad'}\ncomponents:\n  responses:\n    Bad: {description: bad, content: {application/problem+json: {schema: {type: object}}}}\n");
        let notes = json_media(&mut d);
        assert_eq!(notes.len(), 2);
        let v = json(&d);
        assert!(v
            .pointer("/paths/~1a/get/responses/200/content/application~1json")
            .is_some());
        assert!(v
            .pointer("/components/responses/Bad/content/application~1json")
            .is_some());
    }

    #[test]
    fn responses_get_one_error_kind_default_split_and_204_without_body() {
        let mut d = doc("paths:\n  /a:\n    patch:\n      responses:\n        '204': {description: ok, content: {application/json: {schema: {type: object}}}}\n        default: {description: err, content: {application/json: {schema: {$ref: '#/components/schemas/E'}}}}\n  /b:\n    post:\n      responses:\n        '200': {description: ok, content: {application/json: {schema: {type: string}}}}\n        '400': {description: bad, content: {application/json: {schema: {$ref: '#/components/schemas/E'}}}}\n        '401': {description: unauthenticated}\n        '404': {description: none, content: {application/json: {schema: {$ref: '#/components/schemas/E'}}}}\n        '409': {description: conflict, content: {application/json: {schema: {properties: {id: {type: string}}}}}}\ncomponents:\n  schemas:\n    E: {type: object}\n");
        let notes = unify_responses(&mut d);
        let v = json(&d);
        assert!(v
            .pointer("/paths/~1a/patch/responses/204/content")
            .is_none_or(|c| c.as_object().is_some_and(|m| m.is_empty())));
        assert!(v.pointer("/paths/~1a/patch/responses/default").is_none());
        assert!(v.pointer("/paths/~1a/patch/responses/4XX").is_some());
        assert!(v.pointer("/paths/~1a/patch/responses/5XX").is_some());
        let b = v
            .pointer("/paths/~1b/post/responses")
            .and_then(Value::as_object)
            .map(|m| m.keys().cloned().collect::<Vec<_>>())
            .unwrap_or_default();
        assert_eq!(b, ["200", "400", "404"], "{notes:?}");
    }

    #[test]
    fn closed_objects_open_and_titles_go() {
        let mut d = doc("paths: {}\ncomponents:\n  schemas:\n    P: {title: P, type: object, additionalProperties: false, properties: {x: {type: object, additionalProperties: false}}}\n");
        assert_eq!(drop_component_titles(&mut d).len(), 1);
        assert_eq!(drop_closed_objects(&mut d).unwrap_or_default().len(), 1);
        let v = json(&d);
        let s = v
            .pointer("/components/schemas/P")
            .cloned()
            .unwrap_or(Value::Null);
        assert!(s.get("title").is_none() && s.get("additionalProperties").is_none());
        assert!(s.pointer("/properties/x/additionalProperties").is_none());
    }

    #[test]
    fn nullable_component_enums_become_non_nullable_and_nothing_else_changes() {
        let mut d = doc("paths: {}\ncomponents:\n  schemas:\n    E: {type: string, enum: [A, B], nullable: true}\n    O: {type: object, nullable: true}\n    F: {type: string, enum: [C]}\n");
        let notes = non_null_component_enums(&mut d);
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert!(notes[0].contains(": E"), "{notes:?}");
        let v = json(&d);
        assert!(v.pointer("/components/schemas/E/nullable").is_none());
        // Objects compile as nullable; only enums are touched.
        assert_eq!(
            v.pointer("/components/schemas/O/nullable"),
            Some(&Value::Bool(true))
        );
        assert!(non_null_component_enums(&mut d).is_empty());
    }

    #[test]
    fn prune_drops_only_unreachable_components() {
        let mut d = doc("paths:\n  /a: {get: {responses: {'200': {description: ok, content: {application/json: {schema: {$ref: '#/components/schemas/A'}}}}}}}\ncomponents:\n  schemas:\n    A: {type: object, properties: {b: {$ref: '#/components/schemas/B'}}}\n    B: {type: string}\n    C: {type: string}\n");
        let notes = prune(&mut d).unwrap_or_default();
        assert_eq!(notes.len(), 1);
        let names: Vec<&String> = d
            .components
            .as_ref()
            .map(|c| c.schemas.keys().collect())
            .unwrap_or_default();
        assert_eq!(names, ["A", "B"]);
    }

    const PRICING: &str = "paths:\n  /a: {get: {responses: {'200': {description: ok, content: {application/json: {schema: {$ref: '#/components/schemas/Pricing'}}}}}}}\ncomponents:\n  schemas:\n    Kind: {type: string, enum: [FLEXIBLE, LEGACY, VARIABLE]}\n    Pricing: {oneOf: [{$ref: '#/components/schemas/LegacyPricing'}, {$ref: '#/components/schemas/VariablePricing'}], discriminator: {propertyName: type}}\n    LegacyPricing: {type: object, required: [type, amount], properties: {type: {$ref: '#/components/schemas/Kind'}, amount: {type: integer}}}\n    VariablePricing: {type: object, required: [type], properties: {type: {$ref: '#/components/schemas/Kind'}, max: {type: integer}}}\n";

    #[test]
    fn discriminator_variants_are_pinned_to_their_own_tag() {
        let mut d = doc(PRICING);
        let notes = pin_discriminators(&mut d).unwrap_or_default();
        assert_eq!(notes.len(), 2, "{notes:?}");
        let v = json(&d);
        assert_eq!(
            v.pointer("/components/schemas/LegacyPricing/properties/type/enum"),
            Some(&serde_json::json!(["LEGACY"]))
        );
        assert_eq!(
            v.pointer("/components/schemas/VariablePricing/properties/type/enum"),
            Some(&serde_json::json!(["VARIABLE"]))
        );
    }

    #[test]
    fn response_only_schemas_are_relaxed_request_schemas_are_not() {
        let mut d = doc("paths:\n  /a:\n    post:\n      requestBody: {content: {application/json: {schema: {$ref: '#/components/schemas/In'}}}}\n      responses: {'200': {description: ok, content: {application/json: {schema: {$ref: '#/components/schemas/Out'}}}}}\ncomponents:\n  schemas:\n    In: {type: object, required: [id], properties: {id: {type: string, maxLength: 5, pattern: '^a+$'}}}\n    Out: {type: object, required: [id, kind], properties: {id: {type: string, maxLength: 5, pattern: '^a+$'}, kind: {type: string, enum: [X]}, shared: {$ref: '#/components/schemas/In'}}}\n");
        let notes = relax_responses(&mut d).unwrap_or_default();
        assert_eq!(notes.len(), 1, "{notes:?}");
        let v = json(&d);
        assert_eq!(
            v.pointer("/components/schemas/Out/required"),
            Some(&serde_json::json!(["kind"]))
        );
        assert!(v
            .pointer("/components/schemas/Out/properties/id/pattern")
            .is_none());
        assert!(v
            .pointer("/components/schemas/In/properties/id/pattern")
            .is_some());
        assert_eq!(
            v.pointer("/components/schemas/In/required"),
            Some(&serde_json::json!(["id"]))
        );
    }

    #[test]
    fn normalize_runs_all_passes_and_reports_parameters() {
        let text = format!("{HEAD}servers: [{{url: 'https://h/x'}}]\npaths:\n  /v1/{{id}}:\n    get:\n      parameters: [{{name: id, in: path, required: true, schema: {{type: string}}}}, {{name: pageSize, in: query, schema: {{type: integer}}}}]\n      responses: {{'200': {{description: ok}}}}\n");
        let n = normalize(
            "x.yaml",
            &text,
            &[Wanted {
                method: "GET",
                path: "/x/v1/{id}",
                name: "get_one",
            }],
        );
        let Ok(n) = n else { panic!("{:?}", n.err()) };
        assert!(has_parameter(&n.doc, "get_one", "pageSize"));
        assert!(!has_parameter(&n.doc, "get_one", "pageNumber"));
        assert!(n.notes.iter().any(|x| x.starts_with("servers:")));
    }

    fn body(operation: &str, component: &str, list: bool) -> WireBody {
        WireBody {
            operation: operation.into(),
            component: component.into(),
            list,
            rust_type: String::new(),
        }
    }

    #[test]
    fn wire_bodies_point_success_responses_at_one_placeholder_each() {
        let mut d = doc("paths:\n  /a:\n    get:\n      operationId: list_a\n      responses:\n        '200': {$ref: '#/components/responses/Many'}\n        '400': {description: bad, content: {application/json: {schema: {$ref: '#/components/schemas/E'}}}}\n    post:\n      operationId: make_a\n      responses:\n        '201': {description: ok, content: {application/json: {schema: {$ref: '#/components/schemas/A'}}}}\n        '204': {description: none}\ncomponents:\n  responses:\n    Many: {description: ok, content: {application/json: {schema: {type: array, items: {$ref: '#/components/schemas/A'}}}}}\n  schemas:\n    A: {type: object, properties: {id: {type: string}}}\n    E: {type: object}\n");
        let bodies = [
            body("list_a", "VippsctlA", true),
            body("make_a", "VippsctlA", false),
        ];
        let notes = wire_responses(&mut d, &bodies).unwrap_or_default();
        assert_eq!(notes.len(), 2, "{notes:?}");
        let v = json(&d);
        let media = "content/application~1json/schema";
        assert_eq!(
            v.pointer(&format!("/paths/~1a/get/responses/200/{media}")),
            Some(
                &serde_json::json!({"type": "array", "items": {"$ref": "#/components/schemas/VippsctlA"}})
            )
        );
        assert_eq!(
            v.pointer(&format!("/paths/~1a/post/responses/201/{media}")),
            Some(&serde_json::json!({"$ref": "#/components/schemas/VippsctlA"}))
        );
        // Errors, the shared response component and the published schemas are left alone.
        assert_eq!(
            v.pointer(&format!("/paths/~1a/get/responses/400/{media}/$ref")),
            Some(&serde_json::json!("#/components/schemas/E"))
        );
        assert!(v
            .pointer(&format!("/components/responses/Many/{media}/items/$ref"))
            .is_some());
        assert!(v.pointer("/components/schemas/A").is_some());
        assert!(v.pointer("/components/schemas/VippsctlA").is_some());

        // An operation without a JSON success body, or a name the spec already uses, is refused.
        let mut d = doc("paths:\n  /a: {delete: {operationId: drop_a, responses: {'204': {description: gone}}}}\ncomponents: {schemas: {VippsctlA: {type: object}}}\n");
        let err = |d: &mut OpenAPI, operation| {
            wire_responses(d, &[body(operation, "VippsctlB", false)])
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default()
        };
        assert!(err(&mut d, "drop_a").contains("`drop_a` has no JSON success body"));
        assert!(err(&mut d, "nope").contains("`nope`"));
        let taken = wire_responses(&mut d, &[body("drop_a", "VippsctlA", false)]);
        assert!(taken.is_err_and(|e| e
            .to_string()
            .contains("already has a schema named VippsctlA")));
    }
}
