//! IAM from template.yaml, enforced by the local AWS endpoint.
//!
//! Every function of the template gets its own access key locally
//! (`EVL.<stack>.<LogicalId>`), and every AWS client the local runtime builds
//! for a function signs with it. This module expands each function's
//! `Policies` the way SAM and CloudFormation would — SAM policy templates
//! into their documented statements, the execution-role policy SAM attaches
//! for each event source, `!Ref`/`!GetAtt`/`!Sub` resolved to the local
//! resources' ARNs — and registers them with the endpoint
//! (local/moto/iam.py), which refuses any call outside them with
//! `AccessDenied`, as AWS would after `sam deploy`.
//!
//! A SAM policy template or intrinsic this module does not know is an error,
//! never a silent allow: add its expansion here (from SAM's
//! `policy_templates.json`) when the template starts using it.

use std::collections::{BTreeMap, HashMap};

use serde_json::{json, Value as Json};
use serde_yaml::Value as Yaml;

use crate::template::Template;

/// moto's account and region: the ARNs the local resources have.
pub const ACCOUNT: &str = "123456789012";
pub const REGION: &str = "us-east-1";

type Error = Box<dyn std::error::Error + Send + Sync>;

/// The ARN of a local resource: `arn:aws:<service>:<region>:<account>:<rest>`.
pub fn arn(service: &str, rest: &str) -> String {
    format!("arn:aws:{service}:{REGION}:{ACCOUNT}:{rest}")
}

/// Where the local endpoint takes policies and reports on them.
fn control_url(endpoint: &str) -> String {
    format!("{}/_evently/iam", endpoint.trim_end_matches('/'))
}

/// The local names of one stack's resources (everything is named
/// `<prefix>-<LogicalId>` except the table, named `prefix`).
#[derive(Debug, Clone)]
pub struct Names {
    pub table: String,
    pub stream_arn: String,
    /// Parameter values that differ from the template's defaults.
    pub parameters: HashMap<String, String>,
    /// Count this stack in the least-privilege report (false for stacks
    /// running an edited copy of the template).
    pub audit: bool,
    /// The local endpoint (queue URLs are under it).
    pub endpoint: String,
    /// The secrets' full ARNs by logical id, once provisioned (else a
    /// wildcard for their random suffix).
    pub secret_arns: std::collections::BTreeMap<String, String>,
}

/// Which access key each function signs with, in one stack.
#[derive(Debug, Clone)]
pub struct Identities {
    stack: String,
    /// Binary name → logical id.
    logical: HashMap<String, String>,
}

impl Identities {
    /// The access key of the function built as `binary`.
    pub fn key_of(&self, binary: &str) -> String {
        let logical = self
            .logical
            .get(binary)
            .map(String::as_str)
            .unwrap_or(binary);
        key(&self.stack, logical)
    }

    /// `sdk` signing as the function built as `binary`.
    pub fn sdk_for(&self, sdk: &aws_config::SdkConfig, binary: &str) -> aws_config::SdkConfig {
        evently_store::aws::with_access_key(sdk, &self.key_of(binary))
    }

    /// `app` whose every AWS client signs as the function built as `binary`.
    pub fn app_for(&self, app: &evently_http::App, binary: &str) -> evently_http::App {
        app.with_access_key(&self.key_of(binary))
    }
}

fn key(stack: &str, logical: &str) -> String {
    format!("EVL.{stack}.{logical}")
}

/// Expands every function's policies and registers them with the local
/// endpoint at `endpoint`. Returns the identities to build clients with.
pub async fn register(
    endpoint: &str,
    template: &Template,
    names: &Names,
) -> Result<Identities, Error> {
    let policies = expand(template, names)?;
    let principals: serde_json::Map<String, Json> = policies
        .iter()
        .map(|(logical, statements)| {
            (
                key(&names.table, logical),
                json!({ "function": logical, "statements": statements, "audit": names.audit }),
            )
        })
        .collect();
    let resp = reqwest::Client::new()
        .post(control_url(endpoint))
        .json(&json!({ "principals": principals }))
        .send()
        .await?;
    if !resp.status().is_success() {
        return Err(format!(
            "the local endpoint refused the template's policies: {}",
            resp.text().await.unwrap_or_default()
        )
        .into());
    }
    Ok(Identities {
        stack: names.table.clone(),
        logical: template
            .functions
            .iter()
            .map(|(logical, binary)| (binary.clone(), logical.clone()))
            .collect(),
    })
}

