include!("../model/project.rs");
fn f(client: &Client) {
    let _ = Project::query(client).filter(|p| p.name.between("a", "m"));
}

fn main() {}
