//! Ordering and keyset pagination: pages that start after the last row read, in any order whose last key is
//! unique, so late pages cost as little as early ones (unlike OFFSET) and rows added meanwhile shift nothing.
//!
//! ```sh
//! cargo run -p examples --example keyset_pagination                            # throwaway cluster
//! DATABASE_URL=postgres://me@localhost/mydb cargo run -p examples --example keyset_pagination
//! ```

use fraiseql_wire::{Client, Entity};
use serde::Deserialize;

#[derive(Debug, Deserialize, Entity)]
#[entity(view = "v_item")]
struct Item {
    /// The view's `id` column: unique, so it can end the sort keys and make every position in the order exact.
    #[entity(column = "id")]
    id: i64,
    name: String,
    category: String,
    price: f64,
}

const PAGE: u64 = 250;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (url, _cluster) = examples::database(&examples::item_sql(2000, 10)).await?;
    let client = Client::connect(&url).await?;

    // Most expensive first, ties broken by id.
    let ordered =
        || Item::query(&client).filter(|i| i.category.eq("garden")).order_by(|i| (i.price.desc(), i.id.asc()));
    let mut pages = 0;
    let mut seen = Vec::new();
    let mut last: Option<Item> = None;
    loop {
        let page_query = match &last {
            None => ordered(),
            Some(row) => ordered().after(row),
        };
        let page = page_query.limit(PAGE).fetch_all().await?;
        if page.is_empty() {
            break;
        }
        pages += 1;
        println!(
            "page {pages}: {} rows, from {} ({:.2}) to {} ({:.2})",
            page.len(),
            page[0].name,
            page[0].price,
            page[page.len() - 1].name,
            page[page.len() - 1].price
        );
        seen.extend(page.iter().map(|i| (i.price, i.id)));
        last = page.into_iter().last();
    }
    // The pages together are the whole ordered result, each row once.
    let all = ordered().fetch_all().await?;
    assert_eq!(seen, all.iter().map(|i| (i.price, i.id)).collect::<Vec<_>>());
    println!("{pages} pages, {} rows, same as one ordered read", seen.len());
    Ok(())
}
