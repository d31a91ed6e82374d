//! Date and time fields in every storage, with the operators they allow, in an entity and a nested document.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, Utc};
use fraiseql_wire::{Document, Entity, Scalar};
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Deserialize, Serialize, Scalar)]
#[serde(transparent)]
struct Due(NaiveDate);

#[derive(Deserialize, Document)]
struct Milestone {
    #[entity(time = "epoch_ms")]
    #[serde(with = "chrono::serde::ts_milliseconds")]
    reached: DateTime<Utc>,
    due: Option<Due>,
}

#[derive(Deserialize, Entity)]
#[entity(view = "v_issue", time = "rfc3339")]
struct Issue {
    #[entity(column = "id")]
    id: i64,
    created_at: DateTime<Utc>,
    closed_at: Option<DateTime<FixedOffset>>,
    #[entity(time = "cast")]
    edited: NaiveDateTime,
    #[entity(time = "epoch")]
    #[serde(with = "chrono::serde::ts_seconds")]
    synced: DateTime<Utc>,
    milestone: Milestone,
}

fn main() {
    let now = DateTime::<Utc>::from_timestamp(1_772_366_400, 0).expect("an instant");
    let i = Issue::fields();
    let _ = i.created_at.gte(now) & i.closed_at.is_null() | i.closed_at.between(now.fixed_offset(), now.fixed_offset());
    let _ = i.edited.lt(now.naive_utc()) & i.synced.in_list([now]) & i.milestone.reached.ne(now);
    let _ = i.milestone.due.gt(Due(now.date_naive()));
    let _ = Issue::select().order_by(|i| (i.created_at.desc(), i.synced.asc(), i.id.asc()));
}
