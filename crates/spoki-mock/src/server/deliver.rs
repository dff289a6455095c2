//! Webhook deliveries: queued notices become signed POSTs to the account's webhooks, tried
//! again with a growing pause until the receiver accepts them or the attempts run out.

use super::*;

impl Shared {
    /// Turns queued notices into deliveries and starts sending them.
    pub fn dispatch(self: &Arc<Self>) {
        let mut started = Vec::new();
        {
            let mut world = self.world();
            let notices: Vec<Notice> = std::mem::take(&mut world.notices);
            for notice in notices {
                for (webhook_id, url, secret) in world.subscribers(notice.account_id, &notice.event)
                {
                    let body = json!({
                        "version": 2,
                        "event": &notice.event,
                        "event_uuid": uuid::Uuid::new_v4().to_string(),
                        "timestamp": Timestamp::now().unix_seconds(),
                        "account_id": notice.account_id,
                        "data": notice.data,
                    })
                    .to_string();
                    let id = world.state.deliveries.len() as u64;
                    world.state.deliveries.push(Delivery {
                        id,
                        webhook_id,
                        url: url.clone(),
                        event: notice.event.clone(),
                        body: body.clone(),
                        attempts: Vec::new(),
                        delivered: false,
                    });
                    started.push((id, url, secret, body, notice.account_id));
                }
            }
        }
        for (id, url, secret, body, account) in started {
            let shared = self.clone();
            tokio::spawn(async move { shared.deliver(id, url, secret, body, account).await });
        }
    }

    /// Sends delivery `id` again, as Spoki does when it redelivers an event: the same body,
    /// freshly signed with its webhook's current secret.
    pub fn redeliver(self: &Arc<Self>, id: u64) -> Result<(), MockError> {
        let (url, secret, body, account) = {
            let world = self.world();
            let delivery = world
                .state
                .deliveries
                .get(id as usize)
                .ok_or(MockError::NoDelivery(id))?;
            let (account, secret) = world
                .state
                .accounts
                .iter()
                .find_map(|(account, a)| {
                    let hook = a.records.get("webhooks")?.get(&delivery.webhook_id)?;
                    Some((*account, hook["secret"].as_str()?.to_owned()))
                })
                .ok_or(MockError::WebhookGone(id))?;
            (delivery.url.clone(), secret, delivery.body.clone(), account)
        };
        let shared = self.clone();
        tokio::spawn(async move { shared.deliver(id, url, secret, body, account).await });
        Ok(())
    }

    /// POSTs one delivery, signed, retrying with doubling backoff until the receiver answers
    /// 2xx or the attempts run out. Every attempt is logged.
    async fn deliver(
        self: Arc<Self>,
        id: u64,
        url: String,
        secret: String,
        body: String,
        account: i64,
    ) {
        let mut backoff = self.config.delivery_backoff;
        for attempt in 0..self.config.delivery_attempts {
            if attempt > 0 {
                tokio::time::sleep(backoff).await;
                backoff = backoff.saturating_mul(2);
            }
            let at = Timestamp::now().whole_seconds();
            let signature = spoki_webhook::sign(
                &spoki_models::Secret::new(secret.as_str()),
                at.unix_seconds(),
                body.as_bytes(),
            );
            let result = self
                .http
                .post(&url)
                .header("content-type", "application/json")
                .header(spoki_webhook::SIGNATURE_HEADER, &signature)
                .header(spoki_webhook::ACCOUNT_HEADER, account.to_string())
                .body(body.clone())
                .send()
                .await;
            let (status, error) = match &result {
                Ok(response) => (Some(response.status().as_u16()), None),
                Err(e) => (None, Some(e.to_string())),
            };
            let ok = status.is_some_and(|s| (200..300).contains(&s));
            {
                let mut world = self.world();
                if let Some(delivery) = world.state.deliveries.get_mut(id as usize) {
                    delivery.attempts.push(DeliveryAttempt {
                        at,
                        status,
                        error,
                        signature: Some(signature),
                    });
                    delivery.delivered = ok;
                }
            }
            self.changed();
            self.delivered.notify_waiters();
            if ok {
                return;
            }
        }
    }
}
