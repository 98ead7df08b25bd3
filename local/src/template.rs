//! Reads template.yaml: the HTTP routes of each function and the DynamoDB
//! tables. CloudFormation tags (`!Ref`, `!Sub`, …) are kept as opaque values.

use std::path::Path;

use serde_yaml::Value;

#[derive(Debug, Clone, PartialEq)]
pub struct Route {
    pub method: String,
    pub path: String,
    /// Binary name, which is also the crate under `functions/`.
    pub function: String,
    pub logical_id: String,
    /// The HTTP API's throttle for this route: its `RouteSettings` entry,
    /// or the stage's `DefaultRouteSettings`.
    pub throttle: Option<Throttle>,
}

/// API Gateway's token bucket for a route: `burst` requests at once,
/// refilled at `rate` per second.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Throttle {
    pub rate: f64,
    pub burst: f64,
}

fn throttle_of(settings: Option<&Value>) -> Option<Throttle> {
    let s = settings?;
    let num = |k: &str| {
        s.get(k)
            .and_then(|v| v.as_f64().or_else(|| v.as_str()?.parse().ok()))
    };
    Some(Throttle {
        rate: num("ThrottlingRateLimit")?,
        burst: num("ThrottlingBurstLimit")?,
    })
}

#[derive(Debug, Clone)]
pub struct TableSpec {
    pub logical_id: String,
    pub properties: Value,
}

#[derive(Debug, Clone)]
pub struct Template {
    pub routes: Vec<Route>,
    pub functions: Vec<(String, String)>,
    pub tables: Vec<TableSpec>,
    /// SQS queues: logical id and properties.
    pub queues: Vec<(String, Value)>,
    /// EventBridge custom buses (logical ids) and archives (logical id,
    /// retention days).
    pub buses: Vec<String>,
    pub archives: Vec<(String, u64)>,
    /// Each function's timeout in seconds (its own, or the Globals one), by
    /// binary name.
    pub timeouts: std::collections::HashMap<String, u64>,
    /// Secrets Manager secrets (logical ids).
    pub secrets: Vec<String>,
    /// The whole document, tags kept (for what the fields above leave out:
    /// policies, filters, parameters).
    pub doc: Value,
}

#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("reading {0}: {1}")]
    Io(String, std::io::Error),
    #[error("parsing template: {0}")]
    Yaml(#[from] serde_yaml::Error),
    #[error("template: {0}")]
    Shape(String),
}

/// `!GetAtt X.Arn` → "X" (however the YAML library presents the tag).
pub fn getatt_target(v: &Value) -> Option<String> {
    let text = match v {
        Value::Tagged(t) => t.value.as_str(),
        other => other.as_str(),
    }?;
    Some(text.trim_end_matches(".Arn").to_owned())
}

fn str_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    let mut cur = v;
    for key in path {
        cur = cur.get(*key)?;
    }
    cur.as_str()
}

