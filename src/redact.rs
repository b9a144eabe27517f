//! The one redaction policy for everything that shows or stores a URL, a header or a setting:
//! failure reasons, logs, job results, the delivery log, the pages, `diffsettings`, errors.
//!
//! - A URL keeps its scheme, host, port, path and query names; its userinfo (user name and
//!   password, whichever slot holds the secret) becomes `***`, every query value `***`, and the
//!   fragment is dropped. Optionally the path goes too (`scheme://host[:port]/…`), for services
//!   that carry their secret in the path (Slack, Discord, Teams); see [`hides_path`].
//! - A header with a sensitive name (see [`is_sensitive_name`]) shows `***` for its value.
//!
//! It works on the text as written, without parsing it as a URL first, so that templates
//! (`https://{{ host }}/x?key={{ k }}`), unparsable values and URLs inside error messages are
//! hidden by the same rules, and what is shown is what the operator wrote, minus the secrets.

/// What stands where a secret was.
pub const HIDDEN: &str = "***";

/// Parts of a header or setting name that mark its value as a secret.
const SENSITIVE_PARTS: &[&str] = &[
    "token",
    "secret",
    "key",
    "password",
    "passwd",
    "auth",
    "credential",
    "cookie",
];

/// Whether a header's (or setting's, or query parameter's) value is a secret: `Authorization`,
/// `Proxy-Authorization`, `Cookie`, and any name containing token, secret, key, password or
/// auth, in any case.
pub fn is_sensitive_name(name: &str) -> bool {
    // Without allocating: deliveries ask this of every header they send.
    let name = name.as_bytes();
    SENSITIVE_PARTS.iter().any(|part| {
        name.windows(part.len())
            .any(|window| window.eq_ignore_ascii_case(part.as_bytes()))
    })
}

/// A header's value as it may be shown: [`HIDDEN`] for a sensitive name.
pub fn header<'a>(name: &str, value: &'a str) -> &'a str {
    if is_sensitive_name(name) && !value.is_empty() {
        HIDDEN
    } else {
        value
    }
}

/// Header text of `Name: value` lines (`additional_headers`, a template or not) with the
/// values of sensitive headers hidden; lines without `:` are kept as they are.
pub fn headers_text(text: &str) -> String {
    text.split_inclusive('\n')
        .map(|line| match line.split_once(':') {
            Some((name, value)) if is_sensitive_name(name) && !value.trim().is_empty() => {
                let end = if line.ends_with("\r\n") {
                    "\r\n"
                } else if line.ends_with('\n') {
                    "\n"
                } else {
                    ""
                };
                format!("{name}: {HIDDEN}{end}")
            }
            _ => line.to_string(),
        })
        .collect()
}

/// A URL as it may be shown: userinfo and query values hidden, fragment dropped, path kept.
pub fn url(text: &str) -> String {
    shown(text, false)
}

/// A URL with its path hidden as well: `scheme://host[:port]/…`.
pub fn url_without_path(text: &str) -> String {
    shown(text, true)
}

/// A webhook's URL as it may be shown, with its `redact_path` setting: `Some(true)` hides the
/// path, `Some(false)` shows it, `None` hides it for the services known to carry their secret in
/// the path.
pub fn webhook_url(text: &str, redact_path: Option<bool>) -> String {
    shown(text, hides_path(text, redact_path))
}

/// Whether a webhook's path is hidden: as `redact_path` says, else for the well-known services
/// whose webhook URLs are a secret in the path: Slack (`hooks.slack.com`), Discord
/// (`discord.com/api/webhooks`), Microsoft Teams (`*.webhook.office.com`,
/// `outlook.office.com/webhook`).
pub fn hides_path(text: &str, redact_path: Option<bool>) -> bool {
    redact_path.unwrap_or_else(|| secret_in_path(text))
}

/// Whether the URL is one of a service whose webhook URLs carry their secret in the path.
pub fn secret_in_path(text: &str) -> bool {
    let parts = Parts::of(text);
    let host = parts.host().to_ascii_lowercase();
    let path = parts.path.to_ascii_lowercase();
    host == "hooks.slack.com"
        || (matches!(
            host.as_str(),
            "discord.com" | "discordapp.com" | "canary.discord.com" | "ptb.discord.com"
        ) && path.starts_with("/api/webhooks"))
        || host.ends_with(".webhook.office.com")
        || (host == "outlook.office.com" && path.starts_with("/webhook"))
}

/// Free text (an error message) with every URL in it (`scheme://` up to white space, a quote or
/// a parenthesis) shown as [`url`] shows it.
pub fn urls_in(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(found) = rest.find("://") {
        let start = rest[..found]
            .rfind(|c: char| !(c.is_ascii_alphanumeric() || "+.-".contains(c)))
            .map_or(0, |i| i + 1);
        if start == found {
            out.push_str(&rest[..found + 3]);
            rest = &rest[found + 3..];
            continue;
        }
        let end = rest[found..]
            .find(|c: char| c.is_whitespace() || "\"'<>`()".contains(c))
            .map_or(rest.len(), |i| found + i);
        // Punctuation closing a sentence or a clause is not part of the URL.
        let end = start
            + rest[start..end]
                .trim_end_matches(['.', ',', ':', ';'])
                .len();
        out.push_str(&rest[..start]);
        out.push_str(&url(&rest[start..end]));
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// A URL cut into the pieces the policy treats differently.
struct Parts<'a> {
    /// `https://`, or empty when the text has no scheme (a template's `{{ base }}/x`).
    scheme: &'a str,
    /// `user:password@host:port`, or `host:port`.
    authority: &'a str,
    path: &'a str,
    /// Without the `?`; `None` when there is no `?`.
    query: Option<&'a str>,
}

impl<'a> Parts<'a> {
    fn of(text: &'a str) -> Self {
        let text = without_fragment(text);
        let (scheme, rest) = match text.find("://") {
            Some(at) if at > 0 && is_scheme(&text[..at]) => text.split_at(at + 3),
            _ => ("", text),
        };
        let (authority, rest) = if scheme.is_empty() {
            ("", rest)
        } else {
            rest.split_at(rest.find(['/', '?']).unwrap_or(rest.len()))
        };
        let (path, query) = match rest.split_once('?') {
            Some((path, query)) => (path, Some(query)),
            None => (rest, None),
        };
        Self {
            scheme,
            authority,
            path,
            query,
        }
    }

    /// The host, without userinfo and port.
    fn host(&self) -> &'a str {
        let host = self
            .authority
            .rsplit_once('@')
            .map_or(self.authority, |(_, h)| h);
        match host.rsplit_once(':') {
            Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
            _ => host,
        }
    }
}

