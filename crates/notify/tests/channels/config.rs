//! Configuration problems of every kind: each names the channel and the setting, says
//! what is wrong, and points at the value in the file.

use crate::support::{channel, text, with};
use continuo_core::Lang;
use continuo_core::catalog::{Channel, SettingValue};
use continuo_notify::{ConfigProblem, validate};

/// The problems of the channel made of `fields`, in English, each with the line of the
/// configuration it points at (the `[[channel]]` header is line 1).
fn problems_of(channel: &Channel, fields: &str) -> Vec<(usize, String)> {
    let text = format!("[[channel]]\n{fields}\n");
    validate(channel)
        .iter()
        .map(|p: &ConfigProblem| {
            let line = text[..p.loc.span.start.min(text.len())]
                .matches('\n')
                .count()
                + 1;
            (line, p.to_string())
        })
        .collect()
}

/// Asserts the problems of `fields`: (line, message) in order.
#[track_caller]
fn check(fields: &str, expected: &[(usize, &str)]) {
    let found = problems_of(&channel(fields), fields);
    let expected: Vec<(usize, String)> =
        expected.iter().map(|(l, m)| (*l, m.to_string())).collect();
    assert_eq!(found, expected, "\n{fields}");
}

#[test]
fn good_channels_have_no_problems() {
    for fields in [
        "id = \"a\"\nkind = \"webhook\"\nurl = \"https://hooks.example.com/x\"\nsecret = \"s\"\nmethod = \"PUT\"\nheaders = { X-Team = \"ops\" }",
        "id = \"a\"\nkind = \"slack\"\nurl = \"https://hooks.slack.com/services/T/B/X\"",
        "id = \"a\"\nkind = \"teams\"\nurl = \"https://prod.westeurope.logic.azure.com/workflows/1\"",
        "id = \"a\"\nkind = \"email\"\nsmtp_host = \"smtp.example.com\"\nfrom = \"Continuo <alerts@example.com>\"\nto = [\"ops@example.com\"]\nusername = \"u\"\npassword = \"p\"",
        "id = \"a\"\nkind = \"email\"\nsmtp_host = \"127.0.0.1\"\nsmtp_port = 25\ntls = \"none\"\nfrom = \"alerts@example.com\"\nto = \"ops@example.com\"",
        "id = \"a\"\nkind = \"pagerduty\"\nrouting_key = \"R0123\"",
        "id = \"a\"\nkind = \"opsgenie\"\napi_key = \"k\"\nregion = \"EU\"",
        "id = \"a\"\nkind = \"telegram\"\nbot_token = \"123:abc\"\nchat_id = -100123",
        "id = \"a\"\nkind = \"ntfy\"\nurl = \"https://ntfy.sh\"\ntopic = \"ops\"\npriority = \"high\"",
        "id = \"a\"\nkind = \"http_template\"\nurl = \"https://sms.example.com/send?to={{ recipient.phone|urlencode }}\"\nbody = '{\"text\": {{ subject|tojson }}}'",
        "id = \"a\"\nkind = \"mattermost\"\nurl = \"https://mm.example.com/hooks/abc\"\nusername = \"Continuo\"\nicon_url = \"https://x.example/i.png\"\nchannel = \"ops\"",
        "id = \"a\"\nkind = \"rocketchat\"\nurl = \"https://rc.example.com/hooks/a/b\"\nalias = \"Continuo\"\navatar = \"https://x.example/i.png\"\nchannel = \"#ops\"",
        "id = \"a\"\nkind = \"discord\"\nurl = \"https://discord.com/api/webhooks/1/t\"\nusername = \"Continuo\"\navatar_url = \"https://x.example/i.png\"",
        "id = \"a\"\nkind = \"googlechat\"\nurl = \"https://chat.googleapis.com/v1/spaces/A/messages?key=k&token=t%3D\"",
        "id = \"a\"\nkind = \"matrix\"\nhomeserver = \"https://matrix.example.org\"\naccess_token = \"syt_abc\"\nroom = \"#ops:example.org\"",
        "id = \"a\"\nkind = \"matrix\"\nhomeserver = \"https://matrix.example.org\"\naccess_token = \"syt_abc\"\nroom = \"!AbC123:example.org\"",
    ] {
        check(fields, &[]);
    }
}

