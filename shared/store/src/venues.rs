use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use evently_core::{Event, EventStatus, Seating, VenueTemplate};

use crate::tx::{n, s, written};
use crate::{keys, Store, StoreError};

/// Why a conditional event write did not happen.
#[derive(Debug, thiserror::Error)]
pub enum EventWriteError {
    /// Someone changed the event since it was read (status, seating or a
    /// cancellation run): read again and retry.
    #[error("the event changed while this request was working on it")]
    Changed,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Store {
    pub async fn put_venue(&self, venue: &VenueTemplate) -> Result<(), StoreError> {
        self.put_new(venue_item(venue)?, &venue.id).await
    }

    /// Replaces a template (an edit). Events already created from it keep
    /// their own copy of what they need, so nothing else changes.
    pub async fn replace_venue(&self, venue: &VenueTemplate) -> Result<bool, StoreError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(venue_item(venue)?))
            .condition_expression("attribute_exists(PK) AND owner_id = :owner")
            .expression_attribute_values(":owner", s(&venue.owner_id))
            .send()
            .await;
        written(result)
    }

    /// An organizer's venue templates, oldest first.
    pub async fn owner_venues(&self, owner_id: &str) -> Result<Vec<VenueTemplate>, StoreError> {
        self.query_as(self.index_query(keys::GSI1, keys::owner_venues(owner_id)))
            .await
    }

    /// An organizer's events (every status), by start time.
    pub async fn owner_events(&self, owner_id: &str) -> Result<Vec<Event>, StoreError> {
        self.query_as(self.index_query(keys::GSI2, keys::owner_events(owner_id)))
            .await
    }

    /// A new event and its analytics item, in one transaction: analytics
    /// exist from the event's first moment, and the overview queries can
    /// find them by owner.
    pub async fn create_event(&self, event: &Event) -> Result<(), StoreError> {
        let req = self
            .client
            .transact_write_items()
            .transact_items(self.put_new_tx(event_item(event)?)?)
            .transact_items(self.put_new_tx(crate::analytics::analytics_item(event))?);
        let req = match event.admission {
            Some(_) => req.transact_items(self.queue_marker_tx(event)?),
            None => req,
        };
        match crate::tx::commit(req).await {
            Ok(()) => Ok(()),
            Err(crate::tx::TxError::Refused(_)) => Err(StoreError::AlreadyExists(event.id.clone())),
            Err(crate::tx::TxError::Store(e)) => Err(e),
        }
    }

    /// Writes `event` over the version `read` was: only if status, seating
    /// and cancellation runs are still what was read (optimistic
    /// concurrency: two organizers' PATCHes never silently overwrite each
    /// other). Publishing additionally requires every seat in place.
    pub async fn save_event(&self, event: &Event, read: &Event) -> Result<(), EventWriteError> {
        let mut condition =
            "#status = :status AND seating = :seating AND cancel_runs = :runs".to_owned();
        let publishing =
            event.status == EventStatus::Published && read.status == EventStatus::Draft;
        if publishing {
            condition.push_str(" AND seating = :ready");
        }
        let item = event_item(event)?;
        let mut put = aws_sdk_dynamodb::types::Put::builder()
            .table_name(&self.table)
            .set_item(Some(item.clone()))
            .condition_expression(condition)
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":status", s(status_str(read.status)))
            .expression_attribute_values(":seating", s(seating_str(read.seating)))
            .expression_attribute_values(":runs", n(read.cancel_runs));
        if publishing {
            put = put.expression_attribute_values(":ready", s("ready"));
        }
        let put = put.build().map_err(crate::tx::build_err)?;
        let closing =
            event.status == EventStatus::Cancelled && read.status != EventStatus::Cancelled;
        // The admitter's list of waiting rooms follows the event in the
        // same transaction (set, changed, removed, or closed by a cancel).
        let queue_marker = (event.admission.is_some() || read.admission.is_some())
            && (event.admission != read.admission || closing || event.starts_at != read.starts_at);
        let saved = if closing || queue_marker {
            let mut req = self.client.transact_write_items().transact_items(
                aws_sdk_dynamodb::types::TransactWriteItem::builder()
                    .put(put)
                    .build(),
            );
            if queue_marker {
                req = req.transact_items(self.queue_marker_tx(event)?);
            }
            let at = event
                .cancelled_at
                .unwrap_or_else(chrono::Utc::now)
                .timestamp();
            // The sale gates close in the same transaction: no hold can
            // pass a gate once the event says cancelled, nor before.
            let gates = if closing { keys::SALE_GATE_SHARDS } else { 0 };
            for shard in 0..gates {
                let (pk, sk) = keys::sale_gate(&event.id, shard);
                let gate = aws_sdk_dynamodb::types::Put::builder()
                    .table_name(&self.table)
                    .item(keys::PK, s(pk))
                    .item(keys::SK, s(sk))
                    .item("entity", s("sale_gate"))
                    .item("cancelled_at", n(at))
                    .build()
                    .map_err(crate::tx::build_err)?;
                req = req.transact_items(
                    aws_sdk_dynamodb::types::TransactWriteItem::builder()
                        .put(gate)
                        .build(),
                );
            }
            crate::tx::committed(req).await?
        } else {
            let put = self
                .client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(put.item))
                .condition_expression(put.condition_expression.unwrap_or_default())
                .set_expression_attribute_names(put.expression_attribute_names)
                .set_expression_attribute_values(put.expression_attribute_values)
                .send()
                .await;
            written(put)?
        };
        if !saved && !self.holds(&item).await? {
            return Err(EventWriteError::Changed);
        }
        if event.status == EventStatus::Published || read.status != event.status {
            // The analytics item mirrors capacity and status for overviews.
            crate::analytics::sync_analytics(self, event).await?;
        }
        Ok(())
    }

    /// Asks for another run of a cancelled event's cancellation job: bumps
    /// `cancel_runs`, a change the stream turns into a job message.
    pub async fn request_cancel_run(&self, event_id: &str) -> Result<(), StoreError> {
        let (pk, sk) = keys::event(event_id);
        self.client
            .update_item()
            .table_name(&self.table)
            .key(keys::PK, s(pk))
            .key(keys::SK, s(sk))
            .update_expression("ADD cancel_runs :one")
            .condition_expression("#status = :cancelled")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":cancelled", s("cancelled"))
            .send()
            .await?;
        Ok(())
    }

    pub async fn get_venue(&self, id: &str) -> Result<Option<VenueTemplate>, StoreError> {
        match self.get_item(keys::venue(id)).await? {
            Some(item) => Ok(Some(serde_dynamo::from_item(item)?)),
            None => Ok(None),
        }
    }

    /// The events of `ids` that exist, each read once, all at once (a
    /// customer's bookings or waitlist entries name a handful).
    pub async fn events_by_id<'a>(
        &self,
        ids: impl IntoIterator<Item = &'a str>,
    ) -> Result<std::collections::HashMap<String, Event>, StoreError> {
        let mut ids: Vec<&str> = ids.into_iter().collect();
        ids.sort_unstable();
        ids.dedup();
        let found = futures::future::try_join_all(ids.iter().map(|id| self.get_event(id))).await?;
        Ok(found
            .into_iter()
            .flatten()
            .map(|e| (e.id.clone(), e))
            .collect())
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
            .set_item(Some(item.clone()))
            .condition_expression("attribute_not_exists(PK)")
            .send()
            .await;
        if written(result)? || self.holds(&item).await? {
            Ok(())
        } else {
            Err(StoreError::AlreadyExists(id.to_owned()))
        }
    }
}

fn venue_item(venue: &VenueTemplate) -> Result<HashMap<String, AttributeValue>, StoreError> {
    let (pk, sk) = keys::venue(&venue.id);
    let mut item = crate::entity_item(venue, pk, sk, "venue")?;
    item.insert(keys::GSI1PK.into(), s(keys::owner_venues(&venue.owner_id)));
    item.insert(
        keys::GSI1SK.into(),
        s(format!("{}#{}", venue.created_at, venue.id)),
    );
    Ok(item)
}

pub(crate) fn event_item(event: &Event) -> Result<HashMap<String, AttributeValue>, StoreError> {
    let (pk, sk) = keys::event(&event.id);
    let mut item = crate::entity_item(event, pk, sk, "event")?;
    let starts = evently_core::clock::rfc3339(event.starts_at);
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

fn status_str(status: EventStatus) -> &'static str {
    match status {
        EventStatus::Draft => "draft",
        EventStatus::Published => "published",
        EventStatus::Cancelled => "cancelled",
    }
}

fn seating_str(seating: Seating) -> &'static str {
    match seating {
        Seating::Materialising => "materialising",
        Seating::Ready => "ready",
    }
}
