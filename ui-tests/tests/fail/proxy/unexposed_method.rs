pub struct Account {
    balance: u64,
}

#[tartine::referenceable]
impl Account {
    pub fn balance(&self) -> u64 {
        self.balance
    }

    fn set_balance(&self, _value: u64) {}
}

async fn steal(account: tartine::Remote<Account>) {
    account.set_balance(1_000_000).await; //~ ERROR not exposed to peers
}

fn main() {
    let _ = steal;
}
