//! Operations in template.yaml (docs/operations.md): a walk over the
//! template that fails when a queue that
//! receives failures has no alarm, a function has no log retention or no
//! error and throttle alarms, a stream consumer has no iterator-age alarm,
//! or an alarm notifies nobody when a topic is given.

use serde_yaml::{Mapping, Value};

fn doc() -> Value {
    let text = std::fs::read_to_string(evently_tests::repo_root().join("template.yaml"))
        .expect("template.yaml");
    serde_yaml::from_str(&text).expect("yaml")
}

/// The template's resources, as CloudFormation and SAM CLI read them.
fn resources() -> Mapping {
    doc()["Resources"].as_mapping().expect("Resources").clone()
}

/// Whether any string in `v` (tags included) names resource `id`.
fn mentions(v: &Value, id: &str) -> bool {
    match v {
        Value::String(s) => {
            s == id || s.starts_with(&format!("{id}.")) || s.contains(&format!("${{{id}}}"))
        }
        Value::Sequence(items) => items.iter().any(|x| mentions(x, id)),
        Value::Mapping(m) => m.values().any(|x| mentions(x, id)),
        Value::Tagged(t) => mentions(&t.value, id),
        _ => false,
    }
}

fn of_type<'a>(res: &'a Mapping, ty: &str) -> Vec<(&'a str, &'a Value)> {
    res.iter()
        .filter(|(_, r)| r["Type"].as_str() == Some(ty))
        .map(|(k, r)| (k.as_str().unwrap_or_default(), r))
        .collect()
}

/// The alarms on `metric` whose dimensions name `id`.
fn alarms_on<'a>(res: &'a Mapping, metric: &str, id: &str) -> Vec<&'a Value> {
    of_type(res, "AWS::CloudWatch::Alarm")
        .into_iter()
        .map(|(_, a)| a)
        .filter(|a| {
            a["Properties"]["MetricName"].as_str() == Some(metric)
                && mentions(&a["Properties"]["Dimensions"], id)
        })
        .collect()
}

/// `!GetAtt X.Arn` (either form) → X.
fn getatt_target(v: &Value) -> Option<String> {
    let inner = match v {
        Value::Tagged(t) => t.value.clone(),
        other => other.clone(),
    };
    match inner {
        Value::String(s) => Some(s.trim_end_matches(".Arn").to_owned()),
        Value::Sequence(s) => s.first().and_then(Value::as_str).map(str::to_owned),
        _ => None,
    }
}

#[test]
fn every_queue_that_receives_failures_has_a_depth_alarm() {
    let res = resources();
    let mut failure_queues = std::collections::BTreeSet::new();
    for (_, q) in of_type(&res, "AWS::SQS::Queue") {
        if let Some(t) = getatt_target(&q["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]) {
            failure_queues.insert(t);
        }
    }
    for (_, f) in of_type(&res, "AWS::Serverless::Function") {
        for (_, ev) in f["Properties"]["Events"].as_mapping().into_iter().flatten() {
            let dest = &ev["Properties"]["DestinationConfig"]["OnFailure"]["Destination"];
            if let Some(t) = getatt_target(dest) {
                failure_queues.insert(t);
            }
        }
    }
    assert!(failure_queues.len() >= 3, "{failure_queues:?}");
    for q in &failure_queues {
        let alarms = alarms_on(&res, "ApproximateNumberOfMessagesVisible", q);
        assert!(
            !alarms.is_empty(),
            "{q} receives failures but has no depth alarm"
        );
        for a in alarms {
            let p = &a["Properties"];
            assert_eq!(p["Namespace"].as_str(), Some("AWS/SQS"));
            assert_eq!(
                p["ComparisonOperator"].as_str(),
                Some("GreaterThanThreshold")
            );
            assert_eq!(
                p["Threshold"].as_u64(),
                Some(0),
                "{q}: one message is one too many"
            );
        }
    }
}

#[test]
fn every_function_has_log_retention_and_error_and_throttle_alarms() {
    let res = resources();
    let functions = of_type(&res, "AWS::Serverless::Function");
    assert_eq!(functions.len(), 36);
    let groups = of_type(&res, "AWS::Logs::LogGroup");
    for (id, f) in &functions {
        let group = groups
            .iter()
            .find(|(_, g)| mentions(&g["Properties"]["LogGroupName"], id));
        let (_, group) = group.unwrap_or_else(|| panic!("{id} has no log group of its own"));
        assert!(
            !group["Properties"]["RetentionInDays"].is_null(),
            "{id}'s logs are kept forever"
        );
        for metric in ["Errors", "Throttles"] {
            assert!(
                !alarms_on(&res, metric, id).is_empty(),
                "{id} has no {metric} alarm"
            );
        }
        let streams = f["Properties"]["Events"]
            .as_mapping()
            .into_iter()
            .flatten()
            .any(|(_, e)| e["Type"].as_str() == Some("DynamoDB"));
        if streams {
            assert!(
                !alarms_on(&res, "IteratorAge", id).is_empty(),
                "{id} reads the stream but nobody hears when it falls behind"
            );
        }
    }
}

#[test]
fn every_alarm_notifies_the_topic_given_and_the_rest_is_switched_as_documented() {
    let res = resources();
    let alarms = of_type(&res, "AWS::CloudWatch::Alarm");
    assert!(alarms.len() >= 32 * 2 + 3 + 2);
    for (id, a) in alarms {
        assert!(
            mentions(&a["Properties"]["AlarmActions"], "AlarmTopicArn"),
            "{id} notifies nobody"
        );
    }
    let doc = doc();
    assert_eq!(
        doc["Resources"]["EventlyTable"]["Properties"]["DeletionProtectionEnabled"].as_bool(),
        Some(true)
    );
    // Tracing is a switch (a parameter), not a constant.
    assert!(mentions(
        &doc["Globals"]["Function"]["Tracing"],
        "TracingMode"
    ));
    let allowed = doc["Parameters"]["TracingMode"]["AllowedValues"].clone();
    assert_eq!(
        allowed,
        serde_yaml::from_str::<Value>("[Active, PassThrough]").expect("yaml")
    );
    // The worker's queue source is capped.
    let worker = &doc["Resources"]["WaitlistWorkerFunction"]["Properties"];
    let cap =
        worker["Events"]["Queue"]["Properties"]["ScalingConfig"]["MaximumConcurrency"].as_u64();
    assert!(matches!(cap, Some(2..=1000)), "{cap:?}");
}
