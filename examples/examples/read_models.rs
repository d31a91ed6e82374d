//! Read models as applications really have them, typed end to end: an issue tracker's issue (timestamps, an
//! optional milestone, an array of labels, an enum with data, free JSON reactions, full-text search) and a
//! country (maps of languages and of translated names).
//!
//! ```sh
//! cargo run -p examples --example read_models                            # throwaway cluster
//! DATABASE_URL=postgres://me@localhost/mydb cargo run -p examples --example read_models
//! ```
//!
//! Every filter below is checked by the compiler against the structs, compiles to SQL with bound parameters,
//! and is served by the index created beside the view (the crate docs of `fraiseql_wire::entity` list which).

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Duration, Utc};
use fraiseql_wire::{Client, Document, Entity, Scalar, websearch};
use serde::Deserialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize, Scalar)]
#[serde(rename_all = "snake_case")]
enum State {
    Open,
    Closed,
}

#[derive(Debug, Deserialize, Document)]
struct Label {
    name: String,
    color: String,
}

#[derive(Debug, Deserialize, Document)]
struct Milestone {
    title: String,
    due_on: Option<DateTime<Utc>>,
}

/// Who closed the issue, or why it is blocked: an internally tagged enum with data.
#[derive(Debug, Deserialize, Document)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Resolution {
    Fixed { commit: String },
    Duplicate { of: i64 },
    WontFix,
}

/// One issue of `v_issue.data`. Timestamps are RFC 3339 text, compared through the immutable functions of
/// `fraiseql_wire::entity::time::FUNCTIONS_SQL` so an expression index serves them.
#[derive(Debug, Deserialize, Entity)]
#[entity(view = "v_issue", time = "rfc3339")]
struct Issue {
    #[entity(column = "id")]
    id: i64,
    title: String,
    body: String,
    state: State,
    created_at: DateTime<Utc>,
    closed_at: Option<DateTime<Utc>>,
    labels: Vec<Label>,
    milestone: Option<Milestone>,
    resolution: Option<Resolution>,
    /// `{"+1": 3, "heart": 1}`: any keys, read as free JSON.
    reactions: serde_json::Value,
}

#[derive(Debug, Deserialize, Document)]
struct Name {
    common: String,
    official: String,
}

/// One country of `v_country.data`: languages by code, names by locale.
#[derive(Debug, Deserialize, Entity)]
#[entity(view = "v_country")]
struct Country {
    #[entity(column = "id")]
    id: i64,
    cca2: String,
    languages: HashMap<String, String>,
    translations: BTreeMap<String, Name>,
    population: i64,
}

