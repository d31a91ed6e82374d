include!("../model/project.rs");
fn f(client: &Client) {
    let q = fraiseql_wire::plain("rust");
    let _ = Project::query(client).order_by(|p| p.tags.rank(&q).desc());
}

fn main() {}
