//! Tests of fraiseql-wire's derives: `tests/ui.rs` runs the trybuild cases under `tests/ui/` (compile-fail cases
//! with their committed `.stderr`, and cases that must compile and run). The SQL that derived entities compile to
//! is checked by the integration suite (`tests/tests/it/sql_snapshots.rs`).
//!
//! This library is a check of its own: the items below must compile in a crate that denies missing docs, missing
//! `Debug` implementations, unreachable `pub` and every warning, with public and private entities whose
//! generated items are never used.
#![deny(missing_docs, missing_debug_implementations, unreachable_pub, warnings)]

use fraiseql_wire::{Document, Entity, Scalar};
use serde::{Deserialize, Serialize};

/// A public entity, its handles exported.
#[derive(Debug, Deserialize, Entity)]
#[entity(view = "v_project", schema = "app")]
#[serde(rename_all = "camelCase")]
pub struct Project {
    /// The key column.
    #[entity(column = "id")]
    pub id: i64,
    /// A nested document.
    pub owner: Owner,
    /// A scalar enum.
    pub status: Status,
    /// A newtype.
    pub email: Option<Email>,
    /// A field whose handle stays private.
    created_at: String,
}

impl Project {
    /// Reads the private field, so it is not dead.
    pub fn created_at(&self) -> &str {
        &self.created_at
    }
}

/// A public nested document.
#[derive(Debug, Deserialize, Document)]
pub struct Owner {
    /// Its one key.
    pub team: String,
}

/// A public scalar enum.
#[derive(Debug, Deserialize, Serialize, Scalar)]
pub enum Status {
    /// On.
    Active,
    /// Off.
    Archived,
}

/// A public newtype.
#[derive(Debug, Deserialize, Serialize, Scalar)]
#[serde(transparent)]
pub struct Email(pub String);

/// Crate-private items: nothing generated for them may warn (dead code, unreachable `pub`).
mod private {
    use fraiseql_wire::{Document, Entity};
    use serde::Deserialize;

    #[allow(dead_code)] // the struct's own fields are never read; the generated items must not add warnings
    #[derive(Deserialize, Entity)]
    #[entity(view = "v_internal")]
    struct Internal {
        #[entity(order_key)]
        slug: String,
        inner: Inner,
    }

    #[allow(dead_code)]
    #[derive(Deserialize, Document)]
    pub(super) struct Inner {
        pub(super) n: i32,
    }
}
