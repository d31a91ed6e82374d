//! HTTP responses end to end (feature `axum`): an axum server on loopback and a hyper client. NDJSON, array and
//! envelope pages from request input (filter, sort, cursor) return every row once; an error before the first byte
//! is a status code with a JSON error, one after it a body the client sees as incomplete; a client that
//! disconnects stops the server's query within a second.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Query as UrlQuery, State};
use axum::http;
use axum::routing::get;
use bytes::Bytes;
use fraiseql_wire::http::{self as web, ErrorResponse, Format, JsonBody, PageRequest};
use fraiseql_wire::{Client, Entity};
use fraiseql_wire_tests::{AuthUser, TestDatabase};
use http_body_util::{BodyExt, Empty};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::common::{self, app_name, create_endless_view, sessions, url_with_app, wait_for};

#[derive(Debug, Deserialize, Serialize, Entity)]
#[entity(view = "v_http")]
struct Item {
    #[entity(column = "id")]
    id: i64,
    priority: i64,
    team: String,
}

const ROWS: i64 = 2_500;

#[derive(Clone)]
struct App {
    client: Client,
    endless: Client,
}

async fn items(
    State(app): State<App>,
    UrlQuery(request): UrlQuery<PageRequest>,
) -> Result<http::Response<JsonBody>, ErrorResponse> {
    let query = request.apply(Item::query(&app.client), &["id"])?;
    Ok(web::page(query, request.limit.unwrap_or(100).min(1_000), request.total, request.format).await)
}

async fn endless(State(app): State<App>) -> http::Response<JsonBody> {
    web::respond(JsonBody::ndjson(app.endless.query("v_endless").stream_raw())).await
}

async fn failing(State(app): State<App>) -> http::Response<JsonBody> {
    web::respond(JsonBody::array(app.client.query("v_http_fails").stream_raw())).await
}

async fn typed(State(app): State<App>) -> http::Response<JsonBody> {
    let rows = Item::query(&app.client).order_by(|i| i.id.asc()).limit(3).stream();
    web::respond(JsonBody::of(Format::Array, rows)).await
}

/// The database, and the server's port.
async fn serve() -> (TestDatabase, u16, String) {
    let db = common::database().await;
    db.execute(&format!(
        "CREATE TABLE http_items (id bigint PRIMARY KEY, data jsonb NOT NULL);
         INSERT INTO http_items SELECT i, jsonb_build_object('id', i, 'priority', i % 5, 'team', \
           (ARRAY['core', 'web', 'ops'])[1 + i % 3]) FROM generate_series(1, {ROWS}) AS i;
         CREATE VIEW v_http AS SELECT id, data FROM http_items;
         CREATE VIEW v_http_fails AS SELECT jsonb_build_object('i', i, 'x', 1 / (i - 3000)) AS data \
           FROM (SELECT generate_series(1, 5000) AS i) AS s"
    ))
    .await;
    create_endless_view(&db, 100).await;
    let app_name = app_name("http_disconnect");
    let client = Client::connect(&db.url(AuthUser::Scram)).await.expect("connect");
    let listening = Client::connect(&url_with_app(&db, AuthUser::Scram, &app_name)).await.expect("connect");
    let router = Router::new()
        .route("/items", get(items))
        .route("/endless", get(endless))
        .route("/failing", get(failing))
        .route("/typed", get(typed))
        .with_state(App { client, endless: listening });
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await.expect("a loopback port");
    let port = listener.local_addr().expect("its address").port();
    tokio::spawn(async move { axum::serve(listener, router).await });
    (db, port, app_name)
}

/// A GET on its own connection: the response head, and the task driving the connection (abort it to hang up).
async fn request(port: u16, path: &str) -> (http::Response<Incoming>, tokio::task::JoinHandle<()>) {
    let stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.expect("connect to the server");
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.expect("HTTP");
    let driver = tokio::spawn(async move {
        let _ = connection.await;
    });
    let request = http::Request::get(path).header(http::header::HOST, "localhost").body(Empty::<Bytes>::new());
    let response = sender.send_request(request.expect("a request")).await.unwrap_or_else(|e| panic!("{path}: {e}"));
    (response, driver)
}

/// Status, headers and the whole body.
async fn fetch(port: u16, path: &str) -> (http::StatusCode, http::HeaderMap, Vec<u8>) {
    let (response, _driver) = request(port, path).await;
    let (head, body) = response.into_parts();
    let body = body.collect().await.expect("a complete body").to_bytes().to_vec();
    (head.status, head.headers, body)
}

fn ids(items: &[Value]) -> Vec<i64> {
    items.iter().map(|item| item["id"].as_i64().expect("an id")).collect()
}

/// Every page of `path` (which has a `?`), following the cursor however `format` gives it.
async fn all_pages(port: u16, path: &str, format: &str) -> Vec<i64> {
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let url = match &cursor {
            Some(cursor) => format!("{path}&format={format}&cursor={cursor}"),
            None => format!("{path}&format={format}"),
        };
        let (status, headers, body) = fetch(port, &url).await;
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
        let (items, next): (Vec<Value>, Option<String>) = match format {
            "ndjson" => {
                assert_eq!(headers[http::header::CONTENT_TYPE], "application/x-ndjson");
                let lines = body.split(|b| *b == b'\n').filter(|l| !l.is_empty());
                let items = lines.map(|line| serde_json::from_slice(line).expect("a JSON line")).collect();
                (items, headers.get(web::NEXT_CURSOR).map(|v| v.to_str().expect("ASCII").to_owned()))
            }
            "array" => {
                assert_eq!(headers[http::header::CONTENT_TYPE], "application/json");
                let items = serde_json::from_slice(&body).expect("a JSON array");
                (items, headers.get(web::NEXT_CURSOR).map(|v| v.to_str().expect("ASCII").to_owned()))
            }
            _ => {
                let envelope: Value = serde_json::from_slice(&body).expect("a JSON envelope");
                let items = envelope["items"].as_array().expect("items").clone();
                (items, envelope["next"].as_str().map(str::to_owned))
            }
        };
        seen.extend(ids(&items));
        match next {
            Some(next) => cursor = Some(next),
            None => return seen,
        }
    }
}

