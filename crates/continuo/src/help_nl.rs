//! Dutch `--help`: every text clap shows, in one place, laid over the English command.
//!
//! The English texts are the doc comments on the clap derive types; this module keeps
//! their Dutch twins, keyed by command path (`"incident declare"`, `""` for `continuo`
//! itself) and argument id. `localize` builds the command (so clap's own `--help`,
//! `--version` and `help` exist and global arguments are copied into every subcommand)
//! and then replaces texts, headings and the `[default: ..]`-style notes, which clap
//! only writes in English.
//!
//! **Invariant:** only texts change. Names, ids, value parsers and settings stay as
//! they are, so parsing, exit statuses and the English help are untouched.

use clap::builder::{PossibleValue, StyledStr};
use clap::{Arg, ArgAction, Command};
use std::collections::BTreeSet;

/// The `about` of every command.
const ABOUT: &[(&str, &str)] = &[
    (
        "",
        "Continuo: continuïteit van digitale diensten in één programma",
    ),
    (
        "init",
        "Schrijf een complete voorbeeldconfiguratie met uitleg voor een klein bedrijf; bestaande bestanden blijven staan",
    ),
    (
        "check",
        "Controleer de configuratie en toon een samenvatting; start niets",
    ),
    (
        "bia",
        "Toon de business-impactanalyse: herstelvolgorde, doelen, afhankelijkheden, \
         single points of failure, financiële risico's en de risicomatrix",
    ),
    (
        "serve",
        "Start de monitoring en de HTTP-server (API, metrics, heartbeat-pings)",
    ),
    (
        "status",
        "Toon de actuele toestand van een draaiende server",
    ),
    (
        "oncall",
        "Toon per rooster wie nu (of op --at) dienst heeft, volgens de configuratie",
    ),
    (
        "ack",
        "Bevestig een alert op een draaiende server (vraagt CONTINUO_TOKEN of \
         CONTINUO_ADMIN_TOKEN)",
    ),
    (
        "incident",
        "Incidenten op een draaiende server: list, show, declare, update, ack, resolve, \
         note, postmortem, stats (vraagt CONTINUO_TOKEN of CONTINUO_ADMIN_TOKEN)",
    ),
    (
        "incident list",
        "Toon de incidenten (standaard van de laatste 90 dagen)",
    ),
    (
        "incident show",
        "Toon één incident: diensten met RTO-aftelling, crisisteam, checklist, \
         deadlines, updates en tijdlijn",
    ),
    ("incident declare", "Meld met de hand een incident"),
    (
        "incident update",
        "Plaats een statusupdate en/of wijzig status, ernst of classificatie",
    ),
    (
        "incident ack",
        "Bevestig: je neemt het op je (de alerts escaleren niet verder)",
    ),
    ("incident resolve", "Los het op (de alerts ook)"),
    ("incident note", "Zet een notitie op de tijdlijn"),
    (
        "incident postmortem",
        "Schrijf de postmortem (Markdown) naar standaarduitvoer of een bestand",
    ),
    (
        "incident stats",
        "Gemiddelde tijd tot ontdekken, bevestigen, beperken en oplossen, en \
         overschreden RTO's",
    ),
    (
        "resolve",
        "Los een alert op op een draaiende server (vraagt CONTINUO_TOKEN of \
         CONTINUO_ADMIN_TOKEN)",
    ),
    (
        "gateway",
        "De failover-gateways van een draaiende server: status, drain, undrain, failback",
    ),
    (
        "gateway status",
        "Toon elke gateway: actieve laag, endpoints, recente gebeurtenissen",
    ),
    (
        "gateway drain",
        "Haal een endpoint uit roulatie (rol responder: CONTINUO_TOKEN of \
         CONTINUO_ADMIN_TOKEN)",
    ),
    (
        "gateway undrain",
        "Zet een leeggemaakt endpoint terug (vraagt CONTINUO_ADMIN_TOKEN)",
    ),
    (
        "gateway failback",
        "Zet het verkeer nu terug op de primaire laag (vraagt CONTINUO_ADMIN_TOKEN)",
    ),
    (
        "demo",
        "Draai een kleine gesimuleerde organisatie met Continuo erbij, en speel een \
         scenario: standaard een failover, een incident, meldingen, herstel en een \
         postmortem",
    ),
    (
        "user",
        "Gebruikers die inloggen op /login: add, list, remove, passwd, role",
    ),
    (
        "user add",
        "Voeg een gebruiker toe die kan inloggen op /login; vraagt om het wachtwoord",
    ),
    ("user list", "Toon de gebruikers en hun rollen"),
    (
        "user remove",
        "Verwijder een gebruiker; de sessies eindigen meteen",
    ),
    (
        "user passwd",
        "Stel een nieuw wachtwoord in; de sessies van de gebruiker eindigen meteen",
    ),
    (
        "user role",
        "Wijzig de rol van een gebruiker; die geldt meteen voor de sessies",
    ),
    ("token", "API-tokens voor programma's: add, list, revoke"),
    (
        "token add",
        "Maak een API-token (eenmalig getoond; stuur het mee als \
         `Authorization: Bearer <token>`)",
    ),
    ("token list", "Toon de tokens (nooit hun geheim)"),
    (
        "token revoke",
        "Trek een token in op naam of id; het wordt vanaf dan geweigerd",
    ),
    (
        "audit",
        "Toon het auditlog: elke wijziging, wie die deed en vanaf waar",
    ),
    (
        "posture",
        "Elke continuïteitsbewering naast het recentste bewijs ervoor: gehaald, \
         geschonden, verouderd of onbewezen; gereedheid per tier en foutbudgetten",
    ),
    (
        "evidence",
        "Bewijs: leg het met de hand vast (een audit, een test elders), of toon het",
    ),
    (
        "evidence add",
        "Leg bewijs met de hand vast (een externe audit, een test elders), gemarkeerd als \
         handmatig",
    ),
    ("evidence list", "Toon bewijs, nieuwste eerst"),
    (
        "report",
        "Rapporten uit gemeten feiten: het maandelijkse beschikbaarheidsrapport (SLA)",
    ),
    (
        "report availability",
        "Het beschikbaarheidsrapport (SLA) van een maand: per dienst gemeten \
         beschikbaarheid, uitval, SLO, foutbudget en incidenten",
    ),
];

