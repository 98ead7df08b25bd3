//! The public catalog: published events by start time, from GSI1's single
//! `CATALOG` partition. Pages with an opaque cursor; never scans the table.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use evently_core::Event;
use serde::{Deserialize, Serialize};

use crate::{attr_s, keys, Store, StoreError};

/// Where the next page starts: the index sort key and id of the last
/// item returned (an event of the catalog, a booking of an event's
/// attendee list). Opaque to clients (base64url of JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    pub(crate) sk: String,
    pub(crate) id: String,
}

impl Cursor {
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).unwrap_or_default())
    }

    /// None for anything we did not issue.
    pub fn decode(s: &str) -> Option<Self> {
        let bytes = URL_SAFE_NO_PAD.decode(s).ok()?;
        let c: Cursor = serde_json::from_slice(&bytes).ok()?;
        let valid = evently_core::ids::is_ulid(&c.id) && c.sk.ends_with(&format!("#{}", c.id));
        valid.then_some(c)
    }

    /// Whether the page it resumes lies inside the query's time window
    /// (DynamoDB refuses a start key outside the key condition).
    pub fn fits(&self, query: &CatalogQuery) -> bool {
        let from = query.from.as_deref().unwrap_or("0");
        let to = query
            .to
            .as_ref()
            .map_or_else(|| "~".to_owned(), |t| format!("{t}#~"));
        self.sk.as_str() >= from && self.sk.as_str() <= to.as_str()
    }

    fn start_key(&self) -> HashMap<String, AttributeValue> {
        let (pk, sk) = keys::event(&self.id);
        HashMap::from([
            (keys::GSI1PK.into(), AttributeValue::S(keys::CATALOG.into())),
            (keys::GSI1SK.into(), AttributeValue::S(self.sk.clone())),
            (keys::PK.into(), AttributeValue::S(pk)),
            (keys::SK.into(), AttributeValue::S(sk)),
        ])
    }

    fn of_item(item: &HashMap<String, AttributeValue>) -> Result<Self, StoreError> {
        Ok(Self {
            sk: attr_s(item, keys::GSI1SK)?.to_owned(),
            id: attr_s(item, "id")?.to_owned(),
        })
    }
}

#[derive(Debug, Clone, Default)]
pub struct CatalogQuery {
    /// RFC 3339 bounds on the start time (inclusive).
    pub from: Option<String>,
    pub to: Option<String>,
    /// Lower-cased substring of the event name.
    pub q: Option<String>,
    pub limit: usize,
    pub cursor: Option<Cursor>,
}

#[derive(Debug, Clone)]
pub struct CatalogPage {
    pub events: Vec<Event>,
    pub next: Option<Cursor>,
}

/// A filtered query may return few matches per page; bound the pages one
/// request reads so a rare `q` cannot make it slow. The cursor resumes.
const MAX_PAGES_PER_REQUEST: usize = 10;

impl Store {
    pub async fn list_catalog(&self, query: &CatalogQuery) -> Result<CatalogPage, StoreError> {
        let from = query.from.clone().unwrap_or_else(|| "0".into());
        // '~' sorts after every character of "<timestamp>#<ulid>".
        let to = query
            .to
            .as_ref()
            .map_or_else(|| "~".into(), |t| format!("{t}#~"));
        let mut events = Vec::new();
        let mut start = query.cursor.as_ref().map(Cursor::start_key);
        for _ in 0..MAX_PAGES_PER_REQUEST {
            let mut req = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(keys::GSI1)
                .key_condition_expression("GSI1PK = :catalog AND GSI1SK BETWEEN :from AND :to")
                .expression_attribute_values(":catalog", AttributeValue::S(keys::CATALOG.into()))
                .expression_attribute_values(":from", AttributeValue::S(from.clone()))
                .expression_attribute_values(":to", AttributeValue::S(to.clone()))
                .limit((query.limit - events.len()) as i32)
                .set_exclusive_start_key(start.take());
            if let Some(q) = &query.q {
                req = req
                    .filter_expression("contains(name_lc, :q)")
                    .expression_attribute_values(":q", AttributeValue::S(q.clone()));
            }
            let out = req.send().await?;
            let items = out.items.unwrap_or_default();
            for item in &items {
                events.push(serde_dynamo::from_item(item.clone())?);
                if events.len() == query.limit {
                    return Ok(CatalogPage {
                        events,
                        next: Some(Cursor::of_item(item)?),
                    });
                }
            }
            match out.last_evaluated_key {
                Some(lek) => start = Some(lek),
                None => return Ok(CatalogPage { events, next: None }),
            }
        }
        // Page budget spent: resume where DynamoDB stopped.
        let next = match start {
            Some(lek) => Some(Cursor {
                sk: attr_s(&lek, keys::GSI1SK)?.to_owned(),
                id: attr_s(&lek, keys::PK)?
                    .trim_start_matches("EVENT#")
                    .to_owned(),
            }),
            None => None,
        };
        Ok(CatalogPage { events, next })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        let id = evently_core::new_id();
        let c = Cursor {
            sk: format!("2030-01-01T00:00:00Z#{id}"),
            id,
        };
        assert_eq!(Cursor::decode(&c.encode()), Some(c));
        assert_eq!(Cursor::decode("not-a-cursor"), None);
        let forged = URL_SAFE_NO_PAD.encode(br#"{"sk":"x","id":"y"}"#);
        assert_eq!(Cursor::decode(&forged), None);
    }
}
