//! `/status/feed.atom`: the public incidents as an Atom feed (RFC 4287), one entry per
//! incident with its customer updates, newest first.

use super::model::PublicView;
use continuo_core::Lang;
use continuo_core::subscribers::rfc3339;
use continuo_core::tr;

/// Escapes text for XML content and attributes.
pub(crate) fn xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Characters XML 1.0 does not allow are dropped.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {}
            c => out.push(c),
        }
    }
    out
}

/// The feed.
pub(crate) fn atom(view: &PublicView, base: &str, lang: Lang) -> String {
    let page_url = format!("{base}/status");
    let title = tr!("{} incidents", "{} storingen"; view.page.name);
    let mut out = String::with_capacity(4096);
    out.push_str("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n");
    out.push_str(&format!(
        "<feed xmlns=\"http://www.w3.org/2005/Atom\" xml:lang=\"{}\">\n",
        lang.code()
    ));
    out.push_str(&format!("  <title>{}</title>\n", xml(title.get(lang))));
    // Ids must be absolute and stable: from `public_url` when set, else a URN of the
    // page's id (links are then relative to this server).
    let id_of = |fragment: &str| {
        if base.is_empty() {
            format!("urn:continuo:{}:{fragment}", view.page.id)
        } else {
            format!("{page_url}#{fragment}")
        }
    };
    out.push_str(&format!(
        "  <id>{}</id>\n",
        xml(&id_of(&format!("page-{}", view.page.id)))
    ));
    out.push_str(&format!(
        "  <link rel=\"alternate\" type=\"text/html\" href=\"{}\"/>\n",
        xml(&page_url)
    ));
    out.push_str(&format!(
        "  <link rel=\"self\" type=\"application/atom+xml\" href=\"{}\"/>\n",
        xml(&format!("{base}/status/feed.atom"))
    ));
    out.push_str(&format!(
        "  <updated>{}</updated>\n",
        rfc3339(view.updated_ms)
    ));
    out.push_str(&format!(
        "  <author><name>{}</name></author>\n",
        xml(&view.page.name)
    ));
    for i in &view.incidents {
        let link = format!("{page_url}#{}", i.id);
        let mut content = String::new();
        for u in &i.updates {
            content.push_str(&format!(
                "<p><strong>{}</strong> ({}): {}</p>",
                xml(u.status.text().get(lang)),
                rfc3339(u.at_ms),
                xml(u.body.get(lang))
            ));
        }
        out.push_str("  <entry>\n");
        out.push_str(&format!("    <id>{}</id>\n", xml(&id_of(&i.id))));
        out.push_str(&format!("    <title>{}</title>\n", xml(i.name.get(lang))));
        out.push_str(&format!(
            "    <link rel=\"alternate\" type=\"text/html\" href=\"{}\"/>\n",
            xml(&link)
        ));
        out.push_str(&format!(
            "    <published>{}</published>\n",
            rfc3339(i.created_ms)
        ));
        out.push_str(&format!(
            "    <updated>{}</updated>\n",
            rfc3339(i.updated_ms)
        ));
        out.push_str(&format!(
            "    <summary>{}</summary>\n",
            xml(i.status.text().get(lang))
        ));
        out.push_str(&format!(
            "    <content type=\"html\">{}</content>\n",
            xml(&content)
        ));
        out.push_str("  </entry>\n");
    }
    out.push_str("</feed>\n");
    out
}
