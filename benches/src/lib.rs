//! Shared pieces of the `stream` benchmark (`cargo bench -p benches --bench stream`, see README.md).
//!
//! The document shape and the SQL that generates it, the typed struct both clients decode into, zero-copy
//! access to a json/jsonb column for tokio-postgres, peak-RSS reading and the one-line result format a child
//! process prints for its parent.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::Deserialize;
use tokio_postgres::types::{FromSql, Type};

/// The view every configuration reads: `SELECT data FROM projects`.
pub const VIEW: &str = "v_projects";

/// The statements that create `projects` with `rows` documents (one `INSERT … SELECT` from `generate_series`),
/// the view, and the statistics, to run one by one (`VACUUM` cannot share a query string with other statements).
/// The text form of a document is 400–430 bytes (median 422 at a million rows).
pub fn setup_sql(rows: u64) -> [String; 3] {
    let load = format!(
        "CREATE TABLE projects (id bigint NOT NULL, data jsonb NOT NULL);
INSERT INTO projects (id, data)
SELECT i, jsonb_build_object(
    'id', i,
    'name', 'Project ' || i,
    'status', (ARRAY['active', 'paused', 'done', 'archived'])[1 + i % 4],
    'description', 'Team ' || (i % 97) || ': ' || md5(i::text),
    'category', (ARRAY['engineering', 'marketing', 'sales', 'operations', 'research'])[1 + i % 5],
    'priority', 1 + i % 5,
    'budget', round((i % 100000) * 1.37, 2),
    'progress', round((i % 101) / 100.0, 2),
    'archived', i % 4 = 3,
    'created_at', timestamptz '2024-01-01 00:00:00+00' + (i % 500000) * interval '1 minute',
    'updated_at', timestamptz '2025-06-01 00:00:00+00' + (i % 300000) * interval '1 minute',
    'tags', jsonb_build_array('tag-' || (i % 10), 'team-' || (i % 7)),
    'owner', jsonb_build_object(
        'id', i % 1000,
        'name', 'Owner ' || (i % 1000),
        'email', 'owner' || (i % 1000) || '@example.com',
        'active', i % 3 <> 0
    )
)
FROM generate_series(1, {rows}) AS i"
    );
    [load, format!("CREATE VIEW {VIEW} AS SELECT data FROM projects"), "VACUUM ANALYZE projects".to_owned()]
}

/// Which documents the `projects` table holds (`BENCH_VIEW`): the 423-byte projects, 12-level nested trees of
/// about 1 KB, or 96 KB documents stored toasted. The view is `v_projects` whatever the shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    Projects,
    Nested,
    Large,
    /// `v_project` of the staging set in `tests/fixtures/schema.sql` (unicode, arrays, a nested object).
    Staging,
}

impl Shape {
    /// From `BENCH_VIEW` (`projects`, the default, `nested`, `large` or `staging`).
    pub fn from_env() -> Shape {
        match std::env::var("BENCH_VIEW").as_deref() {
            Ok("projects") | Err(_) => Shape::Projects,
            Ok("nested") => Shape::Nested,
            Ok("large") => Shape::Large,
            Ok("staging") => Shape::Staging,
            Ok(other) => panic!("BENCH_VIEW={other}: expected projects, nested, large or staging"),
        }
    }

    /// The default number of rows: about 420 MB, 100 MB and 190 MB of JSON text.
    pub fn default_rows(self) -> u64 {
        match self {
            Shape::Projects => 1_000_000,
            Shape::Nested => 100_000,
            Shape::Large => 2_000,
            Shape::Staging => 1_000_000,
        }
    }

    /// The table behind the view.
    pub fn table(self, rows: u64) -> String {
        match self {
            Shape::Staging => format!("staging_{rows}.project"),
            _ => "projects".to_owned(),
        }
    }

