//! The native twin of `run.mjs`: times the very same `run_*` functions of
//! this crate natively, with the same calibration and the same statistic
//! (median of 5 runs), and prints the figures as one JSON object that
//! `run.mjs --native FILE` puts beside the wasm ones.
//!
//! `native [LABEL]`: LABEL (default `native`) names the figures in the
//! tables, e.g. `native-O3` for the `native-o3` profile build.
//! `BENCH_TARGET_MS` (default 200) is the wall time each of the 5 runs aims at.

use std::time::Instant;

use ksb_bench_wasm::{setup, OPS};

const RUNS: usize = 5;

fn time_ms(run: extern "C" fn(u32) -> u32, iterations: u32) -> f64 {
    let start = Instant::now();
    let n = run(iterations);
    let ms = start.elapsed().as_secs_f64() * 1e3;
    assert_eq!(n, iterations, "a workload failed");
    ms
}

fn main() {
    let target_ms: f64 = std::env::var("BENCH_TARGET_MS").ok().and_then(|v| v.parse().ok()).unwrap_or(200.0);
    let label = std::env::args().nth(1).unwrap_or_else(|| "native".to_string());
    let body_len = setup();
    assert!(body_len > 0, "setup failed: a workload does not succeed on the fixture");
    let mut out = Vec::new();
    for op in OPS.iter() {
        // Calibrate (doubling until a run takes 20 ms; this also warms up).
        let mut n = 1u32;
        let mut ms = time_ms(op.run, n);
        while ms < 20.0 && n < (1 << 30) {
            n *= 2;
            ms = time_ms(op.run, n);
        }
        let iterations = ((f64::from(n) * target_ms / ms).ceil() as u32).max(1);
        let mut ns: Vec<f64> = (0..RUNS).map(|_| time_ms(op.run, iterations) * 1e6 / f64::from(iterations)).collect();
        ns.sort_by(f64::total_cmp);
        let median = ns[RUNS / 2];
        out.push(format!(
            r#""{}":{{"ns_per_op":{:.1},"ops_per_s":{:.0},"iterations":{},"min_ns":{:.1},"max_ns":{:.1}}}"#,
            op.name,
            median,
            1e9 / median,
            iterations,
            ns[0],
            ns[RUNS - 1]
        ));
    }
    println!(
        r#"{{"target":"{}","arch":"{}","body_bytes":{},"ops":{{{}}}}}"#,
        label,
        std::env::consts::ARCH,
        body_len,
        out.join(",")
    );
}
