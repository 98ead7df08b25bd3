//! Creates the template's resources in the local AWS endpoint, reading their
//! properties from template.yaml rather than a hand-kept copy.

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, StreamSpecification, StreamViewType,
    TimeToLiveSpecification,
};
use aws_sdk_dynamodb::Client;
use serde_yaml::Value;

use crate::template::TableSpec;

#[derive(Debug, thiserror::Error)]
pub enum ProvisionError {
    #[error("template table {0}: {1}")]
    Shape(String, String),
    #[error("DynamoDB: {0}")]
    Aws(String),
}

fn aws<E: std::fmt::Debug>(e: E) -> ProvisionError {
    ProvisionError::Aws(format!("{e:?}"))
}

fn items<'a>(v: &'a Value, key: &str) -> impl Iterator<Item = &'a Value> {
    v.get(key)
        .and_then(Value::as_sequence)
        .into_iter()
        .flatten()
}

fn text<'a>(v: &'a Value, key: &str, table: &str) -> Result<&'a str, ProvisionError> {
    v.get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| ProvisionError::Shape(table.into(), format!("missing {key}")))
}

fn key_schema(v: &Value, table: &str) -> Result<Vec<KeySchemaElement>, ProvisionError> {
    items(v, "KeySchema")
        .map(|k| {
            KeySchemaElement::builder()
                .attribute_name(text(k, "AttributeName", table)?)
                .key_type(KeyType::from(text(k, "KeyType", table)?))
                .build()
                .map_err(aws)
        })
        .collect()
}

/// Creates `name` with the properties of `spec` unless it exists; returns
/// whether it was created.
pub async fn create_table(
    client: &Client,
    spec: &TableSpec,
    name: &str,
) -> Result<bool, ProvisionError> {
    if client
        .describe_table()
        .table_name(name)
        .send()
        .await
        .is_ok()
    {
        return Ok(false);
    }
    let id = spec.logical_id.as_str();
    let p = &spec.properties;
    let mut req = client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::from(
            p.get("BillingMode")
                .and_then(Value::as_str)
                .unwrap_or("PAY_PER_REQUEST"),
        ))
        .set_key_schema(Some(key_schema(p, id)?));
    for a in items(p, "AttributeDefinitions") {
        req = req.attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(text(a, "AttributeName", id)?)
                .attribute_type(ScalarAttributeType::from(text(a, "AttributeType", id)?))
                .build()
                .map_err(aws)?,
        );
    }
    for g in items(p, "GlobalSecondaryIndexes") {
        let projection = g
            .get("Projection")
            .and_then(|p| p.get("ProjectionType"))
            .and_then(Value::as_str)
            .unwrap_or("ALL");
        req = req.global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(text(g, "IndexName", id)?)
                .set_key_schema(Some(key_schema(g, id)?))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::from(projection))
                        .build(),
                )
                .build()
                .map_err(aws)?,
        );
    }
    if let Some(view) = p
        .get("StreamSpecification")
        .and_then(|s| s.get("StreamViewType"))
        .and_then(Value::as_str)
    {
        req = req.stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::from(view))
                .build()
                .map_err(aws)?,
        );
    }
    req.send().await.map_err(aws)?;
    if let Some(ttl) = p.get("TimeToLiveSpecification") {
        client
            .update_time_to_live()
            .table_name(name)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .attribute_name(text(ttl, "AttributeName", id)?)
                    .enabled(ttl.get("Enabled").and_then(Value::as_bool).unwrap_or(true))
                    .build()
                    .map_err(aws)?,
            )
            .send()
            .await
            .map_err(aws)?;
    }
    Ok(true)
}

pub async fn delete_table(client: &Client, name: &str) -> Result<(), ProvisionError> {
    match client.delete_table().table_name(name).send().await {
        Ok(_) => Ok(()),
        Err(e)
            if e.as_service_error()
                .is_some_and(|se| se.is_resource_not_found_exception()) =>
        {
            Ok(())
        }
        Err(e) => Err(aws(e)),
    }
}

/// Creates each of the template's Secrets Manager secrets in the local
/// endpoint as `<prefix>-<LogicalId>`, unless it exists, and returns their
/// ARNs by logical id. The JWT signing key (`JwtSigningKey`) holds
/// `{"kid": "local", "key": <signing_key>}`; any other secret (`EdgeKey`)
/// a random string, as CloudFormation's GenerateSecretString gives it.
pub async fn secrets(
    aws: &aws_config::SdkConfig,
    template: &crate::template::Template,
    prefix: &str,
    signing_key: &str,
) -> Result<std::collections::BTreeMap<String, String>, Box<dyn std::error::Error + Send + Sync>> {
    if !template.secrets.iter().any(|s| s == "JwtSigningKey") {
        return Err("template.yaml has no JwtSigningKey secret".into());
    }
    let sm = aws_sdk_secretsmanager::Client::new(aws);
    let mut arns = std::collections::BTreeMap::new();
    for id in &template.secrets {
        let name = format!("{prefix}-{id}");
        let value = match id.as_str() {
            "JwtSigningKey" => serde_json::json!({"kid": "local", "key": signing_key}).to_string(),
            _ => format!(
                "{}{}",
                evently_core::new_id().to_lowercase(),
                evently_core::new_id().to_lowercase()
            ),
        };
        let arn = match sm
            .create_secret()
            .name(&name)
            .secret_string(value)
            .send()
            .await
        {
            Ok(out) => out.arn().unwrap_or_default().to_owned(),
            Err(_) => sm
                .describe_secret()
                .secret_id(&name)
                .send()
                .await?
                .arn()
                .unwrap_or_default()
                .to_owned(),
        };
        arns.insert(id.clone(), arn);
    }
    Ok(arns)
}

/// The ARN of `table`'s current stream.
pub async fn stream_arn(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
) -> Result<String, Box<dyn std::error::Error + Send + Sync>> {
    Ok(client
        .describe_table()
        .table_name(table)
        .send()
        .await?
        .table()
        .and_then(|t| t.latest_stream_arn())
        .ok_or(format!("table {table} has no stream"))?
        .to_owned())
}
