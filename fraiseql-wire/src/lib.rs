//! Stream typed JSON documents out of PostgreSQL views.
//!
//! Applications keep read models as views exposing one JSON document per row (`v_project(id, data jsonb)`).
//! fraiseql-wire reads the `data` column as a [`futures_core::Stream`], with memory bounded by the largest row,
//! natural backpressure, and values always sent as bound parameters.
//!
//! # Typed entities
//!
//! `#[derive(Entity)]` binds a struct to a view and generates typed field handles; filters and sort keys built
//! from them compile to SQL with bound parameters, and mistakes are compile errors.
//!
//! ```no_run
//! use fraiseql_wire::{Client, Document, Entity, Scalar};
//! use futures_util::TryStreamExt;
//!
//! #[derive(Debug, serde::Deserialize, serde::Serialize, Scalar)]
//! #[serde(rename_all = "snake_case")]
//! enum Status { Active, Archived }
//!
//! #[derive(Debug, serde::Deserialize, Document)]
//! struct Owner { team: String }
//!
//! #[derive(Debug, serde::Deserialize, Entity)]
//! #[entity(view = "v_project", schema = "app")]
//! struct Project {
//!     #[entity(column = "id")]
//!     id: i64,
//!     name: String,
//!     status: Status,
//!     priority: i32,
//!     tags: Vec<String>,
//!     owner: Owner,
//! }
//!
//! # async fn demo() -> fraiseql_wire::Result<()> {
//! let client = Client::connect("postgres://app@localhost/shop").await?;
//! let mut active = Project::query(&client)
//!     .filter(|p| p.status.eq(Status::Active).and(p.priority.gte(3)).and(p.owner.team.eq("core")))
//!     .order_by(|p| (p.priority.desc(), p.id.asc()))
//!     .limit(100)
//!     .stream();
//! while let Some(project) = active.try_next().await? {
//!     println!("{} ({})", project.name, project.priority);
//! }
//! # Ok(()) }
//! ```
//!
//! The [`entity`] module documents every operator, the SQL it compiles to and the index that serves it.
//!
//! # Untyped queries
//!
//! [`Client::query`] returns the same [`Query`] type for any view, with SQL fragments and bound parameters, and
//! rows as [`serde_json::Value`], any `T: Deserialize`, or raw JSON bytes:
//!
//! ```no_run
//! use futures_util::TryStreamExt;
//!
//! # async fn demo(client: fraiseql_wire::Client) -> fraiseql_wire::Result<()> {
//! let mut rows = client
//!     .query("v_project")
//!     .where_sql("data->>'status' = $1", &[&"active"])
//!     .stream_raw();
//! while let Some(json) = rows.try_next().await? {
//!     println!("{}", String::from_utf8_lossy(&json));
//! }
//! # Ok(()) }
//! ```
//!
//! # Connections
//!
//! A [`Client`] is a cheap `Clone + Send + Sync` handle on one connection that runs queries one after another,
//! reconnects after a failure, and cancels the server's work when a stream is dropped early. Connection strings
//! follow libpq (URI or `key=value`, `PG*` variables, `~/.pgpass`); see [`Config`]. Every error is an [`Error`]
//! with an actionable message.
#![deny(missing_docs)]

mod client;
pub mod config;
mod connection;
pub mod entity;
mod error;
mod protocol;
mod query;
#[cfg(test)]
mod robustness;
mod stream;

pub use client::Client;
pub use config::Config;
pub use entity::{Document, Entity, Field, FieldType, Filter, OrderKey};
pub use error::{DbError, Error, Result};
pub use query::{IntoOrderKeys, Param, Query, Statement, ToParam};
pub use stream::RowStream;

#[cfg(feature = "derive")]
pub use fraiseql_wire_derive::{Document, Entity, Scalar};

/// The README's examples, compiled as doctests so they stay true.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
