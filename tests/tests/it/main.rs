//! The integration suite: one binary, one module per area, all against real PostgreSQL clusters started by the
//! harness (`fraiseql_wire_tests`). `tests/env.rs` is a binary of its own because it changes the process
//! environment.

mod common;

mod architecture;
mod batch;

mod cancel;
mod connect;
mod differential;
mod entity_documents;
mod entity_enums;
mod entity_indexes;
mod entity_input;
mod entity_json;
mod entity_maps;
mod entity_schema;
mod entity_operators;
mod entity_pages;
mod entity_search;
mod entity_time;
mod entity_time_indexes;
mod entity_uuid;
mod errors;
mod faults;
mod harness;
mod hosts;
mod json_escapes;
mod hostile;
mod leaks;
mod load;
mod memory;
mod network_faults;
mod off_host;
mod parallel;
mod pgbouncer;
mod pool;
mod projection;
mod protocol_versions;
mod readme;
mod replicas;
mod server_faults;
mod snapshot;
mod sql_snapshots;
mod statement_cache;
mod stream;
mod tls;
mod troubleshooting;
mod watch;
mod web;
