#[derive(serde::Serialize, serde::Deserialize)]
pub struct StoreError;

pub type Result<T> = std::result::Result<T, StoreError>;

pub struct Store;

#[tartine::referenceable]
impl Store {
    pub fn get(&self) -> Result<u64> { //~ ERROR write the method's error type out
        Ok(1)
    }
}

fn main() {}
