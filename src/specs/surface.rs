//! The "surface" of a spec: what vippsctl depends on, and nothing else. For each operation in
//! `ops.rs` it records the parameters and every field reachable from the request and success
//! response bodies, with the constraints a client relies on. Descriptions, examples, key order and
//! formatting are left out on purpose, so that a spec re-published with only cosmetic edits has the
//! same surface, and the snapshot diff of a real update shows only what matters.

use crate::specs::ops::{self, Api, Operation};
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Why a spec could not be read into a surface.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error("could not read {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("not valid YAML or JSON")]
    Syntax(#[source] serde_yaml::Error),
    #[error("the document is not a YAML mapping at the top level")]
    NotAMapping,
    #[error(
        "this is a Swagger {version} document; vippsctl reads OpenAPI 3.0 only \
         (convert it, e.g. with swagger2openapi, or compare OpenAPI 3 versions)"
    )]
    Swagger2 { version: String },
    #[error("no `openapi: 3.x` version key: not an OpenAPI 3 document")]
    NotOpenApi3,
    #[error("{path}")]
    InFile {
        path: PathBuf,
        #[source]
        source: Box<SpecError>,
    },
    #[error("compare two files or two directories, not a file with a directory")]
    MixedKinds,
    #[error("cannot tell which API {path} describes (qr, webhooks, recurring, access-token)")]
    UnknownApi { path: PathBuf },
}

impl SpecError {
    fn in_file(self, path: &Path) -> SpecError {
        SpecError::InFile {
            path: path.to_path_buf(),
            source: Box::new(self),
        }
    }
}

/// One schema node: a body root, a property, an array's items or a oneOf variant.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Field {
    /// Path below the body root: `""` for the root, `pricing<LegacyPricingRequestV3>.amount`,
    /// `webhooks[].url`. Stable when a component schema is renamed, so diffs match on it.
    pub path: String,
    #[serde(rename = "type")]
    pub ty: String,
    pub format: Option<String>,
    pub required: bool,
    pub nullable: bool,
    pub deprecated: bool,
    pub enum_values: Vec<String>,
    pub pattern: Option<String>,
    pub min_length: Option<String>,
    pub max_length: Option<String>,
    pub minimum: Option<String>,
    pub maximum: Option<String>,
    pub exclusive_minimum: bool,
    pub exclusive_maximum: bool,
    pub min_items: Option<String>,
    pub max_items: Option<String>,
    /// The component schema this node was reached through (`$ref`), if any.
    pub schema: Option<String>,
    /// oneOf/anyOf variant names (component name, else title, else `#index`).
    pub variants: Vec<String>,
}

/// A request or response body.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Body {
    pub content_types: Vec<String>,
    pub required: bool,
    /// The name paths are shown under: the body's component schema, or `body`.
    pub root: String,
    pub fields: Vec<Field>,
}

impl Body {
    /// `MerchantRedirectQrRequest.redirectUrl`
    pub fn display(&self, field_path: &str) -> String {
        display_path(&self.root, field_path)
    }
}

pub(crate) fn display_path(root: &str, rel: &str) -> String {
    if rel.is_empty() {
        root.to_string()
    } else if rel.starts_with(['[', '{', '<']) {
        format!("{root}{rel}")
    } else {
        format!("{root}.{rel}")
    }
}

/// One parameter; its schema is a [`Field`] with an empty path.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Param {
    /// `path`, `query`, `header` or `cookie`.
    pub location: String,
    pub name: String,
    pub schema: Field,
}

impl Param {
    /// Header names are case-insensitive, so they match across versions in lower case.
    pub fn key(&self) -> String {
        if self.location == "header" {
            format!("header {}", self.name.to_ascii_lowercase())
        } else {
            format!("{} {}", self.location, self.name)
        }
    }
}

/// A success response with a body we read.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Response {
    pub status: String,
    pub body: Option<Body>,
}

/// One operation vippsctl uses, as the spec describes it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OperationSurface {
    /// The stable name from `ops.rs`.
    pub name: &'static str,
    pub method: &'static str,
    /// The path from `ops.rs` (server prefix folded in).
    pub path: &'static str,
    /// The path as the spec spells it after folding (path parameter names may differ).
    pub spec_path: String,
    pub operation_id: Option<String>,
    pub deprecated: bool,
    pub params: Vec<Param>,
    pub request: Option<Body>,
    /// 2xx responses.
    pub responses: Vec<Response>,
    /// Every declared status code, errors included.
    pub statuses: Vec<String>,
}

