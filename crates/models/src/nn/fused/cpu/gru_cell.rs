//! The element-wise part of the GRU cell on the CPU, forward and backward, for one sequence at one
//! step, with PyTorch's equations (gate order r, z, n; `b_hn` inside the reset product):
//!
//! ```text
//! r = σ(x_r + h_r),  z = σ(x_z + h_z),  n = tanh(x_n + r ⊙ (h_n + b_hn)),  h' = (1 − z) ⊙ n + z ⊙ h
//! ```
//!
//! where `x_*` are the step's input part (`x · W_ihᵀ + b_ih`, with `b_hr`, `b_hz` added) and `h_*`
//! the recurrent part (`h · W_hhᵀ`). Plain loops that the compiler vectorises, with the
//! branch-free `exp` and the run-time choice of instruction set of [`super::cell_math`].

use super::cell_math::{multiversioned, sigmoid, tanh};

multiversioned! {
    /// One step of one sequence, `H` hidden units: `gates` `[3H]` holds the input part of r, z,
    /// n and gets their activations; `recurrent` `[3H]` holds `h · W_hhᵀ`; `b_hn` `[H]`; `hn`
    /// gets `h_n + b_hn` (what the backward pass needs); `h` `[H]` holds `h_{t-1}` and gets `h_t`.
    pub(super) fn forward / forward_baseline(
        gates: &mut [f32],
        recurrent: &[f32],
        b_hn: &[f32],
        hn: &mut [f32],
        h: &mut [f32],
    ) {
        let n = h.len();
        let (r, rest) = gates.split_at_mut(n);
        let (z, g) = rest.split_at_mut(n);
        let (hr, rest) = recurrent.split_at(n);
        let (hz, hh) = rest.split_at(n);
        let (g, hz, hh, b_hn, hn) = (&mut g[..n], &hz[..n], &hh[..n], &b_hn[..n], &mut hn[..n]);
        for j in 0..n {
            let rj = sigmoid(r[j] + hr[j]);
            let zj = sigmoid(z[j] + hz[j]);
            let hnj = hh[j] + b_hn[j];
            let nj = tanh(g[j] + rj * hnj);
            (r[j], z[j], g[j], hn[j]) = (rj, zj, nj, hnj);
            h[j] = (1.0 - zj) * nj + zj * h[j];
        }
    }
}

