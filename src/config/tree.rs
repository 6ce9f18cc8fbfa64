//! A YAML document as a tree that remembers where every value was written. serde_yaml locates
//! only its own errors; every later check needs a line and column, so the loader works on this.

use yaml_rust2::parser::{Event, Parser};
use yaml_rust2::scanner::TScalarStyle;

/// Deeper nesting than any config needs; the cap keeps recursion (here and in the checks) bounded.
pub const MAX_DEPTH: usize = 64;
/// Nodes that aliases may add by expansion, per file (a "billion laughs" file stops here).
pub const MAX_ALIAS_NODES: usize = 100_000;
/// Values written in one file. A 10,000-object config has about 150,000; the cap bounds the
/// memory of the tree and of the diagnostics a huge wrong file would otherwise produce (one per
/// bad item: a 16 MiB list of numbers took about 1 GiB).
pub const MAX_NODES: usize = 500_000;

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub value: Value,
    /// 1-based.
    pub line: usize,
    /// 1-based.
    pub column: usize,
    /// The scalar as written, for messages about how YAML read it.
    pub raw: Option<String>,
    /// An unquoted scalar: the only kind YAML turns into numbers and booleans.
    pub plain: bool,
}

impl Node {
    pub fn type_name(&self) -> &'static str {
        match self.value {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Int(_) => "an integer",
            Value::Float(_) => "a number",
            Value::Str(_) => "a string",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }

    /// The same position with no value, to build derived nodes from.
    pub fn clone_shallow(&self) -> Node {
        Node {
            value: Value::Null,
            line: self.line,
            column: self.column,
            raw: None,
            plain: false,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.value {
            Value::Map(entries) => entries
                .iter()
                .find(|(k, _)| k.as_str() == Some(key))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    fn count(&self) -> usize {
        match &self.value {
            Value::Seq(items) => 1 + items.iter().map(Node::count).sum::<usize>(),
            Value::Map(entries) => {
                1 + entries
                    .iter()
                    .map(|(k, v)| k.count() + v.count())
                    .sum::<usize>()
            }
            _ => 1,
        }
    }

    /// The JSON form serde deserialises from (after the structural checks passed).
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match &self.value {
            Value::Null => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Int(i) => J::from(*i),
            Value::Float(f) => serde_json::Number::from_f64(*f).map_or(J::Null, J::Number),
            Value::Str(s) => J::String(s.clone()),
            Value::Seq(items) => J::Array(items.iter().map(Node::to_json).collect()),
            Value::Map(entries) => J::Object(
                entries
                    .iter()
                    .map(|(k, v)| (key_text(k), v.to_json()))
                    .collect(),
            ),
        }
    }
}

pub fn key_text(k: &Node) -> String {
    match (&k.value, &k.raw) {
        (Value::Str(s), _) => s.clone(),
        (_, Some(raw)) => raw.clone(),
        _ => format!("<{}>", k.type_name()),
    }
}

/// A syntax problem, with where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub line: usize,
    pub column: usize,
    pub message: String,
    pub hint: Option<String>,
    pub code: &'static str,
}

/// Parse one YAML document. `Ok(None)` for a file with no document at all.
pub fn parse(text: &str) -> Result<Option<Node>, SyntaxError> {
    let mut parser = Parser::new_from_str(text);
    let mut builder = Builder::default();
    loop {
        let (event, mark) = match parser.next_token() {
            Ok(t) => t,
            Err(e) => {
                let m = e.marker();
                // At the end of the input the scanner points past the last line; point at it.
                let (line, column) = match text.lines().count() {
                    n if m.line() > n && n > 0 => {
                        (n, text.lines().last().map_or(0, |l| l.chars().count()) + 1)
                    }
                    _ => (m.line().max(1), m.col() + 1),
                };
                return Err(SyntaxError {
                    line,
                    column,
                    message: format!("invalid YAML: {}", e.info()),
                    hint: syntax_hint(text, line, e.info()),
                    code: "yaml-syntax",
                });
            }
        };
        let (line, column) = (mark.line().max(1), mark.col() + 1);
        match event {
            Event::StreamEnd => break,
            Event::DocumentStart if builder.root.is_some() => {
                return Err(SyntaxError {
                    line,
                    column,
                    message: "a config file holds one YAML document; this is a second one".into(),
                    hint: Some("split the documents into separate files in one folder".into()),
                    code: "yaml-multi-document",
                });
            }
            Event::Nothing | Event::StreamStart | Event::DocumentStart | Event::DocumentEnd => {}
            Event::Scalar(text, style, anchor, tag) => {
                let node = scalar(
                    text,
                    style,
                    tag.as_ref().map(|t| t.suffix.as_str()),
                    line,
                    column,
                );
                builder.push(node, anchor).map_err(|m| m.at(line, column))?;
            }
            Event::Alias(id) => {
                let node = builder.alias(id).map_err(|m| m.at(line, column))?;
                builder.push(node, 0).map_err(|m| m.at(line, column))?;
            }
            Event::SequenceStart(anchor, _) => builder
                .open(Value::Seq(Vec::new()), anchor, line, column)
                .map_err(|m| m.at(line, column))?,
            Event::MappingStart(anchor, _) => builder
                .open(Value::Map(Vec::new()), anchor, line, column)
                .map_err(|m| m.at(line, column))?,
            Event::SequenceEnd | Event::MappingEnd => {
                builder.close().map_err(|m| m.at(line, column))?
            }
        }
    }
    Ok(builder.root)
}

/// The usual causes of a scanner error, named when they apply.
fn syntax_hint(text: &str, line: usize, info: &str) -> Option<String> {
    let l = text.lines().nth(line.saturating_sub(1)).unwrap_or_default();
    if l.trim_start_matches(' ').starts_with('\t') {
        Some("YAML does not allow tabs for indentation; use spaces".into())
    } else if info.contains("flow sequence") {
        Some("a `[` list needs a closing `]`".into())
    } else if info.contains("flow mapping") {
        Some("a `{` mapping needs a closing `}`".into())
    } else if info.contains("mapping values are not allowed") {
        Some("a value with `: ` in it needs quotes; or check the indentation".into())
    } else {
        None
    }
}

struct BuildError {
    message: String,
    hint: Option<String>,
    code: &'static str,
}

impl BuildError {
    fn at(self, line: usize, column: usize) -> SyntaxError {
        SyntaxError {
            line,
            column,
            message: self.message,
            hint: self.hint,
            code: self.code,
        }
    }
}

#[derive(Default)]
struct Builder {
    /// Open collections, with their anchor id and (for maps) a key waiting for its value.
    stack: Vec<(Node, usize, Option<Node>)>,
    anchors: std::collections::HashMap<usize, (Node, usize)>,
    alias_nodes: usize,
    nodes: usize,
    root: Option<Node>,
}

impl Builder {
    fn open(
        &mut self,
        value: Value,
        anchor: usize,
        line: usize,
        column: usize,
    ) -> Result<(), BuildError> {
        if self.stack.len() >= MAX_DEPTH {
            return Err(BuildError {
                message: format!("nesting deeper than {MAX_DEPTH} levels"),
                hint: Some(
                    "a vippsctl config is only a few levels deep; check the indentation".into(),
                ),
                code: "yaml-too-deep",
            });
        }
        let node = Node {
            value,
            line,
            column,
            raw: None,
            plain: false,
        };
        self.stack.push((node, anchor, None));
        Ok(())
    }

