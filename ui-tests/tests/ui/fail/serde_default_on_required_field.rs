#[derive(serde::Deserialize, fraiseql_wire::Entity)]
#[entity(view = "v_project")]
struct Project {
    #[serde(default)]
    rank: u32,
    // An `Option` reads a missing key as `None`, as the server's filters do: allowed.
    #[serde(default)]
    score: Option<f64>,
    // A skipped field has no handle to disagree: allowed.
    #[serde(default)]
    #[entity(skip)]
    tags: Vec<String>,
}

// On the struct, it applies to every field.
#[derive(serde::Deserialize, fraiseql_wire::Entity)]
#[entity(view = "v_owner")]
#[serde(default)]
struct Owner {
    team: String,
    lead: Option<String>,
}

impl Default for Owner {
    fn default() -> Self {
        Owner { team: "core".into(), lead: None }
    }
}

fn main() {}