/// The surface of one spec.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Surface {
    #[serde(serialize_with = "serialize_api")]
    pub api: Api,
    pub openapi: String,
    pub title: String,
    pub version: String,
    pub operations: Vec<OperationSurface>,
    /// Operations vippsctl uses that this spec lacks (stable names).
    pub missing: Vec<&'static str>,
    /// Operations in the spec that vippsctl does not use: `POST /qr/v1/exchange/customer`.
    pub unused: Vec<String>,
}

/// `Api` is a shared contract without serde; it is written as its file stem (`access-token`).
pub fn serialize_api<S: serde::Serializer>(api: &Api, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(api.file_stem())
}

/// Parse a YAML or JSON spec into a JSON value. Unlike `normalize::parse` (which build.rs uses and
/// which needs a typed OpenAPI 3.0 document), this reads any published version, so that `specs diff`
/// can name a Swagger 2.0 file or a spec with broken references instead of failing to read it. YAML mapping keys that are not strings (an
/// unquoted `200:` response code) become strings, as OpenAPI means them.
pub fn parse(text: &str) -> Result<Value, SpecError> {
    let yaml: serde_yaml::Value = serde_yaml::from_str(text).map_err(SpecError::Syntax)?;
    let json = yaml_to_json(yaml);
    let Some(map) = json.as_object() else {
        return Err(SpecError::NotAMapping);
    };
    if let Some(v) = map.get("swagger") {
        return Err(SpecError::Swagger2 {
            version: scalar_string(v).unwrap_or_else(|| "2.0".into()),
        });
    }
    match map.get("openapi").and_then(scalar_string) {
        Some(v) if v.starts_with('3') => Ok(json),
        _ => Err(SpecError::NotOpenApi3),
    }
}

/// The same fold as `normalize::fold_servers`, on the untyped document.
/// Move the first server's path (`https://api.vipps.no/qr` -> `/qr`) into every path, so paths
/// compare equal whichever way a spec version splits them between server and path.
pub fn fold_servers(doc: &mut Value) {
    let prefix = doc
        .get("servers")
        .and_then(|s| s.get(0))
        .and_then(|s| s.get("url"))
        .and_then(Value::as_str)
        .map(server_path)
        .unwrap_or_default();
    if prefix.is_empty() {
        return;
    }
    if let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) {
        let old = std::mem::take(paths);
        for (k, v) in old {
            paths.insert(format!("{prefix}{k}"), v);
        }
    }
    if let Some(servers) = doc.get_mut("servers").and_then(Value::as_array_mut) {
        for s in servers {
            if let Some(url) = s.get_mut("url") {
                if let Some(u) = url.as_str() {
                    let host = u.strip_suffix(&server_path(u)).unwrap_or(u).to_string();
                    *url = Value::String(host);
                }
            }
        }
    }
}

fn server_path(url: &str) -> String {
    super::normalize::server_path(url)
        .trim_end_matches('/')
        .to_string()
}

fn yaml_to_json(v: serde_yaml::Value) -> Value {
    use serde_yaml::Value as Y;
    match v {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::from(i)
            } else if let Some(u) = n.as_u64() {
                Value::from(u)
            } else {
                n.as_f64()
                    .and_then(serde_json::Number::from_f64)
                    .map_or(Value::Null, Value::Number)
            }
        }
        Y::String(s) => Value::String(s),
        Y::Sequence(seq) => Value::Array(seq.into_iter().map(yaml_to_json).collect()),
        Y::Mapping(m) => {
            let mut out = serde_json::Map::new();
            for (k, v) in m {
                let key = match yaml_to_json(k) {
                    Value::String(s) => s,
                    other => other.to_string(),
                };
                out.insert(key, yaml_to_json(v));
            }
            Value::Object(out)
        }
        Y::Tagged(t) => yaml_to_json(t.value),
    }
}

fn scalar_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "patch", "head", "options", "trace",
];

