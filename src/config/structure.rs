//! Structural checks: the YAML tree against the config's own JSON Schema (the subset schemars
//! emits). Walking the schema instead of relying on serde reports every problem with its place,
//! not only the first one, and keeps `validate` and the editor in agreement.

use super::diagnostic::Severity;
use super::tree::{key_text, Node, Value};
use serde_json::Value as J;
use std::collections::HashMap;

/// A problem in one file, before it is turned into a `Diagnostic`.
#[derive(Debug, Clone)]
pub struct Issue {
    pub severity: Severity,
    pub line: usize,
    pub column: usize,
    pub message: String,
    pub hint: Option<String>,
    pub code: &'static str,
}

impl Issue {
    fn error(node: &Node, code: &'static str, message: String) -> Self {
        Issue {
            severity: Severity::Error,
            line: node.line,
            column: node.column,
            message,
            hint: None,
            code,
        }
    }

    fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

/// Words that YAML 1.1 reads as booleans; YAML 1.2 (and vippsctl) read them as strings.
const YAML11_BOOLS: &[&str] = &[
    "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO", "on", "On", "ON", "off", "Off",
    "OFF",
];

pub struct Checker<'s> {
    root: &'s J,
    regexes: HashMap<String, Option<regress::Regex>>,
}

impl<'s> Checker<'s> {
    pub fn new(root: &'s J) -> Self {
        Checker {
            root,
            regexes: HashMap::new(),
        }
    }

    pub fn check(&mut self, node: &Node, out: &mut Vec<Issue>) {
        let root = self.root;
        self.walk(node, root, "", out);
    }

    /// Check a node against one named definition (`"Webhook"`, `"Merchant"`).
    pub fn check_definition(&mut self, node: &Node, name: &str, out: &mut Vec<Issue>) {
        if let Some(def) = self.root.get("definitions").and_then(|d| d.get(name)) {
            self.walk(node, def, "", out);
        }
    }

