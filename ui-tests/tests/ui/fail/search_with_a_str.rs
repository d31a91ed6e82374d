include!("../model/project.rs");
fn f(client: &Client) {
    let _ = Project::query(client).filter(|p| p.name.search("rust async"));
    let _ = Project::query(client).filter(|p| p.search("rust async"));
}

fn main() {}
