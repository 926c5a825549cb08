pub struct Ticket;

#[tartine::referenceable]
impl Ticket {
    pub fn redeem(self) -> bool { //~ ERROR exposed methods take `&self`, not `self`
        true
    }
}

fn main() {}
