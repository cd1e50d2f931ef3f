//! Resolution: layers, precedence, errors.

use super::*;

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn sample_value(kind: &ValueKind) -> Value {
    match kind {
        ValueKind::Str | ValueKind::Path => Value::String("x".into()),
        ValueKind::Bool => Value::Boolean(true),
        ValueKind::Int { min, .. } => Value::Integer(*min),
        ValueKind::Float { above } => Value::Float(above + 1.0),
        ValueKind::Duration { .. } => Value::String("1m".into()),
        ValueKind::OneOf(choices) => Value::String(choices[0].into()),
        ValueKind::StrList => Value::Array(vec![Value::String("a".into())]),
    }
}

#[test]
fn schema_and_struct_agree_on_every_key() {
    // Every key set at once must deserialize (no key the struct lacks) ...
    let overrides: Vec<Override> = KEYS
        .iter()
        .map(|k| Override::new(k.name, "--test", sample_value(&k.kind)))
        .collect();
    let resolved = resolve_from(&FileChoice::default(), &[], &overrides).unwrap();
    assert_eq!(resolved.values.len(), KEYS.len());
    // ... and every env name maps back to exactly one key.
    let mut names: Vec<String> = KEYS.iter().map(|k| env_name(k.name)).collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), KEYS.len());
    // The hint's section list is the set of key prefixes.
    let mut prefixes: Vec<String> = KEYS
        .iter()
        .filter_map(|k| k.name.split_once('.'))
        .map(|(s, _)| format!("[{s}]"))
        .collect();
    prefixes.dedup();
    assert_eq!(prefixes, SECTIONS);
    // Defaults must satisfy their own kind.
    for key in KEYS {
        if let Some(literal) = key.default {
            key.kind.check(&parse_literal(literal).unwrap()).unwrap();
        }
    }
}

#[test]
fn env_beats_defaults_and_flags_beat_env() {
    let resolved = resolve_from(
        &FileChoice::default(),
        &env(&[("IOTPIPE_MQTT_PORT", "1999"), ("IOTPIPE_DEVICE_ID", "123")]),
        &[Override::new("device_id", "--device-id", "flagged")],
    )
    .unwrap();
    assert_eq!(resolved.config.mqtt.port, 1999);
    assert_eq!(resolved.config.device_id, "flagged");
    assert_eq!(
        resolved.values["mqtt.port"].1,
        Origin::Env("IOTPIPE_MQTT_PORT".into())
    );
}

#[test]
fn bad_env_values_name_the_variable_and_the_expectation() {
    let err = resolve_from(
        &FileChoice::default(),
        &env(&[("IOTPIPE_MQTT_QOS", "2")]),
        &[],
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("IOTPIPE_MQTT_QOS") && err.contains("0 or 1"),
        "{err}"
    );
    let err = resolve_from(
        &FileChoice::default(),
        &env(&[("IOTPIPE_MQTT_PASSWORD", "")]),
        &[],
    );
    assert!(err.is_ok(), "an empty password is a string");
    let resolved = resolve_from(
        &FileChoice::default(),
        &env(&[("IOTPIPE_MQTT_HOTS", "x")]),
        &[],
    )
    .unwrap();
    assert!(
        resolved.warnings[0].contains("IOTPIPE_MQTT_HOTS"),
        "{:?}",
        resolved.warnings
    );
}

#[test]
fn derived_defaults_follow_their_inputs() {
    let resolved = resolve_from(
        &FileChoice::default(),
        &env(&[("IOTPIPE_DATA_DIR", "/srv/d"), ("IOTPIPE_AWS_BUCKET", "b")]),
        &[],
    )
    .unwrap();
    assert_eq!(
        resolved.config.dashboard.out,
        PathBuf::from("/srv/d/dashboard")
    );
    assert_eq!(
        resolved.config.athena.output_location.as_deref(),
        Some("s3://b/athena-results/")
    );
}

mod properties {
    use proptest::prelude::*;

    use super::*;

    fn any_value() -> impl Strategy<Value = Value> {
        prop_oneof![
            ".{0,30}".prop_map(Value::String),
            any::<i64>().prop_map(Value::Integer),
            proptest::num::f64::ANY.prop_map(Value::Float),
            any::<bool>().prop_map(Value::Boolean),
            proptest::collection::vec(".{0,8}", 0..3)
                .prop_map(|v| Value::Array(v.into_iter().map(Value::String).collect())),
        ]
    }

    proptest! {
        /// Any value in the file, and any text in an IOTPIPE_* variable, for
        /// any key: accepted or refused, never a panic.
        #[test]
        fn every_key_checks_any_value(value in any_value(), text in ".{0,30}") {
            for key in KEYS {
                let _ = key.kind.check(&value);
                if let Ok(parsed) = key.kind.parse_env(&text) {
                    let _ = key.kind.check(&parsed);
                }
            }
        }
    }
}
