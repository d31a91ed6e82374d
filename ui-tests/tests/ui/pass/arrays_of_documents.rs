//! `Vec<D>` and `Option<Vec<D>>` of documents: `any`, `all`, `contains`, `is_empty` and `len_*`, nested.

use fraiseql_wire::{Document, Entity};
use serde::Deserialize;

#[derive(Deserialize, Document)]
struct Part {
    sku: String,
}

#[derive(Deserialize, Document)]
struct Label {
    name: String,
    weight: Option<i64>,
    parts: Vec<Part>,
}

#[derive(Deserialize, Entity)]
#[entity(view = "v_issue")]
struct Issue {
    labels: Vec<Label>,
    history: Option<Vec<Label>>,
}

fn main() {
    let i = Issue::fields();
    let _ = i.labels.any(|l| l.name.eq("bug") & l.weight.gt(2)) | i.history.all(|l| l.parts.any(|p| p.sku.starts_with("A")));
    let _ = i.labels.contains(&serde_json::json!({"name": "bug"})) & !i.history.is_empty() & i.labels.len_lt(5);
}