/// Path parameter names differ between versions (`{id}` vs `{merchantQrId}`); the shape is what
/// a client calls.
fn path_shape(path: &str) -> String {
    let mut out = String::new();
    let mut in_param = false;
    for c in path.trim_end_matches('/').chars() {
        match c {
            '{' => {
                in_param = true;
                out.push_str("{}");
            }
            '}' => in_param = false,
            _ if in_param => {}
            _ => out.push(c),
        }
    }
    out
}

/// Read a spec file into the surface of `api`.
pub fn load_surface(path: &Path, api: Api) -> Result<Surface, SpecError> {
    let text = std::fs::read_to_string(path).map_err(|source| SpecError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let doc = parse(&text).map_err(|e| e.in_file(path))?;
    Ok(Surface::from_document(api, doc))
}

/// Which of our APIs a parsed document describes, judged by the operations it has.
pub fn detect_api(doc: &Value) -> Option<Api> {
    let mut best = None;
    let mut best_count = 0;
    for api in Api::ALL {
        let s = Surface::from_document(api, doc.clone());
        if s.operations.len() > best_count {
            best_count = s.operations.len();
            best = Some(api);
        }
    }
    best
}

impl Surface {
    /// Build the surface from a parsed (not yet folded) OpenAPI 3 document.
    pub fn from_document(api: Api, mut doc: Value) -> Surface {
        fold_servers(&mut doc);
        let info = doc.get("info");
        let text = |v: Option<&Value>| v.and_then(scalar_string).unwrap_or_default();
        let mut surface = Surface {
            api,
            openapi: text(doc.get("openapi")),
            title: text(info.and_then(|i| i.get("title"))),
            version: text(info.and_then(|i| i.get("version"))),
            operations: Vec::new(),
            missing: Vec::new(),
            unused: Vec::new(),
        };
        let wanted: Vec<&'static Operation> = ops::operations(api).collect();
        let mut found: BTreeMap<&'static str, OperationSurface> = BTreeMap::new();
        let empty = serde_json::Map::new();
        let paths = doc
            .get("paths")
            .and_then(Value::as_object)
            .unwrap_or(&empty);
        let mut path_keys: Vec<&String> = paths.keys().collect();
        path_keys.sort();
        for spec_path in path_keys {
            let Some(item) = paths.get(spec_path).map(|v| resolve(&doc, v).0) else {
                continue;
            };
            let shape = path_shape(spec_path);
            for method in METHODS {
                let Some(op) = item.get(method) else { continue };
                let upper = method.to_ascii_uppercase();
                let used = wanted
                    .iter()
                    .find(|o| o.method == upper && path_shape(o.path) == shape);
                match used {
                    Some(o) if !found.contains_key(o.name) => {
                        let s = operation_surface(&doc, o, spec_path, item, op);
                        found.insert(o.name, s);
                    }
                    _ => surface.unused.push(format!("{upper} {spec_path}")),
                }
            }
        }
        for o in &wanted {
            match found.remove(o.name) {
                Some(s) => surface.operations.push(s),
                None => surface.missing.push(o.name),
            }
        }
        surface.unused.sort();
        surface
    }

    /// The readable form the snapshot tests store: one line per item, sorted.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "api: {}", self.api.file_stem());
        let _ = writeln!(
            out,
            "spec: {} {} (openapi {})",
            self.title, self.version, self.openapi
        );
        for name in &self.missing {
            let _ = writeln!(out, "missing operation: {name}");
        }
        for op in &self.operations {
            let _ = writeln!(out);
            let id = op.operation_id.as_deref().unwrap_or("no operationId");
            let _ = write!(
                out,
                "operation {}: {} {} ({id})",
                op.name, op.method, op.path
            );
            if op.spec_path != op.path {
                let _ = write!(out, " spec path {}", op.spec_path);
            }
            if op.deprecated {
                out.push_str(" deprecated");
            }
            out.push('\n');
            let _ = writeln!(out, "  statuses: {}", op.statuses.join(" "));
            for p in &op.params {
                let _ = writeln!(
                    out,
                    "  param {} {}: {}",
                    p.location,
                    p.name,
                    field_attrs(&p.schema)
                );
            }
            if let Some(b) = &op.request {
                write_body(&mut out, "request", b);
            }
            for r in &op.responses {
                match &r.body {
                    Some(b) => write_body(&mut out, &format!("response {}", r.status), b),
                    None => {
                        let _ = writeln!(out, "  response {}: no body", r.status);
                    }
                }
            }
        }
        out
    }
}

