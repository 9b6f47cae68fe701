//! Building blocks shared by the models.

mod conv;

pub use conv::{conv2d_gemm, forward_conv2d};
