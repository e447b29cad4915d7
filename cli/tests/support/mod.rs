//! Definitions the CLI's hostile-input tests make (`hostile.rs`, `catalogue.rs`).

/// `n` Parallel states, each the only state of the branch of the one around it.
#[allow(dead_code)] // each test target uses part of this module
pub fn parallels(n: u64) -> String {
    let mut m = serde_json::json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}});
    for _ in 0..n {
        m = serde_json::json!({"StartAt": "P", "States": {"P": {"Type": "Parallel", "Branches": [m], "End": true}}});
    }
    m.to_string()
}

/// `n` states in a row, `S0` to `S{n-1}`: Pass states, then a Succeed.
pub fn chain(n: u64) -> String {
    let states: serde_json::Map<String, serde_json::Value> = (0..n)
        .map(|i| {
            let state = if i + 1 == n {
                serde_json::json!({"Type": "Succeed"})
            } else {
                serde_json::json!({"Type": "Pass", "Next": format!("S{}", i + 1)})
            };
            (format!("S{i}"), state)
        })
        .collect();
    serde_json::json!({"StartAt": "S0", "States": states}).to_string()
}
