//! Filters: a tree of SQL predicates whose values are bound parameters.

use std::fmt;
use std::marker::PhantomData;

use crate::error::Error;
use crate::query::Param;

/// A condition on the rows of entity `E`, built from its typed fields and combined with [`and`](Filter::and),
/// [`or`](Filter::or) and [`not`](Filter::not) (or `&`, `|`, `!`).
///
/// Filters of different entities do not mix: passing a `Filter<Owner>` to a `Query<Project>` is a compile error.
pub struct Filter<E> {
    pub(crate) node: Node,
    entity: PhantomData<fn(&E)>,
}

#[derive(Clone, Debug)]
pub(crate) enum Node {
    Const(bool),
    Sql(Vec<Piece>),
    And(Vec<Node>),
    Or(Vec<Node>),
    Not(Box<Node>),
    /// A filter that could not be built (a value that failed to serialize); reported when the query runs.
    Invalid(String),
}

#[derive(Clone, Debug)]
pub(crate) enum Piece {
    Sql(String),
    Param(Param),
}

impl<E> Clone for Filter<E> {
    fn clone(&self) -> Self {
        Filter::from_node(self.node.clone())
    }
}

impl<E> fmt::Debug for Filter<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut params = Vec::new();
        match self.node.render(&mut params) {
            Ok(sql) => f.debug_struct("Filter").field("sql", &sql).field("params", &params).finish(),
            Err(error) => f.debug_struct("Filter").field("error", &error.to_string()).finish(),
        }
    }
}

impl<E> Filter<E> {
    pub(crate) fn from_node(node: Node) -> Self {
        Filter { node, entity: PhantomData }
    }

    pub(crate) fn sql(pieces: Vec<Piece>) -> Self {
        Filter::from_node(Node::Sql(pieces))
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
        let mut nodes = Vec::new();
        for filter in filters {
            match filter.node {
                Node::And(inner) => nodes.extend(inner),
                Node::Const(true) => {}
                other => nodes.push(other),
            }
        }
        Filter::from_node(match nodes.len() {
            0 => Node::Const(true),
            1 => nodes.remove(0),
            _ => Node::And(nodes),
        })
    }

    /// Any of the filters (false when there are none).
    pub fn any(filters: impl IntoIterator<Item = Filter<E>>) -> Self {
        let mut nodes = Vec::new();
        for filter in filters {
            match filter.node {
                Node::Or(inner) => nodes.extend(inner),
                Node::Const(false) => {}
                other => nodes.push(other),
            }
        }
        Filter::from_node(match nodes.len() {
            0 => Node::Const(false),
            1 => nodes.remove(0),
            _ => Node::Or(nodes),
        })
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

impl Node {
    /// SQL for this condition; its values are appended to `params` and referenced as `$n`.
    pub(crate) fn render(&self, params: &mut Vec<Param>) -> Result<String, Error> {
        let mut out = String::new();
        self.write(&mut out, params)?;
        Ok(out)
    }

    fn write(&self, out: &mut String, params: &mut Vec<Param>) -> Result<(), Error> {
        match self {
            Node::Const(true) => out.push_str("TRUE"),
            Node::Const(false) => out.push_str("FALSE"),
            Node::Sql(pieces) => {
                for piece in pieces {
                    match piece {
                        Piece::Sql(sql) => out.push_str(sql),
                        Piece::Param(param) => {
                            params.push(param.clone());
                            out.push('$');
                            out.push_str(&params.len().to_string());
                        }
                    }
                }
            }
            Node::And(nodes) | Node::Or(nodes) => {
                let joiner = if matches!(self, Node::And(_)) { " AND " } else { " OR " };
                for (i, node) in nodes.iter().enumerate() {
                    if i > 0 {
                        out.push_str(joiner);
                    }
                    out.push('(');
                    node.write(out, params)?;
                    out.push(')');
                }
            }
            Node::Not(node) => {
                out.push_str("NOT (");
                node.write(out, params)?;
                out.push(')');
            }
            Node::Invalid(reason) => {
                return Err(Error::InvalidFragment { fragment: "typed filter".to_owned(), reason: reason.clone() });
            }
        }
        Ok(())
    }
}