impl Template {
    pub fn load(path: &Path) -> Result<Self, TemplateError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| TemplateError::Io(path.display().to_string(), e))?;
        Self::parse(&text)
    }

    pub fn parse(text: &str) -> Result<Self, TemplateError> {
        let doc: Value = serde_yaml::from_str(text)?;
        let resources = doc
            .get("Resources")
            .and_then(Value::as_mapping)
            .ok_or_else(|| TemplateError::Shape("no Resources".into()))?;
        let mut routes = Vec::new();
        let mut functions = Vec::new();
        let mut tables = Vec::new();
        let mut queues = Vec::new();
        let mut buses = Vec::new();
        let mut archives = Vec::new();
        let mut timeouts = std::collections::HashMap::new();
        let mut secrets = Vec::new();
        let global_timeout = doc
            .get("Globals")
            .and_then(|g| g.get("Function"))
            .and_then(|f| f.get("Timeout"))
            .and_then(Value::as_u64)
            .unwrap_or(3);
        for (id, res) in resources {
            let id = id.as_str().unwrap_or_default().to_owned();
            match str_at(res, &["Type"]) {
                Some("AWS::Serverless::Function") => {
                    let binary = str_at(res, &["Metadata", "BuildProperties", "Binary"])
                        .ok_or_else(|| {
                            TemplateError::Shape(format!(
                                "{id} has no Metadata.BuildProperties.Binary"
                            ))
                        })?
                        .to_owned();
                    functions.push((id.clone(), binary.clone()));
                    let timeout = res
                        .get("Properties")
                        .and_then(|p| p.get("Timeout"))
                        .and_then(Value::as_u64)
                        .unwrap_or(global_timeout);
                    timeouts.insert(binary.clone(), timeout);
                    let events = res
                        .get("Properties")
                        .and_then(|p| p.get("Events"))
                        .and_then(Value::as_mapping);
                    for (_, ev) in events.into_iter().flatten() {
                        if str_at(ev, &["Type"]) != Some("HttpApi") {
                            continue;
                        }
                        let method = str_at(ev, &["Properties", "Method"]);
                        let path = str_at(ev, &["Properties", "Path"]);
                        let (Some(method), Some(path)) = (method, path) else {
                            return Err(TemplateError::Shape(format!(
                                "{id}: HttpApi event without Method and Path"
                            )));
                        };
                        routes.push(Route {
                            method: method.to_ascii_uppercase(),
                            path: path.to_owned(),
                            function: binary.clone(),
                            logical_id: id.clone(),
                            throttle: None,
                        });
                    }
                }
                Some("AWS::SQS::Queue") => {
                    queues.push((id, res.get("Properties").cloned().unwrap_or(Value::Null)));
                }
                Some("AWS::Events::EventBus") => buses.push(id),
                Some("AWS::SecretsManager::Secret") => secrets.push(id),
                Some("AWS::Events::Archive") => {
                    let days = res
                        .get("Properties")
                        .and_then(|p| p.get("RetentionDays"))
                        .and_then(Value::as_u64)
                        .unwrap_or(0);
                    archives.push((id, days));
                }
                Some("AWS::DynamoDB::Table") => tables.push(TableSpec {
                    logical_id: id,
                    properties: res.get("Properties").cloned().unwrap_or(Value::Null),
                }),
                _ => {}
            }
        }
        // The HTTP API's throttles, per route key ("POST /path").
        let api = resources
            .values()
            .find(|r| str_at(r, &["Type"]) == Some("AWS::Serverless::HttpApi"))
            .and_then(|r| r.get("Properties"));
        for route in &mut routes {
            let key = format!("{} {}", route.method, route.path);
            route.throttle = throttle_of(
                api.and_then(|p| p.get("RouteSettings"))
                    .and_then(|s| s.get(key.as_str())),
            )
            .or_else(|| throttle_of(api.and_then(|p| p.get("DefaultRouteSettings"))));
        }
        Ok(Self {
            routes,
            functions,
            tables,
            queues,
            buses,
            archives,
            timeouts,
            secrets,
            doc,
        })
    }

    /// The timeout of the function built as `binary` (Lambda's default of
    /// 3 s when neither it nor Globals sets one).
    pub fn timeout_of(&self, binary: &str) -> std::time::Duration {
        std::time::Duration::from_secs(self.timeouts.get(binary).copied().unwrap_or(3))
    }

    /// The template resource of the function built as `binary`.
    pub fn function_of(&self, binary: &str) -> Option<&Value> {
        self.doc
            .get("Resources")
            .and_then(Value::as_mapping)
            .into_iter()
            .flatten()
            .map(|(_, r)| r)
            .find(|r| str_at(r, &["Metadata", "BuildProperties", "Binary"]) == Some(binary))
    }

    /// The memory size (MB) of the function built as `binary`: its own,
    /// the Globals one, or Lambda's default of 128.
    pub fn memory_of(&self, binary: &str) -> u64 {
        let own = self
            .function_of(binary)
            .and_then(|r| r.get("Properties")?.get("MemorySize")?.as_u64());
        own.or_else(|| {
            self.doc
                .get("Globals")?
                .get("Function")?
                .get("MemorySize")?
                .as_u64()
        })
        .unwrap_or(128)
    }

    /// The `Properties` of each DynamoDB event source of the function
    /// built as `binary`.
    fn dynamodb_sources<'a>(&'a self, binary: &str) -> impl Iterator<Item = &'a Value> + 'a {
        self.function_of(binary)
            .and_then(|f| f.get("Properties")?.get("Events")?.as_mapping())
            .into_iter()
            .flatten()
            .filter(|(_, ev)| str_at(ev, &["Type"]) == Some("DynamoDB"))
            .filter_map(|(_, ev)| ev.get("Properties"))
    }

    /// The DynamoDB event source of the function built as `binary`: its
    /// `MaximumRetryAttempts` (None: -1 or unset, retried until the record
    /// expires) and the logical id of its on-failure destination queue.
    pub fn stream_retries(&self, binary: &str) -> (Option<u32>, Option<String>) {
        let Some(props) = self.dynamodb_sources(binary).next() else {
            return (None, None);
        };
        let retries = props
            .get("MaximumRetryAttempts")
            .and_then(Value::as_i64)
            .and_then(|n| u32::try_from(n).ok());
        let destination = props
            .get("DestinationConfig")
            .and_then(|d| d.get("OnFailure"))
            .and_then(|d| d.get("Destination"))
            .and_then(getatt_target);
        (retries, destination)
    }

    /// The `FilterCriteria` patterns of the DynamoDB event source of the
    /// function built as `binary` (none: every record passes).
    pub fn stream_filters(&self, binary: &str) -> Result<Vec<crate::filter::Pattern>, String> {
        self.function_of(binary)
            .ok_or(format!("no function builds {binary}"))?;
        let mut out = Vec::new();
        for props in self.dynamodb_sources(binary) {
            let filters = props
                .get("FilterCriteria")
                .and_then(|f| f.get("Filters"))
                .and_then(Value::as_sequence);
            for f in filters.into_iter().flatten() {
                let text = str_at(f, &["Pattern"])
                    .ok_or(format!("{binary}: a filter without a Pattern string"))?;
                out.push(
                    crate::filter::Pattern::parse(text).map_err(|e| format!("{binary}: {e}"))?,
                );
            }
        }
        Ok(out)
    }
}