/// The `help` of every argument: command path, argument id, text.
const ARGS: &[(&str, &str, &str)] = &[
    (
        "",
        "lang",
        "Taal van de uitvoer: `en` of `nl` (standaard: uit CONTINUO_LANG of LANG)",
    ),
    ("", "color", "Wanneer kleur te gebruiken"),
    (
        "init",
        "dir",
        "Map om in te schrijven (wordt gemaakt als die ontbreekt)",
    ),
    ("init", "force", "Overschrijf bestanden die al bestaan"),
    (
        "init",
        "full",
        "Schrijf het voorbeeld dat elk veld toont (optionele velden uitgecommentarieerd)",
    ),
    ("check", "config", "Het hoofdbestand van de configuratie"),
    (
        "check",
        "deny_warnings",
        "Behandel waarschuwingen als fout (exitstatus 1)",
    ),
    ("check", "format", "Hoe problemen te tonen"),
    ("bia", "config", "Het hoofdbestand van de configuratie"),
    ("bia", "format", "Uitvoerformaat"),
    ("serve", "config", "Het hoofdbestand van de configuratie"),
    (
        "serve",
        "listen",
        "Luister op dit adres in plaats van `[server] listen`",
    ),
    (
        "serve",
        "database",
        "Gebruik deze database in plaats van `[server] database`",
    ),
    (
        "serve",
        "log_format",
        "Hoe het logboek (op stderr) te schrijven: regels voor mensen, of één JSON-object per regel",
    ),
    (
        "serve",
        "log_level",
        "De minst ernstige gebeurtenissen van Continuo zelf die getoond worden (standaard \
         `info`; gaat voor RUST_LOG, dat ook niveaus per module kan zetten)",
    ),
    (
        "status",
        "url",
        "Basis-URL van de server (standaard: uit `[server] listen` van de configuratie)",
    ),
    (
        "status",
        "config",
        "De configuratie, om het adres van de server te vinden",
    ),
    ("status", "format", "Uitvoerformaat"),
    ("oncall", "config", "Het hoofdbestand van de configuratie"),
    (
        "oncall",
        "at",
        "Een moment: 2026-12-24T18:00 (tijdzone van de organisatie) of RFC 3339",
    ),
    ("oncall", "json", "Toon JSON"),
    (
        "ack",
        "alert",
        "Het id van de alert (zie GET /api/v1/alerts)",
    ),
    (
        "ack",
        "url",
        "Basis-URL van de server (standaard: uit `[server] listen` van de configuratie)",
    ),
    (
        "ack",
        "config",
        "De configuratie, om het adres van de server te vinden",
    ),
    ("ack", "by", "Wie bevestigt"),
    (
        "incident",
        "url",
        "Basis-URL van de server (standaard: uit `[server] listen` van de configuratie)",
    ),
    (
        "incident",
        "config",
        "De configuratie, om het adres van de server te vinden",
    ),
    (
        "incident list",
        "status",
        "Alleen `open`, of één status (investigating, identified, monitoring, resolved)",
    ),
    (
        "incident list",
        "from",
        "Vanaf (RFC 3339 of lokale datum en tijd)",
    ),
    ("incident list", "until", "Tot"),
    ("incident list", "json", "Toon JSON"),
    ("incident show", "id", "Id van het incident (INC-3)"),
    ("incident show", "json", "Toon JSON"),
    ("incident declare", "title", "Wat er mis is, in één regel"),
    (
        "incident declare",
        "services",
        "Een getroffen dienst (herhaal voor meer)",
    ),
    (
        "incident declare",
        "severity",
        "SEV1..SEV4 (afgeleid uit de diensten als je die weglaat)",
    ),
    ("incident declare", "by", "Wie het meldt"),
    ("incident update", "id", "Id van het incident"),
    (
        "incident update",
        "status",
        "investigating, identified, monitoring of resolved",
    ),
    (
        "incident update",
        "message",
        "Je eigen woorden voor de update",
    ),
    (
        "incident update",
        "audience",
        "customers (openbaar), internal of management",
    ),
    ("incident update", "severity", "SEV1..SEV4"),
    (
        "incident update",
        "significant",
        "Classificeer als significant (NIS2) / major (DORA): true of false",
    ),
    (
        "incident update",
        "roles",
        "Geef iemand een crisisrol: incident_commander=anna (herhaalbaar)",
    ),
    (
        "incident update",
        "done",
        "Vink een herstelstap af: DIENST:STAP (herhaalbaar)",
    ),
    (
        "incident update",
        "submitted",
        "Markeer een melding aan de toezichthouder als ingediend: nis2-early-warning \
         (herhaalbaar)",
    ),
    ("incident update", "by", "Wie"),
    ("incident ack", "id", "Id van het incident"),
    ("incident ack", "by", "Wie"),
    ("incident resolve", "id", "Id van het incident"),
    (
        "incident resolve",
        "message",
        "Een afsluitend woord voor klanten",
    ),
    ("incident resolve", "by", "Wie"),
    ("incident note", "id", "Id van het incident"),
    ("incident note", "text", "De notitie"),
    ("incident note", "by", "Wie"),
    ("incident postmortem", "id", "Id van het incident"),
    (
        "incident postmortem",
        "out",
        "Schrijf hem hierheen in plaats van naar standaarduitvoer",
    ),
    (
        "incident postmortem",
        "actions",
        "Voeg een actiepunt toe: \"titel\" of \"titel;eigenaar;2026-12-01\" (herhaalbaar)",
    ),
    (
        "incident stats",
        "from",
        "Vanaf (RFC 3339 of lokale datum en tijd); standaard 90 dagen geleden",
    ),
    ("incident stats", "until", "Tot; standaard nu"),
    ("incident stats", "json", "Toon JSON"),
    ("resolve", "alert", "Het id van de alert"),
    (
        "resolve",
        "url",
        "Basis-URL van de server (standaard: uit `[server] listen` van de configuratie)",
    ),
    (
        "resolve",
        "config",
        "De configuratie, om het adres van de server te vinden",
    ),
    ("resolve", "by", "Wie oplost"),
    (
        "gateway",
        "url",
        "Basis-URL van de server (standaard: uit `[server] listen` van de configuratie)",
    ),
    (
        "gateway",
        "config",
        "De configuratie, om het adres van de server te vinden",
    ),
    ("gateway status", "json", "Toon JSON"),
    ("gateway drain", "gateway", "Het id van de gateway"),
    (
        "gateway drain",
        "endpoint",
        "De naam van het endpoint (zijn `name`, anders zijn URL)",
    ),
    ("gateway undrain", "gateway", "Het id van de gateway"),
    ("gateway undrain", "endpoint", "De naam van het endpoint"),
    ("gateway failback", "gateway", "Het id van de gateway"),
    ("demo", "scenario", "Het verhaal om te spelen"),
    (
        "demo",
        "dir",
        "Map voor de configuratie, database en postmortem (standaard: een nieuwe \
         onder de tijdelijke map)",
    ),
    (
        "demo",
        "keep",
        "Bewaar de tijdelijke map na de demo (anders wordt die verwijderd)",
    ),
    (
        "demo",
        "headless",
        "Speel het scenario zonder op Enter te wachten, en stop dan met een samenvatting",
    ),
    (
        "demo",
        "duration",
        "Faal als het scenario niet binnen deze tijd klaar is (standaard: 90s headless)",
    ),
    (
        "demo",
        "log_format",
        "Hoe het logboek (op stderr) te schrijven: regels voor mensen, of één JSON-object per regel",
    ),
    (
        "demo",
        "log_level",
        "De minst ernstige gebeurtenissen van Continuo zelf die getoond worden (standaard \
         `info`; gaat voor RUST_LOG, dat ook niveaus per module kan zetten)",
    ),
    (
        "user",
        "config",
        "Het hoofdbestand van de configuratie (de `[server] database` ervan wordt gebruikt)",
    ),
    (
        "user",
        "database",
        "Gebruik deze database in plaats van die uit de configuratie",
    ),
    (
        "user add",
        "name",
        "De naam om mee in te loggen (letters, cijfers, . _ - @)",
    ),
    (
        "user add",
        "role",
        "viewer (leest), responder (bevestigt, lost op, onderhoud) of admin",
    ),
    (
        "user add",
        "password_stdin",
        "Lees het wachtwoord uit de eerste regel van standaardinvoer in plaats van erom te \
         vragen",
    ),
    ("user remove", "name", "De gebruiker"),
    ("user passwd", "name", "De gebruiker"),
    (
        "user passwd",
        "password_stdin",
        "Lees het wachtwoord uit de eerste regel van standaardinvoer in plaats van erom te \
         vragen",
    ),
    ("user role", "name", "De gebruiker"),
    ("user role", "role", "viewer, responder of admin"),
    (
        "token",
        "config",
        "Het hoofdbestand van de configuratie (de `[server] database` ervan wordt gebruikt)",
    ),
    (
        "token",
        "database",
        "Gebruik deze database in plaats van die uit de configuratie",
    ),
    (
        "token add",
        "name",
        "Een naam voor mensen, bijv. het programma dat het gaat gebruiken",
    ),
    ("token add", "role", "viewer, responder of admin"),
    ("token revoke", "token", "Naam of id van het token"),
    ("audit", "limit", "Hoeveel regels, nieuwste eerst"),
    ("audit", "json", "Toon JSON"),
    (
        "audit",
        "config",
        "Het hoofdbestand van de configuratie (de `[server] database` ervan wordt gebruikt)",
    ),
    (
        "audit",
        "database",
        "Gebruik deze database in plaats van die uit de configuratie",
    ),
    (
        "posture",
        "config",
        "Het hoofdbestand van de configuratie (de catalogus, en de `[server] database` ervan)",
    ),
    (
        "posture",
        "database",
        "Gebruik deze database in plaats van die uit de configuratie",
    ),
    ("posture", "service", "Alleen de beweringen van deze dienst"),
    ("posture", "format", "Uitvoerformaat"),
    (
        "posture",
        "fail_on",
        "Eindig met status 1 als een bewering geschonden is (`breached`), of geschonden of \
         verouderd (`stale`); voor CI-poorten",
    ),
    (
        "evidence",
        "config",
        "Het hoofdbestand van de configuratie (de catalogus, en de `[server] database` ervan)",
    ),
    (
        "evidence",
        "database",
        "Gebruik deze database in plaats van die uit de configuratie",
    ),
    (
        "evidence add",
        "claim",
        "De bewering: rto, rpo, redundancy, runbook_current, escalation_reachable, \
         availability, plan_reviewed, ...",
    ),
    (
        "evidence add",
        "subject",
        "Waarover het gaat: service:ID of organization",
    ),
    ("evidence add", "outcome", "Wat het laat zien"),
    (
        "evidence add",
        "value",
        "Wat er gemeten is: een duur (42m) of een percentage (99.9%)",
    ),
    (
        "evidence add",
        "observed",
        "Wanneer het gemeten is: RFC 3339, een lokale datum en tijd of een datum \
         (standaard: nu)",
    ),
    (
        "evidence add",
        "note",
        "Wat het is en waar het bewijs bewaard wordt (de notitie bij de bijlage)",
    ),
    ("evidence add", "by", "Wie het vastlegt (standaard: $USER)"),
    ("evidence list", "claim", "Alleen deze bewering"),
    (
        "evidence list",
        "subject",
        "Alleen dit onderwerp: service:ID of organization",
    ),
    ("evidence list", "limit", "Hoogstens zoveel (0: alles)"),
    ("evidence list", "format", "Uitvoerformaat"),
    (
        "report",
        "config",
        "Het hoofdbestand van de configuratie (de catalogus, en de `[server] database` ervan)",
    ),
    (
        "report",
        "database",
        "Gebruik deze database in plaats van die uit de configuratie",
    ),
    ("report availability", "month", "De maand: JJJJ-MM"),
    ("report availability", "service", "Alleen deze dienst"),
    ("report availability", "format", "Uitvoerformaat"),
];

