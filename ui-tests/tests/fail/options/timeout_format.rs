pub struct Api;

#[tartine::referenceable]
impl Api {
    #[tartine(timeout = "1.5s")] //~ ERROR expected a duration such as "500ms"
    pub fn fractional(&self) -> u64 {
        1
    }

    #[tartine(timeout = "250ms")]
    pub fn fine(&self) -> u64 {
        2
    }

    #[tartine(timeout = "none")]
    pub async fn patient(&self) -> u64 {
        3
    }
}

fn main() {}
