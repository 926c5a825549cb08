pub struct Ticket;

#[tartine::referenceable]
impl Ticket {
    pub fn redeem(self: Box<Self>) -> bool { //~ ERROR exposed methods take `&self`
        true
    }
}

fn main() {}