/// The `help` of every possible value: command path, argument id, value, text.
const VALUES: &[(&str, &str, &str, &str)] = &[
    (
        "",
        "color",
        "auto",
        "Kleur op een terminal, tenzij NO_COLOR gezet is",
    ),
    ("", "color", "always", "Altijd kleur"),
    ("", "color", "never", "Nooit kleur"),
    (
        "check",
        "format",
        "human",
        "Een rapport met het stukje bron, voor mensen",
    ),
    (
        "check",
        "format",
        "short",
        "Eén regel per probleem: `pad:regel:kolom: fout[code]: melding`, dan `help:`",
    ),
    (
        "check",
        "format",
        "json",
        "Een JSON-array, voor programma's",
    ),
    (
        "bia",
        "format",
        "table",
        "Uitgelijnde kolommen voor een terminal",
    ),
    ("bia", "format", "json", "JSON voor programma's"),
    (
        "bia",
        "format",
        "markdown",
        "Markdown voor documenten en wiki's",
    ),
    ("status", "format", "table", "Een tabel per dienst"),
    ("status", "format", "json", "De JSON van de API"),
    (
        "serve",
        "log_format",
        "text",
        "Eén regel per gebeurtenis voor mensen (in kleur op een terminal)",
    ),
    (
        "serve",
        "log_format",
        "json",
        "Eén JSON-object per regel: tijdstip, niveau, bron, bericht en de velden",
    ),
    ("serve", "log_level", "error", "Alleen storingen"),
    (
        "serve",
        "log_level",
        "warn",
        "Storingen en wat een beheerder moet bekijken",
    ),
    (
        "serve",
        "log_level",
        "info",
        "Wat er gebeurt: luisteren, herladen, gateway-gebeurtenissen, afsluiten",
    ),
    (
        "serve",
        "log_level",
        "debug",
        "Details om een probleem te vinden",
    ),
    ("serve", "log_level", "trace", "Alles"),
    (
        "demo",
        "log_format",
        "text",
        "Eén regel per gebeurtenis voor mensen (in kleur op een terminal)",
    ),
    (
        "demo",
        "log_format",
        "json",
        "Eén JSON-object per regel: tijdstip, niveau, bron, bericht en de velden",
    ),
    ("demo", "log_level", "error", "Alleen storingen"),
    (
        "demo",
        "log_level",
        "warn",
        "Storingen en wat een beheerder moet bekijken",
    ),
    (
        "demo",
        "log_level",
        "info",
        "Wat er gebeurt: luisteren, herladen, gateway-gebeurtenissen, afsluiten",
    ),
    (
        "demo",
        "log_level",
        "debug",
        "Details om een probleem te vinden",
    ),
    ("demo", "log_level", "trace", "Alles"),
    (
        "demo",
        "scenario",
        "full",
        "De hele cyclus: een failover, dan een storing van de gedeelde database met een \
         incident, oproepen, een update op de statuspagina, herstel en een postmortem",
    ),
    (
        "demo",
        "scenario",
        "failover",
        "De primaire server van de webshop valt uit en komt terug: failover en failback \
         zonder één mislukt klantverzoek en zonder iemand op te roepen",
    ),
    (
        "demo",
        "scenario",
        "outage",
        "De gedeelde database valt uit: één incident met de grondoorzaak gegroepeerd, \
         oproepen, een bevestiging, een update op de statuspagina, herstel en een \
         postmortem",
    ),
    (
        "demo",
        "scenario",
        "backup",
        "De back-upjob start en blijft hangen: de gemiste heartbeat valt op binnen de \
         respijttijd en het mogelijke dataverlies wordt afgewogen tegen de RPO",
    ),
    (
        "posture",
        "format",
        "table",
        "Een tabel per onderwerp (in kleur op een terminal)",
    ),
    (
        "posture",
        "format",
        "json",
        "Een stabiel JSON-document voor programma's",
    ),
    (
        "posture",
        "format",
        "markdown",
        "Markdown voor documenten en wiki's",
    ),
    ("posture", "fail_on", "breached", "Een bewering geschonden"),
    (
        "posture",
        "fail_on",
        "stale",
        "Een bewering geschonden of verouderd",
    ),
    (
        "evidence add",
        "outcome",
        "met",
        "Het ondersteunt de bewering",
    ),
    (
        "evidence add",
        "outcome",
        "breached",
        "Het spreekt de bewering tegen",
    ),
    (
        "evidence add",
        "outcome",
        "inconclusive",
        "Het beslist niets",
    ),
    (
        "evidence list",
        "format",
        "table",
        "Eén regel per bewijsstuk",
    ),
    ("evidence list", "format", "json", "JSON voor programma's"),
    (
        "report availability",
        "format",
        "markdown",
        "Markdown voor documenten",
    ),
    (
        "report availability",
        "format",
        "csv",
        "CSV voor spreadsheets: één regel per dienst",
    ),
    (
        "report availability",
        "format",
        "json",
        "JSON voor programma's",
    ),
    (
        "demo",
        "scenario",
        "maintenance",
        "Gepland onderhoud: payments gaat plat binnen een onderhoudsvenster; de \
         statuspagina meldt het en niemand wordt opgeroepen",
    ),
];

