//! The exact JSON of every kind of request body, pinned with insta snapshots.
//!
//! Secrets in bodies are redacted in the snapshots; a separate assertion checks that the
//! real value does reach the wire.

use insta::assert_json_snapshot;
use spoki_models::*;

fn phone(text: &str) -> Phone {
    Phone::parse(text).unwrap()
}

fn json(value: &impl serde::Serialize) -> serde_json::Value {
    serde_json::to_value(value).unwrap()
}

#[test]
fn automation_start_bulk_matches_the_seed_example() {
    // Seed 000: the software vendor's bulk start, field for field.
    let deadline = [("DATA_SCADENZA_ABBONAMENTO", "2022-11-10T18:00:00.000Z")];
    let body = AutomationStartBulk::new(
        "canary-automation-secret",
        [
            AutomationContact::new(phone("+393331234567"))
                .first_name("Mario")
                .last_name("Rossi")
                .email("mario.rossi@domain.com")
                .custom_fields(deadline),
            AutomationContact::new(phone("+39333123461234"))
                .first_name("John")
                .last_name("Bianchi")
                .email("giovanni.bianchi@domain.com")
                .custom_fields(deadline),
        ],
    );
    assert_eq!(json(&body)["secret"], "canary-automation-secret");
    assert_json_snapshot!(body, { ".secret" => "[secret]" });
}

#[test]
fn automation_start_single() {
    let body = AutomationStart::new("canary-automation-secret", phone("+393331234567"))
        .first_name("Mario")
        .language("it")
        .custom_fields([("ORDER_ID", "A-1042")])
        .metadata(serde_json::json!({"crm_id": 77}));
    assert_json_snapshot!(body, { ".secret" => "[secret]" });
}

#[test]
fn send_template() {
    let body = SendTemplate::new(phone("+393331234567"), 1234)
        .language("it")
        .custom_fields([("FIRST_NAME", "Mario")])
        .buttons([ButtonPayload::new(1).payload("renew")]);
    assert_json_snapshot!(body);
}

#[test]
fn send_template_header_media() {
    let media = HeaderMedia::new("https://example.com/menu.pdf").filename("menu.pdf");
    assert_json_snapshot!(SendTemplateHeaderMedia::new(
        phone("+393331234567"),
        1234,
        media
    ));
}

#[test]
fn send_template_carousel() {
    let cards = [
        HeaderMedia::new("https://example.com/a.jpg").filename("a.jpg"),
        HeaderMedia::new("https://example.com/b.jpg").filename("b.jpg"),
    ];
    assert_json_snapshot!(SendTemplateCarousel::new(phone("+393331234567"), 7, cards));
}

#[test]
fn send_template_carousel_multilanguage() {
    let cards = [
        LocalizedHeaderMedia::new("https://example.com/a-en.jpg", "a.jpg", "en"),
        LocalizedHeaderMedia::new("https://example.com/a-it.jpg", "a.jpg", "it"),
    ];
    assert_json_snapshot!(SendTemplateCarouselMultilanguage::new(
        phone("+393331234567"),
        7,
        cards
    ));
}

#[test]
fn send_text() {
    assert_json_snapshot!(SendText::new(phone("+393331234567"), "Ciao Mario!").channel_id(3));
}

#[test]
fn send_buttons() {
    let body = SendButtons::new(
        phone("+393331234567"),
        "Confirm your booking?",
        [
            InteractiveButton::new("Yes", 1, "yes"),
            InteractiveButton::new("No", 2, "no"),
        ],
    )
    .header(MessageHeader::new("Booking"))
    .footer(MessageFooter::new("Reply within 24 h"));
    assert_json_snapshot!(body);
}

#[test]
fn send_list() {
    let menu = InteractiveList::new(
        "Pick a slot",
        [ListSection::new(
            "Tomorrow",
            [
                ListRow::new("09:00", "slot-9").description("Morning"),
                ListRow::new("15:00", "slot-15"),
            ],
        )],
    );
    assert_json_snapshot!(SendList::new(phone("+393331234567"), "When?", menu));
}

#[test]
fn contact_sync() {
    let body = ContactSync::new(phone("+393331234567"))
        .first_name("Mario")
        .status(MarketingStatus::Subscribed)
        .custom_fields([("CUSTOMER_ID", "C-9")]);
    assert_json_snapshot!(body);
}

#[test]
fn bulk_sync_is_a_json_array() {
    let body = vec![
        ContactSync::new(phone("+393331234567")).first_name("Mario"),
        ContactSync::new(phone("+393339876543")).status(MarketingStatus::NotDeclared),
    ];
    assert!(json(&body).is_array());
    assert_json_snapshot!(body);
}

#[test]
fn list_sync_contacts() {
    assert_json_snapshot!(ListSyncContacts::new([ContactSync::new(phone(
        "+393331234567"
    ))]));
}

