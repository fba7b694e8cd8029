//! Every setting core accepts for a channel kind (`ChannelKind::required_settings` and
//! `optional_settings`, which the decoder and `docs/configuration.md` follow) is read by
//! that kind's parser: a wrong value for it is reported, naming it. A setting core
//! accepted but no parser read would be documented, pass `continuo check`, and do
//! nothing.

use crate::support::{channel, with};
use continuo_core::catalog::{ChannelKind, SettingValue};
use continuo_notify::validate;

/// A channel of each kind with only its required settings, valid.
const MINIMAL: &[(&str, &str)] = &[
    ("webhook", "url = \"https://hooks.example.com/x\""),
    ("slack", "url = \"https://hooks.slack.com/services/T/B/X\""),
    (
        "teams",
        "url = \"https://prod.westeurope.logic.azure.com/workflows/1\"",
    ),
    (
        "email",
        "smtp_host = \"smtp.example.com\"\nfrom = \"alerts@example.com\"\nto = \"ops@example.com\"",
    ),
    ("pagerduty", "routing_key = \"R0123\""),
    ("opsgenie", "api_key = \"k\""),
    ("telegram", "bot_token = \"123:abc\"\nchat_id = -100123"),
    ("ntfy", "url = \"https://ntfy.sh\"\ntopic = \"ops\""),
    (
        "http_template",
        "url = \"https://sms.example.com/send\"\nbody = '{\"text\": {{ subject|tojson }}}'",
    ),
    (
        "mattermost",
        "url = \"https://mattermost.example.com/hooks/x\"",
    ),
    ("rocketchat", "url = \"https://chat.example.com/hooks/x/y\""),
    ("discord", "url = \"https://discord.com/api/webhooks/1/x\""),
    (
        "googlechat",
        "url = \"https://chat.googleapis.com/v1/spaces/A/messages?key=k&token=t\"",
    ),
    (
        "matrix",
        "homeserver = \"https://matrix.example.com\"\naccess_token = \"syt_x\"\nroom = \"!r:example.com\"",
    ),
];

#[test]
fn every_setting_core_accepts_is_read_by_its_kind() {
    for (name, kind) in ChannelKind::ALL {
        let Some((_, required)) = MINIMAL.iter().find(|(n, _)| *n == name) else {
            panic!("add a valid channel of kind `{name}` with its required settings to MINIMAL");
        };
        let base = channel(&format!("id = \"c\"\nkind = \"{name}\"\n{required}"));
        assert_eq!(validate(&base), Vec::new(), "the minimal `{name}` channel");
        let settings = kind
            .required_settings()
            .iter()
            .chain(kind.optional_settings());
        for setting in settings {
            // No setting of any kind takes a boolean, so `true` is wrong for each.
            let wrong = with(base.clone(), setting, SettingValue::Bool(true));
            let problems = validate(&wrong);
            assert!(
                problems
                    .iter()
                    .any(|p| p.setting.as_deref() == Some(*setting)),
                "`{setting}` of a `{name}` channel is accepted by core but its parser does not read it: `{setting} = true` gave {problems:?}"
            );
        }
    }
}
