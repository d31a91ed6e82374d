//! A query as a value: which relation, which rows, in which order; rendered to a [`Statement`] in one place.

use super::{Expr, Node, Param, Projection, Relation, Statement, ToParam};
use crate::error::BuildError;

/// `SELECT "data" FROM <relation> WHERE … ORDER BY … LIMIT … OFFSET …`, before rendering.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Select {
    relation: Relation,
    /// Combined with `AND`, each in parentheses.
    filters: Vec<Node>,
    order: Vec<Expr>,
    limit: Option<u64>,
    offset: Option<u64>,
    /// Only these keys of each document, built on the server; `None` sends whole documents.
    projection: Option<Projection>,
}

/// What a rendered statement returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Form {
    /// Each row's `data`.
    Rows,
    /// One row: the number of rows `Rows` would return, as JSON.
    Count,
    /// One row: the plan of `Count`'s rows (`EXPLAIN (FORMAT JSON)`), whose row estimate is the total's.
    Estimate,
}

impl Select {
    pub(crate) fn new(relation: Relation) -> Select {
        Select { relation, filters: Vec::new(), order: Vec::new(), limit: None, offset: None, projection: None }
    }

    pub(crate) fn relation(&self) -> &Relation {
        &self.relation
    }

    pub(crate) fn filter(&mut self, condition: Node) {
        self.filters.push(condition);
    }

    pub(crate) fn order_by(&mut self, key: Expr) {
        self.order.push(key);
    }

    pub(crate) fn limit(&self) -> Option<u64> {
        self.limit
    }

