//! The README's typed tour, run against a real cluster. Its code lives in `readme/typed_tour.rs`; a test keeps
//! the README's block identical to it, so the README shows code that runs.

use fraiseql_wire_tests::{AuthUser, TestCluster};

#[allow(dead_code)] // the tour's structs have fields it only prints through Debug
mod tour {
    include!("readme/typed_tour.rs");

    pub(super) async fn run(client: &Client) -> fraiseql_wire::Result<()> {
        typed_tour(client).await
    }
}

/// The first ```rust block after `heading` in the README.
fn readme_block(heading: &str) -> &'static str {
    let readme = include_str!("../../../README.md");
    let section = &readme[readme.find(heading).expect("the README has the heading")..];
    let start = section.find("```rust,no_run\n").expect("a rust block follows") + "```rust,no_run\n".len();
    let end = section[start..].find("\n```\n").expect("the block is closed") + start + 1;
    &section[start..end]
}

#[test]
fn the_readme_shows_the_tour_that_runs() {
    assert_eq!(
        readme_block("## Typed tour"),
        include_str!("readme/typed_tour.rs"),
        "README.md's typed tour and tests/tests/readme/typed_tour.rs differ: edit both"
    );
}

#[tokio::test]
async fn the_typed_tour_runs_against_the_cluster() {
    let db = TestCluster::shared().database().await;
    db.execute(
        "CREATE SCHEMA app;
         CREATE TABLE app.project (id bigint PRIMARY KEY, data jsonb NOT NULL);
         INSERT INTO app.project
         SELECT i, jsonb_build_object(
             'id', i,
             'name', CASE WHEN i % 10 = 0 THEN 'hotfix ' ELSE 'project ' END || i,
             'status', CASE WHEN i % 3 = 0 THEN 'archived' ELSE 'active' END,
             'priority', i % 10,
             'score', CASE WHEN i % 4 = 0 THEN NULL ELSE (i % 7) * 0.5 END,
             'tags', CASE WHEN i % 2 = 0 THEN '[\"rust\", \"db\"]'::jsonb ELSE '[\"go\"]'::jsonb END,
             'owner', jsonb_build_object('team', CASE WHEN i % 5 = 0 THEN 'web' ELSE 'core' END),
             'labels', CASE WHEN i % 4 = 0 THEN '[]'::jsonb
                            ELSE jsonb_build_array(jsonb_build_object('name', 'urgent', 'weight', i % 3)) END,
             'createdAt', CASE WHEN i % 6 = 0 THEN '2025-12-31T23:00:00-02:00' ELSE '2026-11-23T09:30:00.25+01:00' END)
         FROM generate_series(1, 500) i;
         CREATE VIEW app.v_project AS SELECT id, data FROM app.project;",
    )
    .await;
    let client = fraiseql_wire::Client::connect(&db.url(AuthUser::Superuser)).await.expect("connect");
    tour::run(&client).await.expect("the README's typed tour runs");
}