    /// The statements that create `projects` with `rows` documents of this shape, the view and the statistics.
    pub fn setup_sql(self, rows: u64) -> Vec<String> {
        match self {
            Shape::Projects => setup_sql(rows).to_vec(),
            Shape::Nested => vec![
                "CREATE FUNCTION bench_node(i bigint, depth int) RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
                     SELECT jsonb_build_object('value', i + depth, 'label', 'node ' || depth || ' of ' || i,
                         'weight', round((i % 100) / 7.0, 3),
                         'child', CASE WHEN depth > 1 THEN bench_node(i, depth - 1) END) $$"
                    .to_owned(),
                format!(
                    "CREATE TABLE projects AS SELECT i AS id, jsonb_build_object('id', i, 'tree', bench_node(i, 12))                      AS data FROM generate_series(1, {rows}) AS i"
                ),
                format!("CREATE VIEW {VIEW} AS SELECT data FROM projects"),
                "VACUUM ANALYZE projects".to_owned(),
            ],
            Shape::Large => vec![
                format!(
                    "CREATE TABLE projects AS SELECT i AS id, jsonb_build_object('id', i, 'name', 'Large ' || i,
                         'body', (SELECT string_agg(md5((i * 10000 + j)::text), '') FROM generate_series(1, 3000) j),
                         'tags', jsonb_build_array('tag-' || (i % 10), 'team-' || (i % 7))) AS data
                     FROM generate_series(1, {rows}) AS i"
                ),
                format!("CREATE VIEW {VIEW} AS SELECT data FROM projects"),
                "VACUUM ANALYZE projects".to_owned(),
            ],
            // The whole staging set of that scale is loaded (its other views are a few percent of it).
            Shape::Staging => vec![
                STAGING_SCHEMA.to_owned(),
                format!("SELECT fixture_load({rows})"),
                format!("CREATE VIEW {VIEW} AS SELECT data FROM staging_{rows}.project"),
                format!("VACUUM ANALYZE staging_{rows}.project"),
            ],
        }
    }
}

/// The staging data's functions (`fixture_load(n)`), shared with the integration tests' load runs.
const STAGING_SCHEMA: &str = include_str!("../../tests/fixtures/schema.sql");

/// A `staging` project document (`v_project` of the staging set): about 500 B with unicode words, three tags
/// and an owner object.
#[derive(Debug, Deserialize)]
pub struct StagingProject {
    pub id: i64,
    pub name: String,
    pub status: String,
    pub priority: i64,
    pub budget: f64,
    pub public: bool,
    pub tags: Vec<String>,
    pub owner: StagingOwner,
    pub description: String,
}

/// The owner object of a `staging` project.
#[derive(Debug, Deserialize)]
pub struct StagingOwner {
    pub email: String,
    pub name: String,
}

/// A `nested` document: a chain of 12 nodes.
#[derive(Debug, Deserialize)]
pub struct NestedDoc {
    pub id: i64,
    pub tree: Node,
}

/// One level of a `nested` document.
#[derive(Debug, Deserialize)]
pub struct Node {
    pub value: i64,
    pub label: String,
    pub weight: f64,
    pub child: Option<Box<Node>>,
}

/// A `large` document: 96 KB of text in one key.
#[derive(Debug, Deserialize)]
pub struct LargeDoc {
    pub id: i64,
    pub name: String,
    pub body: String,
    pub tags: Vec<String>,
}

/// One document of the view, as the typed configurations decode it (all fields, as an application would).
#[derive(Debug, Deserialize)]
pub struct Project {
    pub id: i64,
    pub name: String,
    pub status: String,
    pub description: String,
    pub category: String,
    pub priority: i32,
    pub budget: f64,
    pub progress: f64,
    pub archived: bool,
    pub created_at: String,
    pub updated_at: String,
    pub tags: Vec<String>,
    pub owner: Owner,
}

/// The nested `owner` object of a [`Project`].
#[derive(Debug, Deserialize)]
pub struct Owner {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub active: bool,
}

/// The JSON text of a json or jsonb column, borrowed from the row without copying or parsing.
///
/// tokio-postgres receives results in binary format: jsonb is a version byte (1) followed by the JSON text,
/// json is the text itself.
#[derive(Debug, Clone, Copy)]
pub struct RawJson<'a>(pub &'a [u8]);

impl<'a> FromSql<'a> for RawJson<'a> {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        if *ty == Type::JSONB {
            match raw.split_first() {
                Some((1, text)) => Ok(RawJson(text)),
                _ => Err("unsupported jsonb binary format version".into()),
            }
        } else {
            Ok(RawJson(raw))
        }
    }

    fn accepts(ty: &Type) -> bool {
        *ty == Type::JSON || *ty == Type::JSONB
    }
}

/// Peak resident set size of this process so far (`VmHWM` of `/proc/self/status`), in KiB.
pub fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status.lines().find_map(|line| line.strip_prefix("VmHWM:")?.trim().strip_suffix("kB")?.trim().parse().ok())
}

