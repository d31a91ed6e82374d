//! The JSON Schema of an entity's filter input ([`Schema::filter_json_schema`]), for an API layer to publish
//! (OpenAPI) or generate its input types from (GraphQL).

use serde_json::{Map, Value, json};

use super::schema::{FieldSchema, Schema};

impl Schema {
    /// A JSON Schema (draft 2020-12) that accepts exactly the filter objects
    /// [`Entity::filter_from_json`](super::Entity::filter_from_json) reads for this entity, field names,
    /// operators and value types included. (What it cannot say: the [`Limits`](super::Limits), and the values a
    /// `Scalar` enum allows, which the filter checks with the field's own `Deserialize`.) Filters on a list of
    /// documents' elements are in `$defs`, named by the list's dotted path.
    pub fn filter_json_schema(&self) -> Value {
        let mut defs = Map::new();
        let mut root = scope(&self.fields, &[], "#", &mut defs);
        if let Value::Object(root) = &mut root {
            let title = match self.schema {
                Some(schema) => format!("Filter on {schema}.{}", self.view),
                None => format!("Filter on {}", self.view),
            };
            root.insert("$schema".into(), json!("https://json-schema.org/draft/2020-12/schema"));
            root.insert("title".into(), Value::String(title));
            if !defs.is_empty() {
                root.insert("$defs".into(), Value::Object(defs));
            }
        }
        root
    }
}

/// The fields directly under `prefix`.
fn children<'f>(fields: &'f [FieldSchema], prefix: &'f [String]) -> impl Iterator<Item = &'f FieldSchema> + 'f {
    fields.iter().filter(move |f| f.path.len() == prefix.len() + 1 && f.path.starts_with(prefix))
}

/// A filter object on the fields under `prefix`, which `reference` names (for its `_and`, `_or`, `_not`).
fn scope(fields: &[FieldSchema], prefix: &[String], reference: &str, defs: &mut Map<String, Value>) -> Value {
    let mut properties = Map::new();
    for field in children(fields, prefix) {
        if let Some(key) = field.path.last() {
            properties.insert(key.clone(), conditions(fields, field, defs));
        }
    }
    let this = json!({"$ref": reference});
    properties.insert("_and".into(), json!({"type": "array", "items": this}));
    properties.insert("_or".into(), json!({"type": "array", "items": this}));
    properties.insert("_not".into(), this);
    json!({"type": "object", "properties": properties, "additionalProperties": false})
}

/// A field's object of operators (and, for a document, of its fields).
fn conditions(fields: &[FieldSchema], field: &FieldSchema, defs: &mut Map<String, Value>) -> Value {
    let mut properties = Map::new();
    for op in &field.filters {
        properties.insert((*op).to_owned(), operand(fields, field, op, defs));
    }
    if field.family == "document" {
        for child in children(fields, &field.path) {
            if let Some(key) = child.path.last() {
                properties.insert(key.clone(), conditions(fields, child, defs));
            }
        }
    }
    json!({"type": "object", "properties": properties, "additionalProperties": false})
}

/// The value operator `op` of `field` takes.
fn operand(fields: &[FieldSchema], field: &FieldSchema, op: &str, defs: &mut Map<String, Value>) -> Value {
    let value = || scalar(field.family);
    let element = || field.element.map_or_else(|| json!({}), scalar);
    match op {
        "in_list" | "not_in" => json!({"type": "array", "items": value()}),
        "between" => json!({"type": "array", "prefixItems": [value(), value()], "minItems": 2, "maxItems": 2}),
        "is_null" | "is_not_null" | "is_missing" | "is_json_null" | "is_empty" => json!({"type": "boolean"}),
        "len_eq" | "len_gt" | "len_gte" | "len_lt" | "len_lte" => json!({"type": "integer", "minimum": 0}),
        "starts_with" | "ends_with" | "like" | "ilike" | "matches_regex" | "matches_regex_ci" | "search"
        | "has_key" => {
            json!({"type": "string"})
        }
        "has_any_keys" | "has_all_keys" => json!({"type": "array", "items": {"type": "string"}}),
        "is_variant" => json!({"enum": field.variants.unwrap_or_default()}),
        "contains" if field.family == "text" => json!({"type": "string"}),
        "contains" if field.family == "list" => element(),
        "contains" if field.family == "document_list" => json!({"type": "object"}),
        "contains_all" | "contains_any" | "contained_by" if field.family == "list" => {
            json!({"type": "array", "items": element()})
        }
        "any" | "all" => {
            let prefix: Vec<String> = field.path.iter().cloned().chain(["[]".to_owned()]).collect();
            let name = field.path.iter().filter(|key| *key != "[]").cloned().collect::<Vec<_>>().join(".");
            let reference = format!("#/$defs/{}", fragment(&name));
            if !defs.contains_key(&name) {
                // Reserved first, so a document list nested in its own elements cannot recurse forever.
                defs.insert(name.clone(), Value::Null);
                let element = scope(fields, &prefix, &reference, defs);
                defs.insert(name, element);
            }
            json!({"$ref": reference})
        }
        _ => value(),
    }
}

/// `name` as a JSON Pointer token in a URI fragment: `~` and `/` escaped as JSON Pointer says, then every byte
/// a fragment cannot hold percent-encoded.
fn fragment(name: &str) -> String {
    let token = name.replace('~', "~0").replace('/', "~1");
    let mut out = String::with_capacity(token.len());
    for byte in token.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// A value of `family`.
fn scalar(family: &str) -> Value {
    match family {
        "text" => json!({"type": "string"}),
        "integer" => json!({"type": "integer"}),
        "float" => json!({"type": "number"}),
        "boolean" => json!({"type": "boolean"}),
        "uuid" => json!({"type": "string", "format": "uuid"}),
        "timestamp" => json!({"type": "string", "format": "date-time"}),
        "date" => json!({"type": "string", "format": "date"}),
        "local_date_time" => json!({"type": "string", "pattern": "^\\d{4}-\\d{2}-\\d{2}[T ]\\d{2}:\\d{2}"}),
        _ => json!({}),
    }
}