/// Clap's own texts: the `help` subcommand and the `-h`/`-V` flags.
const HELP_SUBCOMMAND: &str = "Toon dit bericht of de hulp bij de gegeven opdracht(en)";
const HELP_FLAG: &str = "Toon hulp";
const HELP_FLAG_SHORT: &str = "Toon hulp (meer met '--help')";
const HELP_FLAG_LONG: &str = "Toon hulp (een samenvatting met '-h')";
const VERSION_FLAG: &str = "Toon de versie";

/// Builds `command` and puts every text of it in Dutch. Parse with the result directly:
/// it is already built, so clap does not add its English flags again.
pub fn localize(command: Command) -> Command {
    localize_with(command, &mut Report::default())
}

/// Which entries a walk used, and which items it found without an entry (for the tests).
#[derive(Default)]
struct Report {
    used: BTreeSet<String>,
    missing: BTreeSet<String>,
}

fn localize_with(mut command: Command, report: &mut Report) -> Command {
    command.build();
    walk(command, "", &[], report)
}

/// Puts `command` (at `path`, below the paths in `outer`) and its subcommands in Dutch.
fn walk(mut command: Command, path: &str, outer: &[&str], report: &mut Report) -> Command {
    let styles = command.get_styles().clone();
    command = dutch_frame(command);
    if let Some(text) = about(path, report) {
        // One Dutch text serves `-h` and `--help`: none of our commands has a second
        // paragraph.
        command = command.about(text).long_about(None::<&str>);
    }
    let mut scope: Vec<&str> = outer.to_vec();
    scope.push(path);
    command = command.mut_args(|arg| localize_arg(arg, &scope, &styles, report));
    for sub in command.get_subcommands_mut() {
        let name = sub.get_name().to_owned();
        let taken = std::mem::take(sub);
        *sub = if name == "help" {
            help_subcommand(taken, path)
        } else {
            let sub_path = join(path, &name);
            walk(taken, &sub_path, &scope, report)
        };
    }
    command
}

