//! PyTorch's parameter names and the zoo's, both ways.
//!
//! They differ only for the recurrent layers: PyTorch's `nn.LSTM` / `nn.GRU` name a layer's
//! weights `weight_ih_l0`, `weight_hh_l1_reverse`, ..., the zoo's [`crate::nn::Lstm`] and
//! [`crate::nn::Gru`] keep them in `layers.0.forward.weight_ih`, `layers.1.reverse.weight_hh`.
//! Everything else (`fc.weight`, `conv1.bias`, `embedding.weight`) is spelled alike.

use std::sync::LazyLock;

use regex::Regex;

/// The four tensors of a recurrent layer and direction.
const GATES: &str = "weight_ih|weight_hh|bias_ih|bias_hh";

/// `<prefix><gate>_l<N>[_reverse]`, PyTorch's spelling.
static PYTORCH_RNN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(r"^(.*?)({GATES})_l(\d+)(_reverse)?$")).expect("a valid pattern")
});

/// `<prefix>layers.<N>.<forward|reverse>.<gate>`, the zoo's spelling.
static ZOO_RNN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"^(.*?)layers\.(\d+)\.(forward|reverse)\.({GATES})$"
    ))
    .expect("a valid pattern")
});

/// The zoo's name of the tensor PyTorch calls `name`.
pub fn zoo_name(name: &str) -> String {
    match PYTORCH_RNN.captures(name) {
        Some(parts) => {
            let direction = if parts.get(4).is_some() {
                "reverse"
            } else {
                "forward"
            };
            format!(
                "{}layers.{}.{direction}.{}",
                &parts[1], &parts[3], &parts[2]
            )
        }
        None => name.to_string(),
    }
}

/// PyTorch's name of the tensor the zoo calls `name` (the inverse of [`zoo_name`]).
pub fn pytorch_name(name: &str) -> String {
    match ZOO_RNN.captures(name) {
        Some(parts) => {
            let reverse = if &parts[3] == "reverse" {
                "_reverse"
            } else {
                ""
            };
            format!("{}{}_l{}{reverse}", &parts[1], &parts[4], &parts[2])
        }
        None => name.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recurrent_names_go_both_ways_and_others_stay() {
        for (pytorch, zoo) in [
            ("lstm.weight_ih_l0", "lstm.layers.0.forward.weight_ih"),
            (
                "rnn.weight_hh_l12_reverse",
                "rnn.layers.12.reverse.weight_hh",
            ),
            ("bias_ih_l1", "layers.1.forward.bias_ih"),
            ("fc.weight", "fc.weight"),
            ("conv1.0.bias", "conv1.0.bias"),
        ] {
            assert_eq!(zoo_name(pytorch), zoo);
            assert_eq!(pytorch_name(zoo), pytorch);
        }
    }
}
