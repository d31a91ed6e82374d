//! Filtering: typed filters from `#[derive(Entity)]` (checked by the compiler), `where_sql` with bound
//! parameters for what the typed API does not say, and a Rust-side predicate; every value travels as a parameter.
//!
//! ```sh
//! cargo run -p examples --example filtering                            # throwaway cluster
//! DATABASE_URL=postgres://me@localhost/mydb cargo run -p examples --example filtering
//! ```

use fraiseql_wire::{Client, Entity};
use serde::Deserialize;

#[derive(Debug, Deserialize, Entity)]
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

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (url, _cluster) = examples::database(&examples::item_sql(2000, 10)).await?;
    let client = Client::connect(&url).await?;

    // Typed: each operator is typed by its field (`price` takes numbers, `tags` element values).
    let cheap_tools = Item::query(&client)
        .filter(|i| i.category.eq("tools").and(i.price.lt(5.0)).and(i.in_stock.eq(true)).and(i.tags.contains("t1")));
    let statement = cheap_tools.to_sql()?;
    println!(
        "typed filter:\n  {}\n  parameters {:?}",
        statement.sql,
        statement.params.iter().map(|p| p.as_str()).collect::<Vec<_>>()
    );
    let found = cheap_tools.fetch_all().await?;
    println!("  {} cheap tools in stock tagged t1, first {:?}", found.len(), found.first().map(|i| &i.name));
    assert!(
        found.iter().all(|i| i.category == "tools" && i.price < 5.0 && i.in_stock && i.tags.contains(&"t1".to_owned()))
    );

    // Any list of values: one array parameter.
    let some =
        Item::query(&client).filter(|i| i.category.in_list(["books", "toys"]).and(i.id.lte(10))).fetch_all().await?;
    println!("books or toys among the first 10: {:?}", some.iter().map(|i| i.id).collect::<Vec<_>>());

    // SQL for the rest, values still bound: `$1`, `$2` are parameters, never spliced into the text.
    let hostile = "books' OR true --";
    let none = client.query("v_item").where_sql("data->>'category' = $1", &[&hostile]).count().await?;
    println!("a hostile value stays a value: {none} rows match {hostile:?}");
    assert_eq!(none, 0);
    let named = client
        .query_as::<Item>("v_item")
        .where_sql("data->>'name' LIKE $1 AND (data->>'price')::numeric BETWEEN $2 AND $3", &[&"item 1%", &10, &20])
        .fetch_all()
        .await?;
    println!("names starting with \"item 1\" priced 10 to 20: {}", named.len());

    // A Rust predicate runs on decoded rows, for what SQL cannot express (rows it drops were still sent).
    let palindromes = Item::query(&client)
        .filter(|i| i.id.lt(1000))
        .filter_rust(|i| {
            let digits = i.id.to_string();
            digits.chars().rev().collect::<String>() == digits
        })
        .fetch_all()
        .await?;
    println!("palindromic ids under 1000: {}", palindromes.len());
    assert_eq!(palindromes.len(), 108);
    Ok(())
}