/// Clap's words around the texts: the headings and the usage line.
fn dutch_frame(mut command: Command) -> Command {
    let usage = command.get_styles().get_usage();
    // Clap's default template, with the `Usage:` heading in Dutch.
    let template = format!(
        "{{before-help}}{{about-with-newline}}\n{usage}Gebruik:{usage:#} {{usage}}\n\n{{all-args}}{{after-help}}"
    );
    let line = dutch_usage(&mut command);
    command
        .help_template(template)
        .subcommand_help_heading("Opdrachten")
        .override_usage(line)
}

/// The usage line without its `Usage:` heading, with clap's words `[OPTIONS]` and
/// `COMMAND` in Dutch; the value names (`<TITLE>`) come from our field names and stay.
fn dutch_usage(command: &mut Command) -> StyledStr {
    // `ansi()` keeps the styles; `StyledStr` drops them again when colour is off.
    let usage = command.render_usage().ansi().to_string();
    let body = usage
        .split_once("Usage:")
        .map_or(usage.as_str(), |(_, rest)| rest);
    let body = body.split_once(' ').map_or(body, |(_, rest)| rest);
    StyledStr::from(
        body.replace("[OPTIONS]", "[OPTIES]")
            .replace("COMMAND", "OPDRACHT"),
    )
}