    /// What makes the rows' order or number depend on reading them on one connection, if anything.
    pub(crate) fn order_or_window(&self) -> Option<&'static str> {
        if !self.order.is_empty() {
            Some("order_by")
        } else if self.limit.is_some() {
            Some("limit")
        } else if self.offset.is_some() {
            Some("offset")
        } else {
            None
        }
    }

    pub(crate) fn set_limit(&mut self, limit: u64) {
        self.limit = Some(limit);
    }

    pub(crate) fn set_offset(&mut self, offset: u64) {
        self.offset = Some(offset);
    }

    /// Whether the query returns a window of its rows (`limit`, `offset`).
    pub(crate) fn is_windowed(&self) -> bool {
        self.limit.is_some() || self.offset.is_some()
    }

    pub(crate) fn set_projection(&mut self, projection: Option<Projection>) {
        self.projection = projection;
    }

    /// The statement for `form`, its placeholders numbered in the order their values are bound.
    pub(crate) fn render(&self, form: Form) -> Result<Statement, BuildError> {
        let mut params = Vec::new();
        match form {
            Form::Rows => {
                // Sized for the usual query at once: growing it step by step cost more than the rest of rendering.
                let mut sql = String::with_capacity(128 + self.relation.quoted.len());
                let data_column = self.write_rows(&mut sql, &mut params, self.projection.as_ref())?;
                Ok(Statement::new(sql, params).with_data_column(data_column))
            }
            // The window depends on the order, so a limited query is counted as a subquery.
            Form::Count if self.limit.is_some() || self.offset.is_some() => {
                let mut sql = format!("{COUNT} FROM (");
                let data_column = self.write_rows(&mut sql, &mut params, None)?;
                sql.push_str(") AS counted");
                Ok(Statement::new(sql, params).with_data_column(data_column))
            }
            Form::Estimate => {
                let mut sql = format!("EXPLAIN (FORMAT JSON) SELECT 1 FROM {}", self.relation.quoted);
                self.write_where(&mut sql, &mut params)?;
                Ok(Statement::new(sql, params))
            }
            // Without a window the order is irrelevant, and an aggregate cannot be ordered by a row's columns.
            Form::Count => {
                let mut sql = format!("{COUNT} FROM ");
                sql.push_str(&self.relation.quoted);
                self.write_where(&mut sql, &mut params)?;
                Ok(Statement::new(sql, params))
            }
        }
    }

    /// What identifies the query's rows and their order, for a cursor: its rows statement without its window
    /// (`LIMIT`, `OFFSET`) or projection, which change neither.
    pub(crate) fn identity(&self) -> Result<Statement, BuildError> {
        let unwindowed = Select { limit: None, offset: None, projection: None, ..self.clone() };
        unwindowed.render(Form::Rows)
    }

    /// `SELECT {columns} FROM` the relation, filtered like the rows (no order or window): for aggregates over
    /// the rows a query would return. `columns` is SQL the crate wrote or checked.
    pub(crate) fn render_aggregate(&self, columns: &str) -> Result<Statement, BuildError> {
        let mut params = Vec::new();
        let mut sql = format!("SELECT {columns} FROM {}", self.relation.quoted);
        self.write_where(&mut sql, &mut params)?;
        Ok(Statement::new(sql, params))
    }

    /// Writes the rows query, projected by `projection`; returns the 1-based character position of its
    /// `"data"`, where the server points when the relation has no such column.
    fn write_rows(
        &self,
        sql: &mut String,
        params: &mut Vec<Param>,
        projection: Option<&Projection>,
    ) -> Result<usize, BuildError> {
        sql.push_str("SELECT ");
        let data_column = self.write_document_from(sql, projection, " FROM ");
        self.write_where(sql, params)?;
        self.write_order_and_window(sql, params);
        Ok(data_column)
    }

    /// The rows as `[key, document]` arrays, `key` (a quoted column) as text: what a watch reads, its snapshot
    /// (`only: None`, in the query's order) or the rows whose key is one of `only` (an array parameter).
    pub(crate) fn render_keyed(&self, key: &str, only: Option<Param>) -> Result<Statement, BuildError> {
        let mut params = Vec::new();
        let mut sql = format!("SELECT json_build_array(({key})::text, ");
        let data_column = self.write_document_from(&mut sql, self.projection.as_ref(), ") FROM ");
        self.write_where(&mut sql, &mut params)?;
        match only {
            Some(keys) => {
                params.push(keys);
                let joiner = if self.filters.is_empty() { " WHERE " } else { " AND " };
                // Compared in the column's own type (the server infers the array's), so its index serves it.
                sql.push_str(&format!("{joiner}{key} = ANY(${})", params.len()));
            }
            None => self.write_order_and_window(&mut sql, &mut params),
        }
        Ok(Statement::new(sql, params).with_data_column(data_column))
    }

    /// Writes the document (projected by `projection`), `from` and the relation; returns the 1-based character
    /// position of its `"data"`.
    fn write_document_from(&self, sql: &mut String, projection: Option<&Projection>, from: &str) -> usize {
        match projection {
            None => {
                let position = sql.chars().count() + 1;
                sql.push_str("\"data\"");
                sql.push_str(from);
                sql.push_str(&self.relation.quoted);
                position
            }
            Some(projection) => {
                projection.write_select(sql);
                sql.push_str(from);
                sql.push_str(&self.relation.quoted);
                projection.write_lateral(sql)
            }
        }
    }

    fn write_order_and_window(&self, sql: &mut String, params: &mut Vec<Param>) {
        for (i, key) in self.order.iter().enumerate() {
            sql.push_str(if i == 0 { " ORDER BY " } else { ", " });
            key.write(sql, params);
        }
        for (keyword, value) in [(" LIMIT $", self.limit), (" OFFSET $", self.offset)] {
            if let Some(n) = value {
                params.push(n.to_param());
                sql.push_str(keyword);
                sql.push_str(&params.len().to_string());
            }
        }
    }

    fn write_where(&self, sql: &mut String, params: &mut Vec<Param>) -> Result<(), BuildError> {
        for (i, filter) in self.filters.iter().enumerate() {
            sql.push_str(if i == 0 { " WHERE (" } else { " AND (" });
            filter.write(sql, params)?;
            sql.push(')');
        }
        Ok(())
    }
}