fn write_body(out: &mut String, label: &str, b: &Body) {
    let req = if b.required { " required" } else { "" };
    let _ = writeln!(
        out,
        "  {label} {}{req}:",
        if b.content_types.is_empty() {
            "(no content type)".to_string()
        } else {
            b.content_types.join(", ")
        }
    );
    for f in &b.fields {
        let _ = writeln!(out, "    {}: {}", b.display(&f.path), field_attrs(f));
    }
}

/// `string format=uri required nullable pattern=... length=1..128 enum=[A, B]`
pub fn field_attrs(f: &Field) -> String {
    let mut s = f.ty.clone();
    if let Some(fmt) = &f.format {
        let _ = write!(s, " format={fmt}");
    }
    if f.required {
        s.push_str(" required");
    }
    if f.nullable {
        s.push_str(" nullable");
    }
    if f.deprecated {
        s.push_str(" deprecated");
    }
    if let Some(schema) = &f.schema {
        let _ = write!(s, " ref={schema}");
    }
    if !f.variants.is_empty() {
        let _ = write!(s, " variants=[{}]", f.variants.join(", "));
    }
    if !f.enum_values.is_empty() {
        let _ = write!(s, " enum=[{}]", f.enum_values.join(", "));
    }
    if let Some(p) = &f.pattern {
        let _ = write!(s, " pattern={p}");
    }
    let range = |lo: &Option<String>, hi: &Option<String>| match (lo, hi) {
        (None, None) => None,
        (lo, hi) => Some(format!(
            "{}..{}",
            lo.as_deref().unwrap_or(""),
            hi.as_deref().unwrap_or("")
        )),
    };
    if let Some(r) = range(&f.min_length, &f.max_length) {
        let _ = write!(s, " length={r}");
    }
    if let Some(r) = range(&f.minimum, &f.maximum) {
        let _ = write!(s, " range={r}");
        if f.exclusive_minimum || f.exclusive_maximum {
            let _ = write!(
                s,
                " exclusive={}{}",
                if f.exclusive_minimum { "min" } else { "" },
                if f.exclusive_maximum { "max" } else { "" }
            );
        }
    }
    if let Some(r) = range(&f.min_items, &f.max_items) {
        let _ = write!(s, " items={r}");
    }
    s
}

/// Follow `$ref`s (to any depth, loops cut) and return the target and the last component name.
/// Tolerates the `#components/...` typo found in some published versions.
fn resolve<'a>(doc: &'a Value, v: &'a Value) -> (&'a Value, Option<String>) {
    let mut cur = v;
    let mut name = None;
    for _ in 0..32 {
        let Some(r) = cur.get("$ref").and_then(Value::as_str) else {
            return (cur, name);
        };
        match lookup_ref(doc, r) {
            Some(t) => {
                name = r.rsplit('/').next().map(str::to_string);
                cur = t;
            }
            None => return (cur, name),
        }
    }
    (cur, name)
}

fn lookup_ref<'a>(doc: &'a Value, r: &str) -> Option<&'a Value> {
    let pointer = r.strip_prefix('#')?;
    let pointer = if pointer.starts_with('/') {
        pointer.to_string()
    } else {
        format!("/{pointer}")
    };
    let pointer = pointer.replace("~1", "/").replace("~0", "~");
    // Component names in these specs never contain '/', so plain segment walking is enough.
    let mut cur = doc;
    for seg in pointer.split('/').skip(1) {
        cur = cur.get(seg)?;
    }
    Some(cur)
}