/// What a child process measured, printed as one line: `RESULT config=… rows=… bytes=… secs=… ttfr_ms=… hwm_kib=…`.
#[derive(Debug, Clone, PartialEq)]
pub struct Measurement {
    /// Configuration name, e.g. `fraiseql-raw` or `tokio-postgres-value@100000`.
    pub config: String,
    pub rows: u64,
    /// Bytes of JSON text seen (raw configurations only; 0 otherwise).
    pub bytes: u64,
    /// From sending the query to the end of the last row (connecting excluded).
    pub secs: f64,
    /// Time to the first row, in milliseconds.
    pub ttfr_ms: f64,
    /// Peak RSS of the child process (`VmHWM`), in KiB.
    pub hwm_kib: u64,
}

impl Measurement {
    /// The line prefix that marks a result among a child's other output.
    pub const PREFIX: &'static str = "RESULT ";

    /// Rows per second over [`secs`](Self::secs).
    pub fn rows_per_sec(&self) -> f64 {
        self.rows as f64 / self.secs
    }
}

impl fmt::Display for Measurement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}config={} rows={} bytes={} secs={:.6} rows_per_s={:.0} ttfr_ms={:.3} hwm_kib={}",
            Self::PREFIX,
            self.config,
            self.rows,
            self.bytes,
            self.secs,
            self.rows_per_sec(),
            self.ttfr_ms,
            self.hwm_kib
        )
    }
}

impl FromStr for Measurement {
    type Err = String;

    fn from_str(line: &str) -> Result<Self, String> {
        let body = line.strip_prefix(Self::PREFIX).ok_or_else(|| format!("not a result line: {line}"))?;
        let fields: BTreeMap<&str, &str> = body.split_whitespace().filter_map(|kv| kv.split_once('=')).collect();
        let get = |key: &str| fields.get(key).copied().ok_or_else(|| format!("`{key}` missing in: {line}"));
        let num = |key: &str| -> Result<f64, String> {
            get(key)?.parse().map_err(|e| format!("`{key}` is not a number ({e}) in: {line}"))
        };
        Ok(Measurement {
            config: get("config")?.to_owned(),
            rows: num("rows")? as u64,
            bytes: num("bytes")? as u64,
            secs: num("secs")?,
            ttfr_ms: num("ttfr_ms")?,
            hwm_kib: num("hwm_kib")? as u64,
        })
    }
}

/// `1234567.4` as `1,234,567`.
pub fn thousands(n: f64) -> String {
    let digits = format!("{:.0}", n);
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The environment variable `name` as a number, or `default` when it is unset or not a number.
pub fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Median of a non-empty sample (mean of the two middle values for an even count).
pub fn median(values: &[f64]) -> f64 {
    assert!(!values.is_empty(), "median of nothing");
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    if sorted.len() % 2 == 1 { sorted[mid] } else { (sorted[mid - 1] + sorted[mid]) / 2.0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measurement_round_trips_through_its_line() {
        let m = Measurement {
            config: "fraiseql-raw@100000".into(),
            rows: 100_000,
            bytes: 42_000_000,
            secs: 0.25,
            ttfr_ms: 1.5,
            hwm_kib: 3_900,
        };
        let line = m.to_string();
        assert!(line.contains("rows_per_s=400000"));
        assert_eq!(line.parse::<Measurement>().unwrap(), m);
    }

    #[test]
    fn median_of_odd_and_even_samples() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
    }

    #[test]
    fn peak_rss_is_readable_here() {
        assert!(peak_rss_kib().is_some_and(|kib| kib > 0));
    }

    #[test]
    fn project_matches_a_generated_document() {
        let json = r#"{"id": 7, "name": "Project 7", "owner": {"id": 7, "name": "Owner 7",
            "email": "owner7@example.com", "active": true}, "status": "archived", "description": "x",
            "category": "sales", "priority": 3, "budget": 9.59, "progress": 0.07,
            "archived": true, "created_at": "2024-01-01T00:07:00+00:00", "updated_at": "2025-06-01T00:07:00+00:00",
            "tags": ["tag-7", "team-0"]}"#;
        let project: Project = serde_json::from_str(json).unwrap();
        assert_eq!(project.owner.email, "owner7@example.com");
        assert_eq!(project.tags.len(), 2);
    }
}
