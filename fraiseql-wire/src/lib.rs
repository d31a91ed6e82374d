//! Stream typed JSON documents out of PostgreSQL views.
//!
//! Applications keep read models as views exposing one JSON document per row (`v_project(id, data jsonb)`).
//! fraiseql-wire reads the `data` column as a [`futures_core::Stream`], with memory bounded by the largest row,
//! natural backpressure and values always sent as bound parameters.
//!
//! ```no_run
//! use futures_util::TryStreamExt;
//!
//! #[derive(serde::Deserialize)]
//! struct Project {
//!     name: String,
//!     priority: i32,
//! }
//!
//! # async fn demo() -> fraiseql_wire::Result<()> {
//! let client = fraiseql_wire::Client::connect("postgres://app@localhost/shop").await?;
//! let mut projects = client
//!     .query("v_project")
//!     .where_sql("data->>'status' = $1", &[&"active"])
//!     .stream_as::<Project>();
//! while let Some(project) = projects.try_next().await? {
//!     println!("{} ({})", project.name, project.priority);
//! }
//! # Ok(()) }
//! ```
#![deny(missing_docs)]

mod client;
pub mod config;
mod connection;
pub mod entity;
mod error;
mod protocol;
mod query;
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
