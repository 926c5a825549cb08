pub struct Vault;

#[tartine::referenceable]
impl Vault {
    pub fn open(&self) -> u64 {
        42
    }
}

fn forge(proxy: VaultProxy) -> tartine::Remote<Vault> {
    // A reference can only come from the runtime: a `Remote` cannot be assembled by hand.
    tartine::Remote::<Vault> { proxy } //~ ERROR field `proxy` of struct `Remote` is private
}

fn main() {
    let _ = forge;
}
