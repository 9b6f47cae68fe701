//! Training past one device: several devices of one machine share every batch
//! ([`shard`], `zoo train --devices`), and several processes or machines form one run through
//! burn-collective ([`node`], `distributed`: `zoo train --nodes N --rank R`).

#[cfg(feature = "distributed")]
pub mod distributed;
pub mod node;
pub mod shard;