/// `register` for the stack whose table is `table` (it must exist: its
/// stream's ARN is read with the administrator's `client`), with these
/// parameter values besides the template's defaults; `audit`: counted in
/// the least-privilege report (false for an edited copy of the template).
pub async fn register_stack(
    endpoint: &str,
    template: &Template,
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    parameters: &[(&str, &str)],
    audit: bool,
) -> Result<Identities, Error> {
    let names = stack_names(endpoint, client, table, parameters, audit).await?;
    register(endpoint, template, &names).await
}

/// The local names of the stack whose table is `table` (it must exist:
/// its stream's ARN is read with the administrator's `client`).
pub async fn stack_names(
    endpoint: &str,
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    parameters: &[(&str, &str)],
    audit: bool,
) -> Result<Names, Error> {
    let stream_arn = crate::provision::stream_arn(client, table).await?;
    Ok(Names {
        table: table.to_owned(),
        stream_arn,
        parameters: parameters
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        audit,
        endpoint: endpoint.to_owned(),
        secret_arns: Default::default(),
    })
}

/// Each function's statements (logical id → IAM statements), as deployed.
pub fn expand(template: &Template, names: &Names) -> Result<BTreeMap<String, Vec<Json>>, Error> {
    let resolver = Resolver {
        doc: &template.doc,
        names,
    };
    let resources = template
        .doc
        .get("Resources")
        .and_then(Yaml::as_mapping)
        .ok_or("template has no Resources")?;
    let mut out = BTreeMap::new();
    for (id, res) in resources {
        if res.get("Type").and_then(Yaml::as_str) != Some("AWS::Serverless::Function") {
            continue;
        }
        let id = id.as_str().unwrap_or_default().to_owned();
        let props = res.get("Properties");
        let mut statements = Vec::new();
        for policy in props
            .and_then(|p| p.get("Policies"))
            .and_then(Yaml::as_sequence)
            .into_iter()
            .flatten()
        {
            statements.extend(
                resolver
                    .policy(policy)
                    .map_err(|e| format!("{id}: Policies: {e}"))?,
            );
        }
        for (_, event) in props
            .and_then(|p| p.get("Events"))
            .and_then(Yaml::as_mapping)
            .into_iter()
            .flatten()
        {
            statements.extend(event_source_policy(
                event.get("Type").and_then(Yaml::as_str).unwrap_or(""),
            ));
        }
        out.insert(id, statements);
    }
    Ok(out)
}

/// The AWS-managed policy SAM attaches to a function's role for an event
/// source (the poller reads with the function's role). Marked by a `Sid`
/// starting `AWSLambda` so the least-privilege report leaves them out.
fn event_source_policy(kind: &str) -> Vec<Json> {
    match kind {
        // AWSLambdaDynamoDBExecutionRole
        "DynamoDB" => vec![json!({
            "Sid": "AWSLambdaDynamoDBExecutionRole",
            "Effect": "Allow",
            "Action": ["dynamodb:DescribeStream", "dynamodb:GetRecords",
                       "dynamodb:GetShardIterator", "dynamodb:ListStreams"],
            "Resource": "*",
        })],
        // AWSLambdaSQSQueueExecutionRole
        "SQS" => vec![json!({
            "Sid": "AWSLambdaSQSQueueExecutionRole",
            "Effect": "Allow",
            "Action": ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"],
            "Resource": "*",
        })],
        _ => Vec::new(),
    }
}

struct Resolver<'a> {
    doc: &'a Yaml,
    names: &'a Names,
}

