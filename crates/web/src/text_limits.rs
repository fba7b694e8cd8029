//! The limits on what operators write into incidents ([`limits`], from the incident
//! book), checked where the text enters: the API's incident routes and the dashboard's
//! incident forms both call [`within_limits`] before a change reaches the book, so a
//! long text is refused with the field and the limit named, in English and Dutch.

use continuo_core::incident::book::limits;
use continuo_core::{Text, tr};
use continuo_engine::incidents::Op;

/// Refuses a text longer than `limit` characters, naming the field and the limit.
pub(crate) fn limited(field: &str, value: &str, limit: usize) -> Result<(), Text> {
    let length = value.chars().count();
    if length <= limit {
        return Ok(());
    }
    Err(tr!(
        "`{field}` is {length} characters long; at most {limit} are taken",
        "`{field}` is {length} tekens lang; er worden er hoogstens {limit} aangenomen"
    ))
}

/// Every free text of an operator's change within its limit ([`limits`]). The API and
/// the dashboard's forms both pass here before the change reaches the incident book.
pub(crate) fn within_limits(op: &Op) -> Result<(), Text> {
    use limits::{LINE, LINES, NAME, TEXT, TITLE};
    match op {
        Op::Declare { title, .. } => limited("title", title, TITLE),
        Op::Change(change) => change
            .title
            .as_deref()
            .map_or(Ok(()), |t| limited("title", t, TITLE)),
        Op::Update { message, .. } => message
            .as_deref()
            .map_or(Ok(()), |m| limited("message", m, TEXT)),
        Op::Note(text) => limited("text", text, TEXT),
        Op::Assign(_, person) => limited("person", person, NAME),
        Op::Tick(service, _, _) => limited("service", service, NAME),
        Op::Submit(key) => limited("key", key, NAME),
        Op::AddAction(title, owner, due) => {
            limited("title", title, TITLE)?;
            limited("owner", owner.as_deref().unwrap_or_default(), NAME)?;
            limited("due", due.as_deref().unwrap_or_default(), NAME)
        }
        Op::Review(review) => {
            for (field, text) in [
                ("summary", &review.summary),
                ("root_causes", &review.root_causes),
                ("trigger", &review.trigger),
                ("resolution", &review.resolution),
            ] {
                limited(field, text.as_deref().unwrap_or_default(), TEXT)?;
            }
            for (field, lines) in [
                ("went_well", &review.went_well),
                ("went_wrong", &review.went_wrong),
                ("lucky", &review.lucky),
            ] {
                let count = lines.len();
                if count > LINES {
                    return Err(tr!(
                        "`{field}` has {count} lines; at most {LINES} are taken",
                        "`{field}` heeft {count} regels; er worden er hoogstens {LINES} aangenomen"
                    ));
                }
                for line in lines {
                    limited(field, line, LINE)?;
                }
            }
            Ok(())
        }
        Op::Acknowledge | Op::Action(..) => Ok(()),
    }
}