fn operation_surface(
    doc: &Value,
    o: &Operation,
    spec_path: &str,
    item: &Value,
    op: &Value,
) -> OperationSurface {
    let mut params: BTreeMap<String, Param> = BTreeMap::new();
    // Operation-level parameters override path-level ones with the same name and location.
    for list in [item.get("parameters"), op.get("parameters")]
        .into_iter()
        .flatten()
    {
        for p in list.as_array().into_iter().flatten() {
            if let Some(p) = param(doc, p) {
                params.insert(p.key(), p);
            }
        }
    }
    let request = op.get("requestBody").map(|rb| {
        let (rb, _) = resolve(doc, rb);
        let required = rb.get("required").and_then(Value::as_bool).unwrap_or(false);
        body(doc, rb, required)
    });
    let mut statuses = Vec::new();
    let mut responses = Vec::new();
    if let Some(rs) = op.get("responses").and_then(Value::as_object) {
        let mut codes: Vec<&String> = rs.keys().collect();
        codes.sort();
        for code in codes {
            statuses.push(code.clone());
            if !code.starts_with('2') {
                continue;
            }
            let Some(r) = rs.get(code) else { continue };
            let (r, _) = resolve(doc, r);
            let b = body(doc, r, false);
            responses.push(Response {
                status: code.clone(),
                body: (!b.content_types.is_empty()).then_some(b),
            });
        }
    }
    OperationSurface {
        name: o.name,
        method: o.method,
        path: o.path,
        spec_path: spec_path.to_string(),
        operation_id: op
            .get("operationId")
            .and_then(Value::as_str)
            .map(str::to_string),
        deprecated: op
            .get("deprecated")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        params: params.into_values().collect(),
        request,
        responses,
        statuses,
    }
}

fn param(doc: &Value, p: &Value) -> Option<Param> {
    let (p, _) = resolve(doc, p);
    let name = p.get("name").and_then(Value::as_str)?.to_string();
    let location = p.get("in").and_then(Value::as_str)?.to_string();
    let empty = Value::Object(serde_json::Map::new());
    let schema = p.get("schema").unwrap_or(&empty);
    let mut w = Walker::new(doc);
    w.walk(schema, String::new(), false, false);
    let mut root = w.fields.into_iter().next().unwrap_or_else(|| blank("any"));
    root.required = p.get("required").and_then(Value::as_bool).unwrap_or(false);
    root.deprecated |= p
        .get("deprecated")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    Some(Param {
        location,
        name,
        schema: root,
    })
}

/// A request body or response: the JSON-like media type's schema, walked.
fn body(doc: &Value, rb: &Value, required: bool) -> Body {
    let content = rb.get("content").and_then(Value::as_object);
    let mut content_types: Vec<String> = content
        .map(|c| c.keys().cloned().collect())
        .unwrap_or_default();
    content_types.sort();
    let chosen = content_types
        .iter()
        .find(|t| t.contains("json"))
        .or_else(|| content_types.first())
        .and_then(|t| content.and_then(|c| c.get(t)))
        .and_then(|m| m.get("schema"));
    let mut fields = Vec::new();
    let mut root = "body".to_string();
    if let Some(schema) = chosen {
        let mut w = Walker::new(doc);
        w.walk(schema, String::new(), false, false);
        fields = w.fields;
        if let Some(name) = fields.first().and_then(|f| f.schema.clone()) {
            root = name;
        }
    }
    fields.sort_by(|a, b| a.path.cmp(&b.path));
    Body {
        content_types,
        required,
        root,
        fields,
    }
}

fn blank(ty: &str) -> Field {
    Field {
        path: String::new(),
        ty: ty.to_string(),
        format: None,
        required: false,
        nullable: false,
        deprecated: false,
        enum_values: Vec::new(),
        pattern: None,
        min_length: None,
        max_length: None,
        minimum: None,
        maximum: None,
        exclusive_minimum: false,
        exclusive_maximum: false,
        min_items: None,
        max_items: None,
        schema: None,
        variants: Vec::new(),
    }
}

/// Walks one schema tree; `stack` holds the component names being expanded, so a recursive schema
/// is shown once and then named instead of expanded forever.
struct Walker<'a> {
    doc: &'a Value,
    stack: Vec<String>,
    fields: Vec<Field>,
}

/// Deep but finite: guards against pathological inline nesting that no `$ref` cycle check sees.
const MAX_DEPTH: usize = 64;

impl<'a> Walker<'a> {
    fn new(doc: &'a Value) -> Self {
        Walker {
            doc,
            stack: Vec::new(),
            fields: Vec::new(),
        }
    }

