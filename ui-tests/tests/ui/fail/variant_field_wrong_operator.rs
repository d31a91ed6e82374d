#[derive(serde::Deserialize, fraiseql_wire::Document)]
#[serde(tag = "type")]
enum Payment {
    Card { last4: String },
    Cash,
}

#[derive(serde::Deserialize, fraiseql_wire::Entity)]
#[entity(view = "v_order")]
struct Order {
    payment: Payment,
}

fn main() {
    let _ = Order::fields().payment.card(|c| c.last4.between("a", "b"));
}
