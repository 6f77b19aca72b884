//! `GET /api/v1/openapi.json`: the API description, generated from the handlers' annotations.

use actix_web::{HttpResponse, get};
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};

use super::{admin, appointments, catalog, feed, health, precheck, queue, rooms, staff, webhooks};

#[derive(OpenApi)]
#[openapi(
    info(title = "Loket API", description = "Booking, calendars and consultation rooms of a public service mall (MPP)."),
    paths(
        health::healthz, health::readyz, health::metrics,
        catalog::list_agencies, catalog::list_services, catalog::get_service, catalog::slots,
        appointments::book, appointments::current, appointments::confirm,
        appointments::resend_code, appointments::reschedule, appointments::cancel,
        appointments::ics_file, appointments::survey, appointments::offers, appointments::recover,
        appointments::recover_verify, webhooks::whatsapp_handshake, webhooks::whatsapp_statuses_doc,
        staff::needing_new_time, admin::outbox,
        staff::login, staff::logout, staff::get_me, staff::team, staff::list_appointments,
        staff::complete, staff::no_show, staff::undo_no_show, staff::cancel, staff::reassign,
        staff::get_hours, staff::put_hours, staff::list_closures, staff::add_closure,
        staff::remove_closure, staff::calendar_feed, staff::list_holidays, staff::add_holiday,
        staff::remove_holiday, staff::add_staff, feed::feed,
        admin::add_agency, admin::list_services, admin::add_service, admin::edit_service,
        admin::import_catalogue, admin::export_catalogue, admin::reports, admin::export_citizen, admin::erase_citizen,
        rooms::create_ticket, rooms::ws, rooms::ws_in_room,
        precheck::config, precheck::offer, precheck::result,
        queue::take, queue::current, queue::leave, queue::events, queue::next, queue::recall,
        queue::skip, queue::serve, queue::priority, queue::move_ticket, queue::staff_lines,
        queue::staff_events, queue::daily_cap, queue::board, queue::board_events,
    ),
    modifiers(&Security),
    tags((name = "catalogue"), (name = "appointments"), (name = "staff"), (name = "admin"), (name = "rooms"), (name = "queue"), (name = "operations"), (name = "webhooks"))
)]
pub struct ApiDoc;

struct Security;

impl utoipa::Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "citizen_token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
        components.add_security_scheme(
            "queue_token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
        components.add_security_scheme(
            "staff_session",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

#[get("/openapi.json")]
pub async fn openapi_json(_: super::extract::OpsAccess) -> HttpResponse {
    HttpResponse::Ok().json(ApiDoc::openapi())
}

/// The methods the API answers at `path` (a concrete path such as `/api/v1/services/pbg`), from
/// the API description: every documented path is a route, with the same `{name}` segments.
pub fn methods_at(path: &str) -> Vec<&'static str> {
    use std::sync::LazyLock;
    static ROUTES: LazyLock<Vec<(actix_web::dev::ResourceDef, Vec<&'static str>)>> =
        LazyLock::new(|| {
            ApiDoc::openapi()
                .paths
                .paths
                .iter()
                .map(|(pattern, item)| {
                    let methods = [
                        ("GET", item.get.is_some()),
                        ("POST", item.post.is_some()),
                        ("PUT", item.put.is_some()),
                        ("PATCH", item.patch.is_some()),
                        ("DELETE", item.delete.is_some()),
                    ]
                    .into_iter()
                    .filter(|(_, has)| *has)
                    .map(|(m, _)| m)
                    .collect();
                    (actix_web::dev::ResourceDef::new(pattern.as_str()), methods)
                })
                .collect()
        });
    let mut out: Vec<&'static str> = ROUTES
        .iter()
        .filter(|(def, _)| def.is_match(path))
        .flat_map(|(_, methods)| methods.iter().copied())
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}