/// Clap's `help` subcommand, and under it the copies of the command tree it offers.
fn help_subcommand(command: Command, parent: &str) -> Command {
    fn copies(mut command: Command, path: &str) -> Command {
        for sub in command.get_subcommands_mut() {
            let sub_path = join(path, sub.get_name());
            let found = if sub.get_name() == "help" {
                Some(HELP_SUBCOMMAND)
            } else {
                lookup_about(&sub_path)
            };
            let mut taken = std::mem::take(sub);
            if let Some(text) = found {
                taken = taken.about(text);
            }
            *sub = copies(taken, &sub_path);
        }
        command
    }
    // Built in full by `Command::build`, it names the commands as subcommands of its own
    // and has no arguments.
    copies(dutch_frame(command).about(HELP_SUBCOMMAND), parent)
}

fn localize_arg(
    arg: Arg,
    scope: &[&str],
    styles: &clap::builder::Styles,
    report: &mut Report,
) -> Arg {
    let heading = if arg.is_positional() {
        "Argumenten"
    } else {
        "Opties"
    };
    let mut arg = if arg.get_help_heading().is_none() {
        arg.help_heading(heading)
    } else {
        arg
    };
    // Under a heading of its own clap sorts by display order, then by name; keep the
    // positional arguments in the order they are typed, as under `Arguments:`.
    if let Some(index) = arg.get_index() {
        arg = arg.display_order(index);
    }
    match arg.get_action() {
        ArgAction::Help | ArgAction::HelpShort | ArgAction::HelpLong => {
            return if arg.get_long_help().is_some() {
                arg.help(HELP_FLAG_SHORT).long_help(HELP_FLAG_LONG)
            } else {
                arg.help(HELP_FLAG)
            };
        }
        ArgAction::Version => return arg.help(VERSION_FLAG),
        _ => {}
    }
    let id = arg.get_id().as_str().to_owned();
    // A global argument is copied into every subcommand: look for it where it was
    // declared, from the nearest command outwards.
    let places: Vec<&str> = if arg.is_global_set() {
        scope.iter().rev().copied().collect()
    } else {
        scope.last().copied().into_iter().collect()
    };
    let Some((path, text)) = places
        .iter()
        .find_map(|path| lookup_arg(path, &id).map(|text| (*path, text)))
    else {
        report.missing.insert(format!(
            "argument `{id}` of {}",
            shown(scope[scope.len() - 1])
        ));
        return arg;
    };
    report.used.insert(format!("{path}\t{id}"));

    let values: Vec<PossibleValue> = arg
        .get_possible_values()
        .into_iter()
        .filter(|value| !value.is_hide_set())
        .collect();
    let mut dutch_values = Vec::new();
    for value in &values {
        let name = value.get_name();
        match lookup_value(path, &id, name) {
            Some(help) => {
                report.used.insert(format!("{path}\t{id}\t{name}"));
                dutch_values.push((name.to_owned(), help));
            }
            None if value.get_help().is_some() => {
                let item = format!("value `{name}` of `{id}` of {}", shown(path));
                report.missing.insert(item);
            }
            None => {}
        }
    }
    let values_have_help = values.iter().any(|value| value.get_help().is_some());

    // Clap writes `[env: ..]`, `[default: ..]` and `[possible values: ..]` in English;
    // hide them and write them here.
    let context = styles.get_context();
    let note = |label: &str, value: String| {
        format!("{context}[{label}: {context:#}{value}{context}]{context:#}")
    };
    let mut notes = Vec::new();
    if let Some(name) = arg.get_env().filter(|_| !arg.is_hide_env_set()) {
        let value = if arg.is_hide_env_values_set() {
            String::new()
        } else {
            let current = std::env::var_os(name).unwrap_or_default();
            format!("={}", current.to_string_lossy())
        };
        notes.push(note(
            "omgevingsvariabele",
            format!("{}{value}", name.to_string_lossy()),
        ));
    }
    if arg.get_action().takes_values()
        && !arg.is_hide_default_value_set()
        && !arg.get_default_values().is_empty()
    {
        let defaults: Vec<_> = arg
            .get_default_values()
            .iter()
            .map(|value| value.to_string_lossy())
            .collect();
        notes.push(note("standaard", defaults.join(" ")));
    }
    let mut short_notes = notes.clone();
    if !values.is_empty() && !arg.is_hide_possible_values_set() {
        let names: Vec<&str> = values.iter().map(PossibleValue::get_name).collect();
        short_notes.push(note("mogelijke waarden", names.join(", ")));
    }

    let mut short = text.to_owned();
    if !short_notes.is_empty() {
        short = format!("{short} {}", short_notes.join(" "));
    }
    let mut long = text.to_owned();
    if values_have_help && !arg.is_hide_possible_values_set() {
        let literal = styles.get_literal();
        let width = values.iter().map(|v| v.get_name().len()).max().unwrap_or(0);
        long.push_str("\n\nMogelijke waarden:");
        for (name, help) in &dutch_values {
            let padding = width - name.len();
            long.push_str(&format!(
                "\n- {literal}{name}{literal:#}: {:padding$}{help}",
                ""
            ));
        }
    } else if !values.is_empty() && !arg.is_hide_possible_values_set() {
        notes = short_notes;
    }
    if !notes.is_empty() {
        long = format!("{long}\n\n{}", notes.join(" "));
    }
    arg.help(short)
        .long_help(long)
        .hide_env(true)
        .hide_default_value(true)
        .hide_possible_values(true)
}

