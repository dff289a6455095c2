//! Accounts, agencies and their reports, and the pages lists are answered in.

use super::*;

impl World {
    pub(super) fn account_by_phone(&self, caller: Caller, call: &Call<'_>) -> Answer {
        let phone = call.matched.params.get("phone").map_or("", String::as_str);
        let found = self
            .state
            .accounts
            .values()
            .find(|a| a.phone == phone && self.can_read(caller, a.id))
            .map(|a| a.id);
        match found {
            Some(id) => Answer::ok(self.account_json(id)),
            None => Answer::not_found(),
        }
    }

    pub(super) fn can_read(&self, caller: Caller, account: i64) -> bool {
        self.state.accounts.contains_key(&account) && (caller.agency || caller.account == account)
    }

    pub(super) fn accounts_list(&self, caller: Caller, call: &Call<'_>) -> Answer {
        let ids: Vec<i64> = if caller.agency {
            self.state.clients().map(|a| a.id).collect()
        } else {
            vec![caller.account]
        };
        let items = ids.into_iter().map(|id| self.account_json(id)).collect();
        page(
            items,
            call.query,
            call.base_url,
            call.matched.operation.path,
        )
    }

    /// An account as Spoki shows it: credit in thousandths of EUR, and how many marketing
    /// conversations that credit still opens at the business country's price.
    pub(super) fn account_json(&self, id: i64) -> Value {
        let account = &self.state.accounts[&id];
        json!({
            "id": account.id,
            "name": account.name,
            "current_credit": account.credit.micros().div_euclid(1000),
            "estimated_available_conversations": self.conversations_left(account),
            "status": "Active",
            "phone": account.phone,
            "phone_status": "Connected",
            "account_type": if id == self.state.agency.account_id { 4 } else { 2 },
            "is_active": true,
            "default_country_code": "IT",
            "default_prefix": "+39",
            "timezone": "Europe/Rome",
            "channels": [],
        })
    }

    /// Today's usage of an account, counted from the messages it sent.
    pub(super) fn report(&self, id: i64) -> Value {
        let now = Timestamp::now().unix_seconds();
        let day_start = Timestamp::from_unix_seconds(now - now.rem_euclid(86_400));
        let today: Vec<&SentMessage> = self
            .state
            .messages
            .iter()
            .filter(|m| m.account_id == id && m.at >= day_start)
            .collect();
        let templates = today
            .iter()
            .filter(|m| m.kind == MessageContentType::Template)
            .count();
        let mut contacted: Vec<&str> = today.iter().map(|m| m.phone.as_str()).collect();
        contacted.sort_unstable();
        contacted.dedup();
        json!({
            "account": id,
            "granularity": "Day",
            "period_start": day_start.to_string().get(..10),
            "contacted_contacts": contacted.len(),
            "template_message_count": templates,
            "free_message_count": today.len() - templates,
            "sent_message_count": today.len(),
        })
    }

    pub(super) fn conversations_left(&self, account: &Account) -> i64 {
        let price = self
            .rate_card
            .business_country()
            .and_then(|c| self.rate_card.market_id(c))
            .map(|m| self.rate_card.price(m, Category::Marketing).micros())
            .unwrap_or(0);
        if price <= 0 {
            return 0;
        }
        account.credit.micros().max(0) / price
    }

    pub(super) fn agency_json(&self) -> Value {
        let clients: Vec<Value> = self
            .state
            .clients()
            .map(|a| a.id)
            .collect::<Vec<_>>()
            .into_iter()
            .map(|id| self.account_json(id))
            .collect();
        json!({
            "id": self.state.agency.id,
            "account": self.state.agency.account_id,
            "name": self.state.agency.name,
            "clients": clients,
        })
    }
}

/// One page of `items`, with `count`, `next`, `previous`, `page` and `page_size`.
pub(super) fn page(
    items: Vec<Value>,
    query: &[(String, String)],
    base_url: &str,
    path: &str,
) -> Answer {
    let number = |key: &str| {
        query
            .iter()
            .find(|(k, _)| k == key)
            .and_then(|(_, v)| v.parse::<usize>().ok())
    };
    let page_size = number("page_size").unwrap_or(20).clamp(1, 1000);
    let page_number = number("page").unwrap_or(1).max(1);
    let count = items.len();
    let pages = count.div_ceil(page_size).max(1);
    if page_number > pages {
        return Answer::refused(404, "Not found", "Invalid page.");
    }
    let link = |n: usize| {
        let mut url = url::Url::parse(&format!("{base_url}{path}")).expect("the base URL is valid");
        {
            let mut pairs = url.query_pairs_mut();
            for (k, v) in query.iter().filter(|(k, _)| k != "page") {
                pairs.append_pair(k, v);
            }
            pairs.append_pair("page", &n.to_string());
        }
        Value::String(url.into())
    };
    let results: Vec<Value> = items
        .into_iter()
        .skip((page_number - 1) * page_size)
        .take(page_size)
        .collect();
    Answer::ok(json!({
        "count": count,
        "next": if page_number < pages { link(page_number + 1) } else { Value::Null },
        "previous": if page_number > 1 { link(page_number - 1) } else { Value::Null },
        "page": page_number,
        "page_size": page_size,
        "results": results,
    }))
}