#[test]
fn template_create() {
    let body = TemplateCreate::new(
        "subscription_expiry",
        TemplateCategory::Utility,
        [TemplateLocalizationWrite::new("it")
            .status(TemplateStatusCode::Draft)
            .body_template_component(
                TemplateComponent::default()
                    .component_type("body")
                    .text("Ciao %%FIRST_NAME%%, il tuo abbonamento scade il %%DATA_SCADENZA%%."),
            )
            .templatebuttoncomponent_set([TemplateButton::default()
                .button_type(ButtonType::QuickReply)
                .text("Rinnova")
                .order(1)])
            .example_custom_fields([("FIRST_NAME", "Mario"), ("DATA_SCADENZA", "10/11")])],
    )
    .subcategory(TemplateSubcategory::Classic);
    assert_json_snapshot!(body);
}

#[test]
fn webhook_create() {
    let body = WebhookWrite::default()
        .event(WebhookEvent::MessageOutbound)
        .version(WebhookVersion::V2)
        .url("https://crm.example.com/hooks/spoki")
        .is_active(true);
    assert_json_snapshot!(body);
}

#[test]
fn auth_token_request() {
    let body = AuthTokenRequest::new("service@example.com", "canary-private-key");
    assert_eq!(json(&body)["private_key"], "canary-private-key");
    assert!(!format!("{body:?}").contains("canary-private-key"));
    assert_json_snapshot!(body, { ".private_key" => "[secret]" });
}

#[test]
fn partner_money_moves() {
    assert_json_snapshot!(Subrecharge::new(42, Money::from_euros(10).unwrap()));
    assert_json_snapshot!(CreditMove::new(42, Money::from_millis(2_500).unwrap()));
}

#[test]
fn custom_field_and_channel_create() {
    assert_json_snapshot!(
        CustomFieldCreate::new("Expiry", "DATA_SCADENZA", CustomFieldType::Date)
            .example("2024-12-31")
    );
    assert_json_snapshot!(ChannelCreate::new(ChannelPlatform::WhatsApp).name("Main line"));
}

#[test]
fn request_bodies_round_trip() {
    let body = SendButtons::new(
        phone("+393331234567"),
        "Ok?",
        [InteractiveButton::new("Yes", 1, "y")],
    );
    let back: SendButtons = serde_json::from_value(json(&body)).unwrap();
    assert_eq!(back, body);
    let sync = ContactSync::new(phone("+393331234567")).custom_fields([("A", "1")]);
    assert_eq!(
        serde_json::from_value::<ContactSync>(json(&sync)).unwrap(),
        sync
    );
}

#[test]
fn partial_updates_can_set_clear_or_leave_fields() {
    let body = ContactUpdate::default().first_name("Mario").clear_email();
    assert_eq!(
        json(&body),
        serde_json::json!({"first_name": "Mario", "email": null})
    );
    let back: ContactUpdate = serde_json::from_value(json(&body)).unwrap();
    assert_eq!(back, body);
    assert_eq!(back.last_name, Patch::Unchanged);

    // Lists are cleared with an empty list, and a campaign unscheduled with null.
    let campaign = CampaignWrite::default()
        .lists(Vec::<i64>::new())
        .clear_scheduled_datetime();
    assert_eq!(
        json(&campaign),
        serde_json::json!({"lists": [], "scheduled_datetime": null})
    );
    assert_eq!(json(&CampaignWrite::default()), serde_json::json!({}));
}

#[test]
fn a_request_model_checks_its_limits_itself() {
    use spoki_models::constraint::Violation;
    use spoki_models::{AuthTokenRequest, AutomationContact, AutomationStartBulk, Phone};

    let mario = AutomationContact::new(Phone::parse("+393331234567").unwrap());
    assert_eq!(
        AutomationStartBulk::new("s3cret", [mario.clone()]).validate(),
        Ok(())
    );
    let blank = AutomationStartBulk::new(" \t", [mario])
        .validate()
        .unwrap_err();
    assert_eq!(
        (blank.field, blank.violation),
        ("secret", Violation::BlankSecret)
    );
    let nobody = AutomationStartBulk::new("s3cret", Vec::<AutomationContact>::new())
        .validate()
        .unwrap_err();
    assert_eq!(nobody.violation, Violation::TooFew { count: 0, min: 1 });
    let no_email = AuthTokenRequest::new("  ", "key").validate().unwrap_err();
    assert_eq!(
        (no_email.field, no_email.violation),
        ("email", Violation::Blank)
    );
}

#[test]
fn every_phone_of_a_body_is_checked_by_the_operations_rules() {
    use spoki_models::constraint::check;
    use spoki_models::operation::{AUTOMATIONS_START_BULK, CONTACTS_SYNC_ALL};

    let body = serde_json::json!([{"phone": "+393331234567"}, {"phone": "3331234567"}]);
    let e = check(CONTACTS_SYNC_ALL.body_rules, &body).unwrap_err();
    assert_eq!((e.field, e.indexes.as_slice()), ("[].phone", &[1][..]));
    let body = serde_json::json!({"secret": "s", "contacts": [{"phone": "+39 333"}]});
    let e = check(AUTOMATIONS_START_BULK.body_rules, &body).unwrap_err();
    assert_eq!(e.field, "contacts[].phone");
    assert!(e.to_string().starts_with("`contacts[0].phone`"), "{e}");
}
