pub struct Account {
    pub balance: u64,
}

#[tartine::referenceable]
impl Account {
    pub fn owner(&self) -> String {
        "alice".into()
    }
}

fn peek(account: tartine::Remote<Account>) -> u64 {
    account.balance //~ ERROR no field `balance`
}

fn main() {
    let _ = peek;
}