    fn close(&mut self) -> Result<(), BuildError> {
        match self.stack.pop() {
            Some((mut node, anchor, _)) => {
                // A block mapping "starts" at its first `:`; people look for its first key.
                if let Value::Map(entries) = &node.value {
                    if let Some((k, _)) = entries.first() {
                        (node.line, node.column) = (k.line, k.column);
                    }
                }
                self.push(node, anchor)
            }
            None => Ok(()),
        }
    }

    fn alias(&mut self, id: usize) -> Result<Node, BuildError> {
        let (node, size) = self.anchors.get(&id).cloned().ok_or_else(|| BuildError {
            message: "alias to an unknown anchor".into(),
            hint: None,
            code: "yaml-alias",
        })?;
        self.alias_nodes += size;
        if self.alias_nodes > MAX_ALIAS_NODES {
            return Err(BuildError {
                message: format!("aliases expand to more than {MAX_ALIAS_NODES} values"),
                hint: Some(
                    "nested aliases multiply (an \"alias bomb\"); write the values out instead"
                        .into(),
                ),
                code: "yaml-alias-limit",
            });
        }
        Ok(node)
    }

    fn push(&mut self, node: Node, anchor: usize) -> Result<(), BuildError> {
        self.nodes += 1;
        if self.nodes > MAX_NODES {
            return Err(BuildError {
                message: format!("more than {MAX_NODES} values in one file"),
                hint: Some("split the configuration over several files".into()),
                code: "yaml-too-large",
            });
        }
        if anchor != 0 {
            let size = node.count();
            self.anchors.insert(anchor, (node.clone(), size));
        }
        let Some((parent, _, pending_key)) = self.stack.last_mut() else {
            self.root = Some(node);
            return Ok(());
        };
        match &mut parent.value {
            Value::Seq(items) => items.push(node),
            Value::Map(entries) => match pending_key.take() {
                None => *pending_key = Some(node),
                Some(key) => entries.push((key, node)),
            },
            _ => {}
        }
        Ok(())
    }
}

fn scalar(
    text: String,
    style: TScalarStyle,
    tag: Option<&str>,
    line: usize,
    column: usize,
) -> Node {
    let plain = style == TScalarStyle::Plain;
    let value = match tag {
        Some("str") => Value::Str(text.clone()),
        _ if !plain => Value::Str(text.clone()),
        Some("int") => text
            .parse()
            .map(Value::Int)
            .unwrap_or_else(|_| Value::Str(text.clone())),
        _ => resolve_plain(&text),
    };
    Node {
        value,
        line,
        column,
        raw: Some(text),
        plain,
    }
}

/// The YAML 1.2 core schema: `yes`/`no`/`on`/`off` stay strings (the loader warns about them).
fn resolve_plain(text: &str) -> Value {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Value::Float(f64::INFINITY)
        }
        "-.inf" | "-.Inf" | "-.INF" => return Value::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Value::Float(f64::NAN),
        _ => {}
    }
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        return match text.parse::<i64>() {
            Ok(i) => Value::Int(i),
            Err(_) => text
                .parse::<f64>()
                .map(Value::Float)
                .unwrap_or(Value::Str(text.into())),
        };
    }
    if let Some(hex) = text.strip_prefix("0x") {
        if let Ok(i) = i64::from_str_radix(hex, 16) {
            return Value::Int(i);
        }
    }
    if let Some(oct) = text.strip_prefix("0o") {
        if let Ok(i) = i64::from_str_radix(oct, 8) {
            return Value::Int(i);
        }
    }
    let looks_float = text.bytes().any(|b| b.is_ascii_digit())
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'-' | b'+'));
    if looks_float {
        if let Ok(f) = text.parse::<f64>() {
            return Value::Float(f);
        }
    }
    Value::Str(text.into())
}

