//! How `tail` prints payloads: a table row per reading (raw text for the
//! others), or each payload byte for byte as a JSON line; malformed ones warned
//! about, the first few each and then a count.

use std::io::Write;

use serde::Serialize;

use super::template::{Meta, Template};
use super::{Column, Format, Records, Row, number, sanitize};
use crate::payload::Reading;

/// How a payload is shown: as received, or encoded for binary payloads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum PayloadEncoding {
    #[default]
    Raw,
    Hex,
    Base64,
}

impl PayloadEncoding {
    fn apply<'p>(self, payload: &'p [u8]) -> std::borrow::Cow<'p, [u8]> {
        use base64::Engine as _;
        match self {
            PayloadEncoding::Raw => payload.into(),
            PayloadEncoding::Hex => payload
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
                .into_bytes()
                .into(),
            PayloadEncoding::Base64 => base64::engine::general_purpose::STANDARD
                .encode(payload)
                .into_bytes()
                .into(),
        }
    }
}

/// A payload as a table row: valid readings show their values, others their
/// raw text. `topic` is the MQTT topic, or the shard a Kinesis record came from.
#[derive(Serialize)]
#[serde(untagged)]
pub enum MessageRow {
    Reading {
        topic: String,
        reading: Box<Reading>,
    },
    Malformed {
        /// When it arrived, where known.
        time: Option<String>,
        topic: String,
        raw: String,
    },
}

impl Row for MessageRow {
    const COLUMNS: &'static [Column] = &[
        Column::left("time", 24),
        Column::left("topic/shard", 12),
        Column::left("device", 12),
        Column::right("seq", 5),
        Column::right("temp °C", 7),
        Column::right("humidity %", 10),
        Column::right("pressure hPa", 12),
    ];

    fn cells(&self) -> Vec<String> {
        match self {
            MessageRow::Reading { topic, reading: r } => vec![
                r.ts.clone(),
                topic.clone(),
                r.device_id.clone(),
                r.seq.to_string(),
                number(r.temperature_c, 2),
                number(r.humidity_pct, 2),
                number(r.pressure_hpa, 2),
            ],
            MessageRow::Malformed { time, topic, raw } => {
                let preview: String = raw.chars().take(80).collect();
                vec![
                    time.clone().unwrap_or_else(|| "(not schema v1)".into()),
                    topic.clone(),
                    preview,
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                ]
            }
        }
    }
}

/// Warnings about malformed payloads: each of the first few, then a count.
struct Malformed {
    seen: u64,
}

impl Malformed {
    const SHOWN: u64 = 20;

    fn warn(&mut self, topic: &str, error: &crate::payload::Invalid, payload: &[u8]) {
        self.seen += 1;
        if self.seen <= Self::SHOWN {
            let preview = String::from_utf8_lossy(&payload[..payload.len().min(120)]).into_owned();
            tracing::warn!(
                "malformed payload on {}: {error}: {}",
                sanitize(topic),
                sanitize(&preview)
            );
        }
    }

    fn finish(&self) {
        if self.seen > Self::SHOWN {
            tracing::warn!(
                "{} malformed payloads in all ({} shown)",
                self.seen,
                Self::SHOWN
            );
        }
    }
}

/// Prints payloads as they arrive: a table row, or the payload itself as a JSON line.
pub struct Printer {
    format: Format,
    terminal: bool,
    /// "topic" or "shard": what `-v` wraps each payload with.
    source: &'static str,
    show_source: bool,
    malformed: Malformed,
    /// Warn of payloads that are not schema v1 (a viewer of any topic does not).
    pub warn_malformed: bool,
    pub encoding: PayloadEncoding,
    /// `-F`: each message through this format instead.
    pub template: Option<Template>,
}

impl Printer {
    /// `source` names what `-v` wraps each payload with ("topic", "shard").
    pub fn new(output: &super::Output, source: &'static str, show_source: bool) -> Printer {
        Printer {
            format: output.format,
            terminal: output.is_terminal(),
            source,
            show_source,
            malformed: Malformed { seen: 0 },
            warn_malformed: true,
            encoding: PayloadEncoding::Raw,
            template: None,
        }
    }