    fn walk(&mut self, schema: &Value, path: String, required: bool, nullable: bool) {
        let doc: &'a Value = self.doc;
        let mut schema: &Value = schema;
        let mut ref_name = None;
        let mut nullable = nullable || flag(schema, "nullable");
        let depth_before = self.stack.len();
        // Follow a $ref chain; siblings of $ref such as `nullable` are honoured, since the
        // published recurring spec relies on that.
        while let Some(r) = schema.get("$ref").and_then(Value::as_str) {
            let name = r.rsplit('/').next().unwrap_or(r).to_string();
            let target = lookup_ref(doc, r);
            let stop = if self.stack.contains(&name) || self.stack.len() > MAX_DEPTH {
                Some(format!("recursive {name}"))
            } else if target.is_none() {
                Some(format!("unresolved $ref {r}"))
            } else {
                None
            };
            if let Some(ty) = stop {
                let mut f = blank(&ty);
                f.path = path;
                f.required = required;
                f.nullable = nullable;
                f.schema = Some(name);
                self.fields.push(f);
                self.stack.truncate(depth_before);
                return;
            }
            let Some(target) = target else { break };
            self.stack.push(name.clone());
            ref_name = Some(name);
            schema = target;
            nullable |= flag(schema, "nullable");
        }

        let merged;
        if schema.get("allOf").is_some() {
            merged = flatten_all_of(doc, schema, 0);
            schema = &merged;
        }

        let mut f = node(schema);
        f.path = path.clone();
        f.required = required;
        f.nullable = nullable || f.nullable;
        f.schema = ref_name;
        let variants_key = ["oneOf", "anyOf"]
            .into_iter()
            .find(|k| schema.get(*k).and_then(Value::as_array).is_some());
        let mut variant_schemas: Vec<(String, &Value)> = Vec::new();
        if let Some(key) = variants_key {
            let list = schema.get(key).and_then(Value::as_array);
            for (i, v) in list.into_iter().flatten().enumerate() {
                let (target, name) = resolve(doc, v);
                let name = name
                    .or_else(|| {
                        target
                            .get("title")
                            .and_then(Value::as_str)
                            .map(str::to_string)
                    })
                    .unwrap_or_else(|| format!("#{i}"));
                f.variants.push(name.clone());
                variant_schemas.push((name, v));
            }
            if f.ty == "any" {
                f.ty = key.to_string();
            }
        }
        f.variants.sort();
        self.fields.push(f);

        if self.stack.len() <= MAX_DEPTH && path.len() < 2048 {
            let required_names: Vec<&str> = schema
                .get("required")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            if let Some(props) = schema.get("properties").and_then(Value::as_object) {
                let mut names: Vec<&String> = props.keys().collect();
                names.sort();
                for name in names {
                    if let Some(p) = props.get(name) {
                        let child = if path.is_empty() {
                            name.clone()
                        } else {
                            format!("{path}.{name}")
                        };
                        let req = required_names.contains(&name.as_str());
                        self.walk(p, child, req, false);
                    }
                }
            }
            if let Some(items) = schema.get("items") {
                self.walk(items, format!("{path}[]"), false, false);
            }
            if let Some(add) = schema.get("additionalProperties").filter(|v| v.is_object()) {
                self.walk(add, format!("{path}{{}}"), false, false);
            }
            for (name, v) in variant_schemas {
                self.walk(v, format!("{path}<{name}>"), false, false);
            }
        }
        self.stack.truncate(depth_before);
    }
}

fn flag(v: &Value, key: &str) -> bool {
    v.get(key).and_then(Value::as_bool).unwrap_or(false)
}

fn num(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(|n| match n {
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    })
}

/// The constraints of one schema node, without its children.
fn node(schema: &Value) -> Field {
    let ty = match schema.get("type") {
        Some(Value::String(t)) => t.clone(),
        // OpenAPI 3.1 type arrays: `[string, "null"]` is a nullable string.
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .filter(|t| *t != "null")
            .collect::<Vec<_>>()
            .join("|"),
        _ if schema.get("properties").is_some() => "object".into(),
        _ if schema.get("items").is_some() => "array".into(),
        _ => "any".into(),
    };
    let mut f = blank(&ty);
    f.nullable = flag(schema, "nullable")
        || schema
            .get("type")
            .and_then(Value::as_array)
            .is_some_and(|ts| ts.iter().any(|t| t == "null"));
    f.format = schema
        .get("format")
        .and_then(Value::as_str)
        .map(str::to_string);
    f.deprecated = flag(schema, "deprecated");
    let mut enums: Vec<String> = schema
        .get("enum")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .map(|v| scalar_string(v).unwrap_or_else(|| v.to_string()))
                .collect()
        })
        .unwrap_or_default();
    enums.sort();
    enums.dedup();
    f.enum_values = enums;
    f.pattern = schema
        .get("pattern")
        .and_then(Value::as_str)
        .map(str::to_string);
    f.min_length = num(schema, "minLength");
    f.max_length = num(schema, "maxLength");
    f.minimum = num(schema, "minimum");
    f.maximum = num(schema, "maximum");
    f.min_items = num(schema, "minItems");
    f.max_items = num(schema, "maxItems");
    // 3.0 has boolean exclusive flags; 3.1 puts the bound itself there.
    for (key, bound, excl) in [
        ("exclusiveMinimum", &mut f.minimum, &mut f.exclusive_minimum),
        ("exclusiveMaximum", &mut f.maximum, &mut f.exclusive_maximum),
    ] {
        match schema.get(key) {
            Some(Value::Bool(b)) => *excl = *b,
            Some(Value::Number(n)) => {
                *bound = Some(n.to_string());
                *excl = true;
            }
            _ => {}
        }
    }
    f
}