multiversioned! {
    /// The gradient of [`forward`] for one step of one sequence: from the saved activations
    /// `acts` `[3H]` (r, z, n), `hn` and `h_prev` `[H]`, and `dh` `[H]` (the gradient reaching `h_t`
    /// from the next step and the output, summed; on return the part that reaches `h_{t-1}`
    /// directly, through `z`), writes the gradient of the input part into `d_gates` `[3H]` and
    /// that of the recurrent part `h · W_hhᵀ + [0, 0, b_hn]` into `d_recurrent` `[3H]`.
    pub(super) fn backward / backward_baseline(
        acts: &[f32],
        hn: &[f32],
        h_prev: &[f32],
        dh: &mut [f32],
        d_gates: &mut [f32],
        d_recurrent: &mut [f32],
    ) {
        let n = dh.len();
        let (r, rest) = acts.split_at(n);
        let (z, g) = rest.split_at(n);
        let (d_r, rest) = d_gates.split_at_mut(n);
        let (d_z, d_n) = rest.split_at_mut(n);
        let (e_r, rest) = d_recurrent.split_at_mut(n);
        let (e_z, e_n) = rest.split_at_mut(n);
        let (z, g, hn, hp) = (&z[..n], &g[..n], &hn[..n], &h_prev[..n]);
        let (d_z, d_n, e_z, e_n) = (&mut d_z[..n], &mut d_n[..n], &mut e_z[..n], &mut e_n[..n]);
        for j in 0..n {
            let dhj = dh[j];
            let dnj = dhj * (1.0 - z[j]) * (1.0 - g[j] * g[j]);
            let dzj = dhj * (hp[j] - g[j]) * z[j] * (1.0 - z[j]);
            let drj = dnj * hn[j] * r[j] * (1.0 - r[j]);
            (d_r[j], d_z[j], d_n[j]) = (drj, dzj, dnj);
            (e_r[j], e_z[j], e_n[j]) = (drj, dzj, dnj * r[j]);
            dh[j] = dhj * z[j];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The cell follows PyTorch's GRU equations forward, its gradient is that of the equations
    /// (against finite differences in f64), and the dispatched and baseline versions agree bit
    /// for bit.
    // Indexes walk several vectors of the equations in step.
    #[allow(clippy::needless_range_loop)]
    #[test]
    fn the_cell_follows_the_gru_equations_and_their_gradient() {
        let h = 37; // not a multiple of any vector width
        let wave = |k: usize, m: usize, scale: f32| ((k * 7919) % m) as f32 / scale - 1.5;
        let pre: Vec<f32> = (0..3 * h).map(|k| wave(k, 113, 30.0)).collect();
        let rec: Vec<f32> = (0..3 * h).map(|k| wave(k + 5, 97, 25.0)).collect();
        let b_hn: Vec<f32> = (0..h).map(|k| wave(k + 11, 17, 8.0)).collect();
        let h0: Vec<f32> = (0..h).map(|k| wave(k + 3, 19, 6.0)).collect();
        let step = |pre: &[f64], rec: &[f64], h: &[f64], j: usize, n: usize| -> f64 {
            let sig = |x: f64| 1.0 / (1.0 + (-x).exp());
            let (r, z) = (sig(pre[j] + rec[j]), sig(pre[n + j] + rec[n + j]));
            let g = (pre[2 * n + j] + r * rec[2 * n + j]).tanh();
            (1.0 - z) * g + z * h[j]
        };
        let (mut gates, mut hn, mut hs) = (pre.clone(), vec![0.0; h], h0.clone());
        forward(&mut gates, &rec, &b_hn, &mut hn, &mut hs);
        let wide = |v: &[f32]| v.iter().map(|&x| x as f64).collect::<Vec<_>>();
        // The recurrent part of n with b_hn inside, as the cell saw it.
        let mut rec_b = wide(&rec);
        for j in 0..h {
            rec_b[2 * h + j] += b_hn[j] as f64;
        }
        for j in 0..h {
            let want = step(&wide(&pre), &rec_b, &wide(&h0), j, h);
            assert!(
                (hs[j] as f64 - want).abs() < 1e-6,
                "h[{j}]: {} vs {want}",
                hs[j]
            );
        }
        let (mut g2, mut hn2, mut h2) = (pre.clone(), vec![0.0; h], h0.clone());
        forward_baseline(&mut g2, &rec, &b_hn, &mut hn2, &mut h2);
        assert_eq!((&g2, &hn2, &h2), (&gates, &hn, &hs));

        // The gradient of Σ_j w_j h'_j by central differences in f64.
        let w: Vec<f32> = (0..h).map(|k| wave(k + 7, 23, 10.0)).collect();
        let (mut dh, mut d_gates, mut d_rec) = (w.clone(), vec![0.0; 3 * h], vec![0.0; 3 * h]);
        backward(&gates, &hn, &h0, &mut dh, &mut d_gates, &mut d_rec);
        let eps = 1e-6;
        let loss = |pre: &[f64], rec: &[f64], h: &[f64]| -> f64 {
            (0..h.len())
                .map(|j| w[j] as f64 * step(pre, rec, h, j, h.len()))
                .sum()
        };
        for k in 0..3 * h {
            let (mut up, mut down) = (wide(&pre), wide(&pre));
            up[k] += eps;
            down[k] -= eps;
            let numeric =
                (loss(&up, &rec_b, &wide(&h0)) - loss(&down, &rec_b, &wide(&h0))) / (2.0 * eps);
            assert!(
                (d_gates[k] as f64 - numeric).abs() < 1e-4,
                "d_gates[{k}]: {} vs {numeric}",
                d_gates[k]
            );
            let (mut up, mut down) = (rec_b.clone(), rec_b.clone());
            up[k] += eps;
            down[k] -= eps;
            let numeric = (loss(&wide(&pre), &up, &wide(&h0))
                - loss(&wide(&pre), &down, &wide(&h0)))
                / (2.0 * eps);
            assert!(
                (d_rec[k] as f64 - numeric).abs() < 1e-4,
                "d_recurrent[{k}]: {} vs {numeric}",
                d_rec[k]
            );
        }
        // What reaches h_{t-1} directly is dh ⊙ z.
        for j in 0..h {
            assert!((dh[j] - w[j] * gates[h + j]).abs() < 1e-7);
        }
        let (mut dh2, mut dg2, mut dr2) = (w.clone(), vec![0.0; 3 * h], vec![0.0; 3 * h]);
        backward_baseline(&gates, &hn, &h0, &mut dh2, &mut dg2, &mut dr2);
        assert_eq!((&dh2, &dg2, &dr2), (&dh, &d_gates, &d_rec));
    }
}
