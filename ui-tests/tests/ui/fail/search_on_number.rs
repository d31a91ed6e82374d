include!("../model/project.rs");
fn f(client: &Client) {
    let _ = Project::query(client).filter(|p| p.priority.search(fraiseql_wire::websearch("42")));
}

fn main() {}
