//! Enums with data, as `#[derive(Document)]` on an enum reads them: which variant a value is, in each of serde's
//! tagged representations, and where a variant's content sits.
//!
//! | representation | a variant's JSON | `is_variant(Card)` | a field of the variant |
//! |---|---|---|---|
//! | external (serde's default) | `{"Card": {"last4": "4242"}}`, a unit variant `"Cash"` | `data->'payment' ? 'Card'` | `data->'payment'->'Card'->>'last4'` |
//! | internal, `#[serde(tag = "type")]` | `{"type": "Card", "last4": "4242"}` | `data @> '{"payment": {"type": "Card"}}'` | `data->'payment'->>'last4'` |
//! | adjacent, `tag = "t", content = "c"` | `{"t": "Card", "c": {"last4": "4242"}}` | `data @> '{"payment": {"t": "Card"}}'` | `data->'payment'->'c'->>'last4'` |
//!
//! The tag tests of the internal and adjacent forms are containments, served by a GIN `jsonb_path_ops` index on
//! `data` (and written as a pre-filter inside `any`); the external one is a key test (`?`), served by a GIN
//! index on the enum's expression (`USING gin ((data->'payment'))`). The variant name is always a bound
//! parameter. Untagged enums cannot say which variant a value is, so the derive refuses them.

use std::sync::Arc;

use serde_json::Value;

use super::filter::Filter;
use super::location::{Location, Step};
use crate::sql::{Expr, Param};

/// How an enum's variants are told apart in its JSON: serde's tagged representations.
#[doc(hidden)]
#[derive(Clone, Copy, Debug)]
pub enum Tagging {
    /// `{"Variant": content}`, or `"Variant"` for a unit variant.
    External,
    /// `{"<tag>": "Variant", …content's keys}`.
    Internal { tag: &'static str },
    /// `{"<tag>": "Variant", "<content>": content}`.
    Adjacent { tag: &'static str, content: &'static str },
}

impl Tagging {
    /// The keys from the enum's value to the content of variant `name`.
    fn content_path(self, name: &'static str) -> Vec<&'static str> {
        match self {
            Tagging::External => vec![name],
            Tagging::Internal { .. } => Vec::new(),
            Tagging::Adjacent { content, .. } => vec![content],
        }
    }
}

impl<E: 'static, T: 'static> Location<E, T> {
    /// The value here is the variant written `name` (or any of its `aliases`, which serde reads too).
    pub fn variant_is(&self, tagging: Tagging, names: &[&'static str]) -> Filter<E> {
        Filter::any(names.iter().map(|name| match tagging {
            Tagging::External => {
                Filter::expr(Expr::compare(format!("{} ? ", self.target.json_expr()), Param::text(*name), ""))
            }
            Tagging::Internal { tag } | Tagging::Adjacent { tag, .. } => {
                self.target.then(Step::Key(tag)).containment(Value::String((*name).to_owned()))
            }
        }))
    }

    /// The location of `keys` inside the content of variant `name`, read by `get` (`None` for another variant).
    /// A value of another variant has nothing there, so it compares as missing.
    pub fn variant_key<U: 'static>(
        &self,
        tagging: Tagging,
        name: &'static str,
        keys: &[&'static str],
        get: fn(&T) -> Option<&U>,
    ) -> Location<E, U> {
        let parent = self.get.clone();
        let target = tagging
            .content_path(name)
            .into_iter()
            .chain(keys.iter().copied())
            .fold(self.target.clone(), |target, key| target.then(Step::Key(key)));
        Location {
            target,
            get: Arc::new(move |e: &E| parent(e).and_then(get)),
            unique: false,
            time: self.time,
            optional: true,
        }
    }
}
