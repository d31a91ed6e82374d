//! `uuid::Uuid` fields (feature `uuid`): compared and ordered as PostgreSQL's `uuid` type, in the document and as
//! a real column.

use fraiseql_wire::{Client, Entity};
use fraiseql_wire_tests::{AuthUser, TestCluster};
use serde::Deserialize;
use uuid::Uuid;

#[derive(Debug, Deserialize, Entity)]
#[entity(view = "v_ticket")]
struct Ticket {
    #[entity(column = "id")]
    id: Uuid,
    assignee: Option<Uuid>,
    title: String,
}

fn uuid(n: u8) -> Uuid {
    Uuid::from_bytes([n; 16])
}

#[tokio::test]
async fn uuid_fields_compare_and_order_as_uuid() {
    let db = TestCluster::shared().database().await;
    db.execute(&format!(
        "CREATE TABLE ticket (id uuid PRIMARY KEY, data jsonb NOT NULL);
         INSERT INTO ticket VALUES
           ('{a}', '{{\"id\": \"{a}\", \"assignee\": \"{x}\", \"title\": \"one\"}}'),
           ('{b}', '{{\"id\": \"{b}\", \"assignee\": null, \"title\": \"two\"}}'),
           ('{c}', '{{\"id\": \"{c}\", \"assignee\": \"{y}\", \"title\": \"three\"}}');
         CREATE VIEW v_ticket AS SELECT id, data FROM ticket;",
        a = uuid(1),
        b = uuid(2),
        c = uuid(3),
        x = uuid(9),
        y = uuid(7),
    ))
    .await;
    let client = Client::connect(&db.url(AuthUser::Superuser)).await.expect("connect");
    let titles = |tickets: Vec<Ticket>| tickets.into_iter().map(|t| t.title).collect::<Vec<_>>();

    let by_assignee = Ticket::query(&client).filter(|t| t.assignee.eq(uuid(9))).fetch_all().await.expect("eq");
    assert_eq!(titles(by_assignee), ["one"]);
    let by_column = Ticket::query(&client).filter(|t| t.id.in_list([uuid(3), uuid(2)]).and(t.assignee.eq(uuid(7))));
    assert_eq!(titles(by_column.fetch_all().await.expect("in_list")), ["three"]);
    let ordered = Ticket::query(&client).order_by(|t| t.assignee.desc().nulls_last()).fetch_all().await.expect("order");
    assert_eq!(titles(ordered), ["one", "three", "two"]);
    let unassigned = Ticket::query(&client).filter(|t| t.assignee.is_null()).fetch_one().await.expect("is_null");
    assert_eq!(unassigned.id, uuid(2));
    let untyped: Vec<serde_json::Value> =
        client.query("v_ticket").where_sql("id = $1", &[&uuid(1)]).fetch_all().await.expect("where_sql uuid");
    assert_eq!(untyped.len(), 1);
}
