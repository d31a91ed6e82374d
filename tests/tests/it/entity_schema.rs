//! `Entity::schema()`: every field with a handle, its JSON path, family, nullability, column and operators,
//! pinned for an entity with one field of each family; and each operator the schema lists exists on the handle
//! (the snapshot is reviewed by hand, the compile-time uses below keep the lists honest).

use std::collections::HashMap;

use fraiseql_wire::{Document, Entity, Scalar};
use serde::{Deserialize, Serialize};

#[allow(dead_code)]
#[derive(Debug, Clone, Copy, Deserialize, Serialize, Scalar)]
#[serde(rename_all = "snake_case")]
enum State {
    Open,
    Closed,
}

#[allow(dead_code)]
#[derive(Debug, Deserialize, Document)]
struct Label {
    name: String,
    weight: Option<i64>,
}

#[allow(dead_code)]
#[derive(Debug, Deserialize, Document)]
struct Milestone {
    title: String,
    due_on: Option<chrono::NaiveDate>,
}

#[allow(dead_code)]
#[derive(Debug, Deserialize, Document)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Resolution {
    Fixed { commit: String },
    WontFix,
}

#[allow(dead_code)]
#[derive(Debug, Deserialize, Entity)]
#[entity(view = "v_issue", schema = "app")]
#[serde(rename_all = "camelCase")]
struct Issue {
    #[entity(column = "id")]
    id: i64,
    title: String,
    state: State,
    score: Option<f64>,
    done: bool,
    created_at: chrono::DateTime<chrono::Utc>,
    tags: Vec<String>,
    labels: Vec<Label>,
    milestone: Option<Milestone>,
    resolution: Option<Resolution>,
    names: HashMap<String, String>,
    reactions: serde_json::Value,
    #[entity(skip)]
    internal: Option<String>,
}

#[test]
fn the_schema_describes_every_field() {
    let schema = Issue::schema();
    insta::assert_snapshot!(serde_json::to_string_pretty(&schema).expect("serializable"));

    // Nested documents come after their document, with the full path and the Option inherited.
    let due = schema.fields.iter().find(|f| f.path == ["milestone", "due_on"]).expect("milestone.due_on");
    assert_eq!((due.family, due.nullable), ("date", true));
    let title = schema.fields.iter().find(|f| f.path == ["milestone", "title"]).expect("milestone.title");
    assert!(title.nullable, "inside an Option, a required key may still be missing");
    assert!(schema.fields.iter().all(|f| f.path != ["internal"]), "skipped fields have no handle");
    let resolution = schema.fields.iter().find(|f| f.path == ["resolution"]).expect("resolution");
    assert_eq!(resolution.variants, Some(&["fixed", "wont_fix"][..]));
}

/// Every operator the snapshot lists for a family, called on a handle of it: a list that named a method the
/// handle lacks would not compile here.
#[allow(dead_code)]
fn operators_exist(i: &IssueFields) {
    let _ = (i.title.eq("a"), i.title.starts_with("a"), i.title.matches_regex_ci("a"), i.title.asc());
    let _ = (i.score.between(1.0, 2.0), i.score.is_missing(), i.score.is_json_null(), i.done.in_list([true]));
    let _ =
        (i.created_at.between(chrono::DateTime::UNIX_EPOCH, chrono::DateTime::UNIX_EPOCH), i.tags.contained_by(["a"]));
    let _ = (i.tags.at(0), i.labels.any(|l| l.name.eq("a")), i.labels.all(|l| l.weight.gt(1)), i.labels.len_lte(3));
    let _ =
        (i.milestone.contained_by(&1), i.milestone.is_json_null(), i.resolution.is_variant(ResolutionVariant::Fixed));
    let _ = (i.names.has_any_keys(["a"]), i.names.get("a"), i.names.any_value(|v| v.eq("x")));
    let _ = (i.reactions.path("+1"), i.reactions.at_index(0));
}
