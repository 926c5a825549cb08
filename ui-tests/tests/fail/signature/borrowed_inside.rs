pub struct Names;

#[tartine::referenceable]
impl Names {
    pub fn first(&self, names: Vec<&str>) -> String { //~ ERROR parameters of exposed methods arrive by value
        names.first().map(|name| name.to_string()).unwrap_or_default()
    }

    pub fn nick(&self) -> Option<&str> { //~ ERROR exposed methods return owned values
        None
    }

    pub fn second(&self, pair: (&[u8], u32)) -> u32 { //~ ERROR parameters of exposed methods arrive by value
        pair.1
    }

    pub fn shown(&self) -> Vec<impl std::fmt::Display> { //~ ERROR cannot return `impl Trait`
        vec![1u8]
    }
}

fn main() {}
