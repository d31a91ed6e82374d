use fraiseql_wire::Entity;
use serde::Deserialize;

mod upper {
    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
        <String as serde::Deserialize>::deserialize(d).map(|s| s.to_uppercase())
    }
}

#[derive(Deserialize, Entity)]
#[entity(view = "v_user")]
struct User {
    #[serde(deserialize_with = "upper::deserialize")]
    name: String,
}

fn main() {}
