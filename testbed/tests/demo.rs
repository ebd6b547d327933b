//! `testbed demo` (the README's main command) works for every protocol: every receiver gets
//! the stream and everything is torn down.

use std::process::Command;

use testbed::bin_path;

fn demo(protocol: &str) {
    let testbed = bin_path("testbed").expect("the testbed binary is built");
    let out = Command::new(testbed)
        .args([
            "demo",
            "--protocol",
            protocol,
            "--duration",
            "2",
            "--rate",
            "20",
        ])
        .output()
        .expect("run testbed demo");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("demo: every receiver got traffic"),
        "testbed demo --protocol {protocol} failed ({}):\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("torn down"), "{stdout}");
}

#[test]
fn demo_static() {
    demo("static");
}

#[test]
fn demo_pim() {
    demo("pim");
}

#[test]
fn demo_dvmrp_islands_joined_by_a_tunnel() {
    demo("dvmrp");
}
