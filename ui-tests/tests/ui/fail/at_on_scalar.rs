include!("../model/project.rs");
fn f(client: &Client) {
    let _ = Project::query(client).filter(|p| p.name.at(0).eq("x"));
}

fn main() {}
