//! `#[cfg]` on exposed methods applies to the dispatch table and the proxy alike: a method
//! that is compiled out is not listed, names none of its types (which may not exist), and may
//! share its wire name or its Rust name with another under another `#[cfg]`. Hidden methods
//! under `#[cfg]` keep it too.

pub struct Features;

#[tartine::referenceable]
impl Features {
    pub fn always(&self) -> u64 {
        1
    }

    #[cfg(any())]
    pub fn never(&self) -> u64 {
        2
    }

    // The type exists only where the method does.
    #[cfg(any())]
    pub fn typed(&self, value: not_compiled::Value) -> u64 {
        value.0
    }

    #[cfg(unix)]
    pub fn platform(&self) -> String {
        "unix".into()
    }

    #[cfg(not(unix))]
    pub fn platform(&self) -> String {
        "elsewhere".into()
    }

    #[cfg(unix)]
    fn helper(&self) -> u64 {
        3
    }

    #[cfg(not(unix))]
    fn helper(&self) -> u64 {
        4
    }
}

async fn call(remote: tartine::Remote<Features>) -> Result<u64, tartine::CallError> {
    let _: String = remote.platform().await?;
    remote.always().await
}

fn main() {
    let _ = call;
    let _ = Features.helper();
    let methods = <Features as tartine::Interface>::METHODS;
    assert!(methods.contains(&"always") && methods.contains(&"platform"));
    assert!(!methods.contains(&"never") && !methods.contains(&"typed"));
}