/// A problem found while replacing `${NAME}`.
pub struct InterpolationError {
    pub line: usize,
    pub column: usize,
    pub name: String,
    pub unterminated: bool,
}

/// Replace `${NAME}` in every string value (not keys); `$${` is a literal `${`.
pub fn interpolate(
    node: &mut Node,
    env: &dyn Fn(&str) -> Option<String>,
    errors: &mut Vec<InterpolationError>,
) {
    match &mut node.value {
        Value::Str(s) if s.contains('$') => {
            let (line, column) = (node.line, node.column);
            let mut out = String::with_capacity(s.len());
            let mut rest = s.as_str();
            while let Some(i) = rest.find('$') {
                out.push_str(&rest[..i]);
                let after = &rest[i..];
                if let Some(tail) = after.strip_prefix("$${") {
                    out.push_str("${");
                    rest = tail;
                } else if let Some(tail) = after.strip_prefix("${") {
                    match tail.find('}') {
                        Some(end) => {
                            let name = &tail[..end];
                            match env(name) {
                                Some(v) => out.push_str(&v),
                                None => errors.push(InterpolationError {
                                    line,
                                    column,
                                    name: name.to_string(),
                                    unterminated: false,
                                }),
                            }
                            rest = &tail[end + 1..];
                        }
                        None => {
                            errors.push(InterpolationError {
                                line,
                                column,
                                name: tail.to_string(),
                                unterminated: true,
                            });
                            out.push_str(after);
                            rest = "";
                        }
                    }
                } else {
                    out.push('$');
                    rest = &after[1..];
                }
            }
            out.push_str(rest);
            *s = out;
        }
        Value::Seq(items) => items.iter_mut().for_each(|n| interpolate(n, env, errors)),
        Value::Map(entries) => entries
            .iter_mut()
            .for_each(|(_, v)| interpolate(v, env, errors)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_one_based() {
        let n = parse("a:\n  b: [1, x]\n").unwrap().unwrap();
        let b = n.get("a").unwrap().get("b").unwrap();
        assert_eq!((b.line, b.column), (2, 6));
        let Value::Seq(items) = &b.value else {
            panic!()
        };
        assert_eq!((items[1].line, items[1].column), (2, 10));
        assert_eq!(items[0].value, Value::Int(1));
    }

    #[test]
    fn yaml_1_1_words_stay_strings_and_quotes_keep_digits() {
        let n = parse("a: no\nb: '123'\nc: 0123\n").unwrap().unwrap();
        assert_eq!(n.get("a").unwrap().value, Value::Str("no".into()));
        assert_eq!(n.get("b").unwrap().value, Value::Str("123".into()));
        assert_eq!(n.get("c").unwrap().value, Value::Int(123));
    }

    #[test]
    fn alias_bomb_is_refused() {
        let mut y = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            let p = i - 1;
            y.push_str(&format!("a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"));
        }
        let e = parse(&y).unwrap_err();
        assert_eq!(e.code, "yaml-alias-limit");
    }

    #[test]
    fn deep_nesting_is_refused() {
        // The scanner has its own (lower) limit for flow collections; either refusal is fine.
        let y = "[".repeat(10_000) + &"]".repeat(10_000);
        assert!(parse(&y).is_err());
        let y: String = (0..200)
            .map(|i| format!("{}- \n", "  ".repeat(i)))
            .collect();
        assert_eq!(parse(&y).unwrap_err().code, "yaml-too-deep");
    }

    #[test]
    fn interpolation_and_escape() {
        let mut n = parse("a: \"${X}/$${Y}/${MISSING}\"\n").unwrap().unwrap();
        let mut errs = Vec::new();
        interpolate(&mut n, &|k| (k == "X").then(|| "x".to_string()), &mut errs);
        assert_eq!(n.get("a").unwrap().as_str(), Some("x/${Y}/"));
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].name, "MISSING");
    }
}
