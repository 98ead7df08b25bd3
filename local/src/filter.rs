//! Event filtering as Lambda applies an event source mapping's
//! `FilterCriteria` (the EventBridge pattern syntax): the local stream
//! driver drops what the template's filters drop, so a record a filter
//! excludes never reaches a function locally, as in AWS.
//!
//! Semantics (Lambda's "filter rule syntax"):
//! * a pattern is a JSON object; every key must match (AND), nested
//!   objects match nested fields (`dynamodb.NewImage.status.S`);
//! * a leaf is a list of matchers, any of which may match (OR): literal
//!   strings, numbers, booleans or null (exact), `{"prefix": s}`,
//!   `{"suffix": s}`, `{"equals-ignore-case": s}`, `{"anything-but": v |
//!   [v…] | {"prefix": s}}`, `{"exists": bool}`, `{"numeric": [op, n, …]}`;
//! * a field holding a list matches if any element does;
//! * a missing field matches only `{"exists": false}`;
//! * the filters of one mapping are alternatives (a record passes if any
//!   pattern matches); no filters passes everything.
//!
//! A pattern Lambda would refuse (a leaf that is not a list, an unknown
//! operator) is an error here too, when the stack starts.

use serde_json::Value;

#[derive(Debug, Clone)]
pub struct Pattern(Value);

#[derive(Debug, thiserror::Error)]
#[error("filter pattern {pattern}: {reason}")]
pub struct PatternError {
    pub pattern: String,
    pub reason: String,
}

impl Pattern {
    pub fn parse(text: &str) -> Result<Self, PatternError> {
        let err = |reason: String| PatternError {
            pattern: text.to_owned(),
            reason,
        };
        let value: Value = serde_json::from_str(text).map_err(|e| err(e.to_string()))?;
        if !value.is_object() {
            return Err(err("a pattern is a JSON object".into()));
        }
        validate(&value).map_err(err)?;
        Ok(Self(value))
    }

    /// Whether `event` (the record as the function would receive it)
    /// matches.
    pub fn matches(&self, event: &Value) -> bool {
        object_matches(&self.0, Some(event))
    }
}

/// Whether `event` passes `filters` (any of them; none passes all).
pub fn passes(filters: &[Pattern], event: &Value) -> bool {
    filters.is_empty() || filters.iter().any(|f| f.matches(event))
}

fn validate(pattern: &Value) -> Result<(), String> {
    let Value::Object(map) = pattern else {
        return Err("expected an object".into());
    };
    for (key, v) in map {
        match v {
            Value::Object(_) => validate(v)?,
            Value::Array(matchers) => {
                if matchers.is_empty() {
                    return Err(format!("`{key}`: an empty list matches nothing"));
                }
                for m in matchers {
                    validate_matcher(m).map_err(|e| format!("`{key}`: {e}"))?;
                }
            }
            other => return Err(format!("`{key}`: a leaf must be a list, not {other}")),
        }
    }
    Ok(())
}

fn validate_matcher(m: &Value) -> Result<(), String> {
    let Value::Object(op) = m else {
        return Ok(()); // a literal
    };
    if op.len() != 1 {
        return Err(format!("one operator per matcher: {m}"));
    }
    let (name, arg) = op.iter().next().ok_or("empty matcher")?;
    match (name.as_str(), arg) {
        ("prefix" | "suffix" | "equals-ignore-case", Value::String(_)) => Ok(()),
        ("exists", Value::Bool(_)) => Ok(()),
        ("anything-but", Value::Object(inner))
            if inner.len() == 1 && inner.contains_key("prefix") =>
        {
            Ok(())
        }
        ("anything-but", Value::Array(_) | Value::String(_) | Value::Number(_)) => Ok(()),
        ("numeric", Value::Array(parts)) => {
            if parts.is_empty() || parts.len() % 2 != 0 {
                return Err(format!("numeric takes operator/number pairs: {arg}"));
            }
            for pair in parts.chunks(2) {
                let op_ok = matches!(pair[0].as_str(), Some("<" | "<=" | "=" | ">" | ">="));
                if !op_ok || !pair[1].is_number() {
                    return Err(format!("numeric takes operator/number pairs: {arg}"));
                }
            }
            Ok(())
        }
        _ => Err(format!("unknown or malformed operator {m}")),
    }
}

fn object_matches(pattern: &Value, event: Option<&Value>) -> bool {
    let Value::Object(map) = pattern else {
        return false;
    };
    map.iter().all(|(key, sub)| {
        let field = event.and_then(|e| e.get(key));
        match sub {
            Value::Object(_) => match field {
                Some(Value::Object(_)) => object_matches(sub, field),
                // A nested pattern over a missing field: only exists:false
                // leaves inside could match.
                _ => object_matches(sub, None),
            },
            Value::Array(matchers) => leaf_matches(matchers, field),
            _ => false,
        }
    })
}