/// The example from the design: a URL that is not one.
#[test]
fn webhook_url_that_is_not_a_url() {
    check(
        "id = \"ops-chat\"\nkind = \"webhook\"\nurl = \"hooks.example.com/x\"",
        &[(
            4,
            "channel ops-chat: setting \"url\": not a valid URL (relative URL without a base)",
        )],
    );
    let problem = &validate(&channel(
        "id = \"ops-chat\"\nkind = \"webhook\"\nurl = \"hooks.example.com/x\"",
    ))[0];
    assert_eq!(
        problem.display(Lang::Nl),
        "kanaal ops-chat: instelling \"url\": geen geldige URL (relative URL without a base)"
    );
    let diagnostic = problem.to_diagnostic();
    assert_eq!(diagnostic.code, "bad-channel");
    assert_eq!(diagnostic.loc.as_ref(), Some(&problem.loc));
}

#[test]
fn webhook_problems() {
    check(
        "id = \"hook\"\nkind = \"webhook\"\nurl = \"ftp://files.example.com\"\nmethod = \"DELETE\"\nheaders = { \"Bad Header\" = \"x\" }",
        &[
            (
                4,
                "channel hook: setting \"url\": not an http or https URL (scheme `ftp`)",
            ),
            (
                5,
                "channel hook: setting \"method\": \"DELETE\" is not one of \"post\", \"put\", \"patch\"",
            ),
            (
                6,
                "channel hook: setting \"headers\": `Bad Header` is not a valid header name",
            ),
        ],
    );
}

#[test]
fn slack_and_teams_problems() {
    check(
        "id = \"chat\"\nkind = \"slack\"\nurl = 42",
        &[(
            4,
            "channel chat: setting \"url\": expected a string, found a number",
        )],
    );
    check(
        "id = \"chat\"\nkind = \"teams\"\nurl = \"\"",
        &[(4, "channel chat: setting \"url\": must not be empty")],
    );
    // Core reports a missing required setting when it reads the file; a channel built
    // some other way still gets a clear problem here.
    let mut teams = channel("id = \"chat\"\nkind = \"teams\"\nurl = \"https://x.example\"");
    teams.settings.clear();
    let problems: Vec<String> = validate(&teams).iter().map(|p| p.to_string()).collect();
    assert_eq!(problems, ["channel chat: setting \"url\": is required"]);
}

#[test]
fn email_problems() {
    check(
        "id = \"mail\"\nkind = \"email\"\nsmtp_host = \"smtp://mail.example.com:587\"\nfrom = \"alerts at example.com\"\nto = [\"ops@example.com\", \"nobody\"]\ntls = \"ssl\"\nsmtp_port = 70000\nusername = \"u\"",
        &[
            (
                4,
                "channel mail: setting \"smtp_host\": \"smtp://mail.example.com:587\" is not a host name: write only the name or address (smtp.example.com), the port goes in smtp_port",
            ),
            (
                7,
                "channel mail: setting \"tls\": \"ssl\" is not one of \"none\", \"starttls\", \"tls\"",
            ),
            (
                8,
                "channel mail: setting \"smtp_port\": 70000 is out of range, use 1 to 65535",
            ),
            (
                5,
                "channel mail: setting \"from\": \"alerts at example.com\" is not an email address; write name@example.com or Name <name@example.com>",
            ),
            (
                6,
                "channel mail: setting \"to\": \"nobody\" is not an email address; write name@example.com or Name <name@example.com>",
            ),
            (
                2,
                "channel mail: setting \"password\": is required with username",
            ),
        ],
    );
    check(
        "id = \"mail\"\nkind = \"email\"\nsmtp_host = \"mail.example.com\"\nfrom = \"a@example.com\"\nto = \"b@example.com\"\ntls = \"none\"\nusername = \"u\"\npassword = \"p\"",
        &[(
            7,
            "channel mail: setting \"tls\": \"none\" would send the password unencrypted; use \"starttls\" or \"tls\"",
        )],
    );
}

#[test]
fn pagerduty_and_opsgenie_problems() {
    check(
        "id = \"pd\"\nkind = \"pagerduty\"\nrouting_key = \"  \"\nurl = \"events\"",
        &[
            (4, "channel pd: setting \"routing_key\": must not be empty"),
            (
                5,
                "channel pd: setting \"url\": not a valid URL (relative URL without a base)",
            ),
        ],
    );
    check(
        "id = \"og\"\nkind = \"opsgenie\"\napi_key = \"k\"\nregion = \"ap\"",
        &[(
            5,
            "channel og: setting \"region\": \"ap\" is not one of \"us\", \"eu\"",
        )],
    );
    check(
        "id = \"og\"\nkind = \"opsgenie\"\napi_key = \"k\"\nregion = \"eu\"\nurl = \"https://og.example.com\"",
        &[(
            6,
            "channel og: setting \"url\": give either `url` or `region`, not both: `url` would override the region",
        )],
    );
}

