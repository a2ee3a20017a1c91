//! The report queue (with filters), a report's page (the reported posts, the account's recent
//! posts, earlier reports and strikes, the remote outcome) and its forms: assign, act on the
//! account (which resolves the report), resolve without action.

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{Html, IntoResponse, Redirect, Response};
use cohort_model::Id;
use cohort_store::{Page, ReportFilter, ReportRecord};
use serde_json::Value;

use super::{PageRefusal, Session, acct, failure, form, layout, refused, session};
use crate::error::ApiError;
use crate::params::Params;
use crate::routes::shared::{account_json, parse_id, visible_statuses};
use crate::state::ApiState;
use crate::text::escape;

/// The queue's filters, from the query string.
struct QueueFilter {
    category: String,
    origin: String,
    assigned: String,
    resolved: bool,
}

impl QueueFilter {
    fn from(params: &Params) -> QueueFilter {
        let get = |k: &str| params.string(k).unwrap_or_default();
        QueueFilter {
            category: get("category"),
            origin: get("origin"),
            assigned: get("assigned"),
            resolved: get("resolved") == "1",
        }
    }

    fn keeps(&self, report: &ReportRecord, me: Id) -> bool {
        (self.category.is_empty() || report.category == self.category)
            && match self.origin.as_str() {
                "local" => report.origin_domain.is_none(),
                "remote" => report.origin_domain.is_some(),
                _ => true,
            }
            && match self.assigned.as_str() {
                "me" => report.assigned == Some(me),
                "nobody" => report.assigned.is_none(),
                _ => true,
            }
    }
}

fn select(name: &str, current: &str, options: &[(&str, &str)]) -> String {
    let mut out = format!("<select name=\"{name}\" id=\"filter-{name}\">");
    for (value, label) in options {
        let selected = if *value == current { " selected" } else { "" };
        out.push_str(&format!(
            "<option value=\"{}\"{selected}>{}</option>",
            escape(value),
            escape(label)
        ));
    }
    out.push_str("</select>");
    out
}

