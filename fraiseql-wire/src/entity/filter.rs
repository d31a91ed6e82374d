//! Filters: typed conditions on an entity's rows, combined like booleans.

use std::fmt;
use std::marker::PhantomData;

use serde_json::Value;

use crate::error::BuildError;
use crate::sql::{Expr, Node};

/// A condition on the rows of entity `E`, built from its typed fields and combined with [`and`](Filter::and),
/// [`or`](Filter::or) and [`not`](Filter::not) (or `&`, `|`, `!`).
///
/// Filters of different entities do not mix: passing a `Filter<Owner>` to a `Query<Project>` is a compile error.
pub struct Filter<E> {
    pub(crate) node: Node,
    /// JSON values the root (the document, or an element inside `any`) must contain whenever this filter holds:
    /// from its equalities on strings, integers and booleans and its containments, and-ed together. `any` turns
    /// them into a `@>` on the list that a GIN index serves, before the exact test runs.
    pub(crate) prefilter: Vec<Value>,
    /// Conditions on the row that hold whenever this filter does (and-ed in, never under `not` or `or`), which
    /// the query adds to its `WHERE` so an index can find the rows: in a `WHERE`, unknown and false are alike.
    pub(crate) hints: Vec<Node>,
    entity: PhantomData<fn(&E)>,
}

impl<E> Clone for Filter<E> {
    fn clone(&self) -> Self {
        Filter {
            node: self.node.clone(),
            prefilter: self.prefilter.clone(),
            hints: self.hints.clone(),
            entity: PhantomData,
        }
    }
}

impl<E> fmt::Debug for Filter<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut params = Vec::new();
        match self.node.render(&mut params) {
            Ok(sql) => f.debug_struct("Filter").field("sql", &sql).field("params", &params).finish(),
            Err(error) => {
                f.debug_struct("Filter").field("error", &crate::error::Error::from(error).to_string()).finish()
            }
        }
    }
}

impl<E> Filter<E> {
    pub(crate) fn from_node(node: Node) -> Self {
        Filter { node, prefilter: Vec::new(), hints: Vec::new(), entity: PhantomData }
    }

    /// This filter, known to hold only where the root contains `partial`.
    pub(crate) fn with_prefilter(mut self, partial: Value) -> Self {
        self.prefilter.push(partial);
        self
    }

    /// The filter as the query's `WHERE` condition: its node, and the hints that let an index find the rows.
    pub(crate) fn into_condition(self) -> Node {
        if self.hints.is_empty() {
            return self.node;
        }
        Node::all(std::iter::once(self.node).chain(self.hints))
    }

    pub(crate) fn expr(expr: Expr) -> Self {
        Filter::from_node(Node::Expr(expr))
    }

    /// A filter that could not be built; the query reports `reason` when it runs.
    pub(crate) fn invalid(reason: String) -> Self {
        Filter::from_node(Node::Invalid(BuildError::Filter { reason }))
    }

    /// Matches every row.
    pub fn always() -> Self {
        Filter::from_node(Node::Const(true))
    }

    /// Matches no row.
    pub fn never() -> Self {
        Filter::from_node(Node::Const(false))
    }

    /// Both conditions.
    pub fn and(self, other: Filter<E>) -> Self {
        Filter::all([self, other])
    }

    /// Either condition.
    pub fn or(self, other: Filter<E>) -> Self {
        Filter::any([self, other])
    }

    /// The opposite condition. As in SQL, a comparison with a missing value is neither true nor false, so
    /// `not` of it does not match either.
    #[allow(clippy::should_implement_trait)] // `!filter` works too; the method reads better in chains
    pub fn not(self) -> Self {
        Filter::from_node(Node::Not(Box::new(self.node)))
    }

    /// All of the filters (true when there are none).
    pub fn all(filters: impl IntoIterator<Item = Filter<E>>) -> Self {
        let mut prefilter = Vec::new();
        let mut hints = Vec::new();
        let nodes: Vec<Node> = filters
            .into_iter()
            .map(|filter| {
                prefilter.extend(filter.prefilter);
                hints.extend(filter.hints);
                filter.node
            })
            .collect();
        Filter { node: Node::all(nodes), prefilter, hints, entity: PhantomData }
    }

    /// Any of the filters (false when there are none).
    pub fn any(filters: impl IntoIterator<Item = Filter<E>>) -> Self {
        let mut filters: Vec<Filter<E>> = filters.into_iter().collect();
        // One alternative is that filter itself, pre-filter included; of several, no one pre-filter holds.
        if filters.len() == 1 {
            if let Some(only) = filters.pop() {
                return only;
            }
        }
        Filter::from_node(Node::any(filters.into_iter().map(|filter| filter.node)))
    }
}

impl<E> std::ops::BitAnd for Filter<E> {
    type Output = Filter<E>;
    fn bitand(self, rhs: Filter<E>) -> Filter<E> {
        self.and(rhs)
    }
}

impl<E> std::ops::BitOr for Filter<E> {
    type Output = Filter<E>;
    fn bitor(self, rhs: Filter<E>) -> Filter<E> {
        self.or(rhs)
    }
}

impl<E> std::ops::Not for Filter<E> {
    type Output = Filter<E>;
    fn not(self) -> Filter<E> {
        Filter::not(self)
    }
}
