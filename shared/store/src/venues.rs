use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use evently_core::{Event, VenueTemplate};

use crate::{keys, Store, StoreError};

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

impl Store {
    pub async fn put_venue(&self, venue: &VenueTemplate) -> Result<(), StoreError> {
        let (pk, sk) = keys::venue(&venue.id);
        let mut item: HashMap<String, AttributeValue> = serde_dynamo::to_item(venue)?;
        item.insert(keys::PK.into(), s(pk));
        item.insert(keys::SK.into(), s(sk));
        item.insert("entity".into(), s("venue"));
        item.insert(keys::GSI1PK.into(), s(keys::owner_venues(&venue.owner_id)));
        item.insert(
            keys::GSI1SK.into(),
            s(format!("{}#{}", venue.created_at, venue.id)),
        );
        self.put_new(item, &venue.id).await
    }

    pub async fn get_venue(&self, id: &str) -> Result<Option<VenueTemplate>, StoreError> {
        match self.get_item(keys::venue(id)).await? {
            Some(item) => Ok(Some(serde_dynamo::from_item(item)?)),
            None => Ok(None),
        }
    }

    /// Writes a new event item. Published events are also written to the
    /// catalog index (GSI1), sorted by start time.
    pub async fn put_event(&self, event: &Event) -> Result<(), StoreError> {
        self.put_new(event_item(event)?, &event.id).await
    }

    pub async fn get_event(&self, id: &str) -> Result<Option<Event>, StoreError> {
        match self.get_item(keys::event(id)).await? {
            Some(item) => Ok(Some(serde_dynamo::from_item(item)?)),
            None => Ok(None),
        }
    }

    async fn put_new(
        &self,
        item: HashMap<String, AttributeValue>,
        id: &str,
    ) -> Result<(), StoreError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(PK)")
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|se| se.is_conditional_check_failed_exception()) =>
            {
                Err(StoreError::AlreadyExists(id.to_owned()))
            }
            Err(e) => Err(e.into()),
        }
    }
}

pub(crate) fn event_item(event: &Event) -> Result<HashMap<String, AttributeValue>, StoreError> {
    let (pk, sk) = keys::event(&event.id);
    let mut item: HashMap<String, AttributeValue> = serde_dynamo::to_item(event)?;
    let starts = evently_core::clock::rfc3339(event.starts_at);
    item.insert(keys::PK.into(), s(pk));
    item.insert(keys::SK.into(), s(sk));
    item.insert("entity".into(), s("event"));
    // Lower-cased copy for the catalog's `q` filter (DynamoDB's contains()
    // is case-sensitive).
    item.insert("name_lc".into(), s(event.name.to_lowercase()));
    if event.status == evently_core::EventStatus::Published {
        item.insert(keys::GSI1PK.into(), s(keys::CATALOG));
        item.insert(keys::GSI1SK.into(), s(format!("{starts}#{}", event.id)));
    }
    item.insert(keys::GSI2PK.into(), s(keys::owner_events(&event.owner_id)));
    item.insert(keys::GSI2SK.into(), s(format!("{starts}#{}", event.id)));
    Ok(item)
}