fn leaf_matches(matchers: &[Value], field: Option<&Value>) -> bool {
    matchers.iter().any(|m| match field {
        None => matches!(m.get("exists"), Some(Value::Bool(false))),
        Some(Value::Array(items)) => items.iter().any(|v| matcher_matches(m, v)),
        Some(v) => matcher_matches(m, v),
    })
}

fn matcher_matches(m: &Value, value: &Value) -> bool {
    let Value::Object(op) = m else {
        return literal_eq(m, value);
    };
    let Some((name, arg)) = op.iter().next() else {
        return false;
    };
    let text = value.as_str();
    match name.as_str() {
        "exists" => arg == &Value::Bool(true),
        "prefix" => matches!((text, arg.as_str()), (Some(t), Some(p)) if t.starts_with(p)),
        "suffix" => matches!((text, arg.as_str()), (Some(t), Some(s)) if t.ends_with(s)),
        "equals-ignore-case" => {
            matches!((text, arg.as_str()), (Some(t), Some(s)) if t.eq_ignore_ascii_case(s))
        }
        "anything-but" => match arg {
            Value::Array(list) => !list.iter().any(|x| literal_eq(x, value)),
            Value::Object(inner) => match (text, inner.get("prefix").and_then(Value::as_str)) {
                (Some(t), Some(p)) => !t.starts_with(p),
                _ => false,
            },
            single => !literal_eq(single, value),
        },
        "numeric" => {
            let Some(n) = value.as_f64() else {
                return false;
            };
            arg.as_array().is_some_and(|parts| {
                parts.chunks(2).all(|pair| {
                    let bound = pair[1].as_f64().unwrap_or(f64::NAN);
                    match pair[0].as_str() {
                        Some("<") => n < bound,
                        Some("<=") => n <= bound,
                        Some("=") => n == bound,
                        Some(">") => n > bound,
                        Some(">=") => n >= bound,
                        _ => false,
                    }
                })
            })
        }
        _ => false,
    }
}

fn literal_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

/// A DynamoDB Streams attribute value in the stream event's typed JSON
/// (`{"S": "seat"}`, `{"N": "12"}`, `{"M": {…}}`), as filters see it.
pub fn typed(av: &aws_sdk_dynamodbstreams::types::AttributeValue) -> Value {
    use aws_sdk_dynamodbstreams::types::AttributeValue as A;
    let b64 =
        |b: &aws_smithy_types::Blob| Value::String(aws_smithy_types::base64::encode(b.as_ref()));
    match av {
        A::S(s) => serde_json::json!({ "S": s }),
        A::N(n) => serde_json::json!({ "N": n }),
        A::Bool(b) => serde_json::json!({ "BOOL": b }),
        A::Null(_) => serde_json::json!({ "NULL": true }),
        A::B(b) => serde_json::json!({ "B": b64(b) }),
        A::Ss(v) => serde_json::json!({ "SS": v }),
        A::Ns(v) => serde_json::json!({ "NS": v }),
        A::Bs(v) => serde_json::json!({ "BS": v.iter().map(b64).collect::<Vec<_>>() }),
        A::L(items) => serde_json::json!({ "L": items.iter().map(typed).collect::<Vec<_>>() }),
        A::M(map) => serde_json::json!({ "M": typed_image(map) }),
        _ => Value::Null,
    }
}

/// An item image in typed JSON.
pub fn typed_image(
    item: &std::collections::HashMap<String, aws_sdk_dynamodbstreams::types::AttributeValue>,
) -> Value {
    Value::Object(item.iter().map(|(k, v)| (k.clone(), typed(v))).collect())
}

/// One stream record as the DynamoDB event delivers it to a function (the
/// shape filters are written against).
pub fn record_event(r: &aws_sdk_dynamodbstreams::types::Record) -> Value {
    let d = r.dynamodb();
    let mut dynamodb = serde_json::Map::new();
    if let Some(d) = d {
        if let Some(keys) = d.keys() {
            dynamodb.insert("Keys".into(), typed_image(keys));
        }
        if let Some(img) = d.new_image() {
            dynamodb.insert("NewImage".into(), typed_image(img));
        }
        if let Some(img) = d.old_image() {
            dynamodb.insert("OldImage".into(), typed_image(img));
        }
        if let Some(seq) = d.sequence_number() {
            dynamodb.insert("SequenceNumber".into(), Value::String(seq.to_owned()));
        }
        if let Some(size) = d.size_bytes() {
            dynamodb.insert("SizeBytes".into(), Value::from(size));
        }
        if let Some(t) = d.approximate_creation_date_time() {
            dynamodb.insert("ApproximateCreationDateTime".into(), Value::from(t.secs()));
        }
        if let Some(view) = d.stream_view_type() {
            dynamodb.insert(
                "StreamViewType".into(),
                Value::String(view.as_str().to_owned()),
            );
        }
    }
    serde_json::json!({
        "eventID": r.event_id(),
        "eventName": r.event_name().map(|n| n.as_str().to_owned()),
        "eventVersion": r.event_version(),
        "eventSource": "aws:dynamodb",
        "awsRegion": r.aws_region(),
        "dynamodb": dynamodb,
    })
}
