include!("../model/project.rs");
#[derive(Deserialize, Entity)]
#[entity(view = "v_team")]
struct Team {
    name: String,
}

fn f(client: &Client) {
    let other = Team::fields().name.eq("core");
    let _ = Project::query(client).filter_by(other);
    let _ = Project::query(client).filter(|_| Team::fields().name.eq("core"));
}

fn main() {}
