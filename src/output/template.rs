//! `tail mqtt -F`: mosquitto_sub's output format, one line per message.
//!
//! Specifiers as mosquitto_sub 2.0 has them: `%t` topic, `%p` payload, `%q`
//! QoS, `%r` retain flag (0/1), `%l` payload length, `%m` message id, `%x`
//! payload as hex, `%I` receive time ISO 8601 (`2026-03-01T12:00:00+0000`), `%U`
//! receive time as Unix seconds with nanoseconds, `%j` the message as JSON,
//! `%%` a percent sign; `\n`, `\t`, `\r`, `\\`, `\a`, `\e`, `\v` escapes. Each
//! message ends with a newline, as in mosquitto_sub. Where iotpipe differs:
//! times are in UTC, and `%j`'s `tst` is RFC 3339 in UTC (mosquitto 2.0.11
//! writes `...Z+0000`), and its `payload` is the payload's own JSON when it is
//! JSON. Field widths and precisions (`%10t`) are not supported.

use time::OffsetDateTime;

/// What a message carries besides its payload.
#[derive(Debug, Clone)]
pub struct Meta {
    pub qos: u8,
    pub retain: bool,
    /// The packet id (0 at QoS 0).
    pub mid: u16,
    pub received_at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq)]
enum Piece {
    Text(Vec<u8>),
    Topic,
    Payload,
    Qos,
    Retain,
    Length,
    Mid,
    Hex,
    Iso,
    Unix,
    Json,
}

/// A parsed `-F` format.
#[derive(Debug, Clone, PartialEq)]
pub struct Template(Vec<Piece>);

impl std::str::FromStr for Template {
    type Err = String;

    fn from_str(format: &str) -> Result<Template, String> {
        let mut pieces = Vec::new();
        let mut text = Vec::new();
        let mut chars = format.chars();
        while let Some(c) = chars.next() {
            match c {
                '%' => {
                    let piece = match chars.next() {
                        Some('%') => {
                            text.push(b'%');
                            continue;
                        }
                        Some('t') => Piece::Topic,
                        Some('p') => Piece::Payload,
                        Some('q') => Piece::Qos,
                        Some('r') => Piece::Retain,
                        Some('l') => Piece::Length,
                        Some('m') => Piece::Mid,
                        Some('x') => Piece::Hex,
                        Some('I') => Piece::Iso,
                        Some('U') => Piece::Unix,
                        Some('j') => Piece::Json,
                        Some(other) => {
                            return Err(format!(
                                "%{other} is not a format specifier here (use %t %p %q %r %l %m %x %I %U %j %%)"
                            ));
                        }
                        None => return Err("the format ends in a lone %".into()),
                    };
                    if !text.is_empty() {
                        pieces.push(Piece::Text(std::mem::take(&mut text)));
                    }
                    pieces.push(piece);
                }
                '\\' => {
                    let byte = match chars.next() {
                        Some('n') => b'\n',
                        Some('t') => b'\t',
                        Some('r') => b'\r',
                        Some('\\') => b'\\',
                        Some('a') => 0x07,
                        Some('e') => 0x1b,
                        Some('v') => 0x0b,
                        Some(other) => {
                            return Err(format!(
                                "\\{other} is not an escape here (use \\n \\t \\r \\\\ \\a \\e \\v)"
                            ));
                        }
                        None => return Err("the format ends in a lone \\".into()),
                    };
                    text.push(byte);
                }
                c => {
                    let mut buf = [0u8; 4];
                    text.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                }
            }
        }
        if !text.is_empty() {
            pieces.push(Piece::Text(text));
        }
        Ok(Template(pieces))
    }
}

impl Template {
    /// The line for one message, newline included.
    pub fn render(&self, topic: &str, payload: &[u8], meta: &Meta) -> Vec<u8> {
        let mut out = Vec::with_capacity(payload.len() + 64);
        for piece in &self.0 {
            match piece {
                Piece::Text(text) => out.extend_from_slice(text),
                Piece::Topic => out.extend_from_slice(topic.as_bytes()),
                Piece::Payload => out.extend_from_slice(payload),
                Piece::Qos => out.extend_from_slice(meta.qos.to_string().as_bytes()),
                Piece::Retain => out.push(if meta.retain { b'1' } else { b'0' }),
                Piece::Length => out.extend_from_slice(payload.len().to_string().as_bytes()),
                Piece::Mid => out.extend_from_slice(meta.mid.to_string().as_bytes()),
                Piece::Hex => {
                    for byte in payload {
                        out.extend_from_slice(format!("{byte:02x}").as_bytes());
                    }
                }
                Piece::Iso => {
                    let at = meta.received_at;
                    out.extend_from_slice(
                        format!(
                            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}+0000",
                            at.year(),
                            u8::from(at.month()),
                            at.day(),
                            at.hour(),
                            at.minute(),
                            at.second()
                        )
                        .as_bytes(),
                    );
                }
                Piece::Unix => {
                    let nanos = meta.received_at.unix_timestamp_nanos();
                    out.extend_from_slice(
                        format!(
                            "{}.{:09}",
                            nanos.div_euclid(1_000_000_000),
                            nanos.rem_euclid(1_000_000_000)
                        )
                        .as_bytes(),
                    );
                }
                Piece::Json => {
                    out.extend_from_slice(json(topic, payload, meta, "tst").to_string().as_bytes());
                }
            }
        }
        out.push(b'\n');
        out
    }
}

/// A message as one JSON object, its receive time under `time_field`: what
/// `-F %j` (`tst`, as mosquitto_sub) and `-v -o jsonl` (`received_at`) print.
pub fn json(topic: &str, payload: &[u8], meta: &Meta, time_field: &str) -> serde_json::Value {
    let mut object = serde_json::json!({
        "topic": topic,
        "qos": meta.qos,
        "retain": u8::from(meta.retain),
        "payloadlen": payload.len(),
    });
    object[time_field] = crate::payload::format_ts(meta.received_at).into();
    match serde_json::from_slice::<serde_json::Value>(payload) {
        Ok(value) => object["payload"] = value,
        Err(_) => {
            object["payload"] = String::from_utf8_lossy(payload).into_owned().into();
        }
    }
    object
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specifiers_and_escapes_render_as_mosquitto_sub_does() {
        let meta = Meta {
            qos: 1,
            retain: true,
            mid: 7,
            received_at: OffsetDateTime::from_unix_timestamp_nanos(1_772_366_400_123_456_789)
                .unwrap(),
        };
        let template: Template = "%t|%p|%q|%r|%l|%m|%x|%%|\\t|%I|%U".parse().unwrap();
        assert_eq!(
            String::from_utf8(template.render("a/b", b"hi", &meta)).unwrap(),
            "a/b|hi|1|1|2|7|6869|%|\t|2026-03-01T12:00:00+0000|1772366400.123456789\n"
        );
        assert!("%z".parse::<Template>().is_err());
        assert!("50%".parse::<Template>().is_err());
        let line = template_json(&meta);
        assert_eq!(line["payload"]["x"], 1);
        assert_eq!(line["retain"], 1);
    }

    fn template_json(meta: &Meta) -> serde_json::Value {
        let template: Template = "%j".parse().unwrap();
        serde_json::from_slice(&template.render("a/b", br#"{"x":1}"#, meta)).unwrap()
    }
}
