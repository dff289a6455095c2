//! The kit of the generated every-operation test: a mock per test, a client with the right
//! key, sample arguments that name real demo records, and the errors Spoki's rules call for.

use spoki_client::{Client, Error};
use spoki_mock::{Fixtures, MockSpoki, RateLimits};

/// Operations whose sample call must get an error, with the status and why.
pub const EXPECTED_ERRORS: &[(&str, u16, &str)] = &[(
    "accounts_create_onboarding_link",
    404,
    "removed by Spoki: the route answers 404",
)];

/// One mock, and the operation the test calls.
pub struct Kit {
    pub mock: MockSpoki,
    operation: &'static str,
    fixtures: Fixtures,
}

impl Kit {
    /// A mock without rate limits, where Mario (the sample phone) has just written, so that
    /// free-form sends are inside the service window.
    pub async fn start(operation: &'static str) -> Kit {
        let mock = MockSpoki::builder()
            .rate_limits(RateLimits::off())
            .start()
            .await
            .unwrap();
        mock.inbound("+393331234567", "ciao").unwrap();
        let fixtures = mock.fixtures();
        Kit {
            mock,
            operation,
            fixtures,
        }
    }

    /// A reqwest client: the agency's key for agency and partner calls, the client's otherwise.
    pub fn client(&self) -> Client {
        let key = if self.operation.starts_with("agencies") || self.operation.starts_with("partner")
        {
            &self.fixtures.agency_api_key
        } else {
            &self.fixtures.client_api_key
        };
        Client::builder()
            .base_url(self.mock.url())
            .api_key(key.as_str())
            .build()
            .unwrap()
    }

    /// The id of a demo record of `group`.
    pub fn id(&self, group: &str) -> i64 {
        match group {
            "accounts" => self.fixtures.client_account_id,
            "agencies" => self.fixtures.agency_id,
            "contacts" => self.fixtures.contact_id,
            "roles" => self.fixtures.service_user_role_id,
            // Its one placeholder is the contact's first name, which a send need not give.
            "templates" => self.fixtures.utility_template_id,
            _ => 1,
        }
    }

    /// A text path parameter naming a demo record.
    pub fn text(&self, name: &str) -> String {
        match name {
            "uuid" => self.fixtures.automation_uuid.clone(),
            "phone" => "+390612345678".into(),
            _ => "1".into(),
        }
    }

    /// The sample body with the demo credentials in place of the placeholders.
    pub fn fill(&self, wire: &str) -> String {
        let secret = match self.operation {
            "auth_get_authentication_token" => &self.fixtures.private_key,
            _ => &self.fixtures.automation_secret,
        };
        let mut wire = wire.replace("canary-secret-0001", secret);
        // A template send names the template whose one placeholder the contact fills.
        let utility = self.fixtures.utility_template_id;
        for end in [",", "}"] {
            wire = wire.replace(
                &format!(r#""template": 1{end}"#),
                &format!(r#""template": {utility}{end}"#),
            );
        }
        if self.operation == "auth_get_authentication_token" {
            wire = wire.replace(
                r#""email": "x""#,
                &format!("{:?}: {:?}", "email", self.fixtures.email),
            );
        }
        wire
    }

    /// The call decoded, or failed as [`EXPECTED_ERRORS`] says it must.
    pub fn check(&self, result: Result<(), Error>) {
        let expected = EXPECTED_ERRORS
            .iter()
            .find(|(op, _, _)| *op == self.operation);
        match (result, expected) {
            (Ok(()), None) => {}
            (Err(Error::Api(e)), Some((_, status, _))) if e.status == *status => {
                // Spoki's shapes: `{title, detail[, code]}` or field errors.
                assert!(
                    e.code.is_some() || e.title.is_some() || !e.fields.is_empty(),
                    "{}: the error has Spoki's shape: {e:?}",
                    self.operation
                );
            }
            (result, expected) => panic!(
                "{}: got {result:?}, expected {}",
                self.operation,
                expected.map_or("success".to_owned(), |(_, s, why)| format!("{s} ({why})"))
            ),
        }
    }
}
