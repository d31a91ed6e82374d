include!("../model/project.rs");
fn f(client: &Client) {
    let _ = Project::query(client).filter(|p| p.tags.any(|t| t.eq("rust")));
}

fn main() {}
