//! Topic names and filters as MQTT 3.1.1 section 4.7 defines them.

/// A topic a client may publish to (4.7.3): not empty, no wildcard, no NUL.
pub fn valid_name(topic: &str) -> bool {
    !topic.is_empty() && !topic.contains(['+', '#', '\0'])
}

/// A filter a client may subscribe to (4.7.1): `#` only as the whole last
/// level, `+` only as a whole level.
pub fn valid_filter(filter: &str) -> bool {
    if filter.is_empty() || filter.contains('\0') {
        return false;
    }
    let levels: Vec<&str> = filter.split('/').collect();
    let last = levels.len() - 1;
    levels.iter().enumerate().all(|(i, level)| match *level {
        "#" => i == last,
        "+" => true,
        level => !level.contains(['+', '#']),
    })
}

/// Whether `filter` matches `topic`. Topics starting with `$` are not matched
/// by a filter starting with a wildcard (4.7.2), so `#` never sees `$SYS`.
pub fn matches(topic: &str, filter: &str) -> bool {
    if topic.starts_with('$') && filter.starts_with(['+', '#']) {
        return false;
    }
    let mut levels = topic.split('/');
    for wanted in filter.split('/') {
        if wanted == "#" {
            return true;
        }
        match levels.next() {
            Some(level) if wanted == "+" || wanted == level => {}
            _ => return false,
        }
    }
    levels.next().is_none()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_match_as_the_standard_says() {
        // MQTT 3.1.1 section 4.7.1.2 and 4.7.1.3, examples.
        for (topic, filter, expected) in [
            ("sport/tennis/player1", "sport/tennis/player1/#", true),
            (
                "sport/tennis/player1/ranking",
                "sport/tennis/player1/#",
                true,
            ),
            ("sport", "sport/#", true),
            ("sport/tennis/player1", "sport/tennis/+", true),
            ("sport/tennis/player1/ranking", "sport/tennis/+", false),
            ("sport/tennis/player1", "sport/+/player1", true),
            ("/finance", "+/+", true),
            ("/finance", "/+", true),
            ("/finance", "+", false),
            ("a/b", "#", true),
            ("$SYS/broker", "#", false),
            ("$SYS/broker", "+/broker", false),
            ("$SYS/broker", "$SYS/#", true),
            ("$SYS/broker", "$SYS/+", true),
            ("a//b", "a/+/b", true),
        ] {
            assert_eq!(matches(topic, filter), expected, "{topic} vs {filter}");
        }
    }

    #[test]
    fn wildcards_only_where_the_standard_allows() {
        for good in ["#", "+", "a/#", "+/b/+", "a//b", "/"] {
            assert!(valid_filter(good), "{good}");
        }
        for bad in ["", "a#", "a/#/b", "a+/b", "sport+"] {
            assert!(!valid_filter(bad), "{bad}");
        }
        assert!(valid_name("a/b") && !valid_name("a/+") && !valid_name(""));
    }
}
