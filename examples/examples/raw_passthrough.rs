//! Raw passthrough: each row's JSON text handed on as received (validated as UTF-8, never parsed), written to
//! standard output as NDJSON, the cheapest way to serve or export documents.
//!
//! ```sh
//! cargo run -p examples --example raw_passthrough > items.ndjson            # throwaway cluster
//! DATABASE_URL=postgres://me@localhost/mydb cargo run -p examples --example raw_passthrough | head
//! ```

use std::io::{BufWriter, Write};

use fraiseql_wire::Client;
use futures_util::TryStreamExt;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (url, _cluster) = examples::database(&examples::item_sql(1000, 10)).await?;
    let client = Client::connect(&url).await?;

    let mut rows = client.query("v_item").where_sql("data->>'category' = $1", &[&"books"]).stream_raw();
    let mut out = BufWriter::new(std::io::stdout().lock());
    let mut count = 0;
    // `row` is `bytes::Bytes`: the text as the server sent it, sharing the read buffer's allocation.
    while let Some(row) = rows.try_next().await? {
        match out.write_all(&row).and_then(|()| out.write_all(b"\n")) {
            Ok(()) => count += 1,
            // The reader stopped early (`| head`): dropping the stream cancels the server's work.
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(()),
            Err(e) => return Err(e.into()),
        }
    }
    out.flush()?;
    eprintln!("{count} rows written");
    Ok(())
}