impl Resolver<'_> {
    /// One entry of `Policies`: an inline document or a SAM policy template.
    fn policy(&self, policy: &Yaml) -> Result<Vec<Json>, String> {
        if let Some(statements) = policy.get("Statement") {
            let statements = statements.as_sequence().ok_or("Statement is not a list")?;
            return statements.iter().map(|s| self.statement(s)).collect();
        }
        if let Some(name) = policy.as_str() {
            return Err(format!(
                "managed policy `{name}` is not expanded locally; add its actions to local/src/iam.rs"
            ));
        }
        let map = policy
            .as_mapping()
            .ok_or("a policy is neither a document nor a template")?;
        let (name, args) = map.iter().next().ok_or("empty policy")?;
        let name = name.as_str().unwrap_or_default();
        let arg = |key: &str| -> Result<String, String> {
            args.get(key)
                .ok_or(format!("{name} needs {key}"))
                .and_then(|v| self.scalar(v))
        };
        // From SAM's policy_templates.json.
        let statement = match name {
            "AWSSecretsManagerGetSecretValuePolicy" => json!({
                "Effect": "Allow",
                "Action": ["secretsmanager:GetSecretValue"],
                "Resource": arg("SecretArn")?,
            }),
            "SQSSendMessagePolicy" => json!({
                "Effect": "Allow",
                "Action": ["sqs:SendMessage*"],
                "Resource": arn("sqs", &arg("QueueName")?),
            }),
            "SQSPollerPolicy" => json!({
                "Effect": "Allow",
                "Action": ["sqs:ChangeMessageVisibility", "sqs:ChangeMessageVisibilityBatch",
                           "sqs:DeleteMessage", "sqs:DeleteMessageBatch",
                           "sqs:GetQueueAttributes", "sqs:ReceiveMessage"],
                "Resource": arn("sqs", &arg("QueueName")?),
            }),
            "DynamoDBReadPolicy" | "DynamoDBCrudPolicy" => {
                let table = arg("TableName")?;
                let mut actions = vec![
                    "dynamodb:GetItem",
                    "dynamodb:Scan",
                    "dynamodb:Query",
                    "dynamodb:BatchGetItem",
                    "dynamodb:DescribeTable",
                ];
                if name == "DynamoDBCrudPolicy" {
                    actions.extend([
                        "dynamodb:DeleteItem",
                        "dynamodb:PutItem",
                        "dynamodb:UpdateItem",
                        "dynamodb:BatchWriteItem",
                        "dynamodb:ConditionCheckItem",
                    ]);
                }
                json!({
                    "Effect": "Allow",
                    "Action": actions,
                    "Resource": [arn("dynamodb", &format!("table/{table}")),
                                 arn("dynamodb", &format!("table/{table}/index/*"))],
                })
            }
            "EventBridgePutEventsPolicy" => json!({
                "Effect": "Allow",
                "Action": ["events:PutEvents"],
                "Resource": arn("events", &format!("event-bus/{}", arg("EventBusName")?)),
            }),
            other => {
                return Err(format!(
                "SAM policy template `{other}` is not expanded locally; add it to local/src/iam.rs"
            ))
            }
        };
        Ok(vec![statement])
    }

    fn statement(&self, s: &Yaml) -> Result<Json, String> {
        let map = s.as_mapping().ok_or("a statement is not a mapping")?;
        let mut out = serde_json::Map::new();
        for (k, v) in map {
            let k = k.as_str().unwrap_or_default();
            let value = match k {
                "Action" | "Resource" => match v.as_sequence() {
                    Some(list) => Json::Array(
                        list.iter()
                            .map(|x| self.scalar(x).map(Json::String))
                            .collect::<Result<_, _>>()?,
                    ),
                    None => Json::String(self.scalar(v)?),
                },
                // Anything else goes as written; the endpoint refuses keys
                // it does not evaluate (Condition, NotAction, …).
                _ => serde_json::to_value(v).map_err(|e| e.to_string())?,
            };
            out.insert(k.to_owned(), value);
        }
        Ok(Json::Object(out))
    }

    /// A string, with intrinsic functions resolved.
    fn scalar(&self, v: &Yaml) -> Result<String, String> {
        match v {
            Yaml::String(s) => Ok(s.clone()),
            Yaml::Number(n) => Ok(n.to_string()),
            Yaml::Tagged(t) => {
                let tag = t.tag.to_string();
                self.intrinsic(tag.trim_start_matches('!'), &t.value)
            }
            Yaml::Mapping(m) if m.len() == 1 => {
                let (k, inner) = m.iter().next().ok_or("empty mapping")?;
                let name = k.as_str().unwrap_or_default();
                self.intrinsic(name.trim_start_matches("Fn::"), inner)
            }
            other => Err(format!("cannot resolve {other:?}")),
        }
    }

    fn intrinsic(&self, name: &str, arg: &Yaml) -> Result<String, String> {
        match name {
            "Ref" => self.reference(arg.as_str().ok_or("Ref of a non-string")?),
            "GetAtt" => {
                let (res, attr) = match arg {
                    Yaml::Sequence(s) if s.len() == 2 => (
                        s[0].as_str().unwrap_or_default().to_owned(),
                        s[1].as_str().unwrap_or_default().to_owned(),
                    ),
                    other => {
                        let text = other.as_str().ok_or("GetAtt of a non-string")?;
                        let (r, a) = text.split_once('.').ok_or("GetAtt without attribute")?;
                        (r.to_owned(), a.to_owned())
                    }
                };
                self.attribute(&res, &attr)
            }
            "Sub" => {
                let text = match arg {
                    Yaml::Sequence(s) if s.len() == 2 => {
                        if s[1].as_mapping().is_some_and(|m| !m.is_empty()) {
                            return Err("Sub with variables is not resolved locally".into());
                        }
                        s[0].as_str().unwrap_or_default()
                    }
                    other => other.as_str().ok_or("Sub of a non-string")?,
                };
                let mut out = String::new();
                let mut rest = text;
                while let Some(start) = rest.find("${") {
                    out.push_str(&rest[..start]);
                    let end = rest[start..].find('}').ok_or("unclosed ${ in Sub")? + start;
                    let var = &rest[start + 2..end];
                    out.push_str(&match var.split_once('.') {
                        Some((res, attr)) if !var.starts_with("AWS::") => {
                            self.attribute(res, attr)?
                        }
                        _ => self.reference(var)?,
                    });
                    rest = &rest[end + 1..];
                }
                out.push_str(rest);
                Ok(out)
            }
            "If" => {
                let parts = arg
                    .as_sequence()
                    .filter(|s| s.len() == 3)
                    .ok_or("If takes 3 items")?;
                let name = parts[0].as_str().ok_or("If names a condition")?;
                let chosen = if self.condition(name)? {
                    &parts[1]
                } else {
                    &parts[2]
                };
                self.scalar(chosen)
            }
            other => Err(format!("intrinsic {other} is not resolved locally")),
        }
    }

    /// A condition of the template's `Conditions`, by name (only the branch
    /// an `If` takes is resolved, as CloudFormation does).
    fn condition(&self, name: &str) -> Result<bool, String> {
        let body = self
            .doc
            .get("Conditions")
            .and_then(|c| c.get(name))
            .ok_or(format!("no condition {name}"))?;
        self.truth(body)
    }

    fn truth(&self, v: &Yaml) -> Result<bool, String> {
        let (name, arg) = match v {
            Yaml::Tagged(t) => (
                t.tag.to_string().trim_start_matches('!').to_owned(),
                &t.value,
            ),
            Yaml::Mapping(m) if m.len() == 1 => {
                let (k, inner) = m.iter().next().ok_or("empty mapping")?;
                (
                    k.as_str()
                        .unwrap_or_default()
                        .trim_start_matches("Fn::")
                        .to_owned(),
                    inner,
                )
            }
            other => return Err(format!("cannot evaluate condition {other:?}")),
        };
        let items = || arg.as_sequence().ok_or(format!("{name} takes a list"));
        match name.as_str() {
            "Equals" => {
                let items = items()?;
                let (a, b) = (items.first(), items.get(1));
                match (a, b) {
                    (Some(a), Some(b)) => Ok(self.scalar(a)? == self.scalar(b)?),
                    _ => Err("Equals takes two items".into()),
                }
            }
            "Not" => Ok(!self.truth(items()?.first().ok_or("Not takes one item")?)?),
            "And" => items()?
                .iter()
                .try_fold(true, |acc, c| Ok(acc && self.truth(c)?)),
            "Or" => items()?
                .iter()
                .try_fold(false, |acc, c| Ok(acc || self.truth(c)?)),
            "Condition" => self.condition(arg.as_str().ok_or("Condition names one")?),
            other => Err(format!(
                "condition function {other} is not evaluated locally"
            )),
        }
    }

    fn resource_type(&self, id: &str) -> Option<&str> {
        self.doc.get("Resources")?.get(id)?.get("Type")?.as_str()
    }

    fn local_name(&self, id: &str) -> String {
        format!("{}-{id}", self.names.table)
    }

    fn reference(&self, name: &str) -> Result<String, String> {
        match name {
            "AWS::Region" => return Ok(REGION.into()),
            "AWS::AccountId" => return Ok(ACCOUNT.into()),
            "AWS::Partition" => return Ok("aws".into()),
            "AWS::URLSuffix" => return Ok("amazonaws.com".into()),
            "AWS::StackName" => return Ok(self.names.table.clone()),
            _ => {}
        }
        if let Some(param) = self.doc.get("Parameters").and_then(|p| p.get(name)) {
            if let Some(v) = self.names.parameters.get(name) {
                return Ok(v.clone());
            }
            return param
                .get("Default")
                .ok_or(format!(
                    "parameter {name} has no default and no local value"
                ))
                .and_then(|d| self.scalar(d));
        }
        match self.resource_type(name) {
            Some("AWS::DynamoDB::Table") => Ok(self.names.table.clone()),
            Some("AWS::SQS::Queue") => Ok(format!(
                "{}/{ACCOUNT}/{}",
                self.names.endpoint.trim_end_matches('/'),
                self.local_name(name)
            )),
            Some("AWS::Events::EventBus") => Ok(self.local_name(name)),
            // The real Ref is the ARN with a random 6-character suffix.
            Some("AWS::SecretsManager::Secret") if self.names.secret_arns.contains_key(name) => {
                Ok(self.names.secret_arns[name].clone())
            }
            Some("AWS::SecretsManager::Secret") => Ok(arn(
                "secretsmanager",
                &format!("secret:{}-??????", self.local_name(name)),
            )),
            Some(other) => Err(format!("Ref of a {other} is not resolved locally")),
            None => Err(format!("Ref of unknown {name}")),
        }
    }

    fn attribute(&self, id: &str, attr: &str) -> Result<String, String> {
        match (self.resource_type(id), attr) {
            (Some("AWS::DynamoDB::Table"), "Arn") => {
                Ok(arn("dynamodb", &format!("table/{}", self.names.table)))
            }
            (Some("AWS::DynamoDB::Table"), "StreamArn") => Ok(self.names.stream_arn.clone()),
            (Some("AWS::SQS::Queue"), "Arn") => Ok(arn("sqs", &self.local_name(id))),
            (Some("AWS::SQS::Queue"), "QueueName") => Ok(self.local_name(id)),
            (Some("AWS::Events::EventBus"), "Arn") => {
                Ok(arn("events", &format!("event-bus/{}", self.local_name(id))))
            }
            (Some("AWS::Events::EventBus"), "Name") => Ok(self.local_name(id)),
            (ty, _) => Err(format!(
                "GetAtt {id}.{attr} ({ty:?}) is not resolved locally"
            )),
        }
    }
}

