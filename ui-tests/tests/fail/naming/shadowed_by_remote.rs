pub struct Mind;

#[tartine::referenceable]
impl Mind {
    pub async fn disconnected(&self) {} //~ ERROR `disconnected` is a method of `Remote<T>` itself

    pub fn clone(&self) -> u32 { //~ ERROR `clone` is a method of `Remote<T>` itself
        0
    }

    // The way out the error gives: another Rust name, the same wire name.
    #[tartine(rename = "with_timeout")]
    pub fn timeout_of(&self) -> u32 {
        0
    }
}

#[tartine::referenceable]
pub trait Screen {
    async fn is_disconnected(&self) -> bool; //~ ERROR `is_disconnected` is a method of `Remote<T>` itself
}

fn main() {}
