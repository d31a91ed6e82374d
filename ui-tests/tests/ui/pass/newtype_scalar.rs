//! A `#[serde(transparent)]` newtype with `#[derive(Scalar)]` is compared as its inner type.

use fraiseql_wire::{Entity, Scalar};
use serde::{Deserialize, Serialize};

#[derive(Deserialize, Serialize, Scalar)]
#[serde(transparent)]
struct Email(String);

#[derive(Deserialize, Serialize, Scalar)]
#[serde(transparent)]
struct Cents(i64);

/// A transparent struct with one named field is a newtype too.
#[derive(Deserialize, Serialize, Scalar)]
#[serde(transparent)]
struct Slug {
    value: String,
}

#[derive(Deserialize, Entity)]
#[entity(view = "v_user")]
struct User {
    email: Email,
    balance: Cents,
    slug: Slug,
    backup: Option<Email>,
}

fn main() {
    let statement = User::select()
        .filter(|u| u.email.eq(Email("a@b.c".into())).and(u.email.ends_with("@b.c")))
        .filter(|u| u.balance.gt(Cents(100)))
        .filter(|u| u.slug.eq(Slug { value: "s".into() }))
        .filter(|u| u.backup.eq(Email("x@y.z".into())))
        .to_sql()
        .unwrap();
    assert!(statement.sql.contains("(data->>'balance')::numeric > $3::numeric"), "{}", statement.sql);
    assert_eq!(statement.params[0].as_str(), Some("a@b.c"));
    assert_eq!(statement.params[2].as_str(), Some("100"));
}
