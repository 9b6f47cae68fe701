use std::time::Instant;
fn gemm(m: usize, k: usize, n: usize, a: &[f32], (rsa, csa): (usize, usize), b: &[f32], (rsb, csb): (usize, usize), acc: bool, c: &mut [f32], rsc: usize, csc: usize) {
    unsafe { gemm::gemm(m, n, k, c.as_mut_ptr(), csc as isize, rsc as isize, acc, a.as_ptr(), csa as isize, rsa as isize, b.as_ptr(), csb as isize, rsb as isize, 1.0, 1.0, false, false, false, gemm::Parallelism::None); }
}
const NP: usize = 64; // panel width
/// w_t [k, n] -> panels [n/NP][k][NP]
fn pack(w_t: &[f32], k: usize, n: usize) -> Vec<f32> {
    let mut p = vec![0.0; k * n];
    for j0 in (0..n).step_by(NP) { for kk in 0..k { p[j0 * k + kk * NP..][..NP].copy_from_slice(&w_t[kk * n + j0..][..NP]); } }
    p
}
#[inline(always)]
fn tile<const R: usize>(h: &[f32], k: usize, panel: &[f32], c: &mut [f32], n: usize, j0: usize) {
    let mut acc = [[0.0f32; NP]; R];
    for r in 0..R { acc[r].copy_from_slice(&c[r * n + j0..][..NP]); }
    for kk in 0..k {
        let w: &[f32; NP] = panel[kk * NP..][..NP].try_into().unwrap();
        for r in 0..R {
            let a = h[r * k + kk];
            for j in 0..NP { acc[r][j] = a.mul_add(w[j], acc[r][j]); }
        }
    }
    for r in 0..R { c[r * n + j0..][..NP].copy_from_slice(&acc[r]); }
}
#[inline(always)]
fn kern_base(b: usize, k: usize, n: usize, h: &[f32], packed: &[f32], c: &mut [f32]) {
    for j0 in (0..n).step_by(NP) {
        let panel = &packed[j0 * k..][..k * NP];
        let mut r0 = 0;
        while r0 + 4 <= b { tile::<4>(&h[r0 * k..], k, panel, &mut c[r0 * n..], n, j0); r0 += 4; }
        while r0 < b { tile::<1>(&h[r0 * k..], k, panel, &mut c[r0 * n..], n, j0); r0 += 1; }
    }
}
#[target_feature(enable = "avx512f")]
unsafe fn kern512(b: usize, k: usize, n: usize, h: &[f32], packed: &[f32], c: &mut [f32]) { kern_base(b, k, n, h, packed, c) }
fn time(name: &str, reps: usize, mut f: impl FnMut()) {
    for _ in 0..10 { f(); }
    let t = Instant::now();
    for _ in 0..reps { f(); }
    let us = t.elapsed().as_secs_f64() * 1e6 / reps as f64;
    println!("{name}: {us:.2} us");
}
fn main() {
    let (k, n) = (128usize, 512usize);
    let w_t: Vec<f32> = (0..k * n).map(|i| ((i * 37) % 101) as f32 * 0.01 - 0.5).collect();
    let packed = pack(&w_t, k, n);
    for b in [50usize, 100, 25] {
        let h: Vec<f32> = (0..b * k).map(|i| ((i * 13) % 17) as f32 * 0.1 - 0.8).collect();
        let mut c1 = vec![0.1f32; b * n];
        let mut c2 = c1.clone();
        gemm(b, k, n, &h, (k, 1), &w_t, (n, 1), true, &mut c1, n, 1);
        unsafe { kern512(b, k, n, &h, &packed, &mut c2) };
        let md = c1.iter().zip(&c2).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
        println!("b={b} max diff {md}");
        for _ in 0..2 {
            time(&format!("gemm b={b}"), 5000, || gemm(b, k, n, &h, (k, 1), &w_t, (n, 1), true, &mut c1, n, 1));
            time(&format!("kern b={b}"), 5000, || unsafe { kern512(b, k, n, &h, &packed, &mut c2) });
        }
    }
}
