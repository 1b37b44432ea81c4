//! `/openapi.json` against the running router: every operation it documents is served, and every
//! other method on a documented path is refused with `405`.

mod common;

use authcore_protocol::paths;
use common::*;

#[tokio::test]
async fn the_document_lists_exactly_the_methods_each_path_serves() {
    let t = start().await;
    let (status, doc) = t.get(paths::OPENAPI, None).await;
    assert_eq!(status, 200);
    let mut served = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        let url = format!("{}{}", t.base, paths::with_id(path, "x"));
        for method in ["get", "post", "put", "patch", "delete"] {
            let status = t
                .http
                .request(method.to_uppercase().parse().unwrap(), &url)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16();
            if item.get(method).is_some() {
                assert!(![404, 405].contains(&status), "{method} {path}: {status}");
                served += 1;
            } else {
                assert_eq!(status, 405, "{method} {path}");
            }
        }
    }
    assert_eq!(served, 43);
}
