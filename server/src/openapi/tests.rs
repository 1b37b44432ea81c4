use std::collections::BTreeSet;

use authcore_protocol::paths;
use serde_json::Value;

use super::*;

fn document() -> Value {
    serde_json::to_value(document_of("http://127.0.0.1:8080")).unwrap()
}

/// The component schema a `{"$ref": "#/components/schemas/X"}` names.
fn resolve<'a>(doc: &'a Value, reference: &Value) -> &'a Value {
    let name = reference["$ref"]
        .as_str()
        .and_then(|r| r.strip_prefix("#/components/schemas/"))
        .unwrap_or_else(|| panic!("not a schema reference: {reference}"));
    let schema = &doc["components"]["schemas"][name];
    assert!(schema.is_object(), "{name} is not in components.schemas");
    schema
}

fn required(schema: &Value) -> BTreeSet<&str> {
    schema["required"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|v| v.as_str().unwrap())
        .collect()
}

fn operations(doc: &Value) -> Vec<(&str, &str, &Value)> {
    let mut operations = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            operations.push((path.as_str(), method.as_str(), operation));
        }
    }
    operations
}

#[test]
fn every_routed_path_is_documented_and_nothing_else() {
    let doc = document();
    let routed: BTreeSet<&str> = crate::routes::routes(true)
        .into_iter()
        .map(|(p, _)| p)
        .collect();
    let documented: BTreeSet<&str> = doc["paths"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(routed, documented);
}

#[test]
fn path_parameters_are_declared() {
    let doc = document();
    let mut declared_any = 0;
    for (path, method, operation) in operations(&doc) {
        let in_path: BTreeSet<&str> = path
            .split('/')
            .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
            .collect();
        let declared: BTreeSet<&str> = operation["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|p| p["in"] == "path")
            .map(|p| {
                assert_eq!(p["required"], true, "{method} {path}: {p}");
                assert!(p["description"].is_string(), "{method} {path}: {p}");
                p["name"].as_str().unwrap()
            })
            .collect();
        assert_eq!(declared, in_path, "{method} {path}");
        declared_any += declared.len();
    }
    // GET, PATCH, DELETE /v1/me/devices/{id}, its confirm, the enrollment, the decision and
    // DELETE /v1/me/app-passwords/{id} and /v1/me/sessions/{id}.
    assert_eq!(declared_any, 8);
}

#[test]
fn the_authorize_challenge_error_body_requires_error() {
    let doc = document();
    let operation = &doc["paths"][paths::AUTHORIZE_CHALLENGE]["post"];
    let error = resolve(
        &doc,
        &operation["responses"]["4XX"]["content"]["application/json"]["schema"],
    );
    let fields = required(error);
    assert!(fields.contains("error"), "{error}");
    assert!(fields.contains("error_description"), "{error}");
    assert!(!fields.contains("next"), "{error}");
    // `error` is one of the codes, `next` the step enum.
    let codes = resolve(&doc, &error["properties"]["error"]);
    assert!(codes["enum"]
        .as_array()
        .unwrap()
        .contains(&Value::from("insufficient_authorization")));
    let next = &error["properties"]["next"];
    let next = next["oneOf"]
        .as_array()
        .and_then(|one| one.iter().find(|s| s.get("$ref").is_some()))
        .unwrap_or(next);
    let steps = resolve(&doc, next);
    assert!(steps["oneOf"].as_array().unwrap().len() >= 11, "{steps}");
    // Its form names client_id as the one field every request carries.
    let form = &operation["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"];
    assert_eq!(required(form), BTreeSet::from(["client_id"]));
    assert!(form["properties"]["auth_session"].is_object());
}

#[test]
fn bodies_and_answers_name_their_required_fields() {
    let doc = document();
    let body = |path: &str, method: &str| {
        resolve(
            &doc,
            &doc["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"],
        )
    };
    let answer = |path: &str, method: &str, status: &str| {
        resolve(
            &doc,
            &doc["paths"][path][method]["responses"][status]["content"]["application/json"]
                ["schema"],
        )
    };
    assert_eq!(
        required(body(paths::LOGIN_METHODS, "post")),
        BTreeSet::from(["identifier"])
    );
    assert_eq!(
        required(body(paths::DEVICE_CHALLENGE, "post")),
        BTreeSet::from(["decision", "signature"])
    );
    assert_eq!(
        required(body(paths::PASSWORD_RESET, "post")),
        BTreeSet::from(["identifier", "code", "new_password"])
    );
    // A patch changes what it names: nothing is required.
    let patch = body(paths::DEVICE, "patch");
    assert!(required(patch).is_empty() && patch["properties"]["push_token"].is_object());
    let tokens = required(answer(paths::TOKEN, "post", "200"));
    assert!(tokens.contains("access_token") && tokens.contains("refresh_token"));
    assert!(!tokens.contains("device_token"));
    assert!(required(answer(paths::DEVICE_ACTIVATE, "post", "201")).contains("device_id"));
    assert!(required(answer(paths::PASSWORD_FORGOT, "post", "202")).contains("destination_hint"));
}

#[test]
fn every_operation_answers_a_schema_and_every_reference_resolves() {
    let doc = document();
    for (path, method, operation) in operations(&doc) {
        let success = operation["responses"]
            .as_object()
            .unwrap()
            .iter()
            .find(|(status, _)| status.starts_with('2'))
            .unwrap_or_else(|| panic!("{method} {path} has no success answer"));
        if success.1["content"]["text/html"].is_object() {
            assert!(
                [
                    paths::END_SESSION,
                    paths::AUTHORIZE,
                    paths::AUTHORIZE_CALLBACK
                ]
                .contains(&path),
                "only logout and the browser authorization answer pages: {path}"
            );
            continue;
        }
        let schema = &success.1["content"]["application/json"]["schema"];
        if path != paths::OPENAPI {
            resolve(&doc, schema);
        }
    }
    fn walk<'a>(value: &'a Value, refs: &mut Vec<&'a Value>) {
        match value {
            Value::Object(map) => {
                if map.contains_key("$ref") {
                    refs.push(value);
                }
                map.values().for_each(|v| walk(v, refs));
            }
            Value::Array(items) => items.iter().for_each(|v| walk(v, refs)),
            _ => {}
        }
    }
    let mut refs = Vec::new();
    walk(&doc, &mut refs);
    assert!(refs.len() > 40);
    for reference in refs {
        resolve(&doc, reference);
    }
}

#[test]
fn bearer_and_signed_endpoints_say_so() {
    let doc = document();
    assert_eq!(
        doc["paths"][paths::USERINFO]["get"]["security"],
        serde_json::json!([{"bearer": []}])
    );
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    let headers = |path: &str, method: &str| -> BTreeSet<String> {
        doc["paths"][path][method]["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["in"] == "header")
            .map(|p| p["name"].as_str().unwrap().to_owned())
            .collect()
    };
    assert!(headers(paths::DEVICE_CHALLENGES, "get").contains(HEADER_DEVICE_ID));
    assert_eq!(headers(paths::DEVICE_CHALLENGE, "post").len(), 4);
    // Activation is signed by the key it registers: no device id yet.
    let activate = headers(paths::DEVICE_ACTIVATE, "post");
    assert!(activate.contains(HEADER_SIGNATURE) && !activate.contains(HEADER_DEVICE_ID));
}