#[tokio::test]
async fn pages_of_every_format_return_every_row_once() {
    let (_db, port, _) = serve().await;
    let all: Vec<i64> = (1..=ROWS).collect();
    for format in ["ndjson", "array", "envelope"] {
        assert_eq!(all_pages(port, "/items?limit=333", format).await, all, "{format}");
    }
    // Filter and sort from the query string: the filter as JSON (URL-encoded), priority descending, id last.
    let filter = "%7B%22team%22%3A%7B%22eq%22%3A%22web%22%7D%7D"; // {"team":{"eq":"web"}}
    let web = all_pages(port, &format!("/items?limit=250&sort=-priority&filter={filter}"), "envelope").await;
    let expected: BTreeSet<i64> = (1..=ROWS).filter(|i| i % 3 == 1).collect();
    assert_eq!(web.len(), expected.len());
    assert_eq!(web.iter().copied().collect::<BTreeSet<_>>(), expected);
    let priorities: Vec<i64> = web.iter().map(|i| i % 5).collect();
    assert!(priorities.windows(2).all(|w| w[0] >= w[1]), "sorted by priority descending");

    // Totals: in the envelope and in the header.
    let (_, _, body) = fetch(port, "/items?limit=10&format=envelope&total=exact").await;
    assert_eq!(serde_json::from_slice::<Value>(&body).expect("JSON")["total"], ROWS);
    let (_, headers, _) = fetch(port, "/items?limit=10&format=ndjson&total=exact").await;
    assert_eq!(headers[web::TOTAL_COUNT], ROWS.to_string().as_str());

    // Typed rows, serialized again.
    let (status, _, body) = fetch(port, "/typed").await;
    assert_eq!(status, 200);
    assert_eq!(ids(&serde_json::from_slice::<Vec<Value>>(&body).expect("an array")), [1, 2, 3]);
}

#[tokio::test]
async fn errors_before_the_first_byte_are_status_codes_and_after_it_an_incomplete_body() {
    let (_db, port, _) = serve().await;
    let bad = [
        ("/items?filter=%7B%22nope%22%3A%7B%7D%7D", "/nope"), // {"nope":{}}
        ("/items?filter=%7B", ""),                            // not JSON
        ("/items?sort=-tem", "/0"),                           // a typo in a sort key
        ("/items?cursor=bm90LWEtY3Vyc29y&format=envelope", ""), // not a cursor
        ("/items?cursor=bm90LWEtY3Vyc29y&format=ndjson", ""),
    ];
    for (path, pointer) in bad {
        let (status, headers, body) = fetch(port, path).await;
        assert_eq!(status, 400, "{path}: {}", String::from_utf8_lossy(&body));
        assert_eq!(headers[http::header::CONTENT_TYPE], "application/json");
        let error: Value = serde_json::from_slice(&body).expect("a JSON error");
        assert_eq!(error["error"]["kind"], "input", "{error}");
        assert_eq!(error["error"]["path"], pointer, "{error}");
        assert!(error["error"]["advice"].as_str().is_some_and(|a| !a.is_empty()), "{error}");
    }
    // After the first byte the status cannot change: the response ends early, and the client knows, whether the
    // error came before hyper flushed the head (an incomplete message) or after (an incomplete body).
    for _ in 0..3 {
        let stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.expect("connect");
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.expect("HTTP");
        tokio::spawn(async move {
            let _ = connection.await;
        });
        let request =
            http::Request::get("/failing").header(http::header::HOST, "localhost").body(Empty::<Bytes>::new());
        let outcome = match sender.send_request(request.expect("a request")).await {
            Err(error) => Err(error.to_string()),
            Ok(response) => {
                assert_eq!(response.status(), 200);
                response.into_body().collect().await.map(|_| ()).map_err(|error| error.to_string())
            }
        };
        assert!(outcome.is_err(), "a response cut by an error must not read as complete");
    }
}

#[tokio::test]
async fn a_client_that_disconnects_stops_the_query_within_a_second() {
    let (db, port, app) = serve().await;
    let (response, driver) = request(port, "/endless").await;
    assert_eq!(response.status(), 200);
    let mut body = response.into_body();
    let first = body.frame().await.expect("a frame").expect("data");
    assert!(first.data_ref().is_some_and(|data| !data.is_empty()));
    let admin = db.admin();
    let active =
        || async { sessions(admin, &app).await.iter().any(|(_, state, _)| state.as_deref() == Some("active")) };
    assert!(active().await, "the query runs while the client reads");
    // Hang up: the connection task and the body go away, as a browser closing the tab.
    drop(body);
    driver.abort();
    let hung_up = Instant::now();
    let idle = wait_for(Duration::from_secs(5), || async { (!active().await).then_some(()) }).await;
    let waited = hung_up.elapsed();
    assert!(idle.is_some(), "the server still runs the query 5 s after the client left");
    assert!(waited < Duration::from_secs(1), "the query stopped {waited:?} after the client left");
    println!("figure: query stopped {waited:?} after the HTTP client hung up");
}
