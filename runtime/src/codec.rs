//! Provides the seam through which arguments, results and method errors are (de)serialized.
//!
//! Generated dispatch tables and proxies are generic over [`Codec`], and look methods up by name,
//! so a second wire format can drive the same tables. [`Postcard`] is the native, fast one.
//! References inside values (`Remote<T>`, `Local<T>`) are resolved against the connection's
//! tables by the runtime around each encode and decode, whatever the codec.

mod budget;
mod native;
mod seam;

pub use native::Postcard;
pub use seam::{Codec, CodecError, DecodeLimits};
