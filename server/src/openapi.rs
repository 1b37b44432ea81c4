//! `GET /openapi.json`: the OpenAPI 3.1 document of every route, generated from the protocol
//! crate: the paths are its constants (`authcore_protocol::paths`), the request and answer schemas
//! its types (`utoipa::ToSchema`, derived under its `openapi` feature), so a field added there
//! shows here. Each operation names its path parameters, its body and its answer; every refusal
//! is an [`ErrorBody`].

use std::borrow::Cow;

use authcore_protocol::device::{
    HEADER_DEVICE_ID, HEADER_NONCE, HEADER_SIGNATURE, HEADER_TIMESTAMP,
};
use authcore_protocol::devices::Attestation;
use authcore_protocol::{ErrorBody, ErrorCode};
use axum::extract::State;
use axum::Json;
use utoipa::openapi::path::{
    HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn, PathItem, PathsBuilder,
};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::schema::{ComponentsBuilder, ObjectBuilder, Schema, Type};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{
    Content, InfoBuilder, OpenApi, OpenApiBuilder, Ref, RefOr, Required, ResponseBuilder, Server,
};
use utoipa::ToSchema;

use crate::AppState;

mod endpoints;

use endpoints::endpoints;

/// The component schemas a document refers to, by name.
type Schemas = Vec<(String, RefOr<Schema>)>;

/// A protocol type as a schema: its component name and how to collect it with those it refers
/// to.
#[derive(Clone, Copy)]
struct Wire {
    name: fn() -> Cow<'static, str>,
    collect: fn(&mut Schemas),
}

fn wire<T: ToSchema>() -> Wire {
    fn collect<T: ToSchema>(schemas: &mut Schemas) {
        schemas.push((T::name().into_owned(), T::schema()));
        T::schemas(schemas);
    }
    Wire {
        name: T::name,
        collect: collect::<T>,
    }
}

impl Wire {
    /// A `$ref` to the type's schema, which is added to `schemas`.
    fn refer(self, schemas: &mut Schemas) -> Ref {
        (self.collect)(schemas);
        Ref::from_schema_name((self.name)())
    }
}

/// A field of a form body: its name, whether every request carries it, what it is.
type Field = (&'static str, bool, &'static str);

enum Body {
    None,
    Json(Wire),
    /// `application/x-www-form-urlencoded` (the OAuth endpoints), described field by field.
    Form(&'static [Field]),
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Auth {
    None,
    /// `Authorization: Bearer <access token>`.
    Bearer,
    /// A signed device request (docs/protocol.md, "Signed device requests"); `activate` is signed
    /// by the key it registers, so it has no device id yet.
    Signed {
        device_id: bool,
    },
}

struct Endpoint {
    method: HttpMethod,
    path: &'static str,
    summary: &'static str,
    auth: Auth,
    /// Every `{name}` of `path`, with what it is.
    params: &'static [(&'static str, &'static str)],
    query: &'static [(&'static str, &'static str)],
    body: Body,
    /// The success status and answer (`None`: any JSON object).
    status: u16,
    answer: Option<Wire>,
    /// A browser endpoint: answers a plain HTML page or a 302 instead of JSON.
    page: bool,
    errors: &'static [ErrorCode],
}

impl Endpoint {
    fn new(method: HttpMethod, path: &'static str, summary: &'static str) -> Endpoint {
        Endpoint {
            method,
            path,
            summary,
            auth: Auth::None,
            params: &[],
            query: &[],
            body: Body::None,
            status: 200,
            answer: None,
            page: false,
            errors: &[],
        }
    }

    fn auth(self, auth: Auth) -> Endpoint {
        Endpoint { auth, ..self }
    }

    fn params(self, params: &'static [(&'static str, &'static str)]) -> Endpoint {
        Endpoint { params, ..self }
    }

    fn query(self, query: &'static [(&'static str, &'static str)]) -> Endpoint {
        Endpoint { query, ..self }
    }

    fn body(self, body: Body) -> Endpoint {
        Endpoint { body, ..self }
    }

    fn answers(self, status: u16, answer: Wire) -> Endpoint {
        Endpoint {
            status,
            answer: Some(answer),
            ..self
        }
    }

    fn page(self) -> Endpoint {
        Endpoint { page: true, ..self }
    }

    fn errors(self, errors: &'static [ErrorCode]) -> Endpoint {
        Endpoint { errors, ..self }
    }
}

fn string_schema() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::String)
}

