//! SQL text with bound values, and the boolean tree that filters are made of.
//!
//! Placeholders are numbered only when a whole statement is rendered, so pieces can be built, combined and
//! reordered freely: an [`Expr`] refers to its own values by index, and [`Node::render`] gives them their final
//! `$n`.

use super::Param;
use crate::error::BuildError;

/// A piece of SQL: text, and references to the expression's own values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Expr {
    pieces: Vec<Piece>,
    params: Vec<Param>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Piece {
    Text(String),
    /// The expression's value at this index.
    Value(usize),
}

impl Expr {
    /// An expression of plain text.
    pub(crate) fn text(text: impl Into<String>) -> Expr {
        Expr { pieces: vec![Piece::Text(text.into())], params: Vec::new() }
    }

    /// An empty expression, to append to.
    pub(crate) fn new() -> Expr {
        Expr { pieces: Vec::new(), params: Vec::new() }
    }

    /// Appends text.
    pub(crate) fn push_text(&mut self, text: &str) {
        match self.pieces.last_mut() {
            Some(Piece::Text(last)) => last.push_str(text),
            _ => self.pieces.push(Piece::Text(text.to_owned())),
        }
    }

    /// Binds a new value without writing its placeholder; returns its index for
    /// [`push_value_ref`](Self::push_value_ref).
    pub(crate) fn bind(&mut self, value: Param) -> usize {
        self.params.push(value);
        self.params.len() - 1
    }

    /// Binds a new value and appends its placeholder; returns its index, to refer to it again with
    /// [`push_value_ref`](Self::push_value_ref).
    pub(crate) fn push_value(&mut self, value: Param) -> usize {
        let index = self.bind(value);
        self.pieces.push(Piece::Value(index));
        index
    }

    /// Appends the placeholder of a value already bound (the same `$n` again).
    pub(crate) fn push_value_ref(&mut self, index: usize) {
        self.pieces.push(Piece::Value(index));
    }

    /// Binds every value of `other` without writing anything; returns the index of its first value, for
    /// [`push_bound_expr`](Self::push_bound_expr). An expression written several times (a sort key in a keyset
    /// condition) then shares its values.
    pub(crate) fn bind_expr(&mut self, other: &Expr) -> usize {
        let base = self.params.len();
        self.params.extend(other.params.iter().cloned());
        base
    }

    /// Appends `other`, whose values [`bind_expr`](Self::bind_expr) bound from `base`.
    pub(crate) fn push_bound_expr(&mut self, other: &Expr, base: usize) {
        for piece in &other.pieces {
            match piece {
                Piece::Text(text) => self.push_text(text),
                Piece::Value(index) => self.pieces.push(Piece::Value(base + index)),
            }
        }
    }

    /// Appends text, one value and more text: the shape of most comparisons.
    pub(crate) fn compare(left: String, value: Param, right: &str) -> Expr {
        let mut expr = Expr::text(left);
        expr.push_value(value);
        expr.push_text(right);
        expr
    }

    /// Sets the values referred to by index (a fragment's parameters, given after its text was parsed).
    pub(crate) fn with_params(mut self, params: Vec<Param>) -> Expr {
        self.params = params;
        self
    }

    /// Writes the expression with its values numbered after those already in `params`.
    pub(crate) fn write(&self, out: &mut String, params: &mut Vec<Param>) {
        let base = params.len();
        params.extend(self.params.iter().cloned());
        for piece in &self.pieces {
            match piece {
                Piece::Text(text) => out.push_str(text),
                Piece::Value(index) => {
                    out.push('$');
                    out.push_str(&(base + index + 1).to_string());
                }
            }
        }
    }
}

/// A condition: SQL expressions combined with `AND`, `OR` and `NOT`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Node {
    Const(bool),
    Expr(Expr),
    And(Vec<Node>),
    Or(Vec<Node>),
    Not(Box<Node>),
    /// A condition inside SQL text: `EXISTS (SELECT … WHERE ` condition `)`.
    Within {
        before: String,
        inner: Box<Node>,
        after: String,
    },
    /// A condition that could not be built; rendering reports it.
    Invalid(BuildError),
}