    /// Prints one payload; `meta` is what MQTT says of it (None from Kinesis).
    pub fn print(
        &mut self,
        records: &mut Records<'_, MessageRow>,
        source: &str,
        payload: &[u8],
        meta: Option<&Meta>,
    ) -> std::io::Result<()> {
        let parsed = self.parse(source, payload);
        let shown = self.encoding.apply(payload);
        // Byte for byte when piped; escaped where a terminal would act on it.
        let escaped;
        let shown: &[u8] = if self.terminal && self.encoding == PayloadEncoding::Raw {
            escaped = sanitize(&String::from_utf8_lossy(&shown)).into_owned();
            escaped.as_bytes()
        } else {
            &shown
        };
        if let (Some(template), Some(meta)) = (&self.template, meta) {
            records
                .raw()
                .write_all(&template.render(source, shown, meta))?;
        } else {
            match self.format {
                Format::Jsonl => match (self.show_source, meta) {
                    (true, Some(meta)) => {
                        let object = super::template::json(source, shown, meta, "received_at");
                        write_object(records.raw(), object)?;
                    }
                    _ => {
                        let is_json = self.encoding == PayloadEncoding::Raw
                            && (parsed.is_ok()
                                || serde_json::from_slice::<serde::de::IgnoredAny>(payload)
                                    .is_ok());
                        let wrapped = self.show_source.then_some((self.source, source));
                        write_jsonl(records.raw(), wrapped, shown, is_json)?
                    }
                },
                _ => records.write(&match parsed {
                    Ok(reading) => MessageRow::Reading {
                        topic: source.to_string(),
                        reading: Box::new(reading),
                    },
                    Err(_) => MessageRow::Malformed {
                        time: meta.map(|m| crate::payload::format_ts(m.received_at)),
                        topic: source.to_string(),
                        raw: String::from_utf8_lossy(shown).into_owned(),
                    },
                })?,
            }
        }
        if self.terminal {
            records.flush()?;
        }
        Ok(())
    }

    /// The payload as a reading, warning (when enabled) if it is not one.
    pub fn parse(
        &mut self,
        source: &str,
        payload: &[u8],
    ) -> Result<Reading, crate::payload::Invalid> {
        let parsed = Reading::parse(payload);
        if let Err(error) = &parsed
            && self.warn_malformed
        {
            self.malformed.warn(source, error, payload);
        }
        parsed
    }

    pub fn finish(&self) {
        self.malformed.finish();
    }
}

/// One message as a JSON line: its `payload` is the payload's own JSON, or
/// when it is not JSON the text as `payload_raw` (what `-v` prints).
pub fn write_object(out: &mut dyn Write, mut object: serde_json::Value) -> std::io::Result<()> {
    if let Some(fields) = object.as_object_mut()
        && let Some(serde_json::Value::String(text)) = fields.get("payload")
        && serde_json::from_str::<serde::de::IgnoredAny>(text).is_err()
    {
        let raw = fields.remove("payload").unwrap_or_default();
        fields.insert("payload_raw".into(), raw);
    }
    writeln!(out, "{object}")
}

/// Writes one payload as received; with -v, wrapped with its topic (or shard)
/// as one JSON object.
fn write_jsonl(
    out: &mut dyn Write,
    source: Option<(&str, &str)>,
    payload: &[u8],
    is_json: bool,
) -> std::io::Result<()> {
    let Some((name, source)) = source else {
        out.write_all(payload)?;
        return out.write_all(b"\n");
    };
    let source = serde_json::to_string(source).unwrap_or_default();
    if is_json {
        write!(out, "{{\"{name}\":{source},\"payload\":")?;
        out.write_all(payload)?;
        out.write_all(b"}\n")
    } else {
        let raw = serde_json::to_string(&String::from_utf8_lossy(payload)).unwrap_or_default();
        writeln!(out, "{{\"{name}\":{source},\"payload_raw\":{raw}}}")
    }
}
