include!("../model/project.rs");
fn f(client: &Client) {
    let _ = Project::query(client).order_by(|p| p.tags.asc());
}

fn main() {}