const COUNT: &str = "SELECT to_json(count(*))";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::parse_fragment;

    fn select(relation: &str) -> Select {
        Select::new(Relation::parse(relation).unwrap())
    }

    fn fragment(sql: &str, params: &[&str]) -> Node {
        let params: Vec<Param> = params.iter().map(|p| Param::text(*p)).collect();
        Node::Expr(parse_fragment(sql, params.len()).unwrap().with_params(params))
    }

    #[test]
    fn rows_with_everything() {
        let mut s = select("app.v_project");
        s.filter(fragment("a = $1", &["x"]));
        s.filter(fragment("b = $1 OR c", &["y"]));
        s.order_by(parse_fragment("data->>'name' DESC", 0).unwrap());
        s.set_limit(10);
        s.set_offset(20);
        let statement = s.render(Form::Rows).unwrap();
        assert_eq!(
            statement.sql,
            "SELECT \"data\" FROM \"app\".\"v_project\" WHERE (a = $1) AND (b = $2 OR c) \
             ORDER BY data->>'name' DESC LIMIT $3 OFFSET $4"
        );
        assert_eq!(statement.params.len(), 4);
        assert_eq!(statement.params[2].as_str(), Some("10"));
        assert_eq!(statement.data_column, Some(8));
    }

    #[test]
    fn the_data_column_position_is_where_the_server_counts_it() {
        for form in [Form::Rows, Form::Count] {
            let mut s = select("\"Übersicht ünd\"");
            s.set_limit(1);
            let statement = s.render(form).unwrap();
            let position = statement.data_column.expect("a rows subquery");
            let chars: Vec<char> = statement.sql.chars().collect();
            let at: String = chars[position as usize - 1..][..6].iter().collect();
            assert_eq!(at, "\"data\"", "{}", statement.sql);
        }
    }

    #[test]
    fn count_drops_the_order_unless_a_window_needs_it() {
        let mut s = select("v");
        s.filter(fragment("a = $1", &["x"]));
        s.order_by(parse_fragment("b", 0).unwrap());
        let unwindowed = s.render(Form::Count).unwrap();
        assert_eq!(unwindowed.sql, "SELECT to_json(count(*)) FROM \"v\" WHERE (a = $1)");
        assert_eq!(unwindowed.data_column, None);
        s.set_offset(3);
        let windowed = s.render(Form::Count).unwrap();
        assert_eq!(
            windowed.sql,
            "SELECT to_json(count(*)) FROM (SELECT \"data\" FROM \"v\" WHERE (a = $1) ORDER BY b OFFSET $2) AS counted"
        );
    }

    #[test]
    fn a_projection_reads_the_document_once_and_counting_ignores_it() {
        let mut s = select("v");
        s.filter(fragment("a = $1", &["x"]));
        s.set_projection(Some(Projection::new(["id".to_owned()]).unwrap()));
        let rows = s.render(Form::Rows).unwrap();
        assert!(rows.sql.starts_with("SELECT CASE WHEN jsonb_typeof(__fraiseql_doc)"), "{}", rows.sql);
        assert!(
            rows.sql.ends_with(
                " FROM \"v\", LATERAL (SELECT \"data\"::jsonb #> '{}' AS __fraiseql_doc OFFSET 0) AS __fraiseql \
                 WHERE (a = $1)"
            ),
            "{}",
            rows.sql
        );
        let chars: Vec<char> = rows.sql.chars().collect();
        let at: String = chars[rows.data_column.unwrap() as usize - 1..][..6].iter().collect();
        assert_eq!(at, "\"data\"");
        s.set_limit(5);
        let count = s.render(Form::Count).unwrap();
        assert!(!count.sql.contains("LATERAL"), "{}", count.sql);
    }
}