/// `GET /admin/reports?category=&origin=local|remote&assigned=me|nobody&resolved=1`: the
/// queue, most urgent first (priority, then newest).
pub async fn reports(
    State(state): State<ApiState>,
    headers: HeaderMap,
    params: Params,
) -> Response {
    let session = match session(&state, &headers).await {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let filter = QueueFilter::from(&params);
    let listed = state
        .store
        .reports(&ReportFilter {
            resolved: Some(filter.resolved),
            by_priority: true,
            limit: 200,
            ..ReportFilter::default()
        })
        .await;
    let listed = match listed {
        Ok(r) => r,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let mut categories: Vec<(&str, &str)> = vec![("", "any category")];
    categories.extend(
        cohort_moderation::Category::ALL
            .iter()
            .map(|c| (c.as_str(), c.as_str())),
    );
    let filters = format!(
        "<form method=\"get\" action=\"/admin/reports\" id=\"filters\">{}{}{}{}<button type=\"submit\">Filter</button></form>",
        select("category", &filter.category, &categories),
        select(
            "origin",
            &filter.origin,
            &[
                ("", "local and remote"),
                ("local", "filed here"),
                ("remote", "from other instances")
            ]
        ),
        select(
            "assigned",
            &filter.assigned,
            &[
                ("", "anyone"),
                ("me", "assigned to me"),
                ("nobody", "unassigned")
            ]
        ),
        select(
            "resolved",
            if filter.resolved { "1" } else { "" },
            &[("", "open"), ("1", "resolved")]
        ),
    );
    let mut rows = String::new();
    for report in listed
        .iter()
        .filter(|r| filter.keeps(r, session.auth.account.id))
    {
        let target = account_json(&state, report.target)
            .await
            .map(|a| acct(&a))
            .unwrap_or_default();
        let assigned = match report.assigned {
            Some(a) => account_json(&state, a)
                .await
                .map(|a| acct(&a))
                .unwrap_or_default(),
            None => String::new(),
        };
        rows.push_str(&format!(
            "<tr class=\"report\"><td><a href=\"/admin/reports/{id}\" id=\"report-{id}\">#{id}</a></td><td>{priority}</td>\
             <td>{category}</td><td>@{target}</td><td>{origin}</td><td>{assigned}</td><td>{created}</td></tr>",
            id = report.id,
            priority = report.priority,
            category = escape(&report.category),
            target = escape(&target),
            origin = escape(report.origin_domain.as_ref().map_or("here", |d| d.as_str())),
            assigned = escape(&assigned),
            created = escape(&crate::entities::datetime(report.created_at)),
        ));
    }
    if rows.is_empty() {
        rows.push_str("<tr><td colspan=\"7\">No report matches.</td></tr>");
    }
    Html(layout(
        &state,
        Some(&session),
        "Reports",
        &format!(
            "{filters}<table id=\"queue\"><tr><th>Report</th><th>Priority</th><th>Category</th><th>Account</th>\
             <th>From</th><th>Assigned</th><th>Filed</th></tr>{rows}</table>"
        ),
    ))
    .into_response()
}

fn render_status(status: &Value) -> String {
    format!(
        "<article><p class=\"meta\">@{} · {} · {}</p>{}</article>",
        escape(&acct(&status["account"])),
        escape(status["created_at"].as_str().unwrap_or_default()),
        escape(status["visibility"].as_str().unwrap_or_default()),
        // Content is HTML this server produced (escaped local text) or cleaned with ammonia.
        status["content"].as_str().unwrap_or_default(),
    )
}

async fn detail(
    state: &ApiState,
    session: &Session,
    report: &ReportRecord,
) -> Result<String, ApiError> {
    let viewer = session.auth.viewer();
    let target = account_json(state, report.target).await?;
    let moderation = state.store.moderation_state(report.target).await?;
    let reporter = match report.reporter {
        Some(r) => format!("@{}", acct(&account_json(state, r).await?)),
        None => format!(
            "a moderator of {} (anonymous)",
            report.origin_domain.as_ref().map_or("?", |d| d.as_str())
        ),
    };
    let mut body = format!(
        "<section id=\"summary\"><p><strong>About:</strong> @{target} · <strong>Category:</strong> {category} \
         (priority {priority}) · <strong>Filed by:</strong> {reporter}</p><p><strong>Comment:</strong> {comment}</p>\
         <p><strong>State:</strong> <span id=\"report-state\">{state_text}</span>{note}{remote}</p>\
         <p><strong>Account:</strong> {flags}</p></section>",
        target = escape(&acct(&target)),
        category = escape(&report.category),
        priority = report.priority,
        reporter = escape(&reporter),
        comment = escape(&report.comment),
        state_text = if report.action_taken_at.is_some() {
            "resolved"
        } else {
            "open"
        },
        note = report
            .resolution_note
            .as_deref()
            .map_or(String::new(), |n| format!(" · outcome: {}", escape(n))),
        remote = report
            .remote_resolution
            .as_deref()
            .map_or(String::new(), |n| format!(
                " · <strong>the other instance answered:</strong> {}",
                escape(n)
            )),
        flags = escape(
            &[
                ("suspended", moderation.suspended_at.is_some()),
                ("limited", moderation.silenced_at.is_some()),
                ("disabled", moderation.disabled_at.is_some()),
                ("sensitive", moderation.sensitized_at.is_some()),
            ]
            .iter()
            .filter(|(_, on)| *on)
            .map(|(name, _)| *name)
            .collect::<Vec<_>>()
            .join(", ")
        ),
    );
    body.push_str("<section><h2>Reported posts</h2>");
    let reported = visible_statuses(state, &viewer, &report.status_ids).await?;
    if reported.is_empty() {
        body.push_str("<p>None (or none you can see).</p>");
    }
    for status in &reported {
        body.push_str(&render_status(status));
    }
    body.push_str("</section><section><h2>Recent posts</h2>");
    let recent_ids = state
        .store
        .account_status_ids(
            report.target,
            Page {
                limit: 5,
                ..Page::default()
            },
        )
        .await?;
    for status in visible_statuses(state, &viewer, &recent_ids).await? {
        body.push_str(&render_status(&status));
    }
    body.push_str("</section><section><h2>Earlier reports and strikes</h2><ul>");
    let earlier = state
        .store
        .reports(&ReportFilter {
            target: Some(report.target),
            resolved: None,
            limit: 20,
            ..ReportFilter::default()
        })
        .await?;
    for r in earlier.iter().filter(|r| r.id != report.id) {
        body.push_str(&format!(
            "<li><a href=\"/admin/reports/{id}\">report #{id}</a>: {category}{outcome}</li>",
            id = r.id,
            category = escape(&r.category),
            outcome = r
                .resolution_note
                .as_deref()
                .map_or(String::new(), |n| format!(" ({})", escape(n))),
        ));
    }
    for strike in state.store.strikes_of(report.target).await? {
        body.push_str(&format!(
            "<li>strike: {} on {}{}</li>",
            escape(&strike.action),
            escape(&crate::entities::datetime(strike.created_at)),
            if strike.overruled_at.is_some() {
                " (overruled on appeal)"
            } else {
                ""
            }
        ));
    }
    body.push_str("</ul></section>");
    if report.action_taken_at.is_none() {
        let csrf = session.csrf_field();
        body.push_str(&format!(
            "<section><h2>Decide</h2>\
             <form method=\"post\" action=\"/admin/reports/{id}/assign\">{csrf}<button type=\"submit\">Assign to me</button></form>\
             <form method=\"post\" action=\"/admin/reports/{id}/action\" id=\"action-form\">{csrf}\
             <label for=\"type\">Action on the account</label><select name=\"type\" id=\"type\">\
             <option value=\"none\">warn (a strike, nothing else)</option>\
             <option value=\"delete_statuses\">delete the reported posts</option>\
             <option value=\"sensitive\">mark sensitive</option>\
             <option value=\"silence\">limit</option>\
             <option value=\"disable\">disable sign-in</option>\
             <option value=\"suspend\">suspend</option></select>\
             <label for=\"warning_text\">Told to the account (its strike)</label><textarea name=\"warning_text\" id=\"warning_text\" rows=\"2\"></textarea>\
             <label for=\"text\">Private reason (mod log)</label><input type=\"text\" name=\"text\" id=\"text\">\
             <label for=\"resolution_note\">Outcome told to the reporter</label><input type=\"text\" name=\"resolution_note\" id=\"resolution_note\">\
             <button type=\"submit\" id=\"act\">Act and resolve</button></form>\
             <form method=\"post\" action=\"/admin/reports/{id}/resolve\" id=\"resolve-form\">{csrf}\
             <label for=\"resolve_note\">Outcome told to the reporter</label><input type=\"text\" name=\"resolution_note\" id=\"resolve_note\">\
             <button type=\"submit\" id=\"resolve\">Resolve without action</button></form></section>",
            id = report.id,
        ));
    }
    Ok(body)
}

/// `GET /admin/reports/:id`.
pub async fn report_page(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let session = match session(&state, &headers).await {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let report = match parse_id(&id) {
        Ok(id) => state.store.report(id).await.map_err(ApiError::from),
        Err(e) => Err(e),
    };
    let report = match report {
        Ok(r) => r,
        Err(e) => return failure(e),
    };
    match detail(&state, &session, &report).await {
        Ok(body) => Html(layout(
            &state,
            Some(&session),
            &format!("Report #{}", report.id),
            &body,
        ))
        .into_response(),
        Err(e) => failure(e),
    }
}

/// The signed-in session and its report, for a POST checked for CSRF.
async fn posted(
    state: &ApiState,
    headers: &HeaderMap,
    id: &str,
    params: &Params,
) -> Result<(Session, ReportRecord), PageRefusal> {
    let session = session(state, headers).await?;
    session.check_csrf(params.string("csrf").as_deref())?;
    let id = parse_id(id).map_err(|e| Box::new(failure(e)))?;
    let report = state
        .store
        .report(id)
        .await
        .map_err(|e| Box::new(failure(e.into())))?;
    Ok((session, report))
}

fn back_to(report: Id) -> Response {
    Redirect::to(&format!("/admin/reports/{report}")).into_response()
}

/// `POST /admin/reports/:id/action`: `type`, `warning_text`, `text`, `resolution_note`, as
/// the admin API's account action with this report.
pub async fn report_action(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    params: Params,
) -> Response {
    let (session, report) = match posted(&state, &headers, &id, &params).await {
        Ok(p) => p,
        Err(r) => return *r,
    };
    let get = |k: &str| params.string(k).unwrap_or_default();
    let api_params = form(&[
        ("type", get("type")),
        ("report_id", report.id.to_string()),
        ("warning_text", get("warning_text")),
        ("text", get("text")),
        ("resolution_note", get("resolution_note")),
    ]);
    match crate::routes::admin::account_action(
        State(state.clone()),
        session.auth,
        Path(report.target.to_string()),
        api_params,
    )
    .await
    {
        Ok(_) => back_to(report.id),
        Err(e) => refused(e),
    }
}

/// `POST /admin/reports/:id/resolve`: resolves without action, with `resolution_note`.
pub async fn report_resolve(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    params: Params,
) -> Response {
    let (session, report) = match posted(&state, &headers, &id, &params).await {
        Ok(p) => p,
        Err(r) => return *r,
    };
    let api_params = form(&[(
        "resolution_note",
        params.string("resolution_note").unwrap_or_default(),
    )]);
    match crate::routes::admin::resolve(
        State(state.clone()),
        session.auth,
        Path(report.id.to_string()),
        api_params,
    )
    .await
    {
        Ok(_) => back_to(report.id),
        Err(e) => refused(e),
    }
}

/// `POST /admin/reports/:id/assign`: assigns the report to the signed-in moderator.
pub async fn report_assign(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    params: Params,
) -> Response {
    let (session, report) = match posted(&state, &headers, &id, &params).await {
        Ok(p) => p,
        Err(r) => return *r,
    };
    match crate::routes::admin::assign_to_self(
        State(state.clone()),
        session.auth,
        Path(report.id.to_string()),
        Params::default(),
    )
    .await
    {
        Ok(_) => back_to(report.id),
        Err(e) => refused(e),
    }
}
