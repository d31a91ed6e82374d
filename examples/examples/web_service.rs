//! A small web service: `GET /items?category=books&after=120&limit=50` served from a pool as a streaming NDJSON
//! response (axum), typed rows in keyset pages; memory per request is one row, and a client that disconnects
//! stops the server's query. Run on its own, it serves until Ctrl-C; in CI (`--check`) it answers two requests
//! itself and exits.
//!
//! ```sh
//! cargo run -p examples --example web_service                  # then: curl 'localhost:3000/items?limit=5'
//! cargo run -p examples --example web_service -- --check
//! ```

use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{BoxError, Router};
use fraiseql_wire::{Entity, Pool};
use futures_util::StreamExt;
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
}

#[derive(Deserialize)]
struct Page {
    category: Option<String>,
    /// The last id of the previous page.
    #[serde(default)]
    after: i64,
    limit: Option<u64>,
}

async fn items(State(pool): State<Pool>, Query(page): Query<Page>) -> Response {
    let limit = page.limit.unwrap_or(100).min(1000);
    let mut query = Item::query(&pool).filter(|i| i.id.gt(page.after));
    if let Some(category) = &page.category {
        query = query.filter(|i| i.category.eq(category.as_str()));
    }
    let mut rows = Box::pin(query.order_by(|i| i.id.asc()).limit(limit).stream().peekable());
    // Errors before the first row (a down database, say) still make a clean status; after the first byte, an
    // error can only end the body early.
    if let Some(Err(error)) = rows.as_mut().peek().await {
        let status =
            if error.is_retriable() { StatusCode::SERVICE_UNAVAILABLE } else { StatusCode::INTERNAL_SERVER_ERROR };
        return (status, format!("{error}\n")).into_response();
    }
    // Each row becomes one line as it arrives.
    let lines = rows.map(|row| -> Result<Vec<u8>, BoxError> {
        let mut line = serde_json::to_vec(&row?)?;
        line.push(b'\n');
        Ok(line)
    });
    ([(header::CONTENT_TYPE, "application/x-ndjson")], Body::from_stream(lines)).into_response()
}

/// One HTTP/1.1 request, answered in full (the connection closes at the end).
async fn get_text(port: u16, path: &str) -> std::io::Result<String> {
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
    stream.write_all(format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").as_bytes()).await?;
    let mut response = String::new();
    stream.read_to_string(&mut response).await?;
    Ok(response)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (url, _cluster) = examples::database(&examples::item_sql(1000, 10)).await?;
    let pool = Pool::connect(&url).await?;
    let app = Router::new().route("/items", get(items)).with_state(pool);
    let check = std::env::args().any(|arg| arg == "--check");
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", if check { 0 } else { 3000 })).await?;
    let port = listener.local_addr()?.port();
    if !check {
        println!("serving on http://127.0.0.1:{port}/items (Ctrl-C stops)");
        axum::serve(listener, app)
            .with_graceful_shutdown(async { tokio::signal::ctrl_c().await.unwrap_or(()) })
            .await?;
        return Ok(());
    }
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let first = get_text(port, "/items?category=books&limit=3").await?;
    println!("{first}");
    assert!(first.starts_with("HTTP/1.1 200") && first.contains("application/x-ndjson"), "{first}");
    let ids: Vec<i64> = first
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter_map(|item| item["id"].as_i64())
        .collect();
    assert_eq!(ids.len(), 3, "{first}");
    let next = get_text(port, &format!("/items?category=books&limit=3&after={}", ids[2])).await?;
    println!("the next page:\n{}", next.lines().filter(|l| l.starts_with('{')).collect::<Vec<_>>().join("\n"));
    assert!(next.contains(&format!("\"id\":{}", ids[2] + 4)), "{next}");
    server.abort();
    Ok(())
}
