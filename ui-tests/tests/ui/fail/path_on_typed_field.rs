include!("../model/project.rs");
fn f(client: &Client) {
    let _ = Project::query(client).filter(|p| p.name.path("x").eq(1));
}

fn main() {}
