//! Our dpkg and rpm orderings against the real tools, on many generated pairs.
//! `dpkg --compare-versions` (dpkg) and rpm's Lua `rpm.vercmp` (rpm) are the oracles;
//! `.ci/run` installs both.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers: a panic is the failure report

use std::cmp::Ordering;
use std::process::Command;

use kubeladder_core::package::{DebVersion, RpmVersion};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

/// Version fragments that exercise every branch: `~`, letters, `+`, `.`, leading zeros, epochs.
fn fragment() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            (0u32..30).prop_map(|n| n.to_string()),
            Just("0".to_owned()),
            Just("00".to_owned()),
            Just("010".to_owned()),
            Just(".".to_owned()),
            Just("~".to_owned()),
            Just("~rc".to_owned()),
            Just("+".to_owned()),
            Just("a".to_owned()),
            Just("b".to_owned()),
            Just("rc".to_owned()),
            Just("Z".to_owned()),
        ],
        1..6,
    )
    .prop_map(|parts| parts.concat())
}

fn deb_version() -> impl Strategy<Value = String> {
    (proptest::option::of(0u32..3), 0u32..30, fragment(), proptest::option::of(fragment())).prop_map(
        |(epoch, lead, upstream, revision)| {
            let mut s = String::new();
            if let Some(e) = epoch {
                s += &format!("{e}:");
            }
            s += &format!("{lead}{upstream}");
            if let Some(r) = revision {
                // A revision may not contain '-'; upstream may.
                s += &format!("-{}", r.replace('-', "."));
            }
            s
        },
    )
}

fn dpkg_says(a: &str, b: &str) -> Ordering {
    let run = |op: &str| {
        Command::new("dpkg")
            .args(["--compare-versions", a, op, b])
            .status()
            .expect("dpkg must be installed (.ci/run installs it)")
            .success()
    };
    if run("lt") {
        Ordering::Less
    } else if run("eq") {
        Ordering::Equal
    } else {
        Ordering::Greater
    }
}

#[test]
fn dpkg_ordering_matches_real_dpkg() {
    let mut runner = TestRunner::new(Config { cases: 400, ..Config::default() });
    runner
        .run(&(deb_version(), deb_version()), |(a, b)| {
            let (Ok(pa), Ok(pb)) = (DebVersion::parse(&a), DebVersion::parse(&b)) else {
                return Ok(()); // generator made something dpkg would also reject
            };
            prop_assert_eq!(pa.cmp(&pb), dpkg_says(&a, &b), "{} vs {}", a, b);
            Ok(())
        })
        .unwrap();
}

#[test]
fn dpkg_ordering_matches_on_kubernetes_package_versions() {
    let versions = [
        "1.18.20-00",
        "1.19.16-00",
        "1.28.15-1.1",
        "1.28.14-2.1",
        "1.29.0-1.1",
        "1.29.10-1.1",
        "1.30.0~rc.1-1.1",
        "1.30.0-1.1",
        "1.30.0~alpha.2-1.1",
        "1.30.0~beta.0-1.1",
        "1:1.18.0-00",
    ];
    for a in versions {
        for b in versions {
            assert_eq!(
                DebVersion::parse(a).unwrap().cmp(&DebVersion::parse(b).unwrap()),
                dpkg_says(a, b),
                "{a} vs {b}"
            );
        }
    }
}

fn rpm_version() -> impl Strategy<Value = String> {
    (proptest::option::of(0u32..3), 0u32..30, fragment(), proptest::option::of(fragment()), any::<bool>()).prop_map(
        |(epoch, lead, version, release, caret)| {
            let mut s = String::new();
            if let Some(e) = epoch {
                s += &format!("{e}:");
            }
            s += &format!("{lead}{}", version.replace('+', if caret { "^" } else { "_" }));
            if let Some(r) = release {
                s += &format!("-{}", r.replace('+', "."));
            }
            s
        },
    )
}

/// Ask rpm about many pairs in one process: `rpm --eval` with a Lua loop over `rpm.vercmp`.
fn rpm_says(pairs: &[(String, String)]) -> Vec<Ordering> {
    let mut lua = String::from("%{lua: ");
    for (a, b) in pairs {
        lua += &format!("print(rpm.vercmp('{a}', '{b}')); print(' '); ");
    }
    lua += "}";
    let out = Command::new("rpm").args(["--eval", &lua]).output().expect("rpm must be installed (.ci/run installs it)");
    assert!(out.status.success(), "rpm failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .map(|n| match n {
            "-1" => Ordering::Less,
            "0" => Ordering::Equal,
            "1" => Ordering::Greater,
            other => panic!("unexpected rpm.vercmp output {other:?}"),
        })
        .collect()
}

#[test]
fn rpm_ordering_matches_real_rpm() {
    let mut runner = TestRunner::new(Config { cases: 1, ..Config::default() });
    let pairs_strategy = proptest::collection::vec((rpm_version(), rpm_version()), 600);
    runner
        .run(&pairs_strategy, |pairs| {
            let pairs: Vec<(String, String)> = pairs
                .into_iter()
                .filter(|(a, b)| RpmVersion::parse(a).is_ok() && RpmVersion::parse(b).is_ok())
                .collect();
            let expected = rpm_says(&pairs);
            prop_assert_eq!(expected.len(), pairs.len());
            for ((a, b), want) in pairs.iter().zip(expected) {
                let got = RpmVersion::parse(a).unwrap().cmp(&RpmVersion::parse(b).unwrap());
                prop_assert_eq!(got, want, "{} vs {}", a, b);
            }
            Ok(())
        })
        .unwrap();
}
