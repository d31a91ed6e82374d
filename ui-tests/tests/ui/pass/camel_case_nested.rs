//! `rename_all = "camelCase"` on the entity and on a nested document, each applying to its own keys, and an
//! optional list.

use fraiseql_wire::{Document, Entity, Scalar};
use serde::{Deserialize, Serialize};

#[derive(Deserialize, Serialize, Scalar)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
enum Level {
    Low,
    VeryHigh,
}

#[derive(Deserialize, Document)]
#[serde(rename_all = "camelCase")]
struct Owner {
    team_name: String,
    #[serde(rename = "lvl")]
    access_level: Level,
}

#[derive(Deserialize, Entity)]
#[entity(view = "v_project")]
#[serde(rename_all = "camelCase")]
struct Project {
    project_owner: Owner,
    label_list: Option<Vec<String>>,
    #[serde(rename(deserialize = "ext_ref"))]
    external_ref: Option<String>,
}

fn main() {
    let statement = Project::select()
        .filter(|p| p.project_owner.team_name.eq("core"))
        .filter(|p| p.project_owner.access_level.eq(Level::VeryHigh))
        .filter(|p| p.label_list.is_not_null().and(p.external_ref.is_null()))
        .to_sql()
        .unwrap();
    assert_eq!(
        statement.sql,
        "SELECT \"data\" FROM \"v_project\" WHERE (data->'projectOwner'->>'teamName' = $1) \
         AND (data->'projectOwner'->>'lvl' = $2) \
         AND ((data->>'labelList' IS NOT NULL) AND (data->>'ext_ref' IS NULL))"
    );
    assert_eq!(statement.params[1].as_str(), Some("VERY_HIGH"));
}