/// allOf members merged into one object schema: properties from every member (later members win
/// on a clash), `required` unioned, other keywords taken from the first member that has them.
fn flatten_all_of(doc: &Value, schema: &Value, depth: usize) -> Value {
    let mut out = serde_json::Map::new();
    let mut props = serde_json::Map::new();
    let mut required: Vec<Value> = Vec::new();
    let mut absorb = |s: &Value, out: &mut serde_json::Map<String, Value>| {
        if let Some(obj) = s.as_object() {
            for (k, v) in obj {
                match k.as_str() {
                    "allOf" | "$ref" => {}
                    "properties" => {
                        if let Some(p) = v.as_object() {
                            for (pk, pv) in p {
                                props.insert(pk.clone(), pv.clone());
                            }
                        }
                    }
                    "required" => {
                        for r in v.as_array().into_iter().flatten() {
                            if !required.contains(r) {
                                required.push(r.clone());
                            }
                        }
                    }
                    _ => {
                        out.entry(k.clone()).or_insert_with(|| v.clone());
                    }
                }
            }
        }
    };
    absorb(schema, &mut out);
    for member in schema
        .get("allOf")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let (m, _) = resolve(doc, member);
        let m = if m.get("allOf").is_some() && depth < 16 {
            flatten_all_of(doc, m, depth + 1)
        } else {
            m.clone()
        };
        absorb(&m, &mut out);
    }
    if !props.is_empty() {
        out.insert("properties".into(), Value::Object(props));
        out.entry("type".to_string())
            .or_insert_with(|| Value::String("object".into()));
    }
    if !required.is_empty() {
        out.insert("required".into(), Value::Array(required));
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn qr_doc(extra_schemas: &str, body_schema: &str) -> Value {
        let text = format!(
            r##"
openapi: 3.0.0
info: {{title: QR, version: "1"}}
servers: [{{url: "https://api.vipps.no/qr"}}]
paths:
  /v1/merchant-redirect:
    post:
      requestBody:
        required: true
        content:
          application/json:
            schema: {body_schema}
      responses:
        200:
          description: OK
          content:
            application/json:
              schema: {{$ref: "#/components/schemas/Node"}}
  /v1/exchange:
    post:
      responses: {{"200": {{description: OK}}}}
components:
  schemas:
    Node:
      type: object
      required: [id]
      properties:
        id: {{type: string, maxLength: 128}}
        child: {{$ref: "#/components/schemas/Node"}}
{extra_schemas}
"##
        );
        parse(&text).expect("test spec parses")
    }

    fn fields(s: &Surface, op: &str) -> Vec<String> {
        let o = s.operations.iter().find(|o| o.name == op).expect("op");
        o.request
            .iter()
            .chain(o.responses.iter().filter_map(|r| r.body.as_ref()))
            .flat_map(|b| {
                b.fields
                    .iter()
                    .map(|f| format!("{}: {}", b.display(&f.path), field_attrs(f)))
            })
            .collect()
    }

    #[test]
    fn folds_server_paths_and_lists_unused_operations() {
        let s = Surface::from_document(
            Api::Qr,
            qr_doc("", r##"{$ref: "#/components/schemas/Node"}"##),
        );
        assert_eq!(s.operations.len(), 1);
        assert_eq!(s.operations[0].name, "create_redirect_qr");
        assert_eq!(s.unused, vec!["POST /qr/v1/exchange".to_string()]);
        assert!(s.missing.contains(&"delete_redirect_qr"));
        assert_eq!(s.operations[0].statuses, vec!["200".to_string()]);
    }

    #[test]
    fn recursive_schemas_stop_at_the_cycle() {
        let s = Surface::from_document(
            Api::Qr,
            qr_doc("", r##"{$ref: "#/components/schemas/Node"}"##),
        );
        let f = fields(&s, "create_redirect_qr");
        assert!(
            f.contains(&"Node.child: recursive Node ref=Node".to_string()),
            "{f:#?}"
        );
        assert!(
            f.contains(&"Node.id: string required length=..128".to_string()),
            "{f:#?}"
        );
    }

    #[test]
    fn all_of_merges_and_one_of_names_variants() {
        let extra = r##"
    Base: {type: object, required: [a], properties: {a: {type: integer, minimum: 1}}}
    Legacy: {title: LegacyTitle, type: object, properties: {amount: {type: integer}}}
"##;
        let body = r##"{type: object, properties: {merged: {allOf: [{$ref: "#/components/schemas/Base"}, {properties: {b: {type: string, enum: [Y, X]}}}]}, pricing: {oneOf: [{$ref: "#/components/schemas/Legacy"}, {type: object, title: Flex, properties: {currency: {type: string}}}, {type: string}]}, tags: {type: array, maxItems: 5, items: {type: string, nullable: true}}}}"##;
        let s = Surface::from_document(Api::Qr, qr_doc(extra, body));
        let f = fields(&s, "create_redirect_qr");
        for want in [
            "body.merged: object",
            "body.merged.a: integer required range=1..",
            "body.merged.b: string enum=[X, Y]",
            "body.pricing: oneOf variants=[#2, Flex, Legacy]",
            "body.pricing<Legacy>: object ref=Legacy",
            "body.pricing<Legacy>.amount: integer",
            "body.pricing<Flex>.currency: string",
            "body.pricing<#2>: string",
            "body.tags: array items=..5",
            "body.tags[]: string nullable",
        ] {
            assert!(f.contains(&want.to_string()), "missing {want}: {f:#?}");
        }
    }

    #[test]
    fn broken_refs_are_named_not_followed() {
        let body = r##"{type: object, properties: {x: {$ref: "#/components/schemas/Nope"}, y: {$ref: "#components/schemas/Node"}}}"##;
        let s = Surface::from_document(Api::Qr, qr_doc("", body));
        let f = fields(&s, "create_redirect_qr");
        assert!(
            f.iter().any(|l| l.starts_with("body.x: unresolved $ref")),
            "{f:#?}"
        );
        // The `#components/...` typo of a published version still resolves.
        assert!(
            f.contains(&"body.y.id: string required length=..128".to_string()),
            "{f:#?}"
        );
    }

    #[test]
    fn swagger_and_garbage_are_errors() {
        assert!(matches!(
            parse("swagger: '2.0'\n"),
            Err(SpecError::Swagger2 { .. })
        ));
        assert!(matches!(
            parse("openapi: 2.5\n"),
            Err(SpecError::NotOpenApi3)
        ));
        assert!(matches!(parse("- a\n- b\n"), Err(SpecError::NotAMapping)));
        assert!(matches!(parse("a: [\n"), Err(SpecError::Syntax(_))));
        assert!(matches!(parse(""), Err(SpecError::NotAMapping)));
    }

    #[test]
    fn any_parsed_document_gives_a_surface_without_panicking() {
        // Odd shapes where objects are expected must not panic.
        for text in [
            "openapi: 3.0.0\npaths: 5\n",
            "openapi: 3.0.0\npaths: {/qr/v1/merchant-redirect: {post: {parameters: 3, requestBody: [], responses: {200: 1}}}}\n",
            "openapi: 3.0.0\npaths: {/qr/v1/merchant-redirect: {post: {requestBody: {content: {application/json: {schema: {$ref: 7}}}}}}}\n",
            "openapi: 3.0.0\nservers: [{url: 3}]\npaths: {}\n",
        ] {
            let doc = parse(text).expect("parses");
            let _ = Surface::from_document(Api::Qr, doc).to_text();
        }
    }
}