#[test]
fn telegram_and_ntfy_problems() {
    check(
        "id = \"tg\"\nkind = \"telegram\"\nbot_token = \"abc\"\nchat_id = true",
        &[
            (
                4,
                "channel tg: setting \"bot_token\": not a bot token; BotFather's tokens look like 123456:ABC-DEF…",
            ),
            (
                5,
                "channel tg: setting \"chat_id\": expected a string or a number, found true or false",
            ),
        ],
    );
    let tg = with(
        channel("id = \"tg\"\nkind = \"telegram\"\nbot_token = \"1:a\"\nchat_id = \"@ops\""),
        "parse_mode",
        text("markdown"),
    );
    let problems: Vec<String> = validate(&tg).iter().map(|p| p.to_string()).collect();
    assert_eq!(
        problems,
        ["channel tg: setting \"parse_mode\": \"markdown\" is not one of \"html\", \"none\""]
    );
    check(
        "id = \"push\"\nkind = \"ntfy\"\nurl = \"https://ntfy.sh\"\ntopic = \"ops alerts\"\npriority = 9",
        &[
            (
                5,
                "channel push: setting \"topic\": \"ops alerts\" is not a topic name: use letters, digits, - and _, at most 64",
            ),
            (
                6,
                "channel push: setting \"priority\": 9 is out of range, use 1 to 5",
            ),
        ],
    );
    check(
        "id = \"push\"\nkind = \"ntfy\"\nurl = \"https://ntfy.sh\"\ntopic = \"ops\"\npriority = \"loud\"",
        &[(
            6,
            "channel push: setting \"priority\": \"loud\" is not one of \"1\", \"2\", \"3\", \"4\", \"5\", \"min\", \"low\", \"default\", \"high\", \"max\", \"urgent\"",
        )],
    );
}

#[test]
fn chat_webhook_problems() {
    check(
        "id = \"mm\"\nkind = \"mattermost\"\nurl = \"mm.example.com/hooks/x\"\nicon_url = \"icon.png\"\nchannel = \"\"",
        &[
            (
                4,
                "channel mm: setting \"url\": not a valid URL (relative URL without a base)",
            ),
            (
                5,
                "channel mm: setting \"icon_url\": not a valid URL (relative URL without a base)",
            ),
            (6, "channel mm: setting \"channel\": must not be empty"),
        ],
    );
    check(
        "id = \"rc\"\nkind = \"rocketchat\"\nurl = \"https://rc.example.com/hooks/a/b\"\nalias = 7\navatar = \"ftp://x.example/i.png\"",
        &[
            (
                5,
                "channel rc: setting \"alias\": expected a string, found a number",
            ),
            (
                6,
                "channel rc: setting \"avatar\": not an http or https URL (scheme `ftp`)",
            ),
        ],
    );
    check(
        "id = \"dc\"\nkind = \"discord\"\nurl = \"\"\navatar_url = \"x\"",
        &[
            (4, "channel dc: setting \"url\": must not be empty"),
            (
                5,
                "channel dc: setting \"avatar_url\": not a valid URL (relative URL without a base)",
            ),
        ],
    );
    // A Google Chat URL without its key and token was cut short when copied.
    check(
        "id = \"gc\"\nkind = \"googlechat\"\nurl = \"https://chat.googleapis.com/v1/spaces/A/messages?key=k\"",
        &[(
            4,
            "channel gc: setting \"url\": a Google Chat webhook URL carries `key` and `token` in its query (…/messages?key=…&token=…): copy the whole URL from the space's webhook settings",
        )],
    );
    let problem = &validate(&channel(
        "id = \"gc\"\nkind = \"googlechat\"\nurl = \"https://chat.googleapis.com/v1/spaces/A/messages\"",
    ))[0];
    assert_eq!(
        problem.display(Lang::Nl),
        "kanaal gc: instelling \"url\": een webhook-URL van Google Chat heeft `key` en `token` in de query (…/messages?key=…&token=…): kopieer de hele URL uit de webhookinstellingen van de ruimte"
    );
}

