//! The fleet's one device policy (examples/aws/iotpipe.yaml, DevicePolicy)
//! evaluated as the AWS IoT developer guide describes IoT Core evaluating it,
//! for every client id and topic iotpipe uses: each allowed for its own thing,
//! refused for another's.
//!
//! What the evaluation follows: "Thing policy variables" (`${iot:Connection.
//! Thing.ThingName}` resolves to the thing the certificate is attached to; with
//! a non-exclusive attachment only when the client id equals the thing name;
//! `iot:Connection.Thing.IsAttached`), "Associating an AWS IoT thing to an MQTT
//! client connection" (an exclusive attachment names one thing whatever the
//! client id), and "AWS IoT Core policy elements" (Allow statements, `*` and
//! `?` wildcards in resources; MQTT's `+` and `#` are plain characters there).

use iotpipe::mqtt::ClientRole;
use serde_json::Value;

const ACCOUNT: &str = "123456789012";
const REGION: &str = "eu-west-1";
const TOPIC: &str = "sensor/data";

#[derive(Clone, Copy, PartialEq)]
enum Attachment {
    Exclusive,
    NonExclusive,
}

/// A device's certificate and the things it is attached to.
struct Certificate<'a> {
    things: &'a [(&'a str, Attachment)],
}

impl Certificate<'_> {
    /// The thing a connection with `client_id` is associated with, if any.
    fn thing(&self, client_id: &str) -> Option<&str> {
        match self.things {
            [(thing, Attachment::Exclusive)] => Some(thing),
            things => things
                .iter()
                .find(|(thing, _)| *thing == client_id)
                .map(|(thing, _)| *thing),
        }
    }
}

/// The template's value with `Fn::Sub` resolved for this account; `${!x}`
/// stays as the policy variable `${x}`.
fn substituted(value: &Value) -> Vec<String> {
    let one = |text: &str| {
        text.replace("${AWS::Partition}", "aws")
            .replace("${AWS::Region}", REGION)
            .replace("${AWS::AccountId}", ACCOUNT)
            .replace("${Topic}", TOPIC)
            .replace("${!", "${")
    };
    match value {
        Value::Array(items) => items.iter().flat_map(substituted).collect(),
        Value::Object(map) if map.contains_key("Fn::Sub") => {
            vec![one(map["Fn::Sub"].as_str().expect("a plain !Sub"))]
        }
        Value::String(text) => vec![one(text)],
        other => panic!("unexpected policy value {other}"),
    }
}

/// `*` any run of characters, `?` any one; the rest literally.
fn glob(pattern: &str, text: &str) -> bool {
    match pattern.chars().next() {
        None => text.is_empty(),
        Some('*') => (0..=text.len())
            .filter(|i| text.is_char_boundary(*i))
            .any(|i| glob(&pattern[1..], &text[i..])),
        Some(c) => text.chars().next().is_some_and(|t| {
            (c == '?' || c == t) && glob(&pattern[c.len_utf8()..], &text[t.len_utf8()..])
        }),
    }
}

struct Policy {
    statements: Vec<Value>,
}

impl Policy {
    fn from_template() -> Policy {
        let template = crate::examples::template();
        let document = &template["Resources"]["DevicePolicy"]["Properties"]["PolicyDocument"];
        Policy {
            statements: document["Statement"].as_array().unwrap().clone(),
        }
    }

    /// Whether `action` on `resource` (after `arn:aws:iot:REGION:ACCOUNT:`) is
    /// allowed to a connection of `certificate` as `client_id`.
    fn allows(
        &self,
        certificate: &Certificate,
        client_id: &str,
        action: &str,
        resource: &str,
    ) -> bool {
        let thing = certificate.thing(client_id);
        let arn = format!("arn:aws:iot:{REGION}:{ACCOUNT}:{resource}");
        self.statements.iter().any(|statement| {
            assert_eq!(statement["Effect"], "Allow", "no Deny to evaluate");
            let actions = crate::examples::strings(&statement["Action"]);
            if !actions.iter().any(|a| a == action || a == "iot:*") {
                return false;
            }
            if let Some(condition) = statement.get("Condition") {
                assert_eq!(
                    condition,
                    &serde_json::json!({"Bool": {"iot:Connection.Thing.IsAttached": "true"}}),
                    "the only condition the evaluation knows"
                );
                if thing.is_none() {
                    return false;
                }
            }
            substituted(&statement["Resource"]).iter().any(|pattern| {
                if pattern.contains("${iot:Connection.Thing.ThingName}") {
                    // Unresolved, a variable matches nothing.
                    let Some(thing) = thing else { return false };
                    glob(
                        &pattern.replace("${iot:Connection.Thing.ThingName}", thing),
                        &arn,
                    )
                } else {
                    assert!(!pattern.contains("${"), "an unknown variable in {pattern}");
                    glob(pattern, &arn)
                }
            })
        })
    }
}

