pub struct Vault;

#[tartine::referenceable]
impl Vault {
    pub fn open(&self) -> u64 {
        42
    }
}

fn forge(id: u64) -> VaultProxy {
    // The untyped reference inside a proxy has no public constructor either.
    let reference = tartine::__private::RemoteRef::new(id); //~ ERROR no function or associated item named `new`
    <VaultProxy as tartine::__private::Proxy>::from_remote_ref(reference)
}

fn main() {
    let _ = forge;
}