impl Node {
    /// All of `nodes`: nested `AND`s flattened, `TRUE` dropped.
    pub(crate) fn all(nodes: impl IntoIterator<Item = Node>) -> Node {
        let mut flat = Vec::new();
        for node in nodes {
            match node {
                Node::And(inner) => flat.extend(inner),
                Node::Const(true) => {}
                other => flat.push(other),
            }
        }
        match flat.len() {
            0 => Node::Const(true),
            1 => flat.remove(0),
            _ => Node::And(flat),
        }
    }

    /// Any of `nodes`: nested `OR`s flattened, `FALSE` dropped.
    pub(crate) fn any(nodes: impl IntoIterator<Item = Node>) -> Node {
        let mut flat = Vec::new();
        for node in nodes {
            match node {
                Node::Or(inner) => flat.extend(inner),
                Node::Const(false) => {}
                other => flat.push(other),
            }
        }
        match flat.len() {
            0 => Node::Const(false),
            1 => flat.remove(0),
            _ => Node::Or(flat),
        }
    }

    /// The condition's SQL; its values are appended to `params` and referred to as `$n`.
    pub(crate) fn render(&self, params: &mut Vec<Param>) -> Result<String, BuildError> {
        let mut out = String::new();
        self.write(&mut out, params)?;
        Ok(out)
    }

    pub(crate) fn write(&self, out: &mut String, params: &mut Vec<Param>) -> Result<(), BuildError> {
        match self {
            Node::Const(true) => out.push_str("TRUE"),
            Node::Const(false) => out.push_str("FALSE"),
            Node::Expr(expr) => expr.write(out, params),
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
            Node::Within { before, inner, after } => {
                out.push_str(before);
                inner.write(out, params)?;
                out.push_str(after);
            }
            Node::Invalid(error) => return Err(error.clone()),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rendered(node: &Node, already: usize) -> (String, Vec<Param>) {
        let mut params = vec![Param::NULL; already];
        let sql = node.render(&mut params).unwrap();
        (sql, params.split_off(already))
    }

    #[test]
    fn values_are_numbered_at_render_time() {
        let mut repeated = Expr::text("a = ");
        let index = repeated.push_value(Param::text("x"));
        repeated.push_text(" OR b = ");
        repeated.push_value_ref(index);
        let node =
            Node::all([Node::Expr(Expr::compare("c < ".into(), Param::text("9"), "::int")), Node::Expr(repeated)]);
        let (sql, params) = rendered(&node, 2);
        assert_eq!(sql, "(c < $3::int) AND (a = $4 OR b = $4)");
        assert_eq!(params, [Param::text("9"), Param::text("x")]);
    }

    #[test]
    fn embedded_expressions_keep_their_values() {
        let inner = Expr::compare("f(".into(), Param::text("q"), ")");
        let mut outer = Expr::compare("a = ".into(), Param::text("x"), " AND ");
        let base = outer.bind_expr(&inner);
        outer.push_bound_expr(&inner, base);
        outer.push_text(" < ");
        outer.push_bound_expr(&inner, base);
        outer.push_text(" OR ");
        let again = outer.bind_expr(&inner);
        outer.push_bound_expr(&inner, again);
        let (sql, params) = rendered(&Node::Expr(outer), 1);
        assert_eq!(sql, "a = $2 AND f($3) < f($3) OR f($4)");
        assert_eq!(params, [Param::text("x"), Param::text("q"), Param::text("q")]);
    }

    #[test]
    fn constants_fold_away_in_all_and_any() {
        let a = || Node::Expr(Expr::text("a"));
        assert_eq!(Node::all([Node::Const(true), a()]), a());
        assert_eq!(Node::any([Node::Const(false), a()]), a());
        assert_eq!(Node::all([]), Node::Const(true));
        assert_eq!(Node::any([]), Node::Const(false));
        assert_eq!(rendered(&Node::Not(Box::new(Node::any([a(), a()]))), 0).0, "NOT ((a) OR (a))");
    }

    #[test]
    fn an_invalid_node_is_reported_where_it_sits() {
        let bad = BuildError::Filter { reason: "no JSON form".into() };
        let node = Node::all([Node::Expr(Expr::text("a")), Node::Invalid(bad.clone())]);
        assert_eq!(node.render(&mut Vec::new()), Err(bad));
    }
}