/// The client ids iotpipe derives on a device for each of its roles there.
fn client_ids(thing: &str) -> Vec<String> {
    [ClientRole::Publish, ClientRole::Tail, ClientRole::Doctor]
        .into_iter()
        .map(|role| role.client_id(Some(thing), thing))
        .collect()
}

#[test]
fn the_fleet_policy_lets_each_device_act_as_itself_and_as_no_other() {
    let policy = Policy::from_template();
    let kitchen = Certificate {
        things: &[("pi-kitchen", Attachment::Exclusive)],
    };
    let own_topic = format!("{TOPIC}/pi-kitchen");
    for client in client_ids("pi-kitchen") {
        assert!(
            policy.allows(
                &kitchen,
                &client,
                "iot:Connect",
                &format!("client/{client}")
            ),
            "{client}"
        );
        for (action, resource) in [
            ("iot:Publish", format!("topic/{own_topic}")),
            ("iot:Publish", format!("topic/{own_topic}/status")),
            ("iot:Subscribe", format!("topicfilter/{own_topic}")),
            ("iot:Receive", format!("topic/{own_topic}")),
        ] {
            assert!(
                policy.allows(&kitchen, &client, action, &resource),
                "{client} {action} {resource}"
            );
        }
        // Another device's topics, the bare prefix, and wildcards over the fleet.
        for (action, resource) in [
            ("iot:Publish", format!("topic/{TOPIC}/pi-attic")),
            ("iot:Publish", format!("topic/{TOPIC}")),
            ("iot:Publish", format!("topic/{own_topic}-2")),
            ("iot:Subscribe", format!("topicfilter/{TOPIC}/pi-attic")),
            ("iot:Subscribe", format!("topicfilter/{TOPIC}/+")),
            ("iot:Subscribe", format!("topicfilter/{TOPIC}/#")),
            ("iot:Receive", format!("topic/{TOPIC}/pi-attic")),
            ("iot:UpdateThingShadow", "thing/pi-kitchen".to_string()),
        ] {
            assert!(
                !policy.allows(&kitchen, &client, action, &resource),
                "{client} {action} {resource}"
            );
        }
    }
    // Never under another device's ids.
    for client in client_ids("pi-attic") {
        assert!(
            !policy.allows(
                &kitchen,
                &client,
                "iot:Connect",
                &format!("client/{client}")
            ),
            "{client}"
        );
    }
    assert!(!policy.allows(&kitchen, "pi-kitchen2", "iot:Connect", "client/pi-kitchen2"));

    // Why every attachment is exclusive: with a non-exclusive one the thing is
    // known only when the client id is its name, so `doctor` and `tail` are refused.
    let shared = Certificate {
        things: &[("pi-kitchen", Attachment::NonExclusive)],
    };
    let ids = client_ids("pi-kitchen");
    assert!(policy.allows(&shared, &ids[0], "iot:Connect", "client/pi-kitchen"));
    for client in &ids[1..] {
        assert!(
            !policy.allows(&shared, client, "iot:Connect", &format!("client/{client}")),
            "{client}"
        );
    }
    // A certificate attached to no thing connects as nobody.
    let loose = Certificate { things: &[] };
    for client in client_ids("pi-kitchen") {
        assert!(!policy.allows(&loose, &client, "iot:Connect", &format!("client/{client}")));
    }
}

#[test]
fn the_evaluation_reads_wildcards_as_iot_does() {
    assert!(glob("client/pi-*", "client/pi-kitchen-tail-x"));
    assert!(glob("topic/a/?", "topic/a/b"));
    assert!(!glob("topic/a/?", "topic/a/bc"));
    assert!(
        !glob("topicfilter/a/+", "topicfilter/a/b"),
        "+ is a plain character"
    );
    assert!(glob("topicfilter/a/+", "topicfilter/a/+"));
}