fn setup_sql() -> String {
    let functions = fraiseql_wire::entity::time::FUNCTIONS_SQL;
    format!(
        "{functions}
CREATE TABLE IF NOT EXISTS issue (id bigint PRIMARY KEY, data jsonb NOT NULL);
INSERT INTO issue
SELECT i, jsonb_strip_nulls(jsonb_build_object(
    'id', i,
    'title', 'Issue ' || i,
    'body', (ARRAY['the stream stalls when the server restarts', 'async cancellation of a slow query',
                   'keyset pagination skips rows', 'TLS handshake fails with a client certificate'])[1 + i % 4],
    'state', CASE WHEN i % 3 = 0 THEN 'closed' ELSE 'open' END,
    'created_at', to_char((timestamptz '2026-01-01 00:00:00+00' + i * interval '37 minutes') AT TIME ZONE 'UTC',
                          'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),
    'closed_at', CASE WHEN i % 3 = 0 THEN to_char((timestamptz '2026-03-01 00:00:00+00' + i * interval '1 hour')
                          AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') END,
    'labels', CASE WHEN i % 5 = 0 THEN '[]'::jsonb ELSE jsonb_build_array(
        jsonb_build_object('name', (ARRAY['bug', 'feature', 'docs'])[1 + i / 2 % 3], 'color', 'red'),
        jsonb_build_object('name', 'p' || (i % 4), 'color', 'grey')) END,
    'milestone', CASE WHEN i % 2 = 0 THEN jsonb_build_object('title', 'v0.' || (i % 3),
                          'due_on', CASE WHEN i % 4 = 0 THEN '2026-06-30T00:00:00Z' END) END,
    'resolution', CASE WHEN i % 3 = 0 THEN (ARRAY[
        jsonb_build_object('kind', 'fixed', 'commit', 'c' || i),
        jsonb_build_object('kind', 'duplicate', 'of', i - 1),
        jsonb_build_object('kind', 'wont_fix')])[1 + i % 9 / 3] END,
    'reactions', jsonb_build_object('+1', i % 7, 'heart', i % 2)
))
FROM generate_series(1, 3000) AS i
ON CONFLICT (id) DO NOTHING;
CREATE OR REPLACE VIEW v_issue AS SELECT id, data FROM issue;
CREATE INDEX IF NOT EXISTS issue_data ON issue USING gin (data jsonb_path_ops);
CREATE INDEX IF NOT EXISTS issue_created ON issue (fraiseql_timestamptz(data->>'created_at'));
CREATE INDEX IF NOT EXISTS issue_body ON issue USING gin (to_tsvector('english', data->>'body'));

CREATE TABLE IF NOT EXISTS country (id bigint PRIMARY KEY, data jsonb NOT NULL);
INSERT INTO country VALUES
 (1, '{{\"id\": 1, \"cca2\": \"CH\", \"population\": 8700000,
       \"languages\": {{\"deu\": \"German\", \"fra\": \"French\", \"ita\": \"Italian\", \"roh\": \"Romansh\"}},
       \"translations\": {{\"fra\": {{\"common\": \"Suisse\", \"official\": \"Confédération suisse\"}},
                           \"deu\": {{\"common\": \"Schweiz\", \"official\": \"Schweizerische Eidgenossenschaft\"}}}}}}'),
 (2, '{{\"id\": 2, \"cca2\": \"BE\", \"population\": 11700000,
       \"languages\": {{\"deu\": \"German\", \"fra\": \"French\", \"nld\": \"Dutch\"}},
       \"translations\": {{\"fra\": {{\"common\": \"Belgique\", \"official\": \"Royaume de Belgique\"}}}}}}'),
 (3, '{{\"id\": 3, \"cca2\": \"PT\", \"population\": 10400000,
       \"languages\": {{\"por\": \"Portuguese\"}},
       \"translations\": {{\"fra\": {{\"common\": \"Portugal\", \"official\": \"République portugaise\"}}}}}}')
ON CONFLICT (id) DO NOTHING;
CREATE OR REPLACE VIEW v_country AS SELECT id, data FROM country;
CREATE INDEX IF NOT EXISTS country_languages ON country USING gin ((data->'languages'));
"
    )
}

async fn issues(client: &Client) -> Result<(), Box<dyn std::error::Error>> {
    let since: DateTime<Utc> = "2026-02-01T00:00:00Z".parse()?;

    // Open bugs of the last weeks, newest first: a date range, an array of documents and a Scalar enum.
    let recent_bugs = Issue::query(client)
        .filter(|i| {
            i.state
                .eq(State::Open)
                .and(i.created_at.between(since, since + Duration::days(14)))
                .and(i.labels.any(|l| l.name.eq("bug")))
        })
        .order_by(|i| (i.created_at.desc(), i.id.asc()));
    println!("SQL: {}", recent_bugs.to_sql()?.sql);
    let page = recent_bugs.clone().limit(3).fetch_all().await?;
    for issue in &page {
        let labels: Vec<&str> = issue.labels.iter().map(|l| l.name.as_str()).collect();
        println!("#{:<5} {} {:?} {labels:?}", issue.id, issue.created_at.format("%F %R"), issue.title);
    }
    // The next page starts after the last row read: keyset pagination over the date.
    if let Some(last) = page.last() {
        let next = recent_bugs.after(last).limit(3).fetch_all().await?;
        println!("next page: {:?}", next.iter().map(|i| i.id).collect::<Vec<_>>());
    }

    // An optional nested document: its keys compare as missing when there is none.
    let due = Issue::query(client)
        .filter(|i| i.milestone.title.eq("v0.2").and(i.milestone.due_on.is_not_null()))
        .count()
        .await?;
    let without = Issue::query(client).filter(|i| i.milestone.is_null()).count().await?;
    println!("{due} issues in v0.2 with a due date; {without} without a milestone");

    // An enum with data: the variant, and a field of one variant.
    let duplicates_of_early = Issue::query(client).filter(|i| i.resolution.duplicate(|d| d.of.lt(100))).count().await?;
    let fixed = Issue::query(client).filter(|i| i.resolution.is_variant(ResolutionVariant::Fixed)).count().await?;
    println!("{fixed} fixed, {duplicates_of_early} duplicates of an issue below #100");

    // Free JSON and full-text search in the same typed filter.
    let popular_stalls = Issue::query(client)
        .filter(|i| i.reactions.path("+1").gte(5).and(i.body.search(websearch("stream stalls"))))
        .count()
        .await?;
    println!("{popular_stalls} issues about stalled streams with 5 or more +1");
    Ok(())
}

async fn countries(client: &Client) -> Result<(), Box<dyn std::error::Error>> {
    // A map's keys, one of its values, and a filter over all of them.
    let french_speaking = Country::query(client)
        .filter(|c| c.languages.has_key("fra"))
        .order_by(|c| c.population.desc())
        .fetch_all()
        .await?;
    for country in &french_speaking {
        let name = country.translations.get("fra").map_or("?", |n| n.common.as_str());
        println!("{} ({name}): {} languages", country.cca2, country.languages.len());
    }
    let royal = Country::query(client)
        .filter(|c| c.translations.get("fra").official.starts_with("Royaume"))
        .fetch_all()
        .await?;
    println!("kingdoms by their French name: {:?}", royal.iter().map(|c| c.cca2.as_str()).collect::<Vec<_>>());
    let multilingual =
        Country::query(client).filter(|c| c.languages.has_all_keys(["deu", "fra", "ita"])).count().await?;
    let any_dutch = Country::query(client).filter(|c| c.languages.any_value(|v| v.eq("Dutch"))).count().await?;
    println!("{multilingual} with German, French and Italian; {any_dutch} where Dutch is spoken");
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (url, _cluster) = examples::database(&setup_sql()).await?;
    let client = Client::connect(&url).await?;
    issues(&client).await?;
    countries(&client).await?;
    Ok(())
}
