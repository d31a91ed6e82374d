//! `EXPLAIN` of the exact statement a query sends, with its parameters: what the index tests assert on.

use fraiseql_wire::{Query, Statement};
use fraiseql_wire_tests::TestDatabase;
use serde_json::Value;
use tokio_postgres::SimpleQueryMessage;

/// A plan: one line per node, indented by depth, as the text format would name it
/// (`Bitmap Index Scan on t_data_gin`, `Index Scan using t_priority on t`).
pub struct Plan {
    lines: Vec<String>,
    statement: Statement,
}

impl Plan {
    pub fn has(&self, node: &str) -> bool {
        self.lines.iter().any(|line| line.trim_start().starts_with(node))
    }

    /// A `Sort` or `Incremental Sort` anywhere in the plan.
    pub fn sorts(&self) -> bool {
        self.lines.iter().any(|line| line.ends_with("Sort"))
    }

    pub fn uses_index(&self, index: &str) -> bool {
        self.lines
            .iter()
            .any(|line| line.contains(&format!(" on {index}")) || line.contains(&format!(" using {index} ")))
    }
}

impl std::fmt::Display for Plan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "{}", self.statement.sql)?;
        for (i, param) in self.statement.params.iter().enumerate() {
            writeln!(f, "  ${} = {param}", i + 1)?;
        }
        for line in &self.lines {
            writeln!(f, "{line}")?;
        }
        Ok(())
    }
}

fn plan_lines(node: &Value, depth: usize, out: &mut Vec<String>) {
    let kind = node["Node Type"].as_str().unwrap_or("?");
    let direction = match node["Scan Direction"].as_str() {
        Some("Backward") => " Backward",
        _ => "",
    };
    let mut line = format!("{}{kind}{direction}", "  ".repeat(depth));
    match (node["Index Name"].as_str(), node["Relation Name"].as_str()) {
        (Some(index), Some(relation)) => line.push_str(&format!(" using {index} on {relation}")),
        (Some(index), None) => line.push_str(&format!(" on {index}")),
        (None, Some(relation)) => line.push_str(&format!(" on {relation}")),
        (None, None) => {}
    }
    out.push(line);
    for child in node["Plans"].as_array().into_iter().flatten() {
        plan_lines(child, depth + 1, out);
    }
}

/// `EXPLAIN (FORMAT JSON)` of the statement `query` sends, its parameters given as fraiseql-wire gives them: as
/// text of no declared type, which the server reads as the type it infers (`PREPARE`, then `EXECUTE` with each
/// value as a quoted literal, so the planner sees the values, as it does for the first executions of a statement).
pub async fn explain<T>(db: &TestDatabase, query: &Query<T>) -> Plan {
    let statement = query.to_sql().unwrap_or_else(|e| panic!("to_sql: {e}"));
    let values: Vec<String> = statement.params.iter().map(ToString::to_string).collect();
    let execute = if values.is_empty() {
        "EXECUTE explained".to_owned()
    } else {
        format!("EXECUTE explained({})", values.join(", "))
    };
    let script =
        format!("PREPARE explained AS {}; EXPLAIN (FORMAT JSON) {execute}; DEALLOCATE explained", statement.sql);
    let messages =
        db.admin().simple_query(&script).await.unwrap_or_else(|e| panic!("explaining {}: {e}", statement.sql));
    let text = messages
        .iter()
        .find_map(|message| match message {
            SimpleQueryMessage::Row(row) => row.get(0).map(str::to_owned),
            _ => None,
        })
        .expect("EXPLAIN returns a row");
    let plan: Value = serde_json::from_str(&text).expect("EXPLAIN returns JSON");
    let mut lines = Vec::new();
    plan_lines(&plan[0]["Plan"], 0, &mut lines);
    let plan = Plan { lines, statement };
    // Shown with `--nocapture`.
    println!("{plan}");
    plan
}