#[test]
fn matrix_problems() {
    check(
        "id = \"mx\"\nkind = \"matrix\"\nhomeserver = \"https://matrix.example.org/_matrix/client/v3\"\naccess_token = \"Bearer syt_abc\"\nroom = \"ops\"",
        &[
            (
                4,
                "channel mx: setting \"homeserver\": give the homeserver's base URL (https://matrix.example.org), without /_matrix/…",
            ),
            (
                5,
                "channel mx: setting \"access_token\": write the token alone, without `Bearer`",
            ),
            (
                6,
                "channel mx: setting \"room\": \"ops\" is neither a room id (!abc123:example.org) nor a room alias (#ops:example.org)",
            ),
        ],
    );
    check(
        "id = \"mx\"\nkind = \"matrix\"\nhomeserver = \"matrix.example.org\"\naccess_token = \"syt abc\"\nroom = \"#ops\"",
        &[
            (
                4,
                "channel mx: setting \"homeserver\": not a valid URL (relative URL without a base)",
            ),
            (
                5,
                "channel mx: setting \"access_token\": an access token holds no spaces, line breaks or characters outside ASCII",
            ),
            (
                6,
                "channel mx: setting \"room\": \"#ops\" is neither a room id (!abc123:example.org) nor a room alias (#ops:example.org)",
            ),
        ],
    );
    // An unset `${MATRIX_TOKEN:-}` arrives empty.
    check(
        "id = \"mx\"\nkind = \"matrix\"\nhomeserver = \"https://matrix.example.org\"\naccess_token = \"\"\nroom = \"!a:example.org\"",
        &[(5, "channel mx: setting \"access_token\": must not be empty")],
    );
    let problem = &validate(&channel(
        "id = \"mx\"\nkind = \"matrix\"\nhomeserver = \"https://matrix.example.org\"\naccess_token = \"t\"\nroom = \"ops\"",
    ))[0];
    assert_eq!(
        problem.display(Lang::Nl),
        "kanaal mx: instelling \"room\": \"ops\" is geen kamer-id (!abc123:example.org) en geen kameralias (#ops:example.org)"
    );
}

#[test]
fn http_template_problems() {
    // A template that does not parse: the line is the template's own.
    check(
        "id = \"sms\"\nkind = \"http_template\"\nurl = \"https://sms.example.com\"\nbody = \"\"\"\n{\"to\": {{ recipient.phone|tojson }},\n \"text\": {{ subject|tojson }\n}\"\"\"",
        &[(
            5,
            "channel sms: setting \"body\": template error on line 2: syntax error: unexpected `}`, expected end of variable block",
        )],
    );
    // One that parses but cannot render, found by rendering example notices.
    check(
        "id = \"sms\"\nkind = \"http_template\"\nurl = \"https://sms.example.com/{{ service.id|shout }}\"\nbody = \"x\"",
        &[(
            4,
            "channel sms: setting \"url\": template error on line 1: unknown filter: filter shout is unknown",
        )],
    );
    // One whose URL renders into something that is not a URL.
    check(
        "id = \"sms\"\nkind = \"http_template\"\nurl = \"{{ recipient.phone }}\"\nbody = \"x\"\nmethod = \"delete\"",
        &[(
            6,
            "channel sms: setting \"method\": \"delete\" is not one of \"post\", \"put\", \"patch\", \"get\"",
        )],
    );
    check(
        "id = \"sms\"\nkind = \"http_template\"\nurl = \"{{ recipient.phone }}\"\nbody = \"x\"",
        &[(
            4,
            "channel sms: setting \"url\": the template renders `+31612345678`: not a valid URL (relative URL without a base)",
        )],
    );
}

/// `timeout` and `ca_file` are read for every kind.
#[test]
fn common_settings() {
    let base = || channel("id = \"hook\"\nkind = \"webhook\"\nurl = \"https://x.example\"");
    let problems =
        |c: &Channel| -> Vec<String> { validate(c).iter().map(|p| p.to_string()).collect() };
    assert_eq!(
        problems(&with(base(), "timeout", text("fast"))),
        ["channel hook: setting \"timeout\": expected a number at `fast`"]
    );
    assert_eq!(
        problems(&with(base(), "timeout", text("0s"))),
        ["channel hook: setting \"timeout\": must be between 100ms and 10m"]
    );
    assert_eq!(
        problems(&with(base(), "timeout", SettingValue::Integer(5))),
        Vec::<String>::new()
    );
    let missing = problems(&with(base(), "ca_file", text("/nonexistent/ca.pem")));
    assert_eq!(missing.len(), 1);
    assert!(
        missing[0]
            .starts_with("channel hook: setting \"ca_file\": cannot read /nonexistent/ca.pem: "),
        "{missing:?}"
    );
    let dir = tempfile::tempdir().expect("temporary directory");
    let junk = dir.path().join("junk.pem");
    std::fs::write(&junk, "not a certificate").expect("write");
    let shown = junk.display().to_string();
    assert_eq!(
        problems(&with(base(), "ca_file", text(&shown))),
        [format!(
            "channel hook: setting \"ca_file\": {shown} holds no certificate"
        )]
    );
}
