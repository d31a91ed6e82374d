//! A small, complete API endpoint over a view (axum, feature `axum`): filters, sorts, cursor pages and totals
//! from request input, checked against the entity, streamed from a pool as NDJSON, a JSON array or a page
//! envelope. Run on its own, it serves until Ctrl-C; in CI (`--check`) it answers its own requests and exits.
//!
//! ```sh
//! cargo run -p examples --example web_service
//! # then, for example:
//! curl 'localhost:3000/items?limit=3&sort=-price&filter=%7B%22category%22%3A%7B%22eq%22%3A%22books%22%7D%7D'
//! curl localhost:3000/items/search -H 'content-type: application/json' \
//!   -d '{"filter": {"price": {"lt": 5}, "tags": {"contains": "t3"}}, "sort": ["price"], "limit": 2, "total": true}'
//! cargo run -p examples --example web_service -- --check
//! ```
//!
//! - `GET /items?filter=<JSON>&sort=-price,name&cursor=…&limit=50&format=ndjson|array|envelope&total=exact`:
//!   NDJSON and arrays put the next cursor and the total in the `x-next-cursor` and `x-total-count` headers, the
//!   envelope in its body.
//! - `POST /items/search` with `{"filter": {…}, "sort": […], "cursor": …, "limit": …, "total": true}`: the
//!   envelope.
//!
//! A mistake in the input is a 400 with a JSON error naming its place (`/price/lt`); a down database a 503.

use axum::extract::{Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use fraiseql_wire::entity::Total;
use fraiseql_wire::http::{self as web, ErrorResponse, Format, JsonResponse, PageRequest};
use fraiseql_wire::{Entity, Pool};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[derive(Debug, Deserialize, Serialize, Entity)]
#[entity(view = "v_item")]
struct Item {
    #[entity(column = "id")]
    id: i64,
    name: String,
    category: String,
    price: f64,
    in_stock: bool,
    tags: Vec<String>,
}

/// The largest page a client may ask for.
const MAX_LIMIT: u64 = 1_000;

async fn items(State(pool): State<Pool>, Query(request): Query<PageRequest>) -> Result<JsonResponse, ErrorResponse> {
    // The id last: the cursor needs a unique key, and it breaks ties of any sort the client chose.
    let query = request.apply(Item::query(&pool), &["id"])?;
    Ok(web::page(query, request.limit.unwrap_or(100).min(MAX_LIMIT), request.total, request.format).await)
}

/// The body of `POST /items/search`.
#[derive(Deserialize)]
struct Search {
    #[serde(default)]
    filter: serde_json::Value,
    #[serde(default)]
    sort: Vec<String>,
    cursor: Option<String>,
    limit: Option<u64>,
    #[serde(default)]
    total: bool,
}

async fn search(State(pool): State<Pool>, Json(search): Json<Search>) -> Result<JsonResponse, ErrorResponse> {
    let filter = (!search.filter.is_null()).then(|| Item::filter_from_json(&search.filter)).transpose()?;
    let query = web::apply_input(Item::query(&pool), filter, &search.sort, search.cursor.as_deref(), &["id"])?;
    let total = if search.total { Total::Exact } else { Total::None };
    Ok(web::page(query, search.limit.unwrap_or(100).min(MAX_LIMIT), total, Format::Envelope).await)
}

/// One HTTP/1.1 request, answered in full (the connection closes at the end): the status line's code, the
/// headers and the body.
async fn call(port: u16, method: &str, path: &str, body: &str) -> std::io::Result<(u16, String, String)> {
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await?;
    let mut response = String::new();
    stream.read_to_string(&mut response).await?;
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let status = head.split(' ').nth(1).and_then(|code| code.parse().ok()).unwrap_or(0);
    // The body is chunked: keep the JSON lines and drop the chunk sizes.
    let body = body.lines().filter(|line| line.starts_with(['{', '['])).collect::<Vec<_>>().join("\n");
    Ok((status, head.to_owned(), body))
}

/// The value of header `name` in `head`.
fn header<'h>(head: &'h str, name: &str) -> Option<&'h str> {
    head.lines()
        .find_map(|line| line.split_once(": ").filter(|(key, _)| key.eq_ignore_ascii_case(name)).map(|(_, v)| v))
}

async fn check(port: u16) -> Result<(), Box<dyn std::error::Error>> {
    let books = "%7B%22category%22%3A%7B%22eq%22%3A%22books%22%7D%7D"; // {"category":{"eq":"books"}}
    let (status, head, body) =
        call(port, "GET", &format!("/items?limit=3&sort=-price&filter={books}&total=exact"), "").await?;
    println!("GET /items (NDJSON):\n{body}");
    assert_eq!(status, 200, "{head}");
    let first: Vec<serde_json::Value> = body.lines().map(serde_json::from_str).collect::<Result<_, _>>()?;
    assert_eq!(first.len(), 3);
    assert!(first.iter().all(|item| item["category"] == "books"));
    assert_eq!(header(&head, "x-total-count"), Some("250"), "{head}");
    let cursor = header(&head, "x-next-cursor").ok_or("a next cursor")?;
    let (status, _, next) =
        call(port, "GET", &format!("/items?limit=3&sort=-price&filter={books}&cursor={cursor}"), "").await?;
    assert_eq!(status, 200);
    let next: Vec<serde_json::Value> = next.lines().map(serde_json::from_str).collect::<Result<_, _>>()?;
    assert!(next[0]["price"].as_f64() <= first[2]["price"].as_f64(), "the next page continues the order");
    println!("the next page starts at {}", next[0]);

    let search =
        r#"{"filter": {"price": {"lt": 5}, "tags": {"contains": "t3"}}, "sort": ["price"], "limit": 2, "total": true}"#;
    let (status, _, body) = call(port, "POST", "/items/search", search).await?;
    println!("POST /items/search:\n{body}");
    assert_eq!(status, 200);
    let envelope: serde_json::Value = serde_json::from_str(&body)?;
    assert_eq!(envelope["items"].as_array().map(Vec::len), Some(2));
    assert!(envelope["next"].is_string() && envelope["total"].as_u64().is_some_and(|n| n > 2), "{envelope}");

    let (status, _, error) = call(port, "POST", "/items/search", r#"{"filter": {"price": {"lt": "cheap"}}}"#).await?;
    println!("a mistake:\n{error}");
    assert_eq!(status, 400);
    let error: serde_json::Value = serde_json::from_str(&error)?;
    assert_eq!(error["error"]["path"], "/price/lt");
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (url, _cluster) = examples::database(&examples::item_sql(1000, 10)).await?;
    let pool = Pool::connect(&url).await?;
    let app = Router::new().route("/items", get(items)).route("/items/search", post(search)).with_state(pool);
    let checking = std::env::args().any(|arg| arg == "--check");
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", if checking { 0 } else { 3000 })).await?;
    let port = listener.local_addr()?.port();
    if !checking {
        println!("serving on http://127.0.0.1:{port}/items (Ctrl-C stops)");
        axum::serve(listener, app)
            .with_graceful_shutdown(async { tokio::signal::ctrl_c().await.unwrap_or(()) })
            .await?;
        return Ok(());
    }
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let checked = check(port).await;
    server.abort();
    checked
}