/// The environment Lambda gives the function built as `binary`: the
/// template's variables (Globals, then its own) resolved to the local
/// resources, its log settings, region and this stack's identity for it.
pub fn environment(
    template: &Template,
    names: &Names,
    identities: &Identities,
    binary: &str,
) -> Result<Vec<(String, String)>, Error> {
    let resolver = Resolver {
        doc: &template.doc,
        names,
    };
    let function = template
        .function_of(binary)
        .ok_or(format!("no function builds {binary}"))?;
    let globals = template.doc.get("Globals").and_then(|g| g.get("Function"));
    let mut env: BTreeMap<String, String> = BTreeMap::new();
    for scope in [globals, function.get("Properties")].into_iter().flatten() {
        for (k, v) in scope
            .get("Environment")
            .and_then(|e| e.get("Variables"))
            .and_then(Yaml::as_mapping)
            .into_iter()
            .flatten()
        {
            let k = k.as_str().unwrap_or_default().to_owned();
            let v = resolver
                .scalar(v)
                .map_err(|e| format!("{binary}: environment {k}: {e}"))?;
            env.insert(k, v);
        }
        if let Some(logging) = scope.get("LoggingConfig") {
            if let Some(format) = logging.get("LogFormat").and_then(Yaml::as_str) {
                env.insert("AWS_LAMBDA_LOG_FORMAT".into(), format.to_owned());
            }
            if let Some(level) = logging.get("ApplicationLogLevel") {
                env.insert("AWS_LAMBDA_LOG_LEVEL".into(), resolver.scalar(level)?);
            }
        }
    }
    env.insert("AWS_REGION".into(), REGION.into());
    env.insert("AWS_DEFAULT_REGION".into(), REGION.into());
    env.insert("AWS_ACCESS_KEY_ID".into(), identities.key_of(binary));
    env.insert("AWS_SECRET_ACCESS_KEY".into(), "local".into());
    // The one local difference: where AWS is.
    env.insert("AWS_ENDPOINT_URL".into(), names.endpoint.clone());
    Ok(env.into_iter().collect())
}

/// What the endpoint refused the functions of the stack whose table is
/// `table`: function logical id → `"action resource"` list.
pub async fn denials(endpoint: &str, table: &str) -> Result<Json, Error> {
    Ok(reqwest::Client::new()
        .get(control_url(endpoint))
        .query(&[("prefix", key(table, ""))])
        .send()
        .await?
        .json::<Json>()
        .await?["denied"]
        .take())
}

/// What the endpoint recorded: for each function, actions granted, used and
/// denied (GET /_evently/iam).
pub async fn report(endpoint: &str) -> Result<Json, Error> {
    Ok(reqwest::Client::new()
        .get(control_url(endpoint))
        .send()
        .await?
        .json()
        .await?)
}
