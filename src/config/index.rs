//! Where each value of each file was written, by value path (`merchants[0].redirectQrs[3].id`),
//! so checks on the typed config (here and in `plan`) can point at the exact field.

use super::model::Origin;
use super::tree::{key_text, Node, Value};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Default)]
pub struct SourceIndex {
    paths: HashMap<PathBuf, HashMap<String, (usize, usize)>>,
    /// The value path of each declared object, by its origin.
    objects: HashMap<Origin, String>,
}

impl SourceIndex {
    pub(crate) fn add_file(&mut self, file: &Path, root: &Node) {
        let mut map = HashMap::new();
        walk(root, String::new(), &mut map);
        self.paths.insert(file.to_path_buf(), map);
    }

    pub(crate) fn add_object(&mut self, origin: &Origin, path: String) {
        self.objects.insert(origin.clone(), path);
    }

    /// The place of a value path in a file.
    pub fn locate(&self, file: &Path, path: &str) -> Option<Origin> {
        let (line, column) = *self.paths.get(file)?.get(path)?;
        Some(Origin::new(file, line, column))
    }

    /// Where `field` of the object declared at `origin` was written (`"redirectUrl"`,
    /// `"pricing.amount"`); the object's own origin when the field is absent.
    pub fn field(&self, origin: &Origin, field: &str) -> Origin {
        self.objects
            .get(origin)
            .and_then(|p| self.locate(&origin.file, &format!("{p}.{field}")))
            .unwrap_or_else(|| origin.clone())
    }
}

fn walk(node: &Node, path: String, map: &mut HashMap<String, (usize, usize)>) {
    match &node.value {
        Value::Seq(items) => {
            for (i, item) in items.iter().enumerate() {
                walk(item, format!("{path}[{i}]"), map);
            }
        }
        Value::Map(entries) => {
            for (k, v) in entries {
                let key = key_text(k);
                let p = if path.is_empty() {
                    key
                } else {
                    format!("{path}.{key}")
                };
                walk(v, p, map);
            }
        }
        _ => {}
    }
    map.entry(path).or_insert((node.line, node.column));
}