fn about(path: &str, report: &mut Report) -> Option<&'static str> {
    let found = lookup_about(path);
    match found {
        Some(_) => {
            report.used.insert(path.to_owned());
        }
        None => {
            report.missing.insert(format!("about of {}", shown(path)));
        }
    }
    found
}

fn lookup_about(path: &str) -> Option<&'static str> {
    ABOUT
        .iter()
        .find(|(p, _)| *p == path)
        .map(|(_, text)| *text)
}

fn lookup_arg(path: &str, id: &str) -> Option<&'static str> {
    ARGS.iter()
        .find(|(p, i, _)| *p == path && *i == id)
        .map(|(_, _, text)| *text)
}

fn lookup_value(path: &str, id: &str, value: &str) -> Option<&'static str> {
    VALUES
        .iter()
        .find(|(p, i, v, _)| *p == path && *i == id && *v == value)
        .map(|(_, _, _, text)| *text)
}

/// How a command path reads in a test failure: `continuo incident declare`.
fn shown(path: &str) -> String {
    format!("`continuo {path}`").replace(" `", "`")
}

fn join(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_owned()
    } else {
        format!("{path} {name}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn walked() -> Report {
        let mut report = Report::default();
        localize_with(crate::Cli::command(), &mut report);
        report
    }

    #[test]
    fn every_command_argument_and_value_has_a_dutch_text() {
        let report = walked();
        assert!(
            report.missing.is_empty(),
            "add these to help_nl.rs:\n{}",
            report.missing.into_iter().collect::<Vec<_>>().join("\n")
        );
    }

    #[test]
    fn every_dutch_text_belongs_to_something_that_exists() {
        let used = walked().used;
        let keys = ABOUT
            .iter()
            .map(|(path, _)| (*path).to_owned())
            .chain(ARGS.iter().map(|(path, id, _)| format!("{path}\t{id}")))
            .chain(
                VALUES
                    .iter()
                    .map(|(path, id, value, _)| format!("{path}\t{id}\t{value}")),
            );
        let stale: Vec<String> = keys.filter(|key| !used.contains(key)).collect();
        assert!(
            stale.is_empty(),
            "these Dutch texts match nothing in the CLI (renamed or removed?):\n{}",
            stale.join("\n")
        );
    }

    #[test]
    fn each_entry_appears_once() {
        let mut seen = BTreeSet::new();
        for key in ABOUT
            .iter()
            .map(|(path, _)| (*path).to_owned())
            .chain(ARGS.iter().map(|(path, id, _)| format!("{path}\t{id}")))
            .chain(
                VALUES
                    .iter()
                    .map(|(path, id, value, _)| format!("{path}\t{id}\t{value}")),
            )
        {
            assert!(seen.insert(key.clone()), "{key:?} is listed twice");
        }
    }
}