fn is_scheme(text: &str) -> bool {
    text.starts_with(|c: char| c.is_ascii_alphabetic())
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+.-".contains(c))
}

/// The text before its fragment; a `#` of a Jinja2 comment (`{#`, `#}`) is not one.
fn without_fragment(text: &str) -> &str {
    let bytes = text.as_bytes();
    let fragment = bytes.iter().enumerate().position(|(i, &b)| {
        b == b'#' && (i == 0 || bytes[i - 1] != b'{') && bytes.get(i + 1) != Some(&b'}')
    });
    fragment.map_or(text, |at| &text[..at])
}

fn shown(text: &str, hide_path: bool) -> String {
    let parts = Parts::of(text);
    let mut out = String::with_capacity(text.len());
    out.push_str(parts.scheme);
    match parts.authority.rsplit_once('@') {
        Some((_, host)) => {
            out.push_str(HIDDEN);
            out.push('@');
            out.push_str(host);
        }
        None => out.push_str(parts.authority),
    }
    if hide_path {
        if !parts.path.is_empty() && parts.path != "/" || parts.query.is_some() {
            out.push_str("/…");
        } else {
            out.push_str(parts.path);
        }
        return out;
    }
    out.push_str(parts.path);
    if let Some(query) = parts.query {
        out.push('?');
        for (i, pair) in query.split('&').enumerate() {
            if i > 0 {
                out.push('&');
            }
            match pair.split_once('=') {
                Some((name, value)) if !value.is_empty() => {
                    out.push_str(name);
                    out.push('=');
                    out.push_str(HIDDEN);
                }
                _ => out.push_str(pair),
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hides_both_userinfo_slots_query_values_and_the_fragment() {
        for (given, shown) in [
            ("redis://:pw@db:6379/0", "redis://***@db:6379/0"),
            ("redis://user:pw@db:6379/0", "redis://***@db:6379/0"),
            ("redis://PASSWORD@127.0.0.1:1", "redis://***@127.0.0.1:1"),
            ("redis://db:6379/0", "redis://db:6379/0"),
            (
                "https://x.example/h?api_key=S&debug&empty=#frag",
                "https://x.example/h?api_key=***&debug&empty=",
            ),
            ("http://u:p@proxy:3128", "http://***@proxy:3128"),
            ("https://x.example", "https://x.example"),
            (
                "{{ base }}/x?key={{ data.k }}&a=1",
                "{{ base }}/x?key=***&a=***",
            ),
            (
                "https://x/{# note #}{{ data.id }}#s",
                "https://x/{# note #}{{ data.id }}",
            ),
            ("not a url", "not a url"),
        ] {
            assert_eq!(url(given), shown, "{given}");
        }
    }

    #[test]
    fn hides_paths_when_asked_and_for_well_known_services() {
        assert_eq!(
            url_without_path("https://u:p@hooks.example:8443/T1/B2/sec?x=1"),
            "https://***@hooks.example:8443/…"
        );
        assert_eq!(url_without_path("https://h.example/"), "https://h.example/");
        let slack = "https://hooks.slack.com/services/T0/B0/XXXX";
        assert_eq!(webhook_url(slack, None), "https://hooks.slack.com/…");
        assert_eq!(webhook_url(slack, Some(false)), slack);
        assert!(secret_in_path("https://discord.com/api/webhooks/1/abc"));
        assert!(!secret_in_path("https://discord.com/channels/1"));
        assert!(secret_in_path(
            "https://acme.webhook.office.com/webhookb2/x"
        ));
        assert!(!secret_in_path("https://example.com/services/x"));
        assert_eq!(
            webhook_url("https://example.com/a?k=v", Some(true)),
            "https://example.com/…"
        );
    }

    #[test]
    fn names_sensitive_headers_in_any_case() {
        for name in [
            "Authorization",
            "proxy-authorization",
            "COOKIE",
            "X-Api-Key",
            "X-Auth-Token",
            "client_secret",
            "X-Password",
        ] {
            assert!(is_sensitive_name(name), "{name}");
            assert_eq!(header(name, "v"), HIDDEN);
        }
        assert_eq!(header("Content-Type", "text/plain"), "text/plain");
        assert_eq!(
            headers_text("Authorization: Bearer abc\nX-Name: one\r\nX-Api-Key:k\nbare"),
            "Authorization: ***\nX-Name: one\r\nX-Api-Key: ***\nbare"
        );
    }

    #[test]
    fn hides_urls_inside_messages() {
        assert_eq!(
            urls_in("error sending request for url (http://u:p@h/x?key=s): refused"),
            "error sending request for url (http://***@h/x?key=***): refused"
        );
        assert_eq!(
            urls_in("\"redis://pw@h:1/0\" and ://odd"),
            "\"redis://***@h:1/0\" and ://odd"
        );
    }
}