fn parameter(
    name: &str,
    place: ParameterIn,
    required: bool,
    description: &str,
) -> ParameterBuilder {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(place)
        .required(if required {
            Required::True
        } else {
            Required::False
        })
        .description(Some(description))
        .schema(Some(string_schema()))
}

/// A form's schema: its fields as strings, the ones every request carries required.
fn form_schema(fields: &[Field]) -> ObjectBuilder {
    fields.iter().fold(
        ObjectBuilder::new(),
        |object, (name, required, description)| {
            let object = object.property(*name, string_schema().description(Some(*description)));
            if *required {
                object.required(*name)
            } else {
                object
            }
        },
    )
}

fn json(schema: impl Into<RefOr<Schema>>) -> Content {
    Content::new(Some(schema))
}

fn operation(e: &Endpoint, schemas: &mut Schemas) -> utoipa::openapi::path::Operation {
    let mut op = OperationBuilder::new().summary(Some(e.summary));
    for (name, description) in e.params {
        op = op.parameter(parameter(name, ParameterIn::Path, true, description));
    }
    for (name, description) in e.query {
        op = op.parameter(parameter(name, ParameterIn::Query, false, description));
    }
    match e.auth {
        Auth::None => {}
        Auth::Bearer => op = op.security(SecurityRequirement::new("bearer", Vec::<String>::new())),
        Auth::Signed { device_id } => {
            let signed = [
                (HEADER_DEVICE_ID, "The device id (`device_id`)."),
                (
                    HEADER_TIMESTAMP,
                    "Unix seconds; within 5 minutes of the server's clock.",
                ),
                (
                    HEADER_NONCE,
                    "16 to 64 characters of A-Z a-z 0-9 - _, never reused.",
                ),
                (
                    HEADER_SIGNATURE,
                    "base64url ECDSA P-256 signature of the canonical request message.",
                ),
            ];
            let signed = signed
                .into_iter()
                .filter(|(name, _)| device_id || *name != HEADER_DEVICE_ID);
            for (name, description) in signed {
                op = op.parameter(parameter(name, ParameterIn::Header, true, description));
            }
        }
    }
    let body = match &e.body {
        Body::None => None,
        Body::Json(wire) => Some(("application/json", json(wire.refer(schemas)))),
        Body::Form(fields) => Some((
            "application/x-www-form-urlencoded",
            json(form_schema(fields)),
        )),
    };
    if let Some((media, content)) = body {
        op = op.request_body(Some(
            RequestBodyBuilder::new()
                .required(Some(Required::True))
                .content(media, content)
                .build(),
        ));
    }
    if e.page {
        op = op
            .response(
                "200",
                ResponseBuilder::new()
                    .description("a plain page")
                    .content("text/html", Content::new(Some(string_schema()))),
            )
            .response(
                "302",
                ResponseBuilder::new().description("a redirect to the registered URI"),
            );
    } else {
        let answer = match e.answer {
            Some(wire) => json(wire.refer(schemas)),
            None => json(ObjectBuilder::new().schema_type(Type::Object)),
        };
        op = op.response(
            e.status.to_string(),
            ResponseBuilder::new()
                .description("success")
                .content("application/json", answer),
        );
    }
    if !e.errors.is_empty() {
        let codes: Vec<&str> = e.errors.iter().map(|c| c.as_str()).collect();
        op = op.response(
            "4XX",
            ResponseBuilder::new()
                .description(format!("error: {}", codes.join(", ")))
                .content("application/json", json(wire::<ErrorBody>().refer(schemas))),
        );
    }
    op.build()
}

fn document_of(issuer: &str) -> OpenApi {
    let mut schemas = Schemas::new();
    // utoipa does not collect a generic argument's schema: the attestation of ActivateRequest.
    (wire::<Attestation>().collect)(&mut schemas);
    let mut paths = PathsBuilder::new();
    for e in endpoints() {
        let operation = operation(&e, &mut schemas);
        paths = paths.path(e.path, PathItem::new(e.method, operation));
    }
    OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("authcore identity server")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some("See docs/protocol.md for the full contract."))
                .build(),
        )
        .servers(Some([Server::new(issuer)]))
        .paths(paths.build())
        .components(Some(
            ComponentsBuilder::new()
                .schemas_from_iter(schemas)
                .security_scheme(
                    "bearer",
                    SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
                )
                .build(),
        ))
        .build()
}

pub async fn document(State(app): State<AppState>) -> Json<OpenApi> {
    Json(document_of(&app.issuer))
}

#[cfg(test)]
mod tests;