    /// The required property names of a named definition.
    pub fn required(&self, name: &str) -> Vec<String> {
        self.root
            .get("definitions")
            .and_then(|d| d.get(name))
            .and_then(|d| d.get("required"))
            .and_then(J::as_array)
            .map(|r| {
                r.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// `node` checked against definition `def`, with each type error that has one obvious fix
    /// fixed: the fix the hint suggests (`msn: 123456` read as "123456", `amount: "100"` as 100,
    /// `events: x` as `[x]`). Used only to keep checking an invalid file: the errors are
    /// reported anyway, and the repaired values let the cross-object rules run on the objects.
    pub fn repair(&self, node: &Node, def: &str) -> Node {
        match self.root.get("definitions").and_then(|d| d.get(def)) {
            Some(schema) => self.repair_walk(node, schema, 0),
            None => node.clone(),
        }
    }

    fn repair_walk(&self, node: &Node, schema: &'s J, depth: usize) -> Node {
        let schema = self.resolve(schema);
        if depth > super::tree::MAX_DEPTH {
            return node.clone();
        }
        // `allOf` only stands for the schema when it has no type of its own (schemars wraps a
        // `$ref` with a description in one); otherwise it holds extra conditions.
        let parts = schema
            .get("anyOf")
            .or_else(|| schema.get("oneOf"))
            .or_else(|| schema.get("allOf").filter(|_| schema.get("type").is_none()))
            .and_then(J::as_array);
        if let Some(parts) = parts {
            let non_null: Vec<&J> = parts
                .iter()
                .filter(|v| v.get("type").and_then(J::as_str) != Some("null"))
                .collect();
            if matches!(node.value, Value::Null) && non_null.len() < parts.len() {
                return node.clone();
            }
            // The one variant this node can be: the only one, the one its `type` tag names, or
            // the only one with all its keys.
            let chosen = match non_null.as_slice() {
                [one] => Some(*one),
                many => many
                    .iter()
                    .find(|v| {
                        let v = self.resolve(v);
                        let tag = v.pointer("/properties/type/const").and_then(J::as_str);
                        tag.is_some() && tag == node.get("type").and_then(Node::as_str)
                    })
                    .or_else(|| {
                        let Value::Map(entries) = &node.value else {
                            return None;
                        };
                        let mut fitting = many.iter().filter(|v| {
                            let props = self.resolve(v).get("properties").and_then(J::as_object);
                            props.is_some_and(|p| {
                                entries.iter().all(|(k, _)| p.contains_key(&key_text(k)))
                            })
                        });
                        match (fitting.next(), fitting.next()) {
                            (Some(v), None) => Some(v),
                            _ => None,
                        }
                    })
                    .copied(),
            };
            return match chosen {
                Some(v) => self.repair_walk(node, v, depth + 1),
                None => node.clone(),
            };
        }
        let types: Vec<&str> = match schema.get("type") {
            Some(J::String(t)) => vec![t.as_str()],
            Some(J::Array(ts)) => ts.iter().filter_map(J::as_str).collect(),
            _ => return node.clone(),
        };
        if types.iter().any(|t| type_matches(node, t)) {
            let mut out = node.clone();
            match &mut out.value {
                Value::Map(entries) => {
                    let props = schema.get("properties").and_then(J::as_object);
                    for (k, v) in entries.iter_mut() {
                        if let Some(s) = props.and_then(|p| p.get(&key_text(k))) {
                            *v = self.repair_walk(v, s, depth + 1);
                        }
                    }
                }
                Value::Seq(items) => {
                    if let Some(s) = schema.get("items") {
                        for item in items.iter_mut() {
                            *item = self.repair_walk(item, s, depth + 1);
                        }
                    }
                }
                _ => {}
            }
            return out;
        }
        let with = |value: Value| Node {
            value,
            ..node.clone()
        };
        let raw = node.raw.as_deref();
        match (&node.value, types.as_slice()) {
            (Value::Int(_) | Value::Float(_) | Value::Bool(_), t) if t.contains(&"string") => {
                raw.map_or_else(|| node.clone(), |r| with(Value::Str(r.to_string())))
            }
            (Value::Str(s), t) if t.contains(&"integer") || t.contains(&"number") => s
                .trim()
                .replace('_', "")
                .parse::<i64>()
                .map_or_else(|_| node.clone(), |i| with(Value::Int(i))),
            (Value::Str(s), t) if t.contains(&"boolean") => match s.as_str() {
                "yes" | "Yes" | "YES" | "on" | "On" | "ON" | "y" | "Y" => with(Value::Bool(true)),
                "no" | "No" | "NO" | "off" | "Off" | "OFF" | "n" | "N" => with(Value::Bool(false)),
                _ => node.clone(),
            },
            (Value::Str(_) | Value::Int(_) | Value::Float(_) | Value::Bool(_), t)
                if t.contains(&"array") =>
            {
                let item = match schema.get("items") {
                    Some(s) => self.repair_walk(node, s, depth + 1),
                    None => node.clone(),
                };
                with(Value::Seq(vec![item]))
            }
            _ => node.clone(),
        }
    }

    fn resolve(&self, schema: &'s J) -> &'s J {
        let mut s = schema;
        // A bounded loop: schemars never chains more than a couple of references.
        for _ in 0..8 {
            match s.get("$ref").and_then(J::as_str) {
                Some(r) => {
                    let name = r.rsplit('/').next().unwrap_or_default();
                    match self.root.get("definitions").and_then(|d| d.get(name)) {
                        Some(d) => s = d,
                        None => return s,
                    }
                }
                None => return s,
            }
        }
        s
    }

    fn walk(&mut self, node: &Node, schema: &'s J, field: &str, out: &mut Vec<Issue>) {
        let schema = self.resolve(schema);
        if let Some(all) = schema.get("allOf").and_then(J::as_array) {
            for s in all {
                self.walk(node, s, field, out);
            }
        }
        if let Some(variants) = schema
            .get("anyOf")
            .or_else(|| schema.get("oneOf"))
            .and_then(J::as_array)
        {
            self.alternatives(node, variants, field, out);
            return;
        }
        if let Some(c) = schema.get("const") {
            if !json_eq(node, c) {
                out.push(Issue::error(
                    node,
                    "invalid-value",
                    format!("{} must be {c}", name(field)),
                ));
            }
            return;
        }
        let Some(types) = schema.get("type") else {
            return;
        };
        let types: Vec<&str> = match types {
            J::String(t) => vec![t.as_str()],
            J::Array(ts) => ts.iter().filter_map(J::as_str).collect(),
            _ => vec![],
        };
        if !types.iter().any(|t| type_matches(node, t)) {
            out.push(type_error(node, &types, field));
            return;
        }
        match &node.value {
            Value::Str(s) => self.string(node, s, schema, field, out),
            Value::Int(i) => number(node, *i as f64, schema, field, out),
            Value::Float(f) => number(node, *f, schema, field, out),
            Value::Seq(items) => {
                if let Some(min) = schema.get("minItems").and_then(J::as_u64) {
                    if (items.len() as u64) < min {
                        let hint = match leaf(field) {
                            "events" => {
                                "list the events to deliver, e.g. epayments.payment.captured.v1"
                                    .to_string()
                            }
                            _ => format!("list at least {min}"),
                        };
                        out.push(
                            Issue::error(node, "empty-list", format!("{} is empty", name(field)))
                                .hint(hint),
                        );
                    }
                }
                let item_schema = schema.get("items");
                let unique = schema.get("uniqueItems").and_then(J::as_bool) == Some(true);
                for (i, item) in items.iter().enumerate() {
                    if let Some(s) = item_schema {
                        self.walk(item, s, &format!("{field}[{i}]"), out);
                    }
                    if unique && items[..i].iter().any(|prev| prev.value == item.value) {
                        out.push(Issue::error(
                            item,
                            "duplicate-item",
                            format!("{} lists {} twice", name(field), shown(item)),
                        ));
                    }
                }
            }
            Value::Map(entries) => self.object(node, entries, schema, field, out),
            Value::Null | Value::Bool(_) => {}
        }
    }

    fn alternatives(&mut self, node: &Node, variants: &'s [J], field: &str, out: &mut Vec<Issue>) {
        // `Option<T>`: null is fine, anything else is checked against T alone.
        let non_null: Vec<&J> = variants
            .iter()
            .filter(|v| v.get("type").and_then(J::as_str) != Some("null"))
            .collect();
        if matches!(node.value, Value::Null) && non_null.len() < variants.len() {
            return;
        }
        if non_null.len() == 1 {
            self.walk(node, non_null[0], field, out);
            return;
        }
        // A string enum, as schemars writes a unit-variant enum: one `const` per variant.
        let consts: Vec<&str> = non_null
            .iter()
            .filter_map(|v| v.get("const").and_then(J::as_str))
            .collect();
        if consts.len() == non_null.len() {
            self.enumeration(node, &consts, field, out);
            return;
        }
        // An internally tagged enum: choose the variant by its `type`.
        let tags: Vec<(&str, &J)> = non_null
            .iter()
            .filter_map(|v| {
                let t = v.get("properties")?.get("type")?.get("const")?.as_str()?;
                Some((t, *v))
            })
            .collect();
        if tags.len() == non_null.len() {
            let Value::Map(_) = node.value else {
                out.push(type_error(node, &["object"], field));
                return;
            };
            let names: Vec<&str> = tags.iter().map(|(t, _)| *t).collect();
            match node.get("type") {
                None => out.push(
                    Issue::error(
                        node,
                        "missing-field",
                        format!("{} needs a `type`", name(field)),
                    )
                    .hint(format!("one of {}", names.join(", "))),
                ),
                Some(t) => match tags.iter().find(|(name, _)| t.as_str() == Some(name)) {
                    Some((_, variant)) => self.walk(node, variant, field, out),
                    None => self.enumeration(t, &names, &format!("{field}.type"), out),
                },
            }
            return;
        }
        if self.forms(node, &non_null, field, out) {
            return;
        }
        // Untagged: accept the first variant that fits; otherwise report the closest one.
        let mut best: Option<Vec<Issue>> = None;
        for v in non_null {
            let mut trial = Vec::new();
            self.walk(node, v, field, &mut trial);
            if !trial.iter().any(|i| i.severity == Severity::Error) {
                out.extend(trial);
                return;
            }
            if best.as_ref().is_none_or(|b| trial.len() < b.len()) {
                best = Some(trial);
            }
        }
        out.extend(best.unwrap_or_default());
    }

    /// Untagged mappings (a secret sink: `{ file, key }` or `{ command }`): a value where a
    /// mapping belongs, or a mapping that mixes two forms, gets one message naming the forms
    /// instead of the closest form's complaints. Returns whether it reported.
    fn forms(&self, node: &Node, variants: &[&J], field: &str, out: &mut Vec<Issue>) -> bool {
        let forms: Option<Vec<Vec<&str>>> = variants
            .iter()
            .map(|v| {
                let v = self.resolve(v);
                (v.get("type").and_then(J::as_str) == Some("object")).then_some(())?;
                let props = v.get("properties")?.as_object()?;
                Some(props.keys().map(String::as_str).collect())
            })
            .collect();
        let Some(forms) = forms.filter(|f| f.len() > 1) else {
            return false;
        };
        let listed: Vec<String> = forms
            .iter()
            .map(|f| format!("`{{ {} }}`", f.join(", ")))
            .collect();
        let listed = match listed.split_last() {
            Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
            _ => listed.join(""),
        };
        let Value::Map(entries) = &node.value else {
            // The value is not shown: where a sink belongs, a pasted value is likely the secret.
            let mut issue = Issue::error(
                node,
                "wrong-type",
                format!(
                    "{} must be a mapping of one of these forms: {listed}; found {}",
                    name(field),
                    node.type_name()
                ),
            );
            if leaf(field) == "secret" {
                issue = issue.hint(
                    "the webhook secret itself never goes in the configuration: Vipps creates it when the webhook is registered, and vippsctl hands it to the sink named here",
                );
            }
            out.push(issue);
            return true;
        };
        let keys: Vec<String> = entries.iter().map(|(k, _)| key_text(k)).collect();
        let touched: Vec<usize> = (0..forms.len())
            .filter(|&i| {
                keys.iter().any(|k| {
                    forms[i].contains(&k.as_str())
                        && forms
                            .iter()
                            .enumerate()
                            .all(|(j, f)| j == i || !f.contains(&k.as_str()))
                })
            })
            .collect();
        if touched.len() < 2 {
            return false;
        }
        let what = if leaf(field) == "secret" {
            "a secret sink takes"
        } else {
            "it takes"
        };
        out.push(
            Issue::error(
                node,
                "mixed-forms",
                format!("{} mixes two forms: {what} one of {listed}", name(field)),
            )
            .hint("keep the fields of one form and remove the others"),
        );
        true
    }

    fn enumeration(&mut self, node: &Node, allowed: &[&str], field: &str, out: &mut Vec<Issue>) {
        let Some(s) = node.as_str() else {
            out.push(
                type_error(node, &["string"], field).hint(format!("one of {}", allowed.join(", "))),
            );
            return;
        };
        if allowed.contains(&s) {
            return;
        }
        let mut issue = Issue::error(
            node,
            "invalid-value",
            format!(
                "{} `{}` is not one of {}",
                name(field),
                written(node, s),
                allowed.join(", ")
            ),
        );
        if field.starts_with("merchants[")
            && field.contains(".prune[")
            && s.eq_ignore_ascii_case("agreements")
        {
            issue = issue
                .hint("agreements are never pruned; stop one by setting `status: STOPPED` on it");
        } else if let Some(close) = did_you_mean(s, allowed.iter().copied()) {
            issue = issue.hint(format!("did you mean `{close}`?"));
        }
        out.push(issue);
    }

    fn object(
        &mut self,
        node: &Node,
        entries: &[(Node, Node)],
        schema: &'s J,
        field: &str,
        out: &mut Vec<Issue>,
    ) {
        let props = schema.get("properties").and_then(J::as_object);
        let closed = schema.get("additionalProperties").and_then(J::as_bool) == Some(false);
        let known: Vec<&str> = props
            .map(|p| p.keys().map(String::as_str).collect())
            .unwrap_or_default();
        for (i, (k, v)) in entries.iter().enumerate() {
            let key = key_text(k);
            if let Some((first, _)) = entries[..i].iter().find(|(p, _)| key_text(p) == key) {
                out.push(
                    Issue::error(k, "duplicate-key", format!("duplicate key `{key}`"))
                        .hint(format!("`{key}` is already set at line {}", first.line)),
                );
                continue;
            }
            let path = if field.is_empty() {
                key.clone()
            } else {
                format!("{field}.{key}")
            };
            match props.and_then(|p| p.get(&key)) {
                Some(s) => self.walk(v, s, &path, out),
                None if closed => {
                    let mut issue =
                        Issue::error(k, "unknown-field", format!("unknown field `{key}`"));
                    issue = match did_you_mean(&key, known.iter().copied()) {
                        Some(close) => issue.hint(format!("did you mean `{close}`?")),
                        None => issue.hint(format!("expected one of: {}", known.join(", "))),
                    };
                    out.push(issue);
                }
                None => {}
            }
        }
        for req in schema
            .get("required")
            .and_then(J::as_array)
            .into_iter()
            .flatten()
        {
            let Some(req) = req.as_str() else { continue };
            if !entries.iter().any(|(k, _)| k.as_str() == Some(req)) {
                let what = if field.is_empty() {
                    "the file".to_string()
                } else {
                    format!("`{field}`")
                };
                out.push(Issue::error(
                    node,
                    "missing-field",
                    format!("missing required field `{req}` in {what}"),
                ));
            }
        }
    }

    fn string(&mut self, node: &Node, s: &str, schema: &'s J, field: &str, out: &mut Vec<Issue>) {
        if node.plain && YAML11_BOOLS.contains(&s) {
            out.push(Issue {
                severity: Severity::Warning,
                ..Issue::error(
                    node,
                    "yaml11-boolean",
                    format!(
                        "{} `{s}` is unquoted: YAML 1.1 tools read it as a boolean",
                        name(field)
                    ),
                )
                .hint(format!(
                    "vippsctl reads it as the string \"{s}\"; quote it to be sure: \"{s}\""
                ))
            });
        }
        let len = s.chars().count() as u64;
        let leaf = leaf(field);
        if let Some(max) = schema.get("maxLength").and_then(J::as_u64) {
            if len > max {
                out.push(
                    Issue::error(
                        node,
                        "too-long",
                        format!(
                            "{} is {len} characters long; at most {max} are allowed",
                            name(field)
                        ),
                    )
                    .hint(format!(
                        "the API refuses a `{leaf}` longer than {max} characters"
                    )),
                );
            }
        }
        if let Some(min) = schema.get("minLength").and_then(J::as_u64) {
            if len < min {
                out.push(Issue::error(
                    node,
                    "empty-string",
                    format!("{} is empty", name(field)),
                ));
                return;
            }
        }
        if let Some(pattern) = schema.get("pattern").and_then(J::as_str) {
            let re = self
                .regexes
                .entry(pattern.to_string())
                .or_insert_with(|| regress::Regex::with_flags(pattern, "u").ok());
            if let Some(re) = re {
                if re.find(s).is_none() {
                    out.push(pattern_issue(node, s, field, pattern));
                }
            }
        }
    }
}

/// A string as the user wrote it: values from `${NAME}` may be secrets, so messages show the
/// reference, never what it expanded to.
fn written(node: &Node, value: &str) -> String {
    match &node.raw {
        Some(raw) if raw.contains("${") => raw.clone(),
        _ => value.to_string(),
    }
}

/// A value that does not match its pattern; `value` is what it expanded to, the message shows
/// it as written.
fn pattern_issue(node: &Node, value: &str, field: &str, pattern: &str) -> Issue {
    let leaf = leaf(field);
    let s = &written(node, value);
    let url_what = match leaf {
        "url" => Some("webhook `url`".to_string()),
        "merchantRedirectUrl" | "merchantAgreementUrl" => Some(format!("`{leaf}`")),
        _ => None,
    };
    if let Some(what) = url_what {
        let (code, message, hint) = super::rules::https_problem(value, &what).unwrap_or((
            "insecure-url",
            format!("{what} must start with `https://`"),
            Some("the Vipps APIs call and open HTTPS URLs only"),
        ));
        let issue = Issue::error(node, code, message);
        return match hint {
            Some(h) => issue.hint(h),
            None => issue,
        };
    }
    let (code, message, hint) = match leaf {
        "msn" => (
            "invalid-msn",
            format!("MSN `{s}` is not 4-10 digits"),
            "a Merchant Serial Number is the sales unit's number, e.g. \"123456\"".to_string(),
        ),
        "id" => (
            "invalid-qr-id",
            format!("QR id `{s}` has characters the QR API refuses"),
            "use letters, digits, spaces, `-`, `_`, `+`, `%` and æøå".to_string(),
        ),
        "redirectUrl" => (
            "invalid-url",
            format!("redirectUrl `{s}` is not an https URL that the QR API accepts"),
            format!("the QR API requires the pattern {pattern}"),
        ),
        "phoneNumber" => (
            "invalid-phone",
            format!("phoneNumber `{}` is not an MSISDN", crate::mask::phone(s)),
            "write 10-15 digits with the country code and no `+`, e.g. 4712345678".to_string(),
        ),
        "clientId" | "clientSecret" | "subscriptionKey" => (
            "credential-value",
            format!("`{leaf}` must name an environment variable, not hold a value"),
            "put the value in an environment variable (e.g. SHOP_CLIENT_SECRET) and write its name here".to_string(),
        ),
        _ => (
            "invalid-name",
            format!("{} `{s}` is not a valid name", name(field)),
            "use letters, digits and `_`, not starting with a digit".to_string(),
        ),
    };
    Issue::error(node, code, message).hint(hint)
}

fn number(node: &Node, n: f64, schema: &J, field: &str, out: &mut Vec<Issue>) {
    let shown = node.raw.clone().unwrap_or_else(|| n.to_string());
    if field == "version" && n != 1.0 {
        out.push(
            Issue::error(
                node,
                "unsupported-version",
                format!("unsupported `version: {shown}`"),
            )
            .hint("this vippsctl reads version 1 files"),
        );
        return;
    }
    if let Some(min) = schema.get("minimum").and_then(J::as_f64) {
        if n < min {
            let hint = match leaf(field) {
                "amount" | "suggestedMaxAmount" => "amounts are positive, in minor units (øre, cent): 29900 is 299.00",
                "ttl" => "a redirect QR lives at least 300 seconds; omit `ttl` for a code that never expires",
                _ => "",
            };
            let issue = Issue::error(
                node,
                "out-of-range",
                format!("{} is {shown}; the minimum is {min}", name(field)),
            );
            out.push(if hint.is_empty() {
                issue
            } else {
                issue.hint(hint)
            });
        }
    }
    if let Some(max) = schema.get("maximum").and_then(J::as_f64) {
        if n > max {
            out.push(Issue::error(
                node,
                "out-of-range",
                format!("{} is {shown}; the maximum is {max}", name(field)),
            ));
        }
    }
}

fn type_matches(node: &Node, t: &str) -> bool {
    matches!(
        (&node.value, t),
        (Value::Null, "null")
            | (Value::Bool(_), "boolean")
            | (Value::Int(_), "integer" | "number")
            | (Value::Float(_), "number")
            | (Value::Str(_), "string")
            | (Value::Seq(_), "array")
            | (Value::Map(_), "object")
    )
}

fn type_error(node: &Node, expected: &[&str], field: &str) -> Issue {
    let want: Vec<&str> = expected
        .iter()
        .filter(|t| **t != "null")
        .map(|t| match *t {
            "string" => "a string",
            "integer" => "a whole number",
            "number" => "a number",
            "boolean" => "true or false",
            "array" => "a list",
            "object" => "a mapping",
            _ => "a value",
        })
        .collect();
    let want = want.join(" or ");
    let found = match &node.value {
        Value::Int(_) | Value::Float(_) => {
            format!("the number {}", node.raw.as_deref().unwrap_or("?"))
        }
        Value::Bool(_) => format!("the boolean {}", node.raw.as_deref().unwrap_or("?")),
        Value::Null => "nothing".to_string(),
        Value::Str(s) => format!("the string \"{}\"", written(node, s)),
        _ => node.type_name().to_string(),
    };
    let issue = Issue::error(
        node,
        "wrong-type",
        format!("{}: expected {want}, found {found}", name(field)),
    );
    let raw = node.raw.as_deref().unwrap_or_default();
    match (&node.value, expected.contains(&"string")) {
        (Value::Int(_) | Value::Float(_), true) => issue.hint(format!(
            "unquoted, `{raw}` is a number in YAML (leading zeros are lost); quote it: \"{raw}\""
        )),
        (Value::Bool(_), true) => issue.hint(format!("quote it: \"{raw}\"")),
        (Value::Str(s), false)
            if expected.contains(&"boolean") && YAML11_BOOLS.contains(&s.as_str()) =>
        {
            issue.hint(format!(
                "`{s}` is a string in YAML 1.2; write true or false"
            ))
        }
        (Value::Str(s), false)
            if (expected.contains(&"integer") || expected.contains(&"number"))
                && s.replace(['_', ' ', '.', ','], "")
                    .chars()
                    .all(|c| c.is_ascii_digit()) =>
        {
            issue.hint("write a plain whole number without quotes or separators")
        }
        (Value::Null, _) => issue.hint("give it a value, or remove the line"),
        (Value::Float(_), false) if expected.contains(&"integer") => {
            issue.hint("write a whole number; amounts are in minor units (29900 is 299.00)")
        }
        (Value::Str(s), false) if expected.contains(&"array") => {
            issue.hint(format!("write a list, even of one item: [{s}]"))
        }
        (Value::Map(_), false) if expected.contains(&"array") => {
            issue.hint("start each item of a list with `- `")
        }
        _ => issue,
    }
}

fn json_eq(node: &Node, c: &J) -> bool {
    match (&node.value, c) {
        (Value::Str(s), J::String(t)) => s == t,
        (Value::Int(i), J::Number(n)) => n.as_i64() == Some(*i),
        (Value::Bool(b), J::Bool(t)) => b == t,
        _ => false,
    }
}

fn name(field: &str) -> String {
    if field.is_empty() {
        "the file".into()
    } else {
        format!("`{}`", leaf(field))
    }
}

fn leaf(field: &str) -> &str {
    let last = field.rsplit('.').next().unwrap_or(field);
    match last.find('[') {
        Some(0) | None => last,
        Some(i) => &last[..i],
    }
}

fn shown(node: &Node) -> String {
    match (&node.value, &node.raw) {
        (Value::Str(s), _) => format!("`{s}`"),
        (_, Some(r)) => format!("`{r}`"),
        _ => "an item".into(),
    }
}

/// The closest known name within a small edit distance (typos, wrong case).
pub fn did_you_mean<'a>(word: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let lower = word.to_lowercase();
    candidates
        .map(|c| (edit_distance(&lower, &c.to_lowercase()), c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 4))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}
